/*
 * thread_blocks_signals - a thread that blocks every signal for its whole
 * life, as GLib's and libuv's worker threads do, holding a block in a
 * live local while main returns.
 *
 * The thread (hold_with_signals_blocked) blocks all signals, allocates a
 * 210-byte block kept in a local, raises a flag and sleeps.  refscope's
 * stop signal never reaches it: the analysis does not wait for it (it
 * would otherwise wait out the stop's timeout at every exit) and scans its
 * whole stack instead, so the block is "reachable", as are glibc's blocks
 * for the live thread (its DTV), hence ">=".  A 101-byte control block is
 * "leaked".  tests/integration/test_preload.py also checks, with
 * REFSCOPE_STATS, that this thread is the one counted as blocking.
 *
 * LeakSanitizer agrees: 101 bytes direct.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     101/1
 *   @total   reachable  >=210/1
 *   @finding leaked     101/1  sample_leak_control
 *   @lsan    direct     101/1
 */
#include "sample_util.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static volatile int sleeping;

SAMPLE_NOINLINE static void hold_with_signals_blocked(void)
{
    sigset_t all;
    sigfillset(&all);
    sample_check(pthread_sigmask(SIG_BLOCK, &all, NULL) == 0, "pthread_sigmask");
    void *volatile held = malloc(210);
    sample_check(held != NULL, "malloc(210)");
    memset(held, 7, 210);
    sleeping = 1;
    sample_block_forever();
}

static void *thread_main(void *arg)
{
    (void)arg;
    hold_with_signals_blocked();
    return NULL;
}

int main(void)
{
    pthread_t t;
    sample_check(pthread_create(&t, NULL, thread_main, NULL) == 0, "pthread_create");
    sample_wait_flag(&sleeping);
    sample_leak_control(101);
    sample_scrub_stack();
    sample_say("thread_blocks_signals: a thread with every signal blocked sleeps\n");
    return 0;
}
