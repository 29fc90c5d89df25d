/*
 * exit_stack_overflow - leaks, then recurses without end until the main
 * thread's stack overflows: the process dies by SIGSEGV (128+11 in the
 * shell), as without refscope.
 *
 * make_leak(), called twice from one loop, drops a 300-byte block each
 * time: one allocation stack, one finding.  The kernel can deliver the
 * overflow's SIGSEGV only on an alternate signal stack; refscope gives
 * every thread one (preload/alt_stack.c), so its handler analyses there,
 * with the faulting thread's registers and its whole (full) stack as
 * roots, and the fault then kills the process.  The program still sees
 * no alternate stack (it prints what sigaltstack() says, and the test
 * compares its output with the native run's).  It reports exactly:
 *
 * LeakSanitizer does not check a process that dies by a signal.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     600/2
 *   @finding leaked     600/2  make_leak
 *   Under LeakSanitizer (lsan_compare.py) its handler for the fatal signal
 *   reports the crash and exits with LSAN_OPTIONS' exitcode, 0 there,
 *   without a leak check:
 *   @lsan-exit 0
 */
#include "sample_util.h"

#include <signal.h>
#include <stdlib.h>


SAMPLE_NOINLINE static void make_leak(void)
{
    sample_drop(malloc(300));
}

int main(void)
{
    for (int i = 0; i < 2; i++)
        make_leak();
    stack_t alt;
    sample_check(sigaltstack(NULL, &alt) == 0, "sigaltstack");
    sample_say("exit_stack_overflow: alternate signal stack: %s\n",
               (alt.ss_flags & SS_DISABLE) ? "none" : "installed");
    sample_scrub_stack();
    sample_say("exit_stack_overflow: leaked 2 x 300 bytes, recursing\n");
    long r = sample_overflow_stack();
    sample_say("exit_stack_overflow: still alive? %ld\n", r);
    return 0;
}
