/*
 * blockreg.h - the live blocks of the process: a 16-byte record in front
 * of every block, and a registry of the tracked ones.
 *
 * The preload hands out every block 16 bytes (or, for an aligned block,
 * one alignment unit) past the start of the real allocation and keeps the
 * block's record in the 16 bytes right before it: size, stack id, and
 * where the block is registered (a thread's log and a slot in it).  A free
 * therefore finds its record without a search, on the cache line the
 * allocator touches anyway; that is why this replaced a hash table keyed
 * by address, whose every insert and remove missed the cache (bench_alloc:
 * 0.61 -> 0.35 s CPU, native 0.22 s).
 *
 * The registry lets the analysis enumerate the tracked blocks: one log per
 * allocating thread, an array of slots each holding a block's address, with
 * a free list through the empty slots.  An allocation takes the slot freed
 * last (hot in the cache), a free puts its slot back.  A record is valid
 * exactly when its log's slot holds the block's address (checked under the
 * log's lock), so a record damaged by the program (a heap underflow) or a
 * pointer that is no block is recognised, never trusted.
 *
 * Blocks allocated while refscope does not record (its own allocations
 * through the hooks, before start-up) get an "untracked" record: no slot,
 * only enough to find the real allocation, with a check word derived from
 * the address so that most damage is still recognised.
 *
 * Memory: logs come from rs_mem, slot arrays from rs_mem_map (pages outside
 * the malloc heap: they hold block addresses, which must not be left in
 * memory the program's next blocks are carved from); the records
 * themselves are inside the program's heap (16 bytes per block, counted
 * by rs_blockreg_bytes).
 */
#ifndef RS_BLOCKREG_H
#define RS_BLOCKREG_H

#include <stddef.h>
#include <stdint.h>

/* A live block as the analysis sees it. */
typedef struct rs_block {
    uint64_t addr;
    uint64_t size;
    uint32_t stack_id;
    uint32_t tid_seq;   /* the allocating thread's kernel tid             */
} rs_block_t;

typedef struct rs_blockreg rs_blockreg_t;
typedef struct rs_blocklog rs_blocklog_t;

/* Bytes of the record in front of a block, and the limits of its fields:
 * sizes below 2^46 (larger allocations fail on x86-64), stack ids below
 * 2^28 (a larger one is recorded as 0, "no stack"). */
#define RS_BLOCK_HEADER      16u
#define RS_BLOCK_SIZE_BITS   46
#define RS_BLOCK_STACK_BITS  28
#define RS_BLOCKREG_MAX_LOGS 65535u
/* A log's first slot array: one page; it doubles when full. */
#define RS_BLOCKREG_FIRST_SLOTS 512u
/* Logs are made in mapped pages of this many (a line each). */
#define RS_BLOCKREG_LOGS_PER_PAGE 64u

/* How far the block lies past the start of its real allocation: 16 for
 * a plain block, the alignment for an aligned one (a power of two, at
 * least 32).  Stored as its base-2 logarithm. */
typedef uint8_t rs_block_shift_t;
#define RS_BLOCK_PLAIN_SHIFT 4

/* NULL when memory is exhausted. */
rs_blockreg_t *rs_blockreg_create(void);
void rs_blockreg_destroy(rs_blockreg_t *r);

/* A log for the calling thread's allocations, whose blocks report
 * thread tid.  Reuses a log released empty when there is one.  NULL when
 * memory or log numbers are exhausted (the thread's blocks are then
 * untracked). */
rs_blocklog_t *rs_blockreg_acquire(rs_blockreg_t *r, uint32_t tid);
/* The thread is gone: its log keeps its blocks (they are still freed
 * through it) and is reused once empty. */
void rs_blockreg_release(rs_blockreg_t *r, rs_blocklog_t *log);

/* Registers the block at addr (16-byte aligned, with RS_BLOCK_HEADER
 * writable bytes before it) in log and writes its record.  Returns 0, or
 * -1 when memory is exhausted (an untracked record is written instead). */
int rs_blockreg_add(rs_blocklog_t *log, uint64_t addr, uint64_t size, uint32_t stack_id,
                    rs_block_shift_t shift);

/* Writes an untracked record for the block at addr. */
void rs_blockreg_add_untracked(uint64_t addr, uint64_t size, rs_block_shift_t shift);

/* What a block's record says, read by rs_blockreg_remove/lookup. */
typedef enum rs_block_state {
    RS_BLOCK_INVALID = -1,  /* damaged record, or not a block of ours    */
    RS_BLOCK_UNTRACKED = 0,
    RS_BLOCK_TRACKED = 1,
} rs_block_state_t;

/* The block at addr is being freed: a tracked one leaves the registry
 * (*out gets its record) and its record is cleared.  *real gets the start
 * of the real allocation (for INVALID: addr - RS_BLOCK_HEADER, the best
 * guess), *size the recorded size (0 for INVALID).  Reads the record, so
 * addr must be a block address the program passes to free/realloc.
 * Never changes errno (rs_lock.h), so the free path need not save it. */
rs_block_state_t rs_blockreg_remove(rs_blockreg_t *r, uint64_t addr, rs_block_t *out,
                                    uint64_t *real, uint64_t *size);

/* Like remove without removing: what the record of the block at addr
 * says.  header points to the 16 bytes before addr, or a copy of them made
 * by the caller (who knows whether that memory is readable).  *out (if
 * not NULL) gets a tracked block's record; *real and *size (if not NULL)
 * the real allocation and recorded size of a valid record. */
rs_block_state_t rs_blockreg_check(rs_blockreg_t *r, uint64_t addr, const void *header,
                                   rs_block_t *out, uint64_t *real, uint64_t *size);

/* Gives the tracked block at addr (a live block of the program's) the
 * allocation stack stack_id, as if it had been allocated there: an object
 * a library hands out again from its own free list, without malloc
 * (preload/newref.c).  Returns 1, or 0 when addr is no tracked block or
 * the id does not fit the record (RS_BLOCK_STACK_BITS). */
int rs_blockreg_restamp(rs_blockreg_t *r, uint64_t addr, uint32_t stack_id);

/* The record's layout (blockreg.c describes it): where the shift and the
 * two halves of the log number sit, and the log number of an untracked
 * record.  Shared with the two unchecked readers below. */
#define RS_BLOCK_SHIFT_POS  RS_BLOCK_SIZE_BITS
#define RS_BLOCK_LOG_LO_POS 52
#define RS_BLOCK_LOG_HI_POS 60
#define RS_BLOCK_LOG_NONE   0xffffu

static inline uint32_t rs_blockreg_log_of(uint64_t w0, uint64_t w1)
{
    return (uint32_t)((w0 >> RS_BLOCK_LOG_LO_POS) | (w1 >> RS_BLOCK_LOG_HI_POS) << 12);
}

/* The shift in the record before addr, unchecked (a hint: whether the
 * block is an aligned one; check the record before trusting anything
 * else). */
static inline rs_block_shift_t rs_blockreg_shift_hint(uint64_t addr)
{
    uint64_t w0;
    __builtin_memcpy(&w0, (const void *)(uintptr_t)(addr - RS_BLOCK_HEADER), sizeof w0);
    return (rs_block_shift_t)((w0 >> RS_BLOCK_SHIFT_POS) & 63);
}

/* Whether the record before addr names a log (unchecked): a block that
 * may be tracked, whose removal would take a log's lock. */
static inline int rs_blockreg_claims_log(uint64_t addr)
{
    uint64_t w[2];
    __builtin_memcpy(w, (const void *)(uintptr_t)(addr - RS_BLOCK_HEADER), sizeof w);
    return rs_blockreg_log_of(w[0], w[1]) != RS_BLOCK_LOG_NONE;
}

/* Number of tracked blocks, and bytes of bookkeeping: registry memory plus
 * RS_BLOCK_HEADER per tracked block. */
uint64_t rs_blockreg_count(rs_blockreg_t *r);
uint64_t rs_blockreg_bytes(rs_blockreg_t *r);

/* Calls fn for every tracked block, log by log, each log locked while it
 * is visited; fn must not call back into the registry. */
void rs_blockreg_foreach(rs_blockreg_t *r, void (*fn)(const rs_block_t *b, void *arg),
                         void *arg);

/* Fork support: lock every log (prepare), unlock them (parent/child).  In
 * the child, rs_blockreg_forked(r, own) then marks every log but the
 * forking thread's as released. */
void rs_blockreg_lock_all(rs_blockreg_t *r);
void rs_blockreg_unlock_all(rs_blockreg_t *r);
void rs_blockreg_forked(rs_blockreg_t *r, rs_blocklog_t *own);

#endif /* RS_BLOCKREG_H */
