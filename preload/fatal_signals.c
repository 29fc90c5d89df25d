/*
 * fatal_signals.c - the end-of-process analysis when the program dies by
 * a signal: a fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE), SIGABRT (abort()
 * raises it), or one whose default action ends the process and that is
 * sent: SIGHUP, SIGINT, SIGQUIT, SIGTERM (kill, the terminal, a harness's
 * timeout), SIGPIPE (a closed pipe), SIGALRM, SIGXCPU, SIGXFSZ (limits),
 * SIGUSR1, SIGUSR2 (a `kill -USR1` to a program that set no handler yet),
 * SIGVTALRM, SIGPROF (timers), SIGIO and SIGSTKFLT.  Real-time signals,
 * which end a process too, are left alone (runtimes take them for their
 * own use).  The program's own handlers and the way it dies are left
 * exactly as they are.  The signal refscope stops threads with and the
 * snapshot signal are left out.
 *
 * refscope's handler stands in for SIG_DFL, and only for it: at start-up
 * for every fatal signal whose action is SIG_DFL, and later whenever the
 * program sets SIG_DFL again.  sigaction() is interposed, and signal(),
 * sysv_signal(), sigset() and their aliases go through it (see
 * set_handler()): for these signals a handler or SIG_IGN from the program is
 * installed for real (so it is what runs), SIG_DFL is recorded as the
 * program's view and refscope's handler installed instead; a query
 * answers the program's view while refscope's handler is in place, the
 * kernel's action otherwise (a program that bypassed the hooks, e.g.
 * with a raw syscall or sigignore(), sees what it set; refscope then no
 * longer stands in until the program sets SIG_DFL through one of them).  An action
 * inherited as SIG_IGN (nohup, a shell's background job) is left alone.
 * Other signals pass through.
 *
 * One-shot handlers.  A handler set with SA_RESETHAND is reset to SIG_DFL
 * by the kernel as it is delivered, without sigaction(): refscope did not
 * stand in for that SIG_DFL, and a handler that raises its signal again
 * (node's SIGTERM handler, crash reporters) ended the process unanalysed.
 * So such a handler is installed as on_oneshot(), without SA_RESETHAND
 * and with the program's mask and other flags, the program's action kept
 * as its view; on_oneshot() does what the kernel would - the action
 * becomes SIG_DFL, for which refscope stands in - then calls the
 * program's handler.  When two threads take the signal at once, the one
 * that finds on_oneshot still installed runs the handler; the other finds
 * SIG_DFL, as it would natively, and goes to on_fatal().
 *
 * The handler (async-signal context):
 *  0. a sent signal that arrives while this thread runs refscope's own
 *     code (its guard is set: locks may be held) is put off: noted in
 *     rs_guard_deferred, and raised again on this thread as soon as the
 *     outermost guard is left (guard.h), when the handler runs anew.  The
 *     same signal arriving again while put off ends the process at once,
 *     without analysis (a second Ctrl-C is not kept waiting);
 *  1. analyses, unless the process is not ours (a vfork child), the
 *     signal hit refscope's own code (a fault or abort() there, or a
 *     signal put off once already), or no stack with RS_SIGNAL_STACK_MIN of room
 *     is found (the analysis needs stack).  The handler runs on the
 *     thread's alternate stack (SA_ONSTACK), which alt_stack.c gives
 *     every thread that has none, so a stack overflow is analysed too;
 *     when the program installed a smaller alternate stack of its own,
 *     the analysis moves to the interrupted stack, or to refscope's
 *     (rs_alt_stack_run).  Each skip is one line on stderr.  The analysis
 *     is the final mode of exit_analysis.c: no malloc, its lock only
 *     tried, the interrupted registers and stack pointer as the thread's
 *     roots;
 *  Before 0 and 1, a watchdog: a kernel timer, made at the first such
 *     signal, sends SIGKILL RS_END_WATCHDOG_S seconds later.  Natively the
 *     signal ends the process at once; here the analysis may wait for a
 *     lock a stuck thread holds, or a signal put off for a thread stuck
 *     inside refscope would never be raised again, and a harness's
 *     SIGTERM (timeout(1) sends no second signal) would leave the
 *     process running for ever.  An analysis that finishes in time ends
 *     the process by its own signal as below; the watchdog only ever
 *     ends one refscope keeps from ending (status 137 then);
 *  2. sets SIG_DFL and lets the signal kill the process as it would have:
 *     a fault raised by the kernel (si_code > 0) is re-executed by
 *     returning, so the core dump shows the faulting instruction; a
 *     signal sent by a process or by abort()/raise() is raised again with
 *     the signal unblocked.  The shell sees 128+N, a parent WIFSIGNALED.
 *
 * Locking: view_lock serialises the interposed sigaction() calls for the
 * signals, taken with every signal blocked (sigaction() is
 * async-signal-safe: a handler may call it); the handler takes no lock of
 * its own.
 */
#include "guard.h"
#include "preload.h"
#include "threadroots.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif
#define RS_SIGNAL_STACK_MIN (256u << 10)
#define RS_END_WATCHDOG_S   10   /* 4M blocks analyse in 1 s on the bench VM */
#define RS_RED_ZONE         128

typedef int (*sigaction_fn_t)(int, const struct sigaction *, struct sigaction *);
typedef __sighandler_t (*signal_fn_t)(int, __sighandler_t);

/* Faults and abort(): raised on the thread that caused them. */
static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
/* Usually sent; they may arrive while refscope's own code runs. */
static const int sent_signals[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGALRM,
                                    SIGXCPU, SIGXFSZ, SIGUSR1, SIGUSR2, SIGVTALRM,
                                    SIGPROF, SIGIO, SIGSTKFLT };

static sigaction_fn_t   real_sigaction;   /* resolved at start-up, or
                                             at the first call before  */
/* The older ways of setting a handler: in glibc each is a sigaction()
 * with fixed flags made through its internal __sigaction, which the
 * interposed sigaction() never sees.  Here they go through it (see
 * set_handler()), so that refscope still stands in for SIG_DFL and for a
 * one-shot handler's reset (zstd imports __sysv_signal: what signal() is
 * under -std=c99).  The flags and mask are glibc's:
 *  - signal(), bsd_signal(), ssignal(): BSD semantics, the handler kept,
 *    SA_RESTART, the signal blocked while its handler runs; for a signal
 *    refscope leaves alone the real signal() runs, which also honours
 *    siginterrupt() (its state is glibc's own);
 *  - sysv_signal(), __sysv_signal(): System V's, a one-shot handler
 *    (SA_RESETHAND), the signal not blocked in it (SA_NODEFER). */
#define BSD_FLAGS  SA_RESTART
#define SYSV_FLAGS (SA_RESETHAND | SA_NODEFER)
static signal_fn_t real_signal;      /* resolved at start-up, or at the
                                        first call before              */

static pthread_mutex_t  view_lock = PTHREAD_MUTEX_INITIALIZER;
/* The program's view of the action of a fatal signal while refscope's
 * handler stands in for its SIG_DFL. */
static struct sigaction view[NSIG];

/* The signals refscope stands in for (bit sig), set once at start-up. */
static uint64_t handled;

static int in_list(const int *list, size_t n, int sig)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == sig)
            return 1;
    return 0;
}

static int is_sent(int sig)
{
    return in_list(sent_signals, sizeof sent_signals / sizeof sent_signals[0], sig);
}

static int is_fatal(int sig)
{
    return sig > 0 && sig < 64 && (handled >> sig & 1);
}

/* Fills handled: every fatal and sent signal but the stop signal and the
 * snapshot signal, which have handlers of their own. */
static void choose_handled(void)
{
    int stop = rs_world_stop_signal(), snap = rs_settings.snapshot_signal;
    for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++)
        handled |= 1ull << fatal_signals[i];
    for (size_t i = 0; i < sizeof sent_signals / sizeof sent_signals[0]; i++)
        if (sent_signals[i] != stop && sent_signals[i] != snap)
            handled |= 1ull << sent_signals[i];
}

static int call_real(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (!real_sigaction)
        real_sigaction = (sigaction_fn_t)dlsym(RTLD_NEXT, "sigaction");
    if (!real_sigaction) {
        errno = ENOSYS;
        return -1;
    }
    return real_sigaction(sig, act, old);
}

/* ---- the handler ---------------------------------------------------------- */

static void say(const char *what, int sig)
{
    rs_line_t l = {.len = 0};
    rs_line_str(&l, "refscope: ");
    rs_line_str(&l, what);
    rs_line_str(&l, " (signal ");
    rs_line_i64(&l, sig);
    rs_line_str(&l, "); no analysis\n");
    rs_diag_emit(&l);
}

static void context_of(const ucontext_t *uc, rs_self_context_t *ctx)
{
    memset(ctx, 0, sizeof *ctx);
#if defined(__x86_64__)
    for (int i = 0; i < 16; i++)            /* REG_R8 .. REG_RSP */
        ctx->regs[i] = (uint64_t)uc->uc_mcontext.gregs[i];
    ctx->n_regs = 16;
    uint64_t sp = (uint64_t)uc->uc_mcontext.gregs[REG_RSP];
    ctx->program_sp = sp > RS_RED_ZONE ? sp - RS_RED_ZONE : sp;
#else
    (void)uc;
    ctx->program_sp = (uint64_t)(uintptr_t)__builtin_frame_address(0);
#endif
}

typedef struct signal_job {
    int                sig;
    rs_self_context_t  ctx;
} signal_job_t;

static void run_job(void *p)
{
    signal_job_t *job = p;
    rs_analysis_at_signal(job->sig, &job->ctx);
}

static void analyse(int sig, const ucontext_t *uc)
{
    if (!rs_exit_process_is_ours())
        return;
    if (rs_guard_active()) {
        say("signal inside refscope", sig);
        return;
    }
    signal_job_t job = { .sig = sig };
    context_of(uc, &job.ctx);
    if (rs_alt_stack_run(job.ctx.program_sp, RS_SIGNAL_STACK_MIN, run_job, &job) != 0)
        say("fatal signal with too little stack left", sig);
}

/* A signal the kernel raised for the current instruction (a fault), which
 * happens again when the handler returns.  SIGBUS BUS_MCEERR_AO is the
 * kernel's warning of a memory error elsewhere: not tied to the
 * instruction, so it is raised again like a signal sent by a process.
 * The kernel sends SIGINT, SIGALRM, SIGXCPU... with si_code SI_KERNEL
 * (> 0) too, but they are not faults. */
static int raised_by_fault(int sig, const siginfo_t *si)
{
    if (!si || si->si_code <= 0 || sig == SIGABRT || is_sent(sig))
        return 0;
#ifdef BUS_MCEERR_AO
    if (sig == SIGBUS && si->si_code == BUS_MCEERR_AO)
        return 0;
#endif
    return 1;
}

static atomic_int watchdog_armed;      /* this process's timer exists */

/* The watchdog (above): raw system calls, no allocation. */
static void arm_end_watchdog(void)
{
    if (atomic_exchange(&watchdog_armed, 1))
        return;
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGKILL;
    int timer;
    struct itimerspec when = { {0, 0}, {RS_END_WATCHDOG_S, 0} };
    if (syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &timer) == 0)
        syscall(SYS_timer_settime, timer, 0, &when, NULL);
}

/* 1 when a sent signal arriving inside refscope's code is put off (step
 * 0 above): the handler returns and refscope's code goes on. */
static int put_off(int sig, const siginfo_t *si)
{
    if (!rs_guard_active() || !is_sent(sig) || raised_by_fault(sig, si) ||
        rs_guard_deferred == sig)
        return 0;
    rs_guard_deferred = sig;
    return 1;
}

void rs_fatal_signals_raise_deferred(void)
{
    int sig = rs_guard_deferred;
    rs_guard_deferred = 0;
    int saved_errno = errno;
    syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), sig);  /* delivered now */
    errno = saved_errno;
}

static void on_fatal(int sig, siginfo_t *si, void *uc)
{
    int saved_errno = errno;
    if (rs_exit_process_is_ours())
        arm_end_watchdog();
    if (put_off(sig, si)) {
        errno = saved_errno;
        return;
    }
    analyse(sig, uc);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    call_real(sig, &dfl, NULL);
    errno = saved_errno;
    if (raised_by_fault(sig, si))
        return;                     /* a fault: it happens again, unhandled */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), sig);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);   /* delivered: the end */
}

/* Installs refscope's handler for sig; 0 or -1 (errno set). */
static int install_ours(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fatal;
    /* alt_stack.c: stack overflows; SA_RESTART: refscope's system calls
     * go on after a signal put off. */
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigfillset(&sa.sa_mask);        /* nothing interrupts the analysis */
    return call_real(sig, &sa, NULL);
}

static void on_oneshot(int sig, siginfo_t *si, void *uc);

/* 1 when the kernel's action sa is refscope's, standing in for the view:
 * on_fatal for SIG_DFL, on_oneshot for a one-shot handler. */
static int is_ours(const struct sigaction *sa)
{
    return (sa->sa_flags & SA_SIGINFO) &&
           (sa->sa_sigaction == on_fatal || sa->sa_sigaction == on_oneshot);
}

void rs_fatal_signals_atfork_child(void)
{
    /* another thread may have held it at fork: it does not exist here */
    pthread_mutex_init(&view_lock, NULL);
    atomic_store(&watchdog_armed, 0);     /* timers are not inherited */
    /* A signal put off while fork ran (its handlers hold the guard) was
     * the parent's: a child inherits no pending signal. */
    rs_guard_deferred = 0;
}

void rs_fatal_signals_init(void)
{
    real_signal = (signal_fn_t)dlsym(RTLD_NEXT, "signal");
    choose_handled();
    pthread_mutex_lock(&view_lock);
    for (int sig = 1; sig < 64; sig++) {
        struct sigaction cur;
        if (!is_fatal(sig) || call_real(sig, NULL, &cur) != 0 || cur.sa_handler != SIG_DFL ||
            (cur.sa_flags & SA_SIGINFO))
            continue;               /* inherited SIG_IGN: left alone */
        view[sig] = cur;
        install_ours(sig);
    }
    pthread_mutex_unlock(&view_lock);
}

/* ---- the interposed functions --------------------------------------------- */

/* With view_lock held, refscope's handler installed for sig: records act
 * as the program's view, as the kernel would report it (with libc's
 * restorer, which the installed action has). */
static void record_view(int sig, const struct sigaction *act)
{
    struct sigaction mine;
    view[sig] = *act;
    if (call_real(sig, NULL, &mine) == 0) {
        view[sig].sa_flags |= mine.sa_flags & SA_RESTORER;
        view[sig].sa_restorer = mine.sa_restorer;
    }
}

/* With view_lock held: act is SIG_DFL; records it as the view and stands
 * in for it. */
static int set_default(int sig, const struct sigaction *act)
{
    if (install_ours(sig) != 0)
        return -1;
    record_view(sig, act);
    return 0;
}

static int is_default(const struct sigaction *act)
{
    return !(act->sa_flags & SA_SIGINFO) && act->sa_handler == SIG_DFL;
}

/* A handler (not SIG_DFL or SIG_IGN) with SA_RESETHAND. */
static int is_oneshot(const struct sigaction *act)
{
    return (act->sa_flags & SA_RESETHAND) &&
           ((act->sa_flags & SA_SIGINFO) ||
            (act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN));
}

/* With view_lock held: act is a one-shot handler; installs on_oneshot in
 * its place (see the file comment) and records act as the view. */
static int set_oneshot(int sig, const struct sigaction *act)
{
    struct sigaction wrap = *act;
    wrap.sa_flags = (act->sa_flags & ~SA_RESETHAND) | SA_SIGINFO;
    wrap.sa_sigaction = on_oneshot;
    if (call_real(sig, &wrap, NULL) != 0)
        return -1;
    record_view(sig, act);
    return 0;
}

/* What the kernel does to a one-shot action as it delivers it: the
 * handler becomes SIG_DFL (its flags and mask stay, as the kernel leaves
 * them), for which refscope stands in.  Returns 1 with the program's
 * action in *prog when this thread took the one shot; 0 when it was
 * taken already (the action is SIG_DFL). */
static int take_oneshot(int sig, struct sigaction *prog)
{
    sigset_t all, mask;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &mask);
    pthread_mutex_lock(&view_lock);
    struct sigaction cur;
    int took = call_real(sig, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
               cur.sa_sigaction == on_oneshot;
    if (took) {
        *prog = view[sig];
        struct sigaction dfl = view[sig];
        dfl.sa_flags &= ~SA_SIGINFO;
        dfl.sa_handler = SIG_DFL;
        set_default(sig, &dfl);
    }
    pthread_mutex_unlock(&view_lock);
    pthread_sigmask(SIG_SETMASK, &mask, NULL);
    return took;
}

static void on_oneshot(int sig, siginfo_t *si, void *uc)
{
    struct sigaction prog;
    if (!take_oneshot(sig, &prog)) {
        on_fatal(sig, si, uc);
        return;
    }
    if (prog.sa_flags & SA_SIGINFO)
        prog.sa_sigaction(sig, si, uc);
    else
        prog.sa_handler(sig);
}

RS_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (!is_fatal(sig) || !rs_active)
        return call_real(sig, act, old);
    int saved_errno = errno;
    sigset_t all, mask;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &mask);   /* a handler's sigaction() */
    pthread_mutex_lock(&view_lock);
    /* A handler or SIG_IGN is installed for real, and the old action
     * comes back from the same system call (timeout(1) signals its child,
     * sets SIG_IGN and signals its group: every call more between the two
     * signals was time natively not there); SIG_DFL and a one-shot
     * handler are recorded as the view and refscope's handler installed,
     * after a query. */
    struct sigaction cur;
    int rc;
    if (act && !is_default(act) && !is_oneshot(act)) {
        rc = call_real(sig, act, &cur);
    } else {
        rc = call_real(sig, NULL, &cur);
        if (rc == 0 && act)
            rc = is_default(act) ? set_default(sig, act) : set_oneshot(sig, act);
    }
    if (rc == 0 && old)
        *old = is_ours(&cur) ? view[sig] : cur;
    int err = errno;
    pthread_mutex_unlock(&view_lock);
    pthread_sigmask(SIG_SETMASK, &mask, NULL);
    errno = rc == 0 ? saved_errno : err;
    return rc;
}

/* handler for sig with glibc's flags (the signal in the handler's mask
 * with block_self), through the interposed sigaction(). */
static __sighandler_t set_handler(int sig, __sighandler_t handler, int flags, int block_self)
{
    if (handler == SIG_ERR) {
        errno = EINVAL;
        return SIG_ERR;
    }
    struct sigaction act, old;
    memset(&act, 0, sizeof act);
    act.sa_handler = handler;
    sigemptyset(&act.sa_mask);
    if (block_self)
        sigaddset(&act.sa_mask, sig);
    act.sa_flags = flags;
    return sigaction(sig, &act, &old) == 0 ? old.sa_handler : SIG_ERR;
}

RS_EXPORT __sighandler_t signal(int sig, __sighandler_t handler)
{
    if (!is_fatal(sig) || !rs_active) {
        if (!real_signal)
            real_signal = (signal_fn_t)dlsym(RTLD_NEXT, "signal");
        return real_signal ? real_signal(sig, handler) : SIG_ERR;
    }
    return set_handler(sig, handler, BSD_FLAGS, 1);
}

RS_EXPORT __sighandler_t bsd_signal(int sig, __sighandler_t handler)
    __attribute__((alias("signal"), copy(signal)));
RS_EXPORT __sighandler_t ssignal(int sig, __sighandler_t handler)
    __attribute__((alias("signal"), copy(signal)));

RS_EXPORT __sighandler_t __sysv_signal(int sig, __sighandler_t handler)
{
    return set_handler(sig, handler, SYSV_FLAGS, 0);
}

RS_EXPORT __sighandler_t sysv_signal(int sig, __sighandler_t handler)
    __attribute__((alias("__sysv_signal"), copy(__sysv_signal)));

/* sigset(), System V's: glibc's, through the interposed sigaction() and
 * sigprocmask() (a query with SIG_HOLD answers the program's view, not
 * refscope's handler). */
RS_EXPORT __sighandler_t sigset(int sig, __sighandler_t disp)
{
    sigset_t one, old;
    sigemptyset(&one);
    if (sigaddset(&one, sig) < 0)
        return SIG_ERR;
    struct sigaction act, prev;
    if (disp == SIG_HOLD) {
        if (sigprocmask(SIG_BLOCK, &one, &old) < 0)
            return SIG_ERR;
        if (sigismember(&old, sig))
            return SIG_HOLD;
        return sigaction(sig, NULL, &prev) < 0 ? SIG_ERR : prev.sa_handler;
    }
    memset(&act, 0, sizeof act);
    act.sa_handler = disp;
    sigemptyset(&act.sa_mask);
    if (sigaction(sig, &act, &prev) < 0 || sigprocmask(SIG_UNBLOCK, &one, &old) < 0)
        return SIG_ERR;
    return sigismember(&old, sig) ? SIG_HOLD : prev.sa_handler;
}
