/*
 * signal_malloc - a signal handler that frees, reallocs and allocates
 * while the interrupted thread is inside malloc or free.
 *
 * Not allowed by POSIX, done by real programs all the same, and it works
 * with glibc alone unless the signal lands inside glibc's own locked
 * section.  refscope must not make it worse: while a thread is inside
 * refscope it may hold its block log's lock, so a free from a handler on
 * that thread of a block in that log must not wait for the lock (it would
 * wait for itself).  The worker thread allocates a pool of 2048 blocks and
 * then mallocs and frees in a loop (it spends much of its time inside
 * refscope); the main thread signals it until its handler has freed
 * (every other time realloc'ed first) all 2048 pool blocks, each handler
 * call also allocating and freeing a block of its own.  Without deferred
 * frees this hangs within a few hundred signals.  Everything is freed.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     0/0
 *   @total   reachable  0/0
 *   @lsan    direct     0/0
 */
#include "sample_util.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POOL 2048

static void *pool[POOL];
static atomic_int handled;
static atomic_int stop, ready;

static void on_signal(int sig)
{
    (void)sig;
    int i = atomic_load(&handled);
    if (i >= POOL)
        return;
    void *p = pool[i];
    if (i % 2)
        p = realloc(p, 100 + (size_t)i);
    free(p);
    void *own = malloc(64);
    free(own);
    atomic_store(&handled, i + 1);
}

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < POOL; i++) {
        pool[i] = malloc(16 + (size_t)(i % 200));
        sample_check(pool[i] != NULL, "malloc(pool)");
    }
    atomic_store(&ready, 1);
    unsigned r = 1;
    while (!atomic_load(&stop)) {
        r = r * 1103515245u + 12345u;
        void *p = malloc(8 + (r >> 20) % 512);
        free(p);
    }
    free(malloc(1));    /* frees what the last handlers deferred */
    return NULL;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sample_check(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
    pthread_t t;
    sample_check(pthread_create(&t, NULL, worker, NULL) == 0, "pthread_create");
    while (!atomic_load(&ready))
        usleep(100);
    while (atomic_load(&handled) < POOL) {
        pthread_kill(t, SIGUSR1);
        usleep(20);
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    sample_say("signal_malloc: %d blocks freed by the signal handler\n", POOL);
    return 0;
}
