/*
 * exit_oneshot_handler - installs a SIGTERM handler with SA_RESETHAND (a
 * one-shot handler: the kernel sets the action back to SIG_DFL as it runs
 * it, without sigaction(); node's SIGTERM handler and crash reporters
 * work so), leaks, and raises SIGTERM.  The handler says what the action
 * is now (SIG_DFL) and raises SIGTERM again, which ends the process
 * (128+15), as without refscope.  refscope must stand in for the SIG_DFL
 * the kernel set and analyse at that second SIGTERM (it did not see the
 * reset, and the process ended unanalysed: no snapshot).  What sigaction()
 * reports, before and inside the handler, is printed and must be what it
 * is natively, flags included.
 *
 * make_leak drops a 77-byte block.  It reports exactly:
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     77/1
 *   @finding leaked     77/1   make_leak
 *   Under LeakSanitizer (lsan_compare.py, liblsan.so.0 preloaded) its
 *   sigaction interceptor has no real sigaction ("REAL(sigaction_symname)
 *   == nullptr"), so the sample's sigaction fails, and its _exit(70)
 *   then dies of SIGSEGV inside LSan:
 *   @lsan-exit 139
 */
#include "sample_util.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void on_term(int sig);

static void describe(const char *when)
{
    struct sigaction cur;
    sample_check(sigaction(SIGTERM, NULL, &cur) == 0, "sigaction query");
    const char *what = cur.sa_handler == SIG_DFL ? "SIG_DFL"
                     : cur.sa_handler == on_term ? "on_term" : "other";
    sample_say("exit_oneshot_handler: SIGTERM %s: %s, flags %#x\n", when, what,
               (unsigned)cur.sa_flags);
}

static void on_term(int sig)
{
    describe("in the handler");
    raise(sig);                      /* SIG_DFL now: the end, once returned */
}

SAMPLE_NOINLINE static void make_leak(void)
{
    sample_drop(malloc(77));
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sample_check(sigaction(SIGTERM, &sa, NULL) == 0, "sigaction");
    describe("installed");
    make_leak();
    sample_scrub_stack();
    sample_say("exit_oneshot_handler: leaked 77 bytes, raising SIGTERM\n");
    raise(SIGTERM);
    sample_say("exit_oneshot_handler: still alive?\n");
    return 0;
}
