/*
 * test_report_export.c - unit tests of lib/report_export: the JSON export
 * of a hand-built snapshot (header, process, blocks, edges, roots and
 * their nulls) and the folded-stack lines of its leak findings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report_export.h"

typedef struct fx {
    rs_node_t        nodes[3];
    uint32_t         edge_start[4];
    rs_edge_t        edges[1];
    rs_root_t        root;
    rs_root_edge_t   root_edge;
    rs_stack_t       stacks[2];
    char            *argv[2];
    rs_snapshot_t    snap;
    rs_symbolizer_t *sym;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    f->nodes[0] = (rs_node_t){ .addr = 0x1000, .size = 16, .cls = RS_CLASS_REACHABLE,
                               .owner = UINT32_MAX, .stack_id = 1 };
    f->nodes[1] = (rs_node_t){ .addr = 0x2000, .size = 40, .cls = RS_CLASS_LEAKED,
                               .owner = UINT32_MAX, .stack_id = 2 };
    f->nodes[2] = (rs_node_t){ .addr = 0x3000, .size = 8, .cls = RS_CLASS_INDIRECT,
                               .owner = 1, .stack_id = 1 };
    static const uint32_t start[4] = { 0, 0, 1, 1 };
    memcpy(f->edge_start, start, sizeof start);
    f->edges[0] = (rs_edge_t){ 2, 24 };
    f->root = (rs_root_t){ .start = 0x9000, .size = 64, .kind = RS_ROOT_STACK,
                           .module = UINT32_MAX, .tid = 77 };
    f->root_edge = (rs_root_edge_t){ 0, 0, 8 };
    f->snap.heap = (rs_heap_t){ .nodes = f->nodes, .n_nodes = 3, .edge_start = f->edge_start,
                                .edges = f->edges, .n_edges = 1, .roots = &f->root,
                                .n_roots = 1, .root_edges = &f->root_edge,
                                .n_root_edges = 1 };
    f->snap.stacks = f->stacks;
    f->snap.n_stacks = 2;
    f->argv[0] = "./prog";
    f->argv[1] = "x\"y";
    f->snap.proc = (rs_proc_info_t){ .pid = 12, .ppid = 1, .reason = 1, .seq = 3,
                                     .exe = "/bin/prog", .argv = f->argv, .argc = 2,
                                     .label = "round1" };
    f->snap.summary.by_class[RS_CLASS_LEAKED] = (rs_tally_t){ 40, 1 };
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

static void test_json(void **state)
{
    fx_t *f = *state;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    rs_json_t j;
    rs_json_init(&j, out, 0);
    assert_int_equal(rs_export_json(&j, &f->snap, f->sym), 0);
    assert_int_equal(rs_json_finish(&j), 0);
    fclose(out);
    static const char *const expected[] = {
        "{\"format\":\"refscope-snapshot-json\",\"version\":1,",
        "\"reason\":\"snapshot\",\"seq\":3",
        "\"label\":\"round1\"",
        "\"argv\":[\"./prog\",\"x\\\"y\"]",
        "\"exit_status\":null",
        "\"leaked\":{\"bytes\":40,\"blocks\":1}",
        "{\"index\":1,\"address\":\"0x2000\",\"size\":40,\"class\":\"leaked\",\"stack\":2,"
        "\"type\":null,\"refcount\":null,\"flags\":0,\"owner\":null",
        "\"owner\":1",
        "\"edges\":[[1,2,24]]",
        "{\"index\":0,\"kind\":\"stack\",\"start\":\"0x9000\",\"size\":64,\"module\":null,"
        "\"tid\":77}",
        "\"root_edges\":[[0,0,8]]",
        "\"rc_errors\":[]",
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        if (!strstr(buf, expected[i]))
            fail_msg("missing %s in %s", expected[i], buf);
    free(buf);
}

static void test_folded(void **state)
{
    fx_t *f = *state;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_int_equal(rs_export_folded(out, &f->snap, f->sym), 0);
    fclose(out);
    /* two leak findings (leaked 40, indirect 8), no frames known */
    assert_string_equal(buf, "?? 40\n?? 8\n");
    free(buf);

    /* A frame known only by its module (no file to read symbols from):
     * the basename's ';', ' ' and newline would split the frame or the
     * line, so each becomes '_'. */
    static const uint64_t pcs[2] = { 0x7000010, 0x7000020 };
    rs_segment_t seg = { 0x7000000, 0x7001000, 5 };
    rs_module_t mod = { .path = "/nonexistent/li b;x\ny.so", .load_bias = 0x7000000,
                        .segments = &seg, .n_segments = 1, .unload_epoch = RS_EPOCH_LIVE };
    f->stacks[1] = (rs_stack_t){ 0, 2, pcs };
    f->snap.modules = &mod;
    f->snap.n_modules = 1;
    out = open_memstream(&buf, &len);
    assert_int_equal(rs_export_folded(out, &f->snap, f->sym), 0);
    fclose(out);
    assert_string_equal(buf, "li_b_x_y.so+0x20;li_b_x_y.so+0x10 40\n?? 8\n");
    free(buf);
    f->snap.modules = NULL;
    f->snap.n_modules = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_folded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
