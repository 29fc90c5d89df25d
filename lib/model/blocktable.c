/*
 * blocktable.c - the live-block map, keyed by address (see blocktable.h).
 *
 * How it works.  An address is hashed once (a multiply); the top 8 bits
 * pick one of BT_SHARDS shards, bits 24..55 pick the home line inside the
 * shard (multiply-shift onto the number of lines, which need not be a
 * power of two).  Each shard is an open-addressing table of 16-byte packed
 * records (bt_slot_t below), four to a 64-byte cache line, with linear
 * probing from the first slot of the home line, guarded by its own lock.
 * Starting every probe at a line boundary keeps a probe run inside one
 * line unless that line is full (a home slot anywhere in the line made
 * runs cross into the next line about half the time; cachegrind on
 * bench_alloc: a quarter fewer L2 misses in remove and delete).  A
 * first word of 0 marks an empty slot (no allocator returns address 0,
 * and insert rejects it).  Deletion shifts the following entries of the
 * probe run backwards instead of leaving tombstones, so lookups never
 * slow down with churn.  A shard grows by half when it would become more
 * than 3/4 full, so its load stays between 1/2 and 3/4 (about 21-32 bytes
 * of table per live block; doubling left it between 3/8 and 3/4).
 *
 * Records that do not fit the packed form (a block of 2 GiB or more, an
 * address above 2^47, a stack id or thread number too large; none in
 * ordinary programs) live whole in the shard's `wide` array, searched
 * linearly and only when it is not empty.  An address is in the slots or
 * in `wide`, never both.
 *
 * Invariants (per shard, while its lock is not held):
 *  - slots is NULL and cap == 0, or slots has cap entries (a multiple of
 *    BT_LINE_SLOTS, starting on a line boundary) of which used are in use
 *    and at least one is empty.
 *  - Every used entry is reachable from its home slot by a probe that
 *    crosses no empty slot (backward-shift deletion keeps this).
 *  - No two records (slots and wide together) have the same address.
 *  - count == used + n_wide.
 *
 * Locking: shard locks are leaves; nothing else in refscope is locked
 * while one is held except the rs_mem backend's allocator (on growth).
 * lock_all takes every shard lock in index order; unlock_all releases in
 * reverse.  count and bytes read per-shard atomics without locking; they
 * are exact when no insert or remove is in flight.  slots and cap are also
 * written atomically (relaxed) so that rs_blocktable_prefetch may read
 * them without the lock; it only uses them as a hint.
 *
 * Lock choice, measured (insert + remove of the same block in a loop,
 * 2-core machine): one thread, pthread spinlock 20 ns per pair, default
 * mutex 34 ns; four threads on two cores, spinlock 400-450 ns per pair and
 * thread, mutex 290-310 ns (a spinner burns its time slice when the holder
 * is preempted).  The target programs are multi-threaded and often have
 * more threads than cores, so a sleeping lock is used: rs_lock.h, which
 * behaves like the default mutex (no spinning, futex wait) with the
 * uncontended paths inlined.
 *
 * Cost, measured with perf on bench_alloc: the table's time is almost all
 * one cache miss per insert and per remove (the slot of a random address
 * in a table of megabytes).  Packing the record into 16 bytes makes the
 * table a third smaller; rs_blocktable_prefetch lets the allocation path
 * start the insert's miss before its stack walk; remove prefetches its
 * line before taking the lock (a locked instruction holds back later
 * loads, not an earlier prefetch).  An insert probes once: the probe that
 * finds the address or its empty slot also places it.
 */
#include "blocktable.h"

#include "rs_lock.h"
#include "rs_mem.h"

#include <stdatomic.h>
#include <string.h>

#define BT_SHARD_BITS 8
#define BT_SHARDS     (1u << BT_SHARD_BITS)
#define BT_LINE       64u                    /* bytes of a cache line      */
#define BT_LINE_SLOTS 4u                     /* slots per line             */
#define BT_MIN_CAP    16u                    /* a multiple of BT_LINE_SLOTS */
#define BT_MAX_CAP    (1u << 31)

#define RS_LIKELY(x)   __builtin_expect(!!(x), 1)
#define RS_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* A packed record, two words:
 *   w0 bits  0..46  address (0: the slot is empty)
 *   w0 bits 47..63  size, bits 0..16
 *   w1 bits  0..13  size, bits 17..30
 *   w1 bits 14..41  stack id
 *   w1 bits 42..63  thread (tid_seq)                                      */
typedef struct bt_slot {
    uint64_t w0, w1;
} bt_slot_t;

#define BT_ADDR_MASK  ((1ull << RS_BLOCK_ADDR_BITS) - 1)
#define BT_SIZE_LO    (64 - RS_BLOCK_ADDR_BITS)                 /* 17 bits */
#define BT_SIZE_HI    (RS_BLOCK_SIZE_BITS - BT_SIZE_LO)         /* 14 bits */
#define BT_STACK_SHIFT BT_SIZE_HI
#define BT_TID_SHIFT  (BT_STACK_SHIFT + RS_BLOCK_STACK_BITS)
_Static_assert(BT_TID_SHIFT + RS_BLOCK_TID_BITS == 64, "w1 is full");
_Static_assert(sizeof(bt_slot_t) == 16, "16 bytes per live block");
_Static_assert(sizeof(bt_slot_t) * BT_LINE_SLOTS == BT_LINE, "a line of slots");

typedef struct bt_shard {
    rs_lock_t        lock;
    bt_slot_t       *slots;   /* line-aligned, inside slots_raw            */
    void            *slots_raw; /* what rs_mem returned                    */
    uint32_t         cap;     /* entries in slots, 0 when slots is NULL;
                               * a multiple of BT_LINE_SLOTS               */
    uint32_t         used;    /* used entries in slots                     */
    atomic_uint      count;   /* used + n_wide, readable without the lock  */
    uint32_t         n_wide, cap_wide;
    rs_block_t      *wide;    /* records that do not pack                  */
} bt_shard_t;

/* Each shard on cache lines of its own. */
typedef union bt_shard_line {
    bt_shard_t s;
    char       pad[(sizeof(bt_shard_t) + 63) / 64 * 64];
} bt_shard_line_t;

/* Allocated with 63 spare bytes and aligned by hand (rs_mem has no aligned
 * allocation) so that every shard header has its cache lines to itself. */
struct rs_blocktable {
    bt_shard_line_t      shards[BT_SHARDS];
    atomic_uint_fast64_t bytes;
    void                *raw;     /* what rs_mem returned                */
};

/* ---- packing ------------------------------------------------------------ */

static inline int bt_fits(const rs_block_t *b)
{
    return b->addr <= BT_ADDR_MASK && b->size < (1ull << RS_BLOCK_SIZE_BITS) &&
           b->stack_id < (1u << RS_BLOCK_STACK_BITS) &&
           b->tid_seq < (1u << RS_BLOCK_TID_BITS);
}

/* b fits (bt_fits). */
static inline bt_slot_t bt_pack(const rs_block_t *b)
{
    return (bt_slot_t){
        .w0 = b->addr | b->size << RS_BLOCK_ADDR_BITS,
        .w1 = b->size >> BT_SIZE_LO | (uint64_t)b->stack_id << BT_STACK_SHIFT |
              (uint64_t)b->tid_seq << BT_TID_SHIFT,
    };
}

static inline uint64_t bt_addr(const bt_slot_t *s) { return s->w0 & BT_ADDR_MASK; }

static inline void bt_unpack(const bt_slot_t *s, rs_block_t *b)
{
    b->addr = bt_addr(s);
    b->size = s->w0 >> RS_BLOCK_ADDR_BITS |
              (s->w1 & ((1ull << BT_SIZE_HI) - 1)) << BT_SIZE_LO;
    b->stack_id = (uint32_t)(s->w1 >> BT_STACK_SHIFT) & ((1u << RS_BLOCK_STACK_BITS) - 1);
    b->tid_seq = (uint32_t)(s->w1 >> BT_TID_SHIFT);
}

/* ---- hashing ------------------------------------------------------------ */

static inline uint64_t bt_hash(uint64_t addr)
{
    return (addr >> 4) * 0x9E3779B97F4A7C15ull;
}

static inline bt_shard_t *bt_shard(rs_blocktable_t *t, uint64_t h)
{
    return &t->shards[h >> (64 - BT_SHARD_BITS)].s;
}

/* The first slot of a line: bits 24..55 of the hash scaled onto the
 * cap / BT_LINE_SLOTS lines.  Every probe starts at a line boundary, so a
 * probe run shorter than a line stays in the one line it starts in. */
static inline uint32_t bt_home(uint64_t h, uint32_t cap)
{
    uint64_t lines = cap / BT_LINE_SLOTS;
    return (uint32_t)(((h >> 24 & 0xffffffffull) * lines) >> 32) * BT_LINE_SLOTS;
}

static inline uint32_t bt_next(uint32_t i, uint32_t cap)
{
    return i + 1 == cap ? 0 : i + 1;
}

/* ---- create / destroy ----------------------------------------------------- */

rs_blocktable_t *rs_blocktable_create(void)
{
    char *raw = rs_mem_calloc(1, sizeof(rs_blocktable_t) + 63);
    if (!raw)
        return NULL;
    rs_blocktable_t *t = (rs_blocktable_t *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    t->raw = raw;
    for (unsigned i = 0; i < BT_SHARDS; i++) {
        rs_lock_init(&t->shards[i].s.lock);
        atomic_init(&t->shards[i].s.count, 0);
    }
    atomic_init(&t->bytes, sizeof *t + 63);
    return t;
}

void rs_blocktable_destroy(rs_blocktable_t *t)
{
    if (!t)
        return;
    for (unsigned i = 0; i < BT_SHARDS; i++) {
        rs_mem_free(t->shards[i].s.slots_raw);
        rs_mem_free(t->shards[i].s.wide);
    }
    rs_mem_free(t->raw);
}

/* ---- the packed slots --------------------------------------------------- */

/* The probe: the index of addr's slot (*found = 1), or else of the empty
 * slot that ends its probe run, where it would be placed (*found = 0).
 * The shard has slots.  Lock held. */
static inline uint32_t bt_probe(const bt_shard_t *s, uint64_t h, uint64_t addr, int *found)
{
    for (uint32_t i = bt_home(h, s->cap);; i = bt_next(i, s->cap)) {
        uint64_t a = bt_addr(&s->slots[i]);
        if (a == addr || a == 0) {
            *found = a != 0;
            return i;
        }
    }
}

/* Index of addr's slot in the shard, or UINT32_MAX; lock held. */
static inline uint32_t bt_find(const bt_shard_t *s, uint64_t h, uint64_t addr)
{
    if (RS_UNLIKELY(!s->slots))
        return UINT32_MAX;
    int found;
    uint32_t i = bt_probe(s, h, addr, &found);
    return found ? i : UINT32_MAX;
}

/* Puts e in the first free slot of its probe run; its address is known to
 * be absent and a free slot to exist.  Lock held. */
static inline void bt_place(bt_slot_t *slots, uint32_t cap, const bt_slot_t *e)
{
    uint32_t i = bt_home(bt_hash(bt_addr(e)), cap);
    while (slots[i].w0 != 0)
        i = bt_next(i, cap);
    slots[i] = *e;
}

/* Grows the shard by half (or gives it its first array).  Returns 0, or
 * -1 when memory is exhausted (shard unchanged).  Lock held. */
static __attribute__((noinline)) int bt_grow(rs_blocktable_t *t, bt_shard_t *s)
{
    uint64_t old_cap = s->cap;
    uint64_t cap = old_cap ? old_cap + old_cap / 2 : BT_MIN_CAP;
    cap = (cap + BT_LINE_SLOTS - 1) / BT_LINE_SLOTS * BT_LINE_SLOTS;
    if (cap > BT_MAX_CAP)
        return -1;
    /* rs_mem has no aligned allocation (a backend may align to as little
     * as 8): BT_LINE - 1 spare bytes let the slots start on a line. */
    void *raw = rs_mem_calloc(1, cap * sizeof(bt_slot_t) + BT_LINE - 1);
    if (!raw)
        return -1;
    bt_slot_t *slots = (bt_slot_t *)(((uintptr_t)raw + BT_LINE - 1) & ~(uintptr_t)(BT_LINE - 1));
    for (uint64_t i = 0; i < old_cap; i++)
        if (s->slots[i].w0 != 0)
            bt_place(slots, (uint32_t)cap, &s->slots[i]);
    rs_mem_free(s->slots_raw);
    s->slots_raw = raw;
    __atomic_store_n(&s->slots, slots, __ATOMIC_RELAXED);
    __atomic_store_n(&s->cap, (uint32_t)cap, __ATOMIC_RELAXED);
    atomic_fetch_add_explicit(&t->bytes, (cap - old_cap) * sizeof *slots +
                                             (old_cap ? 0 : BT_LINE - 1),
                              memory_order_relaxed);
    return 0;
}

/* Removes slot i by shifting the rest of its probe run back.  Lock held. */
static void bt_delete_at(bt_shard_t *s, uint32_t i)
{
    uint32_t cap = s->cap;
    for (uint32_t j = bt_next(i, cap); s->slots[j].w0 != 0; j = bt_next(j, cap)) {
        uint32_t k = bt_home(bt_hash(bt_addr(&s->slots[j])), cap);
        /* The entry at j may move to i unless its home k lies cyclically
         * in (i, j]: then the hole at i is not on its probe path. */
        int stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            s->slots[i] = s->slots[j];
            i = j;
        }
    }
    s->slots[i] = (bt_slot_t){0, 0};
    s->used--;
}

/* Stores e (address absent from the slots), growing first when the shard
 * would pass 3/4 full; if growth fails, keeps filling while one slot stays
 * empty.  Returns 0 or -1.  Lock held. */
static inline int bt_add(rs_blocktable_t *t, bt_shard_t *s, const bt_slot_t *e)
{
    uint64_t cap = s->cap;
    if (RS_UNLIKELY((uint64_t)s->used + 1 > cap - cap / 4) &&
        bt_grow(t, s) != 0 && (uint64_t)s->used + 1 >= cap)
        return -1;
    bt_place(s->slots, s->cap, e);
    s->used++;
    return 0;
}

/* ---- the wide records --------------------------------------------------- */

/* Index of addr in the shard's wide array, or UINT32_MAX; lock held. */
static uint32_t wide_find(const bt_shard_t *s, uint64_t addr)
{
    for (uint32_t i = 0; i < s->n_wide; i++)
        if (s->wide[i].addr == addr)
            return i;
    return UINT32_MAX;
}

static void wide_delete_at(bt_shard_t *s, uint32_t i)
{
    s->wide[i] = s->wide[--s->n_wide];
}

/* Appends b (address absent everywhere).  Returns 0 or -1.  Lock held. */
static __attribute__((noinline)) int wide_add(rs_blocktable_t *t, bt_shard_t *s,
                                              const rs_block_t *b)
{
    if (s->n_wide == s->cap_wide) {
        uint32_t cap = s->cap_wide ? s->cap_wide * 2 : 4;
        rs_block_t *w = rs_mem_realloc(s->wide, (size_t)cap * sizeof *w);
        if (!w)
            return -1;
        atomic_fetch_add_explicit(&t->bytes, (uint64_t)(cap - s->cap_wide) * sizeof *w,
                                  memory_order_relaxed);
        s->wide = w;
        s->cap_wide = cap;
    }
    s->wide[s->n_wide++] = *b;
    return 0;
}

/* ---- the interface -------------------------------------------------------- */

static inline void bt_publish_count(bt_shard_t *s)
{
    atomic_store_explicit(&s->count, s->used + s->n_wide, memory_order_relaxed);
}

/* The rare insert: a record that does not pack, a packed one while the
 * shard has wide records (one of them may hold the same address), or one
 * that may need the shard to grow first.  Lock held. */
static __attribute__((noinline)) int insert_slow(rs_blocktable_t *t, bt_shard_t *s,
                                                 uint64_t h, const rs_block_t *b)
{
    uint32_t w = wide_find(s, b->addr);
    if (w != UINT32_MAX)
        wide_delete_at(s, w);
    uint32_t i = bt_find(s, h, b->addr);
    if (bt_fits(b)) {
        bt_slot_t e = bt_pack(b);
        if (i != UINT32_MAX) {
            s->slots[i] = e;
            return 0;
        }
        return bt_add(t, s, &e);
    }
    if (i != UINT32_MAX)
        bt_delete_at(s, i);
    return wide_add(t, s, b);
}

/* Hot path (allocation): hash (shift + multiply), lock (one locked
 * cmpxchg), one probe from the start of a line that usually ends inside
 * it (load factor <= 3/4, four 16-byte slots per line: the line
 * rs_blocktable_prefetch asked for) at addr or at the empty slot where it
 * goes, two stores, a relaxed counter store, unlock.  Growth and wide
 * records are the noinline slow path. */
int rs_blocktable_insert(rs_blocktable_t *t, const rs_block_t *b)
{
    if (RS_UNLIKELY(b->addr == 0))
        return -1;
    uint64_t h = bt_hash(b->addr);
    bt_shard_t *s = bt_shard(t, h);
    int rc = 0;

    rs_lock(&s->lock);
    uint64_t cap = s->cap;       /* 0 without slots: the slow path */
    if (RS_LIKELY(s->n_wide == 0 && bt_fits(b) && (uint64_t)s->used + 1 <= cap - cap / 4)) {
        int found;
        uint32_t i = bt_probe(s, h, b->addr, &found);
        s->slots[i] = bt_pack(b);
        s->used += !found;
    } else {
        rc = insert_slow(t, s, h, b);
    }
    bt_publish_count(s);
    rs_unlock(&s->lock);
    return rc;
}

/* Starts loading the line of hash h's home slot; no lock needed.  A stale
 * slots/cap pair (growth in between) prefetches a wrong line: harmless, a
 * prefetch never faults. */
static inline void bt_prefetch_home(const bt_shard_t *s, uint64_t h)
{
    bt_slot_t *slots = __atomic_load_n(&s->slots, __ATOMIC_RELAXED);
    uint32_t cap = __atomic_load_n(&s->cap, __ATOMIC_RELAXED);
    if (slots)
        __builtin_prefetch(&slots[bt_home(h, cap)], 1, 3);
}

void rs_blocktable_prefetch(rs_blocktable_t *t, uint64_t addr)
{
    uint64_t h = bt_hash(addr);
    bt_prefetch_home(bt_shard(t, h), h);
}

/* Finds addr in the shard: its slot index in *slot, or its wide index in
 * *wide (the other UINT32_MAX); 0 when absent.  Lock held. */
static inline int bt_locate(const bt_shard_t *s, uint64_t h, uint64_t addr,
                            uint32_t *slot, uint32_t *wide)
{
    *slot = bt_find(s, h, addr);
    *wide = UINT32_MAX;
    if (*slot != UINT32_MAX)
        return 1;
    if (RS_UNLIKELY(s->n_wide != 0))
        *wide = wide_find(s, addr);
    return *wide != UINT32_MAX;
}

/* Hot path (free): like insert - hash, lock, short probe, then a backward
 * shift that touches only the rest of the probe run (usually 0-2 slots). */
int rs_blocktable_remove(rs_blocktable_t *t, uint64_t addr, rs_block_t *out)
{
    if (RS_UNLIKELY(addr == 0))
        return 0;
    uint64_t h = bt_hash(addr);
    bt_shard_t *s = bt_shard(t, h);
    uint32_t i, w;

    /* The slot usually misses the cache; the locked instruction below
     * holds back every later load, not a prefetch issued before it. */
    bt_prefetch_home(s, h);
    rs_lock(&s->lock);
    int found = bt_locate(s, h, addr, &i, &w);
    if (i != UINT32_MAX) {
        if (out)
            bt_unpack(&s->slots[i], out);
        bt_delete_at(s, i);
    } else if (found) {
        if (out)
            *out = s->wide[w];
        wide_delete_at(s, w);
    }
    if (found)
        bt_publish_count(s);
    rs_unlock(&s->lock);
    return found;
}

int rs_blocktable_lookup(rs_blocktable_t *t, uint64_t addr, rs_block_t *out)
{
    if (addr == 0)
        return 0;
    uint64_t h = bt_hash(addr);
    bt_shard_t *s = bt_shard(t, h);
    uint32_t i, w;

    rs_lock(&s->lock);
    int found = bt_locate(s, h, addr, &i, &w);
    if (found && out) {
        if (i != UINT32_MAX)
            bt_unpack(&s->slots[i], out);
        else
            *out = s->wide[w];
    }
    rs_unlock(&s->lock);
    return found;
}

uint64_t rs_blocktable_count(rs_blocktable_t *t)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < BT_SHARDS; i++)
        n += atomic_load_explicit(&t->shards[i].s.count, memory_order_relaxed);
    return n;
}

uint64_t rs_blocktable_bytes(rs_blocktable_t *t)
{
    return atomic_load_explicit(&t->bytes, memory_order_relaxed);
}

void rs_blocktable_foreach(rs_blocktable_t *t,
                           void (*fn)(const rs_block_t *b, void *arg), void *arg)
{
    for (unsigned i = 0; i < BT_SHARDS; i++) {
        bt_shard_t *s = &t->shards[i].s;
        rs_lock(&s->lock);
        for (uint32_t j = 0; j < s->cap; j++) {
            if (s->slots[j].w0 != 0) {
                rs_block_t b;
                bt_unpack(&s->slots[j], &b);
                fn(&b, arg);
            }
        }
        for (uint32_t j = 0; j < s->n_wide; j++)
            fn(&s->wide[j], arg);
        rs_unlock(&s->lock);
    }
}

void rs_blocktable_lock_all(rs_blocktable_t *t)
{
    for (unsigned i = 0; i < BT_SHARDS; i++)
        rs_lock(&t->shards[i].s.lock);
}

void rs_blocktable_unlock_all(rs_blocktable_t *t)
{
    for (unsigned i = BT_SHARDS; i-- > 0;)
        rs_unlock(&t->shards[i].s.lock);
}
