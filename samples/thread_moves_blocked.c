/*
 * thread_moves_blocked - a thread that blocks every signal and keeps
 * moving the only pointers to 4096 blocks between two arrays while main
 * returns, so the exit analysis runs while it works.
 *
 * juggle_with_signals_blocked() owns two 32 KiB pointer arrays, `left` and
 * `right` (heap blocks a global points to), and 4096 blocks of 48 bytes
 * (make_ball), each held by one of the arrays (by both for the instant
 * it moves): it copies a pointer to the other array, then clears the one
 * it came from, round after round, never pausing.  refscope's stop signal
 * never reaches the thread; left running during the scan it could move a
 * pointer from the array not yet scanned to the one already scanned, and
 * the block would look leaked (3 exits of 10 with REFSCOPE_STOP_PTRACE=0).
 * refscope stops it with ptrace instead (preload/ptrace_stop.c), so every
 * ball is reachable, every time.  A 101-byte control block is leaked.
 *
 * LeakSanitizer agrees (it stops threads with ptrace too): 101 bytes
 * direct.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     101/1
 *   @total   reachable  >=262144/4098
 *   @finding leaked     101/1  sample_leak_control
 *   @lsan    direct     101/1
 *   @needs   ptrace
 */
#include "sample_util.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define BALLS 4096

static void *_Atomic *volatile g_left, *_Atomic *volatile g_right;
static volatile int juggling;

SAMPLE_NOINLINE static void *make_ball(int i)
{
    char *b = malloc(48);
    sample_check(b != NULL, "malloc(48)");
    memset(b, i, 48);
    return b;
}

/* Moves every ball to the other array: copy first, then clear, so that a
 * stopped thread always leaves each ball in at least one array. */
static void move_all(void *_Atomic *from, void *_Atomic *to)
{
    for (int i = 0; i < BALLS; i++) {
        atomic_store(&to[i], atomic_load(&from[i]));
        atomic_store(&from[i], NULL);
    }
}

SAMPLE_NOINLINE static void juggle_with_signals_blocked(void)
{
    sigset_t all;
    sigfillset(&all);
    sample_check(pthread_sigmask(SIG_BLOCK, &all, NULL) == 0, "pthread_sigmask");
    g_left = calloc(BALLS, sizeof(void *));
    g_right = calloc(BALLS, sizeof(void *));
    sample_check(g_left && g_right, "calloc(arrays)");
    for (int i = 0; i < BALLS; i++)
        atomic_store(&g_left[i], make_ball(i));
    juggling = 1;
    for (;;) {
        move_all(g_left, g_right);
        move_all(g_right, g_left);
    }
}

static void *thread_main(void *arg)
{
    (void)arg;
    juggle_with_signals_blocked();
    return NULL;
}

int main(void)
{
    pthread_t t;
    sample_check(pthread_create(&t, NULL, thread_main, NULL) == 0, "pthread_create");
    sample_wait_flag(&juggling);
    sample_leak_control(101);
    sample_scrub_stack();
    sample_say("thread_moves_blocked: a thread with every signal blocked moves pointers\n");
    return 0;
}
