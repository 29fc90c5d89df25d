/*
 * proc_file.c - a small file of /proc or /sys read whole into a caller's
 * buffer: no stdio, no malloc, async-signal-safe (world.c reads a
 * thread's status while stopping the world, possibly in a fatal signal's
 * handler).
 */
#include "preload.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

ssize_t rs_proc_file_read(const char *path, char *buf, size_t size)
{
    int saved_errno = errno;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = -1;
    if (fd >= 0) {
        do
            n = read(fd, buf, size - 1);
        while (n < 0 && errno == EINTR);
        close(fd);
    }
    if (n <= 0)
        n = -1;
    else
        buf[n] = '\0';
    errno = saved_errno;
    return n;
}
