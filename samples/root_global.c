/*
 * root_global - a block held only by an initialised global (.data).
 *
 * held_in_data starts out non-NULL so the variable lives in .data, not
 * .bss; make_global_block() then stores a 4096-byte block in it.  The
 * block is "reachable" (root: the executable's writable segment).  A
 * 100-byte control block from sample_leak_control() is "leaked".
 *
 * LeakSanitizer agrees: 100 bytes direct.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     100/1
 *   @total   reachable  4096/1
 *   @finding leaked     100/1  sample_leak_control
 *   @lsan    direct     100/1
 */
#include "sample_util.h"

#include <stdlib.h>
#include <string.h>

static void *held_in_data = &held_in_data;

SAMPLE_NOINLINE static void make_global_block(void)
{
    char *p = malloc(4096);
    sample_check(p != NULL, "malloc(4096)");
    memset(p, 1, 4096);
    held_in_data = p;
}

int main(void)
{
    make_global_block();
    sample_leak_control(100);
    sample_scrub_stack();
    sample_say("root_global: 4096 bytes held by .data, 100 bytes leaked\n");
    return 0;
}
