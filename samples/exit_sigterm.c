/*
 * exit_sigterm - leaks, then is ended by SIGTERM, sent to the process (as
 * kill(1), a harness's timeout or systemd would) by a thread of its own
 * while main sleeps, with no handler: the process dies by SIGTERM (128+15
 * in the shell), as without refscope.  `exit_sigterm SIG` sends SIG
 * instead (USR1, PROF: any other signal whose default action ends the
 * process), with the same findings.
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

static int signal_to_send = SIGTERM;

static void *send_signal(void *arg)
{
    (void)arg;
    kill(getpid(), signal_to_send);
    return NULL;
}

/* SIG's number for the names the tests use; 0 for others. */
static int signal_named(const char *name)
{
    static const struct { const char *name; int sig; } names[] = {
        { "TERM", SIGTERM }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
        { "PROF", SIGPROF }, { "VTALRM", SIGVTALRM }, { "IO", SIGIO },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0)
            return names[i].sig;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        sample_check((signal_to_send = signal_named(argv[1])) != 0, "a signal name");
    make_leak();
    keep_global();
    sample_scrub_stack();
    sample_say("exit_sigterm: leaked 222 bytes, SIG%s to the process\n",
               argc > 1 ? argv[1] : "TERM");
    pthread_t t;
    sample_check(pthread_create(&t, NULL, send_signal, NULL) == 0, "pthread_create");
    sample_block_forever();
}
