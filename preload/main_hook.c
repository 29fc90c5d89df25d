/*
 * main_hook.c - wraps main() and interposes exit() to learn two things the
 * exit analysis needs: the process's exit status, and where the live part
 * of the exiting thread's stack begins.
 *
 * When the analysis runs (a destructor of librefscope.so, inside exit()),
 * the stack below the program's last frame holds exit()'s internals and
 * refscope's own frames, and main()'s frame may be dead but not yet
 * overwritten; scanning those would hide leaks.  So:
 *  - exit() called by the program: its stack pointer at the call (and the
 *    callee-saved registers, which may hold the program's pointers) is
 *    recorded by an assembly entry stub before any C code runs;
 *  - main() returned: the stack pointer at main's entry, recorded by the
 *    wrapper that __libc_start_main calls instead of main;
 *  - otherwise the current stack pointer.
 * glibc's own call of exit() after main returns is internal to libc and
 * does not reach the interposed exit(), so the two cases do not mix.
 * _exit() and _Exit() get the same entry stub (their C half and the
 * analysis they trigger are in exit_hooks.c).  The stub saves into
 * thread-local rs_exit_regs/rs_exit_sp, so a concurrent exit() or _exit()
 * on another thread cannot overwrite what the exiting thread's analysis
 * reads.  A vfork child runs on the thread that called vfork (its TLS is
 * that thread's, perhaps already inside exit(): vfork in an atexit
 * handler), so the analysis reads a copy taken by rs_main_note_exit(),
 * which only the process itself calls, never a vfork child.
 *
 * __libc_start_main is interposed through the executable's PLT; a static
 * executable never loads the preload at all.
 */
#include "preload.h"

#include <dlfcn.h>
#include <string.h>
#include <unistd.h>

typedef int (*main_fn_t)(int, char **, char **);
typedef int (*start_main_fn_t)(main_fn_t, int, char **, void (*)(void),
                               void (*)(void), void (*)(void), void *);

static main_fn_t real_main;
static uint64_t  main_entry_sp;          /* 0 = main not entered           */
static int32_t   main_status;
static int       main_returned;

/* Filled by the exit() entry stub at every entry, also a vfork child's.
 * Per thread (initial-exec: static TLS, reachable from the stub with one
 * GOT load and no call), so that another thread's exit() or _exit()
 * cannot overwrite them.  Not static: the assembly stub names them. */
#define RS_EXIT_REGS 6                   /* rbx rbp r12 r13 r14 r15        */
_Thread_local uint64_t rs_exit_regs[RS_EXIT_REGS]
    __attribute__((used, tls_model("initial-exec")));
_Thread_local uint64_t rs_exit_sp
    __attribute__((used, tls_model("initial-exec")));
/* Their copy for the analysis on the same thread, taken by
 * rs_main_note_exit() (never in a vfork child). */
static _Thread_local uint64_t noted_regs[RS_EXIT_REGS]
    __attribute__((tls_model("initial-exec")));
static _Thread_local uint64_t noted_sp __attribute__((tls_model("initial-exec")));
static int32_t  exit_status;
static uint32_t exit_tid;                /* 0 = the program never called exit */

typedef void (*exit_fn_t)(int) __attribute__((noreturn));
static exit_fn_t real_exit;

static uint64_t current_sp(void)
{
    return (uint64_t)(uintptr_t)__builtin_frame_address(0);
}

static int main_wrapper(int argc, char **argv, char **envp)
{
    main_entry_sp = current_sp();
    int status = real_main(argc, argv, envp);
    main_status = status;
    main_returned = 1;
    return status;
}

RS_EXPORT int __libc_start_main(main_fn_t main_fn, int argc, char **argv,
                                void (*init)(void), void (*fini)(void),
                                void (*rtld_fini)(void), void *stack_end)
{
    start_main_fn_t real = (start_main_fn_t)dlsym(RTLD_NEXT, "__libc_start_main");
    if (!real)
        _exit(127);          /* cannot happen with glibc; nothing to run */
    real_main = main_fn;
    return real(rs_settings.enable ? main_wrapper : main_fn, argc, argv, init,
                fini, rtld_fini, stack_end);
}

void rs_main_note_exit(int status)
{
    memcpy(noted_regs, rs_exit_regs, sizeof noted_regs);
    noted_sp = rs_exit_sp;
    exit_status = status;
    exit_tid = rs_alloc_thread_tid();
}

/* The C half of exit(): the stub has saved the registers. */
__attribute__((noreturn, used)) void rs_exit_hook(int status)
{
    rs_exit_noted(status, "exit", (void **)&real_exit);
}

#if defined(__x86_64__)
/* An entry stub for name: save the caller's stack pointer and callee-saved
 * registers into this thread's rs_exit_regs/rs_exit_sp, then tail-jump to
 * hook with the status still in %edi.  Initial-exec TLS in a shared
 * object: the GOT holds each variable's offset from %fs; %rax and %r11
 * are free at a function's entry (exit() is not variadic).  Used for
 * exit() here and for _exit(), _Exit() and quick_exit() (exit_hooks.c). */
#define RS_EXIT_STUB(name, hook)                                        \
    __asm__(".text\n"                                                  \
            ".globl " #name "\n"                                       \
            ".type " #name ", @function\n"                             \
            #name ":\n"                                                \
            "    movq rs_exit_regs@gottpoff(%rip), %rax\n"             \
            "    movq %rbx, %fs:0(%rax)\n"                             \
            "    movq %rbp, %fs:8(%rax)\n"                             \
            "    movq %r12, %fs:16(%rax)\n"                            \
            "    movq %r13, %fs:24(%rax)\n"                            \
            "    movq %r14, %fs:32(%rax)\n"                            \
            "    movq %r15, %fs:40(%rax)\n"                            \
            "    movq rs_exit_sp@gottpoff(%rip), %r11\n"               \
            "    movq %rsp, %fs:(%r11)\n"                              \
            "    jmp " #hook "\n"                                      \
            ".size " #name ", .-" #name "\n")
RS_EXIT_STUB(exit, rs_exit_hook);
RS_EXIT_STUB(_exit, rs_quick_exit_hook);
RS_EXIT_STUB(_Exit, rs_quick_exit_hook);
RS_EXIT_STUB(quick_exit, rs_quick_exit_entry);
#else
#define RS_EXIT_STUB(name, hook)                                        \
    RS_EXPORT __attribute__((noreturn)) void name(int status)           \
    {                                                                   \
        rs_exit_sp = current_sp();                                      \
        hook(status);                                                   \
    }
RS_EXIT_STUB(exit, rs_exit_hook)
RS_EXIT_STUB(_exit, rs_quick_exit_hook)
RS_EXIT_STUB(_Exit, rs_quick_exit_hook)
RS_EXIT_STUB(quick_exit, rs_quick_exit_entry)
#endif

void rs_main_self_context(rs_self_context_t *ctx)
{
    uint32_t tid = rs_alloc_thread_tid();
    memset(ctx, 0, sizeof *ctx);
    if (exit_tid && exit_tid == tid) {
        ctx->program_sp = noted_sp;
#if defined(__x86_64__)
        for (uint32_t i = 0; i < RS_EXIT_REGS; i++)
            ctx->regs[i] = noted_regs[i];
        ctx->n_regs = RS_EXIT_REGS;
#endif
    } else if (main_returned && tid == (uint32_t)getpid()) {
        ctx->program_sp = main_entry_sp;
    } else {
        ctx->program_sp = current_sp();
    }
}

int rs_main_exit_status(int32_t *status)
{
    if (exit_tid) {
        *status = exit_status;
        return 1;
    }
    if (main_returned) {
        *status = main_status;
        return 1;
    }
    return 0;
}
