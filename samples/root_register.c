/*
 * root_register - a block whose only pointer is in a register of a
 * sleeping thread.
 *
 * register_thread() is written in assembly: it calls
 * make_register_block() (6000 bytes), moves the result into r12 (a
 * callee-saved register), clears rax, scrubs the dead stack below it,
 * raises a flag and then loops on the raw pause() syscall for ever.  No
 * copy of the pointer exists in memory; only the thread's saved registers
 * hold it.  main then returns while the thread sleeps.  The block is
 * "reachable" (root: registers).  A 103-byte control block is "leaked".
 *
 * LeakSanitizer agrees (it reads other threads' registers with ptrace,
 * use_registers=1): 103 bytes direct.
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
#include <sys/syscall.h>

#if !defined(__x86_64__)
#error "root_register is written for x86-64"
#endif

volatile int register_ready;

SAMPLE_NOINLINE void *make_register_block(void)
{
    char *p = malloc(6000);
    sample_check(p != NULL, "malloc(6000)");
    memset(p, 6, 6000);
    return p;
}

void *register_thread(void *arg);

/* r12 holds the block from the call's return until the process ends. */
__asm__(
    "    .text\n"
    "    .globl register_thread\n"
    "    .type register_thread, @function\n"
    "register_thread:\n"
    "    push %r12\n"                 /* callee-saved; also aligns rsp     */
    "    call make_register_block\n"
    "    mov %rax, %r12\n"
    "    xor %eax, %eax\n"
    "    call sample_scrub_stack\n"
    "    movl $1, register_ready(%rip)\n"
    "1:  mov $" "34" ", %eax\n"       /* SYS_pause                         */
    "    syscall\n"
    "    jmp 1b\n"
    "    .size register_thread, .-register_thread\n");

_Static_assert(SYS_pause == 34, "the assembly above hard-codes SYS_pause");

int main(void)
{
    pthread_t t;
    sample_check(pthread_create(&t, NULL, register_thread, NULL) == 0,
                 "pthread_create");
    sample_wait_flag(&register_ready);
    sample_leak_control(103);
    sample_scrub_stack();
    sample_say("root_register: 6000 bytes held in r12 of a sleeping thread\n");
    return 0;
}
