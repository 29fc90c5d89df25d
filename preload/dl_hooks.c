/*
 * dl_hooks.c - dlclose, interposed so that the module table records a
 * library's unloading (and the epoch advances) before its address range
 * can be reused by another library.
 *
 * dlopen and dlmopen are deliberately NOT wrapped by C functions: glibc
 * resolves a relative name against the DT_RUNPATH (and $ORIGIN) of the
 * *calling* object, found from the return address, so a wrapper in
 * librefscope.so would make the program's own dlopen("libplugin.so")
 * search refscope's paths instead and fail where it works natively.  The
 * module table needs no hook: the epoch rules in modules.c let a module
 * noticed late (at the next refresh: before and after every dlclose, and
 * at analysis) still cover the stacks captured since it was loaded.
 *
 * The profile hooks (refhooks.c) must patch a new library's GOT, though.
 * dlopen is therefore exported as six instructions of assembly that
 * increment rs_dl_open_count and jump (not call) to the real dlopen: the
 * caller's return address stays where glibc looks for it, and nothing runs
 * after the real dlopen; refhooks.c polls the count.  Before start-up the
 * real dlopen is looked up by a slow path that saves the argument
 * registers around the lookup.  dlmopen is not covered (a library loaded
 * into another namespace is not hooked).
 *
 * After the real dlclose, the profile hooks of functions no longer loaded
 * are forgotten (refhooks.c), so that loading the library again, at the
 * same or another address, hooks it afresh.
 *
 * The real dlclose runs unguarded (library destructors are program code);
 * the refreshes run only once refscope is initialised and never change
 * the result, errno or the dlerror() state.
 */
#include "preload.h"
#include "refcount.h"

#include <dlfcn.h>
#include <errno.h>

static int (*real_dlclose)(void *);

unsigned long rs_dl_open_count;
/* Read by the assembly below, hence not static (hidden by the preset). */
void *rs_dl_real_dlopen;

/* Slow path of the assembly dlopen: the real dlopen, or NULL. */
__attribute__((used)) void *rs_dl_resolve_dlopen(void)
{
    if (!rs_dl_real_dlopen)
        rs_dl_real_dlopen = dlsym(RTLD_NEXT, "dlopen");
    return rs_dl_real_dlopen;
}

__asm__(
    ".text\n"
    ".globl dlopen\n"
    ".type dlopen, @function\n"
    "dlopen:\n"
    ".cfi_startproc\n"
    "    lock incq rs_dl_open_count(%rip)\n"
    "    movq rs_dl_real_dlopen(%rip), %rax\n"
    "    testq %rax, %rax\n"
    "    jz 1f\n"
    "    jmp *%rax\n"
    "1:  pushq %rdi\n"
    ".cfi_adjust_cfa_offset 8\n"
    "    pushq %rsi\n"
    ".cfi_adjust_cfa_offset 8\n"
    "    subq $8, %rsp\n"
    ".cfi_adjust_cfa_offset 8\n"
    "    call rs_dl_resolve_dlopen\n"
    "    addq $8, %rsp\n"
    ".cfi_adjust_cfa_offset -8\n"
    "    popq %rsi\n"
    ".cfi_adjust_cfa_offset -8\n"
    "    popq %rdi\n"
    ".cfi_adjust_cfa_offset -8\n"
    "    testq %rax, %rax\n"
    "    jz 2f\n"
    "    jmp *%rax\n"
    "2:  ret\n"                      /* no dlopen at all: NULL */
    ".cfi_endproc\n"
    ".size dlopen, .-dlopen\n");

void rs_dl_hooks_init(void)
{
    if (!real_dlclose)
        real_dlclose = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
    rs_dl_resolve_dlopen();
}

static void refresh(void)
{
    if (!rs_active)
        return;
    int saved_errno = errno;
    rs_modules_refresh();
    errno = saved_errno;
}

RS_EXPORT int dlclose(void *handle)
{
    rs_dl_hooks_init();
    if (!real_dlclose)
        return -1;
    refresh();          /* modules loaded since the last refresh: epoch now */
    int rc = real_dlclose(handle);
    refresh();          /* modules gone: epoch advances                     */
    if (rs_active) {    /* and their hooks: a reload is hooked afresh       */
        int saved_errno = errno;
        rs_refhooks_forget_unloaded();
        errno = saved_errno;
    }
    return rc;
}
