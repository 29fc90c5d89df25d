/*
 * stackdepot.h - interned call stacks, each named by a 32-bit id.
 *
 * Every allocation and every reference event stores only a stack id; the
 * frames live once in the depot (LeakSanitizer's StackDepot idea).  The
 * depot is safe for concurrent interning from many threads: lookups of an
 * existing stack take no global lock, inserting a new one locks one shard.
 * Memory comes from rs_mem and is never freed until rs_stackdepot_destroy().
 *
 * Ids are dense, starting at 1, in order of first insertion; 0 is "no
 * stack".  A stack is identified by its frames and its module epoch.
 */
#ifndef RS_STACKDEPOT_H
#define RS_STACKDEPOT_H

#include "rs_model.h"

#include <stdint.h>

typedef struct rs_stackdepot rs_stackdepot_t;

/* NULL on allocation failure. */
rs_stackdepot_t *rs_stackdepot_create(void);
void rs_stackdepot_destroy(rs_stackdepot_t *d);

/* Returns the id of the stack pcs[0..n) captured in module epoch `epoch`,
 * adding it if new.  n is clamped to RS_STACK_MAX_FRAMES.  Returns 0 when
 * memory is exhausted (the caller records "no stack"). */
#define RS_STACK_MAX_FRAMES 256
uint32_t rs_stackdepot_intern(rs_stackdepot_t *d, const uint64_t *pcs,
                              uint32_t n, uint32_t epoch);

/* Number of stacks interned so far (the largest id). */
uint32_t rs_stackdepot_count(const rs_stackdepot_t *d);

/* Fills *out with stack `id` (pointing into the depot); returns 0, or -1
 * when id is 0 or unknown. */
int rs_stackdepot_get(const rs_stackdepot_t *d, uint32_t id, rs_stack_t *out);

/* Bytes of memory the depot uses (for the bookkeeping figures). */
uint64_t rs_stackdepot_bytes(const rs_stackdepot_t *d);

/* Fork support: lock every shard (prepare), unlock them (parent/child).
 * Interning a new stack takes a shard lock, so a fork while another thread
 * inserts would leave the child's shard locked forever without these.
 * NULL is accepted. */
void rs_stackdepot_lock_all(rs_stackdepot_t *d);
void rs_stackdepot_unlock_all(rs_stackdepot_t *d);

#endif /* RS_STACKDEPOT_H */
