/*
 * run_marker.c - the mark a process leaves while it runs under `refscope
 * run` (REFSCOPE_MARK_RUNNING=1): a file REFSCOPE_OUT/.running.<pid>
 * holding the program's short name and a newline.
 *
 * Why: `refscope run` reports every process from its snapshot, and a
 * process that ends without one - killed by SIGKILL (a harness's
 * timeout, the OOM killer), or gone on as a program the loader does not
 * preload (static, set-user-ID) - was simply missing from the report.
 * A mark left behind by a process that is gone names it.
 *
 * Invariants:
 *  - The mark is written at start-up (also after every exec, which starts
 *    the preload anew: the new image rewrites the same pid's mark) and in
 *    a fork child (its own pid), and removed only after the end of the
 *    process was analysed, whatever came of it (a snapshot, or a line
 *    saying why none was written).
 *  - An exec whose new environment would mark elsewhere or not at all
 *    (another REFSCOPE_OUT: a nested `refscope run`, or no
 *    REFSCOPE_MARK_RUNNING=1, or REFSCOPE_ENABLE=0) removes the mark
 *    first: the new image is accounted for elsewhere.  One that keeps the
 *    mark and leaves the preload out (a static or set-user-ID program, an
 *    environment without LD_PRELOAD) is then reported, truly, as ended
 *    without a snapshot.  A failed exec puts the mark back when the
 *    process is still analysed at its end (rs_exit_process_is_ours()), and
 *    removes it when not (a fork child whose exec failed is a helper).
 *  - System calls only (no allocation), errno kept: callable from the
 *    fork child handler and from the fatal-signal analysis.
 */
#include "preload.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

/* REFSCOPE_OUT/.running.<pid> into l; 0, or -1 when it does not fit a
 * path. */
static int marker_path(rs_line_t *l)
{
    l->len = 0;
    rs_line_str(l, rs_settings.out_dir);
    rs_line_str(l, "/.running.");
    rs_line_i64(l, (int64_t)getpid());
    if (l->len >= PATH_MAX)
        return -1;
    l->buf[l->len] = '\0';
    return 0;
}

void rs_run_marker_begin(void)
{
    rs_line_t path;
    if (!rs_settings.mark_running || marker_path(&path) != 0)
        return;
    int saved_errno = errno;
    int fd = open(path.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd >= 0) {
        rs_line_t name = {.len = 0};
        const char *short_name = program_invocation_short_name;
        rs_line_quoted(&name, short_name && *short_name ? short_name : "?");
        rs_line_str(&name, "\n");
        (void)!write(fd, name.buf, name.len);
        close(fd);
    }
    errno = saved_errno;
}

void rs_run_marker_end(void)
{
    rs_line_t path;
    if (!rs_settings.mark_running || marker_path(&path) != 0)
        return;
    int saved_errno = errno;
    unlink(path.buf);
    errno = saved_errno;
}

/* The value of name in envp, or NULL. */
static const char *env_value(char *const envp[], const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=')
            return envp[i] + len + 1;
    return NULL;
}

/* 1 when a process started with envp marks itself where this one does. */
static int marks_here(char *const envp[])
{
    const char *mark = env_value(envp, "REFSCOPE_MARK_RUNNING");
    const char *enable = env_value(envp, "REFSCOPE_ENABLE");
    const char *out = env_value(envp, "REFSCOPE_OUT");
    char dir[PATH_MAX];
    return mark && strcmp(mark, "1") == 0 && !(enable && strcmp(enable, "0") == 0) && out &&
           rs_settings_make_absolute(dir, out) == 0 && strcmp(dir, rs_settings.out_dir) == 0;
}

void rs_run_marker_exec(char *const envp[])
{
    if (rs_settings.mark_running && !marks_here(envp))
        rs_run_marker_end();
}

void rs_run_marker_exec_failed(int analysed)
{
    if (analysed)
        rs_run_marker_begin();
    else
        rs_run_marker_end();
}
