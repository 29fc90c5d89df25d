/*
 * weak_edges.c - marking a field's edge, or the edge one block further,
 * as holding no reference (weak_edges.h).
 *
 * A node's out-edges are found by offset with a binary search: heapscan
 * emits them in the order it reads the block's words, by increasing
 * offset, one per word.
 */
#include "weak_edges.h"

uint64_t rs_weak_edges_at(const rs_heap_t *heap, uint32_t i, uint64_t offset)
{
    uint64_t lo = heap->edge_start[i], hi = heap->edge_start[i + 1];
    /* Invariant: the edge, if any, lies in [lo, hi). */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (heap->edges[mid].offset < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < heap->edge_start[i + 1] && heap->edges[lo].offset == offset ? lo : UINT64_MAX;
}

int rs_weak_edges_mark(const rs_heap_t *heap, uint64_t *bits, uint32_t i, uint64_t at,
                       uint32_t then)
{
    if (!heap->edge_start || i >= heap->n_nodes)
        return 0;
    const rs_node_t *n = &heap->nodes[i];
    if (at < n->addr || at >= n->addr + n->size)
        return 0;
    uint64_t e = rs_weak_edges_at(heap, i, at - n->addr);
    if (e != UINT64_MAX && then != RS_WEAK_EDGES_NO_THEN)
        e = rs_weak_edges_at(heap, heap->edges[e].dst, then);
    if (e == UINT64_MAX)
        return 0;
    bits[e / 64] |= 1ull << (e % 64);
    return 1;
}
