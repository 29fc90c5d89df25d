/*
 * report_diff.h - what changed between two snapshots of one program
 * (`refscope diff OLD NEW`, like tracemalloc's Snapshot.compare_to).
 *
 * Blocks are grouped with report_groups.h (by site, type, function or
 * file); each row has count and bytes before, after and their deltas.
 * Rows are sorted by bytes delta, largest growth first (or by count
 * delta), then by key; rows whose |delta| (of the sort column) is below
 * min_delta are dropped, then the list is cut to limit.
 *
 * JSON form (rs_diff_json):
 *   {"old": {"path","pid","label","seq"}, "new": {...}, "by": "site",
 *    "sort": "bytes"|"count", "classes": [names] or null (all),
 *    "rows": [{"key","label","file",
 *              "count_before","count_after","count_delta",
 *              "bytes_before","bytes_after","bytes_delta"}],
 *    "total": {"count_before",...,"bytes_delta"},   (all rows, before cut)
 *    "rows_cut": N}
 */
#ifndef RS_REPORT_DIFF_H
#define RS_REPORT_DIFF_H

#include "json_writer.h"
#include "report_groups.h"

#include <stdint.h>
#include <stdio.h>

typedef struct rs_diff_options {
    rs_group_by_t by;
    int           sort_count;   /* sort by count delta instead of bytes    */
    uint32_t      class_mask;   /* 1 << rs_class_t; 0 = every class        */
    uint64_t      min_delta;    /* drop rows with |delta| < min_delta      */
    uint32_t      limit;        /* at most this many rows; 0 = all         */
} rs_diff_options_t;

typedef struct rs_diff_row {
    const char *key, *label, *file;   /* owned by the diff's table          */
    uint64_t    count[2], bytes[2];   /* [0] before, [1] after              */
    int64_t     count_delta, bytes_delta;
} rs_diff_row_t;

typedef struct rs_diff {
    rs_diff_row_t    *rows;       /* sorted, filtered, cut                  */
    uint32_t          n;
    uint32_t          n_cut;      /* rows dropped by limit                  */
    rs_diff_row_t     total;      /* sums over every row (key "total")      */
    rs_group_table_t *table;      /* owns the strings                       */
} rs_diff_t;

/* Computes the diff of old and new into *out.  Returns 0, or -1 when
 * memory is exhausted (*out is then empty; rs_diff_free accepts it). */
int rs_diff_compute(const rs_snapshot_t *old_snap, const rs_snapshot_t *new_snap,
                    rs_symbolizer_t *sym, const rs_diff_options_t *opt,
                    rs_diff_t *out);
void rs_diff_free(rs_diff_t *d);

/* Text table: a header naming both snapshots, one line per row with the
 * six columns, a line for cut rows and a total line.  Returns 0, or -1
 * when writing failed. */
int rs_diff_text(FILE *out, const rs_diff_t *d, const rs_snapshot_t *old_snap,
                 const char *old_path, const rs_snapshot_t *new_snap,
                 const char *new_path, const rs_diff_options_t *opt);

/* The JSON object above as the next value of j.  Errors stay in j. */
void rs_diff_json(rs_json_t *j, const rs_diff_t *d, const rs_snapshot_t *old_snap,
                  const char *old_path, const rs_snapshot_t *new_snap,
                  const char *new_path, const rs_diff_options_t *opt);

/* Writes the JSON of "classes" (array of names or null) for a mask. */
void rs_diff_json_classes(rs_json_t *j, uint32_t class_mask);

#endif /* RS_REPORT_DIFF_H */
