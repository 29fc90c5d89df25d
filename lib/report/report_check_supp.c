/*
 * report_check_supp.c - suppression files and LeakSanitizer-style pattern
 * matching (see report_check.h for the file syntax and the rules).
 *
 * Matching: an unanchored start or end of a pattern is turned into a
 * '*' ("foo" means "*foo*", "^foo$" means exactly "foo"), then the whole
 * string is matched with a '*'-only glob in O(pattern * string) time.
 */
#include "report_check.h"

#include "escape.h"
#include "input_file.h"
#include "report_array.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const supp_kind_names[] = { "leak", "cycle", "ref", "rc",
                                               "type" };
#define N_SUPP_KINDS (sizeof supp_kind_names / sizeof supp_kind_names[0])

const char *rs_supp_kind_name(rs_supp_kind_t k)
{
    return (unsigned)k < N_SUPP_KINDS ? supp_kind_names[k] : "?";
}

/* ---- matching ----------------------------------------------------------- */

/* Whole-string match of s against p, where '*' matches any run of
 * characters.  The classic greedy walk with one backtracking point (the
 * last '*' seen) is exact for '*'-only patterns and O(len(p) * len(s)). */
static int glob_full(const char *p, const char *s)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*p == '*') {
            star = p++;
            resume = s;
        } else if (*p && *p == *s) {
            p++;
            s++;
        } else if (star) {
            p = star + 1;
            s = ++resume;
        } else {
            return 0;
        }
    }
    while (*p == '*')
        p++;
    return !*p;
}

int rs_supp_glob(const char *pattern, const char *s)
{
    char buf[1024];
    size_t len;
    if (!s || !*s)
        return 0;
    int start = pattern[0] == '^';
    if (start)
        pattern++;
    len = strlen(pattern);
    int end = len && pattern[len - 1] == '$';
    if (end)
        len--;
    if (len + 3 > sizeof buf)
        return 0; /* rejected by the parser already */
    /* Unanchored ends become '*': "foo" -> "*foo*", "^foo" -> "foo*". */
    size_t k = 0;
    if (!start)
        buf[k++] = '*';
    memcpy(buf + k, pattern, len);
    k += len;
    if (!end)
        buf[k++] = '*';
    buf[k] = 0;
    return glob_full(buf, s);
}

/* ---- matching items ------------------------------------------------------- */

static int frame_matches(const char *pattern, const rs_check_frame_t *f)
{
    return rs_supp_glob(pattern, f->function) || rs_supp_glob(pattern, f->symbol) ||
           rs_supp_glob(pattern, f->file) || rs_supp_glob(pattern, f->module);
}

static int frames_match(const char *pattern, const rs_check_frame_t *f,
                        uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (frame_matches(pattern, &f[i]))
            return 1;
    return 0;
}

/* Whether suppression kind k applies to items of kind ik at all. */
static int applies(rs_supp_kind_t k, rs_check_kind_t ik)
{
    switch (k) {
    case RS_SUPP_LEAK:  return ik != RS_CHECK_RC_ERRORS;
    case RS_SUPP_CYCLE: return ik == RS_CHECK_CYCLES;
    case RS_SUPP_REF:   return ik == RS_CHECK_LEAKED_REFS;
    case RS_SUPP_RC:    return ik == RS_CHECK_RC_ERRORS;
    case RS_SUPP_TYPE:  return 1;
    }
    return 0;
}

static int supp_matches(const rs_supp_t *s, const rs_check_item_t *it)
{
    if (!applies(s->kind, it->kind))
        return 0;
    if (s->kind == RS_SUPP_TYPE)
        return rs_supp_glob(s->pattern, it->type);
    return frames_match(s->pattern, it->frames, it->n_frames) ||
           frames_match(s->pattern, it->other, it->n_other);
}

long rs_supp_match(const rs_supp_list_t *l, const rs_check_item_t *item)
{
    for (size_t i = 0; l && i < l->n; i++)
        if (supp_matches(&l->items[i], item))
            return (long)i;
    return -1;
}

/* ---- parsing -------------------------------------------------------------- */

static int add_supp(rs_supp_list_t *l, rs_supp_kind_t kind, const char *pat,
                    size_t plen, const char *name, uint32_t line)
{
    if (rs_array_reserve(&l->items, &l->cap, l->n + 1, sizeof *l->items) < 0)
        return -1;
    rs_supp_t *s = &l->items[l->n];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->line = line;
    s->pattern = strndup(pat, plen);
    s->file = strdup(name);
    if (!s->pattern || !s->file) {
        free(s->pattern);
        free(s->file);
        return -1;
    }
    l->n++;
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Trims s[0..*n) in place; returns the new start. */
static const char *trim(const char *s, size_t *n)
{
    while (*n && is_space(*s)) {
        s++;
        (*n)--;
    }
    while (*n && is_space(s[*n - 1]))
        (*n)--;
    return s;
}

/* Checks a pattern; returns NULL or what is wrong with it. */
static const char *bad_pattern(const char *p, size_t n)
{
    if (!n)
        return "empty pattern";
    if (n >= 1000)
        return "pattern longer than 1000 characters";
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\0')
            return "NUL byte in pattern";
        if (p[i] == '^' && i != 0)
            return "'^' is only allowed at the start of a pattern";
        if (p[i] == '$' && i != n - 1)
            return "'$' is only allowed at the end of a pattern";
    }
    return NULL;
}

/* Copies s[0..n) into dst (cap bytes, NUL-terminated), at most max bytes
 * of it, escaped as every refscope message quotes (escape.h).  Returns
 * dst. */
static const char *quoted(char *dst, size_t cap, const char *s, size_t n,
                          size_t max)
{
    size_t o = 0;
    for (size_t i = 0; i < n && i < max && o + 5 <= cap; i++)
        o += rs_escape_byte((unsigned char)s[i], dst + o);
    dst[o] = '\0';
    return dst;
}

/* Parses one line (without its newline).  Returns 0 or -1 with err set. */
static int parse_line(rs_supp_list_t *l, const char *name, uint32_t lineno,
                      const char *s, size_t n, char *err, size_t errlen)
{
    char q[4 * 60 + 1];
    s = trim(s, &n);
    if (!n || s[0] == '#')
        return 0;
    const char *colon = memchr(s, ':', n);
    if (!colon) {
        snprintf(err, errlen, "%s:%u: expected 'kind:pattern' (e.g. "
                 "leak:my_function), got '%s'", name, lineno,
                 quoted(q, sizeof q, s, n, 60));
        return -1;
    }
    size_t klen = (size_t)(colon - s), plen = n - klen - 1;
    const char *kind = trim(s, &klen);
    const char *pat = trim(colon + 1, &plen);
    for (size_t k = 0; k < N_SUPP_KINDS; k++) {
        if (strlen(supp_kind_names[k]) != klen ||
            memcmp(kind, supp_kind_names[k], klen) != 0)
            continue;
        const char *why = bad_pattern(pat, plen);
        if (why) {
            snprintf(err, errlen, "%s:%u: %s", name, lineno, why);
            return -1;
        }
        if (add_supp(l, (rs_supp_kind_t)k, pat, plen, name, lineno) < 0) {
            snprintf(err, errlen, "%s:%u: out of memory", name, lineno);
            return -1;
        }
        return 0;
    }
    snprintf(err, errlen, "%s:%u: unknown suppression kind '%s' (known: "
             "leak, cycle, ref, rc, type)", name, lineno,
             quoted(q, sizeof q, kind, klen, 40));
    return -1;
}

int rs_supp_parse(rs_supp_list_t *l, const char *name, const char *text,
                  size_t len, char *err, size_t errlen)
{
    uint32_t lineno = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        if (parse_line(l, name, ++lineno, text + pos, n, err, errlen) < 0)
            return -1;
        pos += n + 1;
    }
    return 0;
}

int rs_supp_load(rs_supp_list_t *l, const char *path, char *err,
                 size_t errlen)
{
    FILE *f = NULL;
    int e = rs_input_open(path, &f);
    if (e) {
        snprintf(err, errlen, "%s: %s", path, rs_input_strerror(e));
        return -1;
    }
    char *text = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[8192];
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n > cap) {
            size_t ncap = cap ? cap * 2 : sizeof chunk;
            while (ncap < len + n)
                ncap *= 2;
            char *t = realloc(text, ncap);
            if (!t) {
                snprintf(err, errlen, "%s: out of memory", path);
                rc = -1;
                break;
            }
            text = t;
            cap = ncap;
        }
        memcpy(text + len, chunk, n);
        len += n;
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = -1;
    }
    fclose(f);
    if (rc == 0)
        rc = rs_supp_parse(l, path, text ? text : "", len, err, errlen);
    free(text);
    return rc;
}

void rs_supp_free(rs_supp_list_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].pattern);
        free(l->items[i].file);
    }
    free(l->items);
    memset(l, 0, sizeof *l);
}
