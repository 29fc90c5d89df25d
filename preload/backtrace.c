/*
 * backtrace.c - captures the call stack of an allocation.
 *
 * The stack is walked with DWARF unwind info, so it works in programs
 * built without frame pointers: by refscope's cached walker
 * (fastunwind.c) when it can walk the whole stack, else by libunwind's
 * unw_backtrace() (REFSCOPE_UNWIND chooses; both give the same frames,
 * which REFSCOPE_UNWIND=check verifies).  The innermost frames belong to refscope
 * (the hook, record_alloc, this file) and are dropped by address: every
 * frame whose program counter lies in librefscope.so's executable segments
 * is removed, which stays right whatever the compiler inlines.  That also
 * drops the wrappers refscope puts between the program's frames (the main
 * wrapper below main, a thread start wrapper below a thread's function).
 * The one refscope address that stands for a program frame is the return
 * stub of a hooked ref/unref call (got_hook.h).  refscope's walker reads
 * the call's original return address from the thread's shadow stack and
 * walks on into the caller.  For libunwind the stub's unwind info ends
 * the walk there (so it stays on its fast path instead of stepping
 * through a return address it cannot read); the stub is then replaced by
 * the stack the hook's pre captured for that call, or made on demand
 * (rs_backtrace_caller_stack) when pre deferred it (its first frame is
 * the original return address), or, when there is none, by the original
 * return address alone.
 *
 * Depth: REFSCOPE_DEPTH frames are kept (default 32).  Cost grows about
 * linearly with the frames actually walked; see the measurements in the
 * report of tests/bench.
 *
 * File descriptors: libunwind opens two pipes on its first walk (it
 * validates addresses through them when mincore() is unusable) and keeps
 * them for the life of the process.  Taking the lowest free numbers would
 * shift every descriptor the program opens afterwards (the first open()
 * returning 7 instead of 3) and show in /proc/self/fd.  So pipe2() is
 * interposed: a call made while the reentrancy guard is set (refscope's
 * own code, libunwind included) gets its descriptors moved to
 * RS_BT_FD_MIN or above (move_high()); every other call is the plain
 * system call.
 *
 * Stack room: unw_backtrace() needs about 4 KiB of stack (its cursor and
 * context, and the loader's lazy binding on a first call saves the
 * vector registers), where malloc itself needs a few hundred bytes.  A
 * program that allocates with little stack left - deep in a thread with a
 * minimum-size stack, in a signal handler on a SIGSTKSZ alternate stack -
 * would crash under refscope only.  So the capture first measures the
 * room below the stack pointer and records no stack (0 frames) when it is
 * under RS_BT_STACK_NEED.  The thread's stack range comes from the thread
 * registry (rs_backtrace_thread_stack(), cached in TLS); a stack pointer
 * outside it means an alternate signal stack (asked with sigaltstack(),
 * only then) or a stack the program switched to itself (makecontext), whose
 * size is unknown: captured as before.
 */
#include "got_hook.h"
#include "guard.h"
#include "preload.h"

#include <errno.h>
#include <fcntl.h>
#include <libunwind.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Above diag.c's spare stderr (512), below common soft limits (1024). */
#define RS_BT_FD_MIN 600
/* Stack the unwinder may use, with a margin (measured: 3.3 KiB, 5 KiB on
 * a first call). */
#define RS_BT_STACK_NEED 8192
/* Taken as the main thread's stack size under an unlimited RLIMIT_STACK. */
#define RS_BT_STACK_UNLIMITED (1ULL << 30)

/* The calling thread's stack; lo 0 = unknown. */
static _Thread_local uint64_t bt_stack_lo __attribute__((tls_model("initial-exec")));
static _Thread_local uint64_t bt_stack_hi __attribute__((tls_model("initial-exec")));
/* Pending hooked calls above the walk in progress: 0, or for a deferred
 * caller stack made during another walk (rs_backtrace_caller_stack), the
 * number of pending calls above that caller's frame. */
static _Thread_local uint32_t bt_outer_stubs __attribute__((tls_model("initial-exec")));

static uint64_t self_lo, self_hi;
/* Stacks walked by libunwind (the fast walker could not, or was told not
 * to): a slow path already, the count costs nothing that matters. */
static _Atomic uint64_t fallbacks;

void rs_backtrace_init(void)
{
    if (rs_modules_self_text(&self_lo, &self_hi) != 0)
        self_lo = self_hi = 0;
    uint64_t ld_lo, ld_hi;
    if (rs_modules_loader_text(&ld_lo, &ld_hi) == 0)
        rs_fastunwind_init(ld_lo, ld_hi);
}

/* Moves fd to RS_BT_FD_MIN or above (rs_fd_dup_high(): F_DUPFD_CLOEXEC
 * sets close-on-exec, which libunwind asks for anyway), so that the
 * program's own open() still returns the numbers it would natively
 * (libunwind's two pipes on 3-6 made the first one 7), also under
 * `ulimit -Sn 100` or `ulimit -n 100`.  Kept where it is when that
 * fails. */
static int move_high(int fd)
{
    int high = rs_fd_dup_high(fd, RS_BT_FD_MIN);
    if (high < 0)
        return fd;
    close(fd);
    return high;
}

/* pipe2() for the whole process.  Fails as the system call does. */
RS_EXPORT int pipe2(int fds[2], int flags)
{
    if (syscall(SYS_pipe2, fds, flags) != 0)
        return -1;
    if (RS_UNLIKELY(rs_guard_active())) {
        int saved_errno = errno;
        fds[0] = move_high(fds[0]);
        fds[1] = move_high(fds[1]);
        errno = saved_errno;
    }
    return 0;
}

void rs_backtrace_thread_stack(uint64_t lo, uint64_t hi)
{
    struct rlimit rl;
    if (!lo && hi && getrlimit(RLIMIT_STACK, &rl) == 0) {
        /* The main thread: its stack grows down to RLIMIT_STACK. */
        uint64_t max = rl.rlim_cur == RLIM_INFINITY ? RS_BT_STACK_UNLIMITED
                                                    : (uint64_t)rl.rlim_cur;
        lo = max < hi ? hi - max : 0;
    }
    bt_stack_lo = lo;
    bt_stack_hi = hi;
}

/* 1 when the stack below sp has room for the unwinder or its size is
 * unknown. */
static int stack_room_ok(uint64_t sp)
{
    uint64_t lo = bt_stack_lo, hi = bt_stack_hi;
    if (RS_LIKELY(sp >= lo && sp < hi))
        return sp - lo >= RS_BT_STACK_NEED;
    if (!lo)
        return 1;
    stack_t ss;
    if (sigaltstack(NULL, &ss) != 0 || !(ss.ss_flags & SS_ONSTACK))
        return 1;
    lo = (uint64_t)(uintptr_t)ss.ss_sp;
    if (sp < lo || sp >= lo + ss.ss_size)
        return 1;
    return sp - lo >= RS_BT_STACK_NEED;
}

/* Appends to pcs[0..*kept) the stack that pre captured for the k-th
 * pending hooked call, up to max frames in all; 1 when done, 0 when that
 * call carries no stack (the caller falls back to its return address). */
static int append_caller_stack(uint32_t k, uint64_t *pcs, uint32_t *kept, uint32_t max)
{
    rs_stack_t st;
    uint32_t id = rs_got_hook_pending_stack(k);
    if (!id || rs_stackdepot_get(rs_depot, id, &st) != 0)
        return 0;
    for (uint32_t j = 0; j < st.n_frames && *kept < max; j++)
        pcs[(*kept)++] = st.pcs[j];
    return 1;
}

/* Drops refscope's frames from the raw walk pcs[0..n) in place and puts
 * the pending hooked calls' stacks in place of return stubs; keeps at
 * most max.  Returns the number kept. */
static uint32_t keep_program_frames(uint64_t *pcs, int n, uint32_t max)
{
    /* refscope's range in registers (pcs cannot alias locals), one
     * unsigned compare per frame. */
    const uint64_t lo = self_lo, span = self_hi - self_lo;
    uint32_t kept = 0, stubs = bt_outer_stubs;
    for (uint32_t i = 0; i < (uint32_t)n && kept < max; i++) {
        uint64_t pc = pcs[i];
        if (RS_UNLIKELY(pc - lo < span)) {
            if (!rs_got_hook_is_return_stub(pc))
                continue;
            /* A hooked call's swapped return address (got_hook.h). */
            if (append_caller_stack(stubs, pcs, &kept, max))
                break;
            pc = rs_got_hook_pending_return(stubs++);
            if (!pc)
                continue;
        }
        pcs[kept++] = pc;
    }
    return kept;
}

/* Frames the fast walker may go through beyond max + RS_BACKTRACE_SLACK:
 * it stops once max are kept, so only walks under many of refscope's own
 * frames (a free inside a hooked call, the stack of an object freed)
 * use them. */
#define RS_WALK_EXTRA 16

/* REFSCOPE_UNWIND=check: walks again with libunwind (as far as the fast
 * walker may go) and counts a mismatch when its frames kept differ from
 * kept[0..k). */
static __attribute__((noinline)) void check_walk(const uint64_t *kept, uint32_t k,
                                                 int size, uint32_t max)
{
    uint64_t b[size];
    int m = unw_backtrace((void **)b, size);
    uint32_t kb = m > 0 ? keep_program_frames(b, m, max) : 0;
    rs_fastunwind_count_check(k != kb || memcmp(kept, b, k * sizeof *b) != 0, k);
}

/* Walks with refscope's walker (fastunwind.c) into pcs and keeps the
 * program's frames as keep_program_frames() would from a full walk; -1
 * when that walker cannot walk this stack. */
static inline int walk_fast(uint64_t *pcs, int size, uint32_t max,
                            const rs_call_site_t *site)
{
    /* Stored frames are the program's (the walker goes through return
     * stubs into the hooked calls' callers), or one of refscope's that
     * ends the walk: max of them are all that is kept. */
    int n = rs_fastunwind_trace(pcs, size, (int)max, bt_stack_lo, bt_stack_hi, self_lo,
                                self_hi, site, bt_outer_stubs);
    if (RS_UNLIKELY(n <= 0))
        return n;
    /* refscope's frames are left out already but for the last one, which
     * may be a return stub: only then is there anything to filter. */
    uint64_t last = pcs[n - 1];
    if (RS_UNLIKELY(last >= self_lo && last < self_hi))
        return (int)keep_program_frames(pcs, n, max);
    return n < (int)max ? n : (int)max;
}

/* From a call site the fast walker starts in the program's frame; where
 * it cannot walk, libunwind walks from here and the same frames are kept
 * (refscope's own are dropped either way).  Native frames only. */
static inline __attribute__((always_inline)) uint32_t
capture_native(uint64_t *pcs, uint32_t max, const rs_call_site_t *site)
{
    /* The stack pointer, read without making this frame keep one in rbp
     * (as __builtin_frame_address would). */
    uint64_t sp;
    __asm__("movq %%rsp, %0" : "=r"(sp));
    if (RS_UNLIKELY(!stack_room_ok(sp)))
        return 0;
    if (max > RS_STACK_MAX_FRAMES)
        max = RS_STACK_MAX_FRAMES;
    /* uint64_t and void * have the same size on the 64-bit targets
     * refscope supports. */
    _Static_assert(sizeof(void *) == sizeof(uint64_t), "64-bit only");
    int size = (int)(max + RS_BACKTRACE_SLACK);
    if (RS_LIKELY(rs_settings.unwind != RS_UNWIND_LIBUNWIND)) {
        int k = walk_fast(pcs, size + RS_WALK_EXTRA, max, site);
        if (RS_LIKELY(k >= 0)) {
            if (RS_UNLIKELY(rs_settings.unwind == RS_UNWIND_CHECK))
                check_walk(pcs, (uint32_t)k, size + RS_WALK_EXTRA, max);
            return (uint32_t)k;
        }
    }
    atomic_fetch_add_explicit(&fallbacks, 1, memory_order_relaxed);
    int n = unw_backtrace((void **)pcs, size);
    return n > 0 ? keep_program_frames(pcs, n, max) : 0;
}

uint32_t rs_backtrace_capture(uint64_t *pcs, uint32_t max, const rs_call_site_t *site)
{
    uint32_t n = capture_native(pcs, max, site);
    return rs_python_frames_expand(pcs, n, max < RS_STACK_MAX_FRAMES ? max
                                                                     : RS_STACK_MAX_FRAMES);
}

uint32_t rs_backtrace_caller_stack(const rs_call_site_t *site, uint32_t outer)
{
    /* Only refscope's walker starts at a given frame; libunwind starts
     * here, below the hooked call, and its walk ends at the call's return
     * stub: without the fast walker the stack is the return address. */
    uint32_t max = (uint32_t)rs_settings.depth;   /* at most RS_STACK_MAX_FRAMES */
    uint64_t pcs[max + RS_BACKTRACE_SLACK];           /* as every capture */
    uint32_t saved = bt_outer_stubs;
    bt_outer_stubs = outer;
    int k = -1;
    uint64_t sp;
    __asm__("movq %%rsp, %0" : "=r"(sp));
    if (rs_settings.unwind != RS_UNWIND_LIBUNWIND && stack_room_ok(sp))
        k = walk_fast(pcs, (int)(max + RS_BACKTRACE_SLACK + RS_WALK_EXTRA), max, site);
    bt_outer_stubs = saved;
    if (k < 0) {
        atomic_fetch_add_explicit(&fallbacks, 1, memory_order_relaxed);
        pcs[0] = site->ip;
        k = 1;
    }
    /* Made during another walk (outer > 0, libunwind's), the eval frames
     * inside the call come first: that walk expands the whole stack. */
    if (!outer)
        k = (int)rs_python_frames_expand(pcs, (uint32_t)k, max);
    return k ? rs_stackdepot_intern(rs_depot, pcs, (uint32_t)k, rs_modules_epoch()) : 0;
}

uint64_t rs_backtrace_fallbacks(void)
{
    return atomic_load_explicit(&fallbacks, memory_order_relaxed);
}
