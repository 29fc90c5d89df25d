/*
 * exit_own_altstack - installs an alternate signal stack of its own (16
 * KiB, in the middle of a 1 MiB static array, so that its mapping has far
 * more room than the stack) and a SIGSEGV handler that runs on it
 * (SA_ONSTACK), prints a line and puts the previous action (SIG_DFL)
 * back.  Then it leaks, and:
 *   - without arguments: writes to NULL; the handler returns, so the
 *     fault happens again and kills the process;
 *   - with "overflow": overflows its stack by endless recursion; the
 *     handler raises SIGSEGV again from inside itself (SA_NODEFER), as
 *     Python's faulthandler does.
 * Either way the process dies by SIGSEGV, as without refscope.
 *
 * make_leak(), called twice from one loop, drops a 160-byte block each
 * time.  On the last SIGSEGV refscope's handler stands in for SIG_DFL and
 * runs on the program's 16 KiB stack, too small for the analysis
 * (preload/alt_stack.c): it moves to the interrupted stack below its
 * stack pointer (the NULL write), or, when the interrupted code is the
 * program's handler on that same small stack (the overflow), to
 * refscope's own alternate stack, which the program replaced but which
 * stays mapped.  Either way it reports exactly:
 *
 * LeakSanitizer does not check a process that dies by a signal.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     320/2
 *   @finding leaked     320/2  make_leak
 */
#include "sample_util.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OWN_ALT_STACK_SIZE (16 * 1024)

static char big_array[1 << 20];
static struct sigaction previous;
static int raise_again;            /* faulthandler's way, else return    */

static void on_segv(int sig)
{
    (void)sig;
    static const char msg[] = "exit_own_altstack: caught SIGSEGV, default again\n";
    if (write(1, msg, sizeof msg - 1) < 0)
        _exit(70);
    sigaction(SIGSEGV, &previous, NULL);
    if (raise_again)
        raise(SIGSEGV);                    /* delivered here: SA_NODEFER */
}                                          /* else the fault again       */

static void install_handler(void)
{
    stack_t ss = { .ss_sp = big_array + sizeof big_array / 2,
                   .ss_size = OWN_ALT_STACK_SIZE, .ss_flags = 0 };
    sample_check(sigaltstack(&ss, NULL) == 0, "sigaltstack");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_segv;
    sa.sa_flags = SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sample_check(sigaction(SIGSEGV, &sa, &previous) == 0, "sigaction");
}

SAMPLE_NOINLINE static void make_leak(void)
{
    sample_drop(malloc(160));
}

SAMPLE_NOINLINE static void crash(volatile int *where)
{
    *where = 1;
}

int main(int argc, char **argv)
{
    int overflow = argc > 1 && strcmp(argv[1], "overflow") == 0;
    raise_again = overflow;
    install_handler();
    for (int i = 0; i < 2; i++)
        make_leak();
    sample_scrub_stack();
    sample_say("exit_own_altstack: leaked 2 x 160 bytes, %s\n",
               overflow ? "recursing" : "writing to NULL");
    if (overflow)
        sample_say("exit_own_altstack: still alive? %ld\n", sample_overflow_stack());
    crash(NULL);
    sample_say("exit_own_altstack: still alive?\n");
    return 0;
}
