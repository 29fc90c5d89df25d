/*
 * stackdepot.c - interned call stacks (see stackdepot.h).
 *
 * How it works.  A stack (frames + module epoch) hashes to one of the
 * buckets of the current table; each bucket is a singly linked,
 * prepend-only list of immutable nodes whose head is an atomic pointer.
 * Looking up a stack that is already interned is lock-free: one acquire
 * load of the table, one of the bucket head and a walk comparing hashes.
 * Inserting takes the lock of the stack's shard (hash % SD_SHARDS, the
 * same in both tables), walks the list again (another thread may have
 * won), carves the node from the arena (its own lock, taken inside a
 * shard's), takes the next id from an atomic counter, publishes the node
 * in the id index, and finally release-stores it as the new head.
 *
 * Two tables.  The first has SD_SMALL_BUCKETS buckets (32 KiB, 8 pages);
 * once SD_GROW_AT stacks are interned, the thread that interned that one
 * takes every shard lock, links every node into a table of SD_BIG_BUCKETS
 * (512 KiB) through its second link (next_big, written then, before the
 * table is published) and makes it current with a release store.  Readers
 * still in the small table keep walking its lists, which never change
 * again; an insert that finds the table changed under its shard lock
 * searches the new one.  Why: a short program interns a few hundred
 * stacks, which hashed into a 512 KiB table from the start touched 120 of
 * its pages, and 64 shard arenas another 64 (bash -c true: 184 page
 * faults, 10 us each on the VM of the benchmarks); now 8 and 1.
 *
 * The id index maps id -> node without locks: a fixed top-level array of
 * SD_TOP atomic pointers to leaves of SD_LEAF atomic node pointers.  A
 * missing leaf is allocated by whoever needs it and installed by CAS (the
 * loser frees its copy).  Ids are therefore limited to SD_TOP * SD_LEAF - 1
 * (2^28 - 1); past that, intern returns 0.  Each shard's arena grows in
 * chunks that double from SD_CHUNK_MIN to SD_CHUNK_MAX.  Chunks and
 * leaves are mapped pages (rs_mem_map), not malloc memory: interning runs
 * on allocation paths, also inside a program's signal handler that
 * interrupted glibc's malloc with its lock held, where a malloc of
 * refscope's own would wait forever (samples/signal_malloc.c).
 *
 * In front of the buckets, a small two-way set-associative cache of
 * recently interned stacks: a key from four sampled frames (and n, epoch)
 * picks a set of two words, each a 16-bit tag and the address of a
 * published node; a hit is confirmed by comparing the node's epoch and
 * every frame, so a stale or colliding entry only costs a miss (a word
 * is one atomic, never torn).  Words are acquire/release atomics shared
 * by all threads (plain moves on x86): hits only read them, a miss
 * writes its set.  Callgrind on bench_alloc: 190 instructions per intern
 * without it (hashing 20-odd frames, the bucket walk, the memcmp), 130
 * with a cache of ids (each hit looked up in the id index, and a key of
 * five multiplies), 105 with the nodes themselves cached (a memcmp of
 * 20-odd frames is 28 of those: cheaper than an inline loop).
 *
 * Invariants:
 *  - A node is never modified or freed after it is published (until
 *    rs_stackdepot_destroy), so readers need no lock and pointers handed
 *    out by rs_stackdepot_get stay valid - but for its link of the big
 *    table, written once while every shard lock is held and before any
 *    reader can reach the big table.
 *  - Every node reachable from a bucket head is also in the id index, and
 *    every id returned by intern can be found by get - except when the
 *    allocation of an index leaf failed (memory exhausted): that node is
 *    still interned under its id, but get() says it is unknown.
 *  - Ids are dense: an id is taken only after the shard lock proved the
 *    stack new, and an id is never abandoned (short of the 2^28 limit).
 *
 * rs_stackdepot_count returns the last id handed out; while another thread
 * is between taking an id and publishing it, get() of that id may still
 * say unknown (it is exact when no insert is in flight).
 *
 * Locking: a shard lock is held with nothing else but the arena's lock,
 * taken inside it, and the rs_mem backend's own locks.  lock_all (fork,
 * and the move to the big table) takes all shard locks in index order,
 * then the arena's; unlock_all releases them in reverse.
 */
#include "stackdepot.h"

#include "rs_likely.h"
#include "rs_mem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define SD_SMALL_BUCKETS (1u << 12)
#define SD_BIG_BUCKETS   (1u << 16)
/* Stacks interned when the big table takes over: half a stack a bucket
 * in the small one, so that a lookup there walks 1.25 nodes on average
 * (each a cache miss), not 2 as at 8,192.  Short programs stay below it
 * (cmake --version: 937 stacks, python3 -c pass: 483). */
#define SD_GROW_AT       (SD_SMALL_BUCKETS / 2)
#define SD_SHARDS  64u
#define SD_LEAF_BITS 14
#define SD_LEAF    (1u << SD_LEAF_BITS)
#define SD_TOP     (1u << 14)
#define SD_MAX_ID  (SD_TOP * SD_LEAF - 1u)
/* Arena chunks start small and double up to SD_CHUNK_MAX, so a program
 * with few stacks pays little (measured on bench_alloc, 47 stacks, when
 * each of 64 shards had a 64 KiB arena: 3.3 MiB of depot, 33 bytes per
 * live block). */
#define SD_CACHE_SET_BITS 8                  /* 256 sets x 2 ways, 4 KiB */
#define SD_CACHE_PTR_BITS 48                 /* a word: 16-bit tag, node */
#define SD_CACHE_PTR_MASK ((1ull << SD_CACHE_PTR_BITS) - 1)
#define SD_CHUNK_MIN (4u * 1024u)             /* a page: chunks are mapped */
#define SD_CHUNK_MAX (64u * 1024u)

typedef struct sd_node {
    struct sd_node *next;     /* the small table's list: immutable once
                                 published                                  */
    struct sd_node *next_big; /* the big table's: written once, before that
                                 table is published (grow_table)            */
    uint64_t hash;
    uint32_t id;
    uint32_t epoch;
    uint32_t n_frames;
    uint32_t pad;
    uint64_t pcs[];
} sd_node_t;

typedef _Atomic(sd_node_t *) sd_slot_t;

/* One arena chunk: a link for destroy, then node storage. */
typedef struct sd_chunk {
    struct sd_chunk *next;
    uint64_t bytes;            /* mapped size, this header included */
    uint64_t data[];
} sd_chunk_t;

typedef struct sd_shard {
    pthread_mutex_t lock;
    char        pad[64];      /* keep shard locks on separate lines        */
} sd_shard_t;

/* A bucket table: mask + 1 heads, walked by next or (big) next_big. */
typedef struct sd_table {
    sd_slot_t *buckets;
    uint32_t   mask;
    int        big;
} sd_table_t;

/* Node storage: chunks that double from SD_CHUNK_MIN to SD_CHUNK_MAX,
 * under its own lock (taken inside a shard lock). */
typedef struct sd_arena {
    pthread_mutex_t lock;
    sd_chunk_t *chunks;       /* newest first                              */
    char       *cur;          /* free space in chunks                      */
    size_t      left;
    size_t      next_chunk;   /* size of the next chunk, 0 = SD_CHUNK_MIN  */
} sd_arena_t;

/* A cache word: tag << 48 | node address (user-space addresses fit 48
 * bits); 0 is empty. */
typedef _Atomic uint64_t sd_cache_word_t;

struct rs_stackdepot {
    sd_cache_word_t     cache[1u << SD_CACHE_SET_BITS][2];   /* way 0 newest */
    sd_table_t          small, big;         /* big.buckets NULL until used */
    _Atomic(const sd_table_t *) table;      /* the current one            */
    sd_arena_t          arena;
    _Atomic(sd_slot_t *) *top;              /* SD_TOP leaves              */
    atomic_uint         next_id;            /* last id handed out         */
    atomic_uint_fast64_t bytes;
    sd_shard_t          shards[SD_SHARDS];
};

static inline uint64_t mix(uint64_t h, uint64_t pc)
{
    h = (h ^ pc) * 0xff51afd7ed558ccdull;
    return h ^ (h >> 32);
}

static inline uint64_t rotl(uint64_t x, int r) { return x << r | x >> (64 - r); }

/* Four independent lanes (frame i goes to lane i % 4), so the multiplies
 * of consecutive frames overlap: about 1.5 cycles per frame instead of 5
 * for one dependent chain (perf on bench_alloc: the single chain was 80%
 * of intern's time).  Order matters within a lane (mix is not
 * commutative) and lanes are rotated apart before they are combined. */
static uint64_t hash_stack(const uint64_t *pcs, uint32_t n, uint32_t epoch)
{
    uint64_t a = 0x9E3779B97F4A7C15ull ^ ((uint64_t)epoch << 32 | n);
    uint64_t b = 0xbf58476d1ce4e5b9ull, c = 0x94d049bb133111ebull;
    uint64_t d = 0x2545f4914f6cdd1dull;
    uint32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        a = mix(a, pcs[i]);
        b = mix(b, pcs[i + 1]);
        c = mix(c, pcs[i + 2]);
        d = mix(d, pcs[i + 3]);
    }
    for (; i < n; i++)
        a = mix(a, pcs[i]);
    uint64_t h = a ^ rotl(b, 16) ^ rotl(c, 32) ^ rotl(d, 48);
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

static int node_matches(const sd_node_t *s, uint64_t h, const uint64_t *pcs,
                        uint32_t n, uint32_t epoch)
{
    return s->hash == h && s->n_frames == n && s->epoch == epoch &&
           (n == 0 || memcmp(s->pcs, pcs, n * sizeof *pcs) == 0);
}

/* Walks one bucket list from `head`; stops at `stop` (exclusive). */
/* Walks one bucket list of table t from `head`; stops at `stop`
 * (exclusive). */
static sd_node_t *find_in_list(const sd_table_t *t, sd_node_t *head, const sd_node_t *stop,
                               uint64_t h, const uint64_t *pcs, uint32_t n,
                               uint32_t epoch)
{
    for (sd_node_t *s = head; s != stop; s = t->big ? s->next_big : s->next)
        if (node_matches(s, h, pcs, n, epoch))
            return s;
    return NULL;
}

static inline sd_slot_t *bucket_of(const sd_table_t *t, uint64_t h)
{
    return &t->buckets[h & t->mask];
}

rs_stackdepot_t *rs_stackdepot_create(void)
{
    rs_stackdepot_t *d = rs_mem_calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->small = (sd_table_t){rs_mem_calloc(SD_SMALL_BUCKETS, sizeof(sd_slot_t)),
                            SD_SMALL_BUCKETS - 1, 0};
    d->top = rs_mem_calloc(SD_TOP, sizeof *d->top);
    if (!d->small.buckets || !d->top) {
        rs_mem_free(d->small.buckets);
        rs_mem_free(d->top);
        rs_mem_free(d);
        return NULL;
    }
    atomic_init(&d->table, &d->small);
    for (unsigned i = 0; i < SD_SHARDS; i++)
        pthread_mutex_init(&d->shards[i].lock, NULL);
    pthread_mutex_init(&d->arena.lock, NULL);
    atomic_init(&d->next_id, 0);
    atomic_init(&d->bytes, sizeof *d + SD_SMALL_BUCKETS * sizeof(sd_slot_t) +
                               SD_TOP * sizeof *d->top);
    return d;
}

void rs_stackdepot_destroy(rs_stackdepot_t *d)
{
    if (!d)
        return;
    for (sd_chunk_t *c = d->arena.chunks, *next; c; c = next) {
        next = c->next;
        rs_mem_unmap(c, c->bytes);
    }
    pthread_mutex_destroy(&d->arena.lock);
    for (unsigned i = 0; i < SD_SHARDS; i++)
        pthread_mutex_destroy(&d->shards[i].lock);
    for (unsigned i = 0; i < SD_TOP; i++)
        rs_mem_unmap(atomic_load_explicit(&d->top[i], memory_order_relaxed),
                     SD_LEAF * sizeof(sd_slot_t));
    rs_mem_free(d->top);
    rs_mem_free(d->small.buckets);
    rs_mem_unmap(d->big.buckets, SD_BIG_BUCKETS * sizeof(sd_slot_t));
    rs_mem_free(d);
}

/* Bump allocation from the arena (caller holds a shard lock).  NULL when
 * memory is exhausted. */
static void *arena_alloc(rs_stackdepot_t *d, size_t size)
{
    sd_arena_t *sh = &d->arena;
    void *p = NULL;
    size = (size + 7) & ~(size_t)7;
    pthread_mutex_lock(&sh->lock);
    if (sh->left < size) {
        size_t bytes = sh->next_chunk ? sh->next_chunk : SD_CHUNK_MIN;
        if (bytes < sizeof(sd_chunk_t) + size)
            bytes = (sizeof(sd_chunk_t) + size + 4095) & ~(size_t)4095;  /* a deep stack */
        sd_chunk_t *c = rs_mem_map(bytes);
        if (!c)
            goto out;
        c->bytes = bytes;
        c->next = sh->chunks;
        sh->chunks = c;
        sh->cur = (char *)c->data;
        sh->left = bytes - sizeof *c;
        sh->next_chunk = bytes * 2 < SD_CHUNK_MAX ? bytes * 2 : SD_CHUNK_MAX;
        atomic_fetch_add_explicit(&d->bytes, bytes, memory_order_relaxed);
    }
    p = sh->cur;
    sh->cur += size;
    sh->left -= size;
out:
    pthread_mutex_unlock(&sh->lock);
    return p;
}

/* The leaf of the id index holding `id`, allocated if missing; NULL when
 * memory is exhausted. */
static sd_slot_t *index_leaf(rs_stackdepot_t *d, uint32_t id)
{
    if ((id >> SD_LEAF_BITS) >= SD_TOP)
        return NULL; /* concurrent inserts overshot SD_MAX_ID */
    _Atomic(sd_slot_t *) *top = &d->top[id >> SD_LEAF_BITS];
    sd_slot_t *leaf = atomic_load_explicit(top, memory_order_acquire);
    if (leaf)
        return leaf;
    sd_slot_t *fresh = rs_mem_map(SD_LEAF * sizeof *fresh);
    if (!fresh)
        return NULL;
    sd_slot_t *expected = NULL;
    if (atomic_compare_exchange_strong_explicit(top, &expected, fresh,
                                                memory_order_acq_rel,
                                                memory_order_acquire)) {
        atomic_fetch_add_explicit(&d->bytes, SD_LEAF * sizeof *fresh,
                                  memory_order_relaxed);
        return fresh;
    }
    rs_mem_unmap(fresh, SD_LEAF * sizeof *fresh);
    return expected;
}

/* The stack was not found lock-free in table `seen_in` (its list from
 * `seen` on searched): adds it under the shard lock, searching again in
 * the current table (all of the list when the table changed meanwhile).
 * Returns its node, NULL on exhaustion. */
static sd_node_t *
insert_locked(rs_stackdepot_t *d, const sd_table_t *seen_in, sd_node_t *seen, uint64_t h,
              const uint64_t *pcs, uint32_t n, uint32_t epoch)
{
    sd_shard_t *sh = &d->shards[h % SD_SHARDS];

    pthread_mutex_lock(&sh->lock);
    const sd_table_t *t = atomic_load_explicit(&d->table, memory_order_acquire);
    if (t != seen_in)
        seen = NULL;
    sd_slot_t *bucket = bucket_of(t, h);
    sd_node_t *head = atomic_load_explicit(bucket, memory_order_acquire);
    sd_node_t *s = find_in_list(t, head, seen, h, pcs, n, epoch);
    if (s)
        goto out;
    if (atomic_load_explicit(&d->next_id, memory_order_relaxed) >= SD_MAX_ID)
        goto out;
    s = arena_alloc(d, sizeof *s + (size_t)n * sizeof *pcs);
    if (!s)
        goto out;
    s->next = t->big ? NULL : head;
    s->next_big = t->big ? head : NULL;
    s->hash = h;
    s->epoch = epoch;
    s->n_frames = n;
    s->pad = 0;
    if (n)
        memcpy(s->pcs, pcs, n * sizeof *pcs);
    uint32_t id = atomic_fetch_add_explicit(&d->next_id, 1, memory_order_relaxed) + 1;
    s->id = id;
    sd_slot_t *leaf = index_leaf(d, id);
    if (RS_LIKELY(leaf != NULL))
        atomic_store_explicit(&leaf[id & (SD_LEAF - 1)], s, memory_order_release);
    /* else: memory exhausted for the index leaf.  The id is still used (ids
     * stay dense) and interning keeps finding it; get() reports it
     * unknown (and the big table will not have it: it may be interned
     * again under another id). */
    atomic_store_explicit(bucket, s, memory_order_release);
out:
    pthread_mutex_unlock(&sh->lock);
    return s;
}

/* The node of id, or NULL when id is unknown; lock-free. */
static inline const sd_node_t *node_of(rs_stackdepot_t *d, uint32_t id)
{
    if (id > SD_MAX_ID)
        return NULL;
    sd_slot_t *leaf = atomic_load_explicit(&d->top[id >> SD_LEAF_BITS], memory_order_acquire);
    if (!leaf)
        return NULL;
    return atomic_load_explicit(&leaf[id & (SD_LEAF - 1)], memory_order_acquire);
}

/* Moves to the big table (see the top of the file), unless another
 * thread did or its memory cannot be had (then the small one stays).
 * Takes every shard lock, so no insert runs: every id handed out is in
 * the index (but those whose leaf failed). */
static __attribute__((noinline)) void grow_table(rs_stackdepot_t *d)
{
    rs_stackdepot_lock_all(d);
    if (atomic_load_explicit(&d->table, memory_order_relaxed) == &d->small) {
        sd_slot_t *big = rs_mem_map(SD_BIG_BUCKETS * sizeof *big);   /* zeroed */
        if (big) {
            uint32_t last = atomic_load_explicit(&d->next_id, memory_order_relaxed);
            d->big = (sd_table_t){big, SD_BIG_BUCKETS - 1, 1};
            for (uint32_t id = 1; id <= last; id++) {
                sd_node_t *s = (sd_node_t *)node_of(d, id);
                if (!s)
                    continue;
                sd_slot_t *b = bucket_of(&d->big, s->hash);
                s->next_big = atomic_load_explicit(b, memory_order_relaxed);
                atomic_store_explicit(b, s, memory_order_relaxed);
            }
            atomic_fetch_add_explicit(&d->bytes, SD_BIG_BUCKETS * sizeof *big,
                                      memory_order_relaxed);
            atomic_store_explicit(&d->table, &d->big, memory_order_release);
        }
    }
    rs_stackdepot_unlock_all(d);
}

/* The bucket lookup, then the insert if the stack is new: its node, NULL
 * on exhaustion. */
static sd_node_t *intern_uncached(rs_stackdepot_t *d, const uint64_t *pcs, uint32_t n,
                                  uint32_t epoch)
{
    uint64_t h = hash_stack(pcs, n, epoch);
    const sd_table_t *t = atomic_load_explicit(&d->table, memory_order_acquire);
    sd_node_t *head = atomic_load_explicit(bucket_of(t, h), memory_order_acquire);
    sd_node_t *s = find_in_list(t, head, NULL, h, pcs, n, epoch);
    if (RS_LIKELY(s != NULL))
        return s;
    s = insert_locked(d, t, head, h, pcs, n, epoch);
    if (RS_UNLIKELY(s && s->id == SD_GROW_AT))
        grow_table(d);
    return s;
}

/* The cache key: four frames (innermost two, middle, outermost), rotated
 * apart, the frame count and the epoch, then one multiply that spreads
 * every input bit into the top bits (set and tag come from there).
 * Stacks that differ only elsewhere share a key and evict each other
 * (misses, never wrong ids: hits compare every frame).  n >= 1.  About
 * 15 instructions; the former five-multiply key cost 30. */
static inline uint64_t cache_key(const uint64_t *pcs, uint32_t n, uint32_t epoch)
{
    uint64_t k = pcs[0] ^ rotl(pcs[n > 1], 16) ^ rotl(pcs[n / 2], 32) ^
                 rotl(pcs[n - 1], 48) ^ ((uint64_t)epoch << 40 | n);
    return k * 0x9E3779B97F4A7C15ull;
}

/* True when the frames a[0..n) and b[0..n) are equal.  memcmp (AVX2 in
 * glibc) beats a loop of 64-bit compares past a few frames. */
static inline int frames_equal(const uint64_t *a, const uint64_t *b, uint32_t n)
{
    return memcmp(a, b, n * sizeof *a) == 0;
}

/* The cache's set for key. */
static inline sd_cache_word_t *cache_set(rs_stackdepot_t *d, uint64_t key)
{
    return d->cache[key >> (64 - SD_CACHE_SET_BITS)];
}

/* The tag of key: the 16 bits below the set's. */
static inline uint64_t cache_tag(uint64_t key)
{
    return (key << SD_CACHE_SET_BITS) >> SD_CACHE_PTR_BITS;
}

/* The node of way w of key's set if its tag, frame count and epoch match
 * the stack's, else NULL.  A word is read once, so its tag and node
 * belong together; the node is published (immutable) before any word
 * names it. */
static inline const sd_node_t *cache_way(rs_stackdepot_t *d, uint64_t key, int w, uint32_t n,
                                         uint32_t epoch)
{
    uint64_t v = atomic_load_explicit(&cache_set(d, key)[w], memory_order_acquire);
    const sd_node_t *s = (const sd_node_t *)(uintptr_t)(v & SD_CACHE_PTR_MASK);
    if ((v >> SD_CACHE_PTR_BITS) == cache_tag(key) && s && s->n_frames == n &&
        s->epoch == epoch)
        return s;
    return NULL;
}

/* The node the cache offers first for the stack: the first way whose
 * header matches, or NULL.  The caller compares the frames once; when
 * both ways match but the first one's frames differ (stacks alike in
 * every sampled frame), intern_slow looks at the second. */
static inline const sd_node_t *cache_candidate(rs_stackdepot_t *d, uint64_t key,
                                               uint32_t n, uint32_t epoch)
{
    const sd_node_t *s = cache_way(d, key, 0, n, epoch);
    return s ? s : cache_way(d, key, 1, n, epoch);
}

/* Makes node s the newest entry of key's set (the other one moves to way
 * 1).  A node whose address does not fit the word is not cached. */
static inline void cache_fill(rs_stackdepot_t *d, uint64_t key, const sd_node_t *s)
{
    uint64_t p = (uint64_t)(uintptr_t)s;
    if (RS_UNLIKELY(p & ~SD_CACHE_PTR_MASK))
        return;
    sd_cache_word_t *set = cache_set(d, key);
    uint64_t newest = atomic_load_explicit(&set[0], memory_order_relaxed);
    atomic_store_explicit(&set[1], newest, memory_order_release);
    atomic_store_explicit(&set[0], cache_tag(key) << SD_CACHE_PTR_BITS | p,
                          memory_order_release);
}

/* The first cache candidate was no hit (cacheable: key is the stack's
 * cache key): the second way (its frames compared), then the buckets,
 * and the cache is filled.  Out of line, so that the hit path saves few
 * registers. */
static __attribute__((noinline)) uint32_t intern_slow(rs_stackdepot_t *d, const uint64_t *pcs,
                                                      uint32_t n, uint32_t epoch, int cacheable,
                                                      uint64_t key)
{
    if (cacheable) {
        const sd_node_t *c = cache_way(d, key, 1, n, epoch);
        if (c && frames_equal(c->pcs, pcs, n))
            return c->id;
    }
    sd_node_t *s = intern_uncached(d, pcs, n, epoch);
    if (!s)
        return 0;
    if (cacheable)
        cache_fill(d, key, s);
    return s->id;
}

/* Hot path on a cache hit: the key (one multiply), one line of the cache,
 * the node's header and a memcmp of the frames: about 75 instructions
 * plus the memcmp's 28 for 20-odd frames (callgrind, bench_alloc).
 * Otherwise: hash the frames (about 4 instructions per frame), one
 * acquire load, a short list walk with one compare per node until the
 * hash matches, one memcmp, and the cache's two stores.  No lock unless
 * the stack is new. */
uint32_t rs_stackdepot_intern(rs_stackdepot_t *d, const uint64_t *pcs,
                              uint32_t n, uint32_t epoch)
{
    if (RS_UNLIKELY(!d))
        return 0;
    if (RS_UNLIKELY(n - 1 >= RS_STACK_MAX_FRAMES)) {     /* 0, or too deep */
        if (n == 0)
            return intern_slow(d, pcs, 0, epoch, 0, 0);
        n = RS_STACK_MAX_FRAMES;
    }
    uint64_t key = cache_key(pcs, n, epoch);
    const sd_node_t *s = cache_candidate(d, key, n, epoch);
    if (RS_LIKELY(s != NULL) && RS_LIKELY(frames_equal(s->pcs, pcs, n)))
        return s->id;
    return intern_slow(d, pcs, n, epoch, 1, key);
}

uint32_t rs_stackdepot_count(const rs_stackdepot_t *d)
{
    if (!d)
        return 0;
    return atomic_load_explicit(&((rs_stackdepot_t *)d)->next_id,
                                memory_order_acquire);
}

int rs_stackdepot_get(const rs_stackdepot_t *d, uint32_t id, rs_stack_t *out)
{
    if (!d || id == 0)
        return -1;
    const sd_node_t *s = node_of((rs_stackdepot_t *)d, id);
    if (!s)
        return -1;
    out->epoch = s->epoch;
    out->n_frames = s->n_frames;
    out->pcs = s->pcs;
    return 0;
}

uint64_t rs_stackdepot_bytes(const rs_stackdepot_t *d)
{
    if (!d)
        return 0;
    return atomic_load_explicit(&((rs_stackdepot_t *)d)->bytes,
                                memory_order_relaxed);
}

void rs_stackdepot_lock_all(rs_stackdepot_t *d)
{
    if (!d)
        return;
    for (unsigned i = 0; i < SD_SHARDS; i++)
        pthread_mutex_lock(&d->shards[i].lock);
    pthread_mutex_lock(&d->arena.lock);
}

void rs_stackdepot_unlock_all(rs_stackdepot_t *d)
{
    if (!d)
        return;
    pthread_mutex_unlock(&d->arena.lock);
    for (unsigned i = SD_SHARDS; i-- > 0;)
        pthread_mutex_unlock(&d->shards[i].lock);
}
