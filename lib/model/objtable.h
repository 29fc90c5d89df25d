/*
 * objtable.h - side table of refcounted objects, keyed by block address,
 * and the type-name interning table.
 *
 * The block registry (blockreg.h) knows every live block; this table knows
 * only the few that are refcounted objects: their type, where their counter
 * lives, the count implied by the reference events seen, and the header
 * of their reference history (refhistory.h).  48 bytes per object plus the
 * history's events.  The preload calls rs_objtable_record() from the incref/decref/
 * ctor hooks and the annotation API, rs_objtable_remove() when a block is
 * freed (skip it cheaply while rs_objtable_count() is 0), and reads the
 * table with rs_objtable_foreach() when the world is stopped.
 *
 * Locking: the table is split into RS_OBJTABLE_SHARDS shards by address
 * hash, each with its own lock (rs_lock.h: not recursive), held only
 * inside these functions.  An event on a known object takes no shard
 * lock, only its record (a hold bit, objtable.c), so threads working on
 * different objects share no line; everything else takes the shard lock.
 * Lock order: objtable shard, then a record, then the stack depot's shard
 * (history compaction reads stacks); none calls back into the program.
 * rs_objtable_foreach() is for a stopped world (or no event in progress):
 * it reads records without waiting for their holders.  The type table has
 * one mutex of its own, never held together with a shard lock.
 * Memory comes from rs_mem; on exhaustion functions return -1 and the
 * table keeps what it had.
 */
#ifndef RS_OBJTABLE_H
#define RS_OBJTABLE_H

#include "refhistory.h"

#include <stdint.h>

#define RS_OBJTABLE_SHARDS 64

enum {
    RS_OBJ_RC_SIGNED      = 1u << 0, /* the counter field is signed          */
    RS_OBJ_RC_FROM_EVENTS = 1u << 1, /* no field: count kept from events     */
    RS_OBJ_SEEN_LATE      = 1u << 2, /* first seen by incref/decref/declare,
                                        not by a ctor: references taken
                                        before may be missing                */
    RS_OBJ_HELD           = 1u << 3, /* the latest event is a decref held by
                                        the annotation-order rule (below)    */
    RS_OBJ_LAST_DECREF    = 1u << 4, /* the latest event is a decref (the
                                        history's last event may be older:
                                        pairing rule 0 drops pairs)          */
};

typedef struct rs_obj {
    uint64_t      addr;        /* block address (the key)                    */
    uint32_t      type_id;     /* rs_typetable id, 0 = unknown               */
    uint32_t      rc_offset;   /* byte offset of the counter                 */
    uint8_t       rc_width;    /* 1, 2, 4, 8; 0 = count from events          */
    uint8_t       flags;       /* RS_OBJ_*                                   */
    uint16_t      hook;        /* profile hook index that created it, or
                                  UINT16_MAX (annotation)                    */
    int32_t       event_count; /* ctor/incref minus decref seen              */
    rs_refhist_t  hist;        /* reference history (empty if none)          */
} rs_obj_t;

/* What a newly seen object is: from the hook's profile or the annotation. */
typedef struct rs_obj_info {
    uint32_t type_id;
    uint32_t rc_offset;
    uint8_t  rc_width;         /* 0: count from events                       */
    uint8_t  rc_signed;
    uint16_t hook;
} rs_obj_info_t;

/*
 * ---- The annotation-order rule ------------------------------------------
 *
 * refscope_decref() must be called before the program's decrement; a
 * program that calls it after (`if (--o->rc == 0) { refscope_decref(o);
 * free(o); }`) shows the counter at 0 at every final release, exactly
 * what a real underflow (a decref with no reference left) shows.  What
 * comes next tells them apart: after a misplaced annotation the object is
 * freed at once; after a real underflow it is not (the program's own
 * decrement took the count below zero, so it did not free).  So a decref
 * that saw the counter at 0 (the caller says so: opts.hold) is held on
 * the object (RS_OBJ_HELD) instead of being reported, and
 *   - the next event on the object ends the hold: the held decref was a
 *     real underflow (rs_objtable_record hands it back in *opts.ended);
 *   - the free of the object's block with the hold still on is the wrong
 *     order (rs_objtable_remove's *out has RS_OBJ_HELD): no error;
 *   - at an analysis, rs_objtable_end_holds() ends the holds left: real
 *     underflows (the object was never freed).
 * A counter already below 0 at a decref is never held.  The held decref
 * is the object's last history event; without history its stack is 0.
 */

/* Options for rs_objtable_record(). */
typedef struct rs_objtable_opts {
    uint8_t                    history;     /* append events to the history  */
    uint32_t                   max_events;  /* compaction threshold, 0 never */
    const rs_refhist_stacks_t *stacks;      /* for compaction                */
    uint8_t                    hold;        /* a decref that saw 0: hold it  */
    rs_ref_event_t            *ended;       /* out, may be NULL: the held
                                               decref this event ended (op
                                               RS_REF_DECREF), else op 0     */
} rs_objtable_opts_t;

/* Results of rs_objtable_record(). */
typedef enum rs_obj_result {
    RS_OBJ_ERROR     = -1, /* out of memory: nothing recorded               */
    RS_OBJ_UPDATED   = 0,  /* existing object, event recorded               */
    RS_OBJ_CREATED   = 1,  /* new object, event recorded                    */
    RS_OBJ_DUP_CTOR  = 2,  /* ctor of a tracked object: ignored             */
    RS_OBJ_UNTRACKED = 3,  /* decref of an unknown address: nothing recorded */
} rs_obj_result_t;

typedef struct rs_objtable rs_objtable_t;

/* NULL on allocation failure. */
rs_objtable_t *rs_objtable_create(void);
/* Frees the table and every history; NULL is accepted. */
void rs_objtable_destroy(rs_objtable_t *t);

/*
 * Records reference event *ev (op RS_REF_CTOR/INCREF/DECREF) on the object
 * at addr under one shard lock.  An unknown address is created by a ctor
 * or an incref (the latter flagged RS_OBJ_SEEN_LATE) with *info; a decref
 * of an unknown address records nothing.  event_count moves by +1/-1.  A
 * ctor of a tracked object (RS_OBJ_DUP_CTOR) is only kept, as the first
 * event, when its call began before every logged event (ev->seq taken at
 * the call's entry; rs_refhist_adopt_ctor): then the object was created
 * inside it, the count grows by one for a ctor put first and the object
 * is no longer SEEN_LATE.  A ctor of a tracked object whose count is kept
 * from events and is 0 or below is not a duplicate: the library recycled
 * a released object from a pool of its own (cairo's patterns, libdbus's
 * message cache), so the ctor is recorded (RS_OBJ_UPDATED) and starts
 * the object's new life.  If
 * out is not NULL the object's state after the event is copied there.
 * Returns an rs_obj_result_t.  When only the history append fails the
 * count is still updated and RS_OBJ_ERROR is returned.
 */
rs_obj_result_t rs_objtable_record(rs_objtable_t *t, uint64_t addr,
                                   const rs_obj_info_t *info,
                                   const rs_ref_event_t *ev,
                                   const rs_objtable_opts_t *opts, rs_obj_t *out);

/*
 * Declares (refscope_object) or re-declares the object at addr with *info,
 * keeping its count and history if it was known (flagged SEEN_LATE when
 * new).  Returns 1 if created, 0 if updated, -1 on exhaustion.
 */
int rs_objtable_declare(rs_objtable_t *t, uint64_t addr, const rs_obj_info_t *info);

/*
 * Ends up to max holds of the annotation-order rule: for each held object
 * calls fn(o, held decref) with its shard locked (fn must not call back
 * into the table nor take the type table's lock) and clears the flag.
 * Returns how many it ended (call again while that is max).
 */
uint32_t rs_objtable_end_holds(rs_objtable_t *t, uint32_t max,
                               void (*fn)(const rs_obj_t *o, const rs_ref_event_t *held,
                                          void *arg),
                               void *arg);

/*
 * Removes the object at addr (its block was freed).  Returns 1 and copies
 * it to *out when there was one, else 0.  The history is handed to the
 * caller through out->hist (free it with rs_refhist_free(&out->hist));
 * when out is NULL it is freed here.
 */
int rs_objtable_remove(rs_objtable_t *t, uint64_t addr, rs_obj_t *out);

/*
 * Inserts the record *o as it is: an object whose block moved (realloc)
 * keeps its type, counter, count and history under its new address
 * o->addr.  The table takes over o->hist.  A record already at o->addr (an
 * object whose block was freed where refscope could not see it) is
 * replaced and its history freed.  Returns 1 if created, 0 if it replaced
 * one, -1 on exhaustion or a zero address (nothing changed: the caller
 * still owns o->hist).
 */
int rs_objtable_insert(rs_objtable_t *t, const rs_obj_t *o);

/* Hints, no effect on the contents; no lock taken.
 * rs_objtable_prefetch() starts loading the two slots where addr's record
 * is most likely (its home slot, and the next one, where linear probing
 * at a load of 25-50% puts about a fifth of the records) and returns
 * them; rs_objtable_prefetch_history(), called a while later with them
 * (when they have arrived), starts loading the line where the record's
 * next history event goes if the record is in one of them.  A stale
 * answer (the table grew meanwhile: its old slots stay mapped) only makes
 * the hint wrong. */
typedef struct rs_objtable_near {
    const rs_obj_t *home, *next;     /* NULL: nothing to look at */
} rs_objtable_near_t;
rs_objtable_near_t rs_objtable_prefetch(rs_objtable_t *t, uint64_t addr);
void rs_objtable_prefetch_history(rs_objtable_near_t near, uint64_t addr);

/* Copies the object at addr to *out; returns 1 if found, else 0.  out->hist
 * stays owned by the table (read it only with the world stopped). */
int rs_objtable_lookup(rs_objtable_t *t, uint64_t addr, rs_obj_t *out);

/* Number of objects (lock-free, may lag concurrent updates by one). */
uint64_t rs_objtable_count(const rs_objtable_t *t);
/* Bytes used by the table and all histories; *history (may be NULL) gets
 * the histories' share. */
uint64_t rs_objtable_bytes(rs_objtable_t *t, uint64_t *history);

/* Calls fn for every object, shard by shard, each shard locked while it
 * is visited; fn must not call back into the table.  Order is
 * unspecified.  Only with the world stopped or no event in progress (see
 * Locking). */
void rs_objtable_foreach(rs_objtable_t *t,
                         void (*fn)(const rs_obj_t *o, void *arg), void *arg);

/* Fork and world-stop support: lock every shard and wait for the events
 * in progress (prepare; before stopping the world), unlock them
 * (parent/child; once the world is stopped).  In a fork child, after
 * unlock_all, rs_objtable_forked() clears the holds that threads which do
 * not exist there left. */
void rs_objtable_lock_all(rs_objtable_t *t);
void rs_objtable_unlock_all(rs_objtable_t *t);
void rs_objtable_forked(rs_objtable_t *t);

/* ---- type names --------------------------------------------------------- */

typedef struct rs_typetable rs_typetable_t;

/* NULL on allocation failure. */
rs_typetable_t *rs_typetable_create(void);
/* Frees the table and its names; NULL is accepted. */
void rs_typetable_destroy(rs_typetable_t *tt);

/* Returns the id of name (dense from 1 in order of first interning),
 * adding a copy if new.  Returns 0 for NULL or "" or on exhaustion. */
uint32_t rs_typetable_intern(rs_typetable_t *tt, const char *name);

/* The id of name, or 0 when it was never interned (nothing is added). */
uint32_t rs_typetable_find(rs_typetable_t *tt, const char *name);

/* The name of id, or NULL if id is 0 or unknown.  Valid until destroy. */
const char *rs_typetable_name(rs_typetable_t *tt, uint32_t id);

/* Number of names (the largest id). */
uint32_t rs_typetable_count(rs_typetable_t *tt);

#endif /* RS_OBJTABLE_H */
