/*
 * test_qdata_edges.c - cmocka tests for lib/model/qdata_edges: GData
 * decoding (the quark's entry, flag bits in the object's pointer, a len
 * the block cannot hold), and the marks of GLib's weak-reference
 * bookkeeping with classification: a GWeakRef in a reachable block to a
 * lost object (a leaked reference, its bookkeeping charged to it), the
 * same object held by a global (reachable), the old behaviour without
 * marks (reachable: the test that fails on the old code), keep_refs (the
 * GWeakRef stays counted) and a list naming a word that does not point
 * to the object (left alone).
 */
#include "test_support.h"
#include "classify.h"
#include "qdata_edges.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

/*
 * The graph (GLib 2.74, gobject.c / gdataset.c):
 *   0 holder [0x1000, +16)  a program's struct, held by a global; its
 *                           GWeakRef at +8 -> 1
 *   1 obj    [0x2000, +32)  refcount 1; qdata at +16 -> 2 (tagged 0x3002)
 *   2 gdata  [0x3000, +56)  len 2: quark 7 -> 3 (+16), quark 9 -> 5 (+40)
 *   3 list   [0x4000, +8)   GSList ** -> 4
 *   4 node   [0x5000, +16)  GSList: data 0x1008 (-> 0), next NULL
 *   5 stack  [0x6000, +32)  WeakRefStack: object (+0) -> 1
 */
enum { HOLDER, OBJ, GDATA, LIST, NODE, STACK, N };
enum { Q_LOCATIONS = 7, Q_REFS = 9 };

static rs_node_t nodes[N];
static uint32_t edge_start[N + 1] = { 0, 1, 2, 4, 5, 6, 7 };
static rs_edge_t edges[7];
static rs_root_t roots[1] = { { .start = 0x100, .size = 16, .kind = RS_ROOT_GLOBAL } };
static rs_root_edge_t root_edges[2];
static rs_heap_t heap;
static uint64_t weak[1], registry[1];
static rs_registry_marks_t marks;

static struct { uint64_t addr, word; } memory[] = {
    { 0x1008, 0x2000 },
    { 0x2010, 0x3002 },
    { 0x3000, 2 | (2ull << 32) },
    { 0x3008, Q_LOCATIONS }, { 0x3010, 0x4000 }, { 0x3018, 0xdead },
    { 0x3020, Q_REFS },      { 0x3028, 0x6000 }, { 0x3030, 0 },
    { 0x4000, 0x5000 },
    { 0x5000, 0x1008 },      { 0x5008, 0 },
    { 0x6000, 0x2000 },
};

static int fake_read(void *ctx, uint64_t addr, uint64_t *out)
{
    (void)ctx;
    *out = 0;
    for (size_t i = 0; i < sizeof memory / sizeof memory[0]; i++)
        if (memory[i].addr == addr)
            *out = memory[i].word;
    return 0;
}

static const rs_qdata_reader_t reader = { fake_read, NULL };
static const rs_qdata_rule_t locations = { .field = 16, .quark = Q_LOCATIONS,
                                           .kind = RS_QDATA_WEAK_LOCATIONS };
static const rs_qdata_rule_t back = { .field = 16, .quark = Q_REFS, .kind = RS_QDATA_BACK,
                                      .back = 0 };

static void set_word(uint64_t addr, uint64_t word)
{
    for (size_t i = 0; i < sizeof memory / sizeof memory[0]; i++)
        if (memory[i].addr == addr)
            memory[i].word = word;
}

static void build(int held)
{
    const rs_node_t proto[N] = {
        [HOLDER] = { .addr = 0x1000, .size = 16 },
        [OBJ] = { .addr = 0x2000, .size = 32, .flags = RS_NODE_REFCOUNTED, .refcount = 1 },
        [GDATA] = { .addr = 0x3000, .size = 56 },
        [LIST] = { .addr = 0x4000, .size = 8 },
        [NODE] = { .addr = 0x5000, .size = 16 },
        [STACK] = { .addr = 0x6000, .size = 32 },
    };
    const rs_edge_t e[7] = { { OBJ, 8 },  { GDATA, 16 }, { LIST, 16 }, { STACK, 40 },
                             { NODE, 0 }, { HOLDER, 0 }, { OBJ, 0 } };
    memcpy(nodes, proto, sizeof nodes);
    memcpy(edges, e, sizeof edges);
    rs_test_heap(&heap, nodes, N, edge_start, edges, 7);
    heap.roots = roots;
    heap.n_roots = 1;
    heap.root_edges = root_edges;
    root_edges[0] = (rs_root_edge_t){ 0, HOLDER, 0 };
    root_edges[1] = (rs_root_edge_t){ 0, OBJ, 8 };
    heap.n_root_edges = held ? 2 : 1;
    set_word(0x1008, 0x2000);
    set_word(0x3000, 2 | (2ull << 32));
    weak[0] = registry[0] = 0;
    memset(&marks, 0, sizeof marks);
    marks.weak = weak;
    marks.registry = registry;
}

static rs_summary_t classify(void)
{
    heap.weak_edges = weak;
    heap.registry_edges = registry;
    rs_summary_t s;
    assert_int_equal(rs_classify(&heap, &s), 0);
    return s;
}

static rs_summary_t mark_and_classify(const rs_qdata_rule_t *loc)
{
    rs_qdata_mark(&heap, &marks, OBJ, 0x2000, loc, &reader);
    assert_int_equal(rs_qdata_mark(&heap, &marks, OBJ, 0x2000, &back, &reader), 1);
    return classify();
}

static void test_gdata_lookup(void **state)
{
    (void)state;
    build(0);
    assert_int_equal(rs_gdata_lookup(&heap, &reader, 0x3002, Q_LOCATIONS), 0x4000);
    assert_int_equal(rs_gdata_lookup(&heap, &reader, 0x3000, Q_REFS), 0x6000);
    assert_int_equal(rs_gdata_lookup(&heap, &reader, 0x3000, 8), 0);
    assert_int_equal(rs_gdata_lookup(&heap, &reader, 0x3000, 0), 0);
    assert_int_equal(rs_gdata_lookup(&heap, &reader, 0x3008, Q_REFS), 0);  /* no block start */
    set_word(0x3000, 3 | (3ull << 32));     /* 3 entries do not fit in 56 bytes */
    assert_int_equal(rs_gdata_lookup(&heap, &reader, 0x3000, Q_REFS), 0);
    set_word(0x3000, 2 | (1ull << 32));     /* len above alloc */
    assert_int_equal(rs_gdata_lookup(&heap, &reader, 0x3000, Q_REFS), 0);
}

static void test_marks(void **state)
{
    (void)state;
    build(0);
    assert_int_equal(rs_qdata_mark(&heap, &marks, OBJ, 0x2000, &locations, &reader), 2);
    assert_int_equal(rs_qdata_mark(&heap, &marks, OBJ, 0x2000, &back, &reader), 1);
    /* the GWeakRef (edge 0), the list's pointer to its block (edge 5):
     * registry; the weak-ref stack's back pointer (edge 6): weak only */
    assert_int_equal(registry[0], (1u << 0) | (1u << 5));
    assert_int_equal(weak[0], (1u << 0) | (1u << 5) | (1u << 6));
}

/* Lost: the object is a leaked reference, its bookkeeping charged to it;
 * the struct holding the GWeakRef stays reachable. */
static void test_lost_object(void **state)
{
    (void)state;
    build(0);
    rs_summary_t s = mark_and_classify(&locations);
    assert_int_equal(nodes[OBJ].cls, RS_CLASS_LEAKED_REF);
    assert_int_equal(s.leaked_refs, 1);
    for (int i = GDATA; i <= STACK; i++) {
        assert_int_equal(nodes[i].cls, RS_CLASS_INDIRECT);
        assert_int_equal(nodes[i].owner, OBJ);
    }
    assert_int_equal(nodes[HOLDER].cls, RS_CLASS_REACHABLE);
}

/* Held by a global too: everything reachable. */
static void test_held_object(void **state)
{
    (void)state;
    build(1);
    mark_and_classify(&locations);
    for (int i = 0; i < N; i++)
        assert_int_equal(nodes[i].cls, RS_CLASS_REACHABLE);
}

/* Without the marks (the old behaviour) the GWeakRef keeps it reachable. */
static void test_unmarked_is_reachable(void **state)
{
    (void)state;
    build(0);
    classify();
    assert_int_equal(nodes[OBJ].cls, RS_CLASS_REACHABLE);
}

/* keep_refs: the GWeakRef stays counted (and followed). */
static void test_keep_refs(void **state)
{
    (void)state;
    build(0);
    rs_qdata_rule_t keep = locations;
    keep.keep_refs = 1;
    assert_int_equal(rs_qdata_mark(&heap, &marks, OBJ, 0x2000, &keep, &reader), 1);
    assert_int_equal(registry[0], 1u << 5);
    classify();
    assert_int_equal(nodes[OBJ].cls, RS_CLASS_REACHABLE);
}

/* A location whose word no longer points to the object: left alone. */
static void test_stale_location(void **state)
{
    (void)state;
    build(0);
    set_word(0x1008, 0x2008);
    assert_int_equal(rs_qdata_mark(&heap, &marks, OBJ, 0x2000, &locations, &reader), 1);
    assert_int_equal(registry[0], 1u << 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gdata_lookup),
        cmocka_unit_test(test_marks),
        cmocka_unit_test(test_lost_object),
        cmocka_unit_test(test_held_object),
        cmocka_unit_test(test_unmarked_is_reachable),
        cmocka_unit_test(test_keep_refs),
        cmocka_unit_test(test_stale_location),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
