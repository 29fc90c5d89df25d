/*
 * one_past_end - a block held only by a pointer just past its last byte.
 *
 * make_end_block() allocates 100 bytes and keeps only p + 100 in a global
 * (an "end" pointer of a [begin, end) range whose begin was dropped).
 * refscope counts one-past-the-end pointers as references: the block is
 * "reachable".  A 108-byte control block is "leaked".
 *
 * LeakSanitizer differs: it only accepts addresses inside
 * [chunk, chunk + requested size), so it reports the 100-byte block as a
 * direct leak too: 208 bytes in 2 objects.  (100 is not one of LSan's size
 * classes, so p + 100 does not land on a neighbouring chunk.)
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     108/1
 *   @total   reachable  100/1
 *   @finding leaked     108/1  sample_leak_control
 *   @lsan    direct     208/2
 */
#include "sample_util.h"

#include <stdlib.h>
#include <string.h>

static char *range_end;

SAMPLE_NOINLINE static void make_end_block(void)
{
    char *p = malloc(100);
    sample_check(p != NULL, "malloc(100)");
    memset(p, 'e', 100);
    range_end = p + 100;
}

int main(void)
{
    make_end_block();
    sample_leak_control(108);
    sample_scrub_stack();
    sample_say("one_past_end: 100 bytes held by a one-past-the-end pointer\n");
    return 0;
}
