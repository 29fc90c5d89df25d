/*
 * profile.c - parser for hook profiles (format documented in profile.h;
 * the built-in texts are in profile_builtin.c).
 *
 * The text is cut into lines, each line into at most RS_PROFILE_MAX_WORDS
 * words in a fixed stack buffer; the first word selects a directive and
 * the rest are options parsed into an opts_t.  Nothing is trusted: every
 * length is bounded, every number range-checked, NUL bytes rejected.
 *
 * All-or-nothing: a parse records the set's counts before it starts
 * (mark_t) and on any error rolls the set back to them, freeing the
 * strings it added.  Strings are owned by the set's `owned` list, so hooks
 * may share a profile's type-name text without double frees.
 *
 * No stdio: errors are formatted by a tiny %s/%u formatter into the
 * caller's fixed buffer; files are read with open/read.
 */
#include "profile.h"

#include "escape.h"
#include "rs_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RS_PROFILE_MAX_WORDS 16
#define RS_PROFILE_MAX_FILE  (1u << 20)
#define MAX_OFFSET           (1u << 20)
#define MAX_NAME             255

const char *rs_hook_kind_name(int kind)
{
    switch (kind) {
    case RS_HOOK_INCREF: return "incref";
    case RS_HOOK_DECREF: return "decref";
    case RS_HOOK_SINK:   return "sink";
    case RS_HOOK_CTOR:   return "ctor";
    case RS_HOOK_NEWREF: return "newref";
    default:             return "?";
    }
}

/* ---- error formatting (no stdio) --------------------------------------- */

typedef struct outbuf {
    char  *buf;
    size_t cap, len;
} outbuf_t;

static void out_str(outbuf_t *o, const char *s)
{
    for (; s && *s && o->len + 1 < o->cap; s++)
        o->buf[o->len++] = (*s == '\n' || *s == '\r') ? ' ' : *s;
    o->buf[o->len] = '\0';
}

static void out_uint(outbuf_t *o, unsigned long v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    char rev[24];
    for (int i = 0; i < n; i++)
        rev[i] = tmp[n - 1 - i];
    rev[n] = '\0';
    out_str(o, rev);
}

/* Appends s escaped as every refscope message quotes what it was given
 * (escape.h); at most max bytes of s, then "...". */
static void out_quoted(outbuf_t *o, const char *s, size_t max)
{
    size_t i = 0;
    for (; s && s[i] && i < max; i++) {
        char esc[5] = { 0 };
        rs_escape_byte((unsigned char)s[i], esc);
        out_str(o, esc);
    }
    if (s && s[i])
        out_str(o, "...");
}

/* What a %s argument shows at most: a message cut short would lose its
 * end ("; no function is hooked"). */
#define QUOTED_MAX 80

/* Formats "file:line: " followed by fmt, which knows %s and %u only;
 * the file name and %s arguments are quoted (out_quoted). */
static void set_error(rs_profile_error_t *err, const char *file, unsigned line,
                      const char *fmt, ...)
{
    if (!err)
        return;
    outbuf_t o = { err->message, sizeof err->message, 0 };
    err->message[0] = '\0';
    out_quoted(&o, file ? file : "<profile>", sizeof err->message);
    if (line) {
        out_str(&o, ":");
        out_uint(&o, line);
    }
    out_str(&o, ": ");
    va_list ap;
    va_start(ap, fmt);
    for (const char *f = fmt; *f; f++) {
        char one[2] = { *f, '\0' };
        if (*f != '%' || !f[1]) {
            out_str(&o, one);
            continue;
        }
        f++;
        if (*f == 's')
            out_quoted(&o, va_arg(ap, const char *), QUOTED_MAX);
        else if (*f == 'u')
            out_uint(&o, va_arg(ap, unsigned));
        else
            out_str(&o, "%");
    }
    va_end(ap);
}

/* ---- the set ------------------------------------------------------------ */

typedef struct mark {
    uint32_t n_profiles, n_hooks, n_owned, n_recognizers;
} mark_t;

rs_profile_set_t *rs_profile_set_create(void)
{
    return rs_mem_calloc(1, sizeof(rs_profile_set_t));
}

static mark_t set_mark(const rs_profile_set_t *s)
{
    return (mark_t){ s->n_profiles, s->n_hooks, s->n_owned, s->n_recognizers };
}

static void set_rollback(rs_profile_set_t *s, mark_t m)
{
    while (s->n_owned > m.n_owned)
        rs_mem_free(s->owned[--s->n_owned]);
    s->n_profiles = m.n_profiles;
    s->n_hooks = m.n_hooks;
    s->n_recognizers = m.n_recognizers;
}

void rs_profile_set_free(rs_profile_set_t *set)
{
    if (!set)
        return;
    set_rollback(set, (mark_t){ 0, 0, 0, 0 });
    rs_mem_free(set->owned);
    rs_mem_free(set->profiles);
    rs_mem_free(set->hooks);
    rs_mem_free(set);
}

/* Grows *arr (of *cap elements of size elem) to hold n + 1; -1 on OOM. */
static int grow(void **arr, uint32_t *cap, uint32_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    uint32_t ncap = *cap ? *cap * 2 : 8;
    void *p = rs_mem_realloc(*arr, (size_t)ncap * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* A copy of s owned by the set, or NULL on OOM. */
static char *set_strdup(rs_profile_set_t *s, const char *str)
{
    if (grow((void **)&s->owned, &s->cap_owned, s->n_owned, sizeof(char *)))
        return NULL;
    char *copy = rs_mem_strdup(str);
    if (copy)
        s->owned[s->n_owned++] = copy;
    return copy;
}

int rs_profile_find_hook(const rs_profile_set_t *set, const char *function)
{
    for (uint32_t i = 0; set && function && i < set->n_hooks; i++)
        if (strcmp(set->hooks[i].function, function) == 0)
            return (int)i;
    return -1;
}

static int find_profile(const rs_profile_set_t *set, const char *name)
{
    for (uint32_t i = 0; i < set->n_profiles; i++)
        if (strcmp(set->profiles[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* ---- options -------------------------------------------------------------- */

enum {
    OPT_ARG, OPT_RETURNS, OPT_OFFSET, OPT_WIDTH, OPT_SIGNED, OPT_UNSIGNED,
    OPT_EVENTS, OPT_TYPE, OPT_CONST, OPT_FIELD, OPT_CALL, OPT_WORD,
    OPT_OUT,
    OPT_TYPE_WORD, OPT_METATYPE, OPT_TYPE_NAME, OPT_TYPE_SIZE, OPT_TYPE_FLAGS,
    OPT_HEADER, OPT_IMMORTAL, OPT_VERSION, OPT_VERSION_MIN, OPT_VERSION_MAX,
    OPT_COMPACT, OPT_IS_A, OPT_PRIVATE, OPT_THEN, OPT_VERSION_CALL, OPT_VERSIONS,
    OPT_IN, OPT_HASH, OPT_EQUAL, OPT_KEY_SIZE, OPT_KEY_BACK, OPT_OWNS_VALUES,
    OPT_VERSION_VARS, OPT_QUARK, OPT_EXCEPT, OPT_KEY_CLOSURE, OPT_CLOSURE_NOTIFIERS,
    OPT_COUNT
};

static const struct {
    const char *key;
    uint8_t     has_value;
} option_table[OPT_COUNT] = {
    [OPT_ARG] = { "arg", 1 },        [OPT_RETURNS] = { "returns", 0 },
    [OPT_OFFSET] = { "offset", 1 },  [OPT_WIDTH] = { "width", 1 },
    [OPT_SIGNED] = { "signed", 0 },  [OPT_UNSIGNED] = { "unsigned", 0 },
    [OPT_EVENTS] = { "events", 0 },  [OPT_TYPE] = { "type", 1 },
    [OPT_CONST] = { "const", 1 },    [OPT_FIELD] = { "field", 1 },
    [OPT_CALL] = { "call", 1 },      [OPT_WORD] = { "word", 1 },
    [OPT_OUT] = { "out", 1 },
    [OPT_TYPE_WORD] = { "type-word", 1 },   [OPT_METATYPE] = { "metatype", 1 },
    [OPT_TYPE_NAME] = { "type-name", 1 },   [OPT_TYPE_SIZE] = { "type-size", 1 },
    [OPT_TYPE_FLAGS] = { "type-flags", 1 }, [OPT_HEADER] = { "header", 1 },
    [OPT_IMMORTAL] = { "immortal", 1 },     [OPT_VERSION] = { "version", 1 },
    [OPT_VERSION_MIN] = { "version-min", 1 },
    [OPT_VERSION_MAX] = { "version-max", 1 },
    [OPT_COMPACT] = { "compact", 1 },     [OPT_IS_A] = { "is-a", 1 },
    [OPT_PRIVATE] = { "private", 0 },     [OPT_THEN] = { "then", 1 },
    [OPT_VERSION_CALL] = { "version-call", 1 },
    [OPT_VERSIONS] = { "versions", 1 },
    [OPT_IN] = { "in", 1 },               [OPT_HASH] = { "hash", 1 },
    [OPT_EQUAL] = { "equal", 1 },         [OPT_KEY_SIZE] = { "key-size", 1 },
    [OPT_KEY_BACK] = { "key-back", 1 },   [OPT_OWNS_VALUES] = { "owns-values", 0 },
    [OPT_VERSION_VARS] = { "version-vars", 1 },
    [OPT_QUARK] = { "quark", 1 },         [OPT_EXCEPT] = { "except", 1 },
    [OPT_KEY_CLOSURE] = { "key-closure", 1 },
    [OPT_CLOSURE_NOTIFIERS] = { "closure-notifiers", 1 },
};
_Static_assert(OPT_COUNT <= 64, "opts_t.seen has a bit per option");

#define BIT(o) (1ull << (o))
#define FUNC_OPTS (BIT(OPT_ARG) | BIT(OPT_RETURNS) | COUNTER_OPTS | BIT(OPT_TYPE) | \
                   BIT(OPT_OUT))
#define COUNTER_OPTS (BIT(OPT_OFFSET) | BIT(OPT_WIDTH) | BIT(OPT_SIGNED) | \
                      BIT(OPT_UNSIGNED) | BIT(OPT_EVENTS))
#define TYPENAME_OPTS (BIT(OPT_CONST) | BIT(OPT_FIELD) | BIT(OPT_CALL) | BIT(OPT_WORD))
#define RECOGNIZE_OPTS (BIT(OPT_TYPE_WORD) | BIT(OPT_METATYPE) | BIT(OPT_TYPE_NAME) | \
                        BIT(OPT_TYPE_SIZE) | BIT(OPT_TYPE_FLAGS) | BIT(OPT_HEADER) | \
                        BIT(OPT_IMMORTAL) | BIT(OPT_VERSION) | BIT(OPT_VERSION_MIN) | \
                        BIT(OPT_VERSION_MAX) | BIT(OPT_COMPACT))
#define WEAK_OPTS (BIT(OPT_OFFSET) | BIT(OPT_IS_A) | BIT(OPT_PRIVATE) | BIT(OPT_THEN) | \
                   BIT(OPT_VERSION_CALL) | BIT(OPT_VERSIONS))
#define REGISTRY_OPTS (BIT(OPT_IN) | BIT(OPT_HASH) | BIT(OPT_EQUAL) | BIT(OPT_KEY_SIZE) | \
                       BIT(OPT_KEY_BACK) | BIT(OPT_OWNS_VALUES) | BIT(OPT_VERSION_VARS) | \
                       BIT(OPT_VERSIONS) | BIT(OPT_KEY_CLOSURE) | BIT(OPT_CLOSURE_NOTIFIERS))
#define QDATA_OPTS (BIT(OPT_QUARK) | BIT(OPT_FIELD) | BIT(OPT_OFFSET) | BIT(OPT_EXCEPT) | \
                    BIT(OPT_VERSION_VARS) | BIT(OPT_VERSIONS))

typedef struct opts {
    uint64_t    seen;                 /* BIT(OPT_*)                      */
    const char *value[OPT_COUNT];
    uint32_t    num[OPT_COUNT];       /* parsed numeric values           */
} opts_t;

typedef struct parser {
    rs_profile_set_t   *set;
    const char         *file;
    unsigned            line;
    rs_profile_error_t *err;
    int                 cur;          /* current profile, -1 before one  */
    uint32_t            cur_first_hook;
    unsigned            cur_line;     /* the current profile's line      */
    uint8_t             cur_has_counter, cur_has_type, cur_has_recognize;
    uint8_t             own_counter[RS_PROFILE_MAX_HOOKS];
    uint8_t             own_type[RS_PROFILE_MAX_HOOKS];
} parser_t;

#define FAIL(p, ...) (set_error((p)->err, (p)->file, (p)->line, __VA_ARGS__), -1)

/* Parses a decimal or 0x number below 2^32 into *out; -1 if malformed. */
static int parse_number(const char *s, uint32_t *out)
{
    uint64_t v = 0;
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return -1;
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return -1;
        v = v * base + d;
        if (v > UINT32_MAX)
            return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

static int is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_ident_char(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

/* A C symbol name (letters, digits, '_', '.', '$'; not starting with a
 * digit), at most MAX_NAME bytes. */
static int valid_symbol(const char *s)
{
    if (!is_ident_start(*s) || strlen(s) > MAX_NAME)
        return 0;
    for (; *s; s++)
        if (!is_ident_char(*s) && *s != '.' && *s != '$')
            return 0;
    return 1;
}

/* A profile or type name: letters, digits, '_', '-', ':', '.'. */
static int valid_name(const char *s)
{
    if (!*s || strlen(s) > MAX_NAME)
        return 0;
    for (; *s; s++)
        if (!is_ident_char(*s) && *s != '-' && *s != ':' && *s != '.')
            return 0;
    return 1;
}

/* Checks the numeric value of option o. */
static int check_value(parser_t *p, int o, const char *v, uint32_t *num)
{
    switch (o) {
    case OPT_ARG: case OPT_OUT:
        if (parse_number(v, num) || *num > 5)
            return FAIL(p, "%s must be 0..5, not '%s'", option_table[o].key, v);
        return 0;
    case OPT_WIDTH:
        if (parse_number(v, num) || (*num != 1 && *num != 2 && *num != 4 && *num != 8))
            return FAIL(p, "width must be 1, 2, 4 or 8, not '%s'", v);
        return 0;
    case OPT_OFFSET: case OPT_FIELD: case OPT_WORD: case OPT_TYPE_WORD:
    case OPT_TYPE_NAME: case OPT_TYPE_SIZE: case OPT_TYPE_FLAGS: case OPT_THEN:
    case OPT_KEY_SIZE: case OPT_KEY_BACK: case OPT_KEY_CLOSURE: case OPT_CLOSURE_NOTIFIERS:
        if (parse_number(v, num))
            return FAIL(p, "bad number '%s' for '%s'", v, option_table[o].key);
        if (*num >= MAX_OFFSET)
            return FAIL(p, "%s must be below %u", option_table[o].key, MAX_OFFSET);
        return 0;
    case OPT_CALL: case OPT_VERSION_CALL:
        if (!valid_symbol(v))
            return FAIL(p, "invalid function name '%s'", v);
        return 0;
    case OPT_METATYPE: case OPT_VERSION: case OPT_COMPACT: case OPT_IS_A:
    case OPT_HASH: case OPT_VERSION_VARS:
        if (!valid_symbol(v))
            return FAIL(p, "invalid symbol name '%s'", v);
        return 0;
    case OPT_IMMORTAL: case OPT_VERSION_MIN: case OPT_VERSION_MAX:
        if (parse_number(v, num))
            return FAIL(p, "bad number '%s' for '%s'", v, option_table[o].key);
        return 0;
    case OPT_TYPE: case OPT_CONST: case OPT_QUARK: case OPT_EXCEPT:
        if (!valid_name(v))
            return FAIL(p, "invalid type name '%s'", v);
        return 0;
    case OPT_EQUAL:
        if (strcmp(v, "none") != 0 && !valid_symbol(v))
            return FAIL(p, "invalid symbol name '%s' (or 'none')", v);
        return 0;
    case OPT_IN:
        if (!valid_name(v))
            return FAIL(p, "invalid module name '%s'", v);
        return 0;
    case OPT_VERSIONS: {
        rs_version_range_t r;
        if (rs_version_range_parse(v, &r))
            return FAIL(p, "bad version range '%s' for 'versions' "
                        "(expected MIN-MAX, each A.B or A.B.C, MIN first)", v);
        return 0;
    }
    default:
        return 0;
    }
}

/* Parses words[0..n) as options allowed by mask for directive `what`. */
static int parse_options(parser_t *p, char **words, int n, uint64_t mask,
                         const char *what, opts_t *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 0; i < n; i++) {
        char *eq = strchr(words[i], '=');
        if (eq)
            *eq = '\0';
        int k = 0;
        while (k < OPT_COUNT && strcmp(option_table[k].key, words[i]) != 0)
            k++;
        if (k == OPT_COUNT || !(mask & BIT(k)))
            return FAIL(p, "unknown option '%s' for '%s'", words[i], what);
        if (o->seen & BIT(k))
            return FAIL(p, "option '%s' given twice", words[i]);
        if (option_table[k].has_value && (!eq || !eq[1]))
            return FAIL(p, "option '%s' needs a value", words[i]);
        if (!option_table[k].has_value && eq)
            return FAIL(p, "option '%s' takes no value", words[i]);
        if (eq && check_value(p, k, eq + 1, &o->num[k]))
            return -1;
        o->seen |= BIT(k);
        o->value[k] = eq ? eq + 1 : "";
    }
    return 0;
}

/* Turns counter options into *c.  *given is set when any was present. */
static int build_counter(parser_t *p, const opts_t *o, rs_counter_spec_t *c,
                         int *given)
{
    uint64_t s = o->seen & COUNTER_OPTS;
    *given = s != 0;
    memset(c, 0, sizeof *c);
    if (!s)
        return 0;
    if ((s & BIT(OPT_SIGNED)) && (s & BIT(OPT_UNSIGNED)))
        return FAIL(p, "'signed' and 'unsigned' exclude each other");
    if (s & BIT(OPT_EVENTS)) {
        if (s != BIT(OPT_EVENTS))
            return FAIL(p, "'events' excludes offset, width and signed");
        return 0;
    }
    if (!(s & BIT(OPT_OFFSET)) || !(s & BIT(OPT_WIDTH)))
        return FAIL(p, "a counter needs both offset= and width=");
    c->offset = o->num[OPT_OFFSET];
    c->width = (uint8_t)o->num[OPT_WIDTH];
    c->is_signed = (s & BIT(OPT_SIGNED)) != 0;
    return 0;
}

/* ---- directives ------------------------------------------------------------ */

/* Applies the current profile's defaults to its hooks that did not
 * override them.  Fails if the profile defined no function. */
static int finish_profile(parser_t *p)
{
    if (p->cur < 0)
        return 0;
    rs_profile_set_t *s = p->set;
    rs_profile_t *prof = &s->profiles[p->cur];
    if (s->n_hooks == p->cur_first_hook && !p->cur_has_recognize) {
        p->line = p->cur_line;    /* named at its own line, not the next one's */
        return FAIL(p, "profile '%s' defines no functions", prof->name);
    }
    if (p->cur_has_recognize) {
        if (!prof->counter.width)
            return FAIL(p, "profile '%s': recognize needs a counter field "
                        "(counter offset=N width=W)", prof->name);
        s->recognizers[s->n_recognizers - 1].counter = prof->counter;
    }
    for (uint32_t i = p->cur_first_hook; i < s->n_hooks; i++) {
        if (!p->own_counter[i])
            s->hooks[i].counter = prof->counter;
        if (!p->own_type[i])
            s->hooks[i].type = prof->type;
        if (s->hooks[i].kind == RS_HOOK_NEWREF && !s->hooks[i].counter.width)
            return FAIL(p, "profile '%s': newref %s needs a counter field "
                        "(counter offset=N width=W)", prof->name, s->hooks[i].function);
    }
    return 0;
}

static int do_profile(parser_t *p, char **w, int n)
{
    rs_profile_set_t *s = p->set;
    if (n < 2)
        return FAIL(p, "profile: missing name");
    if (n > 2)
        return FAIL(p, "profile: unexpected '%s' after the name", w[2]);
    if (!valid_name(w[1]))
        return FAIL(p, "invalid profile name '%s'", w[1]);
    if (find_profile(s, w[1]) >= 0)
        return FAIL(p, "profile '%s' defined twice", w[1]);
    if (finish_profile(p))
        return -1;
    if (grow((void **)&s->profiles, &s->cap_profiles, s->n_profiles,
             sizeof(rs_profile_t)))
        return FAIL(p, "out of memory");
    rs_profile_t prof = { 0 };
    prof.name = set_strdup(s, w[1]);
    prof.source = set_strdup(s, p->file ? p->file : "<profile>");
    prof.type.kind = RS_TYPENAME_CONST;
    prof.type.text = prof.name;
    if (!prof.name || !prof.source)
        return FAIL(p, "out of memory");
    p->cur = (int)s->n_profiles;
    p->cur_first_hook = s->n_hooks;
    p->cur_line = p->line;
    p->cur_has_counter = p->cur_has_type = p->cur_has_recognize = 0;
    s->profiles[s->n_profiles++] = prof;
    return 0;
}

static int do_counter(parser_t *p, char **w, int n)
{
    opts_t o;
    int given;
    rs_counter_spec_t c;
    if (p->cur_has_counter)
        return FAIL(p, "counter given twice in profile '%s'",
                    p->set->profiles[p->cur].name);
    if (parse_options(p, w + 1, n - 1, COUNTER_OPTS, "counter", &o) ||
        build_counter(p, &o, &c, &given))
        return -1;
    if (!given)
        return FAIL(p, "counter: expected offset= and width=, or events");
    p->set->profiles[p->cur].counter = c;
    p->cur_has_counter = 1;
    return 0;
}

/* Checks that the options of a `weak` line go together (profile.h). */
static int weak_options_agree(parser_t *p, const opts_t *o)
{
    if (!(o->seen & BIT(OPT_OFFSET)))
        return FAIL(p, "weak: expected offset=");
    if (o->num[OPT_OFFSET] % 8)
        return FAIL(p, "weak: offset=%u is no pointer-aligned offset (a multiple of 8)",
                    o->num[OPT_OFFSET]);
    if ((o->seen & BIT(OPT_THEN)) && o->num[OPT_THEN] % 8)
        return FAIL(p, "weak: then=%u is no pointer-aligned offset (a multiple of 8)",
                    o->num[OPT_THEN]);
    if ((o->seen & BIT(OPT_PRIVATE)) && !(o->seen & BIT(OPT_IS_A)))
        return FAIL(p, "weak: 'private' needs is-a=TYPE (the type whose private data)");
    uint64_t ver = o->seen & (BIT(OPT_VERSION_CALL) | BIT(OPT_VERSIONS));
    if (ver == BIT(OPT_VERSION_CALL))
        return FAIL(p, "weak: version-call= needs versions=MIN-MAX");
    if (ver == BIT(OPT_VERSIONS))
        return FAIL(p, "weak: versions= needs version-call=FUNC");
    return 0;
}

/* 1 when a and b name the same field. */
static int weak_same_field(const rs_weak_spec_t *a, const rs_weak_spec_t *b)
{
    int same_type = (!a->is_a && !b->is_a) ||
                    (a->is_a && b->is_a && strcmp(a->is_a, b->is_a) == 0);
    return a->offset == b->offset && a->then == b->then &&
           a->in_private == b->in_private && same_type;
}

/* A copy of option k's value owned by the set in *out (NULL when the
 * option is absent); -1 on OOM. */
static int weak_string(parser_t *p, const opts_t *o, int k, char **out)
{
    *out = NULL;
    if ((o->seen & BIT(k)) && !(*out = set_strdup(p->set, o->value[k])))
        return FAIL(p, "out of memory");
    return 0;
}

static int do_weak(parser_t *p, char **w, int n)
{
    opts_t o;
    rs_profile_t *prof = &p->set->profiles[p->cur];
    if (parse_options(p, w + 1, n - 1, WEAK_OPTS, "weak", &o) || weak_options_agree(p, &o))
        return -1;
    rs_weak_spec_t spec = { 0 };
    spec.offset = o.num[OPT_OFFSET];
    spec.then = (o.seen & BIT(OPT_THEN)) ? o.num[OPT_THEN] : RS_WEAK_NO_THEN;
    spec.in_private = (o.seen & BIT(OPT_PRIVATE)) != 0;
    if (o.seen & BIT(OPT_VERSIONS))
        rs_version_range_parse(o.value[OPT_VERSIONS], &spec.versions); /* checked */
    spec.is_a = (char *)((o.seen & BIT(OPT_IS_A)) ? o.value[OPT_IS_A] : NULL);
    for (uint32_t i = 0; i < prof->n_weak; i++)
        if (weak_same_field(&prof->weak[i], &spec))
            return FAIL(p, "weak offset=%u given twice in profile '%s'",
                        spec.offset, prof->name);
    if (prof->n_weak == RS_PROFILE_MAX_WEAK)
        return FAIL(p, "more than %u weak offsets in profile '%s'",
                    (unsigned)RS_PROFILE_MAX_WEAK, prof->name);
    if (weak_string(p, &o, OPT_IS_A, &spec.is_a) ||
        weak_string(p, &o, OPT_VERSION_CALL, &spec.version_call))
        return -1;
    prof->weak[prof->n_weak++] = spec;
    return 0;
}

/* Checks that the options of a `registry` line go together (profile.h). */
static int registry_options_agree(parser_t *p, const opts_t *o)
{
    uint64_t s = o->seen;
    if (!(s & BIT(OPT_IN)))
        return FAIL(p, "registry: expected in=MODULE (the library whose globals hold the table)");
    if ((s & BIT(OPT_HASH)) && (s & (BIT(OPT_KEY_SIZE) | BIT(OPT_KEY_BACK))))
        return FAIL(p, "registry: hash= and key-size= do not go together");
    if (!(s & (BIT(OPT_HASH) | BIT(OPT_KEY_SIZE) | BIT(OPT_KEY_BACK))))
        return FAIL(p, "registry: expected hash=FUNC, or key-size= and key-back=");
    if ((s & BIT(OPT_EQUAL)) && !(s & BIT(OPT_HASH)))
        return FAIL(p, "registry: equal= needs hash=");
    if (!(s & BIT(OPT_HASH)) && !((s & BIT(OPT_KEY_SIZE)) && (s & BIT(OPT_KEY_BACK))))
        return FAIL(p, "registry: key-size= and key-back= go together");
    if ((s & BIT(OPT_KEY_SIZE)) &&
        (o->num[OPT_KEY_BACK] % 8 || o->num[OPT_KEY_BACK] + 8 > o->num[OPT_KEY_SIZE]))
        return FAIL(p, "registry: key-back=%u is no pointer-aligned offset inside "
                    "key-size=%u", o->num[OPT_KEY_BACK], o->num[OPT_KEY_SIZE]);
    uint64_t closure = BIT(OPT_KEY_CLOSURE) | BIT(OPT_CLOSURE_NOTIFIERS);
    if ((s & closure) && ((s & closure) != closure || !(s & BIT(OPT_KEY_SIZE))))
        return FAIL(p, "registry: key-closure= and closure-notifiers= go together, "
                    "with key-size=");
    if ((s & closure) && (o->num[OPT_KEY_CLOSURE] % 8 || o->num[OPT_CLOSURE_NOTIFIERS] % 8 ||
                          o->num[OPT_KEY_CLOSURE] + 8 > o->num[OPT_KEY_SIZE]))
        return FAIL(p, "registry: key-closure= and closure-notifiers= must be "
                    "pointer-aligned, key-closure= inside key-size=");
    if ((s & (BIT(OPT_VERSION_VARS) | BIT(OPT_VERSIONS))) !=
        (BIT(OPT_VERSION_VARS) | BIT(OPT_VERSIONS)))
        return FAIL(p, "registry: needs version-vars=PREFIX and versions=MIN-MAX "
                    "(a GHashTable's layout is GLib's private)");
    return 0;
}

static int do_registry(parser_t *p, char **w, int n)
{
    opts_t o;
    rs_profile_t *prof = &p->set->profiles[p->cur];
    if (n < 2 || strcmp(w[1], "ghash") != 0)
        return FAIL(p, "registry: expected the table kind 'ghash' first");
    if (parse_options(p, w + 2, n - 2, REGISTRY_OPTS, "registry", &o) ||
        registry_options_agree(p, &o))
        return -1;
    if (prof->n_registry == RS_PROFILE_MAX_REGISTRY)
        return FAIL(p, "more than %u registry lines in profile '%s'",
                    (unsigned)RS_PROFILE_MAX_REGISTRY, prof->name);
    rs_registry_spec_t spec = { 0 };
    spec.owns_values = (o.seen & BIT(OPT_OWNS_VALUES)) != 0;
    spec.key_size = (o.seen & BIT(OPT_KEY_SIZE)) ? o.num[OPT_KEY_SIZE] : 0;
    spec.key_back = (o.seen & BIT(OPT_KEY_BACK)) ? o.num[OPT_KEY_BACK] : 0;
    spec.closure = (o.seen & BIT(OPT_KEY_CLOSURE)) ? o.num[OPT_KEY_CLOSURE] : 0;
    spec.notifiers = (o.seen & BIT(OPT_CLOSURE_NOTIFIERS)) ? o.num[OPT_CLOSURE_NOTIFIERS] : 0;
    rs_version_range_parse(o.value[OPT_VERSIONS], &spec.versions); /* checked */
    if ((o.seen & BIT(OPT_EQUAL)) && strcmp(o.value[OPT_EQUAL], "none") == 0)
        o.seen &= ~BIT(OPT_EQUAL);
    if (weak_string(p, &o, OPT_IN, &spec.module) ||
        weak_string(p, &o, OPT_HASH, &spec.hash) ||
        weak_string(p, &o, OPT_EQUAL, &spec.equal) ||
        weak_string(p, &o, OPT_VERSION_VARS, &spec.version_vars))
        return -1;
    prof->registry[prof->n_registry++] = spec;
    return 0;
}

/* Checks that the options of a `qdata` line of kind `back` (else
 * weak-locations) go together (profile.h). */
static int qdata_options_agree(parser_t *p, const opts_t *o, int back)
{
    uint64_t s = o->seen;
    if ((s & (BIT(OPT_QUARK) | BIT(OPT_FIELD))) != (BIT(OPT_QUARK) | BIT(OPT_FIELD)))
        return FAIL(p, "qdata: expected quark=NAME and field=N (the object's GData *)");
    if (o->num[OPT_FIELD] % 8)
        return FAIL(p, "qdata: field=%u is not pointer-aligned", o->num[OPT_FIELD]);
    if (back && (!(s & BIT(OPT_OFFSET)) || o->num[OPT_OFFSET] % 8))
        return FAIL(p, "qdata back: expected offset=M, a multiple of 8 (the back pointer)");
    if (back && (s & BIT(OPT_EXCEPT)))
        return FAIL(p, "qdata back: except= is for weak-locations");
    if (!back && (s & BIT(OPT_OFFSET)))
        return FAIL(p, "qdata weak-locations: offset= is for back");
    if ((s & (BIT(OPT_VERSION_VARS) | BIT(OPT_VERSIONS))) !=
        (BIT(OPT_VERSION_VARS) | BIT(OPT_VERSIONS)))
        return FAIL(p, "qdata: needs version-vars=PREFIX and versions=MIN-MAX "
                    "(GData's layout is GLib's private)");
    return 0;
}

static int do_qdata(parser_t *p, char **w, int n)
{
    opts_t o;
    rs_profile_t *prof = &p->set->profiles[p->cur];
    int back = n >= 2 && strcmp(w[1], "back") == 0;
    if (n < 2 || (!back && strcmp(w[1], "weak-locations") != 0))
        return FAIL(p, "qdata: expected the kind 'weak-locations' or 'back' first");
    if (parse_options(p, w + 2, n - 2, QDATA_OPTS, "qdata", &o) ||
        qdata_options_agree(p, &o, back))
        return -1;
    if (prof->n_qdata == RS_PROFILE_MAX_QDATA)
        return FAIL(p, "more than %u qdata lines in profile '%s'",
                    (unsigned)RS_PROFILE_MAX_QDATA, prof->name);
    rs_qdata_spec_t spec = { 0 };
    spec.back = (uint8_t)back;
    spec.field = o.num[OPT_FIELD];
    spec.offset = back ? o.num[OPT_OFFSET] : 0;
    rs_version_range_parse(o.value[OPT_VERSIONS], &spec.versions); /* checked */
    if (weak_string(p, &o, OPT_QUARK, &spec.quark) ||
        weak_string(p, &o, OPT_EXCEPT, &spec.except) ||
        weak_string(p, &o, OPT_VERSION_VARS, &spec.version_vars))
        return -1;
    prof->qdata[prof->n_qdata++] = spec;
    return 0;
}

static int do_typename(parser_t *p, char **w, int n)
{
    opts_t o;
    rs_profile_t *prof = &p->set->profiles[p->cur];
    if (p->cur_has_type)
        return FAIL(p, "typename given twice in profile '%s'", prof->name);
    if (parse_options(p, w + 1, n - 1, TYPENAME_OPTS, "typename", &o))
        return -1;
    uint64_t kinds = o.seen & (BIT(OPT_CONST) | BIT(OPT_FIELD) | BIT(OPT_CALL));
    if (kinds != BIT(OPT_CONST) && kinds != BIT(OPT_FIELD) && kinds != BIT(OPT_CALL))
        return FAIL(p, "typename: expected exactly one of const=, field=, call=");
    if ((o.seen & BIT(OPT_WORD)) && kinds != BIT(OPT_CALL))
        return FAIL(p, "'word' only goes with 'call'");
    rs_typename_spec_t t = { 0 };
    if (kinds == BIT(OPT_FIELD)) {
        t.kind = RS_TYPENAME_FIELD;
        t.offset = o.num[OPT_FIELD];
    } else {
        int k = kinds == BIT(OPT_CONST) ? OPT_CONST : OPT_CALL;
        t.kind = k == OPT_CONST ? RS_TYPENAME_CONST : RS_TYPENAME_CALL;
        t.call_on_word = (o.seen & BIT(OPT_WORD)) != 0;
        t.offset = o.num[OPT_WORD];
        if (!(t.text = set_strdup(p->set, o.value[k])))
            return FAIL(p, "out of memory");
    }
    prof->type = t;
    p->cur_has_type = 1;
    return 0;
}

/* `out=N` (ctor only, without arg/returns): h->out set. */
static int build_out(parser_t *p, rs_hook_kind_t kind, const opts_t *o,
                     rs_hook_spec_t *h)
{
    if (!(o->seen & BIT(OPT_OUT)))
        return 0;
    if (kind != RS_HOOK_CTOR)
        return FAIL(p, "'out' only goes with 'ctor'");
    if (o->seen & (BIT(OPT_ARG) | BIT(OPT_RETURNS)))
        return FAIL(p, "'out' excludes 'arg' and 'returns'");
    h->out = 1;
    return 0;
}

/* Fills the object location and overrides of hook h from options o. */
static int build_hook(parser_t *p, rs_hook_kind_t kind, const opts_t *o,
                      rs_hook_spec_t *h, uint32_t index)
{
    int given;
    if ((o->seen & BIT(OPT_ARG)) && (o->seen & BIT(OPT_RETURNS)))
        return FAIL(p, "'arg' and 'returns' exclude each other");
    if (kind == RS_HOOK_DECREF && (o->seen & BIT(OPT_RETURNS)))
        return FAIL(p, "decref: the object cannot be the return value");
    if (kind == RS_HOOK_NEWREF && (o->seen & BIT(OPT_ARG)))
        return FAIL(p, "newref: the object is the return value ('arg' does not apply)");
    if (kind == RS_HOOK_NEWREF && (o->seen & BIT(OPT_EVENTS)))
        return FAIL(p, "newref needs a counter field, not 'events'");
    if (build_out(p, kind, o, h))
        return -1;
    if (o->seen & BIT(OPT_OUT))
        h->arg = (int8_t)o->num[OPT_OUT];
    else if (o->seen & BIT(OPT_ARG))
        h->arg = (int8_t)o->num[OPT_ARG];
    else if ((o->seen & BIT(OPT_RETURNS)) || kind == RS_HOOK_CTOR || kind == RS_HOOK_NEWREF)
        h->arg = RS_HOOK_RETURNS;
    else
        h->arg = 0;
    if (build_counter(p, o, &h->counter, &given))
        return -1;
    p->own_counter[index] = (uint8_t)given;
    p->own_type[index] = 0;
    if (o->seen & BIT(OPT_TYPE)) {
        h->type.kind = RS_TYPENAME_CONST;
        if (!(h->type.text = set_strdup(p->set, o->value[OPT_TYPE])))
            return FAIL(p, "out of memory");
        p->own_type[index] = 1;
    }
    return 0;
}

static int do_function(parser_t *p, rs_hook_kind_t kind, char **w, int n)
{
    rs_profile_set_t *s = p->set;
    const char *what = rs_hook_kind_name(kind);
    opts_t o;
    if (n < 2 || strchr(w[1], '='))
        return FAIL(p, "%s: missing function name", what);
    if (!valid_symbol(w[1]))
        return FAIL(p, "invalid function name '%s'", w[1]);
    int other = rs_profile_find_hook(s, w[1]);
    if (other >= 0)
        return FAIL(p, "function '%s' is already hooked by profile '%s'", w[1],
                    s->profiles[s->hooks[other].profile].name);
    if (s->n_hooks >= RS_PROFILE_MAX_HOOKS)
        return FAIL(p, "too many functions (at most %u)", RS_PROFILE_MAX_HOOKS);
    if (parse_options(p, w + 2, n - 2, FUNC_OPTS, what, &o))
        return -1;
    rs_hook_spec_t h = { 0 };
    h.kind = (uint8_t)kind;
    h.profile = (uint32_t)p->cur;
    if (build_hook(p, kind, &o, &h, s->n_hooks))
        return -1;
    if (grow((void **)&s->hooks, &s->cap_hooks, s->n_hooks, sizeof h) ||
        !(h.function = set_strdup(s, w[1])))
        return FAIL(p, "out of memory");
    s->hooks[s->n_hooks++] = h;
    return 0;
}

/* "SIZE@MASK[,SIZE@MASK...]" into r's header terms (v is modified). */
static int parse_headers(parser_t *p, char *v, rs_recognizer_t *r)
{
    for (char *term = v; term;) {
        char *comma = strchr(term, ',');
        if (comma)
            *comma = '\0';
        char *at = strchr(term, '@');
        uint32_t size, mask;
        if (at)
            *at = '\0';
        if (!at || parse_number(term, &size) || parse_number(at + 1, &mask) ||
            size == 0 || size % 8 || size >= 4096 || mask == 0)
            return FAIL(p, "header terms are SIZE@MASK (SIZE a multiple of 8 "
                        "below 4096, MASK not 0), not '%s%s%s'", term,
                        at ? "@" : "", at ? at + 1 : "");
        if (r->n_headers == RS_RECOGNIZE_MAX_HEADERS)
            return FAIL(p, "at most %u header terms", RS_RECOGNIZE_MAX_HEADERS);
        r->header_size[r->n_headers] = size;
        r->header_mask[r->n_headers++] = mask;
        term = comma ? comma + 1 : NULL;
    }
    return 0;
}

/* An optional offset option: its value, or RS_RECOGNIZE_NONE. */
static uint32_t opt_offset(const opts_t *o, int k)
{
    return (o->seen & BIT(k)) ? o->num[k] : RS_RECOGNIZE_NONE;
}

static int do_recognize(parser_t *p, char **w, int n)
{
    opts_t o;
    rs_profile_set_t *s = p->set;
    const char *name = s->profiles[p->cur].name;
    if (p->cur_has_recognize)
        return FAIL(p, "recognize given twice in profile '%s'", name);
    if (s->n_recognizers == RS_PROFILE_MAX_RECOGNIZERS)
        return FAIL(p, "too many recognize lines (at most %u)",
                    RS_PROFILE_MAX_RECOGNIZERS);
    if (parse_options(p, w + 1, n - 1, RECOGNIZE_OPTS, "recognize", &o))
        return -1;
    static const int required[] = { OPT_TYPE_WORD, OPT_METATYPE, OPT_TYPE_NAME };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!(o.seen & BIT(required[i])))
            return FAIL(p, "recognize: missing %s=", option_table[required[i]].key);
    if ((o.seen & BIT(OPT_HEADER)) && !(o.seen & BIT(OPT_TYPE_FLAGS)))
        return FAIL(p, "recognize: header= needs type-flags=");
    if ((o.seen & (BIT(OPT_VERSION_MIN) | BIT(OPT_VERSION_MAX))) &&
        !(o.seen & BIT(OPT_VERSION)))
        return FAIL(p, "recognize: version-min= and version-max= need version=");
    if ((o.seen & BIT(OPT_COMPACT)) && !(o.seen & BIT(OPT_TYPE_SIZE)))
        return FAIL(p, "recognize: compact= needs type-size=");
    rs_recognizer_t r = { 0 };
    r.profile = (uint32_t)p->cur;
    r.type_word = o.num[OPT_TYPE_WORD];
    r.type_name = o.num[OPT_TYPE_NAME];
    r.type_size = opt_offset(&o, OPT_TYPE_SIZE);
    r.type_flags = opt_offset(&o, OPT_TYPE_FLAGS);
    r.immortal = o.num[OPT_IMMORTAL];
    r.version_min = o.num[OPT_VERSION_MIN];
    r.version_max = o.num[OPT_VERSION_MAX];
    if ((o.seen & BIT(OPT_HEADER)) && parse_headers(p, (char *)o.value[OPT_HEADER], &r))
        return -1;
    if (!(r.metatype = set_strdup(s, o.value[OPT_METATYPE])) ||
        ((o.seen & BIT(OPT_VERSION)) && !(r.version = set_strdup(s, o.value[OPT_VERSION]))) ||
        ((o.seen & BIT(OPT_COMPACT)) && !(r.compact = set_strdup(s, o.value[OPT_COMPACT]))))
        return FAIL(p, "out of memory");
    s->recognizers[s->n_recognizers++] = r;
    p->cur_has_recognize = 1;
    return 0;
}

static int do_line(parser_t *p, char **w, int n)
{
    static const struct {
        const char    *word;
        rs_hook_kind_t kind;
    } funcs[] = {
        { "incref", RS_HOOK_INCREF }, { "decref", RS_HOOK_DECREF },
        { "sink", RS_HOOK_SINK },     { "ctor", RS_HOOK_CTOR },
        { "newref", RS_HOOK_NEWREF },
    };
    if (strcmp(w[0], "profile") == 0)
        return do_profile(p, w, n);
    int known = strcmp(w[0], "counter") == 0 || strcmp(w[0], "typename") == 0 ||
                strcmp(w[0], "recognize") == 0 || strcmp(w[0], "weak") == 0 ||
                strcmp(w[0], "registry") == 0 || strcmp(w[0], "qdata") == 0;
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
        known |= strcmp(w[0], funcs[i].word) == 0;
    if (!known)
        return FAIL(p, "unknown directive '%s'", w[0]);
    if (p->cur < 0)
        return FAIL(p, "'%s' before any 'profile' line", w[0]);
    if (strcmp(w[0], "counter") == 0)
        return do_counter(p, w, n);
    if (strcmp(w[0], "typename") == 0)
        return do_typename(p, w, n);
    if (strcmp(w[0], "recognize") == 0)
        return do_recognize(p, w, n);
    if (strcmp(w[0], "weak") == 0)
        return do_weak(p, w, n);
    if (strcmp(w[0], "registry") == 0)
        return do_registry(p, w, n);
    if (strcmp(w[0], "qdata") == 0)
        return do_qdata(p, w, n);
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
        if (strcmp(w[0], funcs[i].word) == 0)
            return do_function(p, funcs[i].kind, w, n);
    return -1;
}

/* Splits buf (NUL-terminated, comment already cut) into words. */
static int split_words(parser_t *p, char *buf, char **w)
{
    int n = 0;
    char *s = buf;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\v' || *s == '\f')
            s++;
        if (!*s)
            return n;
        if (n == RS_PROFILE_MAX_WORDS)
            return FAIL(p, "too many words (at most %u)", RS_PROFILE_MAX_WORDS);
        w[n++] = s;
        while (*s && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\v' && *s != '\f')
            s++;
        if (*s)
            *s++ = '\0';
    }
}

static int parse_text(parser_t *p, const char *text, size_t len)
{
    size_t pos = 0;
    char buf[RS_PROFILE_MAX_LINE + 1];
    char *w[RS_PROFILE_MAX_WORDS];
    while (pos < len) {
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t linelen = nl ? (size_t)(nl - start) : len - pos;
        pos += linelen + (nl != NULL);
        p->line++;
        if (memchr(start, '\0', linelen))
            return FAIL(p, "NUL byte in line");
        if (linelen > RS_PROFILE_MAX_LINE)
            return FAIL(p, "line longer than %u bytes", RS_PROFILE_MAX_LINE);
        memcpy(buf, start, linelen);
        buf[linelen] = '\0';
        char *hash = strchr(buf, '#');
        if (hash)
            *hash = '\0';
        int n = split_words(p, buf, w);
        if (n < 0 || (n > 0 && do_line(p, w, n)))
            return -1;
    }
    return finish_profile(p);
}

int rs_profile_parse(rs_profile_set_t *set, const char *text, size_t len,
                     const char *filename, rs_profile_error_t *err)
{
    if (!set || (!text && len)) {
        set_error(err, filename, 0, "invalid arguments");
        return -1;
    }
    parser_t *p = rs_mem_calloc(1, sizeof *p);
    if (!p) {
        set_error(err, filename, 0, "out of memory");
        return -1;
    }
    mark_t m = set_mark(set);
    p->set = set;
    p->file = filename ? filename : "<profile>";
    p->err = err;
    p->cur = -1;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;               /* a UTF-8 byte order mark, which editors add */
        len -= 3;
    }
    int rc = parse_text(p, text, len);
    if (rc == 0 && set->n_profiles == m.n_profiles)
        rc = FAIL(p, "no profile defined");
    if (rc)
        set_rollback(set, m);
    rs_mem_free(p);
    return rc;
}

/* ---- files and lists ------------------------------------------------------- */

static const char *errno_text(int e)
{
    switch (e) {
    case ENOENT: return "no such file";
    case EACCES: return "permission denied";
    case EISDIR: return "is a directory";
    case ENOTDIR: return "a path component is not a directory";
    case ELOOP: return "too many symbolic links";
    case ENAMETOOLONG: return "file name too long";
    default: return "cannot read";
    }
}

/* Reads up to RS_PROFILE_MAX_FILE bytes of fd into a new buffer. */
static int read_all(int fd, char **out, size_t *out_len, int *too_big)
{
    size_t cap = 4096, len = 0;
    char *buf = rs_mem_alloc(cap);
    *too_big = 0;
    if (!buf)
        return -1;
    for (;;) {
        if (len == cap) {
            if (cap >= RS_PROFILE_MAX_FILE) {
                *too_big = 1;
                rs_mem_free(buf);
                return -1;
            }
            char *nb = rs_mem_realloc(buf, cap * 2);
            if (!nb) {
                rs_mem_free(buf);
                return -1;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rs_mem_free(buf);
            return -1;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

int rs_profile_load_file(rs_profile_set_t *set, const char *path,
                         rs_profile_error_t *err)
{
    if (!path || !*path) {
        set_error(err, "<profile>", 0, "empty file name");
        return -1;
    }
    /* Only a regular file: a FIFO would block every start-up until a
     * writer came, /dev/stdin would eat the program's input, and every
     * process of the program reads the profile again. */
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        set_error(err, path, 0, "%s", errno_text(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int dir = S_ISDIR(st.st_mode);
        close(fd);
        set_error(err, path, 0, "%s", dir ? "is a directory"
                  : "not a regular file (every process of the program reads it)");
        return -1;
    }
    char *text = NULL;
    size_t len = 0;
    int too_big;
    int rc = read_all(fd, &text, &len, &too_big);
    int saved = errno;
    close(fd);
    if (rc) {
        set_error(err, path, 0, "%s", too_big ? "larger than 1 MiB"
                  : rs_mem_out_of_memory() ? "out of memory" : errno_text(saved));
        return -1;
    }
    rc = rs_profile_parse(set, text, len, path, err);
    rs_mem_free(text);
    return rc;
}

/* Parses one list item (NUL-terminated). */
static int parse_item(rs_profile_set_t *set, const char *item,
                      rs_profile_error_t *err)
{
    const char *text = rs_profile_builtin(item);
    if (!text)
        return rs_profile_load_file(set, item, err);
    char name[64] = "built-in:";
    outbuf_t o = { name, sizeof name, strlen(name) };
    out_str(&o, item);
    return rs_profile_parse(set, text, strlen(text), name, err);
}

int rs_profile_list_parse(rs_profile_set_t *set, const char *list,
                          rs_profile_error_t *err)
{
    if (!set || !list) {
        set_error(err, "<profile list>", 0, "invalid arguments");
        return -1;
    }
    mark_t m = set_mark(set);
    char item[4096];
    const char *s = list;
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        while (n && (*s == ' ' || *s == '\t')) {
            s++;
            n--;
        }
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n >= sizeof item) {
            set_error(err, "<profile list>", 0, "item longer than %u bytes",
                      (unsigned)sizeof item - 1);
            set_rollback(set, m);
            return -1;
        }
        memcpy(item, s, n);
        item[n] = '\0';
        if (n && parse_item(set, item, err)) {
            set_rollback(set, m);
            return -1;
        }
        s = comma ? comma + 1 : s + strlen(s);
    }
    return 0;
}
