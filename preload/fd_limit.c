/*
 * fd_limit.c - room above the program's descriptor limit for refscope's
 * own descriptors, made for a moment and given back.
 *
 * Two descriptors of refscope's must not take numbers the program would
 * get, nor fail because the program used its own up: libunwind's pipes,
 * moved to 600 and up (backtrace.c), and the snapshot written at exit by
 * a process that opened descriptors until EMFILE (exit_analysis.c).
 * Under a soft RLIMIT_NOFILE below what they need, the soft limit is
 * raised (never past the hard one) around the call that makes the
 * descriptor, then set back: a descriptor above the limit stays valid.
 * Only a getrlimit() or open() of another thread racing with that moment
 * sees the raised limit.
 */
#include "preload.h"

int rs_fd_limit_raise(rlim_t soft, struct rlimit *saved)
{
    if (getrlimit(RLIMIT_NOFILE, saved) != 0 || saved->rlim_cur == RLIM_INFINITY ||
        saved->rlim_cur >= soft || saved->rlim_cur >= saved->rlim_max)
        return 0;
    struct rlimit raised = { soft, saved->rlim_max };
    if (saved->rlim_max != RLIM_INFINITY && raised.rlim_cur > saved->rlim_max)
        raised.rlim_cur = saved->rlim_max;
    return setrlimit(RLIMIT_NOFILE, &raised) == 0;
}

void rs_fd_limit_restore(const struct rlimit *saved)
{
    setrlimit(RLIMIT_NOFILE, saved);
}
