/*
 * heapscan.c - build the heap graph by reading memory (see heapscan.h).
 *
 * How it works.  Nodes are sorted by address: nearly sorted input (the
 * usual one) by setting aside the few nodes out of place, sorting them
 * and merging them back (rs_mem memory: scratch during an analysis),
 * anything else by an in-place introsort (qsort could call the
 * interposed malloc).  Every aligned 8-byte word of every block
 * (and of every root region) is read; a word outside [lowest block start,
 * highest block end] is rejected by two compares, the rest by a binary
 * search for the last block starting at or below it, unless the block
 * found for the region's previous pointer or the one after it is that
 * block (find_near(): arrays of pointers to blocks allocated in order).
 * (A page index in front of the binary search was tried and measured no
 * faster: with 1M blocks the cost is the cache miss on the target node,
 * about 400 ns per pointer on the 2-core test machine, not the search.)
 * Edges are appended to arrays that grow by doubling, one pass over
 * memory.
 *
 * What counts as a pointer: a word w points into block b when
 * b.addr <= w <= b.addr + b.size (one past the end included, as C allows
 * that pointer).  If w is one block's end and another's start, the binary
 * search finds the block that starts at w.  Words that are not 8-aligned
 * are never read as pointers.  A word pointing into the header of a
 * block (a header before a recognised object, rs_node_header()) is no
 * edge.  A block pointing to its own object (its address plus that
 * header, plus rs_node_t.obj_offset when the refcounted object's pointer
 * lies further in: a GObject's instance after its private data) gets a
 * self-edge; a word pointing into the rest of its own block makes no edge
 * (an embedded empty list head, next == prev == &head, a cursor into the
 * block's own buffer, a GObject's `priv` pointer to the private data
 * before its instance, is not a reference: cairo surfaces and patterns
 * hold several, and counting them would make every such refcounted object
 * look held by a cycle).  An offset beyond 4 GiB inside one block is stored as
 * UINT32_MAX (rs_edge_t.offset is 32 bits).  RS_NODE_IGNORED blocks are scanned like any other block;
 * classify.c treats them as roots (no root edges are made for them).
 *
 * Invariants after a successful rs_heapscan_edges: edge_start has
 * n_nodes + 1 entries, edge_start[0] == 0, edge_start[n_nodes] == n_edges,
 * the edges of node i are in increasing offset order.  After
 * rs_heapscan_roots: root_edges are in (root, offset) order.
 *
 * More than 2^32 - 1 edges fail like memory exhaustion (edge_start is
 * 32-bit).  The scan functions overwrite the heap's edge fields without
 * freeing them: call rs_heapscan_free_edges first to rescan.
 *
 * Preconditions: nodes are sorted and do not overlap; every node's and
 * root's bytes are readable at their addresses in this process.
 */
#include "heapscan.h"

#include "rs_mem.h"

#include <string.h>

#define HS_WORD      8u
#define HS_SMALL     16   /* ranges at most this long: insertion sort      */
#define HS_MIN_EDGES 1024u

/* ---- sorting -------------------------------------------------------- */

static inline void node_swap(rs_node_t *a, rs_node_t *b)
{
    rs_node_t t = *a;
    *a = *b;
    *b = t;
}

static void insertion_sort(rs_node_t *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        rs_node_t x = a[i];
        size_t j = i;
        for (; j > 0 && a[j - 1].addr > x.addr; j--)
            a[j] = a[j - 1];
        a[j] = x;
    }
}

static void sift_down(rs_node_t *a, size_t root, size_t n)
{
    for (size_t child; (child = 2 * root + 1) < n; root = child) {
        if (child + 1 < n && a[child + 1].addr > a[child].addr)
            child++;
        if (a[root].addr >= a[child].addr)
            return;
        node_swap(&a[root], &a[child]);
    }
}

static void heap_sort(rs_node_t *a, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(a, i, n);
    for (size_t end = n; end-- > 1;) {
        node_swap(&a[0], &a[end]);
        sift_down(a, 0, end);
    }
}

/* The pivot: the median of three nodes at pseudo-random places in
 * a[lo..hi].  Fixed places (first, middle, last) met their worst case on
 * the analysis's usual input: nodes mostly in address order with a few
 * out of place at power-of-two positions (where a thread's slot array grew
 * and the program's next blocks reused the old one), and the sort fell
 * back to heapsort (1M nodes: 164 ms, against 100 ms for random order and
 * 15 ms sorted); random places cannot line up with such structure.  Needs
 * hi - lo >= 2 (ranges this short are left to insertion sort anyway). */
static uint64_t median3(const rs_node_t *a, size_t lo, size_t hi, uint64_t *rng)
{
    size_t third = (hi - lo + 1) / 3;       /* one sample in each third: three */
    uint64_t r = *rng;                       /* distinct nodes, so never the max */
    r ^= r << 13;
    r ^= r >> 7;
    r ^= r << 17;
    *rng = r;
    uint64_t x = a[lo + (size_t)(r % third)].addr,
             y = a[lo + third + (size_t)((r >> 21) % third)].addr,
             z = a[lo + 2 * third + (size_t)((r >> 42) % third)].addr;
    if (x > y) { uint64_t t = x; x = y; y = t; }
    if (y > z) y = z;
    return x > y ? x : y;
}

/* Hoare partition of a[lo..hi] (inclusive) around a value present in it;
 * returns j with a[lo..j] <= pivot <= a[j+1..hi], lo <= j < hi. */
static size_t partition(rs_node_t *a, size_t lo, size_t hi, uint64_t pivot)
{
    size_t i = lo, j = hi;
    for (;;) {
        while (a[i].addr < pivot)
            i++;
        while (a[j].addr > pivot)
            j--;
        if (i >= j)
            return j;
        node_swap(&a[i], &a[j]);
        i++;
        j--;
    }
}

typedef struct hs_span {
    size_t lo, hi;   /* inclusive */
    unsigned depth;  /* partitions left before falling back to heapsort */
} hs_span_t;

/* Introsort: quicksort on the smaller side first (explicit stack of at
 * most 64 ranges), heapsort when the depth budget runs out, ranges of at
 * most HS_SMALL nodes left for one final insertion sort. */
static void intro_sort(rs_node_t *a, size_t n)
{
    hs_span_t stack[64];
    unsigned top = 0, depth = 0;
    uint64_t rng = 0x9E3779B97F4A7C15ull;       /* fixed: same order every run */
    for (size_t m = n; m; m >>= 1)
        depth += 2;
    if (n > HS_SMALL)
        stack[top++] = (hs_span_t){0, n - 1, depth};
    while (top) {
        size_t lo = stack[--top].lo, hi = stack[top].hi;
        unsigned d = stack[top].depth;
        while (hi - lo >= HS_SMALL) {
            if (d-- == 0) {
                heap_sort(a + lo, hi - lo + 1);
                break;
            }
            size_t j = partition(a, lo, hi, median3(a, lo, hi, &rng));
            /* Push the larger side, loop on the smaller: stack <= log2 n. */
            if (j - lo > hi - j - 1) {
                stack[top++] = (hs_span_t){lo, j, d};
                lo = j + 1;
            } else {
                stack[top++] = (hs_span_t){j + 1, hi, d};
                hi = j;
            }
        }
    }
    insertion_sort(a, n);
}

/* ---- nearly sorted input -------------------------------------------- */

/* At most this many of the last nodes kept are set aside when they turn
 * out to be the ones out of place. */
#define HS_STRAY_RUN 4

/* Nodes that break the ascending order of a nearly sorted array, set
 * aside by sort_nearly_sorted(); grows by doubling up to limit. */
typedef struct hs_side {
    rs_node_t *nodes;
    size_t     n, cap, limit;
} hs_side_t;

/* Room for k more nodes; -1 past the limit or out of memory. */
static int side_reserve(hs_side_t *s, size_t k)
{
    if (s->n + k <= s->cap)
        return 0;
    if (s->n + k > s->limit)
        return -1;
    size_t cap = s->cap ? s->cap * 2 : 256;
    if (cap < s->n + k)
        cap = s->n + k;
    if (cap > s->limit)
        cap = s->limit;
    rs_node_t *p = rs_mem_realloc(s->nodes, cap * sizeof *p);
    if (!p)
        return -1;
    s->nodes = p;
    s->cap = cap;
    return 0;
}

/* Merges ascending a[0..m) and side[0..k) into a[0..m+k), from the end. */
static void merge_side(rs_node_t *a, size_t m, const rs_node_t *side, size_t k)
{
    size_t w = m + k;
    while (k) {
        if (m && a[m - 1].addr > side[k - 1].addr)
            a[--w] = a[--m];
        else
            a[--w] = side[--k];
    }
}

/* The analysis's usual input is the blocks in registry order: a thread's
 * blocks in the order of their slots, which is allocation order until
 * frees and reuse mix it, so long runs ascend (bench_alloc's long-lived
 * blocks: all but the array holding them, mapped above the heap).  One
 * pass keeps the nodes that continue the ascending sequence at the front
 * and sets the others aside: a node lower than the last one kept, or, when
 * the node fits right before them, up to HS_STRAY_RUN last kept ones
 * (high strays, like that array).  The nodes set aside are sorted and
 * merged back from the end.  O(n) for sorted input, O(n + k log k) with k
 * set aside.  Gives up (-1) past n/16 of them or when memory runs out,
 * with a[] a permutation of its input (the set-aside nodes copied back
 * into the gap they left), for intro_sort. */
static int sort_nearly_sorted(rs_node_t *a, size_t n)
{
    hs_side_t side = {NULL, 0, 0, n / 16};
    size_t m = 1, i = 1;              /* invariant: m + side.n == i */
    for (; i < n; i++) {
        if (a[i].addr >= a[m - 1].addr) {
            if (m != i)
                a[m] = a[i];
            m++;
            continue;
        }
        size_t j = m - 1;             /* a[j..m) are above a[i] */
        while (j > 0 && m - j < HS_STRAY_RUN && a[j - 1].addr > a[i].addr)
            j--;
        int strays = j == 0 || a[j - 1].addr <= a[i].addr;
        if (side_reserve(&side, strays ? m - j : 1) != 0)
            break;
        if (strays) {
            memcpy(&side.nodes[side.n], &a[j], (m - j) * sizeof *a);
            side.n += m - j;
            a[j] = a[i];
            m = j + 1;
        } else {
            side.nodes[side.n++] = a[i];
        }
    }
    int rc = 0;
    if (i == n) {
        intro_sort(side.nodes, side.n);
        merge_side(a, m, side.nodes, side.n);
    } else {
        /* Given up at node i: the gap a[m..i) holds the set-aside ones. */
        if (side.n)
            memcpy(&a[m], side.nodes, side.n * sizeof *a);
        rc = -1;
    }
    rs_mem_free(side.nodes);
    return rc;
}

void rs_heapscan_sort_nodes(rs_heap_t *heap)
{
    if (heap->n_nodes <= HS_SMALL)
        insertion_sort(heap->nodes, heap->n_nodes);
    else if (sort_nearly_sorted(heap->nodes, heap->n_nodes) != 0)
        intro_sort(heap->nodes, heap->n_nodes);
}

/* ---- lookup ----------------------------------------------------------- */

uint32_t rs_heapscan_find(const rs_heap_t *heap, uint64_t addr)
{
    /* First node starting above addr; the one before it is the candidate. */
    uint32_t lo = 0, hi = heap->n_nodes;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (heap->nodes[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return UINT32_MAX;
    const rs_node_t *n = &heap->nodes[lo - 1];
    return addr - n->addr <= n->size ? lo - 1 : UINT32_MAX;
}

/* ---- scanning ----------------------------------------------------------- */

/* The address range any pointer into a block must fall in. */
typedef struct hs_range {
    uint64_t lo, hi; /* inclusive; lo > hi when there are no nodes */
} hs_range_t;

static hs_range_t node_range(const rs_heap_t *heap)
{
    hs_range_t r = {1, 0};
    if (heap->n_nodes == 0)
        return r;
    r.lo = heap->nodes[0].addr;
    for (uint32_t i = 0; i < heap->n_nodes; i++) {
        uint64_t end = heap->nodes[i].addr + heap->nodes[i].size;
        if (end > r.hi)
            r.hi = end;
    }
    return r;
}

/* Makes room for one more element in *arr (elements of `size` bytes,
 * *cap of them).  Returns 0, or -1 when memory is exhausted (arr kept). */
static int reserve_one(void **arr, uint64_t used, uint64_t *cap, size_t size)
{
    if (used < *cap)
        return 0;
    uint64_t ncap = *cap ? *cap * 2 : HS_MIN_EDGES;
    if (ncap > SIZE_MAX / size)
        return -1;
    void *p = rs_mem_realloc(*arr, (size_t)(ncap * size));
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* 1 when node c is the one the binary search of rs_heapscan_find() would
 * stop at for addr (the last node starting at or below it); c < n_nodes. */
static inline int is_candidate(const rs_heap_t *heap, uint32_t c, uint64_t addr)
{
    return heap->nodes[c].addr <= addr &&
           (c + 1 == heap->n_nodes || heap->nodes[c + 1].addr > addr);
}

/* rs_heapscan_find() for the words of one region, which often point at
 * the node found last or the one after it (an array of pointers to
 * blocks allocated one after the other): those two are tried first, in
 * two or four compares on lines just read, before a binary search of
 * 17 probes at 100k nodes (the last few of them cache misses). */
static inline uint32_t find_near(const rs_heap_t *heap, uint64_t addr, uint32_t *last)
{
    uint32_t c = *last;
    if (c + 1 < heap->n_nodes && is_candidate(heap, c + 1, addr))
        c++;
    else if (c >= heap->n_nodes || !is_candidate(heap, c, addr))
        return *last = rs_heapscan_find(heap, addr);
    const rs_node_t *n = &heap->nodes[c];
    *last = c;
    return addr - n->addr <= n->size ? c : UINT32_MAX;
}

/* 1 when word w, pointing into node dst (n), is a reference: not into
 * its header, exactly at its object when exact_only, and into the
 * region's own block (self) only at its object's pointer. */
static inline int is_reference(const rs_node_t *n, uint32_t dst, uint64_t w, uint32_t self,
                               int exact_only)
{
    uint64_t obj = n->addr + rs_node_header(n);
    if (w < obj)                                     /* in the header */
        return 0;
    if (exact_only && w != obj)
        return 0;
    return dst != self || w == obj + n->obj_offset;
}

/* The node starting exactly at addr, or NULL. */
static const rs_node_t *block_at(const rs_heap_t *heap, uint64_t addr)
{
    uint32_t i = rs_heapscan_find(heap, addr);
    return i != UINT32_MAX && heap->nodes[i].addr == addr ? &heap->nodes[i] : NULL;
}

/* 1 when a GLib type instance (GTypeInstance) starts at p, 16-aligned
 * inside node n after its private data (a GParamSpec; a GObject no hook
 * tracks): its first word, g_class, is the start of a block (classes are
 * g_malloc'ed) whose first word is a GType: a fundamental type's id (a
 * multiple of 4 up to 255 << 2) or a derived type's TypeNode, the start
 * of a block. */
static int is_type_instance(const rs_heap_t *heap, const rs_node_t *n, uint64_t p)
{
    uint64_t cls, type;
    if ((p & 15) != 0 || p + sizeof cls > n->addr + n->size)
        return 0;
    memcpy(&cls, (const void *)(uintptr_t)p, sizeof cls);
    const rs_node_t *c = block_at(heap, cls);
    if (!c || c->size < sizeof type)
        return 0;
    memcpy(&type, (const void *)(uintptr_t)cls, sizeof type);
    return (type != 0 && type % 4 == 0 && type <= 255u << 2) || block_at(heap, type);
}

/* The node a 32-bit half-word h points at (UINT32_MAX for none): a
 * block's object itself (its start, after any header, or its instance
 * pointer), or a GLib type instance inside it (is_type_instance(): a
 * GParamSpec in GObject's pool of them); never elsewhere inside a block,
 * so that random 32-bit data (the hashes kept next to such words, the
 * 30-bit digits of Python's ints) holds little.  Measured on python3
 * heaps below 4 GiB (1.8M blocks of random ints, floats and strings):
 * about 0.15% of the random half-words in the heap's range hit an
 * object's address exactly, each a false edge (so, by estimate, a leaked
 * block there is held by one about once in 700); none passed
 * is_type_instance().  A PyGObject GTK program: 1782 edges to objects,
 * 522 to type instances.  r32 is the part of the node range below 4 GiB.
 * See scan_region(). */
static inline uint32_t compressed_target(const rs_heap_t *heap, hs_range_t r32, uint64_t h,
                                         uint32_t self, uint32_t *last)
{
    if (h - r32.lo > r32.hi - r32.lo)
        return UINT32_MAX;
    uint32_t dst = find_near(heap, h, last);
    if (dst == UINT32_MAX)
        return UINT32_MAX;
    const rs_node_t *n = &heap->nodes[dst];
    uint64_t obj = n->addr + rs_node_header(n);
    if (h == obj + n->obj_offset || (h == obj && dst != self))
        return dst;
    if (dst != self && h > obj && h < n->addr + n->size && is_type_instance(heap, n, h))
        return dst;
    return UINT32_MAX;
}

/* Calls visit(ctx, offset, node) for every aligned word of [start,
 * start+size) that points into a block, except words pointing into node
 * self (the region's own block, UINT32_MAX for roots) but not at its
 * start; offset is the word's address - origin.  Stops early and returns
 * -1 when visit does.
 *
 * With `compressed` (some blocks lie below 4 GiB: the brk heap of a
 * program not built as PIE, such as Debian's python3), each 4-byte half
 * of a word that is no 64-bit reference and not itself a pointer below
 * 4 GiB is read as a 32-bit pointer too (compressed_target()): GLib's
 * hash tables (2.74) keep their keys and values in 4-byte entries while
 * every one fits in 32 bits, so there every GParamSpec, quark string and
 * GObject a table holds looked unreferenced (a PyGObject GTK program:
 * 250 false leaks and 17 false leaked references of 270 blocks).  The
 * caller passes a constant, so the loop without it stays as it was. */
static inline int scan_words(const rs_heap_t *heap, hs_range_t r, hs_range_t r32,
                             int compressed, uint64_t start, uint64_t size,
                             uint64_t origin, uint32_t self, int exact_only,
                             int (*visit)(void *, uint64_t, uint32_t), void *ctx)
{
    uint64_t end = start + size;
    uint64_t first = (start + HS_WORD - 1) & ~(uint64_t)(HS_WORD - 1);
    if (r.lo > r.hi || end < start || first < start || end < first + HS_WORD)
        return 0;                    /* no node, or no whole word */
    /* Per word, the common case (no pointer into the heap): a load, a
     * subtract and one unsigned compare against the range's span (the
     * loop counted up front: about 5 instructions a word, against 11 with
     * a bounds test of the pointer each time). */
    uint64_t n_words = (end - first) / HS_WORD, span = r.hi - r.lo;
    const unsigned char *base = (const unsigned char *)(uintptr_t)first;
    uint32_t last = UINT32_MAX;      /* no node found yet */
    for (uint64_t i = 0; i < n_words; i++) {
        uint64_t w, offset = first + i * HS_WORD - origin;
        memcpy(&w, base + i * HS_WORD, sizeof w);
        if (w - r.lo <= span) {
            uint32_t dst = find_near(heap, w, &last);
            if (dst != UINT32_MAX &&
                is_reference(&heap->nodes[dst], dst, w, self, exact_only)) {
                if (visit(ctx, offset, dst) != 0)
                    return -1;
                continue;
            }
        }
        if (!compressed || exact_only || (w >> 32) == 0)
            continue;
        for (int half = 0; half < 2; half++) {
            uint32_t dst = compressed_target(heap, r32, half ? w >> 32 : w & 0xffffffffu,
                                             self, &last);
            if (dst != UINT32_MAX && visit(ctx, offset + 4u * (unsigned)half, dst) != 0)
                return -1;
        }
    }
    return 0;
}

static int scan_region(const rs_heap_t *heap, hs_range_t r, uint64_t start,
                       uint64_t size, uint64_t origin, uint32_t self, int exact_only,
                       int (*visit)(void *, uint64_t, uint32_t), void *ctx)
{
    hs_range_t r32 = { r.lo, r.hi < UINT32_MAX ? r.hi : UINT32_MAX };
    if (r.lo > UINT32_MAX || r.lo > r.hi)
        return scan_words(heap, r, r32, 0, start, size, origin, self, exact_only, visit, ctx);
    return scan_words(heap, r, r32, 1, start, size, origin, self, exact_only, visit, ctx);
}

/* The first of heap->holes that ends after addr (n_holes when none): a
 * binary search, the holes being sorted and disjoint. */
static uint32_t first_hole_after(const rs_heap_t *heap, uint64_t addr)
{
    uint32_t lo = 0, hi = heap->n_holes;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (heap->holes[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* scan_region() of [start, start+size) but for the parts in heap->holes
 * (known to hold nothing: pages never touched), offsets from start.  *h
 * is the first hole that may matter: at or before the first hole ending
 * after start (a caller going up the address space keeps it). */
static int scan_without_holes(const rs_heap_t *heap, hs_range_t r, uint64_t start,
                              uint64_t size, uint32_t self, int exact_only, uint32_t *h,
                              int (*visit)(void *, uint64_t, uint32_t), void *ctx)
{
    uint64_t at = start, end = start + size;
    while (*h < heap->n_holes && heap->holes[*h].end <= at)
        (*h)++;
    while (at < end) {
        const rs_span_t *hole = *h < heap->n_holes && heap->holes[*h].start < end
                                    ? &heap->holes[*h] : NULL;
        uint64_t stop = !hole ? end : hole->start > at ? hole->start : at;
        if (stop > at &&
            scan_region(heap, r, at, stop - at, start, self, exact_only, visit, ctx) != 0)
            return -1;
        if (!hole || hole->end >= end)
            break;
        at = hole->end > at ? hole->end : at;
        (*h)++;
    }
    return 0;
}

typedef struct edge_ctx {
    rs_edge_t *edges;
    uint64_t   n, cap;
} edge_ctx_t;

static int add_edge(void *vctx, uint64_t offset, uint32_t dst)
{
    edge_ctx_t *c = vctx;
    if (c->n >= UINT32_MAX ||
        reserve_one((void **)&c->edges, c->n, &c->cap, sizeof *c->edges) != 0)
        return -1;
    /* Offsets past 4 GiB inside one block saturate (the edge is kept). */
    uint32_t off = offset > UINT32_MAX ? UINT32_MAX : (uint32_t)offset;
    c->edges[c->n++] = (rs_edge_t){dst, off};
    return 0;
}

int rs_heapscan_edges(rs_heap_t *heap)
{
    hs_range_t r = node_range(heap);
    edge_ctx_t c = {NULL, 0, 0};
    uint32_t *start = rs_mem_alloc(((size_t)heap->n_nodes + 1) * sizeof *start);
    if (!start)
        goto fail;
    /* Room for an edge a node to begin with: every block another block
     * holds has an edge into it, so heaps have about that many or more.
     * Growing there by doubling from a few thousand populated twice the
     * final array and copied it at each step (4M blocks: 230-250 ms for
     * this scan, 195-200 presized); a heap with far fewer edges wastes
     * 8 bytes a node. */
    if (heap->n_nodes > HS_MIN_EDGES) {
        c.edges = rs_mem_alloc((size_t)heap->n_nodes * sizeof *c.edges);
        if (!c.edges)
            goto fail;
        c.cap = heap->n_nodes;
    }
    uint32_t hole = 0;                /* nodes go up the address space */
    for (uint32_t i = 0; i < heap->n_nodes; i++) {
        start[i] = (uint32_t)c.n;
        const rs_node_t *n = &heap->nodes[i];
        if (scan_without_holes(heap, r, n->addr, n->size, i, 0, &hole, add_edge, &c) != 0)
            goto fail;
    }
    start[heap->n_nodes] = (uint32_t)c.n;
    heap->edge_start = start;
    heap->edges = c.edges;
    heap->n_edges = c.n;
    return 0;
fail:
    rs_mem_free(start);
    rs_mem_free(c.edges);
    heap->edge_start = NULL;
    heap->edges = NULL;
    heap->n_edges = 0;
    return -1;
}

typedef struct root_ctx {
    rs_root_edge_t *edges;
    uint64_t        n, cap;
    uint32_t        root;
} root_ctx_t;

static int add_root_edge(void *vctx, uint64_t offset, uint32_t dst)
{
    root_ctx_t *c = vctx;
    if (reserve_one((void **)&c->edges, c->n, &c->cap, sizeof *c->edges) != 0)
        return -1;
    c->edges[c->n++] = (rs_root_edge_t){c->root, dst, offset};
    return 0;
}

int rs_heapscan_roots(rs_heap_t *heap)
{
    hs_range_t r = node_range(heap);
    root_ctx_t c = {NULL, 0, 0, 0};
    for (c.root = 0; c.root < heap->n_roots; c.root++) {
        const rs_root_t *root = &heap->roots[c.root];
        uint32_t hole = first_hole_after(heap, root->start);
        if (scan_without_holes(heap, r, root->start, root->size, UINT32_MAX,
                               (root->flags & RS_ROOT_FLAG_EXACT) != 0, &hole,
                               add_root_edge, &c) != 0) {
            rs_mem_free(c.edges);
            heap->root_edges = NULL;
            heap->n_root_edges = 0;
            return -1;
        }
    }
    heap->root_edges = c.edges;
    heap->n_root_edges = c.n;
    return 0;
}

void rs_heapscan_free_edges(rs_heap_t *heap)
{
    rs_mem_free(heap->edge_start);
    rs_mem_free(heap->edges);
    rs_mem_free(heap->root_edges);
    heap->edge_start = NULL;
    heap->edges = NULL;
    heap->n_edges = 0;
    heap->root_edges = NULL;
    heap->n_root_edges = 0;
}
