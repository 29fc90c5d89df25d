/*
 * blockreg.c - block records and the registry of tracked blocks (see
 * blockreg.h).
 *
 * The record, two little-endian 64-bit words right before the block:
 *   w0 bits  0..45  size
 *      bits 46..51  shift: the block starts 2^shift bytes into its real
 *                   allocation (4 for a plain block)
 *      bits 52..63  log number, low 12 bits
 *   w1 bits  0..31  slot in the log; for an untracked record a check word
 *                   computed from the address and w0
 *      bits 32..59  stack id
 *      bits 60..63  log number, high 4 bits
 * Log number 0xffff marks an untracked record.  Removing a block clears
 * w1, so a second free of the same pointer does not find it.
 *
 * A log's slots: slots[0..used) hold either a block address (16-byte
 * aligned, never 0) or, for a free slot, (next free slot << 1) | 1, the
 * list ending with FREE_END.  An allocation pops the head of that list (the
 * slot freed last, whose line the free just wrote), or appends.
 *
 * Invariants, while a log's lock is not held:
 *  - live == the number of slots in [0, used) holding an address;
 *  - every address in a slot has a record naming this log and that slot
 *    (written under the lock before it is released), unless the program
 *    overwrote it;
 *  - free_head is FREE_END or a free slot, and the list visits every free
 *    slot once.
 * Registry: logs[0..n_logs) are published once and never freed before
 * rs_blockreg_destroy; the registry lock orders acquire, release and
 * lock_all.  Lock order: the registry lock, then logs by number.
 *
 * Cost on the allocation path: one uncontended lock of the thread's own
 * log (a locked compare-and-swap), the free-list pop (a hot line), the
 * slot store and the record (on the line the allocator just touched).
 * A free: the record's load (same line as the allocator's chunk header),
 * the lock of the block's log, a load and a store of its slot (the only
 * line that may miss; nothing waits for it but the validation branch).
 * Both take the log's lock with a try-lock and leave everything else (a
 * contended lock, a full free list, untracked or invalid records) to
 * out-of-line slow paths that look again, so the fast paths save few
 * registers: callgrind on bench_alloc, 47 instructions per add and 75
 * per remove (61 and 117 with the checks in a called classify()).
 */
#include "blockreg.h"

#include "rs_likely.h"
#include "rs_lock.h"
#include "rs_mem.h"

#include <stdatomic.h>
#include <string.h>

#define SIZE_MASK   ((1ull << RS_BLOCK_SIZE_BITS) - 1)
#define STACK_MASK  ((1ull << RS_BLOCK_STACK_BITS) - 1)
#define SHIFT_POS   RS_BLOCK_SHIFT_POS
#define LOG_LO_POS  RS_BLOCK_LOG_LO_POS
#define STACK_POS   32
#define LOG_HI_POS  RS_BLOCK_LOG_HI_POS
#define LOG_NONE    RS_BLOCK_LOG_NONE
#define FREE_END    0xffffffffu
#define FIRST_SLOTS RS_BLOCKREG_FIRST_SLOTS
#define MAX_SHIFT   40

struct rs_blocklog {
    rs_lock_t lock;
    uint16_t id;
    uint8_t released;          /* registry lock */
    uint32_t tid;
    uint64_t *slots;
    uint32_t used, free_head;
    _Atomic uint32_t cap;      /* written under lock, read anywhere (bytes) */
    _Atomic uint32_t live;     /* written under lock, read anywhere */
};

/* Logs sit in mapped pages, a line each, ids in order: log id lives at
 * line id % LOGS_PER_PAGE of the page that log id - id % LOGS_PER_PAGE
 * starts.  Never freed before rs_blockreg_destroy (released logs are
 * reused). */
#define LOGS_PER_PAGE RS_BLOCKREG_LOGS_PER_PAGE
#define LOG_BYTES     64u
#define LOG_PAGE      (LOGS_PER_PAGE * LOG_BYTES)
_Static_assert(sizeof(struct rs_blocklog) <= LOG_BYTES, "a log fits a line");

struct rs_blockreg {
    rs_lock_t lock;
    uint32_t n_released;                  /* registry lock */
    _Atomic uint32_t n_logs;
    _Atomic(rs_blocklog_t *) *logs;       /* RS_BLOCKREG_MAX_LOGS entries */
};

/* ---- records ------------------------------------------------------------ */

typedef struct header_words {
    uint64_t w0, w1;
} header_words_t;

static inline header_words_t *header_of(uint64_t addr)
{
    return (header_words_t *)(uintptr_t)(addr - RS_BLOCK_HEADER);
}

static inline uint32_t log_of(uint64_t w0, uint64_t w1)
{
    return rs_blockreg_log_of(w0, w1);
}

static inline unsigned shift_of(uint64_t w0)
{
    return (unsigned)((w0 >> SHIFT_POS) & 63);
}

static inline uint64_t w0_of(uint64_t size, unsigned shift, uint32_t log)
{
    return (size & SIZE_MASK) | (uint64_t)shift << SHIFT_POS |
           (uint64_t)(log & 0xfff) << LOG_LO_POS;
}

static inline uint64_t w1_of(uint32_t slot, uint32_t stack_id, uint32_t log)
{
    if (stack_id > STACK_MASK)
        stack_id = 0;
    return slot | (uint64_t)stack_id << STACK_POS | (uint64_t)(log >> 12) << LOG_HI_POS;
}

/* The check word of an untracked record. */
static inline uint32_t untracked_check(uint64_t addr, uint64_t w0)
{
    uint64_t h = (addr ^ (w0 * 0x9E3779B97F4A7C15ull)) * 0xD6E8FEB86659FD93ull;
    return (uint32_t)(h >> 32);
}

void rs_blockreg_add_untracked(uint64_t addr, uint64_t size, rs_block_shift_t shift)
{
    uint64_t w0 = w0_of(size, shift, LOG_NONE);
    header_words_t *h = header_of(addr);
    h->w0 = w0;
    h->w1 = w1_of(untracked_check(addr, w0), 0, LOG_NONE);
}

static inline int shift_ok(unsigned shift)
{
    return shift >= RS_BLOCK_PLAIN_SHIFT && shift <= MAX_SHIFT;
}

/* ---- registry ----------------------------------------------------------- */

rs_blockreg_t *rs_blockreg_create(void)
{
    rs_blockreg_t *r = rs_mem_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->logs = rs_mem_calloc(RS_BLOCKREG_MAX_LOGS, sizeof *r->logs);
    if (!r->logs) {
        rs_mem_free(r);
        return NULL;
    }
    rs_lock_init(&r->lock);
    return r;
}

void rs_blockreg_destroy(rs_blockreg_t *r)
{
    if (!r)
        return;
    uint32_t n = atomic_load(&r->n_logs);
    for (uint32_t i = 0; i < n; i++) {
        rs_blocklog_t *log = atomic_load(&r->logs[i]);
        rs_mem_unmap(log->slots, (size_t)log->cap * sizeof *log->slots);
    }
    for (uint32_t i = 0; i < n; i += LOGS_PER_PAGE)
        rs_mem_unmap(atomic_load(&r->logs[i]), LOG_PAGE);
    rs_mem_free(r->logs);
    rs_mem_free(r);
}

static inline rs_blocklog_t *log_number(rs_blockreg_t *r, uint32_t id)
{
    if (id >= atomic_load_explicit(&r->n_logs, memory_order_acquire))
        return NULL;
    return atomic_load_explicit(&r->logs[id], memory_order_acquire);
}

/* A new log on a cache line of its own, in mapped pages, not the heap: a
 * thread's first allocation may be made by a signal handler that
 * interrupted glibc's malloc on that thread, where asking glibc for
 * memory (calloc takes the arena lock) would wait for ever.  Registry
 * lock held. */
static rs_blocklog_t *new_log(rs_blockreg_t *r, uint32_t tid)
{
    uint32_t id = atomic_load_explicit(&r->n_logs, memory_order_relaxed);
    if (id >= RS_BLOCKREG_MAX_LOGS)
        return NULL;
    char *line;
    if (id % LOGS_PER_PAGE == 0)
        line = rs_mem_map(LOG_PAGE);                 /* zeroed */
    else
        line = (char *)atomic_load_explicit(&r->logs[id - 1], memory_order_relaxed) + LOG_BYTES;
    if (!line)
        return NULL;
    rs_blocklog_t *log = (rs_blocklog_t *)line;
    rs_lock_init(&log->lock);
    log->id = (uint16_t)id;
    log->tid = tid;
    log->free_head = FREE_END;
    atomic_store_explicit(&r->logs[id], log, memory_order_release);
    atomic_store_explicit(&r->n_logs, id + 1, memory_order_release);
    return log;
}

/* A released log to reuse: an empty one, or (all numbers taken) any.
 * Registry lock held. */
static rs_blocklog_t *reusable_log(rs_blockreg_t *r, int any)
{
    uint32_t n = atomic_load_explicit(&r->n_logs, memory_order_relaxed);
    for (uint32_t i = 0; i < n && r->n_released; i++) {
        rs_blocklog_t *log = atomic_load_explicit(&r->logs[i], memory_order_relaxed);
        if (log->released &&
            (any || atomic_load_explicit(&log->live, memory_order_relaxed) == 0))
            return log;
    }
    return NULL;
}

rs_blocklog_t *rs_blockreg_acquire(rs_blockreg_t *r, uint32_t tid)
{
    rs_lock(&r->lock);
    rs_blocklog_t *log = reusable_log(r, 0);
    if (!log)
        log = new_log(r, tid);
    if (!log)
        log = reusable_log(r, 1);    /* its old blocks now name thread tid */
    if (log && log->released) {
        log->released = 0;
        r->n_released--;
        rs_lock(&log->lock);
        log->tid = tid;
        rs_unlock(&log->lock);
    }
    rs_unlock(&r->lock);
    return log;
}

void rs_blockreg_release(rs_blockreg_t *r, rs_blocklog_t *log)
{
    if (!log)
        return;
    rs_lock(&r->lock);
    if (!log->released) {
        log->released = 1;
        r->n_released++;
    }
    rs_unlock(&r->lock);
}

/* ---- adding and removing -------------------------------------------------- */

/* The head of log's free list (the slot freed last), taken off the list;
 * FREE_END when the list is empty.  Log lock held. */
static inline uint32_t pop_free(rs_blocklog_t *log)
{
    uint32_t s = log->free_head;
    if (s != FREE_END)
        log->free_head = (uint32_t)(log->slots[s] >> 1);
    return s;
}

/* A free slot of log, growing the array when none is left; FREE_END when
 * memory is exhausted.  Log lock held. */
static uint32_t take_slot(rs_blocklog_t *log)
{
    uint32_t s = pop_free(log);
    if (s != FREE_END)
        return s;
    uint32_t old = atomic_load_explicit(&log->cap, memory_order_relaxed);
    if (log->used == old) {
        uint32_t cap = old ? old * 2 : FIRST_SLOTS;
        if (cap <= old)
            return FREE_END;
        uint64_t *slots = rs_mem_remap(log->slots, (size_t)old * sizeof *slots,
                                       (size_t)cap * sizeof *slots);
        if (!slots)
            return FREE_END;
        log->slots = slots;
        atomic_store_explicit(&log->cap, cap, memory_order_relaxed);
    }
    return log->used++;
}

/* Puts the block at addr in slot s of log and writes its record, then
 * unlocks the log.  Log lock held. */
static inline void fill_slot_unlock(rs_blocklog_t *log, uint32_t s, uint64_t addr,
                                    uint64_t size, uint32_t stack_id, rs_block_shift_t shift)
{
    log->slots[s] = addr;
    atomic_store_explicit(&log->live, atomic_load_explicit(&log->live, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    header_words_t *h = header_of(addr);
    h->w0 = w0_of(size, shift, log->id);
    h->w1 = w1_of(s, stack_id, log->id);
    rs_unlock(&log->lock);
}

/* rs_blockreg_add when the lock is taken (locked) or contended, or the
 * free list is empty: waits for the lock, grows the slot array. */
static __attribute__((noinline)) int add_slow(rs_blocklog_t *log, uint64_t addr, uint64_t size,
                                              uint32_t stack_id, rs_block_shift_t shift,
                                              int locked)
{
    if (!locked)
        rs_lock(&log->lock);
    uint32_t s = take_slot(log);
    if (s == FREE_END) {
        rs_unlock(&log->lock);
        rs_blockreg_add_untracked(addr, size, shift);
        return -1;
    }
    fill_slot_unlock(log, s, addr, size, stack_id, shift);
    return 0;
}

/* Fast path: a free lock and a slot on the free list; everything else is
 * add_slow's, out of line so that this path saves no registers (about
 * 30 instructions). */
int rs_blockreg_add(rs_blocklog_t *log, uint64_t addr, uint64_t size, uint32_t stack_id,
                    rs_block_shift_t shift)
{
    if (RS_UNLIKELY(!rs_trylock(&log->lock)))
        return add_slow(log, addr, size, stack_id, shift, 0);
    uint32_t s = pop_free(log);
    if (RS_UNLIKELY(s == FREE_END))
        return add_slow(log, addr, size, stack_id, shift, 1);
    fill_slot_unlock(log, s, addr, size, stack_id, shift);
    return 0;
}

/* Fills *out from a record of log. */
static inline void fill_block(uint64_t addr, header_words_t w, const rs_blocklog_t *log,
                              rs_block_t *out)
{
    if (!out)
        return;
    out->addr = addr;
    out->size = w.w0 & SIZE_MASK;
    out->stack_id = (uint32_t)((w.w1 >> STACK_POS) & STACK_MASK);
    out->tid_seq = log->tid;
}

/* What the record w of the block at addr says; for a tracked block, its
 * log is returned locked in *locked (the caller unlocks). */
static rs_block_state_t classify(rs_blockreg_t *r, uint64_t addr, header_words_t w,
                                 rs_blocklog_t **locked)
{
    *locked = NULL;
    if (!shift_ok(shift_of(w.w0)) || (addr & 15))
        return RS_BLOCK_INVALID;
    uint32_t id = log_of(w.w0, w.w1);
    if (id == LOG_NONE)
        return (uint32_t)w.w1 == untracked_check(addr, w.w0) ? RS_BLOCK_UNTRACKED
                                                             : RS_BLOCK_INVALID;
    rs_blocklog_t *log = r ? log_number(r, id) : NULL;
    if (!log)
        return RS_BLOCK_INVALID;
    uint32_t s = (uint32_t)w.w1;
    rs_lock(&log->lock);
    if (s < log->used && log->slots[s] == addr) {
        *locked = log;
        return RS_BLOCK_TRACKED;
    }
    rs_unlock(&log->lock);
    return RS_BLOCK_INVALID;
}

/* Takes the tracked block at addr, slot s of its locked log, out of the
 * registry: the slot goes back to the free list, *out gets the record
 * w, the record's w1 is cleared; then the log is unlocked. */
static inline void free_slot_unlock(rs_blocklog_t *log, uint32_t s, uint64_t addr,
                                    header_words_t w, rs_block_t *out)
{
    log->slots[s] = (uint64_t)log->free_head << 1 | 1;
    log->free_head = s;
    atomic_store_explicit(&log->live, atomic_load_explicit(&log->live, memory_order_relaxed) - 1,
                          memory_order_relaxed);
    fill_block(addr, w, log, out);
    header_of(addr)->w1 = 0;
    rs_unlock(&log->lock);
}

/* rs_blockreg_remove for everything but a valid tracked record whose log
 * was free: untracked and invalid records, a contended lock.  held: a
 * log the fast path locked, unlocked here first (so that the fast path
 * makes no call with values live after it). */
static __attribute__((noinline)) rs_block_state_t remove_slow(rs_blockreg_t *r, uint64_t addr,
                                                              rs_block_t *out, uint64_t *real,
                                                              uint64_t *size, rs_blocklog_t *held)
{
    if (held)
        rs_unlock(&held->lock);
    header_words_t *h = header_of(addr);
    header_words_t w = *h;
    rs_blocklog_t *log;
    rs_block_state_t st = classify(r, addr, w, &log);
    if (st == RS_BLOCK_INVALID) {
        *real = addr - RS_BLOCK_HEADER;
        *size = 0;
        return st;
    }
    *real = addr - (1ull << shift_of(w.w0));
    *size = w.w0 & SIZE_MASK;
    if (log)
        free_slot_unlock(log, (uint32_t)w.w1, addr, w, out);
    else
        h->w1 = 0;
    return st;
}

/* Fast path, a tracked block (the usual free): the checks of classify()
 * inline, a try-lock, the slot; about 45 instructions.  Anything else,
 * or a contended lock, goes to remove_slow, which looks again. */
rs_block_state_t rs_blockreg_remove(rs_blockreg_t *r, uint64_t addr, rs_block_t *out,
                                    uint64_t *real, uint64_t *size)
{
    header_words_t w = *header_of(addr);
    uint32_t id = log_of(w.w0, w.w1);
    unsigned shift = shift_of(w.w0);
    rs_blocklog_t *log;
    if (RS_LIKELY(id != LOG_NONE && shift_ok(shift) && !(addr & 15) && r) &&
        RS_LIKELY((log = log_number(r, id)) != NULL) && RS_LIKELY(rs_trylock(&log->lock))) {
        uint32_t s = (uint32_t)w.w1;
        if (RS_LIKELY(s < log->used && log->slots[s] == addr)) {
            *real = addr - (1ull << shift);     /* before the unlock's call: */
            *size = w.w0 & SIZE_MASK;           /* nothing is live across it */
            free_slot_unlock(log, s, addr, w, out);
            return RS_BLOCK_TRACKED;
        }
        return remove_slow(r, addr, out, real, size, log);
    }
    return remove_slow(r, addr, out, real, size, NULL);
}

rs_block_state_t rs_blockreg_check(rs_blockreg_t *r, uint64_t addr, const void *header,
                                   rs_block_t *out, uint64_t *real, uint64_t *size)
{
    header_words_t w;
    memcpy(&w, header, sizeof w);
    rs_blocklog_t *log;
    rs_block_state_t st = classify(r, addr, w, &log);
    if (st != RS_BLOCK_INVALID) {
        if (real)
            *real = addr - (1ull << shift_of(w.w0));
        if (size)
            *size = w.w0 & SIZE_MASK;
    }
    if (log) {
        fill_block(addr, w, log, out);
        rs_unlock(&log->lock);
    }
    return st;
}

int rs_blockreg_restamp(rs_blockreg_t *r, uint64_t addr, uint32_t stack_id)
{
    if (stack_id > STACK_MASK)
        return 0;
    header_words_t *h = header_of(addr);
    rs_blocklog_t *log;
    if (classify(r, addr, *h, &log) != RS_BLOCK_TRACKED)
        return 0;
    /* Under the log's lock, as every writer of a tracked record. */
    h->w1 = (h->w1 & ~(STACK_MASK << STACK_POS)) | (uint64_t)stack_id << STACK_POS;
    rs_unlock(&log->lock);
    return 1;
}

/* ---- the whole registry ------------------------------------------------- */

uint64_t rs_blockreg_count(rs_blockreg_t *r)
{
    uint64_t total = 0;
    uint32_t n = atomic_load_explicit(&r->n_logs, memory_order_acquire);
    for (uint32_t i = 0; i < n; i++)
        total += atomic_load_explicit(&atomic_load(&r->logs[i])->live, memory_order_relaxed);
    return total;
}

uint64_t rs_blockreg_bytes(rs_blockreg_t *r)
{
    uint32_t n = atomic_load_explicit(&r->n_logs, memory_order_acquire);
    uint64_t total = sizeof *r + (uint64_t)n * sizeof *r->logs;
    for (uint32_t i = 0; i < n; i++) {
        rs_blocklog_t *log = atomic_load(&r->logs[i]);
        total += LOG_BYTES +
                 (uint64_t)atomic_load_explicit(&log->cap, memory_order_relaxed) *
                     sizeof *log->slots +
                 (uint64_t)atomic_load_explicit(&log->live, memory_order_relaxed) *
                     RS_BLOCK_HEADER;
    }
    return total;
}

void rs_blockreg_foreach(rs_blockreg_t *r, void (*fn)(const rs_block_t *b, void *arg),
                         void *arg)
{
    uint32_t n = atomic_load_explicit(&r->n_logs, memory_order_acquire);
    for (uint32_t i = 0; i < n; i++) {
        rs_blocklog_t *log = atomic_load(&r->logs[i]);
        rs_lock(&log->lock);
        for (uint32_t s = 0; s < log->used; s++) {
            /* Each record is a cache miss (blocks lie anywhere): the one
             * 16 slots on is fetched meanwhile (a free slot's word is no
             * address, and prefetching it is harmless). */
            if (s + 16 < log->used)
                __builtin_prefetch((const void *)(uintptr_t)(log->slots[s + 16] - RS_BLOCK_HEADER));
            uint64_t addr = log->slots[s];
            if (addr & 1)
                continue;
            header_words_t w = *header_of(addr);
            if ((uint32_t)w.w1 != s || log_of(w.w0, w.w1) != log->id)
                continue;       /* the program overwrote the record */
            rs_block_t b;
            fill_block(addr, w, log, &b);
            fn(&b, arg);
        }
        rs_unlock(&log->lock);
    }
}

void rs_blockreg_lock_all(rs_blockreg_t *r)
{
    rs_lock(&r->lock);
    uint32_t n = atomic_load(&r->n_logs);
    for (uint32_t i = 0; i < n; i++)
        rs_lock(&atomic_load(&r->logs[i])->lock);
}

void rs_blockreg_unlock_all(rs_blockreg_t *r)
{
    uint32_t n = atomic_load(&r->n_logs);
    for (uint32_t i = n; i-- > 0;)
        rs_unlock(&atomic_load(&r->logs[i])->lock);
    rs_unlock(&r->lock);
}

void rs_blockreg_forked(rs_blockreg_t *r, rs_blocklog_t *own)
{
    uint32_t n = atomic_load(&r->n_logs);
    for (uint32_t i = 0; i < n; i++) {
        rs_blocklog_t *log = atomic_load(&r->logs[i]);
        if (log != own && !log->released) {
            log->released = 1;
            r->n_released++;
        }
    }
}
