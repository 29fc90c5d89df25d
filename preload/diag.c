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
 * Where to: fd 2 while it is open.  Some programs close stderr before
 * exiting (every coreutils program does, through gnulib's close_stdout),
 * which would swallow the exit summary; so at start-up the original
 * stderr is duplicated to a high, close-on-exec descriptor, used only when
 * fd 2 is closed and only if it still refers to the same file (the program
 * may have reused the number).  A fork child closes the duplicate at once,
 * so that a daemon that closes its stdio never keeps its parent's stderr
 * pipe open.
 *
 * A process started without a stderr (`prog 2>&-`, a daemon's child)
 * has nowhere for refscope to write: the descriptor 2 it opens later is
 * the program's own (a data file, a socket: open() returns the lowest free
 * number), and the summary was appended to it.  refscope then stays
 * silent, as the program would be.
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

static int spare_fd = -1;
static struct stat spare_st;
/* 1 when descriptor 2 was closed at start-up (see the file comment). */
static int no_stderr;

void rs_diag_init(void)
{
    no_stderr = fcntl(STDERR_FILENO, F_GETFD) == -1 && errno == EBADF;
    int fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, SPARE_FD_MIN);
    if (fd >= 0 && fstat(fd, &spare_st) != 0) {
        close(fd);
        fd = -1;
    }
    spare_fd = fd;
}

void rs_diag_atfork_child(void)
{
    if (spare_fd >= 0)
        close(spare_fd);
    spare_fd = -1;
}

/* fd 2 if open, else the spare duplicate if it is still ours, else -1;
 * -1 when the process started without a stderr. */
static int output_fd(void)
{
    struct stat st;
    if (no_stderr)
        return -1;
    if (fcntl(STDERR_FILENO, F_GETFD) != -1 || spare_fd < 0)
        return STDERR_FILENO;
    if (fstat(spare_fd, &st) != 0 || st.st_dev != spare_st.st_dev ||
        st.st_ino != spare_st.st_ino)
        return -1;
    return spare_fd;
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
