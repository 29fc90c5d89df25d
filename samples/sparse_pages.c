/*
 * sparse_pages - blocks held only from far-apart pages of a large .bss
 * array and of a large block, most of whose pages are never touched.
 *
 * held_from_bss is a 16 MiB zero-initialised global; three of its words,
 * megabytes apart, point at blocks of 100, 200 and 300 bytes
 * (make_bss_held).  big_block is a 16 MiB block (make_big_block), held by
 * a global; two of its words, megabytes apart, point at blocks of 400 and
 * 500 bytes (make_block_held).  All six blocks are "reachable": the pages
 * refscope does not read because they were never touched (see
 * preload/scan_holes.c) must not hide the few that were.  A 101-byte
 * control block from sample_leak_control() is "leaked".
 *
 * LeakSanitizer agrees: 101 bytes direct.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     101/1
 *   @total   reachable  16778716/6
 *   @finding leaked     101/1  sample_leak_control
 *   @lsan    direct     101/1
 */
#include "sample_util.h"

#include <stdlib.h>
#include <string.h>

#define AREA_WORDS ((size_t)16 << 20 >> 3)    /* 16 MiB of pointers */

static void *held_from_bss[AREA_WORDS];
static void **big_block;

SAMPLE_NOINLINE static void *make_bss_held(size_t size)
{
    void *p = malloc(size);
    sample_check(p != NULL, "malloc for the .bss");
    memset(p, 1, size);
    return p;
}

SAMPLE_NOINLINE static void make_big_block(void)
{
    big_block = malloc(AREA_WORDS * sizeof *big_block);   /* not touched */
    sample_check(big_block != NULL, "malloc(16 MiB)");
}

SAMPLE_NOINLINE static void *make_block_held(size_t size)
{
    void *p = malloc(size);
    sample_check(p != NULL, "malloc for the big block");
    memset(p, 2, size);
    return p;
}

int main(void)
{
    held_from_bss[AREA_WORDS / 7] = make_bss_held(100);
    held_from_bss[AREA_WORDS / 2 + 3] = make_bss_held(200);
    held_from_bss[AREA_WORDS - 1] = make_bss_held(300);
    make_big_block();
    big_block[AREA_WORDS / 3 + 5] = make_block_held(400);
    big_block[AREA_WORDS - 2] = make_block_held(500);
    sample_leak_control(101);
    sample_scrub_stack();
    sample_say("sparse_pages: 5 blocks held from 3 touched pages of 8192, 101 bytes leaked\n");
    return 0;
}
