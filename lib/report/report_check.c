/*
 * report_check.c - check items and the gate decision (see report_check.h).
 *
 * Items are built from the findings API (findings.h): one per leak
 * finding and one per refcount error finding.  Every string an item holds
 * is its own copy.
 *
 * The decision runs in three passes over the items:
 *  1. status:  NOT_GATED by class, else SUPPRESSED by the first matching
 *              suppression, else provisionally COUNTED.
 *  2. totals:  with a baseline, count and bytes are summed per fingerprint
 *              over the provisionally counted items (a sort of indices by
 *              fingerprint groups them); a group whose totals fit inside
 *              its baseline entry becomes BASELINED.
 *  3. limits:  the counted items are tallied and the thresholds applied.
 * After this every item has its final status and fingerprint.
 */
#include "report_check.h"

#include "findings.h"
#include "report_array.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[RS_CHECK_KIND_COUNT] = {
    "leaks", "indirect", "cycles", "leaked_refs", "rc_errors"
};
static const char *const class_names[RS_CHECK_KIND_COUNT] = {
    "leaked", "indirect", "cycle", "leaked_ref", "rc_error"
};

const char *rs_check_kind_name(rs_check_kind_t k)
{
    return (unsigned)k < RS_CHECK_KIND_COUNT ? kind_names[k] : "?";
}

const char *rs_check_class_name(rs_check_kind_t k)
{
    return (unsigned)k < RS_CHECK_KIND_COUNT ? class_names[k] : "?";
}

/* Looks one --fail-on word up; returns its mask or 0. */
static unsigned fail_on_word(const char *w, size_t n)
{
    if (n == 3 && memcmp(w, "all", 3) == 0)
        return RS_CHECK_FAIL_ALL;
    for (unsigned k = 0; k < RS_CHECK_KIND_COUNT; k++) {
        const char *names[2] = { kind_names[k], class_names[k] };
        for (int i = 0; i < 2; i++)
            if (strlen(names[i]) == n && memcmp(w, names[i], n) == 0)
                return 1u << k;
    }
    return 0;
}

int rs_check_parse_fail_on(const char *list, unsigned *mask, char *bad,
                           size_t n)
{
    unsigned m = 0;
    if (strcmp(list, "none") == 0) {
        *mask = 0;
        return 0;
    }
    const char *p = list;
    for (;;) {
        size_t len = strcspn(p, ",");
        unsigned w = fail_on_word(p, len);
        if (!w) {
            snprintf(bad, n, "%.*s", (int)len, p);
            return -1;
        }
        m |= w;
        if (!p[len])
            break;
        p += len + 1;
    }
    *mask = m;
    return 0;
}

/* ---- items ------------------------------------------------------------ */

static void free_frames(rs_check_frame_t *f, uint32_t n)
{
    for (uint32_t i = 0; f && i < n; i++) {
        free(f[i].function);
        free(f[i].symbol);
        free(f[i].file);
        free(f[i].module);
    }
    free(f);
}

static void free_item(rs_check_item_t *it)
{
    free(it->detail);
    free(it->type);
    free_frames(it->frames, it->n_frames);
    free_frames(it->other, it->n_other);
}

/* strdup that keeps NULL; *ok is cleared when memory is exhausted. */
static char *dup_or_null(const char *s, int *ok)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *ok = 0;
    return d;
}

static rs_check_frame_t *copy_frames(const rs_check_frame_t *src, uint32_t *n,
                                     int *ok)
{
    if (*n > RS_CHECK_MAX_FRAMES)
        *n = RS_CHECK_MAX_FRAMES;
    if (!src || !*n) {
        *n = 0;
        return NULL;
    }
    rs_check_frame_t *f = calloc(*n, sizeof *f);
    if (!f) {
        *ok = 0;
        *n = 0;
        return NULL;
    }
    for (uint32_t i = 0; i < *n; i++) {
        f[i] = src[i];
        f[i].function = dup_or_null(src[i].function, ok);
        f[i].symbol = dup_or_null(src[i].symbol, ok);
        f[i].file = dup_or_null(src[i].file, ok);
        f[i].module = dup_or_null(src[i].module, ok);
    }
    return f;
}

int rs_check_set_add(rs_check_set_t *set, const rs_check_item_t *item)
{
    if (rs_array_reserve(&set->items, &set->cap, set->n + 1, sizeof *set->items) < 0)
        return -1;
    int ok = 1;
    rs_check_item_t c;
    memset(&c, 0, sizeof c);
    c.kind = item->kind;
    c.bytes = item->bytes;
    c.count = item->count;
    c.snapshot = item->snapshot;
    c.suppression = -1;
    c.detail = dup_or_null(item->detail, &ok);
    c.type = dup_or_null(item->type, &ok);
    c.n_frames = item->n_frames;
    c.frames = copy_frames(item->frames, &c.n_frames, &ok);
    c.n_other = item->n_other;
    c.other = copy_frames(item->other, &c.n_other, &ok);
    if (!ok) {
        free_item(&c);
        return -1;
    }
    set->items[set->n++] = c;
    return 0;
}

void rs_check_set_free(rs_check_set_t *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        free_item(&set->items[i]);
    free(set->items);
    for (size_t i = 0; i < set->n_snapshots; i++)
        free(set->snapshots[i]);
    free(set->snapshots);
    memset(set, 0, sizeof *set);
}

/* Symbolizes a stack into check frames (borrowing the symbolizer's
 * strings; rs_check_set_add copies them).  Returns the count or -1. */
static int stack_frames(rs_symbolizer_t *sym, const rs_snapshot_t *snap,
                        uint32_t stack_id, rs_frame_t *tmp,
                        rs_check_frame_t *out)
{
    int n = rs_symbolize_stack(sym, snap, stack_id, tmp, RS_CHECK_MAX_FRAMES);
    for (int i = 0; i < n; i++)
        out[i] = (rs_check_frame_t){ (char *)tmp[i].function, (char *)tmp[i].symbol,
                                     (char *)tmp[i].file, tmp[i].line,
                                     (char *)tmp[i].module, tmp[i].address,
                                     tmp[i].python };
    return n;
}

static rs_check_kind_t kind_of_class(rs_class_t c)
{
    switch (c) {
    case RS_CLASS_INDIRECT:   return RS_CHECK_INDIRECT;
    case RS_CLASS_CYCLE:      return RS_CHECK_CYCLES;
    case RS_CLASS_LEAKED_REF: return RS_CHECK_LEAKED_REFS;
    default:                  return RS_CHECK_LEAKS;
    }
}

/* Scratch buffers for symbolizing stacks. */
typedef struct scratch {
    rs_frame_t       tmp[RS_CHECK_MAX_FRAMES];
    rs_check_frame_t a[RS_CHECK_MAX_FRAMES], b[RS_CHECK_MAX_FRAMES];
} scratch_t;

/* Appends the frames of stack_id to s->b[*n..), as many as fit.  Returns
 * 0 or -1 when memory is exhausted. */
static int append_stack(rs_symbolizer_t *sym, const rs_snapshot_t *snap,
                        uint32_t stack_id, scratch_t *s, uint32_t *n)
{
    rs_check_frame_t one[RS_CHECK_MAX_FRAMES];
    int k = stack_id ? stack_frames(sym, snap, stack_id, s->tmp, one) : 0;
    if (k < 0)
        return -1;
    for (int i = 0; i < k && *n < RS_CHECK_MAX_FRAMES; i++)
        s->b[(*n)++] = one[i];
    return 0;
}

/* The extra stacks a suppression may also name: for a leaked_ref the
 * increfs nobody balanced (not those a guessed pairing may have left
 * unbalanced instead, rs_finding_unbalanced_t.maybe: the gate lists these
 * frames as "never released"), for a cycle the other members' allocations
 * (rs_check_item_t.other).  Returns 0 or -1. */
static int extra_frames(rs_symbolizer_t *sym, const rs_snapshot_t *snap,
                        const rs_finding_t *f, scratch_t *s, uint32_t *n)
{
    *n = 0;
    for (uint32_t i = 0; f->cls == RS_CLASS_LEAKED_REF && i < f->n_unbalanced;
         i++)
        if (!f->unbalanced[i].maybe &&
            append_stack(sym, snap, f->unbalanced[i].stack_id, s, n) < 0)
            return -1;
    for (uint32_t i = 1; f->cls == RS_CLASS_CYCLE && i < f->n_members; i++)
        if (f->members[i] < snap->heap.n_nodes &&
            append_stack(sym, snap, snap->heap.nodes[f->members[i]].stack_id,
                         s, n) < 0)
            return -1;
    return 0;
}

static int add_leak_finding(rs_check_set_t *set, const rs_snapshot_t *snap,
                            rs_symbolizer_t *sym, const rs_finding_t *f,
                            scratch_t *s)
{
    uint32_t n_other;
    if (extra_frames(sym, snap, f, s, &n_other) < 0)
        return -1;
    int n = stack_frames(sym, snap, f->stack_id, s->tmp, s->a);
    if (n < 0)
        return -1;
    rs_check_item_t it = {
        .kind = kind_of_class(f->cls), .type = (char *)rs_findings_type_name(snap,
        f->type_id), .bytes = f->bytes, .count = f->blocks,
        .frames = s->a, .n_frames = (uint32_t)n, .other = s->b,
        .n_other = n_other, .snapshot = (uint32_t)set->n_snapshots - 1,
    };
    return rs_check_set_add(set, &it);
}

static int add_rc_finding(rs_check_set_t *set, const rs_snapshot_t *snap,
                          rs_symbolizer_t *sym, const rs_rc_finding_t *e,
                          scratch_t *s)
{
    uint32_t m = 0;
    if (append_stack(sym, snap, e->other_stack_id, s, &m) < 0)
        return -1;
    int n = stack_frames(sym, snap, e->stack_id, s->tmp, s->a);
    if (n < 0)
        return -1;
    rs_check_item_t it = {
        .kind = RS_CHECK_RC_ERRORS,
        .detail = (char *)rs_rc_error_name(e->kind),
        .type = (char *)rs_findings_type_name(snap, e->type_id),
        .count = e->occurrences, .frames = s->a, .n_frames = (uint32_t)n,
        .other = s->b, .n_other = m,
        .snapshot = (uint32_t)set->n_snapshots - 1,
    };
    return rs_check_set_add(set, &it);
}

static int add_findings(rs_check_set_t *set, const rs_snapshot_t *snap,
                        rs_symbolizer_t *sym, scratch_t *s)
{
    rs_findings_t fs;
    rs_findings_options_t fopt = { 0, 0, RS_FOCUS_ALL };
    if (rs_findings_build(snap, &fopt, &fs) < 0)
        return -1;
    int rc = 0;
    for (uint32_t i = 0; i < fs.n && rc == 0; i++)
        if (rs_findings_is_leak_class(fs.items[i].cls))
            rc = add_leak_finding(set, snap, sym, &fs.items[i], s);
    for (uint32_t i = 0; i < fs.n_errors && rc == 0; i++)
        rc = add_rc_finding(set, snap, sym, &fs.errors[i], s);
    rs_findings_free(&fs);
    return rc;
}

int rs_check_set_add_snapshot(rs_check_set_t *set, const rs_snapshot_t *snap,
                              rs_symbolizer_t *sym, const char *path)
{
    char **names = realloc(set->snapshots,
                           (set->n_snapshots + 1) * sizeof *names);
    if (!names)
        return -1;
    set->snapshots = names;
    if (!(names[set->n_snapshots] = strdup(path ? path : "")))
        return -1;
    set->n_snapshots++;
    scratch_t *s = malloc(sizeof *s);
    if (!s)
        return -1;
    int rc = add_findings(set, snap, sym, s);
    free(s);
    return rc;
}

/* ---- frames and fingerprints -------------------------------------------- */

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int rs_check_frame_is_system(const rs_check_frame_t *f)
{
    return rs_symbolize_is_system_module(f->module);
}

const rs_check_frame_t *rs_check_top_frame(const rs_check_item_t *item)
{
    const rs_check_frame_t *fallback = NULL;
    for (uint32_t i = 0; i < item->n_frames; i++) {
        const rs_check_frame_t *f = &item->frames[i];
        if (!f->file || !f->line ||
            (f->function && strncmp(f->function, "refscope_", 9) == 0))
            continue; /* unknown, or refscope.h's inline annotations */
        if (!rs_check_frame_is_system(f))
            return f;
        if (!fallback)
            fallback = f;
    }
    return fallback;
}

typedef struct fnv {
    uint64_t h;
} fnv_t;

static void fnv_add(fnv_t *h, const char *s)
{
    for (; *s; s++) {
        h->h ^= (unsigned char)*s;
        h->h *= 0x100000001b3ull;
    }
}

uint32_t rs_check_fp_select(const rs_check_item_t *item, uint32_t fp_frames,
                            uint32_t idx[RS_CHECK_MAX_FRAMES])
{
    uint32_t used = 0, apps = 0;
    for (uint32_t i = 0; i < item->n_frames; i++)
        apps += !rs_check_frame_is_system(&item->frames[i]);
    for (uint32_t i = 0; i < item->n_frames && used < fp_frames &&
                         used < RS_CHECK_MAX_FRAMES; i++)
        if (!apps || !rs_check_frame_is_system(&item->frames[i]))
            idx[used++] = i;
    return used;
}

const char *rs_check_fp_file(const rs_check_frame_t *f)
{
    return f->file ? base_name(f->file)
           : f->module ? base_name(f->module) : "?";
}

void rs_check_fingerprint(const rs_check_item_t *item, uint32_t fp_frames,
                          char out[RS_CHECK_FP_LEN + 1])
{
    fnv_t h = { 0xcbf29ce484222325ull };
    uint32_t idx[RS_CHECK_MAX_FRAMES];
    uint32_t n = rs_check_fp_select(item, fp_frames, idx);

    fnv_add(&h, "v1|");
    fnv_add(&h, rs_check_class_name(item->kind));
    if (item->detail) {
        fnv_add(&h, ":");
        fnv_add(&h, item->detail);
    }
    fnv_add(&h, "|");
    fnv_add(&h, item->type ? item->type : "-");
    for (uint32_t i = 0; i < n; i++) {
        const rs_check_frame_t *f = &item->frames[idx[i]];
        fnv_add(&h, "|");
        fnv_add(&h, f->symbol ? f->symbol : "?");
        fnv_add(&h, "@");
        fnv_add(&h, rs_check_fp_file(f));
    }
    snprintf(out, RS_CHECK_FP_LEN + 1, "%016" PRIx64, h.h);
}

/* ---- the gate ----------------------------------------------------------- */

int rs_check_cmp_fingerprint(const void *pa, const void *pb, void *arg)
{
    const rs_check_set_t *set = arg;
    const rs_check_item_t *a = &set->items[*(const size_t *)pa];
    const rs_check_item_t *b = &set->items[*(const size_t *)pb];
    int c = strcmp(a->fingerprint, b->fingerprint);
    if (c)
        return c;
    return *(const size_t *)pa < *(const size_t *)pb ? -1 : 1;
}

/* Pass 1. */
static void assign_status(rs_check_set_t *set, const rs_check_options_t *opt,
                          rs_supp_list_t *supp, uint32_t fp_frames)
{
    for (size_t i = 0; i < set->n; i++) {
        rs_check_item_t *it = &set->items[i];
        rs_check_fingerprint(it, fp_frames, it->fingerprint);
        it->in_baseline = it->grown = 0;
        it->base_count = it->base_bytes = 0;
        it->suppression = -1;
        it->status = RS_CHECK_COUNTED;
        if (!(opt->fail_on & (1u << it->kind))) {
            it->status = RS_CHECK_NOT_GATED;
            continue;
        }
        if (!supp || (it->suppression = rs_supp_match(supp, it)) < 0)
            continue;
        rs_supp_t *s = &supp->items[it->suppression];
        s->hits++;
        s->count += it->count;
        s->bytes += it->bytes;
        it->status = RS_CHECK_SUPPRESSED;
    }
}

/* Pass 2 for the items order[lo..hi), which share a fingerprint. */
static void apply_baseline_group(rs_check_set_t *set, const size_t *order,
                                 size_t lo, size_t hi,
                                 const rs_baseline_t *base)
{
    uint64_t count = 0, bytes = 0;
    for (size_t k = lo; k < hi; k++) {
        count += set->items[order[k]].count;
        bytes += set->items[order[k]].bytes;
    }
    const rs_baseline_entry_t *e =
        rs_baseline_find(base, set->items[order[lo]].fingerprint);
    for (size_t k = lo; k < hi; k++) {
        rs_check_item_t *it = &set->items[order[k]];
        if (!e)
            continue;
        it->in_baseline = 1;
        it->base_count = e->count;
        it->base_bytes = e->bytes;
        it->grown = count > e->count || bytes > e->bytes;
        if (!it->grown)
            it->status = RS_CHECK_BASELINED;
    }
}

/* Pass 2.  Returns -1 when memory is exhausted (then every item stays
 * counted, which fails closed). */
static int apply_baseline(rs_check_set_t *set, const rs_baseline_t *base)
{
    size_t *order = malloc((set->n ? set->n : 1) * sizeof *order), n = 0;
    if (!order)
        return -1;
    for (size_t i = 0; i < set->n; i++)
        if (set->items[i].status == RS_CHECK_COUNTED)
            order[n++] = i;
    qsort_r(order, n, sizeof *order, rs_check_cmp_fingerprint, set);
    for (size_t lo = 0, hi; lo < n; lo = hi) {
        for (hi = lo + 1; hi < n && strcmp(set->items[order[hi]].fingerprint,
                                           set->items[order[lo]].fingerprint)
                                    == 0; hi++)
            ;
        apply_baseline_group(set, order, lo, hi, base);
    }
    free(order);
    return 0;
}

/* Pass 3. */
static void tally(const rs_check_set_t *set, const rs_check_options_t *opt,
                  rs_check_verdict_t *v)
{
    for (size_t i = 0; i < set->n; i++) {
        const rs_check_item_t *it = &set->items[i];
        switch (it->status) {
        case RS_CHECK_NOT_GATED:  v->not_gated++;  continue;
        case RS_CHECK_SUPPRESSED: v->suppressed++; continue;
        case RS_CHECK_BASELINED:  v->baselined++;  continue;
        case RS_CHECK_COUNTED:    break;
        }
        v->counted++;
        v->counted_bytes += it->bytes;
        v->counted_count += it->count;
        v->counted_rc += it->kind == RS_CHECK_RC_ERRORS;
        v->new_items += !it->in_baseline;
        v->grown_items += it->grown;
    }
    if (!opt->have_max_findings && !opt->have_max_bytes) {
        if (v->counted)
            snprintf(v->reason, sizeof v->reason, "%" PRIu64 " finding%s",
                     v->counted, v->counted == 1 ? "" : "s");
    } else if (opt->have_max_findings && v->counted > opt->max_findings) {
        snprintf(v->reason, sizeof v->reason, "%" PRIu64 " findings, more "
                 "than --max-findings %" PRIu64, v->counted,
                 opt->max_findings);
    } else if (opt->have_max_bytes && v->counted_bytes > opt->max_leaked_bytes) {
        snprintf(v->reason, sizeof v->reason, "%" PRIu64 " bytes leaked, more "
                 "than --max-leaked-bytes %" PRIu64, v->counted_bytes,
                 opt->max_leaked_bytes);
    } else if (!opt->have_max_findings && v->counted_rc) {
        snprintf(v->reason, sizeof v->reason, "%" PRIu64 " refcount error%s",
                 v->counted_rc, v->counted_rc == 1 ? "" : "s");
    }
    v->failed = v->reason[0] != 0;
}

void rs_check_evaluate(rs_check_set_t *set, const rs_check_options_t *opt,
                       rs_supp_list_t *supp, const rs_baseline_t *base,
                       rs_check_verdict_t *v)
{
    memset(v, 0, sizeof *v);
    v->fp_frames = base && base->fp_frames ? base->fp_frames
                   : opt->fp_frames ? opt->fp_frames : RS_CHECK_FP_FRAMES;
    v->have_baseline = base != NULL;
    assign_status(set, opt, supp, v->fp_frames);
    if (base && apply_baseline(set, base) < 0)
        snprintf(v->reason, sizeof v->reason, "out of memory");
    tally(set, opt, v);
}
