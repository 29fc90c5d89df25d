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
 * Events on a known object take no shard lock (the fast path): the
 * shard's lock word, written by every event, was a cache line that moved
 * between the cores of threads working on different objects of one shard
 * (bench_refs with 2 threads: 50 ns a call).  Instead:
 *  - each record has a hold bit (OBJ_BUSY in its flags byte, never shown
 *    to callers): the thread that sets it with a compare-and-swap owns the
 *    record until it clears it; the line is the record's own, which the
 *    event writes anyway;
 *  - each shard has a layout sequence (layout_t.seq, a line of its own
 *    with the slots pointer and capacity): even while no record moves,
 *    odd while a writer (holding the shard lock) may move, place or
 *    remove records.  The fast path reads the sequence, probes without a
 *    lock, sets the record's bit, and reads the sequence again: unchanged
 *    (and the record still its object), the record is its own; else it
 *    clears the bit and takes the slow path (the shard lock).  The writer
 *    makes the sequence odd, then (a full fence) holds the bit of every
 *    record it touches, so either it sees a fast path's bit or the fast
 *    path sees the sequence move (seq_cst on both sides);
 *  - every writer holds a record before it changes it, including the
 *    empty slot where it places one (a fast path that found its object
 *    in a slot a deletion then emptied may hold the empty slot a moment),
 *    and writes a placed record with the bit set;
 *  - a bit set by a fast path that then backs off is transient: it changes
 *    nothing else and is cleared at once.  Whatever reads records with the
 *    world stopped (foreach) clears bits rather than wait: a stopped
 *    thread may hold a transient one, never a real one (lock_all waits for
 *    those with the layouts odd, so no fast path can begin meanwhile); a
 *    fork child clears the ones left by threads it does not have;
 *  - a slot array a shard grew out of is never unmapped while the table
 *    lives (a fast path may still be probing it): its pages are given
 *    back (rs_mem_discard; reading them gives zeros: not found) and the
 *    mapping kept on the shard's retired list.
 * The slow path (new objects, removal, declare, insert, lookup, the
 * holds, the byte count) takes the shard lock as before.  bench_refs, per
 * call: 1 thread unchanged (one compare-and-swap and a plain store instead
 * of the lock's two locked instructions, plus the sequence's loads), 2
 * threads 152 -> 105 ns.
 *
 * The type table is a growable array of names (id - 1 indexes it) plus an
 * open-addressing index of ids hashed by FNV-1a, under one mutex.
 */
#include "objtable.h"

#include "rs_likely.h"
#include "rs_lock.h"
#include "rs_mem.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#define SHARD_BITS 6
_Static_assert((1u << SHARD_BITS) == RS_OBJTABLE_SHARDS, "shard bits");

/* A slot array a shard grew out of, kept mapped until the table goes
 * (fast paths may still read it). */
typedef struct retired {
    struct retired *next;
    rs_obj_t       *slots;
    size_t          bytes;
} retired_t;

typedef struct shard {
    rs_lock_t       lock;
    uint32_t        cap;     /* power of two, or 0 before first insert */
    rs_obj_t       *slots;
    uint32_t        n;
    retired_t      *retired; /* shard lock */
} shard_t;

/* Each shard on a cache line of its own: threads working on different
 * shards do not share a line. */
typedef union shard_line {
    shard_t s;
    char    pad[64];
} shard_line_t;
_Static_assert(sizeof(shard_t) <= 64, "a shard fits a line");

/* What the lock-free readers (the fast path, rs_objtable_prefetch) read of
 * a shard, on a line of its own, apart from the shard's line, which every
 * slow path writes (lock, n) (measured on bench_refs with 2 threads: the
 * prefetch's read of the shard line was 20% of the time).  slots and cap
 * are written with seq odd; seq is written by the shard lock's holder. */
typedef union layout {
    struct {
        rs_obj_t        *slots;
        uint32_t         cap;
        _Atomic uint32_t seq;
    } l;
    char pad[64];
} layout_t;

/* Allocated with 63 spare bytes and aligned by hand (rs_mem has no
 * aligned allocation), as the block registry does. */
struct rs_objtable {
    shard_line_t     shards[RS_OBJTABLE_SHARDS];
    layout_t         layouts[RS_OBJTABLE_SHARDS];
    _Atomic uint64_t count;
    void            *raw;      /* what rs_mem returned */
};

/* The record's hold bit, in its flags byte (objtable.h's flags use the
 * low bits). */
#define OBJ_BUSY 0x80u
_Static_assert(((RS_OBJ_RC_SIGNED | RS_OBJ_RC_FROM_EVENTS | RS_OBJ_SEEN_LATE | RS_OBJ_HELD |
                 RS_OBJ_LAST_DECREF) & OBJ_BUSY) == 0, "the hold bit is free");

static uint64_t hash_addr(uint64_t addr) { return addr * 0x9E3779B97F4A7C15ull; }

static shard_t *shard_of(rs_objtable_t *t, uint64_t addr)
{
    return &t->shards[hash_addr(addr) >> (64 - SHARD_BITS)].s;
}

static uint32_t home_slot(const shard_t *s, uint64_t addr)
{
    return (uint32_t)(hash_addr(addr) >> 20) & (s->cap - 1);
}

static layout_t *layout_of(rs_objtable_t *t, const shard_t *s)
{
    return &t->layouts[(const shard_line_t *)s - t->shards];
}

/* ---- record holds and layout changes (see the top of the file) -------- */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static int try_hold(rs_obj_t *o)
{
    uint8_t f = __atomic_load_n(&o->flags, __ATOMIC_RELAXED);
    return !(f & OBJ_BUSY) &&
           __atomic_compare_exchange_n(&o->flags, &f, (uint8_t)(f | OBJ_BUSY), 0,
                                       __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
}

/* Waits a moment for another thread: spins, and yields once it has spun
 * a while (the holder may have been preempted). */
static void wait_a_moment(uint32_t *spins)
{
    if (++*spins < 128)
        cpu_relax();
    else
        sched_yield();
}

/* Slow paths, world running: a holder is a running event or a fast path
 * backing off, both a few hundred instructions from clearing it. */
static void hold(rs_obj_t *o)
{
    uint32_t spins = 0;
    while (!try_hold(o))
        wait_a_moment(&spins);
}

/* By the holder: nobody else writes a held record's flags (their
 * compare-and-swap fails), so a plain release store clears the bit. */
static void release(rs_obj_t *o)
{
    uint8_t f = __atomic_load_n(&o->flags, __ATOMIC_RELAXED);
    __atomic_store_n(&o->flags, (uint8_t)(f & ~OBJ_BUSY), __ATOMIC_RELEASE);
}

/* A copy of record o for a caller: without the hold bit. */
static void copy_out(rs_obj_t *out, const rs_obj_t *o)
{
    *out = *o;
    out->flags &= (uint8_t)~OBJ_BUSY;
}

/* Records of s may move from now on (shard lock held). */
static void layout_begin(layout_t *lay)
{
    uint32_t seq = atomic_load_explicit(&lay->l.seq, memory_order_relaxed);
    atomic_store_explicit(&lay->l.seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
}

static void layout_end(layout_t *lay)
{
    uint32_t seq = atomic_load_explicit(&lay->l.seq, memory_order_relaxed);
    atomic_store_explicit(&lay->l.seq, seq + 1, memory_order_release);
}

/* Fast path: holds the record of addr in its shard without the shard lock
 * (returns it), or NULL (no such record, a layout change under way, the
 * record held by another event): then take the slow path. */
static rs_obj_t *hold_known(rs_objtable_t *t, const shard_t *s, uint64_t addr)
{
    layout_t *lay = layout_of(t, s);
    uint32_t seq = atomic_load_explicit(&lay->l.seq, memory_order_acquire);
    rs_obj_t *slots = __atomic_load_n(&lay->l.slots, __ATOMIC_RELAXED);
    uint32_t cap = __atomic_load_n(&lay->l.cap, __ATOMIC_RELAXED);
    if ((seq & 1) || !cap)
        return NULL;
    uint32_t mask = cap - 1, i = (uint32_t)(hash_addr(addr) >> 20) & mask;
    for (uint32_t probes = 0;; i = (i + 1) & mask) {
        uint64_t a = __atomic_load_n(&slots[i].addr, __ATOMIC_RELAXED);
        if (a == addr)
            break;
        if (a == 0 || ++probes == cap)
            return NULL;
    }
    rs_obj_t *o = &slots[i];
    if (!try_hold(o))
        return NULL;
    if (atomic_load_explicit(&lay->l.seq, memory_order_seq_cst) != seq ||
        __atomic_load_n(&o->addr, __ATOMIC_RELAXED) != addr) {
        release(o);
        return NULL;
    }
    return o;
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
        for (retired_t *r = s->retired, *next; r; r = next) {
            next = r->next;
            rs_mem_unmap(r->slots, r->bytes);
            rs_mem_free(r);
        }
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

/* Places o (not present) into s, which has room, and returns its record,
 * held.  The empty slot is held first: a fast path that found its object
 * there before a deletion emptied it may hold it a moment (and would then
 * clear the bit of whatever is there).  Shard locked, layout odd. */
static rs_obj_t *place(shard_t *s, const rs_obj_t *o)
{
    uint32_t mask = s->cap - 1, i = home_slot(s, o->addr);
    while (s->slots[i].addr)
        i = (i + 1) & mask;
    rs_obj_t *slot = &s->slots[i], rec = *o;
    rec.flags |= OBJ_BUSY;                /* never clear while it is written */
    hold(slot);
    *slot = rec;
    s->n++;
    return slot;
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

/* Keeps the slot array s grew out of mapped, its pages given back (see the
 * top of the file).  When the list node cannot be allocated the array
 * stays mapped and resident until the table goes: a leak, never a fault. */
static void retire(shard_t *s, rs_obj_t *old, uint32_t old_cap)
{
    if (!old)
        return;
    retired_t *r = rs_mem_alloc(sizeof *r);
    if (!r)
        return;
    *r = (retired_t){s->retired, old, (size_t)old_cap * sizeof *old};
    s->retired = r;
    rs_mem_discard(old, r->bytes);
}

/* Makes room for one more entry in s, a shard of t (load <= 1/2).  -1 on
 * exhaustion.  The slots hold the objects' addresses: they are mapped
 * pages (rs_mem_map), never heap memory that the program's next blocks
 * would be carved from with those addresses still in it.  Shard locked,
 * layout odd: every record is held while it is copied. */
static int reserve(rs_objtable_t *t, shard_t *s)
{
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
    s->n = 0;
    for (uint32_t i = 0; i < old_cap; i++) {
        if (!old[i].addr)
            continue;
        hold(&old[i]);                    /* kept: the array is retired */
        release(place(s, &old[i]));
    }
    layout_t *lay = layout_of(t, s);
    __atomic_store_n(&lay->l.slots, slots, __ATOMIC_RELAXED);
    __atomic_store_n(&lay->l.cap, cap, __ATOMIC_RELAXED);
    retire(s, old, old_cap);
    return 0;
}

/* Deletes slot i (held) by shifting later members of its cluster back,
 * each held while it moves.  Shard locked, layout odd. */
static void delete_slot(shard_t *s, uint32_t i)
{
    uint32_t mask = s->cap - 1;
    for (uint32_t j = (i + 1) & mask; s->slots[j].addr; j = (j + 1) & mask) {
        uint32_t k = home_slot(s, s->slots[j].addr);
        /* The entry at j may move to the hole at i unless its home lies
         * cyclically in (i, j]. */
        int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            hold(&s->slots[j]);
            s->slots[i] = s->slots[j];
            release(&s->slots[i]);
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
 * when there is no history.  o is held. */
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

/* Finds or creates the entry for an event and holds it.  Shard locked,
 * layout odd.  *result gets CREATED/UPDATED/DUP_CTOR/UNTRACKED/ERROR;
 * returns the entry or NULL. */
static rs_obj_t *entry_for_event(rs_objtable_t *t, shard_t *s, uint64_t addr,
                                 const rs_obj_info_t *info, uint8_t op,
                                 rs_obj_result_t *result)
{
    int64_t i = find(s, addr);
    if (i >= 0) {
        hold(&s->slots[i]);
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

/* Applies event ev to o, held, whose lookup gave result (UPDATED, CREATED
 * or DUP_CTOR); returns the result, RS_OBJ_ERROR when the history append
 * failed.  The hold bit is kept in every change of the flags. */
static rs_obj_result_t apply_event(rs_obj_t *o, rs_obj_result_t result,
                                   const rs_ref_event_t *ev, const rs_objtable_opts_t *opts)
{
    if (result != RS_OBJ_DUP_CTOR) {
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
    } else if (opts && opts->history && rs_refhist_adopt_ctor(&o->hist, ev) == 1) {
        o->event_count++;             /* created inside this ctor call */
        o->flags &= (uint8_t)~RS_OBJ_SEEN_LATE;
    }
    return result;
}

/* Applies the event to o (held), copies the record to *out (may be NULL)
 * and releases it; returns apply_event()'s result. */
static rs_obj_result_t finish_event(rs_obj_t *o, rs_obj_result_t result,
                                    const rs_ref_event_t *ev, const rs_objtable_opts_t *opts,
                                    rs_obj_t *out)
{
    result = apply_event(o, result, ev, opts);
    if (out)
        copy_out(out, o);
    release(o);
    return result;
}

/* Fast path (hold_known) for an event on a known object, else the shard
 * lock.  The fast path's cost: the layout line (read, shared), a probe,
 * one compare-and-swap on the record's flags and a plain store to clear
 * it (the shard lock took two locked instructions on a line every event
 * of the shard wrote). */
rs_obj_result_t rs_objtable_record(rs_objtable_t *t, uint64_t addr,
                                   const rs_obj_info_t *info,
                                   const rs_ref_event_t *ev,
                                   const rs_objtable_opts_t *opts, rs_obj_t *out)
{
    if (!t || !ev || addr == 0 || ev->op < RS_REF_CTOR || ev->op > RS_REF_DECREF)
        return RS_OBJ_UNTRACKED;
    if (opts && opts->ended)
        opts->ended->op = 0;
    shard_t *s = shard_of(t, addr);
    rs_obj_result_t result;
    rs_obj_t *o = hold_known(t, s, addr);
    if (RS_LIKELY(o != NULL)) {
        result = ev->op == RS_REF_CTOR && !recycled(o) ? RS_OBJ_DUP_CTOR : RS_OBJ_UPDATED;
        return finish_event(o, result, ev, opts, out);
    }
    layout_t *lay = layout_of(t, s);
    rs_lock(&s->lock);
    layout_begin(lay);
    o = entry_for_event(t, s, addr, info, ev->op, &result);
    if (o)
        result = finish_event(o, result, ev, opts, out);
    layout_end(lay);
    rs_unlock(&s->lock);
    return result;
}

rs_objtable_near_t rs_objtable_prefetch(rs_objtable_t *t, uint64_t addr)
{
    rs_objtable_near_t near = { NULL, NULL };
    if (!t)
        return near;
    const layout_t *lay = layout_of(t, shard_of(t, addr));
    rs_obj_t *slots = __atomic_load_n(&lay->l.slots, __ATOMIC_RELAXED);
    uint32_t cap = __atomic_load_n(&lay->l.cap, __ATOMIC_RELAXED);
    if (!slots || !cap)
        return near;
    /* Read without the lock: a stale slots/cap pair or a slot being
     * rewritten only makes the hint wrong; a prefetch never faults (and a
     * retired array stays mapped).  Two records are 96 bytes: three lines
     * at most, each holding one of the bytes prefetched. */
    uint32_t home = (uint32_t)(hash_addr(addr) >> 20) & (cap - 1);
    near.home = &slots[home];
    near.next = &slots[(home + 1) & (cap - 1)];
    __builtin_prefetch(near.home, 1, 3);
    __builtin_prefetch((const char *)near.home + 64, 1, 3);
    __builtin_prefetch((const char *)(near.home + 2) - 1, 1, 3);
    if (near.next != near.home + 1)
        __builtin_prefetch(near.next, 1, 3);
    return near;
}

void rs_objtable_prefetch_history(rs_objtable_near_t near, uint64_t addr)
{
    if (!near.home)
        return;
    if (__atomic_load_n(&near.home->addr, __ATOMIC_RELAXED) == addr)
        rs_refhist_prefetch(&near.home->hist);
    else if (__atomic_load_n(&near.next->addr, __ATOMIC_RELAXED) == addr)
        rs_refhist_prefetch(&near.next->hist);
}

int rs_objtable_declare(rs_objtable_t *t, uint64_t addr, const rs_obj_info_t *info)
{
    if (!t || !info || addr == 0)
        return -1;
    shard_t *s = shard_of(t, addr);
    layout_t *lay = layout_of(t, s);
    int rc;
    rs_lock(&s->lock);
    layout_begin(lay);
    int64_t i = find(s, addr);
    if (i >= 0) {
        rs_obj_t *o = &s->slots[i];
        hold(o);
        rs_obj_t fresh = make_obj(addr, info, 0);
        fresh.flags |= o->flags & (RS_OBJ_SEEN_LATE | RS_OBJ_HELD | RS_OBJ_LAST_DECREF | OBJ_BUSY);
        fresh.event_count = o->event_count;
        fresh.hist = o->hist;
        *o = fresh;
        release(o);
        rc = 0;
    } else if (reserve(t, s)) {
        rc = -1;
    } else {
        rs_obj_t o = make_obj(addr, info, 1);
        release(place(s, &o));
        atomic_fetch_add_explicit(&t->count, 1, memory_order_relaxed);
        rc = 1;
    }
    layout_end(lay);
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
            if (!o->addr || !(__atomic_load_n(&o->flags, __ATOMIC_RELAXED) & RS_OBJ_HELD))
                continue;
            hold(o);
            if (o->flags & RS_OBJ_HELD) {
                rs_ref_event_t held;
                end_hold(o, &held);
                if (fn) {
                    rs_obj_t copy;
                    copy_out(&copy, o);
                    fn(&copy, &held, arg);
                }
                n++;
            }
            release(o);
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
    layout_t *lay = layout_of(t, s);
    rs_refhist_t stale = { 0 };
    rs_obj_t rec = *o;
    rec.flags &= (uint8_t)~OBJ_BUSY;
    int rc;
    rs_lock(&s->lock);
    layout_begin(lay);
    int64_t i = find(s, o->addr);
    if (i >= 0) {
        hold(&s->slots[i]);
        stale = s->slots[i].hist;
        s->slots[i] = rec;          /* the bit clear: released with it */
        rc = 0;
    } else if (reserve(t, s)) {
        rc = -1;
    } else {
        release(place(s, &rec));
        atomic_fetch_add_explicit(&t->count, 1, memory_order_relaxed);
        rc = 1;
    }
    layout_end(lay);
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
    layout_t *lay = layout_of(t, s);
    rs_lock(&s->lock);
    int64_t i = find(s, addr);
    rs_obj_t o = { 0 };
    if (i >= 0) {
        layout_begin(lay);
        hold(&s->slots[i]);
        copy_out(&o, &s->slots[i]);
        delete_slot(s, (uint32_t)i);
        atomic_fetch_sub_explicit(&t->count, 1, memory_order_relaxed);
        layout_end(lay);
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
    if (i >= 0 && out) {
        hold(&s->slots[i]);
        copy_out(out, &s->slots[i]);
        release(&s->slots[i]);
    }
    rs_unlock(&s->lock);
    return i >= 0;
}

uint64_t rs_objtable_count(const rs_objtable_t *t)
{
    return t ? atomic_load_explicit(&t->count, memory_order_relaxed) : 0;
}

uint64_t rs_objtable_bytes(rs_objtable_t *t, uint64_t *history)
{
    uint64_t hist = 0;
    if (history)
        *history = 0;
    if (!t)
        return 0;
    uint64_t bytes = sizeof *t + 63;
    for (int i = 0; i < RS_OBJTABLE_SHARDS; i++) {
        shard_t *s = &t->shards[i].s;
        rs_lock(&s->lock);
        bytes += (uint64_t)s->cap * sizeof(rs_obj_t);
        for (uint32_t k = 0; k < s->cap; k++) {
            rs_obj_t *o = &s->slots[k];
            if (!o->addr)
                continue;
            hold(o);
            hist += rs_refhist_bytes(&o->hist);
            release(o);
        }
        rs_unlock(&s->lock);
    }
    if (history)
        *history = hist;
    return bytes + hist;
}

/* With the world stopped (see objtable.h): a record's hold bit can only
 * be a fast path's that backs off (after its check fails it stores the
 * flags it then reads, without the bit), so it is cleared, not waited
 * for, and fn gets the record itself (callers keep &o->hist). */
void rs_objtable_foreach(rs_objtable_t *t,
                         void (*fn)(const rs_obj_t *o, void *arg), void *arg)
{
    for (int i = 0; t && i < RS_OBJTABLE_SHARDS; i++) {
        shard_t *s = &t->shards[i].s;
        rs_lock(&s->lock);
        for (uint32_t k = 0; k < s->cap; k++) {
            rs_obj_t *o = &s->slots[k];
            if (!o->addr)
                continue;
            __atomic_fetch_and(&o->flags, (uint8_t)~OBJ_BUSY, __ATOMIC_RELAXED);
            fn(o, arg);
        }
        rs_unlock(&s->lock);
    }
}

/* Every shard locked and its layout odd, and no record held by an event
 * in progress: from here on a fast path only sets a bit to back off. */
void rs_objtable_lock_all(rs_objtable_t *t)
{
    for (int i = 0; t && i < RS_OBJTABLE_SHARDS; i++) {
        shard_t *s = &t->shards[i].s;
        rs_lock(&s->lock);
        layout_begin(layout_of(t, s));
    }
    for (int i = 0; t && i < RS_OBJTABLE_SHARDS; i++) {
        shard_t *s = &t->shards[i].s;
        for (uint32_t k = 0, spins = 0; k < s->cap; k++)
            while (__atomic_load_n(&s->slots[k].flags, __ATOMIC_ACQUIRE) & OBJ_BUSY)
                wait_a_moment(&spins);
    }
}

void rs_objtable_unlock_all(rs_objtable_t *t)
{
    for (int i = RS_OBJTABLE_SHARDS - 1; t && i >= 0; i--) {
        shard_t *s = &t->shards[i].s;
        layout_end(layout_of(t, s));
        rs_unlock(&s->lock);
    }
}

void rs_objtable_forked(rs_objtable_t *t)
{
    for (int i = 0; t && i < RS_OBJTABLE_SHARDS; i++) {
        shard_t *s = &t->shards[i].s;
        for (uint32_t k = 0; k < s->cap; k++)
            s->slots[k].flags &= (uint8_t)~OBJ_BUSY;
    }
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

uint32_t rs_typetable_find(rs_typetable_t *tt, const char *name)
{
    if (!tt || !name || !*name)
        return 0;
    pthread_mutex_lock(&tt->lock);
    uint32_t id = tt->index_cap ? tt->index[type_slot(tt, name)] : 0;
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
