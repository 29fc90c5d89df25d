/*
 * scratch.c - the rs_mem backend of librefscope.so.
 *
 * Normally lib/ allocates with glibc's __libc_malloc family: un-interposed
 * entry points, so refscope's own memory never re-enters the hooks and is
 * never recorded.  During an analysis the world is stopped, and a stopped
 * thread may be parked inside malloc holding its arena's lock; the
 * analysing thread must then not touch malloc at all.  Between
 * rs_scratch_begin() and rs_scratch_end() the analysing thread therefore
 * allocates from private anonymous mappings: bump-allocated chunks for
 * small requests, one mapping each (grown with mremap) for large ones.
 * rs_scratch_end() unmaps everything; nothing allocated in between may be
 * used afterwards.  An analysis after which the process ends
 * (exit_analysis.c's final mode) starts scratch mode earlier and never
 * leaves it (no rs_scratch_end()): the module table may grow into scratch
 * memory then, and other threads run until the process is gone.
 *
 * Invariants: scratch mode is per thread (a thread-local flag) and only
 * one thread is in it at a time (the analysis is serialised by its
 * caller); only that thread reads or writes the region list.  Every
 * scratch block is preceded by a 16-byte header holding its size.  While
 * in scratch mode, a pointer that is not scratch memory is never handed to
 * glibc (free is skipped - a small leak - and realloc copies it).
 */
#include "preload.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void  __libc_free(void *);
extern size_t malloc_usable_size(void *);

#define HDR          16u
#define CHUNK_MIN    (1u << 20)
#define CHUNK_MAX    (64u << 20)
#define MAX_REGIONS  4096u

typedef struct region {
    char  *base;
    size_t len;
    int    large;          /* one block; else a bump chunk                 */
} region_t;

static _Thread_local int scratch_on __attribute__((tls_model("initial-exec")));
static region_t regions[MAX_REGIONS];
static uint32_t n_regions;
static char    *bump_cur;
static size_t   bump_left;
static size_t   next_chunk = CHUNK_MIN;

static size_t round_page(size_t n) { return (n + 4095) & ~(size_t)4095; }

static region_t *find_region(const void *p)
{
    for (uint32_t i = 0; i < n_regions; i++)
        if ((const char *)p >= regions[i].base &&
            (const char *)p < regions[i].base + regions[i].len)
            return &regions[i];
    return NULL;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23          /* Linux 5.14 */
#endif
#define HUGE_PAGE (2u << 20)
/* Regions of this size or more get huge pages where the kernel gives
 * them (see map_pages). */
#define HUGE_MIN  (256u << 10)

/* 1 when transparent huge pages can back a region that asks for them
 * (/sys/kernel/mm/transparent_hugepage/enabled says [always] or
 * [madvise]), 0 when not or unknown; read by rs_scratch_begin() with the
 * world still running (open/read allocate nothing either way). */
static int thp_usable = -1;

static int read_thp_usable(void)
{
    char buf[96];
    if (rs_proc_file_read("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof buf) <= 0)
        return 0;
    return strstr(buf, "[always]") != NULL || strstr(buf, "[madvise]") != NULL;
}

/* len bytes of fresh pages (*len updated to what was mapped).  A bump
 * chunk of 2 MiB or more, and a large region (one allocation, written
 * whole) of HUGE_MIN or more where huge pages are usable, is rounded up
 * to whole 2 MiB on a 2 MiB boundary (at most 2 MiB more a region, for
 * the analysis only), with transparent huge pages asked for, and its len
 * bytes populated.  Why: the analysis writes every page of what it asks
 * for (the node array first, 56 bytes a block; the edge arrays), and the
 * first touch of a 4 KiB page is a fault - on the test VM also the
 * hypervisor's, about 10 us a page, 7 us a page populated, against 0.5 us
 * per 4 KiB populated as huge pages.  The analysis of 100k blocks took 48
 * ms with pages faulted in one by one, 46 ms populated, 29 ms with the
 * node array in populated huge pages; of 1M blocks 335, 301 and 187 ms
 * (medians, bench_alloc -n 1); with the regions from HUGE_MIN to 2 MiB
 * (the edge arrays, the classification's queue: 64-512 faults each) in
 * huge pages too, 19 -> 12 ms and 185 -> 155 ms.  Only len bytes are
 * populated, so where no huge page is free they cost 4 KiB pages for
 * what is written anyway, not for the rounding.  A small bump chunk is
 * faulted on use: a small program's analysis uses a few pages of its
 * first 1 MiB chunk, and populating all of it cost 2-3 ms at every exit.
 * Before Linux 5.14 MADV_POPULATE_WRITE fails and pages are faulted on
 * use. */
static void *map_pages(size_t *len, int large)
{
    size_t huge_from = large && thp_usable == 1 ? HUGE_MIN : HUGE_PAGE;
    if (*len < huge_from) {
        void *m = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return m == MAP_FAILED ? NULL : m;
    }
    size_t want = (*len + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
    if (want < *len || want + HUGE_PAGE < want)
        return NULL;
    char *m = mmap(NULL, want + HUGE_PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    char *a = (char *)(((uintptr_t)m + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (a != m)
        munmap(m, (size_t)(a - m));
    munmap(a + want, (size_t)(m + want + HUGE_PAGE - (a + want)));
    madvise(a, want, MADV_HUGEPAGE);
    madvise(a, round_page(*len), MADV_POPULATE_WRITE);   /* failing: faulted on use */
    *len = want;
    return a;
}

static region_t *map_region(size_t len, int large)
{
    if (n_regions == MAX_REGIONS)
        return NULL;
    void *m = map_pages(&len, large);
    if (!m)
        return NULL;
    region_t *r = &regions[n_regions++];
    r->base = m;
    r->len = len;
    r->large = large;
    return r;
}

static void *set_header(char *at, size_t size)
{
    memcpy(at, &size, sizeof size);
    return at + HDR;
}

static size_t block_size(const void *p)
{
    size_t size;
    memcpy(&size, (const char *)p - HDR, sizeof size);
    return size;
}

static void *scratch_alloc(size_t size)
{
    size_t need = (HDR + size + 15) & ~(size_t)15;
    if (need < size)
        return NULL;
    if (need > CHUNK_MIN / 4) {
        region_t *r = map_region(round_page(need), 1);
        return r ? set_header(r->base, size) : NULL;
    }
    if (need > bump_left) {
        region_t *r = map_region(next_chunk, 0);
        if (!r)
            return NULL;
        bump_cur = r->base;
        bump_left = r->len;
        if (next_chunk < CHUNK_MAX)
            next_chunk *= 2;
    }
    char *at = bump_cur;
    bump_cur += need;
    bump_left -= need;
    return set_header(at, size);
}

/* Grows large region r to hold size bytes in fresh huge pages (see
 * map_pages: mremap would move the pages it has and fault the rest one
 * by one): the old contents (its header and old bytes) are copied, the
 * old pages unmapped. */
static void *grow_huge(region_t *r, size_t size, size_t old)
{
    size_t len = round_page(HDR + size);
    char *m = map_pages(&len, 1);
    if (!m)
        return NULL;
    memcpy(m, r->base, HDR + old);
    munmap(r->base, r->len);
    r->base = m;
    r->len = len;
    return set_header(m, size);
}

static void *scratch_realloc(void *p, size_t size)
{
    region_t *r = find_region(p);
    size_t old = r ? block_size(p) : malloc_usable_size(p);
    if (r && r->large) {
        size_t len = round_page(HDR + size);
        if (len < size)
            return NULL;
        if (len <= r->len)
            return set_header(r->base, size);
        if (thp_usable == 1 && len >= HUGE_MIN)
            return grow_huge(r, size, old);
        void *m = mremap(r->base, r->len, len, MREMAP_MAYMOVE);
        if (m == MAP_FAILED)
            return NULL;
        r->base = m;
        r->len = len;
        return set_header(m, size);
    }
    void *q = scratch_alloc(size);
    if (q)
        memcpy(q, p, old < size ? old : size);
    return q;
}

static void scratch_free(void *p)
{
    region_t *r = find_region(p);
    if (r && r->large && (char *)p == r->base + HDR) {
        munmap(r->base, r->len);
        *r = regions[--n_regions];
    }
}

/* ---- the backend --------------------------------------------------- */

static void *be_alloc(size_t size)
{
    return scratch_on ? scratch_alloc(size) : __libc_malloc(size);
}

static void *be_calloc(size_t n, size_t size)
{
    if (!scratch_on)
        return __libc_calloc(n, size);
    size_t total;
    if (__builtin_mul_overflow(n, size, &total))
        return NULL;
    return scratch_alloc(total);    /* fresh, never reused mappings: zero */
}

static void *be_realloc(void *p, size_t size)
{
    if (!scratch_on)
        return __libc_realloc(p, size);
    return p ? scratch_realloc(p, size) : scratch_alloc(size);
}

static void be_free(void *p)
{
    if (!scratch_on)
        __libc_free(p);
    else
        scratch_free(p);
}

void rs_scratch_install(void)
{
    static const rs_mem_backend_t backend = {be_alloc, be_calloc, be_realloc, be_free, NULL};
    rs_mem_set_backend(&backend);
}

void rs_scratch_begin(void)
{
    if (thp_usable < 0)
        thp_usable = read_thp_usable();
    scratch_on = 1;
}

void rs_scratch_end(void)
{
    scratch_on = 0;
    for (uint32_t i = 0; i < n_regions; i++)
        munmap(regions[i].base, regions[i].len);
    n_regions = 0;
    bump_cur = NULL;
    bump_left = 0;
    next_chunk = CHUNK_MIN;
}
