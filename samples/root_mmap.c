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
 *   170 bytes  a shared writable mapping of a file      (hold_in_shared_file)
 *   180 bytes  a read-only mapping of a file the pointer was written to
 *                                                     (hold_in_readonly_file)
 *   190 bytes  a shared writable mapping of /dev/zero     (hold_in_dev_zero)
 *   200 bytes  a 32 KiB shared writable mapping of a 16 KiB file, at
 *              8 KiB; only the half within the file is kept (reading
 *              past a file's end faults)                 (hold_past_file_end)
 * Anonymous mappings are roots, followed through munmap and mremap, and
 * so are writable file mappings (the program's pointers may be written
 * there: the JVM keeps pointers to malloc'ed blocks in its private
 * writable mapping of classes.jsa) and /dev/zero: those seven are
 * "reachable".  The mappings kept add up to 64 MiB + 192 KiB
 * (tests/integration/test_preload.py checks REFSCOPE_STATS's
 * mmap_root_bytes).  Two are "leaked": refscope reads no memory that is not
 * readable when it analyses, and a read-only file's bytes are the file's,
 * not pointers the program keeps.  A 101-byte control block is "leaked".
 * Memcheck scans the same mappings (readable and writable when it
 * checks, devices but /dev/zero left out).
 *
 * LeakSanitizer scans no mapping the program made: all ten are direct
 * leaks to it, with the control block.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     431/3
 *   @total   reachable  1220/8
 *   @finding leaked     150/1  hold_unreadable
 *   @finding leaked     180/1  hold_in_readonly_file
 *   @finding leaked     101/1  sample_leak_control
 *   @lsan    direct     1651/11
 */
#include "sample_util.h"

#include <fcntl.h>
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

/* A deleted temporary file of 16 KiB, open. */
static int temp_file(void)
{
    char path[] = "/tmp/root_mmap.XXXXXX";
    int fd = mkstemp(path);
    sample_check(fd >= 0 && unlink(path) == 0 && ftruncate(fd, 16 * KIB) == 0, "temp file");
    return fd;
}

/* len bytes of fd mapped with prot and flags, then fd closed (the
 * mapping stays). */
static char *map_file_len(int fd, size_t len, int prot, int flags)
{
    char *m = mmap(NULL, len, prot, flags, fd, 0);
    sample_check(m != MAP_FAILED, "mmap of a file");
    close(fd);
    return m;
}

static char *map_file(int fd, int prot, int flags)
{
    return map_file_len(fd, 16 * KIB, prot, flags);
}

SAMPLE_NOINLINE static void hold_in_file(void)
{
    char *m = map_file(temp_file(), PROT_READ | PROT_WRITE, MAP_PRIVATE);
    *(void **)(m + 4 * KIB) = block(160);
}

SAMPLE_NOINLINE static void hold_in_shared_file(void)
{
    char *m = map_file(temp_file(), PROT_READ | PROT_WRITE, MAP_SHARED);
    *(void **)(m + 8 * KIB) = block(170);
}

SAMPLE_NOINLINE static void hold_in_readonly_file(void)
{
    int fd = temp_file();
    void *p = block(180);
    sample_check(pwrite(fd, &p, sizeof p, 4 * KIB) == (ssize_t)sizeof p, "pwrite");
    const char *m = map_file(fd, PROT_READ, MAP_PRIVATE);
    sample_check(*(void *const *)(m + 4 * KIB) == p, "the pointer in the file");
}

SAMPLE_NOINLINE static void hold_in_dev_zero(void)
{
    int fd = open("/dev/zero", O_RDWR);
    sample_check(fd >= 0, "open /dev/zero");
    char *m = map_file(fd, PROT_READ | PROT_WRITE, MAP_SHARED);
    *(void **)(m + 12 * KIB) = block(190);
}

SAMPLE_NOINLINE static void hold_past_file_end(void)
{
    char *m = map_file_len(temp_file(), 32 * KIB, PROT_READ | PROT_WRITE, MAP_SHARED);
    *(void **)(m + 8 * KIB) = block(200);
}

int main(void)
{
    hold_in_small();
    hold_in_sparse();
    hold_in_moved();
    hold_in_trimmed();
    hold_unreadable();
    hold_in_file();
    hold_in_shared_file();
    hold_in_readonly_file();
    hold_in_dev_zero();
    hold_past_file_end();
    sample_leak_control(101);
    sample_scrub_stack();
    sample_say("root_mmap: 8 blocks held from mappings, 3 leaked\n");
    return 0;
}
