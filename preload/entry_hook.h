/*
 * entry_hook.h - hooks a profile function at its entry, so that calls a
 * library makes to its own exported functions (GLib and GStreamer link
 * -Bsymbolic: those calls never read a GOT slot) reach refscope too.
 *
 * For each hooked name (the ids of got_hook.h) the definition that the GOT
 * hooks stand for is found in the dynamic symbol table of a loaded module
 * (GNU hash lookup; the first module in load order when got_hook knows no
 * original yet, as for a library dlopen'ed RTLD_LOCAL).  Its prologue is
 * relocated (x86_relocate.h) into a 64-byte slot of a trampoline page
 * mapped within reach of a `jmp rel32` from the function; the slot also
 * holds a 14-byte stub `jmp *0(%rip); .quad got trampoline(id)`.  Then:
 *   1. rs_got_hook_set_resume(id, fn, relocated entry): the GOT trampoline
 *      now continues into the relocated entry, never into fn itself;
 *   2. fn's entry (after an endbr64, kept) is overwritten by `jmp rel32`
 *      to the stub, in one `lock cmpxchg` of an 8-byte window that holds
 *      the 5 bytes and lies inside one cache line (so the store is atomic
 *      for other threads' instruction fetch too), with the page made RWX
 *      for the write and R-X after.
 * So every call - through a patched GOT slot, an unpatched pointer, or a
 * direct call inside the library - runs the same pre/post machinery once
 * (got_hook.h): a GOT-hooked call goes trampoline -> relocated entry, a
 * direct call goes fn -> stub -> trampoline -> relocated entry.  Step 1
 * before 2 keeps that true at every instant for threads running meanwhile.
 *
 * Entry hooks or GOT hooks?  Both, always: the GOT hooks stay installed
 * (they cost nothing more once the trampoline resumes into the relocated
 * entry, catch calls from other modules when an entry cannot be patched,
 * and keep dlsym's answers hooked), and every function whose entry can be
 * patched gets an entry hook too (REFSCOPE_ENTRY_HOOKS=0 turns that off).
 * Measured here (2 shared cores, noisy): bench_refs -n 300000 with
 * benchobj.profile ran in 0.93 s with entry hooks and 1.29 s without (the
 * extra jump is lost in the noise); start-up of gst_leak with
 * REFSCOPE_HOOKS=gobject,gst took 27 ms instead of 22 ms (loading the
 * helper below and decoding 22 functions).
 *
 * The relocation code and Capstone live in librefscope-x86.so, next to
 * librefscope.so, loaded (RTLD_LOCAL) at the first rs_entry_hook_apply();
 * if it cannot be loaded, one line on stderr says so and every function
 * keeps its GOT hook only.
 *
 * A function is left to its GOT hook (with a line on stderr when verbose)
 * when the relocation refuses (x86_relocate.h), no trampoline page can be
 * mapped near it, the 5 bytes straddle a 64-byte cache line (no atomic
 * write), or mprotect is refused (W^X policies).  Each function is tried once; one not found yet (its library
 * is not loaded) is looked for again at every refresh.
 *
 * Limits: a thread stopped exactly between two instructions of the
 * patched bytes while a later dlopen'ed library is patched would resume
 * inside the jump (at start-up no other thread exists; the window is a
 * few instructions at the very entry of a function just loaded).  Code
 * outside the function's symbol extent (a .cold part) is not scanned for
 * branches into the patch.  Stacks walked from inside the relocated
 * prologue itself (a signal or a stop landing on those few instructions)
 * end there: the trampoline page has no unwind info.  A hooked library
 * unloaded by dlclose leaves its slot unused (the trampoline page is
 * never unmapped); its functions are forgotten after the dlclose
 * (rs_entry_hook_forget_unloaded) and hooked again if it is loaded again.
 * A library unloaded by a dlclose that refscope's does not see (glibc's,
 * reached through dlsym(RTLD_NEXT, "dlclose")) is not forgotten: loaded
 * again, it is not hooked.
 *
 * Locking: one mutex serialises rs_entry_hook_apply(); it is called with
 * the reentrancy guard set and never calls the program.
 */
#ifndef RS_ENTRY_HOOK_H
#define RS_ENTRY_HOOK_H

#include <stdint.h>

/*
 * Entry-hooks every id < n (names[id], already installed as GOT hooks)
 * whose definition is loaded and that was not tried yet (a NULL
 * names[id] is left to its GOT hook: a profile's `newref`).  verbose: one
 * stderr line per function hooked or refused.  Returns the number newly
 * hooked; 0 on a platform other than x86-64 Linux.
 */
int rs_entry_hook_apply(const char *const *names, uint32_t n, int verbose);

/* After a dlclose: every id whose definition (hooked or refused) is no
 * longer in a loaded module is tried again at the next apply, so that the
 * library loaded again is entry-hooked too.  Its trampoline slot is not
 * reused (a 64-byte leak per unloaded function). */
void rs_entry_hook_forget_unloaded(void);

#endif /* RS_ENTRY_HOOK_H */
