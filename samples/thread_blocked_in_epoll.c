/*
 * thread_blocked_in_epoll - a thread that blocks every signal and waits
 * in epoll_wait, never woken, while main runs refscope_check().
 *
 * refscope stops such a thread with ptrace (preload/ptrace_stop.c).  The
 * kernel ends some system calls with EINTR when their thread is stopped,
 * instead of restarting them (epoll_wait among them: signal(7)), so the
 * worker would see an EINTR it never sees natively, after every analysis.
 * refscope sets the call back before letting the thread go: the worker
 * counts the EINTRs it got, and main prints that count (0, as natively)
 * after giving it 50 ms to notice.  A 101-byte control block is leaked.
 *
 * LeakSanitizer: 101 bytes direct.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     101/1
 *   @finding leaked     101/1  sample_leak_control
 *   @lsan    direct     101/1
 */
#include "refscope.h"
#include "sample_util.h"


#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

static volatile int waiting;
static atomic_int interrupted;

SAMPLE_NOINLINE static void wait_with_signals_blocked(void)
{
    sigset_t all;
    sigfillset(&all);
    sample_check(pthread_sigmask(SIG_BLOCK, &all, NULL) == 0, "pthread_sigmask");
    int fds[2];
    int ep = epoll_create1(0);
    sample_check(ep >= 0 && pipe(fds) == 0, "epoll_create1, pipe");
    struct epoll_event ev = { .events = EPOLLIN };
    sample_check(epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev) == 0, "epoll_ctl");
    waiting = 1;
    for (;;)
        if (epoll_wait(ep, &ev, 1, -1) < 0 && errno == EINTR)
            atomic_fetch_add(&interrupted, 1);
}

static void *thread_main(void *arg)
{
    (void)arg;
    wait_with_signals_blocked();
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { 0, ms * 1000 * 1000 };
    nanosleep(&ts, NULL);
}

int main(void)
{
    pthread_t t;
    sample_check(pthread_create(&t, NULL, thread_main, NULL) == 0, "pthread_create");
    sample_wait_flag(&waiting);
    sleep_ms(20);                      /* inside epoll_wait by now */
    refscope_check();
    sleep_ms(50);
    sample_leak_control(101);
    sample_scrub_stack();
    sample_say("thread_blocked_in_epoll: %d interrupted waits\n",
               atomic_load(&interrupted));
    return 0;
}
