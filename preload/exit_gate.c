/*
 * exit_gate.c - REFSCOPE_SUPPRESSIONS for the bare preload: whether the
 * leaks found at exit fail REFSCOPE_EXITCODE is decided by `refscope
 * check`, run on the snapshot just written.
 *
 * The preload cannot apply suppressions itself: patterns name functions
 * and source files, and symbolizing the target's static functions needs
 * its DWARF and symbol tables, i.e. the offline symbolizer.  So, with
 * REFSCOPE_EXITCODE and REFSCOPE_SUPPRESSIONS both set and something
 * leaked, the exit trigger (exit_analysis.c) asks rs_gate_fails(), which
 * runs
 *
 *     refscope check --fail-on leaks,indirect,cycles,leaked_refs
 *                    --suppressions F1 [--suppressions F2 ...]
 *                    [--output /dev/null] SNAPSHOT
 *
 * and waits for it.  The --fail-on list is the preload's own rule ("any
 * leak fails": leaked, indirect, cycle and leaked_ref blocks, not refcount
 * errors), so suppressions are the only difference they make.  What the
 * user sees on stderr: without REFSCOPE_QUIET the tool's one-line verdict
 * ("refscope check: PASSED" / "refscope check: FAILED: ..."; the report
 * itself goes to /dev/null - `refscope check --suppressions F SNAPSHOT`
 * prints it), with REFSCOPE_QUIET nothing unless something went wrong.
 *
 * The tool: $REFSCOPE_TOOL if set (only it), else ../bin/refscope next to
 * librefscope.so's directory (the build tree's build/lib -> build/bin and
 * an installed prefix's lib -> bin alike), else refscope in the bindir
 * this library was configured with (REFSCOPE_INSTALL_BINDIR).
 *
 * The child is started with posix_spawn (glibc: clone(CLONE_VFORK) and
 * execve, no allocation in the child), stdin and stdout on /dev/null,
 * stderr inherited, an environment without LD_PRELOAD (the tool is not
 * profiled) and without REFSCOPE_SUPPRESSIONS (the files are passed as
 * options, already absolute), default signal dispositions and an empty
 * signal mask.  SIGCHLD is set to its default while we wait, so neither
 * SIG_IGN (auto-reaping) nor a program's handler can take the status.
 *
 * Fails closed: if the tool cannot be found or started, ends with any
 * status other than 0 or 1 (2: unreadable suppression file or snapshot)
 * or by a signal, or the snapshot was not written, one line on stderr
 * says so and every leak fails, as without suppressions.  There is no
 * timeout: the tool only reads one snapshot.
 *
 * Runs in the exit destructor after the analysis: the world is running,
 * scratch memory is gone; memory comes from rs_mem (the real allocator)
 * under the reentrancy guard, so nothing here is recorded.
 */
#include "guard.h"
#include "preload.h"

#include "rs_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef REFSCOPE_INSTALL_BINDIR
#define REFSCOPE_INSTALL_BINDIR "/usr/local/bin"
#endif

#define GATE_FAIL_ON "leaks,indirect,cycles,leaked_refs"

extern char **environ;

/* ---- REFSCOPE_SUPPRESSIONS --------------------------------------------- */

int rs_gate_parse_suppressions(const char *value, void *field)
{
    static char list[RS_SETTINGS_LIST_MAX];    /* start-up: one thread  */
    char one[PATH_MAX], abs[PATH_MAX];
    size_t len = 0;
    for (const char *p = value; *p; ) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n >= sizeof one)
            return -1;
        memcpy(one, p, n);
        one[n] = '\0';
        p += n + (end != NULL);
        if (n == 0)
            continue;                   /* "a::b" and a trailing ':'     */
        if (rs_settings_make_absolute(abs, one) != 0)
            return -1;
        size_t la = strlen(abs);
        if (len + (len != 0) + la + 1 > sizeof list)
            return -1;
        if (len)
            list[len++] = ':';
        memcpy(list + len, abs, la + 1);
        len += la;
    }
    if (!len)
        return -1;
    memcpy(field, list, len + 1);
    return 0;
}

/* ---- finding the tool ---------------------------------------------------- */

static int executable(const char *path)
{
    return access(path, X_OK) == 0;
}

/* dst = dir of librefscope.so + "/../bin/refscope"; -1 if unknown. */
static int tool_next_to_library(char *dst, size_t size)
{
    rs_module_t *mods;
    uint32_t n;
    uint64_t self = (uint64_t)(uintptr_t)&rs_gate_fails;
    int rc = -1;
    if (rs_modules_copy(&mods, &n) != 0)
        return -1;
    for (uint32_t i = 0; i < n && rc != 0; i++) {
        const rs_module_t *m = &mods[i];
        for (uint32_t s = 0; s < m->n_segments; s++) {
            if (self < m->segments[s].start || self >= m->segments[s].end)
                continue;
            const char *slash = m->path ? strrchr(m->path, '/') : NULL;
            static const char tail[] = "/../bin/refscope";
            size_t dir = slash ? (size_t)(slash - m->path) : 0;
            if (slash && dir + sizeof tail <= size) {
                memcpy(dst, m->path, dir);
                memcpy(dst + dir, tail, sizeof tail);
                rc = 0;
            }
            break;
        }
    }
    rs_mem_free(mods);
    return rc;
}

/* Fills path with the tool to run.  Returns 0, or -1 with l saying why. */
static int find_tool(char *path, size_t size, rs_line_t *l)
{
    if (rs_settings.tool[0]) {
        size_t n = strlen(rs_settings.tool);
        if (n < size && executable(rs_settings.tool)) {
            memcpy(path, rs_settings.tool, n + 1);
            return 0;
        }
        rs_line_str(l, "REFSCOPE_TOOL=");
        rs_line_quoted(l, rs_settings.tool);
        rs_line_str(l, " is not an executable file");
        return -1;
    }
    if (tool_next_to_library(path, size) == 0 && executable(path))
        return 0;
    static const char installed[] = REFSCOPE_INSTALL_BINDIR "/refscope";
    if (sizeof installed <= size && executable(installed)) {
        memcpy(path, installed, sizeof installed);
        return 0;
    }
    rs_line_str(l, "no refscope tool in ../bin next to librefscope.so or at "
                   REFSCOPE_INSTALL_BINDIR "/refscope (set REFSCOPE_TOOL)");
    return -1;
}

/* ---- the child's argv and environment ------------------------------------ */

/* argv for `refscope check`; list is a copy of the suppression list, split
 * in place.  Returns NULL when memory ran out. */
static char **make_argv(char *tool, char *list, char *snapshot)
{
    size_t files = 1;
    for (const char *p = list; *p; p++)
        files += *p == ':';
    char **argv = rs_mem_calloc(2 * files + 9, sizeof *argv);
    if (!argv)
        return NULL;
    size_t n = 0;
    argv[n++] = tool;
    argv[n++] = "check";
    argv[n++] = "--fail-on";
    argv[n++] = GATE_FAIL_ON;
    for (char *p = list; p; ) {
        char *colon = strchr(p, ':');
        if (colon)
            *colon = '\0';
        argv[n++] = "--suppressions";
        argv[n++] = p;
        p = colon ? colon + 1 : NULL;
    }
    if (!rs_settings.quiet) {           /* report away, verdict on stderr */
        argv[n++] = "--output";
        argv[n++] = "/dev/null";
    }
    argv[n++] = snapshot;
    argv[n] = NULL;
    return argv;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* environ without LD_PRELOAD and REFSCOPE_SUPPRESSIONS (entries shared
 * with environ).  Returns NULL when memory ran out. */
static char **make_envp(void)
{
    size_t n = 0;
    for (char **e = environ; e && *e; e++)
        n++;
    char **envp = rs_mem_calloc(n + 1, sizeof *envp);
    if (!envp)
        return NULL;
    size_t k = 0;
    for (char **e = environ; e && *e; e++)
        if (!starts_with(*e, "LD_PRELOAD=") &&
            !starts_with(*e, "REFSCOPE_SUPPRESSIONS="))
            envp[k++] = *e;
    envp[k] = NULL;
    return envp;
}

/* ---- running it ------------------------------------------------------------ */

/* stdin and stdout on /dev/null, stderr too if fd 2 is closed. */
static int set_file_actions(posix_spawn_file_actions_t *fa)
{
    if (posix_spawn_file_actions_init(fa) != 0)
        return -1;
    int rc = posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
    if (rc == 0)
        rc = posix_spawn_file_actions_addopen(fa, 1, "/dev/null", O_WRONLY, 0);
    if (rc == 0 && fcntl(2, F_GETFD) < 0)
        rc = posix_spawn_file_actions_addopen(fa, 2, "/dev/null", O_WRONLY, 0);
    if (rc != 0) {
        posix_spawn_file_actions_destroy(fa);
        return -1;
    }
    return 0;
}

static int set_attributes(posix_spawnattr_t *attr)
{
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    if (posix_spawnattr_init(attr) != 0)
        return -1;
    if (posix_spawnattr_setsigdefault(attr, &all) != 0 ||
        posix_spawnattr_setsigmask(attr, &none) != 0 ||
        posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGDEF |
                                       POSIX_SPAWN_SETSIGMASK) != 0) {
        posix_spawnattr_destroy(attr);
        return -1;
    }
    return 0;
}

/* Spawns argv and waits.  Returns the exit status (0..255), or -1 with l
 * saying why (not started, killed by a signal). */
static int spawn_and_wait(char **argv, char **envp, rs_line_t *l)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    if (set_file_actions(&fa) != 0) {
        rs_line_str(l, "out of memory");
        return -1;
    }
    if (set_attributes(&attr) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        rs_line_str(l, "cannot set up the child");
        return -1;
    }
    struct sigaction dfl, old;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGCHLD, &dfl, &old);

    pid_t pid;
    int status = -1;
    int err = posix_spawn(&pid, argv[0], &fa, &attr, argv, envp);
    if (err != 0) {
        rs_line_str(l, "cannot run ");
        rs_line_quoted(l, argv[0]);
        rs_line_str(l, ": ");
        rs_line_str(l, strerror(err));
    } else {
        int st;
        pid_t r;
        while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
            ;
        if (r < 0) {
            rs_line_str(l, "cannot wait for ");
            rs_line_str(l, argv[0]);
            rs_line_str(l, ": ");
            rs_line_str(l, strerror(errno));
        } else if (WIFEXITED(st)) {
            status = WEXITSTATUS(st);
        } else {
            rs_line_str(l, argv[0]);
            rs_line_str(l, " was killed by signal ");
            rs_line_i64(l, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        }
    }
    sigaction(SIGCHLD, &old, NULL);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return status;
}

/* Runs the tool on the snapshot.  Returns its exit status, or -1 with l
 * saying why it did not run to the end. */
static int run_check(const rs_analysis_result_t *res, rs_line_t *l)
{
    static char tool[PATH_MAX];
    static char snapshot[PATH_MAX];
    if (!res->written) {
        rs_line_str(l, "no snapshot was written");
        if (res->error[0]) {
            rs_line_str(l, " (");
            rs_line_str(l, res->error);
            rs_line_str(l, ")");
        }
        return -1;
    }
    if (find_tool(tool, sizeof tool, l) != 0)
        return -1;
    memcpy(snapshot, res->path, sizeof snapshot);
    snapshot[sizeof snapshot - 1] = '\0';
    char *list = rs_mem_strdup(rs_settings.suppressions);
    char **argv = list ? make_argv(tool, list, snapshot) : NULL;
    char **envp = argv ? make_envp() : NULL;
    int status = -1;
    if (!envp)
        rs_line_str(l, "out of memory");
    else
        status = spawn_and_wait(argv, envp, l);
    rs_mem_free(envp);
    rs_mem_free(argv);
    rs_mem_free(list);
    return status;
}

int rs_gate_fails(const rs_analysis_result_t *res)
{
    if (!rs_settings.suppressions[0])
        return 1;
    rs_guard_enter();
    int saved_errno = errno;
    rs_line_t why = {.len = 0};
    int status = run_check(res, &why);
    errno = saved_errno;
    rs_guard_leave();
    if (status == 0 || status == 1)
        return status;
    rs_line_t l = {.len = 0};
    rs_line_str(&l, "refscope: cannot apply REFSCOPE_SUPPRESSIONS: ");
    if (status >= 0) {
        rs_line_str(&l, "refscope check failed with status ");
        rs_line_i64(&l, status);
    } else {
        why.buf[why.len < sizeof why.buf ? why.len : sizeof why.buf - 1] = '\0';
        rs_line_str(&l, why.buf);
    }
    rs_line_str(&l, "; every leak counts\n");
    rs_diag_emit(&l);
    return 1;
}
