/*
 * ptrace_stop.c - stopping, with ptrace, the threads that block the stop
 * signal, so that they cannot move pointers while the heap is scanned.
 *
 * world.c stops threads with a signal.  A thread that blocks every signal
 * (GLib's worker, libuv's pool, a program's own) never answers; it used to
 * be left running and its whole stack scanned, and a thread that moves
 * objects between queues meanwhile can hide one from the scan: a false
 * leak (measured: 5 of 10 exits of a program ping-ponging objects).  A
 * ptrace stop ignores signal masks, as LeakSanitizer's StopTheWorld relies
 * on.  A process cannot trace its own threads, so a tracer is cloned:
 *   - CLONE_VM, its own small stack (rs_mem-free: an mmap), no exit signal
 *     (the program's SIGCHLD handler and wait(-1) never see it: only a
 *     __WALL wait, ours, reaps it) and CLONE_UNTRACED;
 *   - the tracer seizes each thread, interrupts it, waits for the stop,
 *     reads its registers into g_trace (shared memory: CLONE_VM), says
 *     "ready", waits for "release", detaches (handing back any signal
 *     that stopped a thread meanwhile) and exits;
 *   - a thread interrupted in a system call that the kernel ends with
 *     EINTR on any stop rather than restarting it (epoll_wait, semop,
 *     sigtimedwait...: signal(7), "Interruption of system calls by stop
 *     signals") is set back to the call before it goes, as the kernel
 *     itself restarts the others (rax = orig_rax, rip back over the
 *     2-byte syscall instruction): a worker blocking every signal would
 *     otherwise see an EINTR it never sees natively.
 *   - under Yama's ptrace_scope 1, which lets a process trace only its
 *     descendants, the stopper names the tracer with PR_SET_PTRACER before
 *     letting it start, and names none after (there is no way to read a
 *     ptracer the program named itself, to restore it); without Yama, or
 *     at 0, prctl is not called.
 * Anything that fails (ptrace forbidden by Yama 2/3, seccomp, a
 * non-dumpable process, a thread already traced by a debugger, the tracer
 * not ready in RS_TRACE_TIMEOUT_NS) leaves the thread unstopped, as before:
 * its whole stack is scanned.
 *
 * Invariants:
 *  - The tracer shares the stopper's memory and thread pointer: it makes
 *    nothing but raw system calls (raw_syscall: no errno, which is the
 *    stopper's), on its own stack.
 *  - g_trace is written by the tracer only between "go" and "ready", read
 *    by the stopper only after "ready"; the futex words order them.
 *  - Between rs_ptrace_stop() and rs_ptrace_release() the stopper holds the
 *    thread registry lock (world.c); release reaps the tracer before it
 *    returns, so no tracer outlives a stop.
 */
#include "preload.h"
#include "threads.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RS_TRACE_STACK      (64 * 1024)
#define RS_TRACE_TIMEOUT_NS 500000000LL  /* tracer's answer, all threads   */

enum { PHASE_IDLE, PHASE_GO, PHASE_READY, PHASE_RELEASE };

typedef struct traced {
    uint32_t               tid;
    int                    stopped;   /* in a ptrace stop, regs valid      */
    int                    restart;   /* the stop ended a system call with
                                         EINTR: set it back before going   */
    int                    resignal;  /* signal that stopped it, handed
                                         back at detach (0: none)          */
    struct user_regs_struct regs;
} traced_t;

static struct {
    _Atomic uint32_t phase;           /* futex                             */
    uint32_t         n;
    traced_t         t[RS_PTRACE_MAX];
} g_trace;

static pid_t g_tracer;                /* 0: no tracer alive                */
static void *g_tracer_stack;
static int   g_named;                 /* PR_SET_PTRACER named the tracer   */

static long futex_wait(_Atomic uint32_t *w, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, w, FUTEX_WAIT, val, ts, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *w)
{
    syscall(SYS_futex, w, FUTEX_WAKE, 1 << 30, NULL, NULL, 0);
}

static void set_phase(uint32_t p)
{
    atomic_store(&g_trace.phase, p);
    futex_wake(&g_trace.phase);
}

/* ---- the tracer (raw system calls only) ------------------------------- */

/* A system call returning -errno, never touching errno (x86_64). */
static long raw_syscall(long nr, long a, long b, long c, long d)
{
    long ret;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "0"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
                     : "rcx", "r11", "memory");
    return ret;
}

/* ptrace(op, tid, 0, data) */
static long trace_op(long op, uint32_t tid, long data)
{
    return raw_syscall(SYS_ptrace, op, tid, 0, data);
}

static void tracer_wait(uint32_t val)
{
    raw_syscall(SYS_futex, (long)&g_trace.phase, FUTEX_WAIT, val, 0);
}

/* 1 when the stopped thread t is leaving a system call that our stop
 * ended with EINTR: in a call (orig_rax >= 0), rax -EINTR, just after a
 * syscall instruction (0f 05), and no signal of its own stopped it.  The
 * threads traced block the stop signal and mostly every signal, so an
 * EINTR there is ours. */
static int ended_with_eintr(const traced_t *t)
{
    if ((long)t->regs.orig_rax < 0 || (long)t->regs.rax != -EINTR || t->resignal)
        return 0;
    uint64_t word = 0;
    uint64_t at = t->regs.rip - 2;
    if (raw_syscall(SYS_ptrace, PTRACE_PEEKTEXT, t->tid, (long)at, (long)&word) != 0)
        return 0;
    return (word & 0xffff) == 0x050f;
}

/* Seizes and interrupts thread t and waits for its stop; 0 when stopped. */
static int trace_one(traced_t *t)
{
    if (trace_op(PTRACE_SEIZE, t->tid, 0) != 0)
        return -1;
    if (trace_op(PTRACE_INTERRUPT, t->tid, 0) != 0) {
        trace_op(PTRACE_DETACH, t->tid, 0);
        return -1;
    }
    for (;;) {
        int status = 0;
        long rc = raw_syscall(SYS_wait4, t->tid, (long)&status, __WALL, 0);
        if (rc == -EINTR)
            continue;
        if (rc < 0)
            return -1;                     /* exited meanwhile             */
        if (!WIFSTOPPED(status))
            return -1;                     /* exited: nothing to detach    */
        /* The interrupt's stop, or a signal being delivered (SIGSTOP and
         * SIGKILL are never blocked), which is handed back at detach. */
        if (status >> 16 != PTRACE_EVENT_STOP && WSTOPSIG(status) != SIGTRAP)
            t->resignal = WSTOPSIG(status);
        break;
    }
    if (trace_op(PTRACE_GETREGS, t->tid, (long)&t->regs) != 0) {
        trace_op(PTRACE_DETACH, t->tid, t->resignal);
        return -1;
    }
    t->restart = ended_with_eintr(t);
    return 0;
}

/* Sets a thread stopped at the end of a system call back to the call
 * (see the header), then lets it go. */
static void release_one(traced_t *t)
{
    if (t->restart) {
        struct user_regs_struct r = t->regs;
        r.rax = r.orig_rax;
        r.rip -= 2;
        trace_op(PTRACE_SETREGS, t->tid, (long)&r);
    }
    trace_op(PTRACE_DETACH, t->tid, t->resignal);
}

/* Stops the threads, says "ready" (unless the stopper gave up and said
 * "release" first), waits for "release", lets the threads go, exits. */
static int tracer_main(void *arg)
{
    (void)arg;
    uint32_t p;
    while ((p = atomic_load(&g_trace.phase)) == PHASE_IDLE)
        tracer_wait(p);
    for (uint32_t i = 0; p == PHASE_GO && i < g_trace.n; i++)
        g_trace.t[i].stopped = trace_one(&g_trace.t[i]) == 0;
    uint32_t go = PHASE_GO;
    atomic_compare_exchange_strong(&g_trace.phase, &go, PHASE_READY);
    raw_syscall(SYS_futex, (long)&g_trace.phase, FUTEX_WAKE, 1 << 30, 0);
    while ((p = atomic_load(&g_trace.phase)) != PHASE_RELEASE)
        tracer_wait(p);
    for (uint32_t i = 0; i < g_trace.n; i++)
        if (g_trace.t[i].stopped)
            release_one(&g_trace.t[i]);
    raw_syscall(SYS_exit, 0, 0, 0, 0);
    return 0;
}

/* ---- the stopper ---------------------------------------------------- */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Waits for the tracer's "ready" until the timeout; 0 when it came. */
static int wait_ready(void)
{
    int64_t deadline = now_ns() + RS_TRACE_TIMEOUT_NS;
    uint32_t p;
    while ((p = atomic_load(&g_trace.phase)) != PHASE_READY) {
        int64_t left = deadline - now_ns();
        if (left <= 0)
            return -1;
        struct timespec ts = { left / 1000000000LL, left % 1000000000LL };
        futex_wait(&g_trace.phase, p, &ts);
    }
    return 0;
}

/* Copies a traced thread's registers into its stop record, in the order
 * of ucontext's gregs[0..15] (R8 .. RSP) that world.c's handler uses. */
static void fill_record(rs_stopped_t *r, const struct user_regs_struct *u)
{
    const uint64_t g[16] = { u->r8, u->r9, u->r10, u->r11, u->r12, u->r13,
                             u->r14, u->r15, u->rdi, u->rsi, u->rbp, u->rbx,
                             u->rdx, u->rax, u->rcx, u->rsp };
    memcpy(r->regs, g, sizeof g);
    r->sp = u->rsp;
    r->pc = u->rip;
    r->tp = u->fs_base;
}

/* 1 when Yama restricts ptrace to descendants (ptrace_scope 1). */
static int yama_descendants_only(void)
{
    char buf[16];
    return rs_proc_file_read("/proc/sys/kernel/yama/ptrace_scope", buf,
                             sizeof buf) > 0 && buf[0] == '1';
}

/* Clones the tracer, paused until "go"; 0 on success. */
static int start_tracer(void)
{
    g_tracer_stack = mmap(NULL, RS_TRACE_STACK, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (g_tracer_stack == MAP_FAILED) {
        g_tracer_stack = NULL;
        return -1;
    }
    atomic_store(&g_trace.phase, PHASE_IDLE);
    pid_t pid = clone(tracer_main, (char *)g_tracer_stack + RS_TRACE_STACK,
                      CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_UNTRACED, NULL);
    if (pid <= 0) {
        munmap(g_tracer_stack, RS_TRACE_STACK);
        g_tracer_stack = NULL;
        return -1;
    }
    g_tracer = pid;
    return 0;
}

int rs_ptrace_stop(rs_stopped_t *const *recs, uint32_t n, uint8_t *stopped)
{
#if defined(__x86_64__)
    int saved_errno = errno, count = 0;
    memset(stopped, 0, n);
    if (n > RS_PTRACE_MAX)
        n = RS_PTRACE_MAX;
    if (n == 0 || g_tracer || start_tracer() != 0)
        return 0;
    g_trace.n = n;
    for (uint32_t i = 0; i < n; i++)
        g_trace.t[i] = (traced_t){ .tid = recs[i]->tid };
    g_named = yama_descendants_only() &&
              prctl(PR_SET_PTRACER, (unsigned long)g_tracer, 0, 0, 0) == 0;
    set_phase(PHASE_GO);
    if (wait_ready() == 0) {
        for (uint32_t i = 0; i < n; i++) {
            if (!g_trace.t[i].stopped)
                continue;
            fill_record(recs[i], &g_trace.t[i].regs);
            stopped[i] = 1;
            count++;
        }
    }
    errno = saved_errno;
    return count;
#else
    (void)recs;
    memset(stopped, 0, n);
    return 0;
#endif
}

void rs_ptrace_release(void)
{
    if (!g_tracer)
        return;
    int saved_errno = errno;
    /* A tracer that never became ready is released as well: it detaches
     * whatever it stopped, then exits. */
    set_phase(PHASE_RELEASE);
    int status;
    while (syscall(SYS_wait4, g_tracer, &status, __WALL, NULL) < 0 && errno == EINTR)
        ;
    if (g_named)
        prctl(PR_SET_PTRACER, 0, 0, 0, 0);
    g_named = 0;
    munmap(g_tracer_stack, RS_TRACE_STACK);
    g_tracer_stack = NULL;
    g_tracer = 0;
    errno = saved_errno;
}
