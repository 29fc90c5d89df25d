/*
 * newref.c - a profile's `newref` functions (profile.h): an object handed
 * out again from a library's own free list gets the stack of the call
 * that handed it out, not that of the malloc that first made its block.
 *
 * Why.  CPython keeps freed tuples, lists, dicts and floats on free lists
 * and hands them out again without malloc.  refscope charges a block to
 * the stack of its malloc, so a tuple an extension module leaked carried
 * the stack of whoever first allocated that memory (usually the
 * interpreter), and `--python`, which lists only leaks whose stack passes
 * through an extension, hid it.  tracemalloc has the same problem and
 * solves it in _Py_NewReference, which is inline in the interpreter and
 * cannot be hooked; the calls an extension makes into the C API go
 * through its GOT and can.
 *
 * Rule, applied when a hooked call returns object obj (refhooks.c):
 *   - the object's counter reads 1: the caller is its only owner (a
 *     shared object handed out with one more reference, a singleton, an
 *     immortal object keep their stacks);
 *   - obj lies in a tracked block, at most RS_NEWREF_PROBE bytes past its
 *     start (CPython's GC header and managed-dict words come first);
 *   - the block's allocation stack does not contain the call's return
 *     address: a block malloc'ed inside the call already has a stack
 *     through this call site (with the frames inside the library, more
 *     precise), and keeps it;
 * then the block's record takes the call's stack, with the function
 * called as its first frame (rs_blockreg_restamp).
 *
 * Cost, paid only by calls from other modules (extensions), never by the
 * interpreter's own: the trampolines and, in post, one counter read, one
 * block lookup and, when the count is 1, a scan of the block's interned
 * stack.  The caller's stack is walked only to stamp (pre defers it,
 * got_hook.h): a stack taken inside the call (its malloc) goes through
 * the call's return stub into the caller by itself (fastunwind.c), and a
 * libunwind walk, which ends at the stub, asks for the deferred stack.
 * Walked in pre for every call, it cost 200 ns a call: numpy's tolist()
 * of 4M floats took 1.85 s under refscope against 1.0 s without these
 * hooks; deferred, 1.33 s against 1.01 s (medians of 5, side by side).
 */
#include "got_hook.h"
#include "preload.h"

#define RS_NEWREF_PROBE 64u   /* bytes of header before an object, at most */

/* Stack `id` contains pc. */
static int stack_contains(uint32_t id, uint64_t pc)
{
    rs_stack_t st;
    if (rs_stackdepot_get(rs_depot, id, &st) != 0)
        return 0;
    for (uint32_t i = 0; i < st.n_frames; i++)
        if (st.pcs[i] == pc)
            return 1;
    return 0;
}

/* The stamp: the hooked function fn as frame #0, then the caller's stack
 * (within the depth).  fn + 1 stands for it: frames are return
 * addresses, looked up at address - 1 (symbolize.c), so the report names
 * the function that handed the object out, as a malloc'ed block's stack
 * names the function that called malloc.  At REFSCOPE_DEPTH=1 the one
 * frame is the caller's: it is what makes the leak an extension's. */
static uint32_t stamp_stack(uint64_t fn, uint32_t call_stack)
{
    rs_stack_t st;
    if (!fn || rs_settings.depth < 2 || rs_stackdepot_get(rs_depot, call_stack, &st) != 0)
        return call_stack;
    uint32_t n = st.n_frames < (uint32_t)rs_settings.depth ? st.n_frames
                                                           : (uint32_t)rs_settings.depth - 1;
    uint64_t pcs[n + 1];
    pcs[0] = fn + 1;
    for (uint32_t i = 0; i < n; i++)
        pcs[i + 1] = st.pcs[i];
    uint32_t id = rs_stackdepot_intern(rs_depot, pcs, n + 1, st.epoch);
    return id ? id : call_stack;
}

int rs_newref_stamp(uint32_t id, uint64_t obj, int64_t count)
{
    uint64_t ret = rs_got_hook_returning_address();
    if (count != 1 || !ret || !rs_blocks)
        return 0;
    rs_block_t b;
    if (!rs_block_containing(obj, RS_NEWREF_PROBE, 1, &b) || stack_contains(b.stack_id, ret))
        return 0;
    uint32_t call_stack = rs_got_hook_returning_stack();   /* walked now */
    if (!call_stack)
        return 0;
    uint64_t fn = (uint64_t)(uintptr_t)rs_got_hook_original(id);
    return rs_blockreg_restamp(rs_blocks, b.addr, stamp_stack(fn, call_stack));
}
