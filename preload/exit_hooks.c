/*
 * exit_hooks.c - the ends of a process that bypass exit(): _exit(),
 * _Exit() and quick_exit(), and which processes may analyse themselves at
 * their end at all.
 *
 * _exit() and _Exit() (Debian's dash leaves with _exit, so do forked
 * workers and programs' own fatal-signal handlers) reach
 * rs_quick_exit_hook() through the entry stub of main_hook.c, which saved
 * the caller's stack pointer and callee-saved registers.  The hook records
 * the status, runs the end-of-process analysis in its final mode
 * (exit_analysis.c: no malloc, the lock only tried, since _exit is the
 * async-signal-safe exit and may be called from a signal handler that
 * interrupted malloc) and then ends the process with the real _exit and
 * the same status.  The analysis runs at most once per process: exit() ->
 * refscope's destructor -> libc's internal _exit never reaches the hook,
 * and a program's atexit handler or destructor calling _exit() after the
 * analysis finds it taken (rs_analysis_at_exit()).
 *
 * quick_exit() runs the program's at_quick_exit handlers and then libc's
 * internal _exit, which no hook sees.  Its entry stub (main_hook.c) notes
 * the status and registers like exit()'s, and the analysis runs in an
 * at_quick_exit handler of refscope's, registered at start-up, before the
 * program's own: handlers run in reverse order, so it runs after them
 * (what they free is not reported), in the final mode, since a signal
 * handler may call quick_exit().
 *
 * Which processes analyse at their end (rs_exit_process_is_ours()):
 *  - not a child that shares the parent's memory: vfork(), or a clone
 *    refscope never saw (posix_spawn's child leaves through libc's internal
 *    _exit and never gets here; a program's vfork child does).  Such a
 *    child must not write a byte: the parent's refscope state is its
 *    memory.  Detected by the pid: refscope records its process's pid at
 *    start-up and in its fork child handler, and the kernel's getpid()
 *    differs in any child created without fork()'s handlers;
 *  - not a fork child in which an exec failed: a copy of the parent that
 *    could not become the program it meant to run (it then calls
 *    _exit(127)); its heap is the parent's, which reports it itself.  The
 *    exec family is interposed only to notice a failed call: each hook
 *    forwards to the real function and, when it returns, sets the flag.
 *
 * Nothing here allocates; the hooks of a vfork child touch no refscope
 * memory before the pid test.
 */
#include "preload.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

typedef void (*exit_fn_t)(int) __attribute__((noreturn));
typedef int (*execve_fn_t)(const char *, char *const[], char *const[]);
typedef int (*fexecve_fn_t)(int, char *const[], char *const[]);

static exit_fn_t    real_exit_;
static execve_fn_t  real_execve, real_execvpe;
static fexecve_fn_t real_fexecve;
static int          exec_failed;        /* in this process, after start-up */

/* ---- which process this is ---------------------------------------------- */

static int same_process(void)
{
    return rs_self_pid != 0 && (pid_t)syscall(SYS_getpid) == rs_self_pid;
}

int rs_exit_process_is_ours(void)
{
    return same_process() && !(rs_forked && exec_failed);
}

void rs_exit_hooks_atfork_child(void)
{
    exec_failed = 0;
}

/* ---- _exit, _Exit and quick_exit ----------------------------------------- */

static exit_fn_t real_quick_exit;

/* refscope's at_quick_exit handler: the last one to run. */
static void analyse_at_quick_exit(void)
{
    if (rs_exit_process_is_ours())
        rs_analysis_at_exit(1);
}

void rs_exit_hooks_init(void)
{
    real_exit_ = (exit_fn_t)dlsym(RTLD_NEXT, "_exit");
    /* Resolved now: quick_exit() may come from a signal handler. */
    real_quick_exit = (exit_fn_t)dlsym(RTLD_NEXT, "quick_exit");
    at_quick_exit(analyse_at_quick_exit);
    real_execve = (execve_fn_t)dlsym(RTLD_NEXT, "execve");
    real_execvpe = (execve_fn_t)dlsym(RTLD_NEXT, "execvpe");
    real_fexecve = (fexecve_fn_t)dlsym(RTLD_NEXT, "fexecve");
}

void rs_exit_now(int status)
{
    if (real_exit_)
        real_exit_(status);
    for (;;)
        syscall(SYS_exit_group, status);
}

__attribute__((noreturn, used)) void rs_quick_exit_hook(int status)
{
    if (same_process()) {
        rs_main_note_exit(status);
        rs_analysis_at_exit(1);
    }
    rs_exit_now(status);
}

__attribute__((noreturn)) void rs_exit_noted(int status, const char *name, void **real)
{
    if (rs_exit_process_is_ours())   /* not a vfork child: shared memory */
        rs_main_note_exit(status);
    if (!*real)
        *real = dlsym(RTLD_NEXT, name);
    if (*real)
        ((exit_fn_t)*real)(status);
    rs_exit_now(status);
}

/* The C half of quick_exit() (entry stub in main_hook.c): the status and
 * registers are noted for the analysis that refscope's handler runs. */
__attribute__((noreturn, used)) void rs_quick_exit_entry(int status)
{
    rs_exit_noted(status, "quick_exit", (void **)&real_quick_exit);
}

/* ---- the exec family: noticing a failed exec ------------------------------- */

/* The real function, resolved now if start-up has not run (a program that
 * execs before its first allocation, or with refscope inactive). */
static void *resolve(void **slot, const char *name)
{
    if (!*slot)
        *slot = dlsym(RTLD_NEXT, name);
    return *slot;
}

/* Every exec hook ends here: the call returned, so it failed. */
static int exec_returned(int rc)
{
    if (same_process()) {
        int saved_errno = errno;
        exec_failed = 1;
        rs_run_marker_exec_failed(rs_exit_process_is_ours());
        errno = saved_errno;
    }
    return rc;
}

RS_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    execve_fn_t f = (execve_fn_t)resolve((void **)&real_execve, "execve");
    rs_run_marker_exec(envp);
    return exec_returned(f ? f(path, argv, envp) : -1);
}

RS_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    execve_fn_t f = (execve_fn_t)resolve((void **)&real_execvpe, "execvpe");
    rs_run_marker_exec(envp);
    return exec_returned(f ? f(file, argv, envp) : -1);
}

RS_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    fexecve_fn_t f = (fexecve_fn_t)resolve((void **)&real_fexecve, "fexecve");
    rs_run_marker_exec(envp);
    return exec_returned(f ? f(fd, argv, envp) : -1);
}

RS_EXPORT int execv(const char *path, char *const argv[])
{
    return execve(path, argv, environ);
}

RS_EXPORT int execvp(const char *file, char *const argv[])
{
    return execvpe(file, argv, environ);
}

/* execl, execlp, execle: the variadic list (arg0 ... NULL) copied into a
 * stack array argv, as glibc does; envp_out (NULL for execl/execlp)
 * receives the pointer that follows the NULL. */
#define RS_COLLECT_ARGS(arg0, argv, envp_out)                             \
    size_t n_ = 1;                                                        \
    va_list ap_;                                                          \
    va_start(ap_, arg0);                                                  \
    while (va_arg(ap_, const char *))                                     \
        n_++;                                                             \
    va_end(ap_);                                                          \
    const char *argv[n_ + 1];                                             \
    argv[0] = arg0;                                                       \
    va_start(ap_, arg0);                                                  \
    for (size_t i_ = 1; i_ <= n_; i_++)                                   \
        argv[i_] = va_arg(ap_, const char *);                             \
    if ((envp_out) != NULL)                                               \
        *(envp_out) = va_arg(ap_, char *const *);                         \
    va_end(ap_)

RS_EXPORT int execl(const char *path, const char *arg0, ...)
{
    RS_COLLECT_ARGS(arg0, argv, (char *const **)NULL);
    return execve(path, (char *const *)argv, environ);
}

RS_EXPORT int execlp(const char *file, const char *arg0, ...)
{
    RS_COLLECT_ARGS(arg0, argv, (char *const **)NULL);
    return execvpe(file, (char *const *)argv, environ);
}

RS_EXPORT int execle(const char *path, const char *arg0, ...)
{
    char *const *envp = NULL;
    RS_COLLECT_ARGS(arg0, argv, &envp);
    return execve(path, (char *const *)argv, envp);
}
