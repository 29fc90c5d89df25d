/*
 * refcount.c - refcounted objects in the running process: the object and
 * type tables, reference events with their history, refcount errors, and
 * the analysis-time view that turns objects into graph nodes.
 *
 * Keys.  An object is keyed by the pointer the program passes to its
 * ref/unref functions (or annotations), which may lie inside a larger heap
 * block (a refcount embedded in a struct, container_of style; every
 * GObject with private data, whose instance follows the private part).
 * When an object is first seen, the heap block holding it is found: the
 * block starting at the pointer (one block-table lookup), else by probing
 * 16-byte-aligned addresses below it, at most RS_INTERIOR_PROBE bytes back.
 * An object inside a block but not at its start is entered in the
 * interior map (block address -> object pointers) so that freeing the
 * block forgets it.  An object found in no tracked block (a static or
 * stack object, or more than RS_INTERIOR_PROBE bytes into its block) keeps
 * its record and history but can never be a graph node; such objects are
 * counted (rs_refcount_apply's *outside) and said to be so there.
 *
 * Realloc.  The objects of a block being realloc'ed are taken out of the
 * table before the real call (like the block itself, so a thread handed
 * the old address cannot meet them) and put back afterwards at the same
 * offset inside the new block, with their type, counter location, count
 * and history: a decref through the new pointer is an ordinary event.  An
 * object the block no longer reaches after a shrink is forgotten like a
 * freed one.  An analysis never stops the world inside that window
 * (rs_refcount_move_begin / rs_refcount_moves_block, refcount.h), so it
 * never misses the block or its objects.
 *
 * Nodes.  At analysis time every object inside a live block becomes a
 * graph node: a block holding several objects (a pool, an array of
 * objects) is split into one node per object first (lib/model/objnodes.h
 * states the rule), then each node gets its object's type, counter and
 * history.
 *
 * Counters.  With a counter field the count used by the analysis is read
 * from the block at analysis time (so inline increfs count); the value
 * seen at each event is used only to detect errors.  Without a field
 * (rc_width 0) the count is the number of ctor/incref minus decref events.
 *
 * Refcount errors (DESIGN.md), detected at the event that shows them and
 * reported at once in one stderr line (the first RS_RC_PRINT_MAX of them),
 * kept (the first RS_RC_KEEP_MAX) for the snapshot.  The program is never
 * affected.
 *   decref_unknown   decref of an address with no record: freed (it is in
 *                    the graveyard and its block was not reused; the other
 *                    stack is the free), or never seen by an annotation.
 *                    A profile hook's decref of an address never seen is
 *                    no error: libraries make objects through paths no
 *                    profile can name (OpenSSL decodes a certificate from
 *                    its ASN.1 template, without X509_new), and their
 *                    static objects are decref'd too (below).
 *   underflow        decref with the counter at 0 (field) or the event
 *                    count going below 0 (events; not for objects first
 *                    seen late, whose earlier references are unknown).
 *                    A refscope_decref() that sees the field at 0 is held
 *                    (objtable.h, the annotation-order rule): reported at
 *                    the object's next event or the next analysis, or,
 *                    when the object is freed first, taken as a
 *                    refscope_decref() called after the decrement: no
 *                    error, one advice line for the whole run.
 *   free_referenced  free() of a block holding an object whose count is
 *                    above 0; the other stack is the block's allocation.
 *   use_after_final  incref of a tracked object whose count was 0, or
 *                    incref of a freed object (graveyard); not the
 *                    revival of an object by its own release function
 *                    (GStreamer's pooled buffers, see revival()).
 * Static objects of a library.  Libraries hand out inert objects that live
 * in their data segment and ignore ref/unref (HarfBuzz's empty blob and
 * face, returned on failure even by constructors).  Their event counts
 * mean nothing, so for an object outside every heap block that a profile
 * hook counts from events no underflow or use-after-final is reported.
 * Found by block_of() on these error paths only.
 * Counter values at events: profile hooks read the field before the call;
 * refscope_decref is called before the decrement (refscope.h) and
 * refscope_incref after the increment, so its `before` is the field - 1.
 *
 * The graveyard remembers the last RS_GRAVE_SLOTS freed objects (direct
 * mapped by address) with their type and free stack.
 *
 * Locking: see refcount.h for the order.  The interior map, graveyard and
 * error list each have one mutex, taken for a few instructions and never
 * two at once.  All memory comes from rs_mem; on exhaustion the event or
 * entry is dropped and rs_diag_oom() says so once.
 */
#include "refcount.h"

#include "guard.h"
#include "heapscan.h"
#include "objnodes.h"
#include "preload.h"
#include "profile.h"
#include "registry_edges.h"
#include "weak_edges.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define RS_INTERIOR_PROBE 4096   /* bytes searched below an object pointer */
#define RS_GRAVE_SLOTS    4096
#define RS_RC_PRINT_MAX   100
#define RS_RC_KEEP_MAX    65536

rs_objtable_t  *rs_objects;
rs_typetable_t *rs_types;

static uint32_t history_max;          /* REFSCOPE_HISTORY, 0 = off        */

/* ---- stacks for the balancer's compaction -------------------------------- */

static int depot_stack(void *ctx, uint32_t id, rs_stack_t *out)
{
    (void)ctx;
    return rs_stackdepot_get(rs_depot, id, out);
}

/* thread_start_pc is set once, by the first thread's start
 * (rs_refcount_note_thread_start). */
static rs_refhist_stacks_t depot_stacks = { depot_stack, NULL, 0 };

void rs_refcount_note_thread_start(uint64_t return_address)
{
    if (!__atomic_load_n(&depot_stacks.thread_start_pc, __ATOMIC_RELAXED))
        __atomic_store_n(&depot_stacks.thread_start_pc, return_address, __ATOMIC_RELAXED);
}

uint32_t rs_refcount_stack_for(uint64_t obj, const rs_call_site_t *site)
{
    /* Each prefetch costs a few instructions; each hides most of a cache
     * miss (object table slot, then the line where the object's next
     * history event goes, found from the slot alone) behind the walk
     * and the interning. */
    rs_objtable_near_t near = { NULL, NULL };
    if (obj)
        near = rs_objtable_prefetch(rs_objects, obj);
    uint64_t pcs[rs_settings.depth + RS_BACKTRACE_SLACK];
    uint32_t n = rs_backtrace_capture(pcs, (uint32_t)rs_settings.depth, site);
    if (history_max)
        rs_objtable_prefetch_history(near, obj);
    return n ? rs_stackdepot_intern(rs_depot, pcs, n, rs_modules_epoch()) : 0;
}

uint32_t rs_refcount_stack_here(void)
{
    return rs_refcount_stack_for(0, NULL);
}

/* ---- the interior map: block address -> object pointers ----------------- */

/* Open addressing, linear probing, several entries per key allowed;
 * deletion shifts later entries back (no tombstones).
 * Invariant: every entry lies between its home slot and the first empty
 * slot after it. */
typedef struct interior {
    uint64_t block, obj;              /* block 0 = empty                  */
} interior_t;

static pthread_mutex_t interior_lock = PTHREAD_MUTEX_INITIALIZER;
static interior_t *interior;
static uint32_t interior_cap, interior_n;
static atomic_uint interior_live;     /* interior_n, readable lock-free   */
static atomic_ullong outside_heap;    /* objects found in no block        */

static uint32_t interior_home(uint64_t block, uint32_t cap)
{
    return (uint32_t)((block * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static int interior_grow(void)
{
    uint32_t cap = interior_cap ? interior_cap * 2 : 256;
    interior_t *t = rs_mem_map((size_t)cap * sizeof *t);   /* see rs_mem_map() */
    if (!t)
        return -1;
    for (uint32_t i = 0; i < interior_cap; i++) {
        if (!interior[i].block)
            continue;
        uint32_t j = interior_home(interior[i].block, cap);
        while (t[j].block)
            j = (j + 1) & (cap - 1);
        t[j] = interior[i];
    }
    rs_mem_unmap(interior, (size_t)interior_cap * sizeof *interior);
    interior = t;
    interior_cap = cap;
    return 0;
}

static int interior_add(uint64_t block, uint64_t obj)
{
    int rc = 0;
    pthread_mutex_lock(&interior_lock);
    if ((interior_n + 1) * 2 > interior_cap && interior_grow() != 0) {
        rc = -1;
    } else {
        uint32_t j = interior_home(block, interior_cap);
        while (interior[j].block)
            j = (j + 1) & (interior_cap - 1);
        interior[j] = (interior_t){ block, obj };
        interior_n++;
        atomic_store_explicit(&interior_live, interior_n, memory_order_relaxed);
    }
    pthread_mutex_unlock(&interior_lock);
    return rc;
}

static void interior_delete_slot(uint32_t i)
{
    uint32_t mask = interior_cap - 1;
    for (uint32_t j = (i + 1) & mask; interior[j].block; j = (j + 1) & mask) {
        uint32_t home = interior_home(interior[j].block, interior_cap);
        /* Move j back to i when its home does not lie in (i, j]. */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            interior[i] = interior[j];
            i = j;
        }
    }
    interior[i].block = interior[i].obj = 0;
    interior_n--;
}

/* Removes up to max objects registered under block into objs; returns how
 * many (call again while it returns max). */
static uint32_t interior_take(uint64_t block, uint64_t *objs, uint32_t max)
{
    uint32_t k = 0;
    pthread_mutex_lock(&interior_lock);
    if (interior_cap) {
        uint32_t i = interior_home(block, interior_cap);
        while (interior[i].block && k < max) {
            if (interior[i].block == block) {
                objs[k++] = interior[i].obj;
                interior_delete_slot(i);      /* slot i now holds the next */
                continue;
            }
            i = (i + 1) & (interior_cap - 1);
        }
        atomic_store_explicit(&interior_live, interior_n, memory_order_relaxed);
    }
    pthread_mutex_unlock(&interior_lock);
    return k;
}

/* Finds the live block holding obj (see the file comment).  Returns 1 and
 * fills *b, or 0. */
static int block_of(uint64_t obj, int obj_readable, rs_block_t *b)
{
    return rs_block_containing(obj, RS_INTERIOR_PROBE, obj_readable, b);
}

/* A newly created record: remember the block that must forget it. */
static void place_new_object(uint64_t obj)
{
    rs_block_t b;
    if (!block_of(obj, 1, &b)) {
        atomic_fetch_add_explicit(&outside_heap, 1, memory_order_relaxed);
        return;
    }
    if (b.addr != obj && interior_add(b.addr, obj) != 0)
        rs_diag_oom();
}

/* ---- the graveyard: recently freed objects ------------------------------- */

typedef struct grave {
    uint64_t obj, block;
    uint32_t type_id, free_stack;
} grave_t;

static pthread_mutex_t grave_lock = PTHREAD_MUTEX_INITIALIZER;
static grave_t graves[RS_GRAVE_SLOTS];

static uint32_t grave_slot(uint64_t obj)
{
    return (uint32_t)((obj * 0x9E3779B97F4A7C15ull) >> 40) % RS_GRAVE_SLOTS;
}

static void grave_put(const grave_t *g)
{
    pthread_mutex_lock(&grave_lock);
    graves[grave_slot(g->obj)] = *g;
    pthread_mutex_unlock(&grave_lock);
}

/* 1 when obj was freed as an object and its block was not allocated again
 * since; fills *g. */
static int grave_find(uint64_t obj, grave_t *g)
{
    pthread_mutex_lock(&grave_lock);
    *g = graves[grave_slot(obj)];
    pthread_mutex_unlock(&grave_lock);
    if (g->obj != obj)
        return 0;
    rs_block_t b;
    return !rs_block_lookup(g->block, &b);
}

/* ---- refcount errors ----------------------------------------------------- */

static pthread_mutex_t error_lock = PTHREAD_MUTEX_INITIALIZER;
static rs_rc_error_t *errors;
static uint32_t n_errors, cap_errors;
static atomic_uint total_errors;

static void say_error(const rs_rc_error_t *e, int freed)
{
    rs_line_t l = {.len = 0};
    rs_line_str(&l, "refscope: refcount error: ");
    switch (e->kind) {
    case RS_RC_DECREF_UNKNOWN:
        rs_line_str(&l, freed ? "decref of freed object " : "decref of untracked object ");
        break;
    case RS_RC_UNDERFLOW:         rs_line_str(&l, "count below zero at decref of object "); break;
    case RS_RC_FREE_REFERENCED:   rs_line_str(&l, "free() of still referenced object "); break;
    default:                      rs_line_str(&l, "incref after the final decref of object "); break;
    }
    rs_line_hex(&l, e->addr);
    const char *type = rs_typetable_name(rs_types, e->type_id);
    if (type) {
        rs_line_str(&l, " (");
        rs_line_str(&l, type);
        rs_line_str(&l, ")");
    }
    if (e->kind != RS_RC_DECREF_UNKNOWN) {
        rs_line_str(&l, ", count ");
        rs_line_i64(&l, e->count);
    }
    rs_line_str(&l, " \xe2\x80\x94 see the report\n");
    rs_diag_emit(&l);
}

static void report_error(uint32_t kind, uint64_t obj, uint32_t type_id, int64_t count,
                         uint32_t stack_id, uint32_t other_stack, int freed)
{
    rs_rc_error_t e = {
        .kind = kind, .type_id = type_id, .addr = obj, .count = count,
        .stack_id = stack_id, .other_stack_id = other_stack,
        .tid = rs_alloc_thread_tid(),
    };
    uint32_t nth = atomic_fetch_add(&total_errors, 1);
    pthread_mutex_lock(&error_lock);
    if (n_errors < RS_RC_KEEP_MAX) {
        if (n_errors == cap_errors) {
            uint32_t cap = cap_errors ? cap_errors * 2 : 64;
            rs_rc_error_t *a = rs_mem_realloc(errors, cap * sizeof *a);
            if (a) {
                errors = a;
                cap_errors = cap;
            }
        }
        if (n_errors < cap_errors)
            errors[n_errors++] = e;
        else
            rs_diag_oom();
    }
    pthread_mutex_unlock(&error_lock);
    if (nth < RS_RC_PRINT_MAX) {
        say_error(&e, freed);
    } else if (nth == RS_RC_PRINT_MAX) {
        rs_line_t l = {.len = 0};
        rs_line_str(&l, "refscope: further refcount errors are only in the report\n");
        rs_diag_emit(&l);
    }
}

/* The wrong-order pattern was seen on o (a held decref, then its free):
 * say once how to fix it. */
static void advise_order(const rs_obj_t *o)
{
    static atomic_int said;
    if (atomic_exchange(&said, 1))
        return;
    rs_line_t l = {.len = 0};
    rs_line_str(&l, "refscope: refscope_decref() was called after the decrement "
                    "(count already 0, then the object was freed) on ");
    const char *type = rs_typetable_name(rs_types, o->type_id);
    rs_line_str(&l, type ? type : "an object");
    rs_line_str(&l, " ");
    rs_line_hex(&l, o->addr);
    rs_line_str(&l, ": call refscope_decref_after() there (or refscope_decref() "
                    "before the decrement); not counted as errors\n");
    rs_diag_emit(&l);
}

/* A held decref turned out a real underflow (the counter was at 0). */
static void held_underflow(uint64_t obj, uint32_t type_id, const rs_ref_event_t *held)
{
    report_error(RS_RC_UNDERFLOW, obj, type_id, -1, held->stack_id, 0, 0);
}

typedef struct held {
    uint64_t       addr;
    uint32_t       type_id;
    rs_ref_event_t ev;
} held_t;

typedef struct held_batch {
    held_t   h[32];
    uint32_t n;
} held_batch_t;

static void collect_held(const rs_obj_t *o, const rs_ref_event_t *ev, void *arg)
{
    held_batch_t *b = arg;
    b->h[b->n++] = (held_t){ o->addr, o->type_id, *ev };
}

void rs_refcount_settle(void)
{
    if (!rs_objects || rs_objtable_count(rs_objects) == 0)
        return;
    rs_guard_enter();
    held_batch_t b;
    do {
        b.n = 0;      /* errors are reported with no shard lock held */
        rs_objtable_end_holds(rs_objects, 32, collect_held, &b);
        for (uint32_t i = 0; i < b.n; i++)
            held_underflow(b.h[i].addr, b.h[i].type_id, &b.h[i].ev);
    } while (b.n == 32);
    rs_guard_leave();
}

/* ---- events -------------------------------------------------------------- */

int rs_refcount_init(uint32_t max_events)
{
    history_max = max_events;
    rs_objects = rs_objtable_create();
    rs_types = rs_typetable_create();
    if (rs_objects && rs_types)
        return 0;
    rs_objtable_destroy(rs_objects);
    rs_typetable_destroy(rs_types);
    rs_objects = NULL;
    rs_types = NULL;
    return -1;
}

int rs_refcount_read(uint64_t p, uint8_t width, int is_signed, int64_t *out)
{
    const void *q = (const void *)(uintptr_t)p;
    switch (width) {
    case 1: *out = is_signed ? (int64_t)*(const int8_t *)q : (int64_t)*(const uint8_t *)q; return 0;
    case 2: *out = is_signed ? (int64_t)*(const int16_t *)q : (int64_t)*(const uint16_t *)q; return 0;
    case 4: *out = is_signed ? (int64_t)*(const int32_t *)q : (int64_t)*(const uint32_t *)q; return 0;
    case 8: *out = *(const int64_t *)q; return 0;   /* 2^63+ counts: none */
    default: return -1;
    }
}

/* A profile hook's call on obj, an address in no heap block: one of the
 * library's static objects (see the file comment). */
static int static_object(const rs_rc_call_t *c)
{
    rs_block_t b;
    return c->info.hook != UINT16_MAX && !block_of(c->obj, 0, &b);
}

/* The object this thread's last final decref took to 0.  A release
 * function may revive the object it releases, by design: GStreamer's
 * buffer dispose takes a reference from 0 and hands the buffer back to
 * its pool (samples/gst_pool.c).  The first incref from 0 of that object
 * on the same thread is such a revival, not a use after the final decref.
 * One store per final decref; no post hook on decrefs is needed.  Kept
 * complemented: thread-local memory is scanned for roots, and the address
 * itself would keep a block at that address alive. */
static _Thread_local uint64_t last_final_decref_not __attribute__((tls_model("initial-exec")));

static void note_final_decref(uint64_t obj)
{
    last_final_decref_not = ~obj;
}

static int revival(const rs_rc_call_t *c)
{
    if (c->obj != ~last_final_decref_not)
        return 0;
    last_final_decref_not = 0;
    return 1;
}

/* Errors an event on a tracked object shows (o: state after it; held:
 * the event is a decref held by the annotation-order rule). */
static void check_event(const rs_rc_call_t *c, const rs_obj_t *o, int held)
{
    int late = (o->flags & RS_OBJ_SEEN_LATE) != 0;
    if (o->rc_width && c->counted) {
        if (c->op == RS_REF_DECREF && c->before == 1)
            note_final_decref(c->obj);
        if (c->op == RS_REF_DECREF && c->before <= 0 && !held)
            report_error(RS_RC_UNDERFLOW, c->obj, o->type_id, c->before - 1,
                         c->stack_id, 0, 0);
        else if (c->op == RS_REF_INCREF && c->before == 0 && !revival(c))
            report_error(RS_RC_INCREF_AFTER_FINAL, c->obj, o->type_id, 1,
                         c->stack_id, 0, 0);
    } else if (!o->rc_width && !late) {
        if (c->op == RS_REF_DECREF && o->event_count == 0)
            note_final_decref(c->obj);
        /* static_object() last: it costs block lookups. */
        if (c->op == RS_REF_DECREF && o->event_count < 0 && !static_object(c))
            report_error(RS_RC_UNDERFLOW, c->obj, o->type_id, o->event_count,
                         c->stack_id, 0, 0);
        else if (c->op == RS_REF_INCREF && o->event_count == 1 && !revival(c) &&
                 !static_object(c))
            report_error(RS_RC_INCREF_AFTER_FINAL, c->obj, o->type_id, 1,
                         c->stack_id, 0, 0);
    }
}

rs_obj_result_t rs_refcount_record(const rs_rc_call_t *c, rs_obj_t *out)
{
    if (!rs_objects || !c->obj)
        return RS_OBJ_UNTRACKED;
    rs_ref_event_t ev = {
        .stack_id = c->stack_id, .seq = c->seq ? c->seq
                : c->op == RS_REF_CTOR ? rs_refhist_ctor_seq() : rs_refhist_event_seq(),
        .thread = (uint16_t)rs_alloc_thread_tid(), .op = c->op,
    };
    int hold = c->may_follow && c->op == RS_REF_DECREF && c->counted && c->before == 0;
    rs_ref_event_t ended = { 0 };
    rs_objtable_opts_t opts = { history_max != 0, history_max, &depot_stacks,
                                (uint8_t)hold, &ended };
    rs_obj_t o;
    rs_obj_result_t r = rs_objtable_record(rs_objects, c->obj, &c->info, &ev, &opts, &o);
    if (ended.op && r != RS_OBJ_UNTRACKED)
        held_underflow(c->obj, o.type_id, &ended);
    grave_t g;
    switch (r) {
    case RS_OBJ_UNTRACKED: {
        int freed = grave_find(c->obj, &g);
        if (!freed && c->info.hook != UINT16_MAX)
            return r;           /* made by a constructor the profile lacks */
        report_error(RS_RC_DECREF_UNKNOWN, c->obj, freed ? g.type_id : c->info.type_id,
                     c->counted ? c->before - 1 : 0, c->stack_id,
                     freed ? g.free_stack : 0, freed);
        return r;
    }
    case RS_OBJ_CREATED:
        if (c->op == RS_REF_INCREF && grave_find(c->obj, &g)) {
            rs_objtable_remove(rs_objects, c->obj, NULL);
            report_error(RS_RC_INCREF_AFTER_FINAL, c->obj, g.type_id, 1, c->stack_id,
                         g.free_stack, 1);
            return RS_OBJ_UNTRACKED;
        }
        place_new_object(c->obj);
        break;
    case RS_OBJ_UPDATED:
        check_event(c, &o, hold);
        break;
    case RS_OBJ_ERROR:
        rs_diag_oom();
        break;
    default:
        break;
    }
    if (out && r != RS_OBJ_UNTRACKED)
        *out = o;
    return r;
}

int rs_refcount_declare(uint64_t obj, const rs_obj_info_t *info)
{
    if (!rs_objects || !obj)
        return -1;
    int rc = rs_objtable_declare(rs_objects, obj, info);
    if (rc == 1)
        place_new_object(obj);
    else if (rc < 0)
        rs_diag_oom();
    return rc;
}

/* ---- frees --------------------------------------------------------------- */

/* The object o, inside block b, is gone with its block. */
static void object_freed(const rs_obj_t *o, const rs_block_t *b, uint32_t *free_stack)
{
    int64_t count = o->event_count;
    uint64_t field = o->addr + o->rc_offset;
    if (o->rc_width && field >= b->addr && field + o->rc_width <= b->addr + b->size)
        rs_refcount_read(field, o->rc_width, (o->flags & RS_OBJ_RC_SIGNED) != 0, &count);
    if (!*free_stack)
        *free_stack = rs_refcount_stack_here();
    /* A free right after a decref is the final release: compilers drop the
     * store of the last decrement to memory about to be freed, so the
     * field may still say 1.  An object first seen late may hold
     * references nobody saw: its event count proves nothing. */
    int after_decref = o->hist.cap ? (o->flags & RS_OBJ_LAST_DECREF) != 0
                                   : o->event_count <= 0;
    if (o->flags & RS_OBJ_HELD)
        advise_order(o);
    if (count > 0 && !after_decref && (o->rc_width || !(o->flags & RS_OBJ_SEEN_LATE)))
        report_error(RS_RC_FREE_REFERENCED, o->addr, o->type_id, count, *free_stack,
                     b->stack_id, 0);
    grave_put(&(grave_t){ o->addr, b->addr, o->type_id, *free_stack });
    rs_refhist_free(&o->hist);
}

/* Takes every object of block b out of the table (the one at its start
 * and those inside it) and hands each to fn.  Guard held by the caller. */
static void take_block_objects(const rs_block_t *b,
                               void (*fn)(const rs_obj_t *o, void *ctx), void *ctx)
{
    rs_obj_t o;
    if (rs_objtable_remove(rs_objects, b->addr, &o))
        fn(&o, ctx);
    if (!atomic_load_explicit(&interior_live, memory_order_relaxed))
        return;
    uint64_t objs[16];
    uint32_t k;
    do {
        k = interior_take(b->addr, objs, 16);
        for (uint32_t i = 0; i < k; i++)
            if (rs_objtable_remove(rs_objects, objs[i], &o))
                fn(&o, ctx);
    } while (k == 16);
}

typedef struct freeing {
    const rs_block_t *block;
    uint32_t          free_stack;   /* taken once, at the first object */
} freeing_t;

static void freed_one(const rs_obj_t *o, void *ctx)
{
    freeing_t *f = ctx;
    object_freed(o, f->block, &f->free_stack);
}

void rs_refcount_block_freed(const rs_block_t *b)
{
    if (!rs_objects || rs_objtable_count(rs_objects) == 0)
        return;
    rs_guard_enter();
    freeing_t f = { b, 0 };
    take_block_objects(b, freed_one, &f);
    rs_guard_leave();
}

/* ---- realloc: objects move with their block ------------------------------ */

/* Frees a window's array, wiped first: it holds the objects' addresses,
 * and freed heap memory is the program's next blocks' uninitialised
 * content (see rs_mem_map()). */
static void moving_free(rs_obj_t *objs, uint32_t cap)
{
    if (objs)
        memset(objs, 0, cap * sizeof *objs);
    rs_mem_free(objs);
}

static void moving_add(rs_rc_moving_t *m, const rs_obj_t *o)
{
    if (m->n == m->cap) {
        uint32_t cap = m->cap ? m->cap * 2 : 8;
        rs_obj_t *a = rs_mem_alloc(cap * sizeof *a);
        if (!a) {                       /* the object is lost, said once */
            rs_diag_oom();
            rs_refhist_free(&o->hist);
            return;
        }
        if (m->n)
            memcpy(a, m->objs, m->n * sizeof *a);
        moving_free(m->objs, m->cap);
        m->objs = a;
        m->cap = cap;
    }
    m->objs[m->n++] = *o;
}

static void moving_one(const rs_obj_t *o, void *ctx) { moving_add(ctx, o); }

void rs_refcount_block_detach(const rs_block_t *b, rs_rc_moving_t *m)
{
    memset(m, 0, sizeof *m);
    if (!rs_objects || rs_objtable_count(rs_objects) == 0)
        return;
    rs_guard_enter();
    take_block_objects(b, moving_one, m);
    rs_guard_leave();
}

/* Puts the moved object o (o->addr already its new address, inside block
 * now) back in the table and, when interior, in the interior map. */
static void object_moved(rs_obj_t *o, const rs_block_t *now)
{
    if (rs_objtable_insert(rs_objects, o) < 0) {
        rs_diag_oom();
        rs_refhist_free(&o->hist);
        return;
    }
    if (o->addr != now->addr && interior_add(now->addr, o->addr) != 0)
        rs_diag_oom();
}

void rs_refcount_block_attach(rs_rc_moving_t *m, uint64_t old_addr, const rs_block_t *now)
{
    if (!m->n) {
        moving_free(m->objs, m->cap);
        return;
    }
    rs_guard_enter();
    uint32_t free_stack = 0;
    for (uint32_t i = 0; i < m->n; i++) {
        rs_obj_t *o = &m->objs[i];
        uint64_t offset = o->addr - old_addr;
        o->addr = now->addr + offset;
        if (offset < now->size || offset == 0)
            object_moved(o, now);
        else
            object_freed(o, now, &free_stack);   /* cut off by a shrink */
    }
    moving_free(m->objs, m->cap);
    memset(m, 0, sizeof *m);
    rs_guard_leave();
}

/* ---- the realloc window (refcount.h) -------------------------------------- */

#define RS_MOVES_WAIT_MS 100

/* Writers first: a stream of reallocs cannot starve an analysis. */
static pthread_rwlock_t moves_lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;

void rs_refcount_move_begin(void)
{
    pthread_rwlock_rdlock(&moves_lock);
}

void rs_refcount_move_end(void)
{
    pthread_rwlock_unlock(&moves_lock);
}

int rs_refcount_moves_block(int final)
{
    if (!final)
        return pthread_rwlock_wrlock(&moves_lock) == 0 ? 0 : -1;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += RS_MOVES_WAIT_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    return pthread_rwlock_clockwrlock(&moves_lock, CLOCK_MONOTONIC, &until) == 0 ? 0 : -1;
}

void rs_refcount_moves_allow(void)
{
    pthread_rwlock_unlock(&moves_lock);
}

void rs_refcount_atfork_child(void)
{
    pthread_rwlock_t fresh = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
    moves_lock = fresh;
    rs_objtable_forked(rs_objects);
}

/* ---- analysis ------------------------------------------------------------ */

void rs_refcount_lock_all(void)
{
    if (!rs_objects)
        return;
    rs_objtable_lock_all(rs_objects);
    pthread_mutex_lock(&interior_lock);
    pthread_mutex_lock(&grave_lock);
    pthread_mutex_lock(&error_lock);
}

void rs_refcount_unlock_all(void)
{
    if (!rs_objects)
        return;
    pthread_mutex_unlock(&error_lock);
    pthread_mutex_unlock(&grave_lock);
    pthread_mutex_unlock(&interior_lock);
    rs_objtable_unlock_all(rs_objects);
}

typedef struct apply_ctx {
    rs_heap_t           *heap;
    const rs_refhist_t **logs;       /* per node, the object's log        */
    uint64_t             outside, n_events;
} apply_ctx_t;

/* The count the analysis uses: the field read now, or the events. */
static int64_t current_count(const rs_obj_t *o, const rs_node_t *n, uint32_t rc_offset)
{
    int64_t v;
    if (o->rc_width && (uint64_t)rc_offset + o->rc_width <= n->size &&
        rs_refcount_read(n->addr + rc_offset, o->rc_width,
                         (o->flags & RS_OBJ_RC_SIGNED) != 0, &v) == 0)
        return v;
    return o->event_count;
}

static void apply_object(const rs_obj_t *o, void *arg)
{
    apply_ctx_t *a = arg;
    uint32_t i = rs_heapscan_find(a->heap, o->addr);
    rs_node_t *n = i == UINT32_MAX ? NULL : &a->heap->nodes[i];
    /* Not inside a live block (a static object, a freed block whose free
     * refscope missed): recorded, but it cannot be a node. */
    if (!n || o->addr >= n->addr + (n->size ? n->size : 1)) {
        a->outside++;
        return;
    }
    if (n->flags & RS_NODE_REFCOUNTED)
        return;     /* a second object in a block left whole (out of memory) */
    uint64_t off = o->addr - n->addr + o->rc_offset;
    int field = o->rc_width && off + o->rc_width <= n->size;
    /* Where the object's own pointer lies in the node (heapscan.h's self
     * rule); farther than 64 KiB in, self-pointers are compared with the
     * node's start as before. */
    uint64_t at = o->addr - n->addr - rs_node_header(n);
    n->obj_offset = o->addr >= n->addr + rs_node_header(n) && at <= UINT16_MAX ? (uint16_t)at : 0;
    n->flags |= RS_NODE_REFCOUNTED |
                (field ? 0 : RS_NODE_RC_FROM_EVENTS) |
                ((o->flags & RS_OBJ_RC_SIGNED) ? RS_NODE_RC_SIGNED : 0);
    n->type_id = o->type_id;
    n->rc_offset = field ? (uint32_t)off : 0;
    n->rc_width = field ? o->rc_width : 0;
    n->refcount = current_count(o, n, (uint32_t)off);
    if (a->logs && o->hist.cap) {
        a->logs[i] = &o->hist;
        a->n_events += o->hist.n;
    }
}

/* Builds the CSR history from the logs gathered per node. */
static int build_history(const rs_heap_t *heap, const rs_refhist_t **logs,
                         uint64_t n_events, rs_ref_history_t *hist)
{
    hist->event_start = rs_mem_calloc((size_t)heap->n_nodes + 1, sizeof *hist->event_start);
    hist->events = rs_mem_alloc((n_events ? n_events : 1) * sizeof *hist->events);
    if (!hist->event_start || !hist->events || n_events > UINT32_MAX)
        return -1;
    uint32_t k = 0;
    for (uint32_t i = 0; i < heap->n_nodes; i++) {
        hist->event_start[i] = k;
        if (logs[i]) {
            memcpy(&hist->events[k], logs[i]->events, logs[i]->n * sizeof *hist->events);
            k += logs[i]->n;
        }
    }
    hist->event_start[heap->n_nodes] = k;
    hist->n_events = k;
    return 0;
}

typedef struct addr_list {
    uint64_t *addrs;
    uint32_t  n, cap;
} addr_list_t;

static void collect_addr(const rs_obj_t *o, void *arg)
{
    addr_list_t *l = arg;
    if (l->n < l->cap)
        l->addrs[l->n++] = o->addr;
}

/* Makes each object of a block holding several its own node (objnodes.h).
 * World stopped, the table's count is exact.  -1 when memory ran out: the
 * blocks stay whole and the first object of each becomes its node. */
static int split_blocks(rs_heap_t *heap)
{
    uint64_t n = rs_objtable_count(rs_objects);
    if (n > UINT32_MAX)
        return -1;
    addr_list_t l = { rs_mem_alloc((size_t)n * sizeof *l.addrs), 0, (uint32_t)n };
    if (!l.addrs)
        return -1;
    rs_objtable_foreach(rs_objects, collect_addr, &l);
    int rc = rs_objnodes_split(heap, l.addrs, l.n);
    rs_mem_free(l.addrs);
    return rc;
}

int rs_refcount_apply(rs_heap_t *heap, rs_ref_history_t *hist, uint64_t *outside)
{
    memset(hist, 0, sizeof *hist);
    *outside = 0;
    if (!rs_objects || rs_objtable_count(rs_objects) == 0)
        return 0;
    if (split_blocks(heap) != 0)
        rs_diag_oom();              /* said once; the analysis goes on */
    apply_ctx_t a = { heap, NULL, 0, 0 };
    a.logs = rs_mem_calloc(heap->n_nodes ? heap->n_nodes : 1, sizeof *a.logs);
    rs_objtable_foreach(rs_objects, apply_object, &a);
    *outside = a.outside;
    if (!a.logs)
        return -1;
    int rc = build_history(heap, a.logs, a.n_events, hist);
    if (rc != 0)
        memset(hist, 0, sizeof *hist);
    rs_mem_free(a.logs);
    return rc;
}

/* ---- back pointers: a profile's `weak offset=` ---------------------------- */

_Static_assert(RS_WEAK_NO_THEN == RS_WEAK_EDGES_NO_THEN, "a profile's then= is weak_edges.h's");

typedef struct weak_ctx {
    rs_heap_t              *heap;
    const rs_profile_set_t *set;
    uint64_t               *bits;
} weak_ctx_t;

/* Marks the edges that o's profile's weak lines name in o's node. */
static void mark_weak_of(const rs_obj_t *o, void *arg)
{
    weak_ctx_t *w = arg;
    if (o->hook >= w->set->n_hooks)
        return;                       /* an annotation's object */
    uint32_t p = w->set->hooks[o->hook].profile;
    const rs_profile_t *prof = &w->set->profiles[p];
    uint32_t i = prof->n_weak ? rs_heapscan_find(w->heap, o->addr) : UINT32_MAX;
    if (i == UINT32_MAX)
        return;
    const rs_node_t *n = &w->heap->nodes[i];
    if (!(n->flags & RS_NODE_REFCOUNTED) || o->addr >= n->addr + n->size)
        return;
    for (uint32_t k = 0; k < prof->n_weak; k++) {
        int64_t off;
        if (rs_weak_field_where(w->set, p, k, o->type_id, &off))
            rs_weak_edges_mark(w->heap, w->bits, i, o->addr + (uint64_t)off,
                               prof->weak[k].then);
    }
}

static int any_weak_offsets(const rs_profile_set_t *set)
{
    for (uint32_t i = 0; set && i < set->n_profiles; i++)
        if (set->profiles[i].n_weak)
            return 1;
    return 0;
}

/* The profiles' bookkeeping lines (registry tables, qdata), in marks:
 * registry bits (allocated here) and owned pairs go to the heap. */
static void mark_bookkeeping(rs_heap_t *heap, uint64_t *weak_bits)
{
    if (!rs_registry_tables_ready() && !rs_qdata_lines_ready())
        return;
    rs_registry_marks_t m = { .weak = weak_bits };
    m.registry = rs_mem_calloc((size_t)((heap->n_edges + 63) / 64), sizeof(uint64_t));
    if (!m.registry) {
        rs_diag_oom();
        return;
    }
    rs_registry_tables_mark(heap, &m);
    rs_qdata_lines_mark(heap, &m);
    rs_registry_sort_owned(&m);
    heap->registry_edges = m.registry;
    heap->owned = m.owned;
    heap->n_owned = m.n_owned;
}

void rs_refcount_mark_weak(rs_heap_t *heap)
{
    heap->weak_edges = NULL;
    const rs_profile_set_t *set = rs_refhooks_profiles();
    if (!rs_objects || !heap->n_edges || !heap->edge_start ||
        !(any_weak_offsets(set) || rs_registry_tables_ready() || rs_qdata_lines_ready()))
        return;
    weak_ctx_t w = { heap, set, rs_mem_calloc((size_t)((heap->n_edges + 63) / 64),
                                              sizeof(uint64_t)) };
    if (!w.bits) {
        rs_diag_oom();
        return;
    }
    rs_objtable_foreach(rs_objects, mark_weak_of, &w);
    mark_bookkeeping(heap, w.bits);
    heap->weak_edges = w.bits;
}

int rs_refcount_types(char ***types, uint32_t *n)
{
    *types = NULL;
    *n = 0;
    uint32_t count = rs_types ? rs_typetable_count(rs_types) : 0;
    if (!count)
        return 0;
    char **t = rs_mem_calloc(count, sizeof *t);
    if (!t)
        return -1;
    for (uint32_t id = 1; id <= count; id++) {
        const char *name = rs_typetable_name(rs_types, id);
        t[id - 1] = (char *)(name ? name : "?");
    }
    *types = t;
    *n = count;
    return 0;
}

int rs_refcount_errors(rs_rc_error_t **errs, uint32_t *n, uint32_t *total)
{
    *errs = NULL;
    *n = 0;
    *total = atomic_load(&total_errors);
    int rc = 0;
    pthread_mutex_lock(&error_lock);
    rs_rc_error_t *e = n_errors ? rs_mem_alloc(n_errors * sizeof *e) : NULL;
    if (e) {
        memcpy(e, errors, n_errors * sizeof *e);
        *errs = e;
        *n = n_errors;
    } else if (n_errors) {
        rc = -1;
    }
    pthread_mutex_unlock(&error_lock);
    return rc;
}
