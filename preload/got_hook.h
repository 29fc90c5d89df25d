/*
 * got_hook.h - run-time interception of exported functions by name, by
 * rewriting the GOT entries that reach them in every loaded module.
 *
 * rs_got_hook_install() gives each named function a trampoline (ids 0..n-1)
 * and points every JUMP_SLOT, GLOB_DAT and plain 64-bit relocation for that
 * symbol, in every module but the one holding this code, at it; RELRO pages
 * (full RELRO / BIND_NOW included) are made writable for the write and
 * read-only again.  dlsym/dlvsym calls are hooked the same way so that a
 * function pointer obtained by name is the trampoline too.  Modules loaded
 * later are covered by calling rs_got_hook_refresh() after each dlopen.
 *
 * A call through a trampoline runs pre(id, args, cookie) with the six
 * integer argument registers (rdi, rsi, rdx, rcx, r8, r9), then jumps to
 * the real function with every argument register (rax, the vector count of
 * variadic calls, r10, xmm0-7) and the stack exactly as the caller left
 * them.  If pre returns non-zero, the return address is swapped for a
 * return stub (a per-thread shadow stack keeps the original, its stack
 * slot and the 16-byte cookie) and post(id, rax, cookie) runs when the
 * function returns, before the registers that may hold its return value
 * (rax, rdx, xmm0, xmm1, and the x87 stack when it is not empty) are
 * handed back to the caller unchanged (the other vector registers are
 * the caller's to save under the SysV ABI).
 *
 * Rules for pre and post: they run with a thread-local guard set (hooked
 * functions they call run unhooked), must not unwind (longjmp, exceptions)
 * and must not rely on the upper halves of ymm/zmm registers surviving
 * (only xmm0-7 are saved on entry; no common ref/unref takes __m256).
 * Unwinding from pre works (the trampolines carry CFI).  In post, and in
 * anything the real function calls (e.g. its malloc), the caller's frame is
 * reached through the return stub: a stack walker that meets a pc for which
 * rs_got_hook_is_return_stub() is true must replace it with
 * rs_got_hook_pending_return(k) (k = how many stubs it met before, from
 * the innermost) and continue from there.  Capture stacks in pre when you
 * can, and carry them to post in the cookie.  The stub's unwind info ends
 * a DWARF walk from inside the hooked function at the stub (a return
 * address of the stub reads as "rip undefined": the real caller is only on
 * the shadow stack), so a walker cannot continue by itself; when pre gave
 * the call its caller's stack (rs_got_hook_set_caller_stack(), a stack id
 * whose first frame is the hooked call's return address), the walker
 * appends rs_got_hook_pending_stack(k) in place of the stub instead.
 *
 * Limits: x86-64 Linux/glibc only (elsewhere install returns -1).  A slot
 * bound to a different definition than the one dlsym(RTLD_DEFAULT) finds
 * is left alone.  Hooked functions that a C++ exception unwinds through
 * while a post hook is pending terminate the program (the unwinder meets
 * the stub); longjmp out of them is handled (stale shadow entries are
 * dropped).  Nesting deeper than RS_GOT_HOOK_SHADOW pending posts on one
 * thread skips the post hooks of the deeper calls.  A non-PIE executable
 * taking a hooked function's address is handled (see resolve() in the .c).
 *
 * Locking: install and refresh serialise on one mutex and never call the
 * program; the hot path (a hooked call) takes no lock.
 */
#ifndef RS_GOT_HOOK_H
#define RS_GOT_HOOK_H

#include "call_site.h"

#include <stdint.h>

#define RS_GOT_HOOK_MAX    256  /* hooked functions                        */
#define RS_GOT_HOOK_SHADOW 64   /* pending post hooks per thread           */

/* Returns non-zero to have post called when this call returns.  site:
 * the caller's registers at the call (call_site.h).  cookie (zeroed) is
 * passed on to post. */
typedef int (*rs_got_pre_fn)(uint32_t id, const uint64_t args[6],
                             const rs_call_site_t *site, uint64_t cookie[2]);
typedef void (*rs_got_post_fn)(uint32_t id, uint64_t ret, const uint64_t cookie[2]);

/*
 * Hooks names[0..n) (id = index; the strings must stay valid), patches
 * every loaded module and hooks dlsym/dlvsym.  Call once.  Returns the
 * number of GOT slots patched (0 is fine: the functions may come with a
 * later dlopen), or -1 if n > RS_GOT_HOOK_MAX, pre is NULL, hooks are
 * already installed or the platform is not supported.
 */
int rs_got_hook_install(const char *const *names, uint32_t n,
                        rs_got_pre_fn pre, rs_got_post_fn post);

/* Before install: the GOT slots of hook id in the module that defines the
 * function (a shared library calling its own exported function through
 * its PLT, as libpython built without -fno-semantic-interposition does)
 * are left alone: only other modules' calls are hooked. */
void rs_got_hook_foreign_only(uint32_t id);

/* Patches modules loaded since the last call (call after dlopen).  Returns
 * the number of slots newly patched, -1 if nothing is installed. */
int rs_got_hook_refresh(void);

/* After a dlclose: forgets the original (and resume target) of every id
 * whose function is no longer in a loaded module, so that the library
 * loaded again, at any address, is learnt and hooked afresh; never resumes
 * into an unloaded copy's relocated entry.  Returns how many were
 * forgotten. */
int rs_got_hook_forget_unloaded(void);

/* 1 when the last install or refresh left a module alone because ld.so
 * was still relocating it (a dlopen in progress): refresh again later. */
int rs_got_hook_relocating(void);

/* 1 if addr lies in a completely loaded module (mapped, relocated, not
 * being unloaded).  Lock-free: safe inside dl_iterate_phdr and under
 * locks that a thread inside dlopen may want. */
int rs_got_hook_loaded(uint64_t addr);

/* The real function of hook id (NULL while unknown), its trampoline. */
void *rs_got_hook_original(uint32_t id);
void *rs_got_hook_trampoline(uint32_t id);

/* Entry hooks (entry_hook.h): from now on a call through id's trampoline
 * continues at resume_at (the function's relocated entry) instead of at
 * original, whose entry now jumps to the trampoline itself; each call then
 * passes the trampoline exactly once, whichever way it came.  original
 * becomes id's original if none was known.  Returns 0, or -1 when id is
 * not hooked or another original is known (nothing changed). */
int rs_got_hook_set_resume(uint32_t id, void *original, void *resume_at);

/* Maps a dlsym result for name to the trampoline when it is a hooked
 * function's real address (for a dlsym interposer); else returns result. */
void *rs_got_hook_filter_dlsym(const char *name, void *result);

/* Stack walkers: see the file comment. */
int rs_got_hook_is_return_stub(uint64_t pc);
/* Original return address of the calling thread's k-th pending post hook
 * counted from the innermost, or 0 when there are not that many. */
uint64_t rs_got_hook_pending_return(uint32_t k);
/* Called from pre: tags the call being entered with stack_id (opaque to
 * this module; 0 = none), kept with its shadow entry when a post hook is
 * asked for.  Never fails; without a pending post the tag is dropped. */
void rs_got_hook_set_caller_stack(uint32_t stack_id);
/* The tag of the calling thread's k-th pending post hook (counted as for
 * rs_got_hook_pending_return), or 0 when untagged or not that many; for
 * a call whose pre deferred its stack, the stack maker's answer, made at
 * the first such question and kept. */
uint32_t rs_got_hook_pending_stack(uint32_t k);

/* Makes the stack of a hooked call's caller from its registers at the
 * call (site); outer: how many pending hooked calls lie above that frame
 * (a walk from site meets their stubs first, counted from there).  0 =
 * no stack. */
typedef uint32_t (*rs_got_stack_fn)(const rs_call_site_t *site, uint32_t outer);
void rs_got_hook_set_stack_maker(rs_got_stack_fn fn);

/* Called from pre instead of rs_got_hook_set_caller_stack: the caller's
 * stack is made by the stack maker only when it is asked for (a stack
 * walked by libunwind inside the call meets the stub, or post asks), from
 * the caller's registers kept with the shadow entry.  A call that never
 * needs it costs no walk.  The call's cookie is then got_hook's (it keeps
 * the caller's rbp there): pre must leave it alone. */
void rs_got_hook_defer_caller_stack(void);

/* Inside post: the original return address of the call returning, and
 * its caller's stack (the tag, or made now if it was deferred). */
uint64_t rs_got_hook_returning_address(void);
uint32_t rs_got_hook_returning_stack(void);

/* Slots patched and slots left alone (bound elsewhere, mprotect failed)
 * since install. */
void rs_got_hook_stats(uint64_t *patched, uint64_t *skipped);

#endif /* RS_GOT_HOOK_H */
