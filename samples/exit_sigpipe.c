/*
 * exit_sigpipe - leaks, then writes to a pipe whose read end it closed,
 * as a program writing to `| head -1` does once head is gone, with no
 * handler: the write raises SIGPIPE and the process dies by it (128+13 in
 * the shell), as without refscope.
 *
 * make_leak drops a 333-byte block.  refscope's SIGPIPE handler stands in
 * for SIG_DFL: it analyses, then lets the signal end the process as it
 * would have.  It reports exactly:
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     333/1
 *   @finding leaked     333/1  make_leak
 *   LeakSanitizer does not check a process that dies by a signal:
 *   @lsan-exit 141
 */
#include "sample_util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

SAMPLE_NOINLINE static void make_leak(void)
{
    void *p = malloc(333);
    sample_check(p != NULL, "malloc(333)");
    memset(p, 3, 333);
    sample_drop(p);
}

int main(void)
{
    make_leak();
    sample_scrub_stack();
    int fds[2];
    sample_check(pipe(fds) == 0 && close(fds[0]) == 0, "pipe");
    sample_say("exit_sigpipe: leaked 333 bytes, writing to a closed pipe\n");
    ssize_t n = write(fds[1], "x", 1);
    sample_say("exit_sigpipe: still alive? (write returned %zd)\n", n);
    return 0;
}
