/*
 * drop_privileges - a child that gives up root before it leaks, as
 * nginx's workers and most daemons do: run as root, the forked child
 * switches to user and group 65534 (nobody) and can then write only where
 * everyone may.  `refscope run` makes its snapshot directory writable by
 * everyone (sticky, like /tmp) when run as root, so the child's snapshot
 * is written and reported; before, the child said "Snapshot not written:
 * ... Permission denied" and `refscope run` listed the parent alone.  Not
 * run as root (or under LeakSanitizer, which cannot check a process that
 * gave up root), the child keeps its user and the sample shows nothing
 * more than leak_in_child.
 *
 * The parent leaks 32 bytes, the child 64 (sample_leak_control both).
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total         leaked     32/1
 *   @finding       leaked     32/1   sample_leak_control
 *   @total:child   leaked     64/1
 *   @finding:child leaked     64/1   sample_leak_control
 *   @lsan          direct     32/1
 *   @lsan:child    direct     64/1
 */
#include "sample_util.h"

#include <dlfcn.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOBODY 65534

/* LeakSanitizer cannot check a process that gave up root (its tracer
 * is refused: the process crashes), so under it the child keeps root. */
static int under_lsan(void)
{
    return dlsym(RTLD_DEFAULT, "__lsan_do_leak_check") != NULL;
}

static void become_nobody(void)
{
    if (geteuid() != 0 || under_lsan())
        return;
    sample_check(setgroups(0, NULL) == 0, "setgroups");
    sample_check(setgid(NOBODY) == 0, "setgid");
    sample_check(setuid(NOBODY) == 0, "setuid");
}

int main(void)
{
    pid_t pid = fork();
    sample_check(pid >= 0, "fork");
    if (pid == 0) {
        become_nobody();
        sample_leak_control(64);
        sample_scrub_stack();
        return 0;
    }
    int status = 0;
    sample_check(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
                 WEXITSTATUS(status) == 0, "child exit status");
    sample_leak_control(32);
    sample_scrub_stack();
    sample_say("drop_privileges: the child ran as %s\n",
               geteuid() == 0 ? "nobody" : "this user");
    return 0;
}
