/*
 * root_stack - blocks held only by live stack frames.
 *
 * Two blocks are held by a local variable of a frame that is still live
 * when the analysis runs:
 *  - 3000 bytes (make_thread_stack_block) in the frame of a thread that is
 *    blocked in pause() for ever;
 *  - 5000 bytes (make_main_stack_block) in the frame of exit_from_nested(),
 *    which calls exit() itself, so its frame is live during exit.
 * Both are "reachable".  A 102-byte control block is "leaked".  Reachable
 * is at least 8000 bytes in 2 blocks (glibc adds the thread's DTV).
 *
 * LeakSanitizer agrees: 102 bytes direct.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     102/1
 *   @total   reachable  >=8000/2
 *   @finding leaked     102/1  sample_leak_control
 *   @lsan    direct     102/1
 */
#include "sample_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static volatile int thread_ready;

SAMPLE_NOINLINE static void *make_thread_stack_block(void)
{
    char *p = malloc(3000);
    sample_check(p != NULL, "malloc(3000)");
    memset(p, 3, 3000);
    return p;
}

SAMPLE_NOINLINE static void *make_main_stack_block(void)
{
    char *p = malloc(5000);
    sample_check(p != NULL, "malloc(5000)");
    memset(p, 5, 5000);
    return p;
}

static void *blocked_thread(void *arg)
{
    void *volatile held = make_thread_stack_block();
    sample_scrub_stack();
    thread_ready = 1;
    sample_block_forever();
    return (void *)held;
}

SAMPLE_NOINLINE static void exit_from_nested(void)
{
    void *volatile held = make_main_stack_block();
    sample_scrub_stack();
    sample_say("root_stack: 3000 + 5000 bytes held by live frames, 102 leaked\n");
    exit(held != NULL ? 0 : 1);
}

int main(void)
{
    pthread_t t;
    sample_check(pthread_create(&t, NULL, blocked_thread, NULL) == 0,
                 "pthread_create");
    sample_wait_flag(&thread_ready);
    sample_leak_control(102);
    sample_scrub_stack();
    exit_from_nested();
}
