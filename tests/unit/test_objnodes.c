/*
 * test_objnodes.c - unit tests of lib/model/objnodes.c: a block with one
 * object or none stays whole, a pool of objects is cut at each object
 * (header owned by the first, parts flagged, duplicates and pointers
 * outside blocks ignored), allocation failure leaves the heap unchanged,
 * and a differential test: random memory images with several objects per
 * block, split + heapscan + classify against naive_object_heap() +
 * naive_classify() (tests/unit/naive_classify.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_support.h"

#include "classify.h"
#include "heapscan.h"
#include "naive_classify.h"
#include "objnodes.h"
#include "rs_mem.h"

/* A heap of n nodes in rs_mem memory (split frees and replaces it). */
static rs_heap_t heap_of(const rs_node_t *nodes, uint32_t n)
{
    rs_heap_t h = { 0 };
    h.nodes = rs_mem_alloc(n * sizeof *h.nodes);
    assert_non_null(h.nodes);
    memcpy(h.nodes, nodes, n * sizeof *h.nodes);
    h.n_nodes = n;
    return h;
}

static void test_whole_blocks_unchanged(void **state)
{
    rs_node_t nodes[2] = {
        { .addr = 0x1000, .size = 40, .stack_id = 3, .owner = UINT32_MAX },
        { .addr = 0x2000, .size = 16, .stack_id = 4, .owner = UINT32_MAX },
    };
    rs_heap_t h = heap_of(nodes, 2);
    rs_node_t *before = h.nodes;
    /* one object at an interior address, one twice, one outside blocks */
    uint64_t objs[] = { 0x2000, 0x1018, 0x5000, 0x2000, 0x0800 };
    assert_int_equal(rs_objnodes_split(&h, objs, 5), 0);
    assert_ptr_equal(h.nodes, before);
    assert_int_equal(h.n_nodes, 2);
    assert_memory_equal(h.nodes, nodes, sizeof nodes);
    assert_int_equal(objs[0], 0x0800);          /* sorted in place */
    assert_int_equal(objs[4], 0x5000);
    assert_int_equal(rs_objnodes_split(&h, NULL, 0), 0);
    rs_mem_free(h.nodes);
}

static void test_pool_split(void **state)
{
    rs_node_t nodes[3] = {
        { .addr = 0x1000, .size = 104, .stack_id = 7, .flags = RS_NODE_IGNORED,
          .alloc_tid = 9, .seq = 11, .owner = UINT32_MAX },
        { .addr = 0x1100, .size = 32, .stack_id = 8, .owner = UINT32_MAX },
        { .addr = 0x1200, .size = 64, .stack_id = 9, .owner = UINT32_MAX },
    };
    rs_heap_t h = heap_of(nodes, 3);
    /* pool: items at 8, 40, 72 (40 twice); 0x1100: one object; 0x1200: two
     * objects at its start and its middle; 0x1068 is the pool's end. */
    uint64_t objs[] = { 0x1048, 0x1008, 0x1228, 0x1028, 0x1100, 0x1200, 0x1028, 0x1068 };
    assert_int_equal(rs_objnodes_split(&h, objs, 8), 0);
    assert_int_equal(h.n_nodes, 6);
    const uint64_t addr[6] = { 0x1000, 0x1028, 0x1048, 0x1100, 0x1200, 0x1228 };
    const uint64_t size[6] = { 40, 32, 32, 32, 40, 24 };
    const uint32_t part[6] = { 0, 1, 1, 0, 0, 1 };
    const uint32_t start[6] = { 0, 0, 0, 3, 4, 4 };
    for (uint32_t i = 0; i < 6; i++) {
        assert_int_equal(h.nodes[i].addr, addr[i]);
        assert_int_equal(h.nodes[i].size, size[i]);
        assert_int_equal((h.nodes[i].flags & RS_NODE_PART) != 0, part[i]);
        assert_int_equal(rs_objnodes_block_start(&h, i), start[i]);
        assert_int_equal(h.nodes[i].owner, UINT32_MAX);
    }
    for (uint32_t i = 0; i < 3; i++) {   /* the pool's parts keep its facts */
        assert_int_equal(h.nodes[i].stack_id, 7);
        assert_int_equal(h.nodes[i].alloc_tid, 9);
        assert_int_equal(h.nodes[i].seq, 11);
        assert_true(h.nodes[i].flags & RS_NODE_IGNORED);
    }
    assert_int_equal(h.nodes[5].stack_id, 9);
    /* A pointer to an object's address finds its node; the pool's start
     * and header find the first object's. */
    assert_int_equal(rs_heapscan_find(&h, 0x1028), 1);
    assert_int_equal(rs_heapscan_find(&h, 0x1000), 0);
    assert_int_equal(rs_heapscan_find(&h, 0x1004), 0);
    assert_int_equal(rs_heapscan_find(&h, 0x1060), 2);
    rs_mem_free(h.nodes);
}

static void test_out_of_memory(void **state)
{
    rs_node_t nodes[1] = { { .addr = 0x1000, .size = 64, .owner = UINT32_MAX } };
    rs_heap_t h = heap_of(nodes, 1);
    rs_node_t *before = h.nodes;
    uint64_t objs[] = { 0x1020, 0x1000 };
    allocs_left = 0;
    rs_mem_set_backend(&failing);
    assert_int_equal(rs_objnodes_split(&h, objs, 2), -1);
    rs_mem_set_backend(NULL);
    assert_ptr_equal(h.nodes, before);
    assert_int_equal(h.n_nodes, 1);
    assert_int_equal(h.nodes[0].size, 64);
    rs_mem_free(h.nodes);
}

/* ---- differential: objects in blocks, fast vs naive ---------------------- */

#define ARENA_WORDS 512

static uint64_t rng = 0x243F6A8885A308D3ull;

static uint32_t rnd(uint32_t bound)
{
    return (uint32_t)(rs_test_xorshift(&rng) >> 11) % bound;
}

/* A random pointer at m's blocks and objects: starts, interiors, ends,
 * object addresses, or junk. */
static uint64_t random_word(const naive_mem_t *m)
{
    uint32_t b = rnd(m->n_blocks);
    switch (rnd(6)) {
    case 0:  return m->block_addr[b];
    case 1:  return m->block_addr[b] + m->block_size[b];
    case 2:  return m->block_addr[b] + rnd((uint32_t)m->block_size[b]);
    case 3:
    case 4:  return m->n_objs ? m->obj_addr[rnd(m->n_objs)] : m->block_addr[b];
    default: return rnd(1000);
    }
}

/* Lays out up to 10 blocks of 8..128 bytes (8-aligned, gaps or adjacent)
 * in arena, 0..4 objects in each, random pointers in their words and in
 * roots[0..*n_roots). */
static void random_memory(uint64_t *arena, naive_mem_t *m, uint64_t *roots, uint32_t *n_roots)
{
    memset(m, 0, sizeof *m);
    memset(arena, 0, ARENA_WORDS * 8);
    uint32_t w = rnd(4);
    uint32_t nb = 1 + rnd(10);
    for (uint32_t b = 0; b < nb; b++) {
        uint32_t words = 1 + rnd(16);
        if (w + words > ARENA_WORDS)
            break;
        m->block_addr[b] = (uint64_t)(uintptr_t)&arena[w];
        m->block_size[b] = words * 8 - (rnd(4) == 0 ? rnd(8) : 0);
        m->n_blocks++;
        uint32_t k = rnd(5);
        for (uint32_t j = 0; j < k; j++) {
            uint64_t a = m->block_addr[b] + 8 * rnd(words);
            int dup = 0;
            for (uint32_t o = 0; o < m->n_objs; o++)
                dup |= m->obj_addr[o] == a;
            if (dup || a >= m->block_addr[b] + m->block_size[b])
                continue;
            m->obj_addr[m->n_objs] = a;
            m->obj_rc[m->n_objs++] = (int64_t)rnd(4);
        }
        w += words + rnd(3);
    }
    for (uint32_t b = 0; b < m->n_blocks; b++)
        for (uint64_t a = m->block_addr[b]; a + 8 <= m->block_addr[b] + m->block_size[b]; a += 8)
            if (rnd(3) == 0) {
                uint64_t v = random_word(m);
                memcpy((void *)(uintptr_t)a, &v, sizeof v);
            }
    *n_roots = rnd(3);
    for (uint32_t r = 0; r < *n_roots; r++)
        roots[r] = random_word(m);
}

/* The fast path: blocks -> split -> refcounts -> scan -> classify. */
static void fast_classify(const naive_mem_t *m, const uint64_t *roots, uint32_t n_roots,
                          rs_heap_t *h, rs_root_t *root, rs_summary_t *s)
{
    rs_node_t nodes[NAIVE_MEM_MAX];
    for (uint32_t b = 0; b < m->n_blocks; b++)
        nodes[b] = (rs_node_t){ .addr = m->block_addr[b], .size = m->block_size[b],
                                .owner = UINT32_MAX };
    *h = heap_of(nodes, m->n_blocks);
    uint64_t objs[NAIVE_MEM_MAX];
    memcpy(objs, m->obj_addr, m->n_objs * sizeof *objs);
    assert_int_equal(rs_objnodes_split(h, objs, m->n_objs), 0);
    for (uint32_t o = 0; o < m->n_objs; o++) {
        uint32_t i = rs_heapscan_find(h, m->obj_addr[o]);
        assert_int_not_equal(i, UINT32_MAX);
        assert_false(h->nodes[i].flags & RS_NODE_REFCOUNTED);   /* one each */
        h->nodes[i].flags |= RS_NODE_REFCOUNTED;
        h->nodes[i].refcount = m->obj_rc[o];
    }
    *root = (rs_root_t){ .start = (uint64_t)(uintptr_t)roots, .size = n_roots * 8,
                         .kind = RS_ROOT_GLOBAL, .module = UINT32_MAX };
    h->roots = root;
    h->n_roots = 1;
    assert_int_equal(rs_heapscan_edges(h), 0);
    assert_int_equal(rs_heapscan_roots(h), 0);
    assert_int_equal(rs_classify(h, s), 0);
}

static void test_differential_objects(void **state)
{
    static uint64_t arena[ARENA_WORDS];
    static naive_mem_t m;
    static naive_graph_t g;
    uint64_t roots[4];
    unsigned seen[RS_CLASS_COUNT] = { 0 }, split_blocks = 0;
    for (int iter = 0; iter < 3000; iter++) {
        uint32_t n_roots;
        random_memory(arena, &m, roots, &n_roots);
        m.root_words = roots;
        m.n_root_words = n_roots;
        rs_heap_t h;
        rs_root_t root;
        rs_summary_t s;
        fast_classify(&m, roots, n_roots, &h, &root, &s);
        assert_int_equal(naive_object_heap(&m, &g), 0);
        naive_result_t want;
        assert_int_equal(naive_classify(&g.heap, &want), 0);
        assert_int_equal(h.n_nodes, g.n);
        for (uint32_t i = 0; i < h.n_nodes; i++) {
            if (h.nodes[i].cls != want.cls[i] || h.nodes[i].owner != want.owner[i])
                print_error("image %d node %u: got %s/%u want %s/%u\n", iter, i,
                            rs_class_name((rs_class_t)h.nodes[i].cls), h.nodes[i].owner,
                            rs_class_name((rs_class_t)want.cls[i]), want.owner[i]);
            assert_int_equal(h.nodes[i].addr, g.nodes[i].addr);
            assert_int_equal(h.nodes[i].cls, want.cls[i]);
            assert_int_equal(h.nodes[i].owner, want.owner[i]);
            seen[want.cls[i]]++;
            split_blocks += (h.nodes[i].flags & RS_NODE_PART) != 0;
        }
        assert_int_equal(s.cycle_groups, want.cycle_groups);
        assert_int_equal(s.leaked_refs, want.leaked_refs);
        rs_heapscan_free_edges(&h);
        rs_mem_free(h.nodes);
    }
    /* The generator must exercise every class and many split blocks. */
    for (int c = RS_CLASS_REACHABLE; c < RS_CLASS_COUNT; c++)
        assert_true(seen[c] > 100);
    assert_true(split_blocks > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_blocks_unchanged),
        cmocka_unit_test(test_pool_split),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_differential_objects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
