/*
 * exit_thread_overflow - a worker thread leaks, then overflows its own
 * stack by endless recursion while main waits for it holding a block in
 * a local variable.  The process dies by SIGSEGV as without refscope.
 *
 * main() allocates 512 bytes (main_block) kept only in its local
 * variable, then joins a worker that drops a 128-byte block
 * (worker_leak) and recurses.  The worker's SIGSEGV is delivered on the
 * alternate signal stack refscope gave it when it started
 * (preload/alt_stack.c); the handler stops main like any other thread, so
 * main's stack is a root and main_block is reachable.  It reports
 * exactly:
 *
 * LeakSanitizer does not check a process that dies by a signal.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     128/1
 *   @total   reachable  >=512/1
 *   @finding leaked     128/1  worker_leak
 */
#include "sample_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Never equal to a depth: the recursion has no end the compiler can see. */
static volatile long stop_at = -1;

SAMPLE_NOINLINE static void worker_leak(void)
{
    sample_drop(malloc(128));
}

SAMPLE_NOINLINE static long recurse(long depth)
{
    volatile char frame[256];
    frame[0] = (char)depth;
    if (depth == stop_at)
        return 0;
    return recurse(depth + 1) + frame[0];
}

static void *worker(void *arg)
{
    (void)arg;
    worker_leak();
    sample_scrub_stack();
    sample_say("exit_thread_overflow: worker leaked 128 bytes, recursing\n");
    return (void *)recurse(0);
}

SAMPLE_NOINLINE static char *main_block(void)
{
    char *p = malloc(512);
    sample_check(p != NULL, "malloc(512)");
    memset(p, 0, 512);
    return p;
}

int main(void)
{
    char *volatile kept = main_block();
    pthread_t t;
    sample_check(pthread_create(&t, NULL, worker, NULL) == 0, "pthread_create");
    pthread_join(t, NULL);
    sample_say("exit_thread_overflow: still alive? %p\n", (void *)kept);
    return 0;
}
