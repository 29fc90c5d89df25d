/*
 * exit_segv - leaks, then dereferences NULL with no SIGSEGV handler: the
 * process dies by SIGSEGV (128+11 in the shell), as without refscope.
 *
 * make_leak(), called twice from one loop, drops a 200-byte block each
 * time: one allocation stack, one finding.
 * refscope's SIGSEGV handler stands in for SIG_DFL: it analyses with the
 * faulting thread's registers and stack as roots, sets SIG_DFL and
 * returns, so the faulting store runs again and kills the process (the
 * core dump, where enabled, shows that store).  It reports exactly:
 *
 * LeakSanitizer does not check a process that dies by a signal.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     400/2
 *   @finding leaked     400/2  make_leak
 *   Under LeakSanitizer (lsan_compare.py) its handler for the fatal signal
 *   reports the crash and exits with LSAN_OPTIONS' exitcode, 0 there,
 *   without a leak check:
 *   @lsan-exit 0
 */
#include "sample_util.h"

#include <stdlib.h>

SAMPLE_NOINLINE static void make_leak(void)
{
    sample_drop(malloc(200));
}

SAMPLE_NOINLINE static void crash(volatile int *where)
{
    *where = 1;
}

int main(void)
{
    for (int i = 0; i < 2; i++)
        make_leak();
    sample_scrub_stack();
    sample_say("exit_segv: leaked 2 x 200 bytes, writing to NULL\n");
    crash(NULL);
    sample_say("exit_segv: still alive?\n");
    return 0;
}
