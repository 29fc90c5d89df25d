/*
 * root_mmap - blocks held only from memory the program mapped itself with
 * mmap (how CPython keeps a running function's locals, how arena and
 * pool allocators and coroutine stacks keep pointers).
 *
 * Each block is allocated by its own function and its one pointer stored
 * in a mapping:
 *   110 bytes  a 64 KiB private anonymous mapping, at 40 KiB   (hold_in_small)
 *   120 bytes  a 64 MiB anonymous mapping of which only the page at
 *              48 MiB is ever touched                          (hold_in_sparse)
 *   130 bytes  a mapping that mremap then moved to a new address
 *                                                              (hold_in_moved)
 *   140 bytes  the second half of a mapping whose first half was
 *              unmapped                                        (hold_in_trimmed)
 *   150 bytes  a mapping made unreadable with mprotect(PROT_NONE)
 *                                                              (hold_unreadable)
 *   160 bytes  a private writable mapping of a file            (hold_in_file)
 * The first four are "reachable": anonymous mappings are roots, followed
 * through munmap and mremap.  The last two are "leaked": refscope reads no
 * memory that is not readable when it analyses, and file mappings are not
 * roots.  A 101-byte control block is "leaked".
 *
 * LeakSanitizer scans no mapping the program made: all six are direct
 * leaks to it, with the control block.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     411/3
 *   @total   reachable  500/4
 *   @finding leaked     150/1  hold_unreadable
 *   @finding leaked     160/1  hold_in_file
 *   @finding leaked     101/1  sample_leak_control
 *   @lsan    direct     911/7
 */
#include "sample_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)

static void *map_anon(size_t len)
{
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    sample_check(m != MAP_FAILED, "mmap");
    return m;
}

/* A macro: the allocating frame is the hold_* function. */
#define block(size) filled(malloc(size), size)

static void *filled(void *p, size_t size)
{
    sample_check(p != NULL, "malloc");
    return memset(p, 3, size);
}

SAMPLE_NOINLINE static void hold_in_small(void)
{
    char *m = map_anon(64 * KIB);
    *(void **)(m + 40 * KIB) = block(110);
}

SAMPLE_NOINLINE static void hold_in_sparse(void)
{
    char *m = map_anon(64 * MIB);
    *(void **)(m + 48 * MIB + 8) = block(120);
}

SAMPLE_NOINLINE static void hold_in_moved(void)
{
    char *m = map_anon(16 * KIB);
    *(void **)(m + 8 * KIB) = block(130);
    /* A free place for it to move to: reserved, then given up. */
    char *to = map_anon(64 * KIB);
    sample_check(munmap(to, 64 * KIB) == 0, "munmap");
    char *moved = mremap(m, 16 * KIB, 32 * KIB, MREMAP_MAYMOVE | MREMAP_FIXED, to);
    sample_check(moved == to, "mremap");
}

SAMPLE_NOINLINE static void hold_in_trimmed(void)
{
    char *m = map_anon(32 * KIB);
    *(void **)(m + 24 * KIB) = block(140);
    sample_check(munmap(m, 16 * KIB) == 0, "munmap");
}

SAMPLE_NOINLINE static void hold_unreadable(void)
{
    char *m = map_anon(16 * KIB);
    *(void **)m = block(150);
    sample_check(mprotect(m, 16 * KIB, PROT_NONE) == 0, "mprotect");
}

SAMPLE_NOINLINE static void hold_in_file(void)
{
    char path[] = "/tmp/root_mmap.XXXXXX";
    int fd = mkstemp(path);
    sample_check(fd >= 0 && unlink(path) == 0 && ftruncate(fd, 16 * KIB) == 0, "temp file");
    char *m = mmap(NULL, 16 * KIB, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    sample_check(m != MAP_FAILED, "mmap of a file");
    close(fd);
    *(void **)(m + 4 * KIB) = block(160);
}

int main(void)
{
    hold_in_small();
    hold_in_sparse();
    hold_in_moved();
    hold_in_trimmed();
    hold_unreadable();
    hold_in_file();
    sample_leak_control(101);
    sample_scrub_stack();
    sample_say("root_mmap: 4 blocks held from mappings, 3 leaked\n");
    return 0;
}
