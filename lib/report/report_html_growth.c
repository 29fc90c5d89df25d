/*
 * report_html_growth.c - the HTML pages of `refscope diff --html` and
 * `refscope trend --html` (see report_html.h): the rows report_diff.c and
 * report_trend.c computed, as a table and, for trend, a line chart of the
 * bytes of each growing group per snapshot.
 */
#include "report_html.h"

#include "html_page.h"
#include "html_writer.h"
#include "svg_chart.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define CHART_W 1180.0
#define CHART_H 420.0
#define CHART_SERIES 8       /* lines drawn; the table lists every group */

static void snapshot_line(FILE *out, const char *what, const rs_snapshot_t *s,
                          const char *path)
{
    fputs("<div class=\"sub\">", out);
    rs_html_textf(out, "%s: %s (pid %d, #%" PRIu32 " '%s')", what, path,
                  (int)s->proc.pid, s->proc.seq, s->proc.label ? s->proc.label : "");
    fputs("</div>\n", out);
}

static void delta_cell(FILE *out, int64_t d)
{
    fprintf(out, "<td class=\"n %s\">%+" PRId64 "</td>",
            d > 0 ? "grow" : d < 0 ? "shrink" : "", d);
}

/* The group's label, and its file when the label does not show it. */
static void group_cell(FILE *out, const char *label, const char *file, int site)
{
    fputs("<td class=\"fn\">", out);
    rs_html_text(out, label);
    if (site && file && !strstr(label, file)) {
        fputs(" <span class=\"note\">", out);
        rs_html_text(out, file);
        fputs("</span>", out);
    }
    fputs("</td>", out);
}

static void diff_row(FILE *out, const rs_diff_row_t *r, int site, const char *cls)
{
    fprintf(out, "<tr%s%s%s><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%"
            PRIu64 "</td>", cls ? " class=\"" : "", cls ? cls : "",
            cls ? "\"" : "", r->count[0], r->count[1]);
    delta_cell(out, r->count_delta);
    fprintf(out, "<td class=\"n\">%" PRIu64 "</td><td class=\"n\">%" PRIu64
            "</td>", r->bytes[0], r->bytes[1]);
    delta_cell(out, r->bytes_delta);
    group_cell(out, r->label, r->file, site);
    fputs("</tr>\n", out);
}

int rs_diff_html(FILE *out, const rs_diff_t *d, const rs_snapshot_t *old_snap,
                 const char *old_path, const rs_snapshot_t *new_snap,
                 const char *new_path, const rs_diff_options_t *opt)
{
    int site = opt->by == RS_GROUP_SITE;
    rs_html_page_begin(out, "refscope diff");
    snapshot_line(out, "old", old_snap, old_path);
    snapshot_line(out, "new", new_snap, new_path);
    fputs("<div class=\"chips\">\n", out);
    rs_html_chip(out, d->total.bytes_delta > 0 ? "c-leaked" : "c-reachable",
                 "growth", d->total.bytes_delta > 0 ? (uint64_t)d->total.bytes_delta : 0,
                 d->total.count_delta > 0 ? (uint64_t)d->total.count_delta : 0);
    rs_html_chip_count(out, "c-total", "groups shown", d->n);
    fputs("</div>\n", out);
    rs_html_page_bar_end(out);
    fprintf(out, "<h2>Growth by %s, sorted by %s delta</h2>\n",
            rs_group_by_name(opt->by), opt->sort_count ? "count" : "bytes");
    fprintf(out, "<table class=\"diff\"><tr><th class=\"n\">count old</th>"
            "<th class=\"n\">count new</th><th class=\"n\">delta</th>"
            "<th class=\"n\">bytes old</th><th class=\"n\">bytes new</th>"
            "<th class=\"n\">delta</th><th>%s</th></tr>\n", rs_group_by_name(opt->by));
    for (uint32_t i = 0; i < d->n; i++)
        diff_row(out, &d->rows[i], site, NULL);
    diff_row(out, &d->total, 0, "total");
    fputs("</table>\n", out);
    if (d->n == 0)
        fputs("<p class=\"note\">No group changed by at least the minimum "
              "delta.</p>\n", out);
    if (d->n_cut)
        fprintf(out, "<p class=\"note\">... %" PRIu32 " more row%s cut by "
                "--limit</p>\n", d->n_cut, d->n_cut == 1 ? "" : "s");
    rs_html_page_end(out);
    fflush(out);
    return ferror(out) ? -1 : 0;
}

/* ---- trend ------------------------------------------------------------ */

/* The chart of the first CHART_SERIES findings; -1 on exhaustion. */
static int trend_chart(FILE *out, const rs_trend_t *t, const rs_snapshot_t *const *snaps)
{
    uint32_t ns = t->n < CHART_SERIES ? t->n : CHART_SERIES;
    char **labels = calloc(t->n_snaps, sizeof *labels);
    uint64_t *values = calloc((size_t)ns * t->n_snaps + 1, sizeof *values);
    rs_chart_series_t *series = calloc(ns + 1, sizeof *series);
    int rc = -1;
    if (!labels || !values || !series)
        goto out;
    for (uint32_t s = 0; s < t->n_snaps; s++) {
        const char *l = snaps[s]->proc.label;
        if (asprintf(&labels[s], "#%" PRIu32 "%s%s", snaps[s]->proc.seq,
                     l && *l ? " " : "", l ? l : "") < 0) {
            labels[s] = NULL;
            goto out;
        }
    }
    for (uint32_t i = 0; i < ns; i++) {
        series[i].label = t->items[i].row->label;
        series[i].values = values + (size_t)i * t->n_snaps;
        for (uint32_t s = 0; s < t->n_snaps; s++)
            values[(size_t)i * t->n_snaps + s] = t->items[i].row->cells[s].bytes;
    }
    rs_chart_t c = { .x_labels = (const char *const *)labels,
                     .n_points = t->n_snaps, .series = series, .n_series = ns,
                     .unit = "bytes", .width = CHART_W, .height = CHART_H };
    rs_chart_svg(out, &c);
    rc = 0;
out:
    for (uint32_t s = 0; labels && s < t->n_snaps; s++)
        free(labels[s]);
    free(labels);
    free(values);
    free(series);
    return rc;
}

static void trend_table(FILE *out, const rs_trend_t *t, const rs_trend_options_t *opt)
{
    fprintf(out, "<table class=\"trend\"><tr><th>%s</th><th class=\"n\">grew in"
            "</th><th class=\"n\">bytes/interval</th><th class=\"n\">blocks/"
            "interval</th><th>bytes per snapshot</th></tr>\n",
            rs_group_by_name(opt->by));
    for (uint32_t i = 0; i < t->n; i++) {
        const rs_trend_item_t *it = &t->items[i];
        fputs("<tr>", out);
        group_cell(out, it->row->label, it->row->file, opt->by == RS_GROUP_SITE);
        fprintf(out, "<td class=\"n\">%" PRIu32 "/%" PRIu32 "</td>", it->grew_in,
                t->n_snaps - 1);
        delta_cell(out, it->bytes_per_interval);
        delta_cell(out, it->count_per_interval);
        fputs("<td class=\"n\">", out);
        for (uint32_t s = 0; s < t->n_snaps; s++)
            fprintf(out, "%s%" PRIu64, s ? " " : "", it->row->cells[s].bytes);
        fputs("</td></tr>\n", out);
    }
    fputs("</table>\n", out);
}

int rs_trend_html(FILE *out, const rs_trend_t *t, const rs_snapshot_t *const *snaps,
                  char *const *paths, const rs_trend_options_t *opt)
{
    rs_html_page_begin(out, "refscope trend");
    fprintf(out, "<div class=\"sub\">%" PRIu32 " snapshots, %" PRIu32
            " intervals; groups by %s growing in at least %.0f%% of the "
            "intervals</div>\n", t->n_snaps, t->n_snaps - 1,
            rs_group_by_name(opt->by), opt->min_share * 100.0);
    for (uint32_t s = 0; s < t->n_snaps && s < 4; s++)
        snapshot_line(out, "snapshot", snaps[s], paths[s]);
    fputs("<div class=\"chips\">\n", out);
    rs_html_chip_count(out, t->n ? "c-leaked" : "c-reachable", "growing groups", t->n);
    fputs("</div>\n", out);
    rs_html_page_bar_end(out);
    if (t->n == 0) {
        fputs("<h2>Nothing grows steadily</h2>\n", out);
    } else {
        fputs("<h2>Live bytes per group across the snapshots</h2>\n", out);
        if (t->n > CHART_SERIES)
            fprintf(out, "<p class=\"note\">The %d groups that grow most are "
                    "drawn; the table lists all.</p>\n", CHART_SERIES);
        if (trend_chart(out, t, snaps) < 0)
            return -1;
        trend_table(out, t, opt);
    }
    if (t->n_cut)
        fprintf(out, "<p class=\"note\">... %" PRIu32 " more cut by --limit</p>\n",
                t->n_cut);
    rs_html_page_end(out);
    fflush(out);
    return ferror(out) ? -1 : 0;
}
