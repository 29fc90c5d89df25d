/*
 * alt_stack.c - an alternate signal stack for every thread refscope sees
 * start, so that the fatal-signal analysis (fatal_signals.c) also runs
 * when a thread dies by overflowing its stack: the kernel can deliver that
 * SIGSEGV only on an alternate stack.
 *
 * Each thread registered by threads.c (the main thread at start-up, the
 * others in the pthread_create trampoline) gets RS_ALT_STACK_SIZE bytes of
 * anonymous memory below a PROT_NONE guard page, mapped with
 * MAP_NORESERVE: nothing is committed until a handler runs on it.  It is
 * installed only when the thread has no alternate stack already; the
 * thread's key destructor removes it (unless a handler is running on it)
 * and unmaps it.  refscope's fatal-signal handler is installed with
 * SA_ONSTACK; the program's handlers keep their own flags.
 *
 * The program's view: sigaltstack() is interposed, and while refscope's
 * stack is the installed one it answers SS_DISABLE, as the program would
 * see without refscope.  A program (or library: Rust's runtime, Python's
 * faulthandler) that installs its own stack replaces refscope's, which
 * then stays mapped, unused, until the thread ends.  Programs whose own
 * handlers ask for SA_ONSTACK without installing a stack now run them on
 * refscope's stack instead of the thread's: they get more room, not less.
 *
 * Running the analysis (rs_alt_stack_run): the handler runs on whatever
 * alternate stack is installed, which may be a program's small one
 * (faulthandler's is 8 KiB or so), and then needs another stack with
 * room: the interrupted one below its stack pointer (and red zone), as if
 * the handler had run there, or else refscope's own, which stays mapped
 * and unused when the program replaced it.  The switch is a few
 * instructions of inline assembly around one call; nothing unwinds
 * through it (the analysis records no stacks).
 *
 * Invariants: alt_base is this thread's mapping or NULL; the memory is
 * never reused or unmapped while it is the installed alternate stack and
 * a handler may be on it (SS_ONSTACK).
 */
#include "preload.h"

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* The analysis needs RS_SIGNAL_STACK_MIN (256 KiB, fatal_signals.c) below
 * the handler's frame; the rest is margin for the kernel's signal frame
 * (a few KiB with AVX-512 state) and the handler itself. */
#define RS_ALT_STACK_SIZE (320u << 10)

typedef int (*sigaltstack_fn_t)(const stack_t *, stack_t *);

static _Thread_local char *alt_base __attribute__((tls_model("initial-exec")));

static int call_real(const stack_t *ss, stack_t *old)
{
    static sigaltstack_fn_t real;
    if (!real)
        real = (sigaltstack_fn_t)dlsym(RTLD_NEXT, "sigaltstack");
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    return real(ss, old);
}

static size_t guard_size(void)
{
    long page = sysconf(_SC_PAGESIZE);
    return page > 0 ? (size_t)page : 4096;
}

/* 1 when st describes refscope's stack of this thread. */
static int is_ours(const stack_t *st)
{
    return alt_base && !(st->ss_flags & SS_DISABLE) &&
           (char *)st->ss_sp == alt_base + guard_size();
}

void rs_alt_stack_thread_begin(void)
{
    stack_t cur;
    if (alt_base || call_real(NULL, &cur) != 0 || !(cur.ss_flags & SS_DISABLE))
        return;
    size_t guard = guard_size(), len = guard + RS_ALT_STACK_SIZE;
    char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (m == MAP_FAILED)
        return;
    stack_t ss = { .ss_sp = m + guard, .ss_size = RS_ALT_STACK_SIZE, .ss_flags = 0 };
    if (mprotect(m, guard, PROT_NONE) != 0 || call_real(&ss, NULL) != 0) {
        munmap(m, len);
        return;
    }
    alt_base = m;
}

void rs_alt_stack_thread_end(void)
{
    if (!alt_base)
        return;
    stack_t cur;
    if (call_real(NULL, &cur) != 0)
        return;
    if (is_ours(&cur)) {
        if (cur.ss_flags & SS_ONSTACK)
            return;                 /* a handler runs on it: leave it be */
        stack_t off = { .ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE };
        if (call_real(&off, NULL) != 0)
            return;
    }
    munmap(alt_base, guard_size() + RS_ALT_STACK_SIZE);
    alt_base = NULL;
}

/* sigaltstack(): the real one, with refscope's stack reported as none. */
RS_EXPORT int sigaltstack(const stack_t *ss, stack_t *old)
{
    stack_t prev;
    int rc = call_real(ss, &prev);
    if (rc == 0 && old) {
        *old = prev;
        if (is_ours(&prev) && !(prev.ss_flags & SS_ONSTACK))
            *old = (stack_t){ .ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE };
    }
    return rc;
}

/* Calls fn(arg) with the stack pointer at top (16-byte aligned), back on
 * the current stack afterwards.  rbx, callee-saved, keeps the old stack
 * pointer across the call; everything the call may clobber is declared. */
static __attribute__((noinline)) void call_on_stack(uint64_t top, void (*fn)(void *),
                                                    void *arg)
{
    __asm__ volatile("movq %%rsp, %%rbx\n\t"
                     "movq %[top], %%rsp\n\t"
                     "callq *%[fn]\n\t"
                     "movq %%rbx, %%rsp"
                     : "+D"(arg)
                     : [top] "r"(top), [fn] "r"(fn)
                     : "rax", "rbx", "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11",
                       "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
                       "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
                       "xmm15", "memory", "cc");
}

/* Past the interrupted code's red zone, and some slack for its frame. */
#define RS_INTERRUPTED_GAP 512u

/* Room below sp: within the installed alternate stack's own bounds when
 * sp is on it (it may lie inside a larger mapping, such as a heap block:
 * faulthandler's does), else within sp's mapping (rs_threads_stack_room:
 * UINT64_MAX when unknown). */
static uint64_t room_below(uint64_t sp)
{
    stack_t cur;
    if (call_real(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE)) {
        uint64_t lo = (uint64_t)(uintptr_t)cur.ss_sp;
        if (sp > lo && sp <= lo + cur.ss_size)
            return sp - lo;
    }
    return rs_threads_stack_room(sp);
}

int rs_alt_stack_run(uint64_t interrupted_sp, uint64_t need, void (*fn)(void *), void *arg)
{
    uint64_t here = (uint64_t)(uintptr_t)__builtin_frame_address(0);
    if (room_below(here) >= need) {
        fn(arg);
        return 0;
    }
    /* Unknown room (no mapping holds the address: an overflow's stack
     * pointer is often past the end of its stack) does not count. */
    uint64_t below = interrupted_sp - RS_INTERRUPTED_GAP;
    uint64_t room = interrupted_sp > RS_INTERRUPTED_GAP ? room_below(below) : 0;
    if (room >= need && room != UINT64_MAX) {
        call_on_stack(below & ~15ull, fn, arg);
        return 0;
    }
    uint64_t lo = (uint64_t)(uintptr_t)alt_base, hi = lo + guard_size() + RS_ALT_STACK_SIZE;
    if (alt_base && (here < lo || here >= hi) && RS_ALT_STACK_SIZE >= need) {
        call_on_stack(hi & ~15ull, fn, arg);
        return 0;
    }
    return -1;
}
