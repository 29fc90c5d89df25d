/*
 * leak_aligned - leaks of aligned blocks, and of a block realloc'ed out of
 * an aligned one.
 *
 * refscope keeps each block's record in front of it; an aligned block
 * starts one alignment unit into its real allocation.  This sample checks
 * that such blocks are reported with their exact sizes and allocation
 * stacks, that a plain block held only by an aligned one is charged to it,
 * that what realloc makes of an aligned block is a plain block with the
 * content kept, and that a freed aligned block is not reported:
 *  - make_cache_line(): posix_memalign 64, 100 bytes, holding the only
 *    pointer to a 24-byte make_label() block; dropped: leaked + indirect;
 *  - make_page(): aligned_alloc 4096, 4096 bytes (C11 asks for a size that
 *    is a multiple of the alignment); dropped: leaked;
 *  - grow_aligned(): memalign 256, 40 bytes, filled, realloc'ed to 500
 *    bytes (content checked); dropped: leaked, with realloc's stack;
 *  - keep_aligned(): aligned_alloc 128, 256 bytes, kept in a global:
 *    reachable;
 *  - valloc(50) and pvalloc(10), freed: nothing.
 *
 * LeakSanitizer agrees: 4696 bytes in 3 blocks direct, 24 indirect.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     4696/3
 *   @total   indirect   24/1
 *   @total   reachable  256/1
 *   @finding leaked     4096/1  make_page
 *   @finding leaked     500/1   grow_aligned
 *   @finding leaked     100/1   make_cache_line
 *   @finding indirect   24/1    make_label
 *   @lsan    direct     4696/3
 *   @lsan    indirect   24/1
 */
#include "sample_util.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *kept;

static int aligned_to(const void *p, size_t a)
{
    return p != NULL && ((uintptr_t)p & (a - 1)) == 0;
}

SAMPLE_NOINLINE static char *make_label(void)
{
    char *label = malloc(24);
    sample_check(label != NULL, "malloc(24)");
    strcpy(label, "sixty-four aligned");
    return label;
}

SAMPLE_NOINLINE static void make_cache_line(void)
{
    void *p = NULL;
    sample_check(posix_memalign(&p, 64, 100) == 0 && aligned_to(p, 64), "posix_memalign(64)");
    memset(p, 0, 100);
    *(char **)p = make_label();
    sample_drop(p);
}

SAMPLE_NOINLINE static void make_page(void)
{
    char *p = aligned_alloc(4096, 4096);
    sample_check(aligned_to(p, 4096), "aligned_alloc(4096)");
    memset(p, 0x11, 4096);
    sample_drop(p);
}

SAMPLE_NOINLINE static void grow_aligned(void)
{
    char *p = memalign(256, 40);
    sample_check(aligned_to(p, 256), "memalign(256)");
    for (int i = 0; i < 40; i++)
        p[i] = (char)i;
    char *q = realloc(p, 500);
    sample_check(q != NULL, "realloc(500)");
    for (int i = 0; i < 40; i++)
        sample_check(q[i] == (char)i, "realloc kept the content");
    sample_check(malloc_usable_size(q) >= 500, "malloc_usable_size after realloc");
    memset(q + 40, 0, 460);
    sample_drop(q);
}

SAMPLE_NOINLINE static void keep_aligned(void)
{
    kept = aligned_alloc(128, 256);
    sample_check(aligned_to(kept, 128), "aligned_alloc(128)");
    memset(kept, 0, 256);
}

SAMPLE_NOINLINE static void free_page_blocks(void)
{
    void *v = valloc(50);
    void *pv = pvalloc(10);
    sample_check(aligned_to(v, 4096) && aligned_to(pv, 4096), "valloc/pvalloc");
    sample_check(malloc_usable_size(v) >= 50, "malloc_usable_size(valloc)");
    free(v);
    free(pv);
}

int main(void)
{
    make_cache_line();
    make_page();
    grow_aligned();
    keep_aligned();
    free_page_blocks();
    sample_scrub_stack();
    sample_say("leak_aligned: leaked 100 (+24), 4096 and 500 bytes; kept 256\n");
    return 0;
}
