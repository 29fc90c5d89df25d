/*
 * annotate.c - the public annotation API of refscope.h: the
 * refscope_impl_* functions that the header's inline wrappers call
 * through weak references.  These are the only refscope_* symbols
 * librefscope.so exports.
 *
 * Object annotations become reference events in refcount.c, with the
 * caller's stack: refscope_object is the creation reference (a ctor),
 * refscope_incref is called after the program's increment,
 * refscope_decref before its decrement and refscope_decref_after after it
 * (refscope.h), which is how the counter values they see are interpreted.
 * A refscope_decref that sees the counter at 0 may be one called after
 * the decrement: refcount.c holds it (objtable.h, the annotation-order
 * rule).  refscope_ignore and
 * refscope_root are kept here, in two small arrays under one mutex, and
 * applied at each analysis (rs_annotate_apply): an ignored block is found
 * by any address inside it, follows it when realloc moves it and is
 * forgotten when it is freed; a root region stays for the life of the
 * process.
 *
 * Every entry point returns at once when refscope is inactive or the
 * calling thread is inside refscope (the guard), never allocates through
 * the program's allocator, and keeps errno.
 */
#include "refcount.h"

#include "guard.h"
#include "heapscan.h"
#include "preload.h"
#include "snapshot_trigger.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#define RS_ANNOT_MAX 65536       /* ignored blocks, root regions: each    */

/* ---- entry/exit ---------------------------------------------------------- */

/* Starts an annotation call: 1 when it must be handled (guard then set). */
static inline int enter(int *saved_errno)
{
    if (RS_UNLIKELY(rs_guard_active()) || !(RS_LIKELY(rs_active) || rs_init_now()))
        return 0;
    *saved_errno = errno;
    rs_guard_enter();
    return 1;
}

static inline void leave(int saved_errno)
{
    rs_guard_leave();
    errno = saved_errno;
}

/* ---- objects ------------------------------------------------------------- */

/* Counter already changed when the annotation runs: the value before the
 * event is the field minus this (incref: +1, decref_after: -1).  site: the
 * program's call of the annotation, where the stack walk starts. */
static void event(const void *obj, uint8_t op, int changed, int may_follow,
                  const rs_call_site_t *site)
{
    int saved;
    if (!obj || !enter(&saved))
        return;
    rs_refhooks_poll(0);
    rs_rc_call_t c = { .obj = (uint64_t)(uintptr_t)obj, .op = op,
                       .stack_id = rs_refcount_stack_for((uint64_t)(uintptr_t)obj, site) };
    c.info.hook = UINT16_MAX;
    c.may_follow = (uint8_t)may_follow;
    rs_obj_t o;
    /* Read the counter of a known object to check the event; an unknown
     * one is declared with events-kept counting (refscope_object not
     * called: nothing says where its counter is). */
    if (rs_objects && rs_objtable_lookup(rs_objects, c.obj, &o) && o.rc_width &&
        rs_refcount_read(c.obj + o.rc_offset, o.rc_width,
                         (o.flags & RS_OBJ_RC_SIGNED) != 0, &c.before) == 0) {
        c.counted = 1;
        c.before -= changed;
    }
    rs_refcount_record(&c, NULL);
    leave(saved);
}

RS_EXPORT void refscope_impl_object(const void *obj, const char *type_name,
                                    size_t rc_offset, size_t rc_width)
{
    int saved;
    if (!obj || !enter(&saved))
        return;
    rs_refhooks_poll(0);
    uint8_t width = rc_width == 1 || rc_width == 2 || rc_width == 4 || rc_width == 8
                        ? (uint8_t)rc_width : 0;
    rs_rc_call_t c = { .obj = (uint64_t)(uintptr_t)obj, .op = RS_REF_CTOR };
    c.info = (rs_obj_info_t){
        .type_id = rs_types ? rs_typetable_intern(rs_types, type_name) : 0,
        .rc_offset = rc_offset <= UINT32_MAX ? (uint32_t)rc_offset : 0,
        .rc_width = rc_offset <= UINT32_MAX ? width : 0,
        .hook = UINT16_MAX,
    };
    rs_obj_t o;
    if (rs_objects && rs_objtable_lookup(rs_objects, c.obj, &o)) {
        rs_refcount_declare(c.obj, &c.info);   /* re-declaration: no event */
    } else {
        c.stack_id = rs_refcount_stack_here();
        rs_refcount_record(&c, NULL);
    }
    leave(saved);
}

RS_EXPORT void refscope_impl_incref(const void *obj)
{
    event(obj, RS_REF_INCREF, 1, 0, RS_CALLER_SITE());         /* after the increment */
}

RS_EXPORT void refscope_impl_decref(const void *obj)
{
    event(obj, RS_REF_DECREF, 0, 1, RS_CALLER_SITE());         /* before the decrement */
}

RS_EXPORT void refscope_impl_decref_after(const void *obj)
{
    event(obj, RS_REF_DECREF, -1, 0, RS_CALLER_SITE());        /* after the decrement */
}

/* ---- analyses ------------------------------------------------------------ */

RS_EXPORT int refscope_impl_snapshot(const char *label)
{
    if (rs_guard_active() || !(rs_active || rs_init_now()))
        return 0;
    return rs_snapshot_request(label && *label ? label : "snapshot");
}

RS_EXPORT long refscope_impl_check(void)
{
    if (rs_guard_active() || !(rs_active || rs_init_now()))
        return 0;
    return rs_analysis_check();
}

/* ---- ignored blocks and root regions ------------------------------------- */

static pthread_mutex_t annot_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t ignored[RS_ANNOT_MAX];
static uint32_t n_ignored;
static atomic_uint ignored_live;
static rs_root_t user_roots[RS_ANNOT_MAX];
static uint32_t n_user_roots;

/* Says once that an array is full. */
static void say_full(const char *what)
{
    static atomic_int said;
    if (atomic_exchange(&said, 1))
        return;
    rs_line_t l = {.len = 0};
    rs_line_str(&l, "refscope: too many ");
    rs_line_str(&l, what);
    rs_line_str(&l, "; further ones are not kept\n");
    rs_diag_emit(&l);
}

RS_EXPORT void refscope_impl_ignore(const void *ptr)
{
    int saved;
    if (!ptr || !enter(&saved))
        return;
    pthread_mutex_lock(&annot_lock);
    int full = n_ignored == RS_ANNOT_MAX;
    if (!full) {
        ignored[n_ignored++] = (uint64_t)(uintptr_t)ptr;
        atomic_store(&ignored_live, n_ignored);
    }
    pthread_mutex_unlock(&annot_lock);
    if (full)
        say_full("refscope_ignore() blocks");
    leave(saved);
}

RS_EXPORT void refscope_impl_root(const void *ptr, size_t len)
{
    int saved;
    if (!ptr || !len || !enter(&saved))
        return;
    pthread_mutex_lock(&annot_lock);
    int full = n_user_roots == RS_ANNOT_MAX;
    if (!full)
        user_roots[n_user_roots++] = (rs_root_t){
            .start = (uint64_t)(uintptr_t)ptr, .size = len, .kind = RS_ROOT_USER,
            .module = UINT32_MAX,
        };
    pthread_mutex_unlock(&annot_lock);
    if (full)
        say_full("refscope_root() regions");
    leave(saved);
}

void rs_annotate_block_freed(const rs_block_t *b)
{
    if (RS_LIKELY(atomic_load_explicit(&ignored_live, memory_order_relaxed) == 0))
        return;
    pthread_mutex_lock(&annot_lock);
    for (uint32_t i = 0; i < n_ignored;) {
        /* An ignore names any address inside the block. */
        if (ignored[i] >= b->addr && ignored[i] < b->addr + (b->size ? b->size : 1))
            ignored[i] = ignored[--n_ignored];
        else
            i++;
    }
    atomic_store(&ignored_live, n_ignored);
    pthread_mutex_unlock(&annot_lock);
}

void rs_annotate_block_moved(const rs_block_t *old, uint64_t addr, uint64_t size)
{
    if (RS_LIKELY(atomic_load_explicit(&ignored_live, memory_order_relaxed) == 0))
        return;
    pthread_mutex_lock(&annot_lock);
    for (uint32_t i = 0; i < n_ignored;) {
        uint64_t off = ignored[i] - old->addr;
        if (ignored[i] < old->addr || off >= (old->size ? old->size : 1)) {
            i++;
        } else if (off < (size ? size : 1)) {
            ignored[i++] = addr + off;     /* same place in the moved block */
        } else {
            ignored[i] = ignored[--n_ignored];   /* cut off by a shrink */
        }
    }
    atomic_store(&ignored_live, n_ignored);
    pthread_mutex_unlock(&annot_lock);
}

int rs_annotate_any_ignored(void)
{
    return atomic_load_explicit(&ignored_live, memory_order_relaxed) != 0;
}

void rs_annotate_lock(void)
{
    pthread_mutex_lock(&annot_lock);
}

void rs_annotate_unlock(void)
{
    pthread_mutex_unlock(&annot_lock);
}

int rs_annotate_apply(rs_heap_t *heap, rs_rootvec_t *roots)
{
    for (uint32_t i = 0; i < n_ignored; i++) {
        uint32_t k = rs_heapscan_find(heap, ignored[i]);
        if (k != UINT32_MAX && ignored[i] < heap->nodes[k].addr + (heap->nodes[k].size ? heap->nodes[k].size : 1))
            heap->nodes[k].flags |= RS_NODE_IGNORED;
    }
    /* Clipped to readable memory: a region unmapped since it was named
     * must not be read. */
    for (uint32_t i = 0; i < n_user_roots; i++)
        if (rs_threadroots_push_readable(roots, RS_ROOT_USER, user_roots[i].start,
                                         user_roots[i].start + user_roots[i].size) != 0)
            return -1;
    return 0;
}
