/*
 * report_trend.c - growth across a series of snapshots (see
 * report_trend.h).
 */
#include "report_trend.h"
#include "text_clean.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static uint64_t measure(const rs_tally_t *c, int by_count)
{
    return by_count ? c->blocks : c->bytes;
}

static int cmp_items(const void *pa, const void *pb)
{
    const rs_trend_item_t *a = pa, *b = pb;
    if (a->bytes_per_interval != b->bytes_per_interval)
        return a->bytes_per_interval > b->bytes_per_interval ? -1 : 1;
    if (a->count_per_interval != b->count_per_interval)
        return a->count_per_interval > b->count_per_interval ? -1 : 1;
    return strcmp(a->row->key, b->row->key);
}

int rs_trend_compute(const rs_snapshot_t *const *snaps, uint32_t n,
                     rs_symbolizer_t *sym, const rs_trend_options_t *opt,
                     rs_trend_t *out)
{
    memset(out, 0, sizeof *out);
    if (n < 2)
        return -1;
    rs_group_table_t *t = rs_group_table_create(opt->by, opt->class_mask, n);
    if (!t)
        return -1;
    for (uint32_t s = 0; s < n; s++)
        if (rs_group_table_add(t, s, snaps[s], sym) != 0) {
            rs_group_table_destroy(t);
            return -1;
        }
    uint32_t rows = rs_group_table_rows(t);
    out->items = calloc(rows ? rows : 1, sizeof *out->items);
    if (!out->items) {
        rs_group_table_destroy(t);
        return -1;
    }
    uint32_t intervals = n - 1;
    for (uint32_t r = 0; r < rows; r++) {
        const rs_group_row_t *g = rs_group_table_row(t, r);
        uint32_t grew = 0;
        for (uint32_t s = 0; s < intervals; s++)
            grew += measure(&g->cells[s + 1], opt->by_count) >
                    measure(&g->cells[s], opt->by_count);
        if (measure(&g->cells[n - 1], opt->by_count) <= measure(&g->cells[0], opt->by_count) ||
            (double)grew < opt->min_share * intervals - 1e-9)
            continue;
        rs_trend_item_t *it = &out->items[out->n++];
        it->row = g;
        it->grew_in = grew;
        it->bytes_per_interval = ((int64_t)g->cells[n - 1].bytes - (int64_t)g->cells[0].bytes) /
                                 (int64_t)intervals;
        it->count_per_interval = ((int64_t)g->cells[n - 1].blocks - (int64_t)g->cells[0].blocks) /
                                 (int64_t)intervals;
    }
    if (out->n > 1)
        qsort(out->items, out->n, sizeof *out->items, cmp_items);
    if (opt->limit && out->n > opt->limit) {
        out->n_cut = out->n - opt->limit;
        out->n = opt->limit;
    }
    out->n_snaps = n;
    out->table = t;
    return 0;
}

void rs_trend_free(rs_trend_t *t)
{
    if (!t)
        return;
    free(t->items);
    rs_group_table_destroy(t->table);
    memset(t, 0, sizeof *t);
}

int rs_trend_text(FILE *out, const rs_trend_t *t, const rs_trend_options_t *opt)
{
    uint32_t intervals = t->n_snaps - 1;
    fprintf(out, "%" PRIu32 " snapshots, %" PRIu32 " intervals; groups by %s "
            "growing in at least %.0f%% of the intervals:\n\n", t->n_snaps, intervals,
            rs_group_by_name(opt->by), opt->min_share * 100.0);
    for (uint32_t i = 0; i < t->n; i++) {
        const rs_trend_item_t *it = &t->items[i];
        char buf[RS_TEXT_CLEAN_BUF];
        fprintf(out, "%s\n", rs_text_clean(it->row->label, buf, sizeof buf));
        if (opt->by == RS_GROUP_SITE && it->row->file && !strstr(it->row->label, it->row->file))
            fprintf(out, "    at %s\n", rs_text_clean(it->row->file, buf, sizeof buf));
        fprintf(out, "    grew in %" PRIu32 "/%" PRIu32 " intervals, %+" PRId64
                " bytes and %+" PRId64 " blocks per interval\n    bytes:",
                it->grew_in, intervals, it->bytes_per_interval, it->count_per_interval);
        for (uint32_t s = 0; s < t->n_snaps; s++)
            fprintf(out, " %" PRIu64, it->row->cells[s].bytes);
        fputs("\n    blocks:", out);
        for (uint32_t s = 0; s < t->n_snaps; s++)
            fprintf(out, " %" PRIu64, it->row->cells[s].blocks);
        fputc('\n', out);
    }
    if (t->n == 0)
        fputs("nothing grows steadily\n", out);
    if (t->n_cut)
        fprintf(out, "... %" PRIu32 " more cut by --limit\n", t->n_cut);
    fflush(out);
    return ferror(out) ? -1 : 0;
}

void rs_trend_json(rs_json_t *j, const rs_trend_t *t, const rs_snapshot_t *const *snaps,
                   char *const *paths, const rs_trend_options_t *opt)
{
    rs_json_begin_object(j);
    rs_json_key(j, "snapshots");
    rs_json_begin_array(j);
    for (uint32_t s = 0; s < t->n_snaps; s++) {
        rs_json_begin_object(j);
        rs_json_member_string(j, "path", paths[s]);
        rs_json_member_int(j, "pid", snaps[s]->proc.pid);
        rs_json_member_uint(j, "seq", snaps[s]->proc.seq);
        rs_json_member_string(j, "label", snaps[s]->proc.label);
        rs_json_end_object(j);
    }
    rs_json_end_array(j);
    rs_json_member_string(j, "by", rs_group_by_name(opt->by));
    rs_json_member_uint(j, "min_share", (uint64_t)(opt->min_share * 100.0 + 0.5));
    rs_json_key(j, "findings");
    rs_json_begin_array(j);
    for (uint32_t i = 0; i < t->n; i++) {
        const rs_trend_item_t *it = &t->items[i];
        rs_json_begin_object(j);
        rs_json_member_string(j, "key", it->row->key);
        rs_json_member_string(j, "label", it->row->label);
        rs_json_member_string(j, "file", it->row->file);
        rs_json_member_uint(j, "grew_in", it->grew_in);
        rs_json_member_uint(j, "intervals", t->n_snaps - 1);
        rs_json_key(j, "bytes");
        rs_json_begin_array(j);
        for (uint32_t s = 0; s < t->n_snaps; s++)
            rs_json_uint(j, it->row->cells[s].bytes);
        rs_json_end_array(j);
        rs_json_key(j, "count");
        rs_json_begin_array(j);
        for (uint32_t s = 0; s < t->n_snaps; s++)
            rs_json_uint(j, it->row->cells[s].blocks);
        rs_json_end_array(j);
        rs_json_member_int(j, "bytes_per_interval", it->bytes_per_interval);
        rs_json_member_int(j, "count_per_interval", it->count_per_interval);
        rs_json_end_object(j);
    }
    rs_json_end_array(j);
    rs_json_end_object(j);
}
