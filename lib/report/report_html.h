/*
 * report_html.h - refscope's reports as one self-contained HTML page
 * (`refscope report --html`, `diff --html`, `trend --html`).
 *
 * report: a sticky bar with the process line(s) and the totals per class
 *   (chips coloured per class), then per snapshot: its summary table, the
 *   findings in the order and with the wording of the text report
 *   (report_text.c, through its hooks), each stack as a collapsible
 *   <details> table of function, file:line, module and the source line
 *   when the file is readable now; under each cycle, indirect leak and
 *   leaked reference its graph (html_graph.h); and a flame graph of the
 *   leaked bytes by allocation stack (svg_flame.h, fed by the folded
 *   stacks of report_export.h).
 * diff: the growth table of report_diff.h, deltas coloured.
 * trend: a line chart (svg_chart.h) of the bytes of each growing group
 *   per snapshot, and the table of report_trend.h.
 *
 * Everything taken from a snapshot is escaped (html_writer.h).  Graphs
 * and flame graphs are capped (RS_HTML_MAX_GRAPHS findings get a graph).
 * Every function returns 0, or -1 when memory is exhausted or writing
 * failed (the page may then be partial).
 */
#ifndef RS_REPORT_HTML_H
#define RS_REPORT_HTML_H

#include "report.h"
#include "report_diff.h"
#include "report_trend.h"

#include <stdint.h>
#include <stdio.h>

#define RS_HTML_MAX_GRAPHS 20

typedef struct rs_html_options {
    rs_report_options_t report;   /* limit, max_frames, show_reachable     */
    const char         *dot_path; /* Graphviz dot; NULL: show DOT text      */
} rs_html_options_t;

int rs_report_html(FILE *out, const rs_snapshot_t *const *snaps,
                   char *const *paths, uint32_t n, rs_symbolizer_t *sym,
                   const rs_html_options_t *opt);

int rs_diff_html(FILE *out, const rs_diff_t *d, const rs_snapshot_t *old_snap,
                 const char *old_path, const rs_snapshot_t *new_snap,
                 const char *new_path, const rs_diff_options_t *opt);

int rs_trend_html(FILE *out, const rs_trend_t *t, const rs_snapshot_t *const *snaps,
                  char *const *paths, const rs_trend_options_t *opt);

#endif /* RS_REPORT_HTML_H */
