/*
 * exit_thread_segv - a worker thread leaks, then crashes (SIGSEGV, no
 * handler) while main waits for it holding a block in a local variable.
 * The process dies by SIGSEGV as without refscope.
 *
 * main() allocates 512 bytes (main_block) kept only in its local
 * variable, then joins a worker that drops a 256-byte block
 * (worker_leak) and writes to NULL, or, with argument "overflow",
 * overflows its own stack by endless recursion (the kernel delivers that
 * SIGSEGV on the alternate signal stack refscope gave the thread when it
 * started, preload/alt_stack.c).  refscope's handler runs on the
 * worker; it stops main like any other thread, so main's stack is a root
 * and main_block is reachable.  It reports exactly:
 *
 * LeakSanitizer does not check a process that dies by a signal.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     256/1
 *   @total   reachable  >=512/1
 *   @finding leaked     256/1  worker_leak
 *   Under LeakSanitizer (lsan_compare.py) its handler for the fatal signal
 *   reports the crash and exits with LSAN_OPTIONS' exitcode, 0 there,
 *   without a leak check:
 *   @lsan-exit 0
 */
#include "sample_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

SAMPLE_NOINLINE static void worker_leak(void)
{
    sample_drop(malloc(256));
}

SAMPLE_NOINLINE static void crash(volatile int *where)
{
    *where = 1;
}

static void *worker(void *arg)
{
    int overflow = *(const int *)arg;
    worker_leak();
    sample_scrub_stack();
    sample_say("exit_thread_segv: worker leaked 256 bytes, %s\n",
               overflow ? "recursing" : "writing to NULL");
    if (overflow)
        return (void *)sample_overflow_stack();
    crash(NULL);
    return NULL;
}

SAMPLE_NOINLINE static char *main_block(void)
{
    char *p = malloc(512);
    sample_check(p != NULL, "malloc(512)");
    memset(p, 0, 512);
    return p;
}

int main(int argc, char **argv)
{
    static int overflow;
    overflow = argc > 1 && strcmp(argv[1], "overflow") == 0;
    char *volatile kept = main_block();
    pthread_t t;
    sample_check(pthread_create(&t, NULL, worker, &overflow) == 0, "pthread_create");
    pthread_join(t, NULL);
    sample_say("exit_thread_segv: still alive? %p\n", (void *)kept);
    return 0;
}
