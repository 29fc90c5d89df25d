/*
 * report_trend.h - what grows across a series of snapshots of one run
 * (`refscope trend SNAP...`, the `regrtest -R` way of catching a leak
 * that is still reachable, such as an unbounded cache).
 *
 * Blocks are grouped per snapshot (report_groups.h, by site or type).  A
 * group grows in an interval when its bytes (or, with by_count, its
 * block count) in snapshot i+1 exceed those of snapshot i.  A group is a
 * finding when it grows in at least min_share of the n-1 intervals
 * (1.0 = every interval) and is larger at the end than at the start.
 * Findings are sorted by total growth in bytes, then key.
 *
 * JSON (rs_trend_json): {"snapshots": [{"path","pid","seq","label"}],
 *   "by", "min_share" (percent), "findings": [{"key","label","file",
 *   "grew_in","intervals","bytes": [per snapshot], "count": [...],
 *   "bytes_per_interval","count_per_interval"}]}   (per-interval growth is
 *   (last - first) / intervals, rounded down)
 */
#ifndef RS_REPORT_TREND_H
#define RS_REPORT_TREND_H

#include "json_writer.h"
#include "report_groups.h"

#include <stdint.h>
#include <stdio.h>

typedef struct rs_trend_options {
    rs_group_by_t by;
    double        min_share;    /* (0, 1]                                  */
    int           by_count;     /* growth measured in blocks, not bytes    */
    uint32_t      class_mask;   /* 0 = every class                         */
    uint32_t      limit;        /* 0 = all                                 */
} rs_trend_options_t;

typedef struct rs_trend_item {
    const rs_group_row_t *row;  /* cells[0..n_snaps)                       */
    uint32_t              grew_in;
    int64_t               bytes_per_interval, count_per_interval;
} rs_trend_item_t;

typedef struct rs_trend {
    rs_trend_item_t  *items;
    uint32_t          n, n_cut;
    uint32_t          n_snaps;
    rs_group_table_t *table;
} rs_trend_t;

/* Computes the trend of snaps[0..n) (n >= 2, in time order).  Returns 0,
 * or -1 when memory is exhausted (*out empty). */
int rs_trend_compute(const rs_snapshot_t *const *snaps, uint32_t n,
                     rs_symbolizer_t *sym, const rs_trend_options_t *opt,
                     rs_trend_t *out);
void rs_trend_free(rs_trend_t *t);

int rs_trend_text(FILE *out, const rs_trend_t *t, const rs_trend_options_t *opt);
void rs_trend_json(rs_json_t *j, const rs_trend_t *t, const rs_snapshot_t *const *snaps,
                   char *const *paths, const rs_trend_options_t *opt);

#endif /* RS_REPORT_TREND_H */
