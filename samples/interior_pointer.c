/*
 * interior_pointer - a block held only by a pointer into its middle.
 *
 * make_interior_block() allocates 1000 bytes and keeps only p + 333 in a
 * global (think of a struct embedded in a larger allocation, or a cursor
 * into a buffer).  Interior pointers count as references: the block is
 * "reachable".  A 107-byte control block is "leaked".
 *
 * LeakSanitizer agrees (it also honours interior pointers): 107 bytes
 * direct.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     107/1
 *   @total   reachable  1000/1
 *   @finding leaked     107/1  sample_leak_control
 *   @lsan    direct     107/1
 */
#include "sample_util.h"

#include <stdlib.h>
#include <string.h>

static char *cursor;

SAMPLE_NOINLINE static void make_interior_block(void)
{
    char *p = malloc(1000);
    sample_check(p != NULL, "malloc(1000)");
    memset(p, 'i', 1000);
    cursor = p + 333;
}

int main(void)
{
    make_interior_block();
    sample_leak_control(107);
    sample_scrub_stack();
    sample_say("interior_pointer: 1000 bytes held by an interior pointer\n");
    return 0;
}
