/*
 * stderr_closed - a program started without a stderr (`prog 2>&-`, a
 * daemon's child) that opens a data file, which gets descriptor 2, the
 * lowest free one: with an argument FILE it writes one line of its own
 * there and says on stdout which descriptor it got.  refscope must not
 * write its summary into that file (it did: "refscope: 1 leak: ..." was
 * appended to the program's data).  tests/integration/test_preload.py
 * runs it so; without an argument it only leaks, like any sample.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     48/1
 *   @finding leaked     48/1  sample_leak_control
 *   @lsan    direct     48/1
 */
#include "sample_util.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    sample_leak_control(48);
    sample_scrub_stack();
    if (argc > 1) {
        int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        sample_check(fd >= 0, "cannot create the data file");
        static const char line[] = "stderr_closed: the program's data\n";
        sample_check(write(fd, line, strlen(line)) == (ssize_t)strlen(line),
                     "cannot write the data file");
        sample_say("stderr_closed: data file on fd %d\n", fd);
    }
    sample_say("stderr_closed: leaked 48 bytes\n");
    return 0;
}
