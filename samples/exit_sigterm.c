/*
 * exit_sigterm - leaks, then is ended by SIGTERM, sent to the process (as
 * kill(1), a harness's timeout or systemd would) by a thread of its own
 * while main sleeps, with no handler: the process dies by SIGTERM (128+15
 * in the shell), as without refscope.
 *
 * make_leak drops a 222-byte block; keep_global stores a 64-byte block in
 * a global (reachable).  refscope's SIGTERM handler stands in for
 * SIG_DFL: whichever thread the kernel hands the signal to analyses, then
 * lets the signal end the process as it would have.  It reports exactly:
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     222/1
 *   @total   reachable  >=64/1
 *   @finding leaked     222/1  make_leak
 *   LeakSanitizer does not check a process that dies by a signal:
 *   @lsan-exit 143
 */
#include "sample_util.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *kept;

SAMPLE_NOINLINE static void make_leak(void)
{
    void *p = malloc(222);
    sample_check(p != NULL, "malloc(222)");
    memset(p, 2, 222);
    sample_drop(p);
}

SAMPLE_NOINLINE static void keep_global(void)
{
    kept = malloc(64);
    sample_check(kept != NULL, "malloc(64)");
}

static void *send_sigterm(void *arg)
{
    (void)arg;
    kill(getpid(), SIGTERM);
    return NULL;
}

int main(void)
{
    make_leak();
    keep_global();
    sample_scrub_stack();
    sample_say("exit_sigterm: leaked 222 bytes, SIGTERM to the process\n");
    pthread_t t;
    sample_check(pthread_create(&t, NULL, send_sigterm, NULL) == 0, "pthread_create");
    sample_block_forever();
}
