/*
 * spanset.h - a set of addresses kept as sorted, disjoint ranges
 * [start, end): the anonymous mappings a process made (preload/mappings.c)
 * and anything else that is added and cut away by range.
 *
 * Invariants: items[0..n) are sorted by start, each non-empty, and no two
 * overlap or touch (touching ranges are merged when added), so every
 * address is in at most one item and the items are the fewest that cover
 * the set.
 *
 * Memory comes from rs_mem.  When it runs out an operation still leaves
 * the set valid and errs on the side of holding less: an add that cannot
 * grow the array adds nothing; a remove that would split a range in two
 * and cannot grow the array drops the whole range.  Both return -1 then.
 * Not thread safe: the caller locks.
 */
#ifndef RS_SPANSET_H
#define RS_SPANSET_H

#include "rs_model.h"

#include <stdint.h>

typedef struct rs_spanset {
    rs_span_t *items;
    uint32_t   n, cap;
} rs_spanset_t;

/* Adds [start, end) (nothing when start >= end).  0, or -1 out of memory. */
int rs_spanset_add(rs_spanset_t *s, uint64_t start, uint64_t end);

/* Removes [start, end): ranges inside it go, ranges it cuts are trimmed
 * or split.  0, or -1 out of memory (see above). */
int rs_spanset_remove(rs_spanset_t *s, uint64_t start, uint64_t end);

/* 1 when addr is in the set. */
int rs_spanset_contains(const rs_spanset_t *s, uint64_t addr);

/* Bytes in the set. */
uint64_t rs_spanset_bytes(const rs_spanset_t *s);

void rs_spanset_free(rs_spanset_t *s);

#endif /* RS_SPANSET_H */
