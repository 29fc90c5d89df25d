/*
 * report_html.c - `refscope report --html` (see report_html.h).
 *
 * The text report is the single source of the findings' wording: it runs
 * with hooks (report.h) and writes its text into a memory stream; at each
 * hook the text written since the last one is "drained" into the page,
 * escaped, inside the element of the part it belongs to, and stacks come
 * to the stack hook as frames, which become <details> tables.  So the
 * page lists the same findings, in the same order, with the same words.
 *
 * The body of every snapshot is built first (into memory) and the page
 * written afterwards, so the sticky bar at the top can show the process
 * lines the text report wrote and the totals of every snapshot.
 */
#include "report_html.h"

#include "findings.h"
#include "html_graph.h"
#include "html_page.h"
#include "html_writer.h"
#include "report_export.h"
#include "source_cache.h"
#include "svg_flame.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define FLAME_WIDTH 1180.0

typedef struct html_ctx {
    FILE                    *out;     /* the snapshot's body               */
    FILE                    *text;    /* what the text report writes       */
    char                    *buf;     /* text's memory                     */
    size_t                   len, done;
    rs_report_part_t         cur;     /* the part the pending text is of   */
    const rs_finding_t      *finding; /* the open finding, or NULL         */
    int                      in_box;  /* a finding's <div> is open         */
    uint32_t                 shown;   /* findings and errors shown         */
    uint32_t                 graphs;
    char                    *header;  /* the text report's process line    */
    const rs_snapshot_t     *snap;
    rs_symbolizer_t         *sym;
    const rs_html_options_t *opt;
    rs_source_cache_t       *src;
    rs_namer_t              *nm;      /* built for the first graph         */
    rs_chain_index_t        *x;
    rs_report_cwd_t          cwd;
} html_ctx_t;

/* ---- text of the text report ------------------------------------------- */

/* The pending text, without leading and trailing newlines. */
static void pending(html_ctx_t *c, const char **s, size_t *n)
{
    fflush(c->text);
    const char *p = c->buf + c->done;
    size_t k = c->len - c->done;
    c->done = c->len;
    while (k && *p == '\n')
        p++, k--;
    while (k && p[k - 1] == '\n')
        k--;
    *s = p;
    *n = k;
}

/* Writes the pending text into the page as what the current part needs. */
static int drain(html_ctx_t *c)
{
    const char *s;
    size_t n;
    pending(c, &s, &n);
    if (!n)
        return 0;
    if (c->cur == RS_REPORT_PART_HEADER) {
        static const char prefix[] = "refscope: ";
        if (n > sizeof prefix - 1 && memcmp(s, prefix, sizeof prefix - 1) == 0)
            s += sizeof prefix - 1, n -= sizeof prefix - 1;
        free(c->header);
        c->header = strndup(s, n);
        if (!c->header)
            return -1;
        return 0;
    }
    fputs(c->cur == RS_REPORT_PART_SUMMARY ? "<pre class=\"t sum\">" :
          "<pre class=\"t\">", c->out);
    rs_html_text_n(c->out, s, n);
    fputs("</pre>\n", c->out);
    return 0;
}

/* ---- stacks -------------------------------------------------------------- */

static void frame_location(FILE *out, const html_ctx_t *c, const rs_frame_t *f)
{
    if (f->file) {
        rs_html_text(out, rs_report_cwd_path(&c->cwd, f->file));
        if (f->line)
            fprintf(out, ":%" PRIu32, f->line);
    } else if (f->module) {
        fprintf(out, "+0x%" PRIx64, f->module_offset);
    }
}

static void frame_row(html_ctx_t *c, int i, const rs_frame_t *f)
{
    const char *mod = f->module ? strrchr(f->module, '/') : NULL;
    fprintf(c->out, "<tr><td class=\"n\">#%d</td><td class=\"fn\">", i);
    rs_html_text(c->out, f->function ? f->function : "??");
    fputs("</td><td class=\"loc\">", c->out);
    frame_location(c->out, c, f);
    fputs("</td><td class=\"mod\">", c->out);
    rs_html_text(c->out, f->python ? "python" : mod ? mod + 1 : f->module);
    fputs("</td></tr>\n", c->out);
    const char *line;
    size_t len;
    if (f->file && f->line &&
        rs_source_line(c->src, f->file, f->line, &line, &len) == 0) {
        fputs("<tr class=\"src\"><td colspan=\"4\"><code>", c->out);
        rs_html_text_n(c->out, line, len);
        fputs("</code></td></tr>\n", c->out);
    }
}

static int on_stack(void *ctx, const rs_frame_t *frames, int n)
{
    html_ctx_t *c = ctx;
    if (drain(c) < 0)
        return -1;
    if (n == 0) {
        fputs("<p class=\"note\">&lt;no stack recorded&gt;</p>\n", c->out);
        return 0;
    }
    fputs("<details class=\"stack\"><summary>", c->out);
    const rs_frame_t *top = rs_symbolize_summary_frame(frames, n);
    rs_html_text(c->out, top->function ? top->function : "??");
    fputs(" &mdash; ", c->out);
    frame_location(c->out, c, top);
    fprintf(c->out, " (%d frame%s)</summary>\n<table><tr><th>#</th>"
            "<th>function</th><th>file:line</th><th>module</th></tr>\n",
            n, n == 1 ? "" : "s");
    for (int i = 0; i < n; i++)
        frame_row(c, i, &frames[i]);
    fputs("</table></details>\n", c->out);
    return 0;
}

/* ---- parts --------------------------------------------------------------- */

static void summary_row(FILE *out, const char *cls, const char *name,
                        const rs_tally_t *t, const char *extra)
{
    fprintf(out, "<tr class=\"%s\"><td><span class=\"chip %s\">", cls, cls);
    rs_html_text(out, name);
    fprintf(out, "</span></td><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%"
            PRIu64 "</td><td>%s</td></tr>\n", t->bytes, t->blocks, extra);
}

/* The snapshot's summary table and the findings heading. */
static void process_summary(html_ctx_t *c)
{
    const rs_summary_t *s = &c->snap->summary;
    char groups[64], refs[64];
    snprintf(groups, sizeof groups, "%" PRIu32 " group%s", s->cycle_groups,
             s->cycle_groups == 1 ? "" : "s");
    snprintf(refs, sizeof refs, "%" PRIu64 " unexplained reference%s",
             s->leaked_refs, s->leaked_refs == 1 ? "" : "s");
    rs_html_elem(c->out, "h2", NULL, c->header ? c->header : "refscope report");
    if (c->opt->report.snapshot_path) {
        fputs("<p class=\"note\">snapshot ", c->out);
        rs_html_text(c->out, c->opt->report.snapshot_path);
        fputs("</p>\n", c->out);
    }
    const rs_tally_t *k = s->by_class;
    rs_tally_t total = rs_report_leak_total(c->snap);
    fputs("<table class=\"summary\"><tr><th>class</th><th class=\"n\">bytes</th>"
          "<th class=\"n\">blocks</th><th></th></tr>\n", c->out);
    summary_row(c->out, "c-leaked", "leaked", &k[RS_CLASS_LEAKED], "");
    summary_row(c->out, "c-indirect", "indirect", &k[RS_CLASS_INDIRECT], "");
    summary_row(c->out, "c-cycle", "cycle", &k[RS_CLASS_CYCLE], groups);
    summary_row(c->out, "c-leaked_ref", "leaked_ref", &k[RS_CLASS_LEAKED_REF], refs);
    summary_row(c->out, "c-total", "all leaks", &total, "");
    summary_row(c->out, "c-reachable", "reachable", &k[RS_CLASS_REACHABLE], "");
    fprintf(c->out, "<tr class=\"c-rc_error\"><td><span class=\"chip c-rc_error\">"
            "rc errors</span></td><td class=\"n\"></td><td class=\"n\">%" PRIu32
            "</td><td>refcount errors</td></tr>\n", s->rc_errors);
    fputs("</table>\n<h3>Findings<button data-open=\"1\">expand all stacks"
          "</button><button data-open=\"0\">collapse all</button></h3>\n", c->out);
}

/* The graph of the open finding, built lazily. */
static int finding_graph(html_ctx_t *c)
{
    const rs_finding_t *f = c->finding;
    if (!f || !rs_html_graph_wanted(f) || c->graphs >= RS_HTML_MAX_GRAPHS)
        return 0;
    if (!c->nm && !(c->nm = rs_namer_create(c->snap, c->sym)))
        return -1;
    if (!c->x && !(c->x = rs_chain_index_build(c->snap)))
        return -1;
    c->graphs++;
    return rs_html_graph(c->out, c->snap, c->nm, c->x, f, c->opt->dot_path);
}

static int close_box(html_ctx_t *c)
{
    if (!c->in_box)
        return 0;
    if (finding_graph(c) < 0)
        return -1;
    fputs("</div>\n", c->out);
    c->in_box = 0;
    c->finding = NULL;
    return 0;
}

static void open_box(html_ctx_t *c, const char *cls)
{
    fprintf(c->out, "<div class=\"finding c-%s\"><span class=\"cls\">%s</span>\n",
            cls, cls);
    c->in_box = 1;
    c->shown++;
}

static int on_part(void *ctx, rs_report_part_t p, const rs_finding_t *f,
                   const rs_rc_finding_t *e)
{
    html_ctx_t *c = ctx;
    (void)e;
    if (drain(c) < 0 || close_box(c) < 0)
        return -1;
    if (c->cur == RS_REPORT_PART_HEADER && p != RS_REPORT_PART_HEADER)
        process_summary(c);
    if (p == RS_REPORT_PART_FINDING) {
        open_box(c, rs_class_name(f->cls));
        c->finding = f;
    } else if (p == RS_REPORT_PART_RC_ERROR) {
        open_box(c, "rc_error");
    } else if (p == RS_REPORT_PART_SUMMARY && c->shown == 0) {
        fputs("<p class=\"note\">No findings.</p>\n", c->out);
    }
    c->cur = p;
    return 0;
}

/* ---- one snapshot ---------------------------------------------------------- */

static int flame(html_ctx_t *c)
{
    rs_folded_t fo;
    rs_flame_t fl;
    if (rs_folded_collect(c->snap, c->sym, &fo) != 0)
        return -1;
    int rc = rs_flame_layout((const char *const *)fo.stacks, fo.bytes, fo.n, &fl);
    if (rc == 0) {
        fputs("<h3>Leaked bytes by allocation stack</h3>\n<p class=\"note\">"
              "A flame graph: each bar is a function, as wide as the bytes "
              "leaked below it; callers under callees.  Hover for the "
              "figures.</p>\n", c->out);
        rs_flame_svg(c->out, &fl, FLAME_WIDTH);
    }
    rs_flame_free(&fl);
    rs_folded_free(&fo);
    return rc;
}

/* The body of one snapshot into c->out. */
static int snapshot_body(html_ctx_t *c)
{
    rs_report_hooks_t hooks = { .ctx = c, .part = on_part, .stack = on_stack };
    c->text = open_memstream(&c->buf, &c->len);
    if (!c->text)
        return -1;
    fputs("<section class=\"proc\">\n", c->out);
    int rc = rs_report_text_hooked(c->text, c->snap, c->sym, &c->opt->report, &hooks);
    if (rc == 0)
        rc = flame(c);
    fputs("</section>\n", c->out);
    fclose(c->text);
    free(c->buf);
    c->text = NULL;
    c->buf = NULL;
    c->len = c->done = 0;
    return rc;
}

/* ---- the page ---------------------------------------------------------------- */

static void bar(FILE *out, const rs_snapshot_t *const *snaps, uint32_t n,
                char *const *headers)
{
    rs_tally_t k[RS_CLASS_COUNT] = { { 0, 0 } };
    uint64_t errors = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i < 4 && headers[i])
            rs_html_elem(out, "div", "sub", headers[i]);
        for (int cl = 0; cl < RS_CLASS_COUNT; cl++) {
            k[cl].bytes += snaps[i]->summary.by_class[cl].bytes;
            k[cl].blocks += snaps[i]->summary.by_class[cl].blocks;
        }
        errors += snaps[i]->summary.rc_errors;
    }
    if (n > 4)
        fprintf(out, "<div class=\"sub\">... and %" PRIu32 " more processes"
                "</div>\n", n - 4);
    fputs("<div class=\"chips\">\n", out);
    static const rs_class_t order[] = { RS_CLASS_LEAKED, RS_CLASS_INDIRECT,
                                        RS_CLASS_CYCLE, RS_CLASS_LEAKED_REF,
                                        RS_CLASS_REACHABLE };
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        char cls[32];
        snprintf(cls, sizeof cls, "c-%s", rs_class_name(order[i]));
        rs_html_chip(out, cls, rs_class_name(order[i]), k[order[i]].bytes,
                     k[order[i]].blocks);
    }
    rs_html_chip_count(out, "c-rc_error", "rc errors", errors);
    fputs("</div>\n", out);
}

int rs_report_html(FILE *out, const rs_snapshot_t *const *snaps,
                   char *const *paths, uint32_t n, rs_symbolizer_t *sym,
                   const rs_html_options_t *opt)
{
    char *body = NULL;
    size_t body_len = 0;
    rs_source_cache_t *src = NULL;
    char **headers = calloc(n ? n : 1, sizeof *headers);
    html_ctx_t *c = calloc(1, sizeof *c);
    FILE *b = open_memstream(&body, &body_len);
    int rc = -1;
    if (!headers || !c || !b)
        goto out;
    src = rs_source_cache_create();
    if (!src)
        goto out;
    for (uint32_t i = 0; i < n; i++) {
        rs_html_options_t o = *opt;
        o.report.snapshot_path = paths ? paths[i] : NULL;
        *c = (html_ctx_t){ .out = b, .snap = snaps[i], .sym = sym, .opt = &o,
                           .src = src };
        rs_report_cwd_init(&c->cwd);
        int r = snapshot_body(c);
        c->src = NULL;
        headers[i] = c->header;
        rs_chain_index_destroy(c->x);
        rs_namer_destroy(c->nm);
        if (r < 0)
            goto out;
    }
    if (fclose(b) != 0) {
        b = NULL;
        goto out;
    }
    b = NULL;
    rs_html_page_begin(out, "refscope report");
    bar(out, snaps, n, headers);
    rs_html_page_bar_end(out);
    fwrite(body, 1, body_len, out);
    rs_html_page_end(out);
    fflush(out);
    rc = ferror(out) ? -1 : 0;
out:
    if (b)
        fclose(b);
    free(body);
    for (uint32_t i = 0; headers && i < n; i++)
        free(headers[i]);
    free(headers);
    rs_source_cache_destroy(src);
    free(c);
    return rc;
}
