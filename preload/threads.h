/*
 * threads.h - private interface between the three files of the thread side
 * of the preload: threads.c (the registry of known threads, the
 * pthread_create hook, /proc/self/maps reading), world.c (stopping and
 * resuming the other threads) and threadroots.c (turning stopped threads
 * into root regions).  Nothing here is used outside those files; the
 * contract with the rest of the preload is threadroots.h.
 *
 * Locking: one lock, the registry lock (threads.c).  It is taken for short
 * registry updates and held by rs_world_stop() until rs_world_resume(), so
 * that no registered thread can unregister (and exit, freeing its stack)
 * while the world is stopped.  It is never held while calling program code
 * and never taken in the stop signal handler.
 */
#ifndef RS_THREADS_H
#define RS_THREADS_H

#include <stddef.h>
#include <stdint.h>

/* ---- threads.c: registry ------------------------------------------- */

/* What the registry knows about a thread that registered itself. */
typedef struct rs_thread_info {
    uint32_t  tid;        /* kernel thread id                               */
    uint64_t  self;       /* pthread_self() == thread pointer on x86_64     */
    uint64_t  stack_lo;   /* [stack_lo, stack_hi); stack_lo 0 = unknown     */
    uint64_t  stack_hi;
    uint8_t   ghost;      /* a thread of a parent process (fork): its tid
                             means nothing here, only its memory is left */
} rs_thread_info_t;

void rs_threads_lock(void);
void rs_threads_unlock(void);
/* With the lock held: copies the entry of kernel thread tid into *out and
 * returns 1, or returns 0 if tid is not registered. */
int  rs_threads_lookup(uint32_t tid, rs_thread_info_t *out);
/* With the lock held: calls fn for every registered thread of this
 * process (ghosts excluded), or for every ghost. */
void rs_threads_foreach(void (*fn)(const rs_thread_info_t *t, void *ctx),
                        void *ctx);
void rs_threads_foreach_ghost(void (*fn)(const rs_thread_info_t *t, void *ctx),
                              void *ctx);

/* ---- threads.c: /proc/self/maps, read with read(2), no allocation ---- */

/* Calls fn(start, end, readable, name, ctx) for each mapping in address
 * order, name being the path or "[stack]" etc. ("" if none, NUL
 * terminated, valid during the call only).  fn returns non-zero to stop.
 * Returns 0, or -1 if /proc/self/maps cannot be read. */
typedef int (*rs_maps_fn)(uint64_t start, uint64_t end, int readable,
                          const char *name, void *ctx);
int rs_threads_maps_foreach(rs_maps_fn fn, void *ctx);

/* ---- world.c: the stop set ------------------------------------------ */

enum rs_stop_state {
    RS_STOP_SIGNALLED = 1,  /* signal sent, no answer yet                   */
    RS_STOP_STOPPING  = 2,  /* handler claimed the record, saving registers */
    RS_STOP_STOPPED   = 3,  /* parked in the handler, registers valid       */
    RS_STOP_TIMEOUT   = 4,  /* did not answer in time: not captured         */
    RS_STOP_GONE      = 5,  /* exited (or could not be signalled)           */
};

/* One thread of the current (or last) stop.  Records live in memory that
 * never moves and is never freed, so a late signal handler cannot touch
 * freed memory, and regs[] stays valid as a root region until analysis
 * ends. */
typedef struct rs_stopped {
    uint64_t          regs[16];   /* uc_mcontext.gregs[0..15] (R8..RSP)     */
    uint64_t          sp;         /* stack pointer at interruption          */
    uint64_t          pc;         /* instruction pointer at interruption
                                     (REG_RIP; stack_frames.c unwinds from it) */
    uint64_t          tp;         /* thread pointer (%fs:0)                 */
    rs_thread_info_t  info;       /* registry entry, if registered          */
    uint32_t          tid;
    uint8_t           registered; /* info is valid                          */
    uint8_t           blocking;   /* blocked the stop signal (world.c)      */
    _Atomic uint64_t  word;       /* (generation << 32) | rs_stop_state     */
} rs_stopped_t;

/* Non-zero between a rs_world_stop() and its rs_world_resume(); the
 * caller of rs_world_stop() then holds the registry lock. */
int           rs_world_active(void);
/* Number of records of the stop in progress (0 if none). */
uint32_t      rs_world_count(void);
/* Record i < rs_world_count() of the stop in progress. */
rs_stopped_t *rs_world_record(uint32_t i);
/* State (enum rs_stop_state) of a record of the stop in progress. */
int           rs_world_state(const rs_stopped_t *r);

/* ---- ptrace_stop.c: threads that block the stop signal ------------- */

/* Threads one rs_ptrace_stop() stops at most. */
#define RS_PTRACE_MAX 64

/* With the registry lock held, during a stop: stops the threads of
 * recs[0..n) with ptrace from a cloned tracer, fills their registers, sp,
 * pc and tp, sets stopped[i] to 1 for each one stopped and returns their
 * number (0 when ptrace is not allowed; at most RS_PTRACE_MAX).
 * The threads stay stopped until rs_ptrace_release(). */
int  rs_ptrace_stop(rs_stopped_t *const *recs, uint32_t n, uint8_t *stopped);
/* Lets the threads of rs_ptrace_stop() go and reaps the tracer; no-op
 * without one. */
void rs_ptrace_release(void);

/* ---- threadroots.c ----------------------------------------------------- */

/* Looks up ld.so's static TLS size and libc's sizeof(struct pthread)
 * (dlvsym, which may allocate and takes ld.so's lock: so call it before
 * stopping the world).  Idempotent; on failure fallbacks are used. */
void rs_threadroots_init(void);

#endif /* RS_THREADS_H */
