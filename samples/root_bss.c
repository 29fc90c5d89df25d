/*
 * root_bss - a block held only by a zero-initialised global (.bss).
 *
 * make_bss_block() stores a 2048-byte block in held_in_bss (a static
 * pointer, so in .bss).  The block is "reachable".  A 101-byte control
 * block from sample_leak_control() is "leaked".
 *
 * LeakSanitizer agrees: 101 bytes direct.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     101/1
 *   @total   reachable  2048/1
 *   @finding leaked     101/1  sample_leak_control
 *   @lsan    direct     101/1
 */
#include "sample_util.h"

#include <stdlib.h>
#include <string.h>

static void *held_in_bss;

SAMPLE_NOINLINE static void make_bss_block(void)
{
    char *p = malloc(2048);
    sample_check(p != NULL, "malloc(2048)");
    memset(p, 2, 2048);
    held_in_bss = p;
}

int main(void)
{
    make_bss_block();
    sample_leak_control(101);
    sample_scrub_stack();
    sample_say("root_bss: 2048 bytes held by .bss, 101 bytes leaked\n");
    return 0;
}
