/*
 * test_report_dot.c - unit tests of lib/report_dot: which blocks, roots
 * and pointers each mode draws (counted in the DOT text), the node limit,
 * and the labels.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report_dot.h"

/* 0 reachable (global -> 0), 0 -> 1 reachable; 2,3 a cycle (group 5)
 * with 2 -> 3, 3 -> 2 and 3 -> 4 (4 indirect); 5 leaked -> 4. */
typedef struct fx {
    rs_node_t      nodes[6];
    uint32_t       edge_start[7];
    rs_edge_t      edges[6];
    rs_root_t      root;
    rs_root_edge_t root_edge;
    char          *types[1];
    rs_snapshot_t  snap;
    rs_symbolizer_t *sym;
    rs_namer_t     *nm;
    rs_chain_index_t *x;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    static const uint8_t cls[6] = { RS_CLASS_REACHABLE, RS_CLASS_REACHABLE, RS_CLASS_CYCLE,
                                    RS_CLASS_CYCLE, RS_CLASS_INDIRECT, RS_CLASS_LEAKED };
    for (int i = 0; i < 6; i++)
        f->nodes[i] = (rs_node_t){ .addr = 0x1000 + 0x100 * (uint64_t)i, .size = 32,
                                   .cls = cls[i], .owner = UINT32_MAX };
    f->nodes[2].owner = f->nodes[3].owner = 5;
    f->nodes[2].type_id = f->nodes[3].type_id = 1;
    f->nodes[2].flags = f->nodes[3].flags = RS_NODE_REFCOUNTED;
    f->nodes[2].refcount = 1;
    f->types[0] = "Node";
    /* edges by source: 0->1 | 2->3 | 3->2, 3->4 | 5->4 */
    static const uint32_t start[7] = { 0, 1, 1, 2, 4, 4, 5 };
    memcpy(f->edge_start, start, sizeof start);
    f->edges[0] = (rs_edge_t){ 1, 8 };
    f->edges[1] = (rs_edge_t){ 3, 16 };
    f->edges[2] = (rs_edge_t){ 2, 16 };
    f->edges[3] = (rs_edge_t){ 4, 24 };
    f->edges[4] = (rs_edge_t){ 4, 0 };
    f->root = (rs_root_t){ .start = 0x9000, .size = 64, .kind = RS_ROOT_STACK,
                           .module = UINT32_MAX, .tid = 42 };
    f->root_edge = (rs_root_edge_t){ 0, 0, 8 };
    f->snap.heap = (rs_heap_t){ .nodes = f->nodes, .n_nodes = 6, .edge_start = f->edge_start,
                                .edges = f->edges, .n_edges = 5, .roots = &f->root,
                                .n_roots = 1, .root_edges = &f->root_edge,
                                .n_root_edges = 1 };
    f->snap.types = f->types;
    f->snap.n_types = 1;
    f->sym = rs_symbolizer_create(NULL);
    f->nm = rs_namer_create(&f->snap, f->sym);
    f->x = rs_chain_index_build(&f->snap);
    assert_non_null(f->x);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    rs_chain_index_destroy(f->x);
    rs_namer_destroy(f->nm);
    rs_symbolizer_destroy(f->sym);
    free(f);
    return 0;
}

static char *draw(fx_t *f, const rs_dot_options_t *opt, rs_dot_stats_t *st)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_int_equal(rs_dot_write(out, &f->snap, f->nm, f->x, opt, st), 0);
    fclose(out);
    return buf;
}

static int count(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)); p++)
        n++;
    return n;
}

static void test_leaks(void **state)
{
    fx_t *f = *state;
    rs_dot_options_t opt = { .mode = RS_DOT_LEAKS };
    rs_dot_stats_t st;
    char *dot = draw(f, &opt, &st);
    assert_int_equal(st.nodes, 4);
    assert_int_equal(st.edges, 4);
    assert_int_equal(count(dot, "->"), 4);
    assert_int_equal(count(dot, "color=red"), 4);
    assert_non_null(strstr(dot, "b2 [label=\"Node\\n32 bytes, cycle\\nrefcount 1"));
    assert_non_null(strstr(dot, "b3 -> b4 [label=\" +24 \"]"));
    assert_true(strncmp(dot, "digraph refscope {", 18) == 0);
    free(dot);
}

static void test_cycles(void **state)
{
    fx_t *f = *state;
    rs_dot_options_t opt = { .mode = RS_DOT_CYCLES };
    rs_dot_stats_t st;
    char *dot = draw(f, &opt, &st);
    assert_int_equal(st.nodes, 2);
    assert_int_equal(st.edges, 2);
    assert_non_null(strstr(dot, "b2 -> b3"));
    assert_non_null(strstr(dot, "b3 -> b2"));
    assert_null(strstr(dot, "b4"));
    free(dot);
}

static void test_around_and_limit(void **state)
{
    fx_t *f = *state;
    uint32_t t = 4;
    rs_dot_options_t opt = { .mode = RS_DOT_AROUND, .targets = &t, .n_targets = 1,
                             .depth = 1 };
    rs_dot_stats_t st;
    char *dot = draw(f, &opt, &st);
    /* 4 and its referrers 3 and 5; pointers 3->4, 5->4 */
    assert_int_equal(st.nodes, 3);
    assert_int_equal(st.edges, 2);
    assert_non_null(strstr(dot, "style=bold"));
    free(dot);
    opt.depth = 2;               /* adds 2 (-> 3) and the edges among them */
    dot = draw(f, &opt, &st);
    assert_int_equal(st.nodes, 4);
    assert_int_equal(st.edges, 4);
    free(dot);
    t = 1;                       /* reachable: the stack root is drawn */
    opt.depth = 5;
    dot = draw(f, &opt, &st);
    assert_int_equal(st.nodes, 2);
    assert_int_equal(st.roots, 1);
    assert_int_equal(st.edges, 2);
    assert_non_null(strstr(dot, "stack of thread 42"));
    free(dot);
    opt = (rs_dot_options_t){ .mode = RS_DOT_LEAKS, .max_nodes = 2 };
    dot = draw(f, &opt, &st);
    assert_int_equal(st.nodes, 2);
    assert_int_equal(st.cut, 2);
    assert_non_null(strstr(dot, "2 more blocks not drawn"));
    free(dot);
    /* the pointer limit: the leaks 2, 3, 4, 5 have 4 pointers among them */
    opt = (rs_dot_options_t){ .mode = RS_DOT_LEAKS, .max_edges = 3 };
    dot = draw(f, &opt, &st);
    assert_int_equal(st.edges, 3);
    assert_int_equal(st.edges_cut, 1);
    assert_int_equal(count(dot, "->"), 3);
    assert_non_null(strstr(dot, "1 more pointers not drawn"));
    free(dot);
}

/* Type names in labels: quotes escaped, control bytes and ill-formed UTF-8
 * as '?', well-formed characters kept, cut after RS_DOT_LABEL_MAX bytes
 * (Graphviz refuses strings over 16 KiB). */
static void test_labels(void **state)
{
    fx_t *f = *state;
    char *big = malloc(20000);
    memset(big, 'x', 19999);
    big[19999] = '\0';
    const char *names[] = { "N\"q\\\x01\xff\xc3\xa9", big };
    const char *want[] = { "N\\\"q\\\\??\xc3\xa9\\n", NULL };
    for (int k = 0; k < 2; k++) {
        f->types[0] = (char *)names[k];
        rs_namer_destroy(f->nm);
        f->nm = rs_namer_create(&f->snap, f->sym);
        rs_dot_options_t opt = { .mode = RS_DOT_CYCLES };
        rs_dot_stats_t st;
        char *dot = draw(f, &opt, &st);
        if (want[k]) {
            assert_non_null(strstr(dot, want[k]));
        } else {
            const char *l = strstr(dot, "[label=\"");
            assert_non_null(l);
            const char *end = strstr(l, "...\\n");
            assert_non_null(end);
            assert_true(end - l < RS_DOT_LABEL_MAX + 64);
        }
        free(dot);
    }
    f->types[0] = "Node";
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_leaks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cycles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_around_and_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_labels, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
