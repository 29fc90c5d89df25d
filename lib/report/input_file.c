/*
 * input_file.c - rs_input_open(): a regular file opened for reading, never
 * a FIFO or device waited on (see input_file.h).
 */
#include "input_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rs_input_open(const char *path, FILE **out)
{
    int fd;
    do
        fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return errno;
    struct stat st;
    int err = 0;
    if (fstat(fd, &st) != 0)
        err = errno;
    else if (S_ISDIR(st.st_mode))
        err = EISDIR;
    else if (!S_ISREG(st.st_mode))
        err = RS_INPUT_NOT_REGULAR;
    else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
        err = errno;
    FILE *f = err ? NULL : fdopen(fd, "rb");
    if (!f) {
        if (!err)
            err = errno;
        close(fd);
        return err;
    }
    *out = f;
    return 0;
}

const char *rs_input_strerror(int err)
{
    if (err == RS_INPUT_NOT_REGULAR)
        return "not a regular file (a FIFO or device is not read)";
    return strerror(err);
}
