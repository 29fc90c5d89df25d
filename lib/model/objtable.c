/*
 * objtable.c - refcounted-object side table and type-name interning (see
 * objtable.h for the contract and the lock order).
 *
 * Each shard is an open-addressing hash table with linear probing, kept at
 * most half full, with backward-shift deletion (no tombstones), so a probe
 * ends at the first empty slot.  Address 0 marks an empty slot and is never
 * a key.  The shard is chosen by the top bits of a multiplicative hash of
 * the address, the slot by lower bits of the same hash.
 *
 * The type table is a growable array of names (id - 1 indexes it) plus an
 * open-addressing index of ids hashed by FNV-1a, under one mutex.
 */
#include "objtable.h"

#include "rs_lock.h"
#include "rs_mem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define SHARD_BITS 6
_Static_assert((1u << SHARD_BITS) == RS_OBJTABLE_SHARDS, "shard bits");

typedef struct shard {
    rs_lock_t       lock;
    uint32_t        cap;     /* power of two, or 0 before first insert */
    rs_obj_t       *slots;
    uint32_t        n;
} shard_t;

/* Each shard on a cache line of its own: threads working on different
 * shards do not share a line. */
typedef union shard_line {
    shard_t s;
    char    pad[64];
} shard_line_t;
_Static_assert(sizeof(shard_t) <= 64, "a shard fits a line");

/* A copy of a shard's slots and cap for rs_objtable_prefetch(), which
 * reads them without the lock: kept apart from the shard's line, which
 * every event writes (lock, n), so that a prefetch does not pull that
 * line away from the thread holding it (measured on bench_refs with 2
 * threads: the prefetch's read of the shard line was 20% of the time).
 * Written only when a shard grows. */
typedef struct shard_geometry {
    rs_obj_t *slots;
    uint32_t  cap;
} shard_geometry_t;

/* Allocated with 63 spare bytes and aligned by hand (rs_mem has no
 * aligned allocation), as the block registry does. */
struct rs_objtable {
    shard_line_t     shards[RS_OBJTABLE_SHARDS];
    shard_geometry_t geometry[RS_OBJTABLE_SHARDS];
    _Atomic uint64_t count;
    void            *raw;      /* what rs_mem returned */
};

static uint64_t hash_addr(uint64_t addr) { return addr * 0x9E3779B97F4A7C15ull; }

static shard_t *shard_of(rs_objtable_t *t, uint64_t addr)
{
    return &t->shards[hash_addr(addr) >> (64 - SHARD_BITS)].s;
}

static uint32_t home_slot(const shard_t *s, uint64_t addr)
{
    return (uint32_t)(hash_addr(addr) >> 20) & (s->cap - 1);
}

rs_objtable_t *rs_objtable_create(void)
{
    char *raw = rs_mem_calloc(1, sizeof(rs_objtable_t) + 63);
    if (!raw)
        return NULL;
    rs_objtable_t *t = (rs_objtable_t *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    t->raw = raw;
    for (int i = 0; i < RS_OBJTABLE_SHARDS; i++)
        rs_lock_init(&t->shards[i].s.lock);
    return t;
}

void rs_objtable_destroy(rs_objtable_t *t)
{
    if (!t)
        return;
    for (int i = 0; i < RS_OBJTABLE_SHARDS; i++) {
        shard_t *s = &t->shards[i].s;
        for (uint32_t k = 0; k < s->cap; k++)
            if (s->slots[k].addr)
                rs_refhist_free(&s->slots[k].hist);
        rs_mem_unmap(s->slots, (size_t)s->cap * sizeof *s->slots);
    }
    rs_mem_free(t->raw);
}

/* Index of addr in s, or -1.  Shard locked. */
static int64_t find(const shard_t *s, uint64_t addr)
{
    if (s->cap == 0)
        return -1;
    uint32_t mask = s->cap - 1;
    for (uint32_t i = home_slot(s, addr);; i = (i + 1) & mask) {
        if (s->slots[i].addr == addr)
            return i;
        if (s->slots[i].addr == 0)
            return -1;
    }
}

/* Places o (not present) into s, which has room.  Shard locked. */
static rs_obj_t *place(shard_t *s, const rs_obj_t *o)
{
    uint32_t mask = s->cap - 1, i = home_slot(s, o->addr);
    while (s->slots[i].addr)
        i = (i + 1) & mask;
    s->slots[i] = *o;
    s->n++;
    return &s->slots[i];
}

/* A shard's first capacity: a power of two, as many slots as one page
 * holds (what rs_mem_map gives at least). */
static uint32_t first_cap(void)
{
    uint32_t cap = 16;
    while (cap * 2 * sizeof(rs_obj_t) <= 4096)
        cap *= 2;
    return cap;
}

/* Makes room for one more entry in s, a shard of t (load <= 1/2).  -1 on
 * exhaustion.  The slots hold the objects' addresses: they are mapped
 * pages (rs_mem_map), never heap memory that the program's next blocks
 * would be carved from with those addresses still in it. */
static int reserve(rs_objtable_t *t, shard_t *s)
{
    shard_geometry_t *g = &t->geometry[(shard_line_t *)s - t->shards];
    if ((s->n + 1) * 2 <= s->cap)
        return 0;
    uint32_t cap = s->cap ? s->cap * 2 : first_cap();
    rs_obj_t *slots = rs_mem_map((size_t)cap * sizeof *slots);
    if (!slots)
        return -1;
    rs_obj_t *old = s->slots;
    uint32_t old_cap = s->cap;
    s->slots = slots;
    s->cap = cap;
    __atomic_store_n(&g->slots, slots, __ATOMIC_RELAXED);   /* for prefetch */
    __atomic_store_n(&g->cap, cap, __ATOMIC_RELAXED);
    s->n = 0;
    for (uint32_t i = 0; i < old_cap; i++)
        if (old[i].addr)
            place(s, &old[i]);
    rs_mem_unmap(old, (size_t)old_cap * sizeof *old);
    return 0;
}

/* Deletes slot i by shifting later members of its cluster back. */
static void delete_slot(shard_t *s, uint32_t i)
{
    uint32_t mask = s->cap - 1;
    for (uint32_t j = (i + 1) & mask; s->slots[j].addr; j = (j + 1) & mask) {
        uint32_t k = home_slot(s, s->slots[j].addr);
        /* The entry at j may move to the hole at i unless its home lies
         * cyclically in (i, j]. */
        int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            s->slots[i] = s->slots[j];
            i = j;
        }
    }
    memset(&s->slots[i], 0, sizeof s->slots[i]);
    s->n--;
}

static rs_obj_t make_obj(uint64_t addr, const rs_obj_info_t *info, int late)
{
    rs_obj_t o = { 0 };
    o.addr = addr;
    o.type_id = info->type_id;
    o.rc_offset = info->rc_offset;
    o.rc_width = info->rc_width;
    o.hook = info->hook;
    o.flags = (uint8_t)((info->rc_signed ? RS_OBJ_RC_SIGNED : 0) |
                        (info->rc_width ? 0 : RS_OBJ_RC_FROM_EVENTS) |
                        (late ? RS_OBJ_SEEN_LATE : 0));
    return o;
}

/* A ctor for a tracked object o starts a new life (the library recycled
 * it from a pool of released objects) rather than being a nested ctor. */
static int recycled(const rs_obj_t *o)
{
    return o->rc_width == 0 && o->event_count <= 0;
}

/* Ends o's hold (objtable.h, the annotation-order rule); *held (may be
 * NULL) gets the held decref: the last history event, or one with stack 0
 * when there is no history. */
static void end_hold(rs_obj_t *o, rs_ref_event_t *held)
{
    o->flags &= (uint8_t)~RS_OBJ_HELD;
    if (!held)
        return;
    const rs_refhist_t *h = &o->hist;
    if (h->n && h->events[h->n - 1].op == RS_REF_DECREF)
        *held = h->events[h->n - 1];
    else
        *held = (rs_ref_event_t){ .op = RS_REF_DECREF };
}

/* Finds or creates the entry for an event.  Shard locked.  *result gets
 * CREATED/UPDATED/DUP_CTOR/UNTRACKED/ERROR; returns the entry or NULL. */
static rs_obj_t *entry_for_event(rs_objtable_t *t, shard_t *s, uint64_t addr,
                                 const rs_obj_info_t *info, uint8_t op,
                                 rs_obj_result_t *result)
{
    int64_t i = find(s, addr);
    if (i >= 0) {
        *result = op == RS_REF_CTOR && !recycled(&s->slots[i]) ? RS_OBJ_DUP_CTOR
                                                               : RS_OBJ_UPDATED;
        return &s->slots[i];
    }
    if (op == RS_REF_DECREF || !info) {
        *result = RS_OBJ_UNTRACKED;
        return NULL;
    }
    if (reserve(t, s)) {
        *result = RS_OBJ_ERROR;
        return NULL;
    }
    rs_obj_t o = make_obj(addr, info, op != RS_REF_CTOR);
    atomic_fetch_add_explicit(&t->count, 1, memory_order_relaxed);
    *result = RS_OBJ_CREATED;
    return place(s, &o);
}

rs_obj_result_t rs_objtable_record(rs_objtable_t *t, uint64_t addr,
                                   const rs_obj_info_t *info,
                                   const rs_ref_event_t *ev,
                                   const rs_objtable_opts_t *opts, rs_obj_t *out)
{
    if (!t || !ev || addr == 0 || ev->op < RS_REF_CTOR || ev->op > RS_REF_DECREF)
        return RS_OBJ_UNTRACKED;
    shard_t *s = shard_of(t, addr);
    rs_obj_result_t result;
    rs_lock(&s->lock);
    rs_obj_t *o = entry_for_event(t, s, addr, info, ev->op, &result);
    if (opts && opts->ended)
        opts->ended->op = 0;
    if (o && result != RS_OBJ_DUP_CTOR) {
        if (o->flags & RS_OBJ_HELD)
            end_hold(o, opts ? opts->ended : NULL);
        o->event_count += ev->op == RS_REF_DECREF ? -1 : 1;
        if (ev->op == RS_REF_DECREF)
            o->flags |= RS_OBJ_LAST_DECREF;
        else
            o->flags &= (uint8_t)~RS_OBJ_LAST_DECREF;
        /* A held decref stays the log's last event: end_hold reads it. */
        int held = opts && opts->hold && ev->op == RS_REF_DECREF;
        if (opts && opts->history &&
            (held ? rs_refhist_append_kept : rs_refhist_append)(&o->hist, ev, opts->max_events,
                                                                 opts->stacks))
            result = RS_OBJ_ERROR;
        if (held)
            o->flags |= RS_OBJ_HELD;
    } else if (o && opts && opts->history &&
               rs_refhist_adopt_ctor(&o->hist, ev) == 1) {
        o->event_count++;             /* created inside this ctor call */
        o->flags &= (uint8_t)~RS_OBJ_SEEN_LATE;
    }
    if (o && out)
        *out = *o;
    rs_unlock(&s->lock);
    return result;
}

void rs_objtable_prefetch(rs_objtable_t *t, uint64_t addr, int history)
{
    if (!t)
        return;
    const shard_geometry_t *g = &t->geometry[hash_addr(addr) >> (64 - SHARD_BITS)];
    rs_obj_t *slots = __atomic_load_n(&g->slots, __ATOMIC_RELAXED);
    uint32_t cap = __atomic_load_n(&g->cap, __ATOMIC_RELAXED);
    if (!slots || !cap)
        return;
    /* Read without the lock: a stale slots/cap pair or a slot being
     * rewritten only makes the hint wrong; a prefetch never faults.  A
     * record may straddle two lines. */
    rs_obj_t *o = &slots[(uint32_t)(hash_addr(addr) >> 20) & (cap - 1)];
    if (!history) {
        __builtin_prefetch(o, 1, 3);
        __builtin_prefetch((const char *)(o + 1) - 1, 1, 3);
        return;
    }
    if (__atomic_load_n(&o->addr, __ATOMIC_RELAXED) == addr)
        rs_refhist_prefetch(&o->hist);
}

int rs_objtable_declare(rs_objtable_t *t, uint64_t addr, const rs_obj_info_t *info)
{
    if (!t || !info || addr == 0)
        return -1;
    shard_t *s = shard_of(t, addr);
    int rc;
    rs_lock(&s->lock);
    int64_t i = find(s, addr);
    if (i >= 0) {
        rs_obj_t *o = &s->slots[i];
        rs_obj_t fresh = make_obj(addr, info, 0);
        fresh.flags |= o->flags & (RS_OBJ_SEEN_LATE | RS_OBJ_HELD | RS_OBJ_LAST_DECREF);
        fresh.event_count = o->event_count;
        fresh.hist = o->hist;
        *o = fresh;
        rc = 0;
    } else if (reserve(t, s)) {
        rc = -1;
    } else {
        rs_obj_t o = make_obj(addr, info, 1);
        place(s, &o);
        atomic_fetch_add_explicit(&t->count, 1, memory_order_relaxed);
        rc = 1;
    }
    rs_unlock(&s->lock);
    return rc;
}

uint32_t rs_objtable_end_holds(rs_objtable_t *t, uint32_t max,
                               void (*fn)(const rs_obj_t *o, const rs_ref_event_t *held,
                                          void *arg),
                               void *arg)
{
    uint32_t n = 0;
    for (int i = 0; t && i < RS_OBJTABLE_SHARDS && n < max; i++) {
        shard_t *s = &t->shards[i].s;
        rs_lock(&s->lock);
        for (uint32_t k = 0; k < s->cap && n < max; k++) {
            rs_obj_t *o = &s->slots[k];
            if (!o->addr || !(o->flags & RS_OBJ_HELD))
                continue;
            rs_ref_event_t held;
            end_hold(o, &held);
            if (fn)
                fn(o, &held, arg);
            n++;
        }
        rs_unlock(&s->lock);
    }
    return n;
}

int rs_objtable_insert(rs_objtable_t *t, const rs_obj_t *o)
{
    if (!t || !o || o->addr == 0)
        return -1;
    shard_t *s = shard_of(t, o->addr);
    rs_refhist_t stale = { 0 };
    int rc;
    rs_lock(&s->lock);
    int64_t i = find(s, o->addr);
    if (i >= 0) {
        stale = s->slots[i].hist;
        s->slots[i] = *o;
        rc = 0;
    } else if (reserve(t, s)) {
        rc = -1;
    } else {
        place(s, o);
        atomic_fetch_add_explicit(&t->count, 1, memory_order_relaxed);
        rc = 1;
    }
    rs_unlock(&s->lock);
    if (stale.events != o->hist.events)
        rs_refhist_free(&stale);
    return rc;
}

int rs_objtable_remove(rs_objtable_t *t, uint64_t addr, rs_obj_t *out)
{
    if (!t || addr == 0 || atomic_load_explicit(&t->count, memory_order_relaxed) == 0)
        return 0;
    shard_t *s = shard_of(t, addr);
    rs_lock(&s->lock);
    int64_t i = find(s, addr);
    rs_obj_t o = { 0 };
    if (i >= 0) {
        o = s->slots[i];
        delete_slot(s, (uint32_t)i);
        atomic_fetch_sub_explicit(&t->count, 1, memory_order_relaxed);
    }
    rs_unlock(&s->lock);
    if (i < 0)
        return 0;
    if (out)
        *out = o;
    else
        rs_refhist_free(&o.hist);
    return 1;
}

int rs_objtable_lookup(rs_objtable_t *t, uint64_t addr, rs_obj_t *out)
{
    if (!t || addr == 0)
        return 0;
    shard_t *s = shard_of(t, addr);
    rs_lock(&s->lock);
    int64_t i = find(s, addr);
    if (i >= 0 && out)
        *out = s->slots[i];
    rs_unlock(&s->lock);
    return i >= 0;
}

uint64_t rs_objtable_count(const rs_objtable_t *t)
{
    return t ? atomic_load_explicit(&t->count, memory_order_relaxed) : 0;
}

uint64_t rs_objtable_bytes(rs_objtable_t *t)
{
    if (!t)
        return 0;
    uint64_t bytes = sizeof *t + 63;
    for (int i = 0; i < RS_OBJTABLE_SHARDS; i++) {
        shard_t *s = &t->shards[i].s;
        rs_lock(&s->lock);
        bytes += (uint64_t)s->cap * sizeof(rs_obj_t);
        for (uint32_t k = 0; k < s->cap; k++)
            if (s->slots[k].addr)
                bytes += rs_refhist_bytes(&s->slots[k].hist);
        rs_unlock(&s->lock);
    }
    return bytes;
}

void rs_objtable_foreach(rs_objtable_t *t,
                         void (*fn)(const rs_obj_t *o, void *arg), void *arg)
{
    for (int i = 0; t && i < RS_OBJTABLE_SHARDS; i++) {
        shard_t *s = &t->shards[i].s;
        rs_lock(&s->lock);
        for (uint32_t k = 0; k < s->cap; k++)
            if (s->slots[k].addr)
                fn(&s->slots[k], arg);
        rs_unlock(&s->lock);
    }
}

void rs_objtable_lock_all(rs_objtable_t *t)
{
    for (int i = 0; t && i < RS_OBJTABLE_SHARDS; i++)
        rs_lock(&t->shards[i].s.lock);
}

void rs_objtable_unlock_all(rs_objtable_t *t)
{
    for (int i = RS_OBJTABLE_SHARDS - 1; t && i >= 0; i--)
        rs_unlock(&t->shards[i].s.lock);
}

/* ---- type names ------------------------------------------------------------ */

struct rs_typetable {
    pthread_mutex_t lock;
    char          **names;     /* names[id - 1]                              */
    uint32_t        n, cap;
    uint32_t       *index;     /* open addressing: id, 0 = empty             */
    uint32_t        index_cap; /* power of two, >= 2 * n                     */
};

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

rs_typetable_t *rs_typetable_create(void)
{
    rs_typetable_t *tt = rs_mem_calloc(1, sizeof *tt);
    if (tt)
        pthread_mutex_init(&tt->lock, NULL);
    return tt;
}

void rs_typetable_destroy(rs_typetable_t *tt)
{
    if (!tt)
        return;
    for (uint32_t i = 0; i < tt->n; i++)
        rs_mem_free(tt->names[i]);
    rs_mem_free(tt->names);
    rs_mem_free(tt->index);
    pthread_mutex_destroy(&tt->lock);
    rs_mem_free(tt);
}

/* Index slot holding name, or the empty slot where it belongs. */
static uint32_t type_slot(const rs_typetable_t *tt, const char *name)
{
    uint32_t mask = tt->index_cap - 1;
    for (uint32_t i = hash_name(name) & mask;; i = (i + 1) & mask) {
        uint32_t id = tt->index[i];
        if (id == 0 || strcmp(tt->names[id - 1], name) == 0)
            return i;
    }
}

/* Ensures room for one more name in names[] and the index. */
static int type_reserve(rs_typetable_t *tt)
{
    if (tt->n == tt->cap) {
        uint32_t cap = tt->cap ? tt->cap * 2 : 16;
        char **names = rs_mem_realloc(tt->names, cap * sizeof *names);
        if (!names)
            return -1;
        tt->names = names;
        tt->cap = cap;
    }
    if ((tt->n + 1) * 2 <= tt->index_cap)
        return 0;
    uint32_t icap = tt->index_cap ? tt->index_cap * 2 : 32;
    uint32_t *index = rs_mem_calloc(icap, sizeof *index);
    if (!index)
        return -1;
    rs_mem_free(tt->index);
    tt->index = index;
    tt->index_cap = icap;
    for (uint32_t id = 1; id <= tt->n; id++)
        tt->index[type_slot(tt, tt->names[id - 1])] = id;
    return 0;
}

uint32_t rs_typetable_intern(rs_typetable_t *tt, const char *name)
{
    if (!tt || !name || !*name)
        return 0;
    uint32_t id = 0;
    pthread_mutex_lock(&tt->lock);
    if (tt->index_cap && (id = tt->index[type_slot(tt, name)]) != 0)
        goto out;
    char *copy = NULL;
    if (type_reserve(tt) || !(copy = rs_mem_strdup(name)))
        goto out;
    tt->names[tt->n++] = copy;
    id = tt->n;
    tt->index[type_slot(tt, name)] = id;
out:
    pthread_mutex_unlock(&tt->lock);
    return id;
}

const char *rs_typetable_name(rs_typetable_t *tt, uint32_t id)
{
    if (!tt || id == 0)
        return NULL;
    pthread_mutex_lock(&tt->lock);
    const char *name = id <= tt->n ? tt->names[id - 1] : NULL;
    pthread_mutex_unlock(&tt->lock);
    return name;
}

uint32_t rs_typetable_count(rs_typetable_t *tt)
{
    if (!tt)
        return 0;
    pthread_mutex_lock(&tt->lock);
    uint32_t n = tt->n;
    pthread_mutex_unlock(&tt->lock);
    return n;
}
