/*
 * weak_edges.h - marking the edges of a heap graph that hold no reference
 * (rs_heap_t.weak_edges), field by field: where a profile's `weak` line
 * (profile.h) says a back pointer lives, found in the graph.
 *
 * A field is named by its address in a node (the object's address plus
 * the offset the line gives, which may lie before the object: GObject
 * private data).  With `then`, the field is an owning pointer to another
 * block and the pointer that holds no reference is the one at byte `then`
 * of that block (GstBusPrivate.sync_handler -> SyncHandler.user_data): a
 * path of two words through the graph, no memory is read.
 *
 * No allocation, no I/O: called with the world stopped (preload) and by
 * the tests on graphs they build.
 */
#ifndef RS_WEAK_EDGES_H
#define RS_WEAK_EDGES_H

#include "rs_model.h"

#include <stdint.h>

/* No `then`: the field's own edge is the weak one. */
#define RS_WEAK_EDGES_NO_THEN UINT32_MAX

/*
 * Sets, in bits (one bit per edge of heap, as rs_heap_t.weak_edges), the
 * bit of the edge of node i that starts at address `at`, or with then !=
 * RS_WEAK_EDGES_NO_THEN the bit of the edge at byte `then` of the node
 * that edge leads to.  Returns 1 when a bit was set, 0 when there is no
 * such edge (the field is NULL or points outside the heap, lies outside
 * node i, or the block it leads to holds no pointer at `then`).
 */
/* Index of node i's edge at byte `offset` (its out-edges are sorted by
 * offset), or UINT64_MAX when the word there points at no node. */
uint64_t rs_weak_edges_at(const rs_heap_t *heap, uint32_t i, uint64_t offset);

int rs_weak_edges_mark(const rs_heap_t *heap, uint64_t *bits, uint32_t i, uint64_t at,
                       uint32_t then);

#endif /* RS_WEAK_EDGES_H */
