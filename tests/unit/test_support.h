/*
 * test_support.h - small helpers shared by the cmocka unit tests of lib/:
 * a failing rs_mem backend for out-of-memory paths, a seeded xorshift
 * generator for randomised tests, and a heap graph put together from
 * static arrays.  Header-only: every test file gets its
 * own copy of the state, so tests stay independent.
 */
#ifndef RS_TEST_SUPPORT_H
#define RS_TEST_SUPPORT_H

#include "rs_mem.h"
#include "rs_model.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* rs_mem backend whose allocations (and page maps) succeed allocs_left
 * times, then fail:
 *     allocs_left = k; rs_mem_set_backend(&failing); ...; rs_mem_set_backend(NULL); */
static int allocs_left;
static void *failing_alloc(size_t n) { return allocs_left-- > 0 ? malloc(n) : NULL; }
static void *failing_calloc(size_t n, size_t m) { return allocs_left-- > 0 ? calloc(n, m) : NULL; }
static void *failing_realloc(void *p, size_t n) { return allocs_left-- > 0 ? realloc(p, n) : NULL; }
static int failing_may_map(size_t n) { (void)n; return allocs_left-- > 0; }
static const rs_mem_backend_t failing = {failing_alloc, failing_calloc, failing_realloc, free,
                                         failing_may_map};

/* xorshift64: deterministic pseudo-random numbers from *state (non-zero). */
static inline uint64_t rs_test_xorshift(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* *heap := a graph of nodes[0..n_nodes) and edges[0..n_edges), edge_start
 * in CSR form (n_nodes + 1 entries); no roots, everything else zero. */
static inline void rs_test_heap(rs_heap_t *heap, rs_node_t *nodes, uint32_t n_nodes,
                                uint32_t *edge_start, rs_edge_t *edges, uint64_t n_edges)
{
    memset(heap, 0, sizeof *heap);
    heap->nodes = nodes;
    heap->n_nodes = n_nodes;
    heap->edge_start = edge_start;
    heap->edges = edges;
    heap->n_edges = n_edges;
}

#endif /* RS_TEST_SUPPORT_H */
