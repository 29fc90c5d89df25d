/*
 * objnodes.h - refcounted objects as graph nodes: a block holding several
 * objects is split into one node per object.
 *
 * The analysis works on nodes (rs_model.h); a node is normally a live
 * block.  An object is known only by the pointer the program passes to its
 * ref/unref functions (objtable.h), so a pool or an array of objects
 * allocated with one malloc holds several objects in one block.  Each of
 * them must have its own refcount, its own references and its own class,
 * so the block is cut at the objects' addresses before the heap is
 * scanned.
 *
 * The rule.  A live block [a, a + size) holding k >= 2 distinct object
 * pointers p_1 < p_2 < ... < p_k (a <= p_i < a + size) becomes k nodes:
 *     object 1 owns [a, p_2)              (a header before it included)
 *     object i owns [p_i, p_(i+1))        for 1 < i < k
 *     object k owns [p_k, a + size)
 * Consequences, with heapscan.h's rule unchanged: a pointer to an object's
 * address, or into its extent, is a reference to that object (a pointer
 * to p_(i+1), the end of object i's extent, goes to object i + 1); a
 * pointer to the block's start is a reference to the first object; the
 * pointer words inside an object's extent are that object's out-edges,
 * also those pointing at a sibling in the same block (but, as for any
 * node, a word pointing into its own extent other than at its start makes
 * no edge).  A block with 0 or 1
 * object stays one node.
 *
 * Every part keeps the block's stack, thread, sequence number, flags and
 * owner; every part but the first also has RS_NODE_PART, so node i starts
 * a block iff !(nodes[i].flags & RS_NODE_PART), and a block's parts are
 * consecutive.  Byte and block counts of findings then count each object's
 * extent and each object as one block.
 *
 * Limit: an object's extent ends where the next object's pointer is.  For
 * objects known by an interior pointer (a kref at byte 24 of each struct
 * of an array) the cut falls on the next object's counter, not on its
 * struct's first byte.
 */
#ifndef RS_OBJNODES_H
#define RS_OBJNODES_H

#include "rs_model.h"

#include <stdint.h>

/*
 * Splits the blocks of heap (nodes sorted, no edges yet) that hold two or
 * more of objs[0..n_objs) as described above.  objs is sorted in place
 * (no allocation); duplicates and pointers outside every block are
 * ignored.  On success 0 is returned and, when anything was split,
 * heap->nodes is a new rs_mem array (the old one freed) with more nodes.
 * On exhaustion -1 is returned and heap is unchanged.
 */
int rs_objnodes_split(rs_heap_t *heap, uint64_t *objs, uint32_t n_objs);

/* Index of the node that starts the block node i belongs to (i itself
 * unless it is an RS_NODE_PART).  heap->nodes as rs_objnodes_split left
 * them; i < heap->n_nodes. */
uint32_t rs_objnodes_block_start(const rs_heap_t *heap, uint32_t i);

#endif /* RS_OBJNODES_H */
