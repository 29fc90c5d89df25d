/*
 * test_registry_edges.c - cmocka tests for lib/model/registry_edges and
 * classification with registry pointers and owned blocks: GLib's handler
 * tables for one lost instance (a leaked reference, its handler list and
 * Handler charged to it), the same instance held by a global (all
 * reachable), a handler whose data holds a real reference (the data
 * stays counted), a table whose keys are not objects (left alone), a key
 * of the wrong shape (the whole keyed-by-shape table left alone), and
 * the GHashTable header decoding.
 */
#include "test_support.h"
#include "classify.h"
#include "registry_edges.h"
#include "rs_mem.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

/*
 * The graph of one instance with one handler (GLib 2.74, gsignal.c):
 *   0 bsa_keys  [0x1000, +64)  keys array of g_handler_list_bsa_ht
 *               +8  -> 4 (the instance)
 *   1 bsa_vals  [0x2000, +64)  its values array
 *               +8  -> 5 (the handler list)
 *   2 h_keys    [0x3000, +64)  keys array of g_handlers (a set)
 *               +8  -> 6 (the Handler)
 *   3 other     [0x4000, +16)  a program's block, held by a global
 *               +0  -> 4 when the instance is held, else -> 0
 *   4 instance  [0x5000, +32)  refcount 1 (+data: refcount 2 after the
 *               handler's data reference, see data_case)
 *   5 hlist     [0x6000, +40)  GBSearchArray: +16 -> 6 (HandlerList.handlers)
 *   6 handler   [0x7000, +56)  +40 -> 7 (closure), +48 -> 4 (instance)
 *   7 closure   [0x8000, +72)  +48 -> 8 (data)
 *   8 data      [0x9000, +32)  refcount 1: the closure's reference
 * Root edges: to 0, 1, 2 (the tables' arrays, through the tables), 3.
 */
enum { BSA_KEYS, BSA_VALS, H_KEYS, OTHER, INSTANCE, HLIST, HANDLER, CLOSURE, DATA, N };

static rs_node_t nodes[N];
static uint32_t edge_start[N + 1] = { 0, 1, 2, 3, 4, 4, 5, 7, 8, 8 };
static rs_edge_t edges[8];
static rs_root_t roots[1] = { { .start = 0x100, .size = 64, .kind = RS_ROOT_GLOBAL } };
static rs_root_edge_t root_edges[4];
static rs_heap_t heap;
static uint64_t weak[1], registry[1];
static rs_registry_marks_t marks;

static int every_slot(void *ctx, uint64_t slot)
{
    (void)ctx;
    (void)slot;
    return 1;
}

static void build(int held)
{
    const rs_node_t proto[N] = {
        [BSA_KEYS] = { .addr = 0x1000, .size = 64 },
        [BSA_VALS] = { .addr = 0x2000, .size = 64 },
        [H_KEYS] = { .addr = 0x3000, .size = 64 },
        [OTHER] = { .addr = 0x4000, .size = 16 },
        [INSTANCE] = { .addr = 0x5000, .size = 32, .flags = RS_NODE_REFCOUNTED, .refcount = 1 },
        [HLIST] = { .addr = 0x6000, .size = 40 },
        [HANDLER] = { .addr = 0x7000, .size = 56 },
        [CLOSURE] = { .addr = 0x8000, .size = 72 },
        [DATA] = { .addr = 0x9000, .size = 32, .flags = RS_NODE_REFCOUNTED, .refcount = 1 },
    };
    const rs_edge_t e[8] = { { INSTANCE, 8 }, { HLIST, 8 }, { HANDLER, 8 }, { INSTANCE, 0 },
                             { HANDLER, 16 }, { CLOSURE, 40 }, { INSTANCE, 48 }, { DATA, 48 } };
    memcpy(nodes, proto, sizeof nodes);
    memcpy(edges, e, sizeof edges);
    rs_test_heap(&heap, nodes, N, edge_start, edges, 8);
    heap.roots = roots;
    heap.n_roots = 1;
    heap.root_edges = root_edges;
    root_edges[0] = (rs_root_edge_t){ 0, BSA_KEYS, 0 };
    root_edges[1] = (rs_root_edge_t){ 0, BSA_VALS, 8 };
    root_edges[2] = (rs_root_edge_t){ 0, H_KEYS, 16 };
    root_edges[3] = (rs_root_edge_t){ 0, OTHER, 24 };
    heap.n_root_edges = 4;
    if (!held)
        edges[3].dst = BSA_KEYS;    /* the program's block holds something else */
    weak[0] = registry[0] = 0;
    rs_mem_free(marks.owned);
    memset(&marks, 0, sizeof marks);
    marks.weak = weak;
    marks.registry = registry;
}

static const rs_ghash_view_t bsa = { .size = 8, .big_keys = 1, .big_values = 1,
                                     .keys = 0x1000, .values = 0x2000, .hashes = 0xa000 };
static const rs_ghash_view_t handlers = { .size = 8, .big_keys = 1, .big_values = 1,
                                          .keys = 0x3000, .values = 0x3000, .hashes = 0xb000 };
static const rs_registry_rule_t by_hash = { .owns_values = 1 },
                                by_shape = { .key_size = 56, .key_back = 48 };

/* Marks both tables as the gobject profile's lines do, then classifies. */
static rs_summary_t mark_and_classify(void)
{
    assert_int_equal(rs_registry_mark_table(&heap, &marks, &bsa, &by_hash, every_slot, NULL), 1);
    assert_int_equal(rs_registry_mark_table(&heap, &marks, &handlers, &by_shape, every_slot,
                                            NULL), 1);
    rs_registry_sort_owned(&marks);
    heap.weak_edges = weak;
    heap.registry_edges = registry;
    heap.owned = marks.owned;
    heap.n_owned = marks.n_owned;
    rs_summary_t s;
    assert_int_equal(rs_classify(&heap, &s), 0);
    return s;
}

static void test_marks(void **state)
{
    (void)state;
    build(0);
    mark_and_classify();
    /* keys of both tables, the handler list's value, Handler.instance */
    assert_int_equal(registry[0], (1u << 0) | (1u << 1) | (1u << 2) | (1u << 6));
    assert_int_equal(weak[0], registry[0]);
    assert_int_equal(marks.n_owned, 1);
    assert_int_equal(marks.owned[0].owner, INSTANCE);
    assert_int_equal(marks.owned[0].dst, HLIST);
}

/* Lost: the instance is a leaked reference (0 pointers), its handler list,
 * Handler, closure and the closure's data are charged to it. */
static void test_lost_instance(void **state)
{
    (void)state;
    build(0);
    rs_summary_t s = mark_and_classify();
    assert_int_equal(nodes[INSTANCE].cls, RS_CLASS_LEAKED_REF);
    assert_int_equal(s.leaked_refs, 1);
    for (int i = HLIST; i <= DATA; i++) {
        assert_int_equal(nodes[i].cls, RS_CLASS_INDIRECT);
        assert_int_equal(nodes[i].owner, INSTANCE);
    }
    for (int i = BSA_KEYS; i <= H_KEYS; i++)
        assert_int_equal(nodes[i].cls, RS_CLASS_REACHABLE);
}

/* Held by an owning pointer: everything reachable, the bookkeeping too. */
static void test_held_instance(void **state)
{
    (void)state;
    build(1);
    mark_and_classify();
    for (int i = 0; i < N; i++)
        assert_int_equal(nodes[i].cls, RS_CLASS_REACHABLE);
}

/* Without the marks (the old behaviour), the lost instance is reachable. */
static void test_unmarked_is_reachable(void **state)
{
    (void)state;
    build(0);
    rs_summary_t s;
    assert_int_equal(rs_classify(&heap, &s), 0);
    assert_int_equal(nodes[INSTANCE].cls, RS_CLASS_REACHABLE);
}

/* The closure's data holds a reference of its own: counted, so a data
 * object with one reference more than the closure's is a leaked
 * reference of its own, not garbage of the instance. */
static void test_data_reference_counts(void **state)
{
    (void)state;
    build(0);
    nodes[DATA].refcount = 2;
    mark_and_classify();
    assert_int_equal(nodes[DATA].cls, RS_CLASS_LEAKED_REF);
    assert_int_equal(nodes[INSTANCE].cls, RS_CLASS_LEAKED_REF);
}

/* Keys that are not objects (a table of strings) are left alone. */
static void test_keys_not_objects(void **state)
{
    (void)state;
    build(0);
    nodes[INSTANCE].flags = 0;
    assert_int_equal(rs_registry_mark_table(&heap, &marks, &bsa, &by_hash, every_slot, NULL), 0);
    assert_int_equal(registry[0], 0);
    assert_int_equal(marks.n_owned, 0);
}

/* One key of the wrong size: the keyed-by-shape table is not this one. */
static void test_shape_mismatch(void **state)
{
    (void)state;
    build(0);
    nodes[HANDLER].size = 64;
    assert_int_equal(rs_registry_mark_table(&heap, &marks, &handlers, &by_shape, every_slot,
                                            NULL), 0);
    assert_int_equal(registry[0], 0);
}

static int no_slot(void *ctx, uint64_t slot)
{
    (void)ctx;
    (void)slot;
    return 0;
}

/* Unused slots hold no key. */
static void test_unused_slots(void **state)
{
    (void)state;
    build(0);
    assert_int_equal(rs_registry_mark_table(&heap, &marks, &bsa, &by_hash, no_slot, NULL), 0);
    assert_int_equal(registry[0], 0);
}

static void test_view_read(void **state)
{
    (void)state;
    uint8_t b[RS_GHASH_SIZE] = { 0 };
    uint64_t w[12] = { 16, 0, 0, 0, 0x1000, 0x1100, 0x1200, 0x7000, 0x7100, 0, 0x7200, 0x7300 };
    memcpy(b, w, sizeof w);
    b[24] = 2;                                  /* small keys, big values */
    rs_ghash_view_t v;
    rs_ghash_view_read(b, &v);
    assert_int_equal(v.size, 16);
    assert_int_equal(v.big_keys, 0);
    assert_int_equal(v.big_values, 1);
    assert_int_equal(v.keys, 0x1000);
    assert_int_equal(v.hashes, 0x1100);
    assert_int_equal(v.values, 0x1200);
    assert_int_equal(v.hash_func, 0x7000);
    assert_int_equal(v.key_equal, 0x7100);
    assert_int_equal(v.key_destroy, 0x7200);
    assert_int_equal(v.value_destroy, 0x7300);
}

static void test_sort_owned(void **state)
{
    (void)state;
    rs_owned_edge_t o[5] = { { 3, 1 }, { 1, 9 }, { 3, 0 }, { 0, 4 }, { 1, 2 } };
    rs_registry_marks_t m = { .owned = o, .n_owned = 5 };
    rs_registry_sort_owned(&m);
    const rs_owned_edge_t want[5] = { { 0, 4 }, { 1, 2 }, { 1, 9 }, { 3, 0 }, { 3, 1 } };
    assert_memory_equal(o, want, sizeof o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_marks),
        cmocka_unit_test(test_lost_instance),
        cmocka_unit_test(test_held_instance),
        cmocka_unit_test(test_unmarked_is_reachable),
        cmocka_unit_test(test_data_reference_counts),
        cmocka_unit_test(test_keys_not_objects),
        cmocka_unit_test(test_shape_mismatch),
        cmocka_unit_test(test_unused_slots),
        cmocka_unit_test(test_view_read),
        cmocka_unit_test(test_sort_owned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
