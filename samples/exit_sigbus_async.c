/*
 * exit_sigbus_async - leaks, then receives SIGBUS with si_code
 * BUS_MCEERR_AO (the kernel's "action optional" memory-error warning,
 * not tied to the current instruction) with no handler: the process dies
 * by SIGBUS (128+7 in the shell), as without refscope.  The signal is sent
 * to itself with rt_tgsigqueueinfo, which Linux allows for a positive
 * si_code only within the process.
 *
 * make_leak(), called twice from one loop, drops a 300-byte block each
 * time: one allocation stack, one finding.
 * refscope's SIGBUS handler stands in for SIG_DFL: it analyses, sets
 * SIG_DFL and, since this SIGBUS is no fault of the interrupted
 * instruction, raises it again (returning would let the program run on,
 * printing "still alive?").  It reports exactly:
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
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef BUS_MCEERR_AO
#define BUS_MCEERR_AO 5
#endif

SAMPLE_NOINLINE static void make_leak(void)
{
    sample_drop(malloc(300));
}

static void send_async_sigbus(void)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGBUS;
    si.si_code = BUS_MCEERR_AO;
    syscall(SYS_rt_tgsigqueueinfo, getpid(), (pid_t)syscall(SYS_gettid), SIGBUS, &si);
}

int main(void)
{
    for (int i = 0; i < 2; i++)
        make_leak();
    sample_scrub_stack();
    sample_say("exit_sigbus_async: leaked 2 x 300 bytes, SIGBUS (BUS_MCEERR_AO)\n");
    send_async_sigbus();
    sample_say("exit_sigbus_async: still alive?\n");
    return 0;
}
