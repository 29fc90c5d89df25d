/*
 * exit_quick_exit - leaks, then leaves with quick_exit(5) after its own
 * at_quick_exit handler ran: no atexit handlers, no destructors.
 *
 * make_leak(), called twice from one loop, drops a 90-byte block each
 * time.  keep_until_quick_exit() allocates 500 bytes that only the
 * program's at_quick_exit handler frees (and prints a line).  refscope
 * analyses in an at_quick_exit handler of its own, registered before the
 * program's and so run after it: the 500 bytes are freed by then.  The
 * exit status stays 5.  It reports exactly:
 *
 * LeakSanitizer checks only inside exit() and reports nothing.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     180/2
 *   @finding leaked     180/2  make_leak
 */
#include "sample_util.h"

#include <stdlib.h>

static void *kept;

SAMPLE_NOINLINE static void make_leak(void)
{
    sample_drop(malloc(90));
}

static void on_quick_exit(void)
{
    free(kept);
    kept = NULL;
    sample_say("exit_quick_exit: handler freed its block\n");
}

SAMPLE_NOINLINE static void keep_until_quick_exit(void)
{
    kept = malloc(500);
    sample_check(kept != NULL, "malloc(500)");
    sample_check(at_quick_exit(on_quick_exit) == 0, "at_quick_exit");
}

int main(void)
{
    keep_until_quick_exit();
    for (int i = 0; i < 2; i++)
        make_leak();
    sample_scrub_stack();
    sample_say("exit_quick_exit: leaked 2 x 90 bytes, quick_exit(5)\n");
    quick_exit(5);
}
