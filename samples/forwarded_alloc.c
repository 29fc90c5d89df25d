/*
 * forwarded_alloc - a program linked with an allocator library
 * (allocators/bump_alloc.c, libbump_alloc.so, as a program links
 * libjemalloc.so): librefscope.so comes first in symbol lookup and
 * forwards every allocation to it.  The library maps its 64 KiB arenas
 * with mmap from its own code, holding its lock.
 *
 * make_leak() allocates a 100-byte block and a 64-byte holder, stores the
 * block's address in the holder, frees the holder and forgets the block.
 * The allocator keeps a freed block's bytes, so the only pointer to the
 * 100 bytes is a stale one in freed memory inside the allocator's arena.
 * The arena is the allocator's, not the program's: refscope must not scan
 * it as memory the program mapped (preload/mappings.c), and reports the
 * block leaked.  keep_block() keeps a 32-byte block in a global.  First,
 * fill_arena() allocates and frees 80 KiB, so that the blocks that follow
 * lie in an arena mapped after refscope started (the allocator's first
 * arena is mapped by the loader's first malloc, before refscope could).
 *
 * Before the fix the arenas mapped after start-up were roots: the stale
 * pointer kept the block "reachable" and no leak was reported.
 *
 * LeakSanitizer (preloaded ahead of the library) agrees.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     100/1
 *   @total   reachable  32/1
 *   @finding leaked     100/1  make_leak
 *   @lsan    direct     100/1
 */
#include "sample_util.h"

#include <stdlib.h>
#include <string.h>

static char *kept;

SAMPLE_NOINLINE static void fill_arena(void)
{
    for (int i = 0; i < 4; i++)
        free(malloc(20 << 10));
}

SAMPLE_NOINLINE static void make_leak(void)
{
    char *block = malloc(100);
    char **holder = malloc(64);
    sample_check(block && holder, "malloc");
    memset(block, 0x5a, 100);
    holder[0] = block;
    free(holder);
    sample_drop(block);
}

SAMPLE_NOINLINE static void keep_block(void)
{
    kept = malloc(32);
    sample_check(kept != NULL, "malloc(32)");
    memset(kept, 1, 32);
}

int main(void)
{
    fill_arena();
    keep_block();
    make_leak();
    sample_scrub_stack();
    sample_say("forwarded_alloc: kept 32 bytes, leaked 100\n");
    return 0;
}
