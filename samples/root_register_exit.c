/*
 * root_register_exit - a worker thread calls exit() holding the only
 * pointer to a block in a callee-saved register, while a vfork child of
 * another thread calls _exit() before the analysis runs.
 *
 * exit_thread() is written in assembly: it calls make_exit_block() (6000
 * bytes), moves the result into r12, clears rax, scrubs the dead stack
 * below it and calls exit(0).  No copy of the pointer exists in memory;
 * only r12 at the call of exit() holds it, which refscope's exit() entry
 * stub saves for the analysis.  An atexit handler (run on the exiting
 * thread, before refscope's analysis) then makes main vfork a child that
 * calls _exit(0) at once, and waits until main has reaped it: the child's
 * _exit() goes through the same entry stub, on main's thread, with main's
 * registers and stack pointer.  The exiting thread's saved registers must
 * be its own (per thread), so the block is "reachable" (root: registers)
 * and only the 103-byte control block is "leaked".  Before the registers
 * were kept per thread, the child's stub overwrote them and the block was
 * reported as a false leak.  main then blocks until exit() ends the
 * process with status 0.
 *
 * LeakSanitizer checks inside exit() too and reports the same leak.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     103/1
 *   @total   reachable  >=6000/1
 *   @finding leaked     103/1  sample_leak_control
 *   @lsan    direct     103/1
 */
#include "sample_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#if !defined(__x86_64__)
#error "root_register_exit is written for x86-64"
#endif

static volatile int vfork_go, vfork_done;

SAMPLE_NOINLINE void *make_exit_block(void)
{
    char *p = malloc(6000);
    sample_check(p != NULL, "malloc(6000)");
    memset(p, 6, 6000);
    return p;
}

void *exit_thread(void *arg);

/* r12 holds the block from the call's return until exit() is entered. */
__asm__(
    "    .text\n"
    "    .globl exit_thread\n"
    "    .type exit_thread, @function\n"
    "exit_thread:\n"
    "    push %r12\n"                 /* callee-saved; also aligns rsp     */
    "    call make_exit_block\n"
    "    mov %rax, %r12\n"
    "    xor %eax, %eax\n"
    "    call sample_scrub_stack\n"
    "    xor %edi, %edi\n"
    "    call exit@PLT\n"
    "    .size exit_thread, .-exit_thread\n");

/* Runs on the exiting thread, inside exit(), before refscope's analysis. */
static void vfork_on_main(void)
{
    vfork_go = 1;
    sample_wait_flag(&vfork_done);
}

int main(void)
{
    pthread_t t;
    sample_check(atexit(vfork_on_main) == 0, "atexit");
    sample_leak_control(103);
    sample_scrub_stack();
    sample_say("root_register_exit: 6000 bytes held in r12 of a thread "
               "calling exit()\n");
    sample_check(pthread_create(&t, NULL, exit_thread, NULL) == 0,
                 "pthread_create");
    sample_wait_flag(&vfork_go);
    pid_t pid = vfork();
    if (pid == 0)
        _exit(0);
    sample_check(pid > 0, "vfork");
    sample_check(waitpid(pid, NULL, 0) == pid, "waitpid");
    vfork_done = 1;
    sample_block_forever();
}
