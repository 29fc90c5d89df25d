/*
 * snapshot_trigger.c - snapshots on request, on a signal and on a timer
 * (the contract and the consistency argument are in snapshot_trigger.h).
 *
 * The signal handler does one thing: it increments g_wake and wakes the
 * futex on it (both async-signal-safe, no file descriptor the program
 * could close or reuse).  The helper thread loops: if g_wake moved since
 * it last looked it takes a "signal" snapshot; else it waits on the futex
 * until the next period deadline and then takes an "interval" snapshot.
 * Several signals arriving during one snapshot collapse into one more.
 *
 * Locking: none of its own.  rs_snapshot_request() serialises through the
 * analysis lock inside rs_analysis_run(); the helper's identity (g_helper_tid)
 * is an atomic written by the helper itself and cleared in a fork child.
 */
#include "guard.h"
#include "preload.h"
#include "snapshot_trigger.h"

#include <dlfcn.h>
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>               /* rename(2) only, no streams */
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RS_LABEL_MAX_IN_NAME 40

typedef int (*rs_create_fn)(pthread_t *, const pthread_attr_t *,
                            void *(*)(void *), void *);

static _Atomic uint32_t g_wake;          /* bumped by the signal handler     */
static _Atomic uint32_t g_helper_tid;    /* 0 = no helper in this process    */
static _Atomic int      g_exiting;       /* exit() has begun: no more        */
static rs_create_fn     g_real_create;

/* ---- the request ------------------------------------------------------ */

/* Appends label to l, reduced to [A-Za-z0-9_-] and RS_LABEL_MAX_IN_NAME. */
static void add_label(rs_line_t *l, const char *label)
{
    char buf[RS_LABEL_MAX_IN_NAME + 1];
    size_t n = 0;
    for (; label[n] && n < RS_LABEL_MAX_IN_NAME; n++) {
        char c = label[n];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '_' || c == '-';
        buf[n] = ok ? c : '_';
    }
    buf[n] = '\0';
    rs_line_str(l, buf);
}

/* <...>.rsnap -> <...>-<label>.rsnap; keeps the old name on failure. */
static void rename_with_label(rs_analysis_result_t *res, const char *label)
{
    static const char suffix[] = ".rsnap";
    size_t len = strlen(res->path), sl = sizeof suffix - 1;
    if (len <= sl || strcmp(res->path + len - sl, suffix) != 0)
        return;
    rs_line_t l = { .len = 0 };
    res->path[len - sl] = '\0';
    rs_line_str(&l, res->path);
    res->path[len - sl] = '.';
    rs_line_str(&l, "-");
    add_label(&l, label);
    rs_line_str(&l, suffix);
    if (l.len >= sizeof res->path || l.len >= sizeof l.buf)
        return;
    l.buf[l.len] = '\0';
    if (rename(res->path, l.buf) == 0)
        memcpy(res->path, l.buf, l.len + 1);
}

static void say_not_written(const char *why)
{
    rs_line_t l = { .len = 0 };
    rs_line_str(&l, "refscope: snapshot not written: ");
    rs_line_str(&l, why);
    rs_line_str(&l, "\n");
    rs_diag_emit(&l);
}

int rs_snapshot_request(const char *label)
{
    if (!rs_active || atomic_load(&g_exiting))
        return 0;
    if (!label || !*label)
        label = "snapshot";
    int saved_errno = errno;
    rs_analysis_result_t res;
    int out = -1;
    if (rs_analysis_run(label, 1, &res) == 0) {
        if (res.written) {
            rename_with_label(&res, label);
            out = 1;
        } else {
            say_not_written(res.error);
        }
    }
    errno = saved_errno;
    return out;
}

/* ---- the helper thread ----------------------------------------------- */

static long futex_wait(_Atomic uint32_t *addr, uint32_t val,
                       const struct timespec *timeout)
{
    return syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, timeout, NULL, 0);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* arg: the value of g_wake when the helper was created, so a signal that
 * arrives before the new thread first runs is not absorbed into `seen`. */
static void *helper_main(void *arg)
{
    atomic_store(&g_helper_tid, (uint32_t)syscall(SYS_gettid));
    uint64_t period = (uint64_t)rs_settings.snapshot_interval_ms;
    uint64_t deadline = period ? now_ms() + period : 0;
    uint32_t seen = (uint32_t)(uintptr_t)arg;
    while (!atomic_load(&g_exiting)) {
        uint32_t w = atomic_load(&g_wake);
        if (w != seen) {
            seen = w;
            rs_snapshot_request("signal");
            continue;
        }
        if (!period) {
            futex_wait(&g_wake, w, NULL);
            continue;
        }
        uint64_t now = now_ms();
        if (now >= deadline) {
            rs_snapshot_request("interval");
            deadline = now_ms() + period;
            continue;
        }
        uint64_t left = deadline - now;
        struct timespec ts = { (time_t)(left / 1000), (long)(left % 1000) * 1000000L };
        futex_wait(&g_wake, w, &ts);
    }
    return NULL;
}

static void say_once(const char *what)
{
    rs_line_t l = { .len = 0 };
    rs_line_str(&l, "refscope: ");
    rs_line_str(&l, what);
    rs_line_str(&l, "; snapshots on signal and period are off\n");
    rs_diag_emit(&l);
}

/* Starts the helper with every signal but the stop signal blocked (the
 * mask is inherited from the creator and restored after). */
static int start_helper(void)
{
    if (!g_real_create)
        g_real_create = (rs_create_fn)dlsym(RTLD_NEXT, "pthread_create");
    if (!g_real_create)
        return -1;
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, rs_world_stop_signal());   /* world.c's, left unblocked */
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return -1;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    void *wake_at_start = (void *)(uintptr_t)atomic_load(&g_wake);
    int rc = g_real_create(&t, &attr, helper_main, wake_at_start);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return rc == 0 ? 0 : -1;
}

static int helper_wanted(void)
{
    return rs_settings.snapshot_signal > 0 || rs_settings.snapshot_interval_ms > 0;
}

/* ---- signal, exit, fork ------------------------------------------------ */

static void on_signal(int sig)
{
    (void)sig;
    int saved_errno = errno;
    atomic_fetch_add(&g_wake, 1);
    syscall(SYS_futex, &g_wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    errno = saved_errno;
}

static void on_exit_stop(void)
{
    atomic_store(&g_exiting, 1);
    atomic_fetch_add(&g_wake, 1);
    syscall(SYS_futex, &g_wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* The helper does not survive fork: the child starts its own. */
static void fork_child(void)
{
    atomic_store(&g_helper_tid, 0);
    if (!atomic_load(&g_exiting) && start_helper() != 0)
        say_once("cannot start the snapshot thread in the child");
}

static int install_signal(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL);
}

void rs_snapshot_trigger_init(void)
{
    if (!helper_wanted())
        return;
    if (rs_settings.snapshot_signal > 0 && rs_settings.snapshot_signal == rs_world_stop_signal()) {
        say_once("REFSCOPE_SNAPSHOT_SIGNAL is the stop signal");
        return;
    }
    if (start_helper() != 0) {
        say_once("cannot start the snapshot thread");
        return;
    }
    if (rs_settings.snapshot_signal > 0 && install_signal(rs_settings.snapshot_signal) != 0)
        say_once("cannot install the REFSCOPE_SNAPSHOT_SIGNAL handler");
    atexit(on_exit_stop);
    pthread_atfork(NULL, NULL, fork_child);
}

void rs_snapshot_trigger_drop_roots(rs_rootvec_t *roots)
{
    uint32_t tid = atomic_load(&g_helper_tid);
    if (!tid)
        return;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < roots->n; i++) {
        const rs_root_t *r = &roots->items[i];
        int thread_kind = r->kind == RS_ROOT_STACK || r->kind == RS_ROOT_REGISTERS ||
                          r->kind == RS_ROOT_TLS || r->kind == RS_ROOT_DYNAMIC_TLS;
        if (!(thread_kind && r->tid == tid))
            roots->items[kept++] = *r;
    }
    roots->n = kept;
}
