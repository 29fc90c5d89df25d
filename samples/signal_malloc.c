/*
 * signal_malloc - a signal handler that frees and allocates while the
 * interrupted thread is inside malloc or free.
 *
 * Not allowed by POSIX, done by real programs all the same, and safe with
 * glibc alone as long as the handler's sizes are served by its
 * thread-local cache (no lock): here the handler frees a pool block of
 * 200 bytes and allocates one of the same size (the cache entry it just
 * made), while the interrupted loop uses sizes of at most 150 bytes,
 * another cache bin.  refscope must keep it safe: while a thread is inside
 * refscope it may hold its block log's lock, so a free from a handler on
 * that thread of a block in that log must not wait for that lock (it would
 * wait for itself), and refscope's own memory must not come from glibc's
 * locked paths there.  The worker thread allocates a pool of 2048 blocks
 * and then mallocs and frees in a loop (much of its time inside
 * refscope); the main thread signals it until its handler has replaced
 * all 2048 pool blocks.  Without deferred frees this hangs within a few
 * hundred signals.  Everything is freed.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     0/0
 *   Under LeakSanitizer (lsan_compare.py, liblsan.so.0 preloaded) its
 *   sigaction interceptor has no real sigaction ("REAL(sigaction_symname)
 *   == nullptr"), so the sample's sigaction fails and it dies of SIGSEGV
 *   before any leak check:
 *   @lsan-exit 139
 */
#include "sample_util.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POOL 2048

#define POOL_SIZE 200

static void *pool[POOL], *replaced[POOL];
static atomic_int handled;
static atomic_int stop, ready;

static void on_signal(int sig)
{
    (void)sig;
    int i = atomic_load(&handled);
    if (i >= POOL)
        return;
    free(pool[i]);
    replaced[i] = malloc(POOL_SIZE);
    atomic_store(&handled, i + 1);
}

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < POOL; i++) {
        pool[i] = malloc(POOL_SIZE);
        sample_check(pool[i] != NULL, "malloc(pool)");
    }
    atomic_store(&ready, 1);
    unsigned r = 1;
    while (!atomic_load(&stop)) {
        r = r * 1103515245u + 12345u;
        void *p = malloc(8 + (r >> 20) % 143);
        free(p);
    }
    for (int i = 0; i < POOL; i++) {
        sample_check(replaced[i] != NULL, "malloc in the handler");
        free(replaced[i]);   /* the first also frees what was deferred */
    }
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
    /* A worker stuck for a minute is a deadlock: fail at once rather than
     * spin until the test harness kills (or forgets) this process. */
    time_t deadline = time(NULL) + 60;
    while (atomic_load(&handled) < POOL) {
        if (time(NULL) > deadline) {
            sample_say("signal_malloc: the worker is stuck after %d signals\n",
                       atomic_load(&handled));
            _exit(3);
        }
        pthread_kill(t, SIGUSR1);
        usleep(20);
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    sample_say("signal_malloc: %d blocks replaced by the signal handler\n", POOL);
    return 0;
}
