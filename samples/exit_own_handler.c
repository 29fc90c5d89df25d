/*
 * exit_own_handler - installs its own SIGSEGV handler, which prints a line
 * and leaves with _exit(7); then leaks and dereferences NULL.  refscope
 * must change nothing: the program sees SIG_DFL before installing its
 * handler (sigaction's old action, flags included), its own handler runs,
 * prints, and the process exits 7.
 *
 * make_leak() drops a 99-byte block.  The analysis runs in the program's
 * _exit(7), inside its signal handler (the fault's frames above it are
 * roots, as for any _exit).  It reports exactly:
 *
 * LeakSanitizer checks only inside exit() and reports nothing.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     99/1
 *   @finding leaked     99/1   make_leak
 *   Under LeakSanitizer (lsan_compare.py, liblsan.so.0 preloaded) its
 *   sigaction interceptor has no real sigaction ("REAL(sigaction_symname)
 *   == nullptr"), so the sample's sigaction fails and it dies of SIGSEGV
 *   before any leak check:
 *   @lsan-exit 139
 */
#include "sample_util.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void on_segv(int sig)
{
    (void)sig;
    static const char msg[] = "exit_own_handler: caught SIGSEGV, _exit(7)\n";
    if (write(1, msg, sizeof msg - 1) < 0)
        _exit(70);
    _exit(7);
}

SAMPLE_NOINLINE static void make_leak(void)
{
    sample_drop(malloc(99));
}

SAMPLE_NOINLINE static void crash(volatile int *where)
{
    *where = 1;
}

static void describe(const char *when)
{
    struct sigaction cur;
    sample_check(sigaction(SIGSEGV, NULL, &cur) == 0, "sigaction query");
    const char *what = cur.sa_handler == SIG_DFL ? "SIG_DFL"
                     : cur.sa_handler == on_segv ? "on_segv" : "other";
    sample_say("exit_own_handler: SIGSEGV %s: %s, flags %#x\n", when, what,
               (unsigned)cur.sa_flags);
}

int main(void)
{
    describe("at start");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_segv;
    sigemptyset(&sa.sa_mask);
    sample_check(sigaction(SIGSEGV, &sa, NULL) == 0, "sigaction");
    describe("installed");
    make_leak();
    sample_scrub_stack();
    sample_say("exit_own_handler: leaked 99 bytes, writing to NULL\n");
    crash(NULL);
    sample_say("exit_own_handler: still alive?\n");
    return 0;
}
