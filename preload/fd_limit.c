/*
 * fd_limit.c - refscope's own descriptors out of the program's way: high
 * numbers, and room above the program's descriptor limit made for a
 * moment and given back.
 *
 * refscope's descriptors must not take numbers the program would get,
 * nor fail because the program used its own up: the spare copy of
 * stderr (diag.c, 512 and up), libunwind's pipes (backtrace.c, 600 and
 * up), and the snapshot written at exit by a process that opened
 * descriptors until EMFILE (exit_analysis.c).  Under a soft RLIMIT_NOFILE
 * below what they need, the soft limit is raised (never past the hard
 * one) around the call that makes the descriptor, then set back: a
 * descriptor above the limit stays valid.  Only a getrlimit() or open()
 * of another thread racing with that moment sees the raised limit.
 */
#include "preload.h"

#include <errno.h>
#include <fcntl.h>

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

/* A copy of fd at min or above, made with the soft limit raised a little
 * above min, or -1. */
static int dup_above_soft_limit(int fd, int min)
{
    struct rlimit saved;
    if (!rs_fd_limit_raise((rlim_t)min + 8, &saved))
        return -1;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, min);
    rs_fd_limit_restore(&saved);
    return high;
}

/* A copy of fd at the highest free number below a soft limit at or below
 * min (F_DUPFD gives the lowest free one at or above its argument, so the
 * first argument from the top that succeeds is it), or -1 when none is
 * above fd.  At most FD_PROBES tries. */
#define FD_PROBES 64
static int dup_highest_free(int fd, int min)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur > (rlim_t)min)
        return -1;
    for (int want = (int)rl.rlim_cur - 1, tries = 0;
         want > fd && tries < FD_PROBES; want--, tries++) {
        int high = fcntl(fd, F_DUPFD_CLOEXEC, want);
        if (high >= 0 || errno != EMFILE)
            return high;
    }
    return -1;
}

int rs_fd_dup_high(int fd, int min)
{
    int saved_errno = errno;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, min);
    if (high < 0)
        high = dup_above_soft_limit(fd, min);
    if (high < 0)
        high = dup_highest_free(fd, min);
    errno = saved_errno;
    return high;
}
