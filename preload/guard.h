/*
 * guard.h - the thread-local reentrancy guard of the preload.
 *
 * Every interposed entry point checks the guard first: while it is set on
 * a thread, refscope itself is running on that thread (recording a block,
 * unwinding, analysing) and any allocation it causes - directly, or inside
 * libc or libunwind - must go straight to the real allocator without being
 * recorded.  The counter nests, so guarded code may call guarded code.
 *
 * The variable uses the initial-exec TLS model: one %fs-relative load, no
 * __tls_get_addr call (which could itself allocate).  librefscope.so is
 * loaded by LD_PRELOAD, so its TLS lives in the static TLS block.
 */
#ifndef RS_GUARD_H
#define RS_GUARD_H

/* Defined in alloc_hooks.c. */
extern _Thread_local int rs_guard_depth __attribute__((tls_model("initial-exec")));

static inline int rs_guard_active(void) { return rs_guard_depth != 0; }
static inline void rs_guard_enter(void) { rs_guard_depth++; }
static inline void rs_guard_leave(void) { rs_guard_depth--; }

#endif /* RS_GUARD_H */
