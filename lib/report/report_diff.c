/*
 * report_diff.c - the snapshot diff (see report_diff.h): group both
 * snapshots into one two-slot table, turn rows into deltas, filter, sort
 * and cut, then render as a text table or JSON.
 */
#include "report_diff.h"
#include "text_clean.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static int g_sort_count;   /* qsort has no context argument */

static int64_t sort_value(const rs_diff_row_t *r, int by_count)
{
    return by_count ? r->count_delta : r->bytes_delta;
}

static int cmp_rows(const void *pa, const void *pb)
{
    const rs_diff_row_t *a = pa, *b = pb;
    int64_t va = sort_value(a, g_sort_count), vb = sort_value(b, g_sort_count);
    if (va != vb)
        return va > vb ? -1 : 1;
    int64_t wa = sort_value(a, !g_sort_count), wb = sort_value(b, !g_sort_count);
    if (wa != wb)
        return wa > wb ? -1 : 1;
    return strcmp(a->key, b->key);
}

static uint64_t abs64(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

static void add_to_total(rs_diff_row_t *t, const rs_diff_row_t *r)
{
    for (int i = 0; i < 2; i++) {
        t->count[i] += r->count[i];
        t->bytes[i] += r->bytes[i];
    }
    t->count_delta += r->count_delta;
    t->bytes_delta += r->bytes_delta;
}

int rs_diff_compute(const rs_snapshot_t *old_snap, const rs_snapshot_t *new_snap,
                    rs_symbolizer_t *sym, const rs_diff_options_t *opt,
                    rs_diff_t *out)
{
    memset(out, 0, sizeof *out);
    out->total.key = out->total.label = "total";
    rs_group_table_t *t = rs_group_table_create(opt->by, opt->class_mask, 2);
    if (!t || rs_group_table_add(t, 0, old_snap, sym) != 0 ||
        rs_group_table_add(t, 1, new_snap, sym) != 0)
        goto oom;
    uint32_t n = rs_group_table_rows(t);
    out->rows = calloc(n ? n : 1, sizeof *out->rows);
    if (!out->rows)
        goto oom;
    for (uint32_t i = 0; i < n; i++) {
        const rs_group_row_t *g = rs_group_table_row(t, i);
        rs_diff_row_t r = { .key = g->key, .label = g->label, .file = g->file };
        for (int s = 0; s < 2; s++) {
            r.count[s] = g->cells[s].blocks;
            r.bytes[s] = g->cells[s].bytes;
        }
        r.count_delta = (int64_t)r.count[1] - (int64_t)r.count[0];
        r.bytes_delta = (int64_t)r.bytes[1] - (int64_t)r.bytes[0];
        add_to_total(&out->total, &r);
        if (abs64(sort_value(&r, opt->sort_count)) < opt->min_delta)
            continue;
        out->rows[out->n++] = r;
    }
    g_sort_count = opt->sort_count;
    if (out->n > 1)
        qsort(out->rows, out->n, sizeof *out->rows, cmp_rows);
    if (opt->limit && out->n > opt->limit) {
        out->n_cut = out->n - opt->limit;
        out->n = opt->limit;
    }
    out->table = t;
    return 0;
oom:
    rs_group_table_destroy(t);
    free(out->rows);
    memset(out, 0, sizeof *out);
    return -1;
}

void rs_diff_free(rs_diff_t *d)
{
    if (!d)
        return;
    free(d->rows);
    rs_group_table_destroy(d->table);
    memset(d, 0, sizeof *d);
}

/* ---- text --------------------------------------------------------------- */

static void describe(FILE *out, const char *what, const rs_snapshot_t *s,
                     const char *path)
{
    char label[RS_TEXT_CLEAN_BUF];
    fprintf(out, "%s: %s (pid %d, #%" PRIu32 " '%s')\n", what, path,
            (int)s->proc.pid, s->proc.seq,
            s->proc.label ? rs_text_clean(s->proc.label, label, sizeof label) : "");
}

static void print_row(FILE *out, const rs_diff_row_t *r, int site)
{
    char buf[RS_TEXT_CLEAN_BUF];
    fprintf(out, "%10" PRIu64 " %10" PRIu64 " %+10" PRId64 "  %12" PRIu64
            " %12" PRIu64 " %+12" PRId64 "  %s", r->count[0], r->count[1],
            r->count_delta, r->bytes[0], r->bytes[1], r->bytes_delta,
            rs_text_clean(r->label, buf, sizeof buf));
    if (site && r->file && !strstr(r->label, r->file))
        fprintf(out, " %s", rs_text_clean(r->file, buf, sizeof buf));
    fputc('\n', out);
}

int rs_diff_text(FILE *out, const rs_diff_t *d, const rs_snapshot_t *old_snap,
                 const char *old_path, const rs_snapshot_t *new_snap,
                 const char *new_path, const rs_diff_options_t *opt)
{
    describe(out, "old", old_snap, old_path);
    describe(out, "new", new_snap, new_path);
    fprintf(out, "grouped by %s, sorted by %s delta\n\n",
            rs_group_by_name(opt->by), opt->sort_count ? "count" : "bytes");
    fprintf(out, "%10s %10s %10s  %12s %12s %12s  %s\n", "count old",
            "count new", "delta", "bytes old", "bytes new", "delta",
            rs_group_by_name(opt->by));
    for (uint32_t i = 0; i < d->n; i++)
        print_row(out, &d->rows[i], opt->by == RS_GROUP_SITE);
    if (d->n == 0)
        fputs("(no group changed by at least the minimum delta)\n", out);
    if (d->n_cut)
        fprintf(out, "... %" PRIu32 " more row%s cut by --limit\n", d->n_cut,
                d->n_cut == 1 ? "" : "s");
    print_row(out, &d->total, 0);
    fflush(out);
    return ferror(out) ? -1 : 0;
}

/* ---- JSON --------------------------------------------------------------- */

static void json_snap(rs_json_t *j, const char *key, const rs_snapshot_t *s,
                      const char *path)
{
    rs_json_key(j, key);
    rs_json_begin_object(j);
    rs_json_member_string(j, "path", path);
    rs_json_member_int(j, "pid", s->proc.pid);
    rs_json_member_string(j, "label", s->proc.label);
    rs_json_member_uint(j, "seq", s->proc.seq);
    rs_json_end_object(j);
}

static void json_row(rs_json_t *j, const rs_diff_row_t *r)
{
    static const char *const names[] = { "count_before", "count_after",
                                          "bytes_before", "bytes_after" };
    rs_json_begin_object(j);
    rs_json_member_string(j, "key", r->key);
    rs_json_member_string(j, "label", r->label);
    rs_json_member_string(j, "file", r->file);
    const uint64_t v[4] = { r->count[0], r->count[1], r->bytes[0], r->bytes[1] };
    for (int i = 0; i < 4; i++) {
        rs_json_member_uint(j, names[i], v[i]);
        if (i == 1 || i == 3)
            rs_json_member_int(j, i == 1 ? "count_delta" : "bytes_delta",
                               i == 1 ? r->count_delta : r->bytes_delta);
    }
    rs_json_end_object(j);
}

void rs_diff_json_classes(rs_json_t *j, uint32_t class_mask)
{
    if (!class_mask) {
        rs_json_null(j);
        return;
    }
    rs_json_begin_array(j);
    for (int c = 1; c < RS_CLASS_COUNT; c++)
        if (class_mask & (1u << c))
            rs_json_string(j, rs_class_name((rs_class_t)c));
    rs_json_end_array(j);
}

void rs_diff_json(rs_json_t *j, const rs_diff_t *d, const rs_snapshot_t *old_snap,
                  const char *old_path, const rs_snapshot_t *new_snap,
                  const char *new_path, const rs_diff_options_t *opt)
{
    rs_json_begin_object(j);
    json_snap(j, "old", old_snap, old_path);
    json_snap(j, "new", new_snap, new_path);
    rs_json_member_string(j, "by", rs_group_by_name(opt->by));
    rs_json_member_string(j, "sort", opt->sort_count ? "count" : "bytes");
    rs_json_key(j, "classes");
    rs_diff_json_classes(j, opt->class_mask);
    rs_json_key(j, "rows");
    rs_json_begin_array(j);
    for (uint32_t i = 0; i < d->n; i++)
        json_row(j, &d->rows[i]);
    rs_json_end_array(j);
    rs_json_key(j, "total");
    json_row(j, &d->total);
    rs_json_member_uint(j, "rows_cut", d->n_cut);
    rs_json_end_object(j);
}
