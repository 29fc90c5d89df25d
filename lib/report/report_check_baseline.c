/*
 * report_check_baseline.c - read and write check baselines (the file
 * format is in report_check.h).
 *
 * Reading validates the shape of the document value by value and names
 * the line and column of the first value that is wrong, so a hand-edited
 * baseline fails with a message a person can act on.  Writing adds up
 * the items of an evaluated set per fingerprint (a sort by fingerprint
 * puts them next to each other), optionally ratchets against the old
 * baseline, and writes to a temporary file renamed over the target.
 */
#include "report_check.h"

#include "json_parse.h"
#include "json_writer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BASELINE_VERSION 1

/* ---- reading ------------------------------------------------------------ */

/* Formats "path: line L, column C: message" into err; returns -1. */
static int shape_error(char *err, size_t errlen, const char *path,
                       const rs_json_value_t *v, const char *what)
{
    snprintf(err, errlen, "%s: line %u, column %u: %s", path, v->line,
             v->column, what);
    return -1;
}

static int is_fingerprint(const char *s)
{
    if (!s || strlen(s) != RS_CHECK_FP_LEN)
        return 0;
    return strspn(s, "0123456789abcdef") == RS_CHECK_FP_LEN;
}

/* Reads an optional unsigned member; returns 0 or -1 (err set). */
static int get_uint(const rs_json_value_t *obj, const char *key,
                    uint64_t *out, const char *path, char *err, size_t errlen)
{
    const rs_json_value_t *v = rs_json_value_get(obj, key);
    char what[96];
    if (!v) {
        snprintf(what, sizeof what, "missing \"%s\"", key);
        return shape_error(err, errlen, path, obj, what);
    }
    if (v->kind != RS_JSON_NUMBER || !v->is_uint) {
        snprintf(what, sizeof what, "\"%s\" must be a non-negative integer",
                 key);
        return shape_error(err, errlen, path, v, what);
    }
    *out = v->uint;
    return 0;
}

/* Copies the optional string member key (NULL when absent or null). */
static int get_string(const rs_json_value_t *obj, const char *key,
                      char **out, const char *path, char *err, size_t errlen)
{
    const rs_json_value_t *v = rs_json_value_get(obj, key);
    *out = NULL;
    if (!v || v->kind == RS_JSON_NULL)
        return 0;
    if (v->kind != RS_JSON_STRING) {
        char what[96];
        snprintf(what, sizeof what, "\"%s\" must be a string or null", key);
        return shape_error(err, errlen, path, v, what);
    }
    if (!(*out = strdup(v->string))) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    return 0;
}

static int read_frames(const rs_json_value_t *obj, rs_baseline_entry_t *e,
                       const char *path, char *err, size_t errlen)
{
    const rs_json_value_t *v = rs_json_value_get(obj, "frames");
    if (!v)
        return 0;
    if (v->kind != RS_JSON_ARRAY)
        return shape_error(err, errlen, path, v,
                           "\"frames\" must be an array of strings");
    if (!v->length)
        return 0;
    if (!(e->frames = calloc(v->length, sizeof *e->frames))) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    for (size_t i = 0; i < v->length; i++) {
        if (v->items[i]->kind != RS_JSON_STRING)
            return shape_error(err, errlen, path, v->items[i],
                               "\"frames\" must be an array of strings");
        if (!(e->frames[i] = strdup(v->items[i]->string))) {
            snprintf(err, errlen, "%s: out of memory", path);
            return -1;
        }
        e->n_frames++;
    }
    return 0;
}

static int read_entry(const rs_json_value_t *obj, rs_baseline_entry_t *e,
                      const char *path, char *err, size_t errlen)
{
    if (obj->kind != RS_JSON_OBJECT)
        return shape_error(err, errlen, path, obj,
                           "a finding must be an object");
    const rs_json_value_t *fp = rs_json_value_get(obj, "fingerprint");
    if (!fp || !is_fingerprint(rs_json_value_string(fp)))
        return shape_error(err, errlen, path, fp ? fp : obj,
                           "\"fingerprint\" must be 16 lower-case hex digits");
    memcpy(e->fingerprint, fp->string, RS_CHECK_FP_LEN + 1);
    if (get_uint(obj, "count", &e->count, path, err, errlen) < 0 ||
        get_uint(obj, "bytes", &e->bytes, path, err, errlen) < 0 ||
        get_string(obj, "class", &e->class_name, path, err, errlen) < 0 ||
        get_string(obj, "type", &e->type, path, err, errlen) < 0)
        return -1;
    return read_frames(obj, e, path, err, errlen);
}

static int read_header(const rs_json_value_t *root, rs_baseline_t *b,
                       const char *path, char *err, size_t errlen)
{
    uint64_t version, frames;
    if (root->kind != RS_JSON_OBJECT)
        return shape_error(err, errlen, path, root,
                           "a baseline must be a JSON object");
    if (!rs_json_value_get(root, "refscope_baseline"))
        return shape_error(err, errlen, path, root, "not a refscope "
                           "baseline (no \"refscope_baseline\" member)");
    if (get_uint(root, "refscope_baseline", &version, path, err, errlen) < 0)
        return -1;
    if (version != BASELINE_VERSION) {
        snprintf(err, errlen, "%s: baseline version %llu, this refscope "
                 "reads version %d", path, (unsigned long long)version,
                 BASELINE_VERSION);
        return -1;
    }
    if (get_uint(root, "fingerprint_frames", &frames, path, err, errlen) < 0)
        return -1;
    if (frames < 1 || frames > RS_CHECK_MAX_FRAMES)
        return shape_error(err, errlen, path,
                           rs_json_value_get(root, "fingerprint_frames"),
                           "\"fingerprint_frames\" must be 1..64");
    b->fp_frames = (uint32_t)frames;
    return 0;
}

static int read_baseline(const rs_json_value_t *root, rs_baseline_t *b,
                         const char *path, char *err, size_t errlen)
{
    if (read_header(root, b, path, err, errlen) < 0)
        return -1;
    const rs_json_value_t *list = rs_json_value_get(root, "findings");
    if (!list || list->kind != RS_JSON_ARRAY)
        return shape_error(err, errlen, path, list ? list : root,
                           "\"findings\" must be an array");
    if (list->length &&
        !(b->entries = calloc(list->length, sizeof *b->entries))) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    for (size_t i = 0; i < list->length; i++) {
        b->n++; /* so a partly read entry is freed */
        if (read_entry(list->items[i], &b->entries[i], path, err, errlen) < 0)
            return -1;
    }
    return 0;
}

int rs_baseline_read(const char *path, rs_baseline_t *b, char *err,
                     size_t errlen)
{
    rs_json_parse_error_t perr;
    memset(b, 0, sizeof *b);
    rs_json_value_t *root = rs_json_parse_file(path, &perr);
    if (!root) {
        snprintf(err, errlen, "%s", perr.message);
        return -1;
    }
    int rc = read_baseline(root, b, path, err, errlen);
    rs_json_value_free(root);
    if (rc < 0)
        rs_baseline_free(b);
    return rc;
}

const rs_baseline_entry_t *rs_baseline_find(const rs_baseline_t *b,
                                            const char *fp)
{
    for (size_t i = 0; b && i < b->n; i++)
        if (strcmp(b->entries[i].fingerprint, fp) == 0)
            return &b->entries[i];
    return NULL;
}

void rs_baseline_free(rs_baseline_t *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++) {
        rs_baseline_entry_t *e = &b->entries[i];
        free(e->class_name);
        free(e->type);
        for (uint32_t k = 0; k < e->n_frames; k++)
            free(e->frames[k]);
        free(e->frames);
    }
    free(b->entries);
    memset(b, 0, sizeof *b);
}

/* ---- writing ------------------------------------------------------------ */

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Writes one entry for the items order[lo..hi) (one fingerprint). */
static void write_entry(rs_json_t *j, const rs_check_set_t *set,
                        const size_t *order, size_t lo, size_t hi,
                        uint32_t fp_frames, const rs_baseline_t *ratchet)
{
    const rs_check_item_t *first = &set->items[order[lo]];
    uint64_t count = 0, bytes = 0;
    for (size_t k = lo; k < hi; k++) {
        count += set->items[order[k]].count;
        bytes += set->items[order[k]].bytes;
    }
    if (ratchet) {
        const rs_baseline_entry_t *e = rs_baseline_find(ratchet,
                                                        first->fingerprint);
        if (!e)
            return; /* new findings never enter a ratcheted baseline */
        count = min_u64(count, e->count);
        bytes = min_u64(bytes, e->bytes);
    }
    rs_json_begin_object(j);
    rs_json_member_string(j, "fingerprint", first->fingerprint);
    rs_json_key(j, "class");
    if (first->detail) {
        char name[64];
        snprintf(name, sizeof name, "rc_error:%s", first->detail);
        rs_json_string(j, name);
    } else {
        rs_json_string(j, rs_check_class_name(first->kind));
    }
    rs_json_member_string(j, "type", first->type);
    rs_json_member_uint(j, "count", count);
    rs_json_member_uint(j, "bytes", bytes);
    rs_json_key(j, "frames");
    rs_json_begin_array(j);
    uint32_t idx[RS_CHECK_MAX_FRAMES];
    uint32_t n = rs_check_fp_select(first, fp_frames, idx);
    for (uint32_t i = 0; i < n; i++) {
        const rs_check_frame_t *f = &first->frames[idx[i]];
        char text[512];
        snprintf(text, sizeof text, "%s (%s)", f->function ? f->function : "?",
                 rs_check_fp_file(f));
        rs_json_string(j, text);
    }
    rs_json_end_array(j);
    rs_json_end_object(j);
}

static void write_document(rs_json_t *j, const rs_check_set_t *set,
                           const size_t *order, size_t n, uint32_t fp_frames,
                           const rs_baseline_t *ratchet)
{
    rs_json_begin_object(j);
    rs_json_member_uint(j, "refscope_baseline", BASELINE_VERSION);
    rs_json_member_uint(j, "fingerprint_frames", fp_frames);
    rs_json_key(j, "findings");
    rs_json_begin_array(j);
    for (size_t lo = 0, hi; lo < n; lo = hi) {
        for (hi = lo + 1; hi < n && strcmp(set->items[order[hi]].fingerprint,
                                           set->items[order[lo]].fingerprint)
                                    == 0; hi++)
            ;
        write_entry(j, set, order, lo, hi, fp_frames, ratchet);
    }
    rs_json_end_array(j);
    rs_json_end_object(j);
}

/* Indices of the unsuppressed items, sorted by fingerprint; NULL when
 * memory is exhausted. */
static size_t *sorted_items(const rs_check_set_t *set, size_t *n)
{
    size_t *order = malloc((set->n ? set->n : 1) * sizeof *order);
    *n = 0;
    if (!order)
        return NULL;
    for (size_t i = 0; i < set->n; i++)
        if (set->items[i].status != RS_CHECK_SUPPRESSED)
            order[(*n)++] = i;
    qsort_r(order, *n, sizeof *order, rs_check_cmp_fingerprint, (void *)set);
    return order;
}

/* Writes the baseline document to f and closes it: 0, or -1 with *e the
 * error. */
static int emit_baseline(FILE *f, const rs_check_set_t *set, const size_t *order, size_t n,
                         uint32_t fp_frames, const rs_baseline_t *ratchet, int *e)
{
    rs_json_t j;
    rs_json_init(&j, f, 2);
    write_document(&j, set, order, n, fp_frames, ratchet);
    int bad = rs_json_finish(&j) < 0;
    *e = errno;
    if (fclose(f) == EOF && !bad) {
        bad = 1;
        *e = errno;
    }
    return bad ? -1 : 0;
}

/* rs_baseline_write() to a file that is no regular one, opened as it is. */
static int write_in_place(const char *path, const rs_check_set_t *set, const size_t *order,
                          size_t n, uint32_t fp_frames, const rs_baseline_t *ratchet,
                          char *err, size_t errlen)
{
    FILE *f = fopen(path, "we");
    int e = errno;
    if (!f || emit_baseline(f, set, order, n, fp_frames, ratchet, &e) < 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(e));
        return -1;
    }
    return 0;
}

int rs_baseline_write(const char *path, const rs_check_set_t *set,
                      uint32_t fp_frames, const rs_baseline_t *ratchet,
                      char *err, size_t errlen)
{
    size_t n, plen = strlen(path) + 16;
    size_t *order = sorted_items(set, &n);
    char *tmp = malloc(plen);
    FILE *f = NULL;
    int rc = -1;

    if (!order || !tmp) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        /* /dev/stdout, a FIFO: written in place (a rename would replace
         * the device: as root, /dev/null became a baseline). */
        rc = write_in_place(path, set, order, n, fp_frames, ratchet, err, errlen);
        goto out;
    }
    snprintf(tmp, plen, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        snprintf(err, errlen, "%s: cannot create a file next to it: %s",
                 path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        goto out;
    }
    fchmod(fd, 0644); /* a baseline is meant to be committed and shared */
    int e;
    int bad = emit_baseline(f, set, order, n, fp_frames, ratchet, &e) < 0;
    if (bad || rename(tmp, path) < 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path,
                 strerror(bad ? e : errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    free(order);
    free(tmp);
    return rc;
}
