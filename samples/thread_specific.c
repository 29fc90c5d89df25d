/*
 * thread_specific - blocks held only through pthread_setspecific().
 *
 * Forty keys are created.  The main thread sets key 0 to a 9000-byte
 * block (make_main_specific); a second thread sets key 39 to a 9100-byte
 * block (make_thread_specific) and blocks in pause() for ever.  glibc
 * keeps values of keys 0..31 inside the thread descriptor and values of
 * higher keys in a second-level array that it callocs and hangs off the
 * descriptor, so the second block is reached through a heap block.  Both
 * are "reachable" (root: thread descriptor).  Reachable is at least 18100
 * bytes in 2 blocks (plus glibc's DTV and key array).  A 106-byte control
 * block is "leaked".
 *
 * LeakSanitizer agrees (the descriptor is part of its TLS range): 106
 * bytes direct.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     106/1
 *   @total   reachable  >=18100/2
 *   @finding leaked     106/1  sample_leak_control
 *   @lsan    direct     106/1
 */
#include "sample_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define N_KEYS 40

static pthread_key_t keys[N_KEYS];
static volatile int thread_ready;

SAMPLE_NOINLINE static void make_main_specific(void)
{
    char *p = malloc(9000);
    sample_check(p != NULL, "malloc(9000)");
    memset(p, 9, 9000);
    sample_check(pthread_setspecific(keys[0], p) == 0, "setspecific 0");
}

SAMPLE_NOINLINE static void make_thread_specific(void)
{
    char *p = malloc(9100);
    sample_check(p != NULL, "malloc(9100)");
    memset(p, 9, 9100);
    sample_check(pthread_setspecific(keys[N_KEYS - 1], p) == 0,
                 "setspecific 39");
}

static void *specific_thread(void *arg)
{
    make_thread_specific();
    sample_scrub_stack();
    thread_ready = 1;
    sample_block_forever();
}

int main(void)
{
    for (int i = 0; i < N_KEYS; i++)
        sample_check(pthread_key_create(&keys[i], NULL) == 0, "key_create");
    make_main_specific();
    pthread_t t;
    sample_check(pthread_create(&t, NULL, specific_thread, NULL) == 0,
                 "pthread_create");
    sample_wait_flag(&thread_ready);
    sample_leak_control(106);
    sample_scrub_stack();
    sample_say("thread_specific: 9000 + 9100 bytes held by thread keys\n");
    return 0;
}
