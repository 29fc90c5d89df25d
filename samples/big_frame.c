/*
 * big_frame - blocks allocated under a frame with 40 KiB of locals.
 *
 * fill_big_frame() keeps a 40 KiB array on its stack and calls
 * make_under_big_frame() ten times; each leaks a 123-byte block.  The
 * walks from those allocations go through fill_big_frame's frame, whose
 * CFA lies 40 KiB above its stack pointer, farther than refscope's
 * packed unwind rules reach: such offsets are kept in a side table
 * (preload/fastunwind.c), so these stacks are walked like any other
 * instead of by libunwind (integration.fastunwind checks both).
 *
 * LeakSanitizer agrees: 1230 bytes direct.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     1230/10
 *   @finding leaked     1230/10  make_under_big_frame
 *   @lsan    direct     1230/10
 */
#include "sample_util.h"

#include <stdlib.h>
#include <string.h>

SAMPLE_NOINLINE static void make_under_big_frame(int i)
{
    char *p = malloc(123);
    sample_check(p != NULL, "malloc(123)");
    memset(p, i, 123);
    sample_drop(p);
}

/* Without a frame pointer, its CFA is computed from rsp: 40 KiB above it. */
SAMPLE_NOINLINE __attribute__((optimize("omit-frame-pointer"))) static int fill_big_frame(void)
{
    volatile char area[40 * 1024];
    for (size_t i = 0; i < sizeof area; i += 512)
        area[i] = (char)i;
    for (int i = 0; i < 10; i++)
        make_under_big_frame(i);
    return area[512];
}

int main(void)
{
    int v = fill_big_frame();
    sample_scrub_stack();
    sample_say("big_frame: 10 blocks of 123 bytes leaked under a 40 KiB frame (%d)\n", v);
    return 0;
}
