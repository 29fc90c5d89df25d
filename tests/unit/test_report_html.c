/*
 * test_report_html.c - unit tests of lib/report/report_html (and of the
 * html_page and html_graph pieces it is made of): the page of a
 * hand-built snapshot lists the findings of the text report in its order
 * and words, escapes what the snapshot says, draws its graphs (as marked
 * DOT text without dot), loads nothing from outside, and the diff and
 * trend pages show their table and chart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "html_writer.h"
#include "report_html.h"

typedef struct fx {
    rs_node_t        nodes[5];
    uint32_t         edge_start[6];
    rs_edge_t        edges[3];
    rs_stack_t       stacks[2];
    char            *argv[2];
    char            *types[1];
    rs_snapshot_t    snap;
    rs_symbolizer_t *sym;
} fx_t;

static void node(fx_t *f, uint32_t i, uint64_t addr, uint64_t size,
                 rs_class_t cls, uint32_t owner, uint32_t stack, uint32_t type)
{
    f->nodes[i] = (rs_node_t){ .addr = addr, .size = size, .cls = (uint8_t)cls,
                               .owner = owner, .stack_id = stack, .type_id = type };
    if (type) {
        f->nodes[i].flags = RS_NODE_REFCOUNTED;
        f->nodes[i].refcount = 1;
    }
}

/* reachable 16; leaked 40 owning indirect 8; a cycle of two 24-byte
 * Node<T> objects pointing at each other at +8. */
static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    node(f, 0, 0x1000, 16, RS_CLASS_REACHABLE, UINT32_MAX, 1, 0);
    node(f, 1, 0x2000, 40, RS_CLASS_LEAKED, UINT32_MAX, 2, 0);
    node(f, 2, 0x3000, 8, RS_CLASS_INDIRECT, 1, 1, 0);
    node(f, 3, 0x4000, 24, RS_CLASS_CYCLE, 7, 2, 1);
    node(f, 4, 0x5000, 24, RS_CLASS_CYCLE, 7, 2, 1);
    static const uint32_t start[6] = { 0, 0, 1, 1, 2, 3 };
    memcpy(f->edge_start, start, sizeof start);
    f->edges[0] = (rs_edge_t){ 2, 24 };
    f->edges[1] = (rs_edge_t){ 4, 8 };
    f->edges[2] = (rs_edge_t){ 3, 8 };
    f->snap.heap = (rs_heap_t){ .nodes = f->nodes, .n_nodes = 5,
                                .edge_start = f->edge_start, .edges = f->edges,
                                .n_edges = 3 };
    f->snap.stacks = f->stacks;
    f->snap.n_stacks = 2;
    f->types[0] = "Node<T>";
    f->snap.types = f->types;
    f->snap.n_types = 1;
    f->argv[0] = "./prog";
    f->argv[1] = "<script>alert(1)</script>";
    f->snap.proc = (rs_proc_info_t){ .pid = 12, .ppid = 1, .exe = "/bin/prog",
                                     .argv = f->argv, .argc = 2, .label = "exit",
                                     .has_exit_status = 1, .exit_status = 3 };
    rs_summary_t *s = &f->snap.summary;
    s->by_class[RS_CLASS_REACHABLE] = (rs_tally_t){ 16, 1 };
    s->by_class[RS_CLASS_LEAKED] = (rs_tally_t){ 40, 1 };
    s->by_class[RS_CLASS_INDIRECT] = (rs_tally_t){ 8, 1 };
    s->by_class[RS_CLASS_CYCLE] = (rs_tally_t){ 48, 2 };
    s->cycle_groups = 1;
    f->sym = rs_symbolizer_create(NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    rs_symbolizer_destroy(f->sym);
    free(f);
    return 0;
}

static char *page(fx_t *f, const char *dot)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    const rs_snapshot_t *snaps[1] = { &f->snap };
    char *paths[1] = { "a&b.rsnap" };
    rs_html_options_t opt = { .dot_path = dot };
    assert_int_equal(rs_report_html(out, snaps, paths, 1, f->sym, &opt), 0);
    fclose(out);
    return buf;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void test_findings_as_in_text_report(void **state)
{
    fx_t *f = *state;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(rs_report_text(out, &f->snap, f->sym, NULL), 0);
    fclose(out);
    char *html = page(f, NULL);
    /* every headline and the summary line of the text report, escaped, in
     * the same order */
    const char *at = html;
    int lines = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "Leak of", 7) && strncmp(line, "Cycle of", 8) &&
            strncmp(line, "SUMMARY", 7))
            continue;
        char esc[1024];
        rs_html_escape(esc, sizeof esc, line);
        const char *hit = strstr(at, esc);
        if (!hit)
            fail_msg("text line not found in order: %s", esc);
        at = hit + strlen(esc);
        lines++;
    }
    assert_int_equal(lines, 4);
    /* findings.c's order: leaked, cycle, indirect (class rank first) */
    const char *cy = strstr(html, "class=\"finding c-cycle\"");
    const char *le = strstr(html, "class=\"finding c-leaked\"");
    const char *in = strstr(html, "class=\"finding c-indirect\"");
    assert_true(cy && le && in && le < cy && cy < in);
    assert_int_equal(count(html, "class=\"finding "), 3);
    assert_non_null(strstr(html, "Leak of 40 bytes in 1 block (leaked), allocated at:"));
    assert_non_null(strstr(html, "Cycle of 2 Node&lt;T&gt; objects (48 bytes), 1 group:"));
    free(text);
    free(html);
}

static void test_summary_and_escaping(void **state)
{
    fx_t *f = *state;
    char *html = page(f, NULL);
    assert_non_null(strstr(html, "<b>leaked</b>40 B / 1 block</span>"));
    assert_non_null(strstr(html, "<b>cycle</b>48 B / 2 blocks</span>"));
    assert_non_null(strstr(html, "chip c-leaked_ref zero"));
    assert_non_null(strstr(html, "exited with status 3"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_null(strstr(html, "<script>alert"));
    assert_null(strstr(html, "Node<T>"));
    assert_non_null(strstr(html, "snapshot a&amp;b.rsnap"));
    /* one script of our own, and it records errors */
    assert_int_equal(count(html, "<script>"), 1);
    assert_non_null(strstr(html, "data-js-errors"));
    free(html);
}

static void test_self_contained(void **state)
{
    fx_t *f = *state;
    char *html = page(f, NULL);
    assert_null(strstr(html, "src="));
    assert_null(strstr(html, "href="));
    assert_null(strstr(html, "url("));
    assert_null(strstr(html, "@import"));
    /* the only URL is the SVG namespace */
    size_t urls = count(html, "http"), ns = count(html, "http://www.w3.org/2000/svg");
    assert_int_equal(urls, ns);
    free(html);
}

static void test_graphs_without_dot(void **state)
{
    fx_t *f = *state;
    char *html = page(f, NULL);
    /* the cycle and the indirect leak get a graph, the direct leak none */
    assert_int_equal(count(html, "<div class=\"dotsrc\">"), 2);
    assert_int_equal(count(html, "Graphviz&#39;s dot is not installed"), 2);
    assert_int_equal(count(html, "digraph refscope {"), 2);
    /* DOT labels are escaped too */
    assert_non_null(strstr(html, "Node&lt;T&gt;"));
    free(html);
}

static void test_graphs_with_failing_dot(void **state)
{
    fx_t *f = *state;
    char *html = page(f, "/nonexistent/dot");
    assert_int_equal(count(html, "Graphviz&#39;s dot failed on this graph."), 2);
    free(html);
}

static void test_flame_graph(void **state)
{
    fx_t *f = *state;
    char *html = page(f, NULL);
    /* three leak findings, stacks unknown: one "??" frame of 96 bytes */
    assert_non_null(strstr(html, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"flame\""));
    assert_non_null(strstr(html, "<title>?? (96 bytes, 100.0%)</title>"));
    assert_non_null(strstr(html, "<title>all (96 bytes, 100.0%)</title>"));
    free(html);
}

static void test_diff_and_trend_pages(void **state)
{
    fx_t *f = *state;
    fx_t g = *f;
    g.snap.heap.nodes = g.nodes;
    g.nodes[1].size = 4040;                 /* the leak grew by 4000 */
    rs_diff_options_t dopt = { .by = RS_GROUP_SITE };
    rs_diff_t d;
    assert_int_equal(rs_diff_compute(&f->snap, &g.snap, f->sym, &dopt, &d), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_int_equal(rs_diff_html(out, &d, &f->snap, "old<.rsnap", &g.snap, "new.rsnap",
                                  &dopt), 0);
    fclose(out);
    assert_non_null(strstr(buf, "old: old&lt;.rsnap"));
    assert_non_null(strstr(buf, "<td class=\"n grow\">+4000</td>"));
    assert_non_null(strstr(buf, "<tr class=\"total\">"));
    free(buf);
    rs_diff_free(&d);

    const rs_snapshot_t *snaps[3] = { &f->snap, &g.snap, &g.snap };
    fx_t h = g;
    h.snap.heap.nodes = h.nodes;
    h.nodes[1].size = 8040;
    snaps[2] = &h.snap;
    char *paths[3] = { "a", "b", "c" };
    rs_trend_options_t topt = { .by = RS_GROUP_SITE, .min_share = 1.0 };
    rs_trend_t t;
    assert_int_equal(rs_trend_compute(snaps, 3, f->sym, &topt, &t), 0);
    assert_true(t.n >= 1);
    out = open_memstream(&buf, &len);
    assert_int_equal(rs_trend_html(out, &t, snaps, paths, &topt), 0);
    fclose(out);
    assert_non_null(strstr(buf, "class=\"chart\""));
    assert_int_equal(count(buf, "<polyline"), t.n);
    assert_non_null(strstr(buf, "+4000</td>"));
    free(buf);
    rs_trend_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_findings_as_in_text_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_and_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_contained, setup, teardown),
        cmocka_unit_test_setup_teardown(test_graphs_without_dot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_graphs_with_failing_dot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flame_graph, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diff_and_trend_pages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
