/*
 * tls_thread - a block held only by a __thread variable of another,
 * still running thread.
 *
 * A thread stores an 8000-byte block (make_thread_tls_block) in its own
 * tls_held and blocks in pause() for ever; main returns meanwhile.  The
 * block is "reachable" (root: the thread's static TLS).  Reachable is at
 * least 8000 bytes in 1 block (glibc adds the thread's DTV).  A 105-byte
 * control block is "leaked".
 *
 * LeakSanitizer agrees (use_tls=1): 105 bytes direct.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     105/1
 *   @total   reachable  >=8000/1
 *   @finding leaked     105/1  sample_leak_control
 *   @lsan    direct     105/1
 */
#include "sample_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static __thread void *tls_held;
static volatile int thread_ready;

SAMPLE_NOINLINE static void make_thread_tls_block(void)
{
    char *p = malloc(8000);
    sample_check(p != NULL, "malloc(8000)");
    memset(p, 8, 8000);
    tls_held = p;
}

static void *tls_thread(void *arg)
{
    make_thread_tls_block();
    sample_scrub_stack();
    thread_ready = 1;
    sample_block_forever();
}

int main(void)
{
    pthread_t t;
    sample_check(pthread_create(&t, NULL, tls_thread, NULL) == 0,
                 "pthread_create");
    sample_wait_flag(&thread_ready);
    sample_check(tls_held == NULL, "main's own tls_held is untouched");
    sample_leak_control(105);
    sample_scrub_stack();
    sample_say("tls_thread: 8000 bytes held by a sleeping thread's TLS\n");
    return 0;
}
