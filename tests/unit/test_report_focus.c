/*
 * test_report_focus.c - unit tests of lib/report/report_focus.c: which
 * module paths are Python extension modules, and which leak nodes the
 * Python focus hides, by class (own stack, cycle group, charge root), on
 * a hand-built snapshot with modules loaded at different epochs; the
 * hidden tally of rs_findings_build.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "findings.h"
#include "report_focus.h"

#define NONE UINT32_MAX

static void test_extension_paths(void **state)
{
    static const struct { const char *path; int ext; } cases[] = {
        { "/x/leaky.cpython-311-x86_64-linux-gnu.so", 1 },
        { "leaky.so", 1 },
        { "/site-packages/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so", 1 },
        { "/opt/m/foo.abi3.so", 1 },
        { "/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so", 0 },
        { "/usr/lib/x86_64-linux-gnu/libssl.so.3", 0 },
        { "/usr/lib/x86_64-linux-gnu/libffi.so", 0 },
        { "/usr/lib/libpython3.11.so.1.0", 0 },
        { "/usr/bin/python3.11", 0 },
        { "/lib64/ld-linux-x86-64.so.2", 0 },
        { "/build/lib/librefscope.so", 0 },
        { "/x/9lives.so", 0 },
        { "/x/a-b.so", 0 },
        { "/x/.so", 0 },
        { "[vdso]", 0 },
        { NULL, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (rs_focus_is_python_extension(cases[i].path) != cases[i].ext)
            fail_msg("%s: expected %d", cases[i].path ? cases[i].path : "NULL",
                     cases[i].ext);
}

/* Modules: python (0x1000), the extension (0x3000), a stdlib extension
 * (0x5000), libssl (0x7000), an extension loaded at epoch 2 (0x9000). */
static rs_segment_t segs[5] = {
    { 0x1000, 0x2000, 5 }, { 0x3000, 0x4000, 5 }, { 0x5000, 0x6000, 5 },
    { 0x7000, 0x8000, 5 }, { 0x9000, 0xa000, 5 },
};
static rs_module_t mods[5] = {
    { .path = "/usr/bin/python3.11", .segments = &segs[0], .n_segments = 1,
      .load_epoch = 0, .unload_epoch = RS_EPOCH_LIVE },
    { .path = "/x/leaky.cpython-311-x86_64-linux-gnu.so", .segments = &segs[1],
      .n_segments = 1, .load_epoch = 0, .unload_epoch = RS_EPOCH_LIVE },
    { .path = "/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so",
      .segments = &segs[2], .n_segments = 1, .load_epoch = 0,
      .unload_epoch = RS_EPOCH_LIVE },
    { .path = "/usr/lib/x86_64-linux-gnu/libssl.so.3", .segments = &segs[3],
      .n_segments = 1, .load_epoch = 0, .unload_epoch = RS_EPOCH_LIVE },
    { .path = "/x/late.so", .segments = &segs[4], .n_segments = 1, .load_epoch = 2,
      .unload_epoch = RS_EPOCH_LIVE },
};
static const uint64_t pcs_py[] = { 0x1100 }, pcs_ext[] = { 0x1100, 0x3100, 0x1200 },
                      pcs_ssl[] = { 0x7100, 0x5100, 0x1100 }, pcs_late[] = { 0x9100 };
enum { S_PY = 1, S_EXT, S_SSL, S_LATE_EARLY, S_LATE };
static rs_stack_t stacks[5] = {
    { 1, 1, pcs_py }, { 1, 3, pcs_ext }, { 1, 3, pcs_ssl }, { 1, 1, pcs_late },
    { 2, 1, pcs_late },
};

typedef struct fixture {
    rs_node_t     nodes[32];
    rs_snapshot_t snap;
} fixture_t;

static uint32_t add(fixture_t *fx, rs_class_t cls, uint32_t stack, uint32_t owner)
{
    uint32_t i = fx->snap.heap.n_nodes++;
    fx->nodes[i] = (rs_node_t){ .addr = 0x100000 + 0x100 * (uint64_t)i, .size = 16,
                                .stack_id = stack, .cls = (uint8_t)cls, .owner = owner };
    return i;
}

static void setup(fixture_t *fx)
{
    memset(fx, 0, sizeof *fx);
    fx->snap.heap.nodes = fx->nodes;
    fx->snap.modules = mods;
    fx->snap.n_modules = 5;
    fx->snap.stacks = stacks;
    fx->snap.n_stacks = 5;
}

static void test_hidden_by_class(void **state)
{
    fixture_t fx;
    setup(&fx);
    uint32_t py = add(&fx, RS_CLASS_LEAKED, S_PY, NONE);
    uint32_t ext = add(&fx, RS_CLASS_LEAKED, S_EXT, NONE);
    uint32_t ssl = add(&fx, RS_CLASS_LEAKED_REF, S_SSL, NONE);
    uint32_t early = add(&fx, RS_CLASS_LEAKED, S_LATE_EARLY, NONE);
    uint32_t late = add(&fx, RS_CLASS_LEAKED, S_LATE, NONE);
    uint32_t nostack = add(&fx, RS_CLASS_LEAKED, 0, NONE);
    uint32_t badstack = add(&fx, RS_CLASS_LEAKED, 99, NONE);
    uint32_t c7a = add(&fx, RS_CLASS_CYCLE, S_PY, 7);      /* group 7: kept */
    uint32_t c7b = add(&fx, RS_CLASS_CYCLE, S_EXT, 7);
    uint32_t c8a = add(&fx, RS_CLASS_CYCLE, S_PY, 8);      /* group 8: hidden */
    uint32_t c8b = add(&fx, RS_CLASS_CYCLE, S_SSL, 8);
    uint32_t i_ext = add(&fx, RS_CLASS_INDIRECT, S_PY, ext);
    uint32_t i_chain = add(&fx, RS_CLASS_INDIRECT, S_PY, i_ext);
    uint32_t i_py = add(&fx, RS_CLASS_INDIRECT, S_PY, py);
    uint32_t i_own = add(&fx, RS_CLASS_INDIRECT, S_EXT, py);
    uint32_t i_cyc = add(&fx, RS_CLASS_INDIRECT, S_PY, c7a);
    uint32_t i_loop = add(&fx, RS_CLASS_INDIRECT, S_PY, NONE);
    fx.nodes[i_loop].owner = i_loop;
    uint32_t reach = add(&fx, RS_CLASS_REACHABLE, S_PY, NONE);
    uint32_t reach_ext = add(&fx, RS_CLASS_REACHABLE, S_EXT, NONE);

    uint8_t *h;
    assert_int_equal(rs_focus_hidden(&fx.snap, RS_FOCUS_ALL, &h), 0);
    assert_null(h);
    assert_int_equal(rs_focus_hidden(&fx.snap, RS_FOCUS_PYTHON, &h), 0);
    assert_non_null(h);
    struct { uint32_t node; uint8_t hidden; } want[] = {
        { py, 1 }, { ext, 0 }, { ssl, 1 }, { early, 1 }, { late, 0 },
        { nostack, 1 }, { badstack, 1 }, { c7a, 0 }, { c7b, 0 }, { c8a, 1 },
        { c8b, 1 }, { i_ext, 0 }, { i_chain, 0 }, { i_py, 1 }, { i_own, 0 },
        { i_cyc, 0 }, { i_loop, 1 }, { reach, 1 }, { reach_ext, 0 },
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
        if (h[want[k].node] != want[k].hidden)
            fail_msg("node %u: hidden %u, want %u", want[k].node, h[want[k].node],
                     want[k].hidden);
    free(h);

    /* The findings: hidden blocks are tallied, never listed. */
    rs_findings_options_t opt = { .focus = RS_FOCUS_PYTHON };
    rs_findings_t f;
    assert_int_equal(rs_findings_build(&fx.snap, &opt, &f), 0);
    assert_int_equal(f.hidden.blocks, 9);
    assert_int_equal(f.hidden.bytes, 9 * 16);
    uint64_t listed = 0;
    for (uint32_t i = 0; i < f.n; i++)
        listed += f.items[i].blocks;
    assert_int_equal(listed, 8);
    assert_int_equal(f.by_class[RS_CLASS_LEAKED].blocks, 6);   /* all counted */
    rs_findings_free(&f);
    /* With the reachable blocks: the extension's is listed, the
     * interpreter's is neither listed nor tallied as a hidden leak. */
    opt.show_reachable = 1;
    assert_int_equal(rs_findings_build(&fx.snap, &opt, &f), 0);
    assert_int_equal(f.hidden.blocks, 9);
    listed = 0;
    uint64_t reachable = 0;
    for (uint32_t i = 0; i < f.n; i++) {
        listed += f.items[i].blocks;
        if (f.items[i].cls == RS_CLASS_REACHABLE)
            reachable += f.items[i].blocks;
    }
    assert_int_equal(listed, 9);
    assert_int_equal(reachable, 1);
    assert_int_equal(f.by_class[RS_CLASS_REACHABLE].blocks, 2);   /* both counted */
    rs_findings_free(&f);
    opt.show_reachable = 0;
    opt.focus = RS_FOCUS_ALL;
    assert_int_equal(rs_findings_build(&fx.snap, &opt, &f), 0);
    assert_int_equal(f.hidden.blocks, 0);
    rs_findings_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extension_paths),
        cmocka_unit_test(test_hidden_by_class),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
