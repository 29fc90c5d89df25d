/*
 * threadroots.h - contract between the preload's exit/analysis driver and
 * the thread side of root discovery (threads.c, world.c, threadroots.c).
 *
 * Sequence at analysis time, on the analysing thread:
 *     rs_world_stop();                      // other threads parked
 *     ... rs_threadroots_collect(&roots, &self) ...
 *     ... scan memory, classify ...
 *     rs_world_resume();
 */
#ifndef RS_THREADROOTS_H
#define RS_THREADROOTS_H

#include "rootvec.h"

#include <stdint.h>

/* State of the analysing thread as the program left it: the stack pointer
 * below which memory belongs to refscope or to exit() internals, and the
 * general-purpose registers as they were at that point (0 when unknown). */
typedef struct rs_self_context {
    uint64_t program_sp;     /* live stack is [program_sp, stack top)       */
    uint64_t regs[16];
    uint32_t n_regs;
} rs_self_context_t;

/* Registers the calling thread as the main thread; call once at init. */
void rs_threads_init(void);

/* In a fork child: the parent's other threads do not exist here, but
 * their stacks and TLS stay mapped with their content: they become
 * "ghosts", kept as roots (whole stack, TLS; no registers) until a new
 * thread's stack overlaps one.  The calling thread registers anew. */
void rs_threads_atfork_child(void);

/* Bytes of stack left below sp on the thread whose stack holds sp (the
 * main thread's may grow to RLIMIT_STACK); UINT64_MAX when unknown.
 * Async-signal-safe (reads /proc/self/maps with read(2)). */
uint64_t rs_threads_stack_room(uint64_t sp);

/* Stops every other thread of the process (signal + handshake), each one
 * saving its registers and stack pointer.  Threads that do not answer in
 * time are recorded as not captured (their whole stack is scanned).
 * Returns the number of threads stopped, or -1 on failure (nothing is
 * stopped).  Never call with refscope locks held that threads may need. */
int rs_world_stop(void);
void rs_world_resume(void);
/* Threads of the last stop that were not waited for because they block
 * the stop signal; rs_world_traced() of them were stopped with ptrace
 * instead, the others ran on, their whole stack scanned. */
uint32_t rs_world_blocking(void);
uint32_t rs_world_traced(void);
/* The signal that stops the threads (REFSCOPE_STOP_SIGNAL, SIGPWR by
 * default). */
int rs_world_stop_signal(void);

/* Appends, for every thread including the caller, the roots that thread
 * contributes: live stack, saved registers, static TLS + thread descriptor
 * (holds pthread_setspecific values), and the DTV (dynamic TLS); and for
 * every ghost of a thread of a parent process (fork), its whole stack and
 * TLS.
 * Must be called between rs_world_stop() and rs_world_resume().
 * Returns 0, or -1 if memory ran out (the vector keeps what it had). */
int rs_threadroots_collect(rs_rootvec_t *out, const rs_self_context_t *self);

/* Appends the readable parts of [lo, hi) as roots of kind (no thread, no
 * module), one per run of readable mappings, from the /proc/self/maps
 * view read by the last rs_threadroots_collect (nothing when that view is
 * empty).  Same calling rules.  0, or -1 if memory ran out. */
int rs_threadroots_push_readable(rs_rootvec_t *out, uint32_t kind, uint64_t lo, uint64_t hi);

/* The same, leaving out the stacks of the threads the last collect saw
 * (those it knows the extent of): a thread's stack that lies in memory
 * the program mapped is scanned from its stack pointer up, as every
 * stack, not whole with the dead words below it. */
int rs_threadroots_push_outside_stacks(rs_rootvec_t *out, uint32_t kind, uint64_t lo,
                                       uint64_t hi);

#endif /* RS_THREADROOTS_H */
