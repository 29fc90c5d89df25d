/*
 * run_process.c - the program `refscope run` runs (run_process.h): its
 * start, the signals forwarded to it, and the wait for every process of
 * it but the daemons (and, past --wait or a Ctrl-C, those still running).
 *
 * child_pid is the direct child while it runs (0 before and after): the
 * forwarding handler reads it, so it is set with the forwarded signals
 * blocked and cleared once the child is reaped.
 *
 * The program is to see the signal settings it would see natively:
 *  - a forwarded signal that refscope run was started with ignored (nohup,
 *    `trap '' INT`) stays ignored and is not forwarded: the program
 *    inherits SIG_IGN across exec, as it would have (a handler of ours
 *    would become SIG_DFL there);
 *  - SIGPIPE is ignored in refscope run only after the fork, so that a
 *    report written to a closed pipe fails with EPIPE (said, and the
 *    snapshots kept) instead of killing refscope run with the program's
 *    status unsaid, while the program keeps the disposition it was given.
 * And its caller sees how the program ended: one killed by a signal makes
 * refscope run die of the same signal once the report is out
 * (rs_run_die_by), not exit 128 + N, which a shell or a Python parent
 * tells apart (a script stops at Ctrl-C only when its child died of it).
 */
#include "run_process.h"

#include "report_array.h"
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How long into the wait for the program's other processes one line says
 * what refscope run waits for (the program's output has ended, and
 * nothing else would show why the prompt does not come back). */
#define WAIT_NOTE_MS 1000

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static volatile sig_atomic_t child_pid;
/* Set once the direct child was reaped (before child_pid is cleared);
 * then a forwarded signal stops the wait for the other processes. */
static volatile sig_atomic_t program_ended, stop_signal;

static void forward_signal(int sig)
{
    pid_t pid = child_pid;
    if (pid > 0)
        kill(pid, sig);
    else if (program_ended)
        stop_signal = sig;
}

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define N_FORWARDED (sizeof forwarded / sizeof forwarded[0])
/* Which of forwarded[] have our handler: those not ignored at start. */
static int forwarding[N_FORWARDED];

/* Installs the forwarding handler for each forwarded signal that is not
 * ignored; *set gets those signals. */
static void install_forwarding(sigset_t *set)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward_signal;
    sigemptyset(&sa.sa_mask);
    sigemptyset(set);
    for (size_t i = 0; i < N_FORWARDED; i++) {
        forwarding[i] = sigaction(forwarded[i], NULL, &old) == 0 &&
                        old.sa_handler != SIG_IGN &&
                        sigaction(forwarded[i], &sa, NULL) == 0;
        if (forwarding[i])
            sigaddset(set, forwarded[i]);
    }
}

/* In the child: exec the program or report errno through the pipe.  With
 * stdout_to_stderr the program's stdout is refscope's stderr.  The
 * program is killed when refscope run dies (SIGKILL, which it cannot
 * forward): nobody would wait for it or report it, and a run killed by a
 * test harness's timeout would leave it running on.  parent: our pid
 * before the fork (already gone: the child ends at once). */
static void exec_child(char **program, int err_fd, const sigset_t *old_mask,
                       int stdout_to_stderr, pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(127);
    if (stdout_to_stderr && dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        int e = errno;
        while (write(err_fd, &e, sizeof e) < 0 && errno == EINTR)
            ;
        _exit(127);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (size_t i = 0; i < N_FORWARDED; i++)
        if (forwarding[i])
            sigaction(forwarded[i], &sa, NULL);
    sigprocmask(SIG_SETMASK, old_mask, NULL);
    execvp(program[0], program);
    int e = errno;
    while (write(err_fd, &e, sizeof e) < 0 && errno == EINTR)
        ;
    _exit(127);
}

pid_t rs_run_start(char **program, int stdout_to_stderr, int *exec_errno)
{
    int fds[2];
    sigset_t forwarded_set, old_mask;

    *exec_errno = 0;
    if (pipe2(fds, O_CLOEXEC) < 0) {
        rs_cli_say("run", "pipe: %s", strerror(errno));
        return -1;
    }
    install_forwarding(&forwarded_set);
    sigprocmask(SIG_BLOCK, &forwarded_set, &old_mask);
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        exec_child(program, fds[1], &old_mask, stdout_to_stderr, parent);
    if (pid > 0) {
        child_pid = pid;
        signal(SIGPIPE, SIG_IGN);   /* ours only: the child has its own */
    }
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    close(fds[1]);
    if (pid < 0) {
        rs_cli_say("run", "fork: %s", strerror(errno));
        close(fds[0]);
        return -1;
    }
    int e = 0;
    ssize_t n;
    while ((n = read(fds[0], &e, sizeof e)) < 0 && errno == EINTR)
        ;
    close(fds[0]);
    if (n == (ssize_t)sizeof e) {
        *exec_errno = e ? e : ENOEXEC;
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        child_pid = 0;
        return -1;
    }
    return pid;
}

static int pid_set_add(rs_pid_set_t *s, pid_t pid)
{
    if (rs_array_reserve(&s->pids, &s->cap, s->n + 1, sizeof *s->pids) < 0)
        return -1;
    s->pids[s->n++] = pid;
    return 0;
}

int rs_pid_set_has(const rs_pid_set_t *s, long pid)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->pids[i] == pid)
            return 1;
    return 0;
}

static int status_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 1;
}

/* Our children now (the program's orphans, adopted as subreaper), or
 * with session_only those still in our session (not daemons): the first
 * max pids go to out; *in_session counts those in our session.  Returns
 * how many, or -1 when the list cannot be read. */
static long children_now(pid_t *out, size_t max, long *in_session, int session_only)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld/children", (long)getpid());
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    pid_t session = getsid(0);
    long n = 0, pid;
    *in_session = 0;
    while (fscanf(f, "%ld", &pid) == 1) {
        pid_t sid = getsid((pid_t)pid);
        if (sid < 0)
            continue;              /* gone meanwhile: waitpid reaps it */
        if (sid == session)
            ++*in_session;
        else if (session_only)
            continue;
        if ((size_t)n < max)
            out[n] = (pid_t)pid;
        n++;
    }
    fclose(f);
    return n;
}

/* " 123 (sleep), 124 (sh)" for the first RS_NOT_WAITED_NAMED of pids
 * (names from /proc/PID/comm), " ..." after them when n is more. */
static void name_processes(const pid_t *pids, long n, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (long i = 0; i < n && i < RS_NOT_WAITED_NAMED && len < size; i++) {
        char path[64], comm[32] = "";
        snprintf(path, sizeof path, "/proc/%ld/comm", (long)pids[i]);
        FILE *f = fopen(path, "re");
        if (f) {
            if (!fgets(comm, sizeof comm, f))
                comm[0] = '\0';
            fclose(f);
            comm[strcspn(comm, "\n")] = '\0';
        }
        len += (size_t)snprintf(buf + len, size - len, "%s %ld%s%s%s", i ? "," : "",
                                (long)pids[i], *comm ? " (" : "", comm, *comm ? ")" : "");
    }
    if (n > RS_NOT_WAITED_NAMED && len < size)
        snprintf(buf + len, size - len, " ...");
}

#define PROCESS_NAMES_SIZE (RS_NOT_WAITED_NAMED * 32)

void rs_run_note_not_waited(const rs_not_waited_t *left, const char *dir)
{
    char names[PROCESS_NAMES_SIZE];
    name_processes(left->pids, left->n, names, sizeof names);
    const char *es = left->n == 1 ? "" : "es";
    const char *theirs = left->n == 1 ? "its" : "their", *s = left->n == 1 ? "" : "s";
    const char *end = left->n == 1 ? "it ends" : "they end";
    if (left->why == RS_WAIT_DAEMONS)
        rs_cli_say("run", "not waiting for %ld process%s that left the session "
                   "(daemon%s:%s); %s snapshot%s will be written to %s when %s",
                   left->n, es, s, names, theirs, s, dir, end);
    else if (left->why == RS_WAIT_TIMEOUT)
        rs_cli_say("run", "stopped waiting (--wait) for %ld process%s still running:%s; "
                   "%s snapshot%s will be written to %s when %s",
                   left->n, es, names, theirs, s, dir, end);
    else
        rs_cli_say("run", "stopped waiting (SIG%s) for %ld process%s still running:%s; "
                   "%s snapshot%s will be written to %s when %s",
                   sigabbrev_np(left->signal), left->n, es, names, theirs, s, dir, end);
}

/* The name a process's mark holds (its first line, already quoted by
 * the preload), into name; "?" when unreadable. */
static void mark_name(int dir_fd, const char *mark, char *name, size_t size)
{
    snprintf(name, size, "?");
    int fd = openat(dir_fd, mark, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, name, size - 1);
    close(fd);
    if (n > 0) {
        name[n] = '\0';
        name[strcspn(name, "\n")] = '\0';
    }
    if (!*name)
        snprintf(name, size, "?");
}

/* 1 when process pid exists (a daemon, one not waited for). */
static int process_exists(long pid)
{
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

int rs_run_note_no_snapshot(const char *dir, pid_t skip)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    char names[PROCESS_NAMES_SIZE] = "";
    size_t len = 0;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        if (strncmp(e->d_name, ".running.", 9) != 0)
            continue;
        long pid = strtol(e->d_name + 9, &end, 10);
        if (*end || pid <= 0 || process_exists(pid))
            continue;                  /* still running: it removes it */
        if (pid != skip) {
            char name[64];
            mark_name(dirfd(d), e->d_name, name, sizeof name);
            if (n < RS_NOT_WAITED_NAMED && len < sizeof names)
                len += (size_t)snprintf(names + len, sizeof names - len, "%s %ld (%s)",
                                        n ? "," : "", pid, name);
            n++;
        }
        unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
    if (n > RS_NOT_WAITED_NAMED && len < sizeof names)
        snprintf(names + len, sizeof names - len, " ...");
    if (n > 0)
        rs_cli_say("run", "%ld process%s ended without a snapshot (killed by SIGKILL, or "
                   "%s exec'd a program the loader does not preload, or a line of "
                   "refscope's above says why):%s",
                   n, n == 1 ? "" : "es", n == 1 ? "it" : "they", names);
    return (int)n;
}

/* The line saying which processes (in the session) refscope run waits
 * for; 1 once said. */
static int say_waiting(void)
{
    pid_t pids[RS_NOT_WAITED_NAMED];
    long in_session, n = children_now(pids, RS_NOT_WAITED_NAMED, &in_session, 1);
    if (n <= 0)
        return 0;
    char names[PROCESS_NAMES_SIZE];
    name_processes(pids, n, names, sizeof names);
    rs_cli_say("run", "the program ended; waiting for %ld process%s of it still "
               "running:%s (Ctrl-C or --wait PERIOD stops the wait)",
               n, n == 1 ? "" : "es", names);
    return 1;
}

/* After the program ended (since ended_ns): 1 when the wait is over with
 * processes left, which go to *left; 0 to go on waiting (a second
 * into it, says once what for: *said). */
static int wait_over(uint64_t ended_ns, uint64_t wait_ms, int *said, rs_not_waited_t *left)
{
    long in_session;
    long n = children_now(left->pids, RS_NOT_WAITED_NAMED, &in_session, 0);
    if (n < 0)
        return 0;                  /* unreadable: wait for everyone */
    uint64_t waited_ms = (now_ns() - ended_ns) / 1000000;
    left->n = n;
    left->signal = stop_signal;
    if (n > 0 && in_session == 0)
        left->why = RS_WAIT_DAEMONS;
    else if (n > 0 && stop_signal)
        left->why = RS_WAIT_SIGNAL;
    else if (n > 0 && wait_ms != RS_WAIT_FOREVER && waited_ms >= wait_ms)
        left->why = RS_WAIT_TIMEOUT;
    else {
        if (n > 0 && !*said && waited_ms >= WAIT_NOTE_MS)
            *said = say_waiting();
        left->n = 0;
        return 0;
    }
    return 1;
}

int rs_run_wait(pid_t child, rs_pid_set_t *seen, uint64_t wait_ms, rs_not_waited_t *left,
                int *killed_by)
{
    int code = 1, child_done = 0, said = 0;
    uint64_t ended_ns = 0;
    left->n = 0;
    *killed_by = 0;
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, __WALL | (child_done ? WNOHANG : 0));
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break; /* ECHILD: nobody left */
        }
        if (pid == 0) {            /* child done, others running */
            if (wait_over(ended_ns, wait_ms, &said, left))
                break;
            struct timespec ts = { 0, 20 * 1000 * 1000 };
            nanosleep(&ts, NULL);
            continue;
        }
        pid_set_add(seen, pid); /* on exhaustion the mtime test remains */
        if (pid == child) {
            code = status_code(status);
            *killed_by = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
            program_ended = 1;
            child_pid = 0;
            child_done = 1;
            ended_ns = now_ns();
        }
    }
    return code;
}

void rs_run_die_by(int sig)
{
    fflush(NULL);
    /* The program dumped its core already, if it was to. */
    struct rlimit none = { 0, 0 };
    setrlimit(RLIMIT_CORE, &none);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    /* SIGKILL's action cannot be set (sigaction fails), nor changed. */
    if (sig != SIGKILL && sigaction(sig, &sa, NULL) != 0)
        return;
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    sigprocmask(SIG_UNBLOCK, &one, NULL);
    raise(sig);
}
