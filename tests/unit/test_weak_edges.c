/*
 * test_weak_edges.c - cmocka tests for lib/model/weak_edges: a field's own
 * edge, a field before the object (GObject private data), the edge one
 * block further (`then`), and every way of finding nothing (no pointer
 * there, a field outside the node, no pointer at `then`); then a lost
 * GstBin's graph, classified: a cycle until its bus's sync handler's
 * back pointer is marked, a leaked reference after.
 */
#include "test_support.h"
#include "classify.h"
#include "weak_edges.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

/*
 * A lost bin's graph, as GStreamer 1.22 builds it (gst_bin_lost.c):
 *   0 bin     [0x1000, +408), refcount 1: the only reference, lost
 *             +304 -> 3 (its children list: the element)
 *             +320 -> 1 (child_bus, a reference)
 *   1 bus     [0x2000, +192), instance at +64 (private data before it),
 *             refcount 2 (the bin's and the element's)
 *             +16  -> 2 (GstBusPrivate.sync_handler)
 *   2 handler [0x3000, +32), plain: SyncHandler
 *             +8   -> 0 (user_data: the bin, no reference)
 *   3 list    [0x4000, +24), plain: GList { data, next, prev }
 *             +0   -> 4
 *   4 element [0x5000, +264), refcount 1 (the bin's)
 *             +40  -> 0 (GstObject.parent: no reference)
 *             +144 -> 1 (GstElement.bus, a reference)
 * Edges in CSR order: 0, 1 (bin), 2 (bus), 3 (handler), 4 (list), 5, 6
 * (element).
 */
enum { BIN, BUS, HANDLER, LIST, ELEMENT, N_NODES };
#define BUS_INSTANCE (0x2000 + 64)

static rs_node_t nodes[N_NODES];
static uint32_t edge_start[N_NODES + 1] = { 0, 2, 3, 4, 5, 7 };
static rs_edge_t edges[7];
static rs_heap_t heap;

static void build(void)
{
    const rs_node_t proto[N_NODES] = {
        [BIN] = { .addr = 0x1000, .size = 408, .flags = RS_NODE_REFCOUNTED, .refcount = 1 },
        [BUS] = { .addr = 0x2000, .size = 192, .flags = RS_NODE_REFCOUNTED, .refcount = 2 },
        [HANDLER] = { .addr = 0x3000, .size = 32 },
        [LIST] = { .addr = 0x4000, .size = 24 },
        [ELEMENT] = { .addr = 0x5000, .size = 264, .flags = RS_NODE_REFCOUNTED,
                      .refcount = 1 },
    };
    const rs_edge_t e[7] = { { LIST, 304 }, { BUS, 320 }, { HANDLER, 16 }, { BIN, 8 },
                             { ELEMENT, 0 }, { BIN, 40 }, { BUS, 144 } };
    memcpy(nodes, proto, sizeof nodes);
    memcpy(edges, e, sizeof edges);
    rs_test_heap(&heap, nodes, N_NODES, edge_start, edges, 7);
}

static void test_field_edge(void **state)
{
    (void)state;
    build();
    uint64_t bits = 0;
    /* GstObject.parent of the element: its own edge, 5. */
    assert_int_equal(rs_weak_edges_mark(&heap, &bits, ELEMENT, 0x5000 + 40,
                                        RS_WEAK_EDGES_NO_THEN), 1);
    assert_int_equal(bits, 1u << 5);
    /* A field before the instance, in the block: the bus's private
     * sync_handler (instance - 64 + 16), edge 2. */
    bits = 0;
    assert_int_equal(rs_weak_edges_mark(&heap, &bits, BUS, BUS_INSTANCE - 64 + 16,
                                        RS_WEAK_EDGES_NO_THEN), 1);
    assert_int_equal(bits, 1u << 2);
}

static void test_then_edge(void **state)
{
    (void)state;
    build();
    uint64_t bits = 0;
    /* sync_handler -> SyncHandler.user_data: edge 3, not the field's 2. */
    assert_int_equal(rs_weak_edges_mark(&heap, &bits, BUS, BUS_INSTANCE - 64 + 16, 8), 1);
    assert_int_equal(bits, 1u << 3);
}

static void test_nothing_found(void **state)
{
    (void)state;
    build();
    uint64_t bits = 0;
    /* No pointer in the field (the element's offset 48). */
    assert_int_equal(rs_weak_edges_mark(&heap, &bits, ELEMENT, 0x5000 + 48,
                                        RS_WEAK_EDGES_NO_THEN), 0);
    /* The field lies outside the node: before it, at its end. */
    assert_int_equal(rs_weak_edges_mark(&heap, &bits, BUS, 0x2000 - 8,
                                        RS_WEAK_EDGES_NO_THEN), 0);
    assert_int_equal(rs_weak_edges_mark(&heap, &bits, BUS, 0x2000 + 192,
                                        RS_WEAK_EDGES_NO_THEN), 0);
    /* The block the field leads to holds no pointer at `then` (16). */
    assert_int_equal(rs_weak_edges_mark(&heap, &bits, BUS, BUS_INSTANCE - 64 + 16, 16), 0);
    /* The field holds no pointer, so there is nothing to follow. */
    assert_int_equal(rs_weak_edges_mark(&heap, &bits, BUS, BUS_INSTANCE, 8), 0);
    /* No such node, no edges at all. */
    assert_int_equal(rs_weak_edges_mark(&heap, &bits, N_NODES, 0x1000,
                                        RS_WEAK_EDGES_NO_THEN), 0);
    heap.edge_start = NULL;
    assert_int_equal(rs_weak_edges_mark(&heap, &bits, BIN, 0x1000 + 304,
                                        RS_WEAK_EDGES_NO_THEN), 0);
    assert_int_equal(bits, 0);
}

static void test_lost_bin_classified(void **state)
{
    (void)state;
    rs_summary_t s;
    /* Only the parent pointer marked (what the profiles declared before):
     * every reference of the bin is explained by the handler's pointer,
     * so the five blocks are one cycle. */
    build();
    uint64_t bits = 0;
    rs_weak_edges_mark(&heap, &bits, ELEMENT, 0x5000 + 40, RS_WEAK_EDGES_NO_THEN);
    heap.weak_edges = &bits;
    memset(&s, 0, sizeof s);
    assert_int_equal(rs_classify(&heap, &s), 0);
    assert_int_equal(nodes[BIN].cls, RS_CLASS_CYCLE);
    assert_int_equal(s.cycle_groups, 1);
    assert_int_equal(s.leaked_refs, 0);
    /* With the handler's user_data marked too, the bin's one reference
     * is unexplained: a leaked reference, owning the rest. */
    build();
    bits = 0;
    rs_weak_edges_mark(&heap, &bits, ELEMENT, 0x5000 + 40, RS_WEAK_EDGES_NO_THEN);
    rs_weak_edges_mark(&heap, &bits, BUS, BUS_INSTANCE - 64 + 16, 8);
    heap.weak_edges = &bits;
    memset(&s, 0, sizeof s);
    assert_int_equal(rs_classify(&heap, &s), 0);
    assert_int_equal(nodes[BIN].cls, RS_CLASS_LEAKED_REF);
    for (uint32_t i = BUS; i < N_NODES; i++) {
        assert_int_equal(nodes[i].cls, RS_CLASS_INDIRECT);
        assert_int_equal(nodes[i].owner, BIN);
    }
    assert_int_equal(s.cycle_groups, 0);
    assert_int_equal(s.leaked_refs, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field_edge),
        cmocka_unit_test(test_then_edge),
        cmocka_unit_test(test_nothing_found),
        cmocka_unit_test(test_lost_bin_classified),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
