/*
 * blocktable.h - the live blocks of the process, keyed by address.
 *
 * The preload inserts a record on every allocation and removes it on every
 * free; this is the hot path, so the table is sharded by address hash with
 * one lock per shard and stores 16 bytes per block (address, size, stack
 * id and thread packed together) when the record fits: address below
 * 2^47, size below 2^31, stack id below 2^28, thread below 2^22, which
 * covers every block of an x86-64 process but those of 2 GiB or more.
 * Other records are kept whole in a small per-shard list; the interface
 * (rs_block_t) is the same for both.  Refcounted-object details live in a
 * separate, much smaller table keyed by the same address (objtable.h).
 *
 * Memory comes from rs_mem.
 */
#ifndef RS_BLOCKTABLE_H
#define RS_BLOCKTABLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct rs_block {
    uint64_t addr;
    uint64_t size;
    uint32_t stack_id;
    uint32_t tid_seq;   /* low bits: allocating thread's small index     */
} rs_block_t;

typedef struct rs_blocktable rs_blocktable_t;

/* Bits of a record that fit the 16-byte packed form (blocktable.c). */
#define RS_BLOCK_ADDR_BITS  47
#define RS_BLOCK_SIZE_BITS  31
#define RS_BLOCK_STACK_BITS 28
#define RS_BLOCK_TID_BITS   22

/* NULL on allocation failure. */
rs_blocktable_t *rs_blocktable_create(void);
void rs_blocktable_destroy(rs_blocktable_t *t);

/* Records a live block.  An existing record at the same address is
 * replaced.  Returns 0, or -1 when memory is exhausted (block untracked). */
int rs_blocktable_insert(rs_blocktable_t *t, const rs_block_t *b);

/* Removes the record at addr; returns 1 and copies it to *out (if not
 * NULL) when there was one, 0 otherwise. */
int rs_blocktable_remove(rs_blocktable_t *t, uint64_t addr, rs_block_t *out);

/* A hint, no effect on the contents: starts loading the cache line where
 * addr's record would go, so that an insert a few hundred nanoseconds
 * later (after the stack walk) does not wait for memory.  Takes no lock;
 * safe at any time. */
void rs_blocktable_prefetch(rs_blocktable_t *t, uint64_t addr);

/* Looks up the record starting exactly at addr. Returns 1 if found. */
int rs_blocktable_lookup(rs_blocktable_t *t, uint64_t addr, rs_block_t *out);

/* Number of live records and bytes of table memory. */
uint64_t rs_blocktable_count(rs_blocktable_t *t);
uint64_t rs_blocktable_bytes(rs_blocktable_t *t);

/* Calls fn for every record.  Locks each shard while visiting it; fn must
 * not call back into the table.  Order is unspecified. */
void rs_blocktable_foreach(rs_blocktable_t *t,
                           void (*fn)(const rs_block_t *b, void *arg), void *arg);

/* Fork support: lock every shard (prepare), unlock them (parent/child). */
void rs_blocktable_lock_all(rs_blocktable_t *t);
void rs_blocktable_unlock_all(rs_blocktable_t *t);

#endif /* RS_BLOCKTABLE_H */
