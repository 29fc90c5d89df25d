/*
 * held_signal.c - a signal that one of refscope's own system calls would
 * raise, held back and taken back, so that it never reaches the program.
 *
 * Two system calls refscope makes can raise a signal whose default action
 * ends the process: write(2) on a pipe nobody reads any more (SIGPIPE:
 * stderr of `prog 2>&1 | head -1` after head left) and write(2) past the
 * file size limit (SIGXFSZ: the snapshot under `ulimit -f`).  The program,
 * which natively makes neither write, would die by it.  So the signal is
 * blocked on the calling thread around the call; afterwards one that is
 * pending and was not before is taken with sigtimedwait(), and the mask
 * is restored.  A signal of that number that was pending already is the
 * program's and stays.  The failed write itself is reported as usual
 * (EPIPE, EFBIG).
 *
 * Async-signal-safe: pthread_sigmask, sigpending and sigtimedwait are,
 * and the analysis at a fatal signal writes too.  errno is kept.
 */
#include "preload.h"

#include <errno.h>
#include <signal.h>

void rs_signal_hold(rs_held_signal_t *h, int sig)
{
    int saved_errno = errno;
    sigset_t only, pending;
    sigemptyset(&only);
    sigaddset(&only, sig);
    h->sig = sig;
    pthread_sigmask(SIG_BLOCK, &only, &h->mask);
    h->was_pending = sigpending(&pending) == 0 && sigismember(&pending, sig);
    errno = saved_errno;
}

void rs_signal_release(rs_held_signal_t *h)
{
    int saved_errno = errno;
    sigset_t only, pending;
    sigemptyset(&only);
    sigaddset(&only, h->sig);
    if (!h->was_pending && sigpending(&pending) == 0 && sigismember(&pending, h->sig)) {
        const struct timespec now = {0, 0};
        sigtimedwait(&only, NULL, &now);
    }
    pthread_sigmask(SIG_SETMASK, &h->mask, NULL);
    errno = saved_errno;
}
