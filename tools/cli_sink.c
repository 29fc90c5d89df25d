/*
 * cli_sink.c - where a subcommand's report goes: stdout, or the file of
 * -o/--output, written atomically (see cli.h).
 *
 * A file is written as an unnamed file in FILE's directory (O_TMPFILE,
 * close-on-exec, with the mode fopen would give: 0666 less the umask),
 * given a temporary name ("FILE.XXXXXX") only once everything was
 * written and flushed, and renamed over FILE: a reader never sees half a
 * report, a failed run leaves an older FILE as it was, and a run killed
 * meanwhile (SIGKILL: `refscope run` holds the file for as long as the
 * program runs) leaves nothing behind.  Where O_TMPFILE is not supported
 * (some file systems) the file is made under the temporary name at once
 * (mkostemp).  Any failure removes the temporary file and says so in one
 * line.  A FILE that exists and is no regular
 * file (/dev/null, /dev/stdout, a FIFO) is written in place: renaming a
 * new file over it would replace the device (run as root, `-o /dev/null`
 * turned /dev/null into a report).
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* An unnamed file (O_TMPFILE) in the directory of path, with mode;
 * -1 when the kernel or the file system has none, when /proc is not
 * there to name it later, or when it cannot be made (then mkostemp says
 * why). */
static int open_unnamed(const char *path, mode_t mode)
{
    if (access("/proc/self/fd", X_OK) != 0)
        return -1;
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if ((size_t)(slash - path) >= sizeof dir)
        return -1;
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    return open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
}

/* Gives the unnamed file fd the name tmp (a template "FILE.XXXXXX" whose
 * last six characters are replaced until the name is free): linkat()
 * through /proc/self/fd, which needs no privilege.  0, or -1 with errno. */
static int name_unnamed(int fd, char *tmp)
{
    static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    char *x = tmp + strlen(tmp) - 6;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t r = (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 20;
    for (int tries = 0; tries < 100; tries++) {
        for (int i = 0; i < 6; i++, r = r * 6364136223846793005ull + 1442695040888963407ull)
            x[i] = letters[(r >> 33) % (sizeof letters - 1)];
        if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0)
            return 0;
        if (errno != EEXIST)
            return -1;
    }
    return -1;
}

int rs_cli_sink_open(const char *cmd, const char *path, rs_cli_sink_t *s)
{
    memset(s, 0, sizeof *s);
    s->fp = stdout;
    if (!path)
        return 0;
    struct stat st;
    int exists = stat(path, &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) {
        /* The rename at the end would fail: said now, before any work. */
        rs_cli_say(cmd, "cannot write '%s': %s", path, strerror(EISDIR));
        s->fp = NULL;
        return -1;
    }
    if (exists && !S_ISREG(st.st_mode)) {
        s->path = path;                     /* a device or FIFO: in place */
        s->fp = fopen(path, "we");
        if (!s->fp) {
            rs_cli_say(cmd, "cannot write '%s': %s", path, strerror(errno));
            return -1;
        }
        return 0;
    }
    size_t n = strlen(path) + sizeof ".XXXXXX";
    s->path = path;
    s->tmp = malloc(n);
    if (!s->tmp) {
        rs_cli_oom(cmd);
        return -1;
    }
    snprintf(s->tmp, n, "%s.XXXXXX", path);
    mode_t mask = umask(0);
    umask(mask);
    int fd = open_unnamed(path, 0666 & ~mask);
    s->unnamed = fd >= 0;
    if (fd < 0 && (fd = mkostemp(s->tmp, O_CLOEXEC)) >= 0 &&  /* not inherited by */
        fchmod(fd, 0666 & ~mask) != 0) {                      /* a program run   */
        int e = errno;
        close(fd);
        unlink(s->tmp);
        errno = e;
        fd = -1;
    }
    if (fd < 0 || !(s->fp = fdopen(fd, "w"))) {
        rs_cli_say(cmd, "cannot write '%s': %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            if (!s->unnamed)
                unlink(s->tmp);
        }
        free(s->tmp);
        memset(s, 0, sizeof *s);
        return -1;
    }
    return 0;
}

int rs_cli_sink_close(const char *cmd, rs_cli_sink_t *s, int ok)
{
    if (!s->fp)
        return -1;
    int failed = fflush(s->fp) == EOF || ferror(s->fp);
    int err = failed ? errno : 0;
    if (!s->path) {
        s->fp = NULL;
        if (failed && ok)
            rs_cli_say(cmd, "cannot write the output: %s", strerror(err));
        return failed || !ok ? -1 : 0;
    }
    /* An unnamed file gets its name before it is closed (the link goes
     * through its descriptor); one that is not linked vanishes. */
    int named = !s->unnamed;
    if (s->tmp && s->unnamed && ok && !failed) {
        if (name_unnamed(fileno(s->fp), s->tmp) == 0) {
            named = 1;
        } else {
            failed = 1;
            err = errno;
        }
    }
    if (fclose(s->fp) == EOF && !failed) {
        failed = 1;
        err = errno;
    }
    if (s->tmp && ok && !failed && rename(s->tmp, s->path) != 0) {
        failed = 1;
        err = errno;
    }
    if (s->tmp && named && (failed || !ok))
        unlink(s->tmp);
    if (failed && ok)
        rs_cli_say(cmd, "cannot write '%s': %s", s->path, strerror(err));
    free(s->tmp);
    memset(s, 0, sizeof *s);
    return failed || !ok ? -1 : 0;
}
