/*
 * blocktable.c - the live-block map, keyed by address (see blocktable.h).
 *
 * How it works.  An address is hashed once (a multiply); the top 8 bits
 * pick one of BT_SHARDS shards, bits 24.. pick the home slot inside the
 * shard.  Each shard is an open-addressing table of rs_block_t (24 bytes,
 * the record itself, no extra header) with linear probing, guarded by its
 * own mutex.  addr == 0 marks an empty slot (no allocator returns 0, and
 * insert rejects it).  Deletion shifts the following entries of the probe
 * run backwards instead of leaving tombstones, so lookups never slow down
 * with churn.  A shard doubles when it would become more than 3/4 full.
 *
 * Invariants (per shard, while its lock is not held):
 *  - slots is NULL and mask == 0, or slots has mask + 1 (a power of two)
 *    entries of which count are used and at least one is empty.
 *  - Every used entry is reachable from its home slot by a probe that
 *    crosses no empty slot (backward-shift deletion keeps this).
 *  - No two used entries have the same addr.
 *
 * Locking: shard locks are leaves; nothing else in refscope is locked
 * while one is held except the rs_mem backend's allocator (on growth).
 * lock_all takes every shard lock in index order; unlock_all releases in
 * reverse.  count and bytes read per-shard atomics without locking; they
 * are exact when no insert or remove is in flight.
 *
 * Lock choice, measured (insert + remove of the same block in a loop,
 * 2-core machine): one thread, pthread spinlock 20 ns per pair, default
 * mutex 34 ns; four threads on two cores, spinlock 400-450 ns per pair and
 * thread, mutex 290-310 ns (a spinner burns its time slice when the holder
 * is preempted).  The target programs are multi-threaded and often have
 * more threads than cores, so the default mutex is used.
 */
#include "blocktable.h"

#include "rs_mem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define BT_SHARD_BITS 8
#define BT_SHARDS     (1u << BT_SHARD_BITS)
#define BT_MIN_CAP    16u
#define BT_MAX_CAP    (1u << 31)

#define RS_LIKELY(x)   __builtin_expect(!!(x), 1)
#define RS_UNLIKELY(x) __builtin_expect(!!(x), 0)

typedef struct bt_shard {
    pthread_mutex_t  lock;
    rs_block_t      *slots;
    uint32_t         mask;    /* capacity - 1, 0 when slots is NULL       */
    uint32_t         used;    /* entries in slots                          */
    atomic_uint      count;   /* == used, readable without the lock        */
    char             pad[64 - (sizeof(pthread_mutex_t) + sizeof(void *) +
                               3 * sizeof(uint32_t)) % 64];
} bt_shard_t;

_Static_assert(sizeof(rs_block_t) == 24, "24 bytes per live block");
_Static_assert(sizeof(bt_shard_t) % 64 == 0, "one cache line per shard");

/* Allocated with 63 spare bytes and aligned by hand (rs_mem has no aligned
 * allocation) so that every shard header has a cache line to itself. */
struct rs_blocktable {
    bt_shard_t           shards[BT_SHARDS];
    atomic_uint_fast64_t bytes;
    void                *raw;     /* what rs_mem returned                */
};

static inline uint64_t bt_hash(uint64_t addr)
{
    return (addr >> 4) * 0x9E3779B97F4A7C15ull;
}

static inline bt_shard_t *bt_shard(rs_blocktable_t *t, uint64_t h)
{
    return &t->shards[h >> (64 - BT_SHARD_BITS)];
}

static inline uint32_t bt_home(uint64_t h, uint32_t mask)
{
    return (uint32_t)(h >> 24) & mask;
}

rs_blocktable_t *rs_blocktable_create(void)
{
    char *raw = rs_mem_calloc(1, sizeof(rs_blocktable_t) + 63);
    if (!raw)
        return NULL;
    rs_blocktable_t *t = (rs_blocktable_t *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    t->raw = raw;
    for (unsigned i = 0; i < BT_SHARDS; i++) {
        pthread_mutex_init(&t->shards[i].lock, NULL);
        atomic_init(&t->shards[i].count, 0);
    }
    atomic_init(&t->bytes, sizeof *t + 63);
    return t;
}

void rs_blocktable_destroy(rs_blocktable_t *t)
{
    if (!t)
        return;
    for (unsigned i = 0; i < BT_SHARDS; i++) {
        rs_mem_free(t->shards[i].slots);
        pthread_mutex_destroy(&t->shards[i].lock);
    }
    rs_mem_free(t->raw);
}

/* Index of addr's slot in the shard, or UINT32_MAX; lock held. */
static inline uint32_t bt_find(const bt_shard_t *s, uint64_t h, uint64_t addr)
{
    if (RS_UNLIKELY(!s->slots))
        return UINT32_MAX;
    for (uint32_t i = bt_home(h, s->mask);; i = (i + 1) & s->mask) {
        uint64_t a = s->slots[i].addr;
        if (a == addr)
            return i;
        if (a == 0)
            return UINT32_MAX;
    }
}

/* Puts b in the first free slot of its probe run; b->addr is known to be
 * absent and a free slot to exist.  Lock held. */
static inline void bt_place(rs_block_t *slots, uint32_t mask, const rs_block_t *b)
{
    uint32_t i = bt_home(bt_hash(b->addr), mask);
    while (slots[i].addr != 0)
        i = (i + 1) & mask;
    slots[i] = *b;
}

/* Doubles the shard (or gives it its first array).  Returns 0, or -1 when
 * memory is exhausted (shard unchanged).  Lock held. */
static __attribute__((noinline)) int bt_grow(rs_blocktable_t *t, bt_shard_t *s)
{
    uint64_t old_cap = s->slots ? (uint64_t)s->mask + 1 : 0;
    uint64_t cap = old_cap ? old_cap * 2 : BT_MIN_CAP;
    if (cap > BT_MAX_CAP)
        return -1;
    rs_block_t *slots = rs_mem_calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (uint64_t i = 0; i < old_cap; i++)
        if (s->slots[i].addr != 0)
            bt_place(slots, (uint32_t)(cap - 1), &s->slots[i]);
    rs_mem_free(s->slots);
    s->slots = slots;
    s->mask = (uint32_t)(cap - 1);
    atomic_fetch_add_explicit(&t->bytes, (cap - old_cap) * sizeof *slots,
                              memory_order_relaxed);
    return 0;
}

/* Hot path (allocation): hash (shift + multiply), lock (one locked
 * cmpxchg), a probe that usually ends at the first or second slot (load
 * factor <= 3/4, 24-byte slots, one cache line), a 24-byte store, a
 * relaxed counter store, unlock.  Growth is the noinline slow path. */
int rs_blocktable_insert(rs_blocktable_t *t, const rs_block_t *b)
{
    if (RS_UNLIKELY(b->addr == 0))
        return -1;
    uint64_t h = bt_hash(b->addr);
    bt_shard_t *s = bt_shard(t, h);
    int rc = 0;

    pthread_mutex_lock(&s->lock);
    uint32_t i = bt_find(s, h, b->addr);
    if (i != UINT32_MAX) {
        s->slots[i] = *b;
        goto out;
    }
    uint64_t cap = s->slots ? (uint64_t)s->mask + 1 : 0;
    if (RS_UNLIKELY((uint64_t)s->used + 1 > cap - cap / 4)) {
        /* If growth fails, keep filling while one slot stays empty. */
        if (bt_grow(t, s) != 0 && (uint64_t)s->used + 1 >= cap) {
            rc = -1;
            goto out;
        }
    }
    bt_place(s->slots, s->mask, b);
    s->used++;
    atomic_store_explicit(&s->count, s->used, memory_order_relaxed);
out:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Removes slot i by shifting the rest of its probe run back.  Lock held. */
static void bt_delete_at(bt_shard_t *s, uint32_t i)
{
    uint32_t mask = s->mask;
    for (uint32_t j = (i + 1) & mask; s->slots[j].addr != 0; j = (j + 1) & mask) {
        uint32_t k = bt_home(bt_hash(s->slots[j].addr), mask);
        /* The entry at j may move to i unless its home k lies cyclically
         * in (i, j]: then the hole at i is not on its probe path. */
        int stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            s->slots[i] = s->slots[j];
            i = j;
        }
    }
    memset(&s->slots[i], 0, sizeof s->slots[i]);
}

/* Hot path (free): like insert - hash, lock, short probe, then a backward
 * shift that touches only the rest of the probe run (usually 0-2 slots). */
int rs_blocktable_remove(rs_blocktable_t *t, uint64_t addr, rs_block_t *out)
{
    if (RS_UNLIKELY(addr == 0))
        return 0;
    uint64_t h = bt_hash(addr);
    bt_shard_t *s = bt_shard(t, h);

    pthread_mutex_lock(&s->lock);
    uint32_t i = bt_find(s, h, addr);
    if (i != UINT32_MAX) {
        if (out)
            *out = s->slots[i];
        bt_delete_at(s, i);
        s->used--;
        atomic_store_explicit(&s->count, s->used, memory_order_relaxed);
    }
    pthread_mutex_unlock(&s->lock);
    return i != UINT32_MAX;
}

int rs_blocktable_lookup(rs_blocktable_t *t, uint64_t addr, rs_block_t *out)
{
    if (addr == 0)
        return 0;
    uint64_t h = bt_hash(addr);
    bt_shard_t *s = bt_shard(t, h);

    pthread_mutex_lock(&s->lock);
    uint32_t i = bt_find(s, h, addr);
    if (i != UINT32_MAX && out)
        *out = s->slots[i];
    pthread_mutex_unlock(&s->lock);
    return i != UINT32_MAX;
}

uint64_t rs_blocktable_count(rs_blocktable_t *t)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < BT_SHARDS; i++)
        n += atomic_load_explicit(&t->shards[i].count, memory_order_relaxed);
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
        bt_shard_t *s = &t->shards[i];
        pthread_mutex_lock(&s->lock);
        if (s->slots)
            for (uint64_t j = 0; j <= s->mask; j++)
                if (s->slots[j].addr != 0)
                    fn(&s->slots[j], arg);
        pthread_mutex_unlock(&s->lock);
    }
}

void rs_blocktable_lock_all(rs_blocktable_t *t)
{
    for (unsigned i = 0; i < BT_SHARDS; i++)
        pthread_mutex_lock(&t->shards[i].lock);
}

void rs_blocktable_unlock_all(rs_blocktable_t *t)
{
    for (unsigned i = BT_SHARDS; i-- > 0;)
        pthread_mutex_unlock(&t->shards[i].lock);
}
