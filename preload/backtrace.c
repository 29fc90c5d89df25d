/*
 * backtrace.c - captures the call stack of an allocation.
 *
 * unw_backtrace() from libunwind walks the stack with DWARF unwind info
 * (its x86_64 fast path caches per-frame steps), so it works in programs
 * built without frame pointers.  The innermost frames belong to refscope
 * (the hook, record_alloc, this file) and are dropped by address: every
 * frame whose program counter lies in librefscope.so's executable segments
 * is removed, which stays right whatever the compiler inlines.  That also
 * drops the wrappers refscope puts between the program's frames (the main
 * wrapper below main, a thread start wrapper below a thread's function).
 * The one refscope address that stands for a program frame is the return
 * stub of a hooked ref/unref call (got_hook.h): it is replaced by the
 * original return address kept on the thread's shadow stack.
 *
 * Depth: REFSCOPE_DEPTH frames are kept (default 32).  Cost grows about
 * linearly with the frames actually walked; see the measurements in the
 * report of tests/bench.
 */
#include "got_hook.h"
#include "preload.h"

#include <libunwind.h>

static uint64_t self_lo, self_hi;

void rs_backtrace_init(void)
{
    if (rs_modules_self_text(&self_lo, &self_hi) != 0)
        self_lo = self_hi = 0;
}

uint32_t rs_backtrace_capture(uint64_t *pcs, uint32_t max)
{
    if (max > RS_STACK_MAX_FRAMES)
        max = RS_STACK_MAX_FRAMES;
    /* uint64_t and void * have the same size on the 64-bit targets
     * refscope supports. */
    _Static_assert(sizeof(void *) == sizeof(uint64_t), "64-bit only");
    int n = unw_backtrace((void **)pcs, (int)(max + RS_BACKTRACE_SLACK));
    if (n <= 0)
        return 0;
    uint32_t kept = 0, stubs = 0;
    for (uint32_t i = 0; i < (uint32_t)n && kept < max; i++) {
        uint64_t pc = pcs[i];
        if (RS_UNLIKELY(pc >= self_lo && pc < self_hi)) {
            if (!rs_got_hook_is_return_stub(pc))
                continue;
            /* A hooked call's swapped return address: the real one is on
             * the thread's shadow stack (got_hook.h). */
            pc = rs_got_hook_pending_return(stubs++);
            if (!pc)
                continue;
        }
        pcs[kept++] = pc;
    }
    return kept;
}
