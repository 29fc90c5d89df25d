/*
 * exit_failed_exec - children that never become a program of their own
 * write no snapshot: a vfork() child and a fork() child whose exec fails
 * and which then leave with _exit(127), as shells and spawners do.
 *
 * make_leak() drops a 50-byte block; then the parent vforks a child that
 * execs a program that does not exist (execl) and calls _exit(127), and
 * forks a child that does the same with execvp.  The vfork child shares
 * the parent's memory: refscope must not analyse, write or even record
 * anything there.  The fork child is a copy of the parent whose heap the
 * parent reports itself.  The parent checks both statuses (127), then
 * returns 0.  Only the parent is analysed, and it reports exactly:
 *
 * LeakSanitizer agrees: the children leave with _exit, unchecked.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     50/1
 *   @finding leaked     50/1   make_leak
 *   @lsan    direct     50/1
 */
#include "sample_util.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define MISSING "/nonexistent/refscope-no-such-program"

SAMPLE_NOINLINE static void make_leak(void)
{
    sample_drop(malloc(50));
}

static void wait_127(pid_t pid, const char *what)
{
    int status = 0;
    sample_check(pid > 0, what);
    sample_check(waitpid(pid, &status, 0) == pid, "waitpid");
    sample_check(WIFEXITED(status) && WEXITSTATUS(status) == 127, what);
}

int main(void)
{
    make_leak();
    sample_scrub_stack();
    pid_t pid = vfork();
    if (pid == 0) {
        execl(MISSING, MISSING, (char *)NULL);
        _exit(127);
    }
    wait_127(pid, "vfork child exits 127");
    pid = fork();
    if (pid == 0) {
        char *argv[] = { MISSING, NULL };
        execvp(MISSING, argv);
        _exit(127);
    }
    wait_127(pid, "fork child exits 127");
    sample_say("exit_failed_exec: both children failed to exec\n");
    return 0;
}
