/*
 * check_cancelled - refscope_check() called by a thread whose own
 * cancellation is pending (deferred cancellation, the default).
 *
 * The thread keeps a 30-byte block in a global (keep_global), cancels
 * itself, then calls refscope_check(): the analysis it runs must not be
 * where the thread is cancelled, since open(), read() and write() are
 * cancellation points and the thread would leave the other threads
 * stopped and refscope's locks held (the process hung for ever).  The
 * thread is cancelled at its own pthread_testcancel() afterwards, and
 * main prints how it ended: "canceled, survived the check", as without
 * refscope.  A 101-byte control block is "leaked".
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     101/1
 *   @total   reachable  >=30/1
 *   @finding leaked     101/1  sample_leak_control
 *   @lsan    direct     101/1
 */
#include "refscope.h"
#include "sample_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void *kept;
static volatile int survived;

SAMPLE_NOINLINE static void keep_global(void)
{
    kept = malloc(30);
    sample_check(kept != NULL, "malloc(30)");
    memset(kept, 8, 30);
}

static void *thread_main(void *arg)
{
    (void)arg;
    keep_global();
    pthread_cancel(pthread_self());
    refscope_check();
    survived = 1;
    pthread_testcancel();
    return NULL;
}

int main(void)
{
    pthread_t t;
    void *how;
    sample_check(pthread_create(&t, NULL, thread_main, NULL) == 0 &&
                 pthread_join(t, &how) == 0, "thread");
    sample_leak_control(101);
    sample_scrub_stack();
    sample_say("check_cancelled: %s, %s\n", how == PTHREAD_CANCELED ? "canceled" : "returned",
               survived ? "survived the check" : "did not survive the check");
    return 0;
}
