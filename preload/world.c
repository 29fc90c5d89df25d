/*
 * world.c - stopping every other thread of the process at analysis time
 * and letting them go again.
 *
 * rs_world_stop() lists the threads in /proc/self/task (falling back to the
 * registry if /proc is unreadable), gives each one a record, and sends it
 * the stop signal with rt_tgsigqueueinfo (si_code SI_QUEUE, our pid, a
 * magic si_value, so the handler can tell our requests from a signal the
 * program sends itself).  The handler claims its record, saves the 16
 * general registers, the stack pointer and the thread pointer, counts
 * itself in g_acked (futex wake), then parks on the g_release futex until
 * rs_world_resume() publishes the stop's generation.  Threads created while
 * stopping are caught by re-reading /proc/self/task (a few rounds).
 *
 * The stop signal is SIGPWR by default, as in the Boehm collector on Linux:
 * the kernel never sends it to ordinary processes and programs rarely use
 * it.  REFSCOPE_STOP_SIGNAL overrides it: a number, or a name such as PWR,
 * SIGXCPU, USR2, RTMIN+3 or SIGRTMAX-1.  The handler is installed for the
 * time of a stop and the program's action restored afterwards; if some
 * thread ever failed to answer (its signal may still be pending) our
 * handler stays installed, forwarding signals that are not ours to the
 * program's handler, so a late delivery cannot kill the process.
 *
 * A thread that blocks the stop signal is given up on at once (see
 * give_up_on_blocking) and then stopped with ptrace (ptrace_stop.c) if the
 * system allows it; its pending stop signal keeps our handler installed.
 *
 * Invariants:
 *  - A record's word is (generation << 32) | state.  Only the handler of
 *    the record's thread moves it SIGNALLED -> STOPPING -> STOPPED, only the
 *    stopping thread moves it SIGNALLED -> TIMEOUT or GONE, both with a
 *    compare-and-swap, so a late handler can never write into a record the
 *    analyser has given up on.
 *  - Records are in mmap'ed chunks that are never freed or moved.
 *  - From rs_world_stop() until rs_world_resume() the stopping thread holds
 *    the registry lock (threads.h); it allocates nothing from malloc.
 */
#include "preload.h"
#include "threadroots.h"
#include "threads.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define RS_STOP_MAGIC       ((void *)(uintptr_t)0x7273746f70ULL) /* "rstop" */
#define RS_STOP_TIMEOUT_NS  200000000LL    /* for all threads together      */
#define RS_STOP_POLL_NS     2000000LL      /* re-check exited threads       */
#define RS_STOP_ROUNDS      8              /* re-reads of /proc/self/task   */
#define RS_REC_CHUNK        256
#define RS_REC_CHUNKS       1024           /* at most 262144 threads        */
#define RS_DEFAULT_SIGNAL   SIGPWR

static rs_stopped_t *_Atomic g_chunks[RS_REC_CHUNKS];
static _Atomic uint32_t g_nrec;      /* records of the stop in progress    */
static _Atomic uint32_t g_gen;       /* generation of the current stop     */
static _Atomic int      g_active;    /* a stop is in progress              */
static _Atomic uint32_t g_release;   /* futex: last released generation   */
static _Atomic uint32_t g_acked;     /* futex: answers so far              */
static pid_t            g_pid;
static int              g_signo;     /* 0 until chosen                     */
static int              g_installed; /* our handler is in place           */
static int              g_sticky;    /* a signal may still be pending      */
static struct sigaction g_old;       /* the program's action               */
static uint32_t         g_blocking;  /* threads of the last stop given up
                                        on as blocking the signal         */
static uint32_t         g_traced;    /* of those, the ones ptrace stopped */

static uint64_t pack(uint32_t gen, int state)
{
    return (uint64_t)gen << 32 | (uint32_t)state;
}

static long futex(_Atomic uint32_t *addr, int op, uint32_t val,
                  const struct timespec *ts)
{
    return syscall(SYS_futex, addr, op | FUTEX_PRIVATE_FLAG, val, ts, NULL, 0);
}

/* ---- records ---------------------------------------------------------- */

static rs_stopped_t *record(uint32_t i)
{
    return &atomic_load_explicit(&g_chunks[i / RS_REC_CHUNK],
                                 memory_order_acquire)[i % RS_REC_CHUNK];
}

/* Makes room for record i; 0 on success, -1 if memory ran out. */
static int record_reserve(uint32_t i)
{
    uint32_t c = i / RS_REC_CHUNK;
    if (c >= RS_REC_CHUNKS)
        return -1;
    if (atomic_load_explicit(&g_chunks[c], memory_order_relaxed))
        return 0;
    void *m = mmap(NULL, RS_REC_CHUNK * sizeof(rs_stopped_t),
                   PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return -1;
    atomic_store_explicit(&g_chunks[c], m, memory_order_release);
    return 0;
}

int rs_world_active(void)
{
    return atomic_load(&g_active);
}

uint32_t rs_world_count(void)
{
    return atomic_load(&g_active) ? atomic_load(&g_nrec) : 0;
}

rs_stopped_t *rs_world_record(uint32_t i)
{
    return record(i);
}

int rs_world_state(const rs_stopped_t *r)
{
    uint64_t w = atomic_load_explicit(&((rs_stopped_t *)r)->word,
                                      memory_order_acquire);
    return (uint32_t)(w >> 32) == atomic_load(&g_gen) ? (int)(uint32_t)w : 0;
}

/* ---- the signal handler (async-signal-safe code only) ---------------- */

static int is_ours(const siginfo_t *si)
{
    return si && si->si_code == SI_QUEUE && si->si_pid == g_pid &&
           si->si_value.sival_ptr == RS_STOP_MAGIC;
}

/* A signal the program sent: hand it to the program's own handler.  A
 * default or ignored action is dropped (this happens only while our
 * handler is installed). */
static void forward(int sig, siginfo_t *si, void *uc)
{
    if (g_old.sa_flags & SA_SIGINFO) {
        if (g_old.sa_sigaction)
            g_old.sa_sigaction(sig, si, uc);
    } else if (g_old.sa_handler != SIG_DFL && g_old.sa_handler != SIG_IGN) {
        g_old.sa_handler(sig);
    }
}

static void save_context(rs_stopped_t *r, const ucontext_t *uc)
{
#if defined(__x86_64__)
    for (int i = 0; i < 16; i++)            /* REG_R8 .. REG_RSP */
        r->regs[i] = (uint64_t)uc->uc_mcontext.gregs[i];
    r->sp = (uint64_t)uc->uc_mcontext.gregs[REG_RSP];
    r->pc = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    uint64_t tp;
    __asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
    r->tp = tp;
#else
    /* Unknown architecture: no registers; the handler's own frame is
     * scanned, which still holds whatever the kernel saved. */
    memset(r->regs, 0, sizeof r->regs);
    r->sp = (uint64_t)(uintptr_t)&r;
    r->pc = 0;
    r->tp = (uint64_t)pthread_self();
#endif
}

/* Waits until generation gen, or a later one, is released (a later one:
 * the thread may wake so late that the next stop has come and gone). */
static void park(uint32_t gen)
{
    uint32_t v;
    while ((int32_t)((v = atomic_load(&g_release)) - gen) < 0)
        futex(&g_release, FUTEX_WAIT, v, NULL);
}

static void stop_handler(int sig, siginfo_t *si, void *uc)
{
    int saved_errno = errno;
    if (!is_ours(si)) {
        forward(sig, si, uc);
        errno = saved_errno;
        return;
    }
    uint32_t gen = atomic_load(&g_gen);
    uint32_t n = atomic_load(&g_active) ? atomic_load(&g_nrec) : 0;
    uint32_t tid = (uint32_t)syscall(SYS_gettid);
    for (uint32_t i = 0; i < n; i++) {
        rs_stopped_t *r = record(i);
        uint64_t expect = pack(gen, RS_STOP_SIGNALLED);
        if (r->tid != tid)
            continue;
        if (atomic_compare_exchange_strong(&r->word, &expect,
                                           pack(gen, RS_STOP_STOPPING))) {
            save_context(r, uc);
            atomic_store(&r->word, pack(gen, RS_STOP_STOPPED));
            atomic_fetch_add(&g_acked, 1);
            futex(&g_acked, FUTEX_WAKE, INT_MAX, NULL);
            park(gen);
        }
        break;
    }
    errno = saved_errno;
}

/* ---- choosing and installing the signal ------------------------------ */

/* The stop signal: REFSCOPE_STOP_SIGNAL (settings.c, which refused a
 * signal refscope may not catch), else SIGPWR.  Read once: the settings
 * are loaded before any thread is stopped. */
static int stop_signal(void)
{
    if (!g_signo)
        g_signo = rs_settings.stop_signal ? rs_settings.stop_signal : RS_DEFAULT_SIGNAL;
    return g_signo;
}

int rs_world_stop_signal(void)
{
    return stop_signal();
}

static int install(int sig)
{
    if (g_installed)
        return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = stop_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&sa.sa_mask);
    if (sigaction(sig, &sa, &g_old) != 0)
        return -1;
    g_installed = 1;
    return 0;
}

static void uninstall(int sig)
{
    if (g_installed && !g_sticky && sigaction(sig, &g_old, NULL) == 0)
        g_installed = 0;
}

/* ---- stopping --------------------------------------------------------- */

static int send_stop(uint32_t tid)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = g_signo;
    si.si_code = SI_QUEUE;
    si.si_pid = g_pid;
    si.si_uid = getuid();
    si.si_value.sival_ptr = RS_STOP_MAGIC;
    return (int)syscall(SYS_rt_tgsigqueueinfo, g_pid, tid, g_signo, &si);
}

static int known(uint32_t tid)
{
    uint32_t n = atomic_load(&g_nrec);
    for (uint32_t i = 0; i < n; i++)
        if (record(i)->tid == tid)
            return 1;
    return 0;
}

/* Adds a record for tid and signals it; returns 1 if a record was added. */
static int add_thread(uint32_t tid, uint32_t gen, uint32_t self)
{
    if (tid == self || tid == 0 || known(tid))
        return 0;
    uint32_t i = atomic_load(&g_nrec);
    if (record_reserve(i) != 0)
        return 0;
    rs_stopped_t *r = record(i);
    memset(r->regs, 0, sizeof r->regs);
    r->sp = r->tp = r->pc = 0;
    r->tid = tid;
    r->blocking = 0;
    r->registered = (uint8_t)rs_threads_lookup(tid, &r->info);
    atomic_store(&r->word, pack(gen, RS_STOP_SIGNALLED));
    atomic_store(&g_nrec, i + 1);
    if (send_stop(tid) != 0) {
        uint64_t expect = pack(gen, RS_STOP_SIGNALLED);
        int st = errno == ESRCH ? RS_STOP_GONE : RS_STOP_TIMEOUT;
        atomic_compare_exchange_strong(&r->word, &expect, pack(gen, st));
    }
    return 1;
}

typedef struct rs_add_ctx {
    uint32_t gen, self;
    int      added;
} rs_add_ctx_t;

static void add_registered(const rs_thread_info_t *t, void *ctx)
{
    rs_add_ctx_t *a = ctx;
    a->added += add_thread(t->tid, a->gen, a->self);
}

/* Signals every thread of /proc/self/task not yet in the stop set (the
 * registry if /proc cannot be read); returns how many were added. */
static int add_all(uint32_t gen, uint32_t self)
{
    rs_add_ctx_t a = { gen, self, 0 };
    char buf[4096];
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        rs_threads_foreach(add_registered, &a);
        return a.added;
    }
    for (;;) {
        long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (long off = 0; off < n;) {
            struct { uint64_t ino; int64_t off; unsigned short reclen;
                     unsigned char type; char name[]; } *d = (void *)(buf + off);
            if (d->name[0] >= '1' && d->name[0] <= '9')
                a.added += add_thread((uint32_t)strtoul(d->name, NULL, 10),
                                      gen, self);
            off += d->reclen;
        }
    }
    close(fd);
    return a.added;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Records still waiting for an answer; marks those whose thread has
 * exited as GONE, and on give_up the silent ones as TIMEOUT. */
static int unanswered(uint32_t gen, int give_up)
{
    int pending = 0;
    uint32_t n = atomic_load(&g_nrec);
    for (uint32_t i = 0; i < n; i++) {
        rs_stopped_t *r = record(i);
        uint64_t expect = pack(gen, RS_STOP_SIGNALLED);
        uint64_t w = atomic_load(&r->word);
        if (w == pack(gen, RS_STOP_STOPPING)) {
            pending++;              /* inside the handler: answers soon */
        } else if (w == expect) {
            int gone = syscall(SYS_tgkill, g_pid, r->tid, 0) != 0 &&
                       errno == ESRCH;
            if (gone || give_up) {
                int st = gone ? RS_STOP_GONE : RS_STOP_TIMEOUT;
                if (atomic_compare_exchange_strong(&r->word, &expect,
                                                   pack(gen, st)))
                    continue;
            }
            pending++;
        }
    }
    return pending;
}

/* Appends the decimal digits of v at p; returns the end. */
static char *put_decimal(char *p, uint32_t v)
{
    char digits[10];
    int n = 0;
    do
        digits[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n)
        *p++ = digits[--n];
    return p;
}

/* 1 when thread tid blocks signal sig now (the SigBlk mask of
 * /proc/self/task/TID/status); 0 when it does not or cannot be told. */
static int blocks_signal(uint32_t tid, int sig)
{
    char path[48] = "/proc/self/task/", buf[4096];
    memcpy(put_decimal(path + 16, tid), "/status", 8);
    const char *s = rs_proc_file_read(path, buf, sizeof buf) > 0
                    ? strstr(buf, "\nSigBlk:") : NULL;
    if (!s)
        return 0;
    uint64_t mask = strtoull(s + 9, NULL, 16);
    return (mask >> (sig - 1)) & 1;
}

/* Gives up at once on the threads that have not answered because they
 * block the stop signal: GLib's and libuv's worker threads block every
 * signal for their whole life, and waiting for them cost every exit of a
 * GIO program or of node the full timeout.  Checked once, a poll interval
 * after the signals went out, so that a thread inside a short
 * signals-blocked section (pthread_create's) is waited for. */
static void give_up_on_blocking(uint32_t gen)
{
    uint32_t n = atomic_load(&g_nrec);
    for (uint32_t i = 0; i < n; i++) {
        rs_stopped_t *r = record(i);
        uint64_t expect = pack(gen, RS_STOP_SIGNALLED);
        if (atomic_load(&r->word) == expect && blocks_signal(r->tid, g_signo) &&
            atomic_compare_exchange_strong(&r->word, &expect, pack(gen, RS_STOP_TIMEOUT))) {
            r->blocking = 1;
            g_blocking++;
        }
    }
}

/* Stops the threads given up on as blocking the signal with ptrace, when
 * the system allows it: a thread left running could move a pointer from
 * memory not yet scanned to memory already scanned.  Their signal stays
 * pending, so the handler stays installed (g_sticky). */
static void stop_blocking_by_ptrace(uint32_t gen)
{
    rs_stopped_t *recs[RS_PTRACE_MAX];
    uint8_t stopped[RS_PTRACE_MAX];
    uint32_t k = 0, n = atomic_load(&g_nrec);
    for (uint32_t i = 0; i < n && k < RS_PTRACE_MAX; i++) {
        rs_stopped_t *r = record(i);
        if (r->blocking && atomic_load(&r->word) == pack(gen, RS_STOP_TIMEOUT))
            recs[k++] = r;
    }
    if (k == 0)
        return;
    g_sticky = 1;
    if (!rs_settings.stop_ptrace)
        return;
    rs_ptrace_stop(recs, k, stopped);
    for (uint32_t i = 0; i < k; i++) {
        uint64_t expect = pack(gen, RS_STOP_TIMEOUT);
        if (stopped[i] && atomic_compare_exchange_strong(&recs[i]->word, &expect,
                                                         pack(gen, RS_STOP_STOPPED)))
            g_traced++;
    }
}

/* Waits until every signalled thread answered, exited or timed out. */
static void wait_answers(uint32_t gen, int64_t deadline)
{
    int64_t check_blocking_at = now_ns() + RS_STOP_POLL_NS;
    for (;;) {
        if (check_blocking_at && now_ns() >= check_blocking_at) {
            give_up_on_blocking(gen);
            check_blocking_at = 0;
        }
        uint32_t acked = atomic_load(&g_acked);
        int64_t left = deadline - now_ns();
        if (!unanswered(gen, left <= 0))
            return;
        if (left <= 0) {
            sched_yield();          /* a handler between claim and answer */
            continue;
        }
        if (left > RS_STOP_POLL_NS)
            left = RS_STOP_POLL_NS;
        struct timespec ts = { 0, (long)left };
        futex(&g_acked, FUTEX_WAIT, acked, &ts);
    }
}

int rs_world_stop(void)
{
    if (atomic_load(&g_active))
        return -1;
    rs_threadroots_init();
    rs_threads_lock();
    g_pid = getpid();
    uint32_t self = (uint32_t)gettid();
    int sig = stop_signal();
    if (install(sig) != 0) {
        rs_threads_unlock();
        return -1;
    }
    uint32_t gen = atomic_load(&g_gen) + 1;
    atomic_store(&g_nrec, 0);
    atomic_store(&g_acked, 0);
    g_blocking = g_traced = 0;
    atomic_store(&g_gen, gen);
    atomic_store(&g_active, 1);

    int64_t deadline = now_ns() + RS_STOP_TIMEOUT_NS;
    for (int round = 0; round < RS_STOP_ROUNDS; round++) {
        if (add_all(gen, self) == 0)
            break;
        wait_answers(gen, deadline);
    }
    stop_blocking_by_ptrace(gen);
    int stopped = 0;
    uint32_t n = atomic_load(&g_nrec);
    for (uint32_t i = 0; i < n; i++) {
        int st = rs_world_state(record(i));
        stopped += st == RS_STOP_STOPPED;
        if (st == RS_STOP_TIMEOUT)
            g_sticky = 1;
    }
    return stopped;
}

uint32_t rs_world_blocking(void)
{
    return g_blocking;
}

uint32_t rs_world_traced(void)
{
    return g_traced;
}

void rs_world_resume(void)
{
    if (!atomic_load(&g_active))
        return;
    atomic_store(&g_active, 0);
    rs_ptrace_release();
    atomic_store(&g_release, atomic_load(&g_gen));
    futex(&g_release, FUTEX_WAKE, INT_MAX, NULL);
    uninstall(g_signo);
    rs_threads_unlock();
}
