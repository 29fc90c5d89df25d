/*
 * leak_in_thread - leaks made by a thread that has exited.
 *
 * A thread allocates a 555-byte block (thread_make_leak) and drops it,
 * and stores a 444-byte block (thread_make_tls_orphan) in its own
 * __thread variable, then returns; main joins it.  The exited thread's
 * TLS is no longer a root, so both blocks are "leaked".
 *
 * "reachable" is not checked: glibc keeps the exited thread's stack in its
 * stack cache together with the thread's DTV, a block it calloc()ed in
 * pthread_create (about 320 bytes) and still points to; refscope rightly
 * does not call it leaked, and LSan ignores loader allocations.
 *
 * LeakSanitizer agrees: 999 bytes in 2 objects direct.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     999/2
 *   @finding leaked     555/1  thread_make_leak
 *   @finding leaked     444/1  thread_make_tls_orphan
 *   @lsan    direct     999/2
 */
#include "sample_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static __thread void *tls_orphan;

SAMPLE_NOINLINE static void thread_make_leak(void)
{
    char *p = malloc(555);
    sample_check(p != NULL, "malloc(555)");
    memset(p, 't', 555);
    sample_drop(p);
}

SAMPLE_NOINLINE static void thread_make_tls_orphan(void)
{
    char *p = malloc(444);
    sample_check(p != NULL, "malloc(444)");
    memset(p, 'o', 444);
    tls_orphan = p;
}

static void *leaking_thread(void *arg)
{
    thread_make_leak();
    thread_make_tls_orphan();
    sample_scrub_stack();
    return NULL;
}

int main(void)
{
    pthread_t t;
    sample_check(pthread_create(&t, NULL, leaking_thread, NULL) == 0,
                 "pthread_create");
    sample_check(pthread_join(t, NULL) == 0, "pthread_join");
    sample_scrub_stack();
    sample_say("leak_in_thread: an exited thread leaked 555 + 444 bytes\n");
    return 0;
}
