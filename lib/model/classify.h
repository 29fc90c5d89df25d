/*
 * classify.h - decide the class of every block of a heap graph.
 *
 * Implements the semantics of DESIGN.md "What the analysis decides":
 * reachable from roots (root edges and RS_NODE_IGNORED blocks), then trial
 * deletion for refcounted nodes (gc_refs = refcount - heap pointers to it;
 * gc_refs > 0 keeps a node alive as a leaked_ref), then the garbage split
 * into cycle groups, leaked and indirect.  Uses explicit worklists, never
 * recursion.  The exact rules and precedence are documented in classify.c.
 *
 * Writes nodes[].cls and nodes[].owner; fills summary (cycle_groups,
 * leaked_refs, by_class).  Returns 0, or -1 when memory is exhausted (the
 * classes are then left RS_CLASS_UNCLASSIFIED).
 */
#ifndef RS_CLASSIFY_H
#define RS_CLASSIFY_H

#include "rs_model.h"

int rs_classify(rs_heap_t *heap, rs_summary_t *summary);

/*
 * What every node of a classified heap is charged to, into root[] (one
 * entry per node; path[] is as large, scratch): a node's owner when that
 * is no INDIRECT node, else the owner's own, followed up the chain;
 * UINT32_MAX for a node without a valid owner or whose chain runs into a
 * cycle (only a corrupt snapshot has one).  Linear: readers of a
 * snapshot's heap, which they cannot trust, used to follow each node's
 * chain alone (a corrupt cycle of 80,000 indirect nodes: 21 s).
 */
void rs_charge_roots(const rs_heap_t *heap, uint32_t *root, uint32_t *path);

#endif /* RS_CLASSIFY_H */
