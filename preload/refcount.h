/*
 * refcount.h - private interface of the refcounted-object side of the
 * preload: refcount.c (the object and type tables, reference events,
 * refcount errors, the analysis-time view), annotate.c (refscope_ignore /
 * refscope_root bookkeeping) and refhooks.c (profile hooks, dlopen
 * polling).  Nothing here is exported from librefscope.so.
 *
 * Lock order (extends preload.h's): the realloc window (below) -> module
 * table -> annotate.c's lock ->
 * refcount side locks (objtable shards, then an object's record - an
 * event on a known object takes only the record, objtable.h - then the
 * interior map, the graveyard, the error list) -> stack depot -> block
 * registry logs ->
 * rs_mem backend.  None is held while program code
 * runs (type-name functions are called with no lock held).
 */
#ifndef RS_REFCOUNT_H
#define RS_REFCOUNT_H

#include "blockreg.h"
#include "call_site.h"
#include "objtable.h"
#include "rootvec.h"
#include "rs_model.h"
#include "version_range.h"

#include <stdint.h>

/* ---- refcount.c ---------------------------------------------------------- */

/* NULL until rs_refcount_init() succeeded. */
extern rs_objtable_t  *rs_objects;
extern rs_typetable_t *rs_types;

/* Creates the tables; max_events is REFSCOPE_HISTORY (0: no history).
 * Returns 0, or -1 when memory ran out (refcounted objects then stay
 * untracked; allocation tracking is unaffected). */
int rs_refcount_init(uint32_t max_events);

/* One reference event as a hook or an annotation saw it. */
typedef struct rs_rc_call {
    uint64_t      obj;       /* the object pointer (the table key)           */
    uint8_t       op;        /* RS_REF_CTOR / INCREF / DECREF                */
    uint8_t       counted;   /* `before` holds the counter field's value      */
    uint8_t       may_follow;/* refscope_decref: may have been called after
                                the decrement (objtable.h, the annotation-
                                order rule): a `before` of 0 is held         */
    uint32_t      stack_id;  /* where it happened, 0 unknown                 */
    int64_t       before;    /* counter value before this event              */
    uint32_t      seq;       /* event sequence number, 0: take one now (a
                                ctor's is taken when its call is entered)    */
    rs_obj_info_t info;      /* what a newly seen object is (type may be 0)  */
} rs_rc_call_t;

/*
 * Records c in the object table (with history), registers a newly seen
 * object's enclosing heap block, and detects refcount errors (reported at
 * once on stderr and kept for the snapshot).  Never changes the program's
 * state.  Returns the rs_objtable_record() result (RS_OBJ_UNTRACKED also
 * for an event refused as a use after the final decref); *out (may be
 * NULL) gets the object's state after the event.  Call with the guard set.
 */
rs_obj_result_t rs_refcount_record(const rs_rc_call_t *c, rs_obj_t *out);

/* Before an analysis, world running: ends the holds of the annotation-
 * order rule (objtable.h) still on, reporting each as an underflow. */
void rs_refcount_settle(void);

/* Called by each thread refscope starts (threads.c) with its start
 * wrapper's return address, the one into glibc's start_thread: the
 * balancer's rule 2 discounts the frames every thread shares
 * (rs_refhist_stacks_t.thread_start_pc).  The first call sets it. */
void rs_refcount_note_thread_start(uint64_t return_address);

/* Declares (refscope_object, or a type resolved after creation) the
 * object at obj; registers its heap block when new.  -1 on exhaustion. */
int rs_refcount_declare(uint64_t obj, const rs_obj_info_t *info);

/* Reads a width-byte counter at p (1, 2, 4, 8), sign-extended when
 * is_signed.  Returns 0, or -1 for another width. */
int rs_refcount_read(uint64_t p, uint8_t width, int is_signed, int64_t *out);

/* The block b is being freed (its memory still valid): forgets the
 * objects inside it, reporting a free of an object still referenced.
 * Cheap when no object is tracked.  Call with the guard NOT set. */
void rs_refcount_block_freed(const rs_block_t *b);

/* The objects of a block being realloc'ed, out of the table while the real
 * realloc runs (rs_refcount_block_detach / _attach). */
typedef struct rs_rc_moving {
    rs_obj_t *objs;          /* rs_mem; NULL when the block held none        */
    uint32_t  n, cap;
} rs_rc_moving_t;

/* The block b is about to be realloc'ed: takes every object inside it out
 * of the table (and the interior map) into *m, before the real call, so
 * that another thread handed b's address cannot meet them.  Cheap when no
 * object is tracked.  Call with the guard NOT set. */
void rs_refcount_block_detach(const rs_block_t *b, rs_rc_moving_t *m);

/* The realloc is over: the objects of *m, detached from the block at
 * old_addr, now live in block *now (the same address when it stayed or the
 * call failed).  Each keeps its offset inside the block, type, counter,
 * count and history; one that no longer starts inside the shrunk block is
 * forgotten like a freed one.  Frees m's array.  Call with the guard NOT
 * set. */
void rs_refcount_block_attach(rs_rc_moving_t *m, uint64_t old_addr, const rs_block_t *now);

/* The realloc window.  From rs_refcount_block_detach() until
 * rs_refcount_block_attach() returns, a block's objects (and the block
 * itself, out of the block registry) are seen by no analysis.  A realloc
 * that moves objects holds the window open (rs_refcount_move_begin/_end,
 * shared: reallocs on several threads run at once); an analysis closes it
 * (rs_refcount_moves_block, exclusive, writers first) before it takes any
 * other lock and reopens it (rs_refcount_moves_allow) once the world is
 * stopped, so it never stops a thread inside the window.  Lock order: the
 * window comes before every other refscope lock.  In final mode (a process
 * about to end, maybe in a signal handler that interrupted the window on
 * this very thread) the wait is bounded: rs_refcount_moves_block returns -1
 * after RS_MOVES_WAIT_MS and the analysis goes on without it, as before.
 * Returns 0 when the window is closed (then call rs_refcount_moves_allow). */
void rs_refcount_move_begin(void);
void rs_refcount_move_end(void);
int rs_refcount_moves_block(int final);
void rs_refcount_moves_allow(void);
/* In a fork child: the window was perhaps held by a thread the child does
 * not have; opens it again. */
void rs_refcount_atfork_child(void);

/* Stack of the caller (refscope frames dropped), interned; 0 if none. */
uint32_t rs_refcount_stack_here(void);

/* The same, for an event on obj (0 = none), walked from site when not
 * NULL (a hooked call's, call_site.h): obj's record and history in the
 * object table are prefetched around the stack walk, so that the event
 * recorded next finds them in cache (a hint, measured on bench_refs). */
uint32_t rs_refcount_stack_for(uint64_t obj, const rs_call_site_t *site);

/* World-stopping analysis: lock everything before stopping the world,
 * unlock right after (like the block registry), so no stopped thread holds
 * one of these locks.  Also used by the fork handlers. */
void rs_refcount_lock_all(void);
void rs_refcount_unlock_all(void);

/* With the world stopped, heap->nodes sorted and no edges yet: splits
 * blocks holding several objects into one node per object
 * (rs_objnodes_split: heap->nodes may be replaced), marks the node holding
 * every tracked object RS_NODE_REFCOUNTED (type, counter offset relative
 * to the node, count read from the block now or from events) and fills
 * *hist (CSR over nodes, only refcounted nodes have events).  Objects
 * outside any live block are counted in *outside.  Scratch memory.
 * Returns 0, or -1 when memory ran out (nodes marked so far stay). */
int rs_refcount_apply(rs_heap_t *heap, rs_ref_history_t *hist, uint64_t *outside);
/* After rs_heapscan_edges(): marks in heap->weak_edges the edges that
 * a profile's `weak` lines name for a refcounted object (a back pointer
 * that holds no reference, profile.h; weak_edges.h), which trial deletion then
 * does not count.  heap->weak_edges stays NULL when no profile has weak
 * offsets, or when memory runs out (said once: back pointers then count
 * as before).  Analysis memory (rs_mem). */
void rs_refcount_mark_weak(rs_heap_t *heap);

/* Copies of the type names (types[i] has id i + 1) and of the refcount
 * errors kept so far; *total_errors counts every error, also those not
 * kept.  Scratch memory; -1 when memory ran out. */
int rs_refcount_types(char ***types, uint32_t *n);
int rs_refcount_errors(rs_rc_error_t **errs, uint32_t *n, uint32_t *total_errors);

/* ---- annotate.c ---------------------------------------------------------- */

/* With the world stopped: marks refscope_ignore()d blocks RS_NODE_IGNORED
 * (heap->nodes sorted) and appends refscope_root() regions to roots.
 * Returns 0, or -1 when memory ran out. */
int rs_annotate_apply(rs_heap_t *heap, rs_rootvec_t *roots);
/* The block b is being freed: forget a refscope_ignore() inside it. */
void rs_annotate_block_freed(const rs_block_t *b);
/* realloc moved (or resized) block *old to [addr, addr + size): a
 * refscope_ignore() inside it follows at the same offset. */
void rs_annotate_block_moved(const rs_block_t *old, uint64_t addr, uint64_t size);
/* Non-zero while some refscope_ignore() is in force (lock-free). */
int rs_annotate_any_ignored(void);
void rs_annotate_lock(void);
void rs_annotate_unlock(void);

/* ---- refhooks.c ---------------------------------------------------------- */

/* Parses REFSCOPE_HOOKS (errors once on stderr) and installs the GOT
 * hooks.  Call once at start-up, after rs_refcount_init(). */
void rs_refhooks_init(void);

/* Bumped by the exported dlopen (dl_hooks.c) before the real one runs. */
extern unsigned long rs_dl_open_count;

/* Patches modules dlopen'ed since the last call, if any (see refhooks.c
 * for when that is safe).  pc0: innermost pc of the current allocation,
 * 0 from a hook.  Cheap when nothing changed: one load and a compare. */
void rs_refhooks_poll_slow(uint64_t pc0);
/* Patches every module again now (before an analysis); no-op without
 * hooks.  Never with the world stopped. */
void rs_refhooks_refresh(void);
/* After a dlclose: forgets the hooks of functions no longer loaded (a
 * library loaded again is hooked afresh at its next dlopen's refresh). */
void rs_refhooks_forget_unloaded(void);
extern unsigned long rs_refhooks_seen_opens;
extern int rs_refhooks_installed;
static inline void rs_refhooks_poll(uint64_t pc0)
{
    if (__builtin_expect(rs_refhooks_installed &&
                         __atomic_load_n(&rs_dl_open_count, __ATOMIC_RELAXED) !=
                             __atomic_load_n(&rs_refhooks_seen_opens, __ATOMIC_RELAXED),
                         0))
        rs_refhooks_poll_slow(pc0);
}

/* The parsed REFSCOPE_HOOKS set, or NULL (none, or it did not parse). */
const struct rs_profile_set *rs_refhooks_profiles(void);

/* ---- weak_fields.c ------------------------------------------------------- */

/* obj, of type type_id, was first seen by hook: asks what its profile's
 * weak lines need to know (is-a per type, then once per line the
 * library's version and the private data's offset; in a hook, world
 * running). */
void rs_weak_fields_note(const struct rs_profile_set *set, uint32_t hook, uint64_t obj,
                         uint32_t type_id);
/* 1 when weak line k of profile applies to objects of type type_id, with
 * *offset set to its field's offset from the object (negative for a
 * field of private data): the line has no condition, or its type was
 * found an instance of its is-a type, its version in range and its
 * private offset known.  0 otherwise (*offset unchanged).  Lock-free. */
int rs_weak_field_where(const struct rs_profile_set *set, uint32_t profile, uint32_t k,
                        uint32_t type_id, int64_t *offset);
/* Around fork (init.c): no thread of the parent holds the answers' lock
 * in the child.  Taken before every other refscope lock: a note holds it
 * while GLib takes its own, never one of refscope's. */
void rs_weak_fields_lock(void);
void rs_weak_fields_unlock(void);

/* ---- registry_tables.c --------------------------------------------------- */

/* World running, before the analysis stops it: resolves the version, the
 * functions and the library's writable segments of every `registry` line
 * (profile.h) not resolved yet (dlsym, dl_iterate_phdr). */
void rs_registry_tables_prepare(void);
/* 1 when some registry line applies (prepared, version in range). */
int rs_registry_tables_ready(void);
/* 1 when the exported unsigned variables PREFIX_major_version, _minor_
 * and _micro_ exist and give a version in r (world running). */
int rs_registry_version_ok(const char *prefix, const rs_version_range_t *r);
struct rs_registry_marks;
/* World stopped, from rs_refcount_mark_weak (marks: its weak and registry
 * bits, one per edge): finds the registry lines' tables through the roots
 * of their library and marks their pointers (registry_edges.h), adding to
 * marks->owned (scratch memory).  Out of memory: said once, the marks
 * made so far stay. */
void rs_registry_tables_mark(rs_heap_t *heap, struct rs_registry_marks *marks);

/* ---- qdata_lines.c ------------------------------------------------------- */

/* World running, before the analysis stops it: resolves the version, the
 * quark (g_quark_try_string) and the except= type of every `qdata` line
 * (profile.h) not resolved yet. */
void rs_qdata_lines_prepare(void);
/* 1 when some qdata line applies (prepared, version in range, quark made). */
int rs_qdata_lines_ready(void);
/* World stopped, from rs_refcount_mark_weak: reads the qdata of every
 * object of a profile with qdata lines and marks GLib's weak-reference
 * bookkeeping (qdata_edges.h) in marks. */
void rs_qdata_lines_mark(rs_heap_t *heap, struct rs_registry_marks *marks);

/* ---- recognized.c -------------------------------------------------------- */

struct rs_recognize_result;
/* World running, before the analysis stops it: resolves the recognizers'
 * symbols (dlsym) and checks their version ranges (said once on stderr). */
void rs_recognized_prepare(void);
/* World stopped, module table lock held, nodes sorted, after
 * rs_refcount_apply: marks the objects the recognizers find (*res:
 * scratch memory).  Returns 0, or -1 when memory ran out. */
int rs_recognized_apply(rs_heap_t *heap, struct rs_recognize_result *res);
/* World running: appends res's type names to types[0..*n) (scratch) and
 * gives the recognised nodes their final type ids.  -1 on exhaustion. */
int rs_recognized_types(rs_heap_t *heap, const struct rs_recognize_result *res,
                        char ***types, uint32_t *n);

#endif /* RS_REFCOUNT_H */
