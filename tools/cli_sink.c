/*
 * cli_sink.c - where a subcommand's report goes: stdout, or the file of
 * -o/--output, written atomically (see cli.h).
 *
 * A file is written under a temporary name in the same directory
 * ("FILE.XXXXXX", mkostemp, close-on-exec, then given the mode fopen would give: 0666
 * less the umask) and renamed over FILE only when everything was written
 * and flushed, so a reader never sees half a report and a failed run
 * leaves an older FILE as it was.  Any failure removes the temporary
 * file and says so in one line.  A FILE that exists and is no regular
 * file (/dev/null, /dev/stdout, a FIFO) is written in place: renaming a
 * new file over it would replace the device (run as root, `-o /dev/null`
 * turned /dev/null into a report).
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    int fd = mkostemp(s->tmp, O_CLOEXEC);   /* not inherited by a program run */
    mode_t mask = umask(0);
    umask(mask);
    if (fd < 0 || fchmod(fd, 0666 & ~mask) != 0 || !(s->fp = fdopen(fd, "w"))) {
        rs_cli_say(cmd, "cannot write '%s': %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
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
    if (fclose(s->fp) == EOF && !failed) {
        failed = 1;
        err = errno;
    }
    if (s->tmp && ok && !failed && rename(s->tmp, s->path) != 0) {
        failed = 1;
        err = errno;
    }
    if (s->tmp && (failed || !ok))
        unlink(s->tmp);
    if (failed && ok)
        rs_cli_say(cmd, "cannot write '%s': %s", s->path, strerror(err));
    free(s->tmp);
    memset(s, 0, sizeof *s);
    return failed || !ok ? -1 : 0;
}
