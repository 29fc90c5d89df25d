/*
 * guard.h - the thread-local reentrancy guard of the preload.
 *
 * Every interposed entry point checks the guard first: while it is set on
 * a thread, refscope itself is running on that thread (recording a block,
 * unwinding, analysing) and any allocation it causes - directly, or inside
 * libc or libunwind - must go straight to the real allocator without being
 * recorded.  The counter nests, so guarded code may call guarded code.
 *
 * A signal that ends the process but arrives while the guard is set
 * (SIGTERM, SIGINT... sent while the thread runs refscope's code, which
 * may hold its locks) is not analysed there: fatal_signals.c notes it in
 * rs_guard_deferred and raises it again when the outermost guard is left.
 * That costs the hot path one more load and a branch not taken.
 *
 * The variables use the initial-exec TLS model: one %fs-relative load, no
 * __tls_get_addr call (which could itself allocate).  librefscope.so is
 * loaded by LD_PRELOAD, so its TLS lives in the static TLS block.
 */
#ifndef RS_GUARD_H
#define RS_GUARD_H

#include "rs_likely.h"

/* Defined in alloc_hooks.c, side by side. */
extern _Thread_local int rs_guard_depth __attribute__((tls_model("initial-exec")));
extern _Thread_local int rs_guard_deferred __attribute__((tls_model("initial-exec")));

/* fatal_signals.c: raises the deferred signal again, on this thread. */
void rs_fatal_signals_raise_deferred(void);

static inline int rs_guard_active(void) { return rs_guard_depth != 0; }
static inline void rs_guard_enter(void) { rs_guard_depth++; }
static inline void rs_guard_leave(void)
{
    if (--rs_guard_depth == 0 && RS_UNLIKELY(rs_guard_deferred))
        rs_fatal_signals_raise_deferred();
}

#endif /* RS_GUARD_H */
