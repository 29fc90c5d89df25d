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
 * The argument chooses how the handler is set (glibc makes each through
 * its internal __sigaction, which an interposed sigaction() never sees):
 *   (none)  sigaction() with SA_RESETHAND;
 *   sysv    __sysv_signal(), what signal() is under -std=c99 (Debian's
 *           zstd imports it): SA_RESETHAND | SA_NODEFER;
 *   sigset  sigset(): a handler, then SIG_DFL again, which refscope must
 *           stand in for; sigset(SIG_HOLD) answers SIG_DFL (not
 *           refscope's handler) and sigrelse() lets the SIGTERM raised at
 *           the end kill the process.
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

/* sigset() and sigrelse() are deprecated, and still what old System V
 * code calls. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

static void install(const char *how)
{
    if (strcmp(how, "sysv") == 0) {
        sample_check(__sysv_signal(SIGTERM, on_term) != SIG_ERR, "__sysv_signal");
        return;
    }
    if (strcmp(how, "sigset") == 0) {
        sample_check(sigset(SIGTERM, on_term) != SIG_ERR, "sigset");
        sample_check(sigset(SIGTERM, SIG_DFL) == on_term, "sigset SIG_DFL");
        __sighandler_t held = sigset(SIGTERM, SIG_HOLD);
        sample_say("exit_oneshot_handler: sigset(SIG_HOLD) gave %s\n",
                   held == SIG_DFL ? "SIG_DFL" : held == on_term ? "on_term" : "other");
        sample_check(sigrelse(SIGTERM) == 0, "sigrelse");
        return;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sample_check(sigaction(SIGTERM, &sa, NULL) == 0, "sigaction");
}

int main(int argc, char **argv)
{
    install(argc > 1 ? argv[1] : "sigaction");
    describe("installed");
    make_leak();
    sample_scrub_stack();
    sample_say("exit_oneshot_handler: leaked 77 bytes, raising SIGTERM\n");
    raise(SIGTERM);
    sample_say("exit_oneshot_handler: still alive?\n");
    return 0;
}
