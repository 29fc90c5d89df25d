/*
 * stderr_closed - a program started without a stderr (`prog 2>&-`, a
 * daemon's child) that opens a data file, which gets descriptor 2, the
 * lowest free one: with an argument FILE it writes one line of its own
 * there and says on stdout which descriptor it got.  refscope must not
 * write its summary into that file (it did: "refscope: 1 leak: ..." was
 * appended to the program's data).  tests/integration/test_preload.py
 * runs it so; without an argument it only leaks, like any sample.
 * With --close it closes descriptor 2 itself before opening FILE (a
 * program that drops its stderr mid-run); with --fork as well, a fork
 * child does that, writes and exits, and the parent waits for it.
 *   stderr_closed [--close [--fork]] [FILE]
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     48/1
 *   @finding leaked     48/1  sample_leak_control
 *   @lsan    direct     48/1
 */
#include "sample_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void write_data_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    sample_check(fd >= 0, "cannot create the data file");
    static const char line[] = "stderr_closed: the program's data\n";
    sample_check(write(fd, line, strlen(line)) == (ssize_t)strlen(line),
                 "cannot write the data file");
    sample_say("stderr_closed: data file on fd %d\n", fd);
}

int main(int argc, char **argv)
{
    int close_first = argc > 1 && strcmp(argv[1], "--close") == 0;
    int in_child = close_first && argc > 2 && strcmp(argv[2], "--fork") == 0;
    const char *path = argv[1 + close_first + in_child];
    sample_leak_control(48);
    sample_scrub_stack();
    if (path) {
        pid_t child = in_child ? fork() : 0;
        sample_check(child >= 0, "fork failed");
        if (child == 0) {
            if (close_first)
                close(2);
            write_data_file(path);
            if (in_child)
                exit(0);          /* with refscope's exit analysis */
        } else {
            int status = 0;
            sample_check(waitpid(child, &status, 0) == child && status == 0,
                         "the child failed");
        }
    }
    sample_say("stderr_closed: leaked 48 bytes\n");
    return 0;
}
