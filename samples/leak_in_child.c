/*
 * leak_in_child - leaks on both sides of a fork().
 *
 * Before forking, pre_fork_leak() leaks 99 bytes; both processes inherit
 * that block.  The child then leaks 111 bytes (child_make_leak) and calls
 * exit(0); the parent waits for it, leaks 222 bytes (parent_make_leak) and
 * returns 0.  Each process is analysed separately when it exits:
 *   child:  "leaked" 99 (pre_fork_leak) + 111 (child_make_leak)
 *   parent: "leaked" 99 (pre_fork_leak) + 222 (parent_make_leak)
 *
 * LeakSanitizer agrees, checking each process at its exit: child 210
 * bytes in 2 objects, parent 321 bytes in 2 objects.
 *
 * Expected (machine-read by tests/integration/rstest.py; ":child" selects
 * the forked process, the default is the first one):
 *   @total         leaked     321/2
 *   @total         reachable  0/0
 *   @finding       leaked     99/1   pre_fork_leak
 *   @finding       leaked     222/1  parent_make_leak
 *   @total:child   leaked     210/2
 *   @total:child   reachable  0/0
 *   @finding:child leaked     99/1   pre_fork_leak
 *   @finding:child leaked     111/1  child_make_leak
 *   @lsan          direct     321/2
 *   @lsan:child    direct     210/2
 */
#include "sample_util.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Each leaking function calls malloc itself so that it is the first
 * program frame of its allocation stack. */
SAMPLE_NOINLINE static void pre_fork_leak(void) { sample_drop(malloc(99)); }
SAMPLE_NOINLINE static void child_make_leak(void) { sample_drop(malloc(111)); }
SAMPLE_NOINLINE static void parent_make_leak(void) { sample_drop(malloc(222)); }

int main(void)
{
    pre_fork_leak();
    pid_t pid = fork();
    sample_check(pid >= 0, "fork");
    if (pid == 0) {
        child_make_leak();
        sample_scrub_stack();
        sample_say("leak_in_child: child leaked 111 bytes\n");
        exit(0);
    }
    int status = 0;
    sample_check(waitpid(pid, &status, 0) == pid, "waitpid");
    sample_check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                 "child exited 0");
    parent_make_leak();
    sample_scrub_stack();
    sample_say("leak_in_child: parent leaked 222 bytes\n");
    return 0;
}
