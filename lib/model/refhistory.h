/*
 * refhistory.h - per-object reference history and the balancer that tells
 * which references were taken and never released.
 *
 * Every ctor/incref/decref of a tracked refcounted object appends one
 * 12-byte event (op, 32-bit stack id from the stack depot, small thread
 * index, sequence number: see rs_refhist_ctor_seq) to that object's
 * log.  A log is a 24-byte header (rs_refhist_t: event count, room, what compaction
 * dropped, a pointer) that its owner keeps by value, in the object
 * table's record, and one rs_mem block of events.  So an append reads
 * only the record, which the object table prefetches, and writes the line
 * where the event goes, which rs_refhist_prefetch() can ask for as soon
 * as the record is there; the event block is never read to find its end.
 * History is on by default (the preload's switch to turn it off is its
 * business).
 *
 * Bounded memory: when a log holding at least max_events events is full,
 * it is compacted before growing: the balancer runs, balanced pairs and
 * unmatched decrefs are removed (counted in pairs_dropped and
 * decrefs_dropped), the unbalanced increfs stay.  A log therefore holds at
 * most about max_events + (references still outstanding) events.
 * Compaction fixes pairings early; a pair it removed is never reconsidered.
 * Before that, a decref that pairs by rule 0 with the log's last event,
 * an incref that is not the first event, removes it instead of being
 * appended (not counted in pairs_dropped): the result of the balancer is
 * the same with or without that pair (rs_refhist_append explains why).
 *
 * ---- The pairing rule (refcount balancer) -----------------------------
 *
 * A ctor counts as an incref.  Decrefs are taken in log order; each one is
 * paired with one still-unpaired incref that precedes it in the log:
 *   0. if the newest unpaired incref was taken on the same thread by the
 *      same function at the same depth (the two stacks have as many
 *      frames, at least one, and differ at most in the innermost one),
 *      it is the one: ref(o); use(o); unref(o) in one function.  (Stacks
 *      of one frame, cut at depth 1, tell nothing of the function.)  The
 *      rules below would choose it too unless an older incref's stack
 *      ends with the decref's whole stack, innermost frame included (a
 *      reference taken inside an earlier call made from the very call
 *      site of the decref); rule 0 lets rs_refhist_append pair such
 *      increfs and decrefs as they come, so that the borrowing pattern,
 *      the most common one, costs no memory and no compaction;
 *   1. if some such incref was taken on the same thread and shares at
 *      least one caller frame with the decref, the choice is among the
 *      same-thread increfs;
 *   2. else, if some incref on any thread shares a caller frame, among
 *      all increfs that share one (with an incref of another thread, the
 *      frames every thread has, from __clone3 to the thread's start
 *      routine, do not count: rs_refhist_stacks_t.thread_start_pc);
 *   3. else the most recent unpaired incref.
 * Within the group of 1 or 2 the incref with the longest common caller
 * suffix wins (frames compared from the outermost, main's side, inward,
 * by return address); ties go to the one with the fewest frames outside
 * that suffix (taken at the same call depth, i.e. most likely in the same
 * function as the decref); remaining ties to the most recent.  A decref
 * with no unpaired incref before it is "unmatched" (the object was
 * referenced before tracking began, or a double unref).  The increfs left
 * unpaired are the references that were never released.  Rules 2 and 3
 * are guesses when more than one incref is open: a decref on a thread
 * that took none of them (a hand-off) may have released any;
 * rs_refhist_balance_guesses() says which pairings were guessed.
 *
 * Example: borrow_ok() { ref(o); ...; unref(o); } and borrow_wrong()
 * { ref(o); } both called from main, which created o and unrefs it at the
 * end.  borrow_ok's stacks differ only in the leaf, so its pair shares
 * every caller frame and is matched; main's final unref shares only the
 * frames above main with both the ctor and borrow_wrong's incref, and the
 * ctor (same depth) wins: borrow_wrong's incref is the unbalanced one.
 *
 * Locking: a log has no lock of its own; the object table's shard lock
 * protects it.  The sequence numbers are lock-free.
 */
#ifndef RS_REFHISTORY_H
#define RS_REFHISTORY_H

#include "rs_model.h"

#include <stdint.h>

/* rs_ref_op_t and rs_ref_event_t live in rs_model.h (they are stored in
 * snapshots). */

/* A log's header, kept by value by its owner; all zero is the empty log. */
typedef struct rs_refhist {
    rs_ref_event_t *events;          /* events[0..n), room for cap; NULL
                                        when cap is 0                      */
    uint32_t        n, cap;
    uint32_t        pairs_dropped;   /* balanced pairs removed by compaction */
    uint32_t        decrefs_dropped; /* unmatched decrefs removed            */
} rs_refhist_t;

/* How the balancer reads stacks: fills *out for id and returns 0, or -1
 * (unknown id or 0: the stack shares no frame with anything).  A wrapper
 * around rs_stackdepot_get() in the preload, around snapshot stacks in the
 * tool.  fn NULL means no stacks are known.
 * thread_start_pc: the return address into glibc's start_thread that the
 * stacks of every thread but the main one end with (then __clone3), or 0
 * when unknown; read with an atomic load (the preload learns it when its
 * first thread starts).  Frames up to the thread's start routine's are
 * the same in every thread, so they are no evidence that a decref on one
 * thread released an incref taken on another (rule 2). */
typedef struct rs_refhist_stacks {
    int (*fn)(void *ctx, uint32_t stack_id, rs_stack_t *out);
    void *ctx;
    uint64_t thread_start_pc;
} rs_refhist_stacks_t;

#define RS_REFHIST_DEFAULT_MAX 64   /* REFSCOPE_HISTORY's default */

/* Sequence numbers order a constructor's entry against the other events
 * of its object (rs_refhist_adopt_ctor): a constructor's entry takes a
 * fresh odd number, larger than every number handed out before it; any
 * other event takes the current even one, which is larger than the odd
 * numbers of the entries before it and smaller than those after.  So an
 * event that happens after a constructor's entry (on any thread: it saw
 * the object) has a larger number, one before it a smaller number; events
 * between two entries share a number.  Both wrap after 2^32 (2^31
 * constructor entries); comparisons are modulo 2^32. */
uint32_t rs_refhist_ctor_seq(void);
uint32_t rs_refhist_event_seq(void);

/*
 * Appends e to *log (an empty log gets room for 4 events), compacting it
 * first when it is full and holds at least max_events events (0 means
 * never compact).  Room doubles when compaction did not free half of it.
 * Returns 0, or -1 when memory is exhausted: then *log is unchanged and
 * the event is lost (the caller counts it).
 * A decref that pairs with the log's last event by rule 0 removes that
 * event instead (see the pairing rule).
 * Hot path: one store of the event and one of n, on top of the header the
 * caller already has in hand (a decref first reads the last event and,
 * when it is an incref of the same thread, compares two stacks); growth
 * and compaction are the slow path.
 */
int rs_refhist_append(rs_refhist_t *log, const rs_ref_event_t *e,
                      uint32_t max_events, const rs_refhist_stacks_t *stacks);

/* rs_refhist_append without rule 0: e is always appended, so that it is
 * the log's last event afterwards (a held decref, which the object table
 * reads back from there: objtable.h's annotation-order rule). */
int rs_refhist_append_kept(rs_refhist_t *log, const rs_ref_event_t *e,
                           uint32_t max_events, const rs_refhist_stacks_t *stacks);

/* A hint, no effect on the log: starts loading, for writing, the line(s)
 * where the next event of *log will go.  A stale or torn *log (read
 * without the owner's lock) only makes the hint wrong. */
static inline void rs_refhist_prefetch(const rs_refhist_t *log)
{
    rs_ref_event_t *ev = __atomic_load_n(&log->events, __ATOMIC_RELAXED);
    uint32_t n = __atomic_load_n(&log->n, __ATOMIC_RELAXED);
    if (ev) {
        __builtin_prefetch(&ev[n], 1, 3);
        __builtin_prefetch((const char *)&ev[n + 1] - 1, 1, 3);
    }
}

/*
 * A ctor event e arriving for an object that already has a log: when the
 * constructor call began (e->seq, taken when it was entered) before every
 * event in the log and nothing was compacted away, the object was created
 * inside that call and the logged events happened inside it (a nested
 * hooked constructor, refs the constructor takes and drops itself).  Then
 * e becomes the first event: it replaces a ctor at the front (the
 * outermost call is the one the program made; returns 0) or is inserted
 * before the others (returns 1: one more reference).  Otherwise, or when
 * memory runs out, nothing changes and -1 is returned.
 */
int rs_refhist_adopt_ctor(rs_refhist_t *log, const rs_ref_event_t *e);

/* Frees a log's events (its owner discards the header); NULL is
 * accepted. */
void rs_refhist_free(const rs_refhist_t *log);

/* Bytes of a log's event block (0 for NULL or an empty log); the header
 * is counted with its owner. */
uint64_t rs_refhist_bytes(const rs_refhist_t *log);

/*
 * Runs the pairing rule over ev[0..n).  partner must have n entries; on
 * return partner[i] is the index of the event paired with event i, or -1
 * (an unbalanced incref/ctor, or an unmatched decref).  Returns the number
 * of unbalanced increfs and ctors.  Cannot fail; needs no memory.
 */
uint32_t rs_refhist_balance(const rs_ref_event_t *ev, uint32_t n,
                            const rs_refhist_stacks_t *stacks, int32_t *partner);

/*
 * rs_refhist_balance, also saying which pairings are guesses: guessed
 * (n entries, or NULL) gets 1 for each decref that rule 2 or 3 paired
 * while more than one incref was open (no increfs of its own thread shared
 * a caller frame with it: a reference handed to another thread and
 * released there, typically), else 0.  Such a decref may have released
 * any of the increfs open at that time; so an incref left unbalanced that
 * was open when a guessed decref came (one older than that decref) may
 * have been released instead of the incref the guess chose, which may be
 * the one never released.  Compaction drops guessed pairs like the others
 * (a log of more than max_events events may have lost some).
 */
uint32_t rs_refhist_balance_guesses(const rs_ref_event_t *ev, uint32_t n,
                                    const rs_refhist_stacks_t *stacks,
                                    int32_t *partner, uint8_t *guessed);

/* Length of the common caller suffix of two stacks (frames equal when
 * counted from the outermost end). */
uint32_t rs_refhist_common_suffix(const rs_stack_t *a, const rs_stack_t *b);

/* Net count the events imply: ctors + increfs - decrefs, plus nothing for
 * dropped pairs (they cancel) minus decrefs_dropped. */
int64_t rs_refhist_net(const rs_refhist_t *log);

#endif /* RS_REFHISTORY_H */
