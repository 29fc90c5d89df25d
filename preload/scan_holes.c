/*
 * scan_holes.c - the pages of roots (the modules' writable segments,
 * memory the program mapped, stacks) and of large blocks that the
 * process never touched, which the scans skip (rs_heap_t.holes,
 * lib/model/heapscan.c).
 *
 * Why.  Reading a page nobody touched maps it: a page fault, 10 us on the
 * VM of the benchmarks.  Programs have large .bss areas they use little
 * of (python3: 67 of its 69 .bss pages untouched; every library has a
 * few) and large blocks they fill in part (python3 -c pass: 94 such
 * pages); scanning them all cost python3 -c pass about 1.5 ms.  Such a
 * page holds no pointer: an anonymous page reads as zeros, a file page as
 * the file's bytes (what relocation or the program wrote made it present,
 * or swapped out).
 *
 * How.  /proc/self/pagemap has a 64-bit word per page: bit 63 present,
 * bit 62 swapped.  A page with neither is a hole.  Read with the world
 * stopped (nothing else runs, so nothing touches a page meanwhile; a
 * thread that did not stop is read as it is, like the rest of its
 * memory), 2 MiB of address space a read, for the roots of paged_kind
 * and the blocks of HOLE_MIN_BLOCK bytes or more, merged in address
 * order, so the holes come out sorted (roots never overlap blocks; a
 * root overlapping another only repeats holes, which add_hole clips).  Anything
 * unexpected (no pagemap, a short read, no memory, a pagemap that does
 * not show present the page just written) means fewer holes: more is
 * scanned, never less.
 *
 * Memory: rs_mem (scratch memory at analysis time).
 */
#include "preload.h"

#include <fcntl.h>
#include <unistd.h>

#define PAGE          4096u
#define PM_PRESENT    (1ull << 63)
#define PM_SWAPPED    (1ull << 62)
#define PM_CHUNK      512u            /* pagemap words read at once */
/* Blocks from this size on are looked up: glibc's default mmap
 * threshold, from where a block gets fresh pages that only what the
 * program writes touches (a calloc'd table).  Smaller blocks come from
 * reused heap memory, mostly touched: their pagemap words (23 ns a page
 * here) would only add to scanning them (170 ns a page) - 20,000 touched
 * blocks of 40 KiB took 6 ms longer to analyse with a threshold of 32 KiB,
 * and python3 -c pass skips as many pages with this one. */
#define HOLE_MIN_BLOCK (32u * PAGE)

typedef struct holes {
    rs_span_t *items;
    uint32_t   n, cap;
    int        oom;
} holes_t;

/* Appends [start, end), merged with the last hole when they touch (and
 * clipped where it would overlap it: the holes stay sorted). */
static void add_hole(holes_t *h, uint64_t start, uint64_t end)
{
    if (h->n && start < h->items[h->n - 1].end)
        start = h->items[h->n - 1].end;
    if (start >= end)
        return;
    if (h->n && h->items[h->n - 1].end == start) {
        h->items[h->n - 1].end = end;
        return;
    }
    if (h->n == h->cap) {
        uint32_t cap = h->cap ? h->cap * 2 : 64;
        rs_span_t *items = rs_mem_realloc(h->items, cap * sizeof *items);
        if (!items) {
            h->oom = 1;
            return;
        }
        h->items = items;
        h->cap = cap;
    }
    h->items[h->n++] = (rs_span_t){start, end};
}

/* A window on /proc/self/pagemap: the words of pages [first, first + n),
 * read PM_CHUNK at a time, so that regions asked for in address order
 * (many large blocks side by side) cost one read per 2 MiB, not one each. */
typedef struct pm_window {
    int      fd;
    uint64_t first, n;
    uint64_t words[PM_CHUNK];
} pm_window_t;

/* The pagemap word of page, or 0 with *ok = 0 when it cannot be read. */
static uint64_t page_word(pm_window_t *w, uint64_t page, int *ok)
{
    if (page - w->first >= w->n) {
        ssize_t got = pread(w->fd, w->words, sizeof w->words,
                            (off_t)(page * sizeof *w->words));
        w->first = page;
        w->n = got > 0 ? (uint64_t)got / sizeof *w->words : 0;
        if (!w->n) {
            *ok = 0;
            return 0;
        }
    }
    return w->words[page - w->first];
}

/* 1 when the pagemap says present the page of w itself, which was just
 * written: a pagemap that reads as zeros (an emulator's, a sandbox's)
 * would make every page a hole and every block a leak. */
static int pagemap_sane(pm_window_t *w)
{
    int ok = 1;
    uint64_t word = page_word(w, (uint64_t)(uintptr_t)w / PAGE, &ok);
    w->n = 0;                          /* read afresh for the regions */
    return ok && (word & PM_PRESENT);
}

/* The holes of the region [start, end). */
static void holes_of(pm_window_t *w, uint64_t start, uint64_t end, holes_t *h)
{
    int ok = 1;
    for (uint64_t page = start / PAGE; page * PAGE < end && !h->oom; page++) {
        uint64_t word = page_word(w, page, &ok);
        if (!ok)
            return;
        if (word & (PM_PRESENT | PM_SWAPPED))
            continue;
        uint64_t lo = page * PAGE, hi = lo + PAGE;
        add_hole(h, lo > start ? lo : start, hi < end ? hi : end);
    }
}

/* Orders idx[0..n) by the roots' start: a few dozen modules' segments,
 * insertion sort (no libc qsort, which may allocate). */
static void sort_by_start(const rs_root_t *roots, uint32_t *idx, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        uint32_t v = idx[i], j = i;
        while (j > 0 && roots[idx[j - 1]].start > roots[v].start) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
}

/* Roots that may hold pages nobody touched: the modules' writable
 * segments, memory the program mapped, and stacks (one scanned whole, of
 * a thread that did not stop, is mostly untouched: 8 MiB for a GLib
 * worker thread, 2,000 page faults). */
static int paged_kind(uint32_t kind)
{
    return kind == RS_ROOT_GLOBAL || kind == RS_ROOT_MMAP || kind == RS_ROOT_STACK;
}

/* The indexes of the roots read by page (paged_kind) in address order,
 * in *out (n of them). */
static uint32_t *paged_roots(const rs_heap_t *heap, uint32_t *n)
{
    uint32_t *idx = rs_mem_alloc((heap->n_roots ? heap->n_roots : 1) * sizeof *idx);
    *n = 0;
    if (!idx)
        return NULL;
    for (uint32_t i = 0; i < heap->n_roots; i++)
        if (paged_kind(heap->roots[i].kind) && heap->roots[i].size)
            idx[(*n)++] = i;
    sort_by_start(heap->roots, idx, *n);
    return idx;
}

/* Sets heap's holes: roots (idx[0..n_roots), in address order) and
 * large blocks, merged by address (nodes are sorted). */
static void find_holes(rs_heap_t *heap, const uint32_t *idx, uint32_t n_roots,
                       pm_window_t *w)
{
    holes_t h = {NULL, 0, 0, 0};
    uint32_t r = 0, b = 0;
    while (!h.oom && (r < n_roots || b < heap->n_nodes)) {
        const rs_node_t *node = b < heap->n_nodes ? &heap->nodes[b] : NULL;
        const rs_root_t *root = r < n_roots ? &heap->roots[idx[r]] : NULL;
        if (root && (!node || root->start < node->addr)) {
            holes_of(w, root->start, root->start + root->size, &h);
            r++;
        } else {
            if (node->size >= HOLE_MIN_BLOCK)
                holes_of(w, node->addr, node->addr + node->size, &h);
            b++;
        }
    }
    heap->holes = h.items;
    heap->n_holes = h.n;
}

void rs_scan_holes_find(rs_heap_t *heap)
{
    heap->holes = NULL;
    heap->n_holes = 0;
    uint32_t n_roots;
    uint32_t *idx = paged_roots(heap, &n_roots);
    /* The window is 4 KiB: not on the stack of whatever thread analyses. */
    pm_window_t *w = idx ? rs_mem_alloc(sizeof *w) : NULL;
    int fd = w ? open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        *w = (pm_window_t){.fd = fd};
        if (pagemap_sane(w))
            find_holes(heap, idx, n_roots, w);
        close(fd);
    }
    rs_mem_free(w);
    rs_mem_free(idx);
}
