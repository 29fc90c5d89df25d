/*
 * exhaust_limits - a program that uses up a resource limit before it
 * exits, as a server that ran out or a test of that case does:
 *   --memory  allocates until malloc fails (run under a small RLIMIT_AS),
 *             keeping every block reachable from a global list;
 *   --fds     opens descriptors until open() fails with EMFILE (run under
 *             a small soft RLIMIT_NOFILE, below the hard one), and keeps
 *             them open;
 *   --first-fd prints the number its first open() returned (the same as
 *             natively, under any descriptor limit: refscope's own
 *             descriptors are placed above the program's).
 * In every case it then exits 0.  tests/integration/test_preload.py runs it
 * so: with --fds the snapshot must be written all the same (it was lost:
 * "Too many open files"); with --memory, where the analysis itself finds
 * no memory, stderr must say that no snapshot was written, also under
 * REFSCOPE_QUIET (it said nothing: the findings were lost silently).
 * Without an argument it only leaks, like any sample.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     64/1
 *   @finding leaked     64/1  sample_leak_control
 *   @lsan    direct     64/1
 */
#include "sample_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct chunk {
    struct chunk *next;
};

static struct chunk *chunks;     /* every block of --memory: reachable */

static long fill(size_t size)
{
    long n = 0;
    for (;;) {
        struct chunk *c = malloc(size);
        if (!c)
            return n;
        c->next = chunks;
        chunks = c;
        n++;
    }
}

static void exhaust_memory(void)
{
    long n = fill(64 * 1024);
    n += fill(4096);
    n += fill(64);
    sample_check(n > 0, "malloc failed at once");
    sample_say("exhaust_limits: memory exhausted\n");
}

static void exhaust_fds(void)
{
    int fd;
    while ((fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
        ;
    sample_check(errno == EMFILE, "open() failed, but not with EMFILE");
    sample_say("exhaust_limits: descriptors exhausted\n");
}

/* The descriptor a program's first open() gets, after its allocations
 * (whose stacks may have made refscope's unwinder open its pipe). */
static void first_fd(void)
{
    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    sample_check(fd >= 0, "open() failed");
    sample_say("exhaust_limits: first descriptor %d\n", fd);
}

int main(int argc, char **argv)
{
    sample_leak_control(64);
    sample_scrub_stack();
    if (argc > 1 && strcmp(argv[1], "--memory") == 0)
        exhaust_memory();
    else if (argc > 1 && strcmp(argv[1], "--fds") == 0)
        exhaust_fds();
    else if (argc > 1 && strcmp(argv[1], "--first-fd") == 0)
        first_fd();
    sample_say("exhaust_limits: leaked 64 bytes\n");
    return 0;
}
