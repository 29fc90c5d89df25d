/*
 * exit_abort - leaks, then abort()s: the process dies by SIGABRT (128+6
 * in the shell), with the default action the program itself asked for
 * through signal(), whose answer (the previous action: SIG_DFL) it
 * prints.
 *
 * make_leak() drops a 123-byte block; keep_global() stores a 64-byte
 * block in a global (reachable).  refscope's SIGABRT handler stands in
 * for SIG_DFL: it analyses, then lets the signal kill the process as it
 * would have.  It reports exactly:
 *
 * LeakSanitizer does not check a process that dies by a signal.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     123/1
 *   @total   reachable  >=64/1
 *   @finding leaked     123/1  make_leak
 *   Under LeakSanitizer (lsan_compare.py) it dies of SIGSEGV instead
 *   of SIGABRT, silently, before any leak check:
 *   @lsan-exit 139
 */
#include "sample_util.h"

#include <signal.h>
#include <stdlib.h>

static void *kept;

SAMPLE_NOINLINE static void make_leak(void)
{
    sample_drop(malloc(123));
}

SAMPLE_NOINLINE static void keep_global(void)
{
    kept = malloc(64);
    sample_check(kept != NULL, "malloc(64)");
}

int main(void)
{
    void (*old)(int) = signal(SIGABRT, SIG_DFL);
    sample_say("exit_abort: SIGABRT was %s\n",
               old == SIG_DFL ? "SIG_DFL" : old == SIG_IGN ? "SIG_IGN" : "handled");
    make_leak();
    keep_global();
    sample_scrub_stack();
    sample_say("exit_abort: leaked 123 bytes, abort()\n");
    abort();
}
