/*
 * diag.c - refscope's messages on stderr, built without stdio or malloc.
 *
 * A message is assembled in a fixed rs_line_t on the caller's stack
 * (strings and decimal numbers only; text past the buffer is dropped) and
 * written with write(2), retrying on EINTR and short writes.  Inside the
 * target process this is the only way refscope talks: stdio could
 * allocate, take the program's stream locks, or interleave with its
 * buffered output.
 *
 * Where to: the stderr the process started with, like Valgrind's output,
 * whatever the program does to descriptor 2 since.  At start-up that
 * stderr is duplicated to a high, close-on-exec descriptor (512 and up,
 * fd_limit.c), which refscope writes to while it still refers to the same
 * file (the program may have closed and reused the number: a daemon
 * closing every descriptor).  Some programs close stderr before exiting
 * (every coreutils program does, through gnulib's close_stdout), which
 * would swallow the exit summary; others close it and then open a data
 * file, which gets descriptor 2, the lowest free number: the summary was
 * appended to the program's data.  Without the duplicate (a fork child
 * closes it at once, so that a daemon that closes its stdio never keeps
 * its parent's stderr pipe open; or no descriptor was free) refscope
 * writes to descriptor 2 only while it is the same file as at start-up,
 * else nowhere: the snapshot holds the findings.
 *
 * A process started without a stderr (`prog 2>&-`, a daemon's child)
 * has nowhere for refscope to write: the descriptor 2 it opens later is
 * the program's own.  refscope then stays silent, as the program would
 * be.
 *
 * A closed pipe.  When nobody reads stderr any more (`prog 2>&1 | head -1`
 * after head is gone), write(2) raises SIGPIPE, whose default action
 * would kill a program that natively never writes there and exits 0: it
 * is held back (held_signal.c).  The message is lost, the program goes
 * on.
 */
#include "preload.h"

#include "escape.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void rs_line_mem(rs_line_t *l, const char *s, size_t n)
{
    size_t room = sizeof l->buf - l->len;
    if (n > room)
        n = room;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

void rs_line_str(rs_line_t *l, const char *s)
{
    rs_line_mem(l, s, strlen(s));
}

void rs_line_quoted(rs_line_t *l, const char *s)
{
    rs_line_quoted_mem(l, s, strlen(s));
}

void rs_line_quoted_mem(rs_line_t *l, const char *s, size_t n)
{
    char esc[4];
    for (size_t i = 0; i < n; i++)
        rs_line_mem(l, esc, rs_escape_byte((unsigned char)s[i], esc));
}

void rs_line_u64(rs_line_t *l, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    tmp[--i] = '\0';
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    rs_line_str(l, tmp + i);
}

void rs_line_i64(rs_line_t *l, int64_t v)
{
    if (v < 0) {
        rs_line_str(l, "-");
        rs_line_u64(l, (uint64_t)0 - (uint64_t)v);
    } else {
        rs_line_u64(l, (uint64_t)v);
    }
}

void rs_line_hex(rs_line_t *l, uint64_t v)
{
    char buf[19];
    int i = 18;
    buf[i] = '\0';
    do {
        buf[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    buf[--i] = 'x';
    buf[--i] = '0';
    rs_line_str(l, buf + i);
}

void rs_line_count(rs_line_t *l, uint64_t n, const char *one, const char *many)
{
    rs_line_u64(l, n);
    rs_line_str(l, " ");
    rs_line_str(l, n == 1 ? one : many);
}

#define SPARE_FD_MIN 512

/* The stderr the process started with (its st_dev and st_ino; none: the
 * `prog 2>&-` case), and its duplicate, -1 when there is none.  Until
 * rs_diag_init() ran (the settings' warnings), descriptor 2 as it is. */
static enum { STDERR_UNKNOWN, STDERR_NONE, STDERR_KNOWN } start_stderr;
static struct stat start_st;
static int spare_fd = -1;

void rs_diag_init(void)
{
    int have_stderr = fstat(STDERR_FILENO, &start_st) == 0;
    start_stderr = have_stderr ? STDERR_KNOWN : STDERR_NONE;
    spare_fd = have_stderr ? rs_fd_dup_high(STDERR_FILENO, SPARE_FD_MIN) : -1;
}

void rs_diag_atfork_child(void)
{
    if (spare_fd >= 0)
        close(spare_fd);
    spare_fd = -1;
}

/* 1 when fd is open on the file stderr was at start-up. */
static int is_start_stderr(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && st.st_dev == start_st.st_dev &&
           st.st_ino == start_st.st_ino;
}

/* Where a message goes (see the file comment), or -1. */
static int output_fd(void)
{
    if (start_stderr != STDERR_KNOWN)
        return start_stderr == STDERR_UNKNOWN ? STDERR_FILENO : -1;
    if (spare_fd >= 0 && is_start_stderr(spare_fd))
        return spare_fd;
    return is_start_stderr(STDERR_FILENO) ? STDERR_FILENO : -1;
}

static void write_all(int fd, const char *p, size_t left)
{
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        left -= (size_t)w;
    }
}

void rs_diag_emit(const rs_line_t *l)
{
    int saved_errno = errno;
    int fd = output_fd();
    if (fd < 0) {
        errno = saved_errno;
        return;
    }
    rs_held_signal_t held;
    rs_signal_hold(&held, SIGPIPE);
    if (l->len == sizeof l->buf && l->buf[l->len - 1] != '\n') {
        /* Cut short: the line still ends, and says it was cut. */
        write_all(fd, l->buf, l->len - 4);
        write_all(fd, "...\n", 4);
    } else {
        write_all(fd, l->buf, l->len);
    }
    rs_signal_release(&held);
    errno = saved_errno;
}

void rs_diag_oom(void)
{
    static atomic_int said;
    if (atomic_exchange(&said, 1))
        return;
    rs_line_t l = {.len = 0};
    rs_line_str(&l, "refscope: out of memory for its own bookkeeping; some "
                    "allocations are no longer tracked and the report will "
                    "be incomplete\n");
    rs_diag_emit(&l);
}
