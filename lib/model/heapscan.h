/*
 * heapscan.h - turn memory into a heap graph: edges between blocks and
 * from root regions to blocks.
 *
 * Input: nodes sorted by address (the live blocks, a block holding
 * several refcounted objects already cut into one node per object by
 * objnodes.h) whose contents are readable at their addresses in this
 * process, and root regions.  Every
 * aligned, pointer-sized word of a block or root that points into a live
 * block (from its first byte up to and including one past its last byte)
 * becomes an edge, except a word pointing into its own block anywhere but
 * at its start (an embedded list head: not a reference).  A word equal to one block's end and another's start
 * goes to the block that starts there.  Blocks with RS_NODE_IGNORED count
 * as roots.  Words pointing into a block's header (rs_node_header(): the
 * bytes before a recognised object) are not edges.  From a root flagged RS_ROOT_FLAG_EXACT only words equal to a
 * block's first byte count.
 *
 * On error (memory exhausted) -1 is returned and the heap's edge arrays
 * are left empty.
 */
#ifndef RS_HEAPSCAN_H
#define RS_HEAPSCAN_H

#include "rs_model.h"

/* Index of the node containing addr (interior and one-past-end count),
 * or UINT32_MAX. heap->nodes must be sorted. */
uint32_t rs_heapscan_find(const rs_heap_t *heap, uint64_t addr);

/* Sorts heap->nodes by address (call before scanning). */
void rs_heapscan_sort_nodes(rs_heap_t *heap);

/* Fills heap->edge_start/edges by reading every node's memory but
 * heap->holes. */
int rs_heapscan_edges(rs_heap_t *heap);

/* Fills heap->root_edges by reading every root region's memory but
 * heap->holes. */
int rs_heapscan_roots(rs_heap_t *heap);

/* Frees the arrays the scan functions allocated (not nodes/roots). */
void rs_heapscan_free_edges(rs_heap_t *heap);

#endif /* RS_HEAPSCAN_H */
