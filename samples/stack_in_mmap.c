/*
 * stack_in_mmap - a thread whose stack is memory the program mapped
 * itself (pthread_attr_setstack), with a stale pointer below its stack
 * pointer.
 *
 * main maps 1 MiB; the upper 512 KiB become the thread's stack, and the
 * lower half's first word holds a 190-byte block (hold_below_stack).  The
 * thread calls leave_stale_word, whose large frame keeps the address of a
 * 170-byte block it then drops: the word stays in the dead part of the
 * stack, below where the thread's stack pointer is afterwards.  It then
 * keeps a 180-byte block in a live local (keep_live_local), raises a flag
 * and sleeps while main returns.
 *
 * Memory the program maps is a root, but a thread's stack in it is
 * scanned from the stack pointer up, as every stack: the 170-byte block
 * is "leaked"; the 180-byte block (live stack) and the 190-byte block
 * (the mapping outside the stack) are "reachable", as are glibc's blocks
 * for the live thread (its DTV), hence ">=".  A 101-byte control block is
 * "leaked".
 *
 * LeakSanitizer scans the live thread's stack from its stack pointer but
 * no mapping: the 190-byte block is a direct leak to it too.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     271/2
 *   @total   reachable  >=370/2
 *   @finding leaked     170/1  leave_stale_word
 *   @finding leaked     101/1  sample_leak_control
 *   @lsan    direct     461/3
 */
#include "sample_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MAPPED     ((size_t)1 << 20)
#define STACK_SIZE (MAPPED / 2)

static volatile int sleeping;

SAMPLE_NOINLINE static void leave_stale_word(void)
{
    /* 64 KiB of frame: the word ends far below the later stack pointer. */
    void *volatile frame[8192];
    frame[0] = malloc(170);
    sample_check(frame[0] != NULL, "malloc(170)");
    memset(frame[0], 4, 170);
    frame[8191] = NULL;
}

SAMPLE_NOINLINE static void keep_live_local(void)
{
    void *volatile live = malloc(180);
    sample_check(live != NULL, "malloc(180)");
    memset(live, 5, 180);
    sleeping = 1;
    sample_block_forever();
}

static void *thread_main(void *arg)
{
    (void)arg;
    leave_stale_word();
    keep_live_local();
    return NULL;
}

SAMPLE_NOINLINE static void hold_below_stack(char *mapped)
{
    void *p = malloc(190);
    sample_check(p != NULL, "malloc(190)");
    memset(p, 6, 190);
    *(void **)mapped = p;
}

int main(void)
{
    char *mapped = mmap(NULL, MAPPED, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    sample_check(mapped != MAP_FAILED, "mmap");
    hold_below_stack(mapped);
    pthread_attr_t attr;
    pthread_t t;
    sample_check(pthread_attr_init(&attr) == 0 &&
                 pthread_attr_setstack(&attr, mapped + MAPPED - STACK_SIZE, STACK_SIZE) == 0 &&
                 pthread_create(&t, &attr, thread_main, NULL) == 0, "pthread_create");
    sample_wait_flag(&sleeping);
    sample_leak_control(101);
    sample_scrub_stack();
    sample_say("stack_in_mmap: a thread on a mapped stack sleeps\n");
    return 0;
}
