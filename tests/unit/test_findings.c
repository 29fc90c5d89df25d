/*
 * test_findings.c - unit tests of lib/findings on hand-built snapshots:
 * grouping by (class, stack), the total sort order, reachable groups on
 * request, the limit and what it cut, charges of indirect leaks (direct,
 * through chains, mixed, corrupt), shared types and cycle groups.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "findings.h"

#define NONE UINT32_MAX

/* A heap of up to 32 nodes, laid out at increasing addresses. */
typedef struct fixture {
    rs_node_t     nodes[32];
    rs_snapshot_t snap;
} fixture_t;

static uint32_t add(fixture_t *fx, rs_class_t cls, uint32_t stack,
                    uint64_t size, uint32_t owner, uint32_t type)
{
    uint32_t i = fx->snap.heap.n_nodes++;
    assert_true(i < 32);
    fx->nodes[i] = (rs_node_t){ .addr = 0x1000 + 0x100 * (uint64_t)i,
                                .size = size, .stack_id = stack,
                                .type_id = type, .cls = (uint8_t)cls,
                                .owner = owner };
    fx->snap.heap.nodes = fx->nodes;
    return i;
}

/* The standard heap used by most tests; expected order after sorting:
 *   0 A leaked   stack 1  64 bytes 2 blocks
 *   1 C leaked   stack 3  64 bytes 1 block
 *   2 B indirect stack 2  48 bytes 3 blocks (charged to A)
 *   3 E cycle    stack 4  48 bytes 2 blocks (group 7)
 *   4 G leaked   stack 0   8 bytes 1 block
 *   5 F leaked_ref stack 5 8 bytes 1 block
 * plus D reachable stack 1 1000 bytes and one unclassified node. */
static void standard_heap(fixture_t *fx)
{
    memset(fx, 0, sizeof *fx);
    uint32_t a1 = add(fx, RS_CLASS_LEAKED, 1, 32, NONE, 2);
    uint32_t a2 = add(fx, RS_CLASS_LEAKED, 1, 32, NONE, 2);
    add(fx, RS_CLASS_INDIRECT, 2, 16, a1, 0);
    add(fx, RS_CLASS_INDIRECT, 2, 16, a2, 0);
    add(fx, RS_CLASS_INDIRECT, 2, 16, a1, 0);
    add(fx, RS_CLASS_LEAKED, 3, 64, NONE, 0);
    add(fx, RS_CLASS_REACHABLE, 1, 1000, NONE, 0);
    add(fx, RS_CLASS_CYCLE, 4, 24, 7, 1);
    add(fx, RS_CLASS_CYCLE, 4, 24, 7, 3);
    add(fx, RS_CLASS_LEAKED_REF, 5, 8, NONE, 1);
    add(fx, RS_CLASS_LEAKED, 0, 8, NONE, 0);
    add(fx, RS_CLASS_UNCLASSIFIED, 9, 5, NONE, 0);
}

static void expect(const rs_finding_t *f, rs_class_t cls, uint32_t stack,
                   uint64_t bytes, uint64_t blocks)
{
    assert_int_equal(f->cls, cls);
    assert_int_equal(f->stack_id, stack);
    assert_int_equal(f->bytes, bytes);
    assert_int_equal(f->blocks, blocks);
}

static void test_grouping_and_order(void **state)
{
    fixture_t fx;
    rs_findings_t r;
    standard_heap(&fx);
    assert_int_equal(rs_findings_build(&fx.snap, NULL, &r), 0);
    assert_int_equal(r.n, 6);
    assert_int_equal(r.n_cut, 0);
    expect(&r.items[0], RS_CLASS_LEAKED, 1, 64, 2);
    expect(&r.items[1], RS_CLASS_LEAKED, 3, 64, 1);
    expect(&r.items[2], RS_CLASS_INDIRECT, 2, 48, 3);
    expect(&r.items[3], RS_CLASS_CYCLE, 4, 48, 2);
    expect(&r.items[4], RS_CLASS_LEAKED, 0, 8, 1);
    expect(&r.items[5], RS_CLASS_LEAKED_REF, 5, 8, 1);
    /* lowest-addressed block of each group */
    assert_int_equal(r.items[0].first_node, 0);
    assert_int_equal(r.items[2].first_node, 2);
    /* types: shared (A: 2), mixed (cycle: 1 and 3), single (F: 1) */
    assert_int_equal(r.items[0].type_id, 2);
    assert_int_equal(r.items[3].type_id, 0);
    assert_int_equal(r.items[5].type_id, 1);
    /* charges and cycle groups */
    assert_int_equal(r.items[2].charged_to, 0);
    assert_int_equal(r.items[0].charged_to, NONE);
    assert_int_equal(r.items[3].cycle_group, 7);
    assert_int_equal(r.items[0].cycle_group, NONE);
    /* totals cover every block, listed or not */
    assert_int_equal(r.by_class[RS_CLASS_LEAKED].bytes, 136);
    assert_int_equal(r.by_class[RS_CLASS_LEAKED].blocks, 4);
    assert_int_equal(r.by_class[RS_CLASS_INDIRECT].bytes, 48);
    assert_int_equal(r.by_class[RS_CLASS_REACHABLE].bytes, 1000);
    assert_int_equal(r.by_class[RS_CLASS_REACHABLE].blocks, 1);
    assert_int_equal(r.by_class[RS_CLASS_CYCLE].blocks, 2);
    assert_int_equal(r.by_class[RS_CLASS_LEAKED_REF].bytes, 8);
    assert_int_equal(r.by_class[RS_CLASS_UNCLASSIFIED].blocks, 1);
    rs_findings_free(&r);
}

static void test_show_reachable(void **state)
{
    fixture_t fx;
    rs_findings_t r;
    rs_findings_options_t opt = { .show_reachable = 1 };
    standard_heap(&fx);
    assert_int_equal(rs_findings_build(&fx.snap, &opt, &r), 0);
    assert_int_equal(r.n, 7);
    expect(&r.items[0], RS_CLASS_REACHABLE, 1, 1000, 1);
    expect(&r.items[1], RS_CLASS_LEAKED, 1, 64, 2);
    /* ranks moved by one: the charge follows */
    assert_int_equal(r.items[3].cls, RS_CLASS_INDIRECT);
    assert_int_equal(r.items[3].charged_to, 1);
    rs_findings_free(&r);
}

static void test_limit_counts_what_was_cut(void **state)
{
    fixture_t fx;
    rs_findings_t r;
    rs_findings_options_t opt = { .limit = 2 };
    standard_heap(&fx);
    assert_int_equal(rs_findings_build(&fx.snap, &opt, &r), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.n_cut, 4);
    assert_int_equal(r.cut.bytes, 48 + 48 + 8 + 8);
    assert_int_equal(r.cut.blocks, 3 + 2 + 1 + 1);
    /* totals are not affected by the limit */
    assert_int_equal(r.by_class[RS_CLASS_LEAKED].bytes, 136);
    rs_findings_free(&r);

    opt.limit = 3;
    assert_int_equal(rs_findings_build(&fx.snap, &opt, &r), 0);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.items[2].charged_to, 0);
    rs_findings_free(&r);
}

static void test_charge_past_the_limit_is_dropped(void **state)
{
    fixture_t fx;
    rs_findings_t r;
    rs_findings_options_t opt = { .limit = 1 };
    memset(&fx, 0, sizeof fx);
    uint32_t small = add(&fx, RS_CLASS_LEAKED, 1, 8, NONE, 0);
    add(&fx, RS_CLASS_INDIRECT, 2, 100, small, 0);
    assert_int_equal(rs_findings_build(&fx.snap, &opt, &r), 0);
    assert_int_equal(r.n, 1);
    expect(&r.items[0], RS_CLASS_INDIRECT, 2, 100, 1);
    assert_int_equal(r.items[0].charged_to, NONE);
    rs_findings_free(&r);
    /* without the limit the charge is there */
    assert_int_equal(rs_findings_build(&fx.snap, NULL, &r), 0);
    assert_int_equal(r.items[0].charged_to, 1);
    rs_findings_free(&r);
}

static void test_charges_chains_mixed_and_corrupt(void **state)
{
    fixture_t fx;
    rs_findings_t r;
    memset(&fx, 0, sizeof fx);
    uint32_t l1 = add(&fx, RS_CLASS_LEAKED, 1, 400, NONE, 0);
    uint32_t l2 = add(&fx, RS_CLASS_LEAKED, 2, 300, NONE, 0);
    /* stack 3: a chain indirect -> indirect -> l1 */
    uint32_t mid = add(&fx, RS_CLASS_INDIRECT, 4, 10, l1, 0);
    add(&fx, RS_CLASS_INDIRECT, 3, 200, mid, 0);
    /* stack 5: charged to l1 and to l2: mixed */
    add(&fx, RS_CLASS_INDIRECT, 5, 100, l1, 0);
    add(&fx, RS_CLASS_INDIRECT, 5, 100, l2, 0);
    /* stack 6: owner out of range */
    add(&fx, RS_CLASS_INDIRECT, 6, 50, 999, 0);
    /* stack 7: two indirect nodes owning each other (corrupt) */
    uint32_t c1 = fx.snap.heap.n_nodes;
    add(&fx, RS_CLASS_INDIRECT, 7, 20, c1 + 1, 0);
    add(&fx, RS_CLASS_INDIRECT, 7, 20, c1, 0);
    (void)l2;
    assert_int_equal(rs_findings_build(&fx.snap, NULL, &r), 0);
    assert_int_equal(r.n, 7);
    expect(&r.items[0], RS_CLASS_LEAKED, 1, 400, 1);
    expect(&r.items[1], RS_CLASS_LEAKED, 2, 300, 1);
    /* equal bytes: more blocks first */
    expect(&r.items[2], RS_CLASS_INDIRECT, 5, 200, 2);
    assert_int_equal(r.items[2].charged_to, NONE);
    expect(&r.items[3], RS_CLASS_INDIRECT, 3, 200, 1);
    assert_int_equal(r.items[3].charged_to, 0);
    expect(&r.items[4], RS_CLASS_INDIRECT, 6, 50, 1);
    assert_int_equal(r.items[4].charged_to, NONE);
    expect(&r.items[5], RS_CLASS_INDIRECT, 7, 40, 2);
    assert_int_equal(r.items[5].charged_to, NONE);
    expect(&r.items[6], RS_CLASS_INDIRECT, 4, 10, 1);
    assert_int_equal(r.items[6].charged_to, 0);
    rs_findings_free(&r);
}

static void test_empty_and_reachable_only(void **state)
{
    fixture_t fx;
    rs_findings_t r;
    memset(&fx, 0, sizeof fx);
    assert_int_equal(rs_findings_build(&fx.snap, NULL, &r), 0);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.n_cut, 0);
    rs_findings_free(&r);
    add(&fx, RS_CLASS_REACHABLE, 1, 10, NONE, 0);
    add(&fx, 200, 1, 10, NONE, 0); /* corrupt class: unclassified */
    assert_int_equal(rs_findings_build(&fx.snap, NULL, &r), 0);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.by_class[RS_CLASS_REACHABLE].blocks, 1);
    assert_int_equal(r.by_class[RS_CLASS_UNCLASSIFIED].blocks, 1);
    rs_findings_free(&r);
    rs_findings_free(NULL);
}

static void test_same_stack_different_class(void **state)
{
    fixture_t fx;
    rs_findings_t r;
    memset(&fx, 0, sizeof fx);
    add(&fx, RS_CLASS_LEAKED, 1, 10, NONE, 0);
    add(&fx, RS_CLASS_LEAKED_REF, 1, 10, NONE, 0);
    assert_int_equal(rs_findings_build(&fx.snap, NULL, &r), 0);
    assert_int_equal(r.n, 2);
    /* equal bytes, blocks and stack: class decides */
    assert_int_equal(r.items[0].cls, RS_CLASS_LEAKED);
    assert_int_equal(r.items[1].cls, RS_CLASS_LEAKED_REF);
    rs_findings_free(&r);
    assert_true(rs_findings_is_leak_class(RS_CLASS_CYCLE));
    assert_false(rs_findings_is_leak_class(RS_CLASS_REACHABLE));
    assert_false(rs_findings_is_leak_class(RS_CLASS_UNCLASSIFIED));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grouping_and_order),
        cmocka_unit_test(test_show_reachable),
        cmocka_unit_test(test_limit_counts_what_was_cut),
        cmocka_unit_test(test_charge_past_the_limit_is_dropped),
        cmocka_unit_test(test_charges_chains_mixed_and_corrupt),
        cmocka_unit_test(test_empty_and_reachable_only),
        cmocka_unit_test(test_same_stack_different_class),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
