/*
 * process_title - sets its process title the way postgres and sshd do
 * (setproctitle on Linux): the title is written over the argument area
 * and the rest of the area is filled with NULs, so that /proc/self/cmdline
 * reads back as the title followed by dozens of empty arguments.  refscope
 * must name the process by its title alone, as ps does.
 *
 * Before retitling, the process forks a child that execs this program
 * again with two empty arguments and leaves its title alone: those empty
 * arguments are real and must be kept.  Only a command line whose number
 * of arguments changed since start-up is trimmed.
 *
 * Expected (machine-read by tests/integration/rstest.py; the argv lines
 * give the process's "argv" in the JSON report, {exe} the sample's path):
 *   @argv              ["process_title: worker"]
 *   @total             leaked     21/1
 *   @finding           leaked     21/1  sample_leak_control
 *   @argv:child        ["{exe}", "", ""]
 *   @total:child       leaked     12/1
 *   @finding:child     leaked     12/1  sample_leak_control
 *   @lsan              direct     21/1
 *   @lsan:child        direct     12/1
 */
#include "sample_util.h"

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Writes title over the argument strings (argv[0] up to the end of the
 * last one, which lie back to back), NUL-padded. */
static void set_title(int argc, char **argv, const char *title)
{
    char *start = argv[0];
    char *end = argv[argc - 1] + strlen(argv[argc - 1]);
    size_t room = (size_t)(end - start);
    memset(start, '\0', room);
    size_t n = strlen(title);
    memcpy(start, title, n < room ? n : room);
}

int main(int argc, char **argv)
{
    if (argc == 3) {                    /* the child: "" "" */
        sample_leak_control(12);
        return 0;
    }
    pid_t pid = fork();
    sample_check(pid >= 0, "fork");
    if (pid == 0) {
        execl("/proc/self/exe", argv[0], "", "", (char *)0);
        _exit(70);
    }
    int status = 0;
    sample_check(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
                 WEXITSTATUS(status) == 0, "child exit status");
    set_title(argc, argv, "process_title: worker");
    sample_leak_control(21);
    sample_say("retitled\n");
    return 0;
}
