/*
 * test_heapscan.c - unit tests of lib/model/heapscan.c on real memory: malloc'd
 * blocks wired together (start, interior and one-past-end pointers, the
 * adjacency rule, unaligned words and words past a block's size ignored,
 * self pointers, pointers into a header (rs_node_header)), 32-bit
 * pointers to blocks below 4 GiB (GLib's hash tables), root regions with
 * unaligned starts, sorting, edge-array growth and allocation failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "test_support.h"

#include "heapscan.h"
#include "rs_mem.h"

#define NONE UINT32_MAX

static void *global_area[4]; /* a root region, and never a block */

static uint64_t A(const void *p) { return (uint64_t)(uintptr_t)p; }

static rs_node_t node(const void *p, uint64_t size)
{
    return (rs_node_t){.addr = A(p), .size = size, .owner = NONE};
}

static void put(void *block, size_t offset, const void *value)
{
    memcpy((char *)block + offset, &value, sizeof value);
}

/* Whether node src has an edge to dst at byte offset off. */
static int has_edge(const rs_heap_t *h, uint32_t src, uint32_t dst, uint32_t off)
{
    for (uint32_t e = h->edge_start[src]; e < h->edge_start[src + 1]; e++)
        if (h->edges[e].dst == dst && h->edges[e].offset == off)
            return 1;
    return 0;
}

static uint32_t out_degree(const rs_heap_t *h, uint32_t i)
{
    return h->edge_start[i + 1] - h->edge_start[i];
}

/* ---- find and sort ------------------------------------------------------ */

static void test_find(void **state)
{
    char *buf = calloc(1, 256);
    rs_node_t nodes[3] = {node(buf, 32), node(buf + 32, 32), node(buf + 128, 0)};
    rs_heap_t h = {.nodes = nodes, .n_nodes = 3};
    assert_int_equal(rs_heapscan_find(&h, A(buf) - 1), NONE);
    assert_int_equal(rs_heapscan_find(&h, A(buf)), 0);
    assert_int_equal(rs_heapscan_find(&h, A(buf) + 31), 0);
    assert_int_equal(rs_heapscan_find(&h, A(buf) + 32), 1); /* adjacency */
    assert_int_equal(rs_heapscan_find(&h, A(buf) + 64), 1); /* one past  */
    assert_int_equal(rs_heapscan_find(&h, A(buf) + 65), NONE);
    assert_int_equal(rs_heapscan_find(&h, A(buf) + 127), NONE);
    assert_int_equal(rs_heapscan_find(&h, A(buf) + 128), 2); /* size 0    */
    assert_int_equal(rs_heapscan_find(&h, A(buf) + 129), NONE);
    assert_int_equal(rs_heapscan_find(&h, UINT64_MAX), NONE);
    assert_int_equal(rs_heapscan_find(&h, 0), NONE);
    h.n_nodes = 0;
    assert_int_equal(rs_heapscan_find(&h, A(buf)), NONE);
    free(buf);
}

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void) { return rs_test_xorshift(&rng_state); }

/* Sorts n nodes made by gen(i) and checks order and that each node kept
 * its own fields (size and seq are derived from addr). */
static void check_sort(uint32_t n, uint64_t (*gen)(uint32_t i, uint32_t n))
{
    rs_node_t *nodes = calloc(n ? n : 1, sizeof *nodes);
    uint64_t xor_in = 0, xor_out = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t a = gen(i, n);
        nodes[i] = (rs_node_t){.addr = a, .size = a * 3, .seq = (uint32_t)(a ^ 0x5555)};
        xor_in ^= a * 0x9E3779B97F4A7C15ull;
    }
    rs_heap_t h = {.nodes = nodes, .n_nodes = n};
    rs_heapscan_sort_nodes(&h);
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            assert_true(nodes[i - 1].addr <= nodes[i].addr);
        assert_int_equal(nodes[i].size, nodes[i].addr * 3);
        assert_int_equal(nodes[i].seq, (uint32_t)(nodes[i].addr ^ 0x5555));
        xor_out ^= nodes[i].addr * 0x9E3779B97F4A7C15ull;
    }
    assert_int_equal(xor_in, xor_out);
    free(nodes);
}

static uint64_t gen_random(uint32_t i, uint32_t n) { return (rnd() >> 20) << 4; }
static uint64_t gen_sorted(uint32_t i, uint32_t n) { return 16 + (uint64_t)i * 16; }
static uint64_t gen_reverse(uint32_t i, uint32_t n) { return 16 + (uint64_t)(n - i) * 16; }
static uint64_t gen_equal(uint32_t i, uint32_t n) { return 4096; }
static uint64_t gen_few(uint32_t i, uint32_t n) { return 16 * (1 + rnd() % 3); }
static uint64_t gen_organ(uint32_t i, uint32_t n) { return 16 * (i < n / 2 ? i : n - i); }
/* Nearly sorted, as the analysis's input usually is: every 50th node
 * out of place, low (anywhere) or high (above all the rest). */
static uint64_t gen_stray_low(uint32_t i, uint32_t n)
{
    return i % 50 == 49 ? (rnd() % (n + 1)) << 4 : 16 + (uint64_t)i * 16;
}
static uint64_t gen_stray_high(uint32_t i, uint32_t n)
{
    return i % 50 == 49 ? (16 + (uint64_t)n * 16 + (rnd() >> 40)) << 4 : 16 + (uint64_t)i * 16;
}
/* Sorted but for a run of 1-4 high nodes every 64: at the start (like
 * the mapped array of bench_alloc's blocks), then anywhere. */
static uint64_t gen_stray_runs(uint32_t i, uint32_t n)
{
    uint32_t run = 1 + i / 64 % 4;
    return i % 64 < run ? (16 + (uint64_t)n * 16 + (rnd() >> 40)) << 4 : 16 + (uint64_t)i * 16;
}
/* Two ascending runs interleaved: half the nodes out of place, more than
 * the nearly-sorted pass takes (it gives up midway). */
static uint64_t gen_two_runs(uint32_t i, uint32_t n) { return 16 * (i % 2 ? n + i : i); }

static void test_sort(void **state)
{
    uint64_t (*gens[])(uint32_t, uint32_t) = {
        gen_random, gen_sorted, gen_reverse, gen_equal, gen_few, gen_organ,
        gen_stray_low, gen_stray_high, gen_stray_runs, gen_two_runs,
    };
    uint32_t sizes[] = {0, 1, 2, 3, 15, 16, 17, 33, 100, 1000, 100000};
    for (size_t g = 0; g < sizeof gens / sizeof gens[0]; g++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            check_sort(sizes[s], gens[g]);
}

/* ---- edges ------------------------------------------------------------------ */

static void test_edges_real_blocks(void **state)
{
    /* Allocations are larger than the blocks declared, so a one-past-end
     * pointer can never be another allocation's start (some allocators,
     * e.g. TSan's, place blocks back to back). */
    void *a = calloc(1, 128), *b = calloc(1, 64), *c = calloc(1, 24);
    put(a, 0, b);                   /* start of b                    */
    put(a, 8, (char *)c + 10);      /* interior of c                 */
    put(a, 24, (char *)b + 40);     /* one past the end of b         */
    put(a, 36, c);                  /* unaligned: ignored            */
    put(a, 48, global_area);        /* not a block: ignored          */
    put(b, 0, (char *)a + 64);      /* one past the end of a         */
    put(b, 16, (void *)12345);      /* a small integer: ignored      */
    put(c, 0, c);                   /* self pointer                  */
    put(c, 8, (char *)c + 8);       /* into itself, not its start:
                                       an empty list head, no edge   */
    put(c, 16, a);                  /* past c's size (20): ignored   */
    rs_node_t nodes[3] = {node(c, 20), node(a, 64), node(b, 40)};
    rs_heap_t h = {.nodes = nodes, .n_nodes = 3};
    rs_heapscan_sort_nodes(&h);
    uint32_t ia = rs_heapscan_find(&h, A(a)), ib = rs_heapscan_find(&h, A(b)),
             ic = rs_heapscan_find(&h, A(c));
    assert_true(ia != NONE && ib != NONE && ic != NONE);

    assert_int_equal(rs_heapscan_edges(&h), 0);
    assert_int_equal(h.edge_start[0], 0);
    assert_int_equal(h.edge_start[3], h.n_edges);
    assert_int_equal(h.n_edges, 5);
    assert_int_equal(out_degree(&h, ia), 3);
    assert_true(has_edge(&h, ia, ib, 0));
    assert_true(has_edge(&h, ia, ic, 8));
    assert_true(has_edge(&h, ia, ib, 24));
    assert_int_equal(out_degree(&h, ib), 1);
    assert_true(has_edge(&h, ib, ia, 0));
    assert_int_equal(out_degree(&h, ic), 1);
    assert_true(has_edge(&h, ic, ic, 0));
    rs_heapscan_free_edges(&h);
    assert_null(h.edges);
    assert_null(h.edge_start);
    assert_int_equal(h.n_edges, 0);
    free(a);
    free(b);
    free(c);
}

static void test_adjacent_blocks(void **state)
{
    /* Two blocks carved from one buffer: x ends exactly where y starts;
     * z, a third block, points at the same boundaries from outside (a
     * block's pointers into itself, other than to its start, make no
     * edge, so the boundaries are checked from z). */
    char *buf = calloc(1, 128), *z = calloc(1, 32);
    put(buf, 8, buf + 64);      /* x's end == y's start: goes to y     */
    put(buf, 16, buf + 63);     /* x's last byte: x itself, no edge    */
    put(buf + 64, 0, buf + 128); /* y's end: y itself, no edge         */
    put(buf + 64, 8, buf + 64); /* y's start: a self-edge              */
    put(z, 0, buf + 63);        /* x's last byte: goes to x            */
    put(z, 8, buf + 128);       /* y's end, nothing starts there: y    */
    rs_node_t nodes[3] = {node(buf + 64, 64), node(buf, 64), node(z, 16)};
    rs_heap_t h = {.nodes = nodes, .n_nodes = 3};
    rs_heapscan_sort_nodes(&h);
    uint32_t ix = rs_heapscan_find(&h, A(buf)), iy = rs_heapscan_find(&h, A(buf + 64)),
             iz = rs_heapscan_find(&h, A(z));
    assert_int_equal(rs_heapscan_edges(&h), 0);
    assert_int_equal(h.n_edges, 4);
    assert_int_equal(out_degree(&h, ix), 1);
    assert_true(has_edge(&h, ix, iy, 8));
    assert_int_equal(out_degree(&h, iy), 1);
    assert_true(has_edge(&h, iy, iy, 8));
    assert_int_equal(out_degree(&h, iz), 2);
    assert_true(has_edge(&h, iz, ix, 0));
    assert_true(has_edge(&h, iz, iy, 8));
    rs_heapscan_free_edges(&h);
    free(buf);
    free(z);
}

/* A block with a 16-byte header before its object (rs_node_header): words
 * pointing into the header are no edges, from blocks or from roots. */
static void test_header_not_referenced(void **state)
{
    char *obj = calloc(1, 64), *other = calloc(1, 64);
    put(other, 0, obj);             /* the header's first byte: none  */
    put(other, 8, obj + 8);         /* inside the header: none        */
    put(other, 16, obj + 16);       /* the object: an edge            */
    put(other, 24, obj + 40);       /* inside the object: an edge     */
    put(obj, 0, obj);               /* GC list link to itself: none   */
    void *roots_area[2] = { obj, obj + 16 };
    rs_node_t nodes[2] = {node(obj, 48), node(other, 32)};
    nodes[0].flags = (16 / 8) << RS_NODE_HEADER_SHIFT;
    rs_root_t root = {.start = A(roots_area), .size = sizeof roots_area,
                      .kind = RS_ROOT_GLOBAL, .module = 0};
    rs_heap_t h = {.nodes = nodes, .n_nodes = 2, .roots = &root, .n_roots = 1};
    rs_heapscan_sort_nodes(&h);
    uint32_t io = rs_heapscan_find(&h, A(obj)), ix = rs_heapscan_find(&h, A(other));
    assert_int_equal(rs_heapscan_edges(&h), 0);
    assert_int_equal(h.n_edges, 2);
    assert_true(has_edge(&h, ix, io, 16));
    assert_true(has_edge(&h, ix, io, 24));
    assert_int_equal(out_degree(&h, io), 0);
    assert_int_equal(rs_heapscan_roots(&h), 0);
    assert_int_equal(h.n_root_edges, 1);
    assert_int_equal(h.root_edges[0].offset, 8);
    rs_heapscan_free_edges(&h);
    free(obj);
    free(other);
}

/* A refcounted object whose pointer lies 16 bytes into its block
 * (rs_node_t.obj_offset: a GObject's instance after its private data).
 * Its pointers to itself: at the object, a self-edge; at the block's
 * start (the `priv` pointer to the private part), none.  Another block's
 * pointers to either place are edges, as before. */
static void test_self_edge_at_object(void **state)
{
    char *blk = calloc(1, 64), *other = calloc(1, 32);
    put(blk, 24, blk);              /* priv: the block's start: none  */
    put(blk, 32, blk + 16);         /* self_ref: the object: an edge  */
    put(other, 0, blk);             /* another block to the start     */
    put(other, 8, blk + 16);        /* and to the object: both edges  */
    rs_node_t nodes[2] = {node(blk, 56), node(other, 16)};
    nodes[0].obj_offset = 16;
    rs_heap_t h = {.nodes = nodes, .n_nodes = 2};
    rs_heapscan_sort_nodes(&h);
    uint32_t ib = rs_heapscan_find(&h, A(blk)), io = rs_heapscan_find(&h, A(other));
    assert_int_equal(rs_heapscan_edges(&h), 0);
    assert_int_equal(h.n_edges, 3);
    assert_int_equal(out_degree(&h, ib), 1);
    assert_true(has_edge(&h, ib, ib, 32));
    assert_int_equal(out_degree(&h, io), 2);
    assert_true(has_edge(&h, io, ib, 0));
    assert_true(has_edge(&h, io, ib, 8));
    rs_heapscan_free_edges(&h);
    free(blk);
    free(other);
}

/* Blocks below 4 GiB (a program not built as PIE: its brk heap), held
 * through 4-byte entries as GLib's hash tables keep keys and values that
 * all fit in 32 bits: a half-word exactly at a block's object is an edge
 * (at the half's own offset), one inside a block or into its header is
 * not (random 32-bit hashes sit in the same tables); a 64-bit pointer
 * below 4 GiB is read once, as before; exact roots take no half-words. */
static void test_compressed_pointers(void **state)
{
    char *low = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    assert_true(low != MAP_FAILED);
    assert_true(A(low) + 4096 <= UINT32_MAX);
    char *table = low, *a = low + 256, *b = low + 512, *hdr = low + 768,
         *gobj = low + 1024, *c = low + 1280, *pspec = low + 1536,
         *klass = low + 1792, *klass2 = low + 2048, *tnode = low + 2304,
         *odd = low + 2560, *oddklass = low + 2816, *itable = low + 3072;
    /* GLib type instances after 32 bytes of private data (GParamSpecs):
     * pspec's class has a fundamental type (20 << 2), odd's class a word
     * that is no type; klass2's type is a TypeNode (a block's start). */
    put(pspec, 32, klass);
    put(klass, 0, (void *)(uintptr_t)(20u << 2));
    put(odd, 32, oddklass);
    put(oddklass, 0, (void *)(uintptr_t)12345);
    put(klass2, 0, tnode);
    put(gobj + 64, 0, klass2);      /* gobj also holds one, at 64       */
    uint32_t *inst = (uint32_t *)itable;
    inst[0] = (uint32_t)A(pspec) + 32;   /* a type instance: an edge at 0  */
    inst[1] = (uint32_t)A(odd) + 32;     /* its class has no type: none    */
    inst[2] = (uint32_t)A(pspec) + 24;   /* not 16-aligned: none           */
    inst[3] = (uint32_t)A(gobj) + 64;    /* derived type: an edge at 12    */
    uint32_t *t = (uint32_t *)table;
    t[0] = (uint32_t)A(a);          /* a's start: an edge at 0          */
    t[1] = (uint32_t)A(b);          /* b's start: an edge at 4          */
    t[2] = (uint32_t)A(b) + 8;      /* inside b: none                   */
    t[3] = 0x7fff0000u;             /* no block: none                   */
    t[4] = (uint32_t)A(hdr);        /* hdr's header: none               */
    t[5] = (uint32_t)A(hdr) + 16;   /* hdr's object: an edge at 20      */
    t[6] = (uint32_t)A(gobj) + 32;  /* gobj's instance: an edge at 24   */
    t[7] = 0;
    put(table, 32, c);              /* 64-bit, below 4 GiB: one edge    */
    put(c, 0, (void *)(uintptr_t)(((uint64_t)A(a) << 32) | A(c)));
                                    /* c's own object in the low half: a
                                       self-edge at 0, as a 64-bit one
                                       would be; a in the high half: 4  */
    uint32_t high_block[2] = { (uint32_t)A(b), 0x12345678u };
    uint32_t *heap_high = calloc(1, 16);
    memcpy(heap_high, high_block, sizeof high_block);  /* b, from above 4 GiB */
    uint32_t roots_area[4] = { 0, (uint32_t)A(a), (uint32_t)A(b), 7 };
    rs_node_t nodes[13] = { node(table, 64), node(a, 32), node(b, 32), node(hdr, 48),
                            node(gobj, 96), node(c, 16), node(heap_high, 16),
                            node(pspec, 64), node(klass, 64), node(klass2, 64),
                            node(tnode, 64), node(odd, 64), node(oddklass, 64) };
    nodes[3].flags = (16 / 8) << RS_NODE_HEADER_SHIFT;
    nodes[4].obj_offset = 32;
    rs_root_t roots[2] = {
        {.start = A(roots_area), .size = sizeof roots_area, .kind = RS_ROOT_GLOBAL},
        {.start = A(roots_area), .size = sizeof roots_area, .kind = RS_ROOT_USER,
         .flags = RS_ROOT_FLAG_EXACT},
    };
    rs_heap_t h = {.nodes = nodes, .n_nodes = 13, .roots = roots, .n_roots = 2};
    rs_heapscan_sort_nodes(&h);
    uint32_t it = rs_heapscan_find(&h, A(table)), ia = rs_heapscan_find(&h, A(a)),
             ib = rs_heapscan_find(&h, A(b)), ih = rs_heapscan_find(&h, A(hdr)),
             ig = rs_heapscan_find(&h, A(gobj)), ic = rs_heapscan_find(&h, A(c)),
             ix = rs_heapscan_find(&h, A(heap_high));
    assert_int_equal(rs_heapscan_edges(&h), 0);
    assert_int_equal(out_degree(&h, it), 5);
    assert_true(has_edge(&h, it, ia, 0));
    assert_true(has_edge(&h, it, ib, 4));
    assert_true(has_edge(&h, it, ih, 20));
    assert_true(has_edge(&h, it, ig, 24));
    assert_true(has_edge(&h, it, ic, 32));
    assert_int_equal(out_degree(&h, ic), 2);
    assert_true(has_edge(&h, ic, ic, 0));
    assert_true(has_edge(&h, ic, ia, 4));
    assert_int_equal(out_degree(&h, ix), 1);
    assert_true(has_edge(&h, ix, ib, 0));
    assert_int_equal(out_degree(&h, ia) + out_degree(&h, ib) + out_degree(&h, ih), 0);
    assert_int_equal(out_degree(&h, ig), 1);             /* its klass2 */
    assert_int_equal(h.n_edges, 8 + 4);   /* + 4 whole-word class pointers */
    rs_heapscan_free_edges(&h);

    /* The instance table as a block: its two type instances. */
    rs_node_t more[14];
    memcpy(more, nodes, sizeof nodes);
    more[13] = node(itable, 16);
    rs_heap_t h2 = {.nodes = more, .n_nodes = 14};
    rs_heapscan_sort_nodes(&h2);
    uint32_t iit = rs_heapscan_find(&h2, A(itable)), ip = rs_heapscan_find(&h2, A(pspec)),
             ig2 = rs_heapscan_find(&h2, A(gobj));
    assert_int_equal(rs_heapscan_edges(&h2), 0);
    assert_int_equal(out_degree(&h2, iit), 2);
    assert_true(has_edge(&h2, iit, ip, 0));
    assert_true(has_edge(&h2, iit, ig2, 12));
    rs_heapscan_free_edges(&h2);
    assert_int_equal(rs_heapscan_roots(&h), 0);
    assert_int_equal(h.n_root_edges, 2);   /* the global's two halves only */
    assert_int_equal(h.root_edges[0].root, 0);
    assert_int_equal(h.root_edges[0].dst, ia);
    assert_int_equal(h.root_edges[0].offset, 4);
    assert_int_equal(h.root_edges[1].root, 0);
    assert_int_equal(h.root_edges[1].dst, ib);
    assert_int_equal(h.root_edges[1].offset, 8);
    rs_heapscan_free_edges(&h);
    free(heap_high);
    munmap(low, 4096);
}

/* More than HS_MIN_EDGES nodes: the edge array starts with room for one
 * edge a node, and must still grow to hold twice that many, each edge
 * exact (two per block: its neighbours, at offsets 0 and 8). */
static void test_edges_past_one_per_node(void **state)
{
    enum { N = 3000 };
    void ***blocks = calloc(N, sizeof *blocks);
    rs_node_t *nodes = calloc(N, sizeof *nodes);
    for (int i = 0; i < N; i++)
        blocks[i] = calloc(4, sizeof(void *));
    for (int i = 0; i < N; i++) {
        blocks[i][0] = blocks[(i + 1) % N];
        blocks[i][1] = blocks[(i + N - 1) % N];
        nodes[i] = node(blocks[i], 4 * sizeof(void *));
    }
    rs_heap_t h = {.nodes = nodes, .n_nodes = N};
    rs_heapscan_sort_nodes(&h);
    assert_int_equal(rs_heapscan_edges(&h), 0);
    assert_int_equal(h.n_edges, 2 * N);
    for (int i = 0; i < N; i++) {
        uint32_t me = rs_heapscan_find(&h, A(blocks[i]));
        assert_int_equal(out_degree(&h, me), 2);
        assert_true(has_edge(&h, me, rs_heapscan_find(&h, A(blocks[(i + 1) % N])), 0));
        assert_true(has_edge(&h, me, rs_heapscan_find(&h, A(blocks[(i + N - 1) % N])), 8));
    }
    rs_heapscan_free_edges(&h);
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    free(blocks);
    free(nodes);
}

static void test_many_edges_grow(void **state)
{
    const size_t n_ptr = 5000;
    void **arr = calloc(n_ptr, sizeof *arr);
    void *x = calloc(1, 16), *y = calloc(1, 32); /* y declared 16 long */
    for (size_t i = 0; i < n_ptr; i++)
        arr[i] = i % 2 ? x : (char *)y + 16;
    rs_node_t nodes[3] = {node(arr, n_ptr * sizeof *arr), node(x, 16), node(y, 16)};
    rs_heap_t h = {.nodes = nodes, .n_nodes = 3};
    rs_heapscan_sort_nodes(&h);
    uint32_t iarr = rs_heapscan_find(&h, A(arr)), iy = rs_heapscan_find(&h, A(y));
    assert_int_equal(rs_heapscan_edges(&h), 0);
    assert_int_equal(h.n_edges, n_ptr);
    assert_int_equal(out_degree(&h, iarr), n_ptr);
    for (uint32_t e = h.edge_start[iarr]; e < h.edge_start[iarr + 1]; e++) {
        uint32_t k = e - h.edge_start[iarr];
        assert_int_equal(h.edges[e].offset, k * 8); /* increasing offsets */
        if (k % 2 == 0)
            assert_int_equal(h.edges[e].dst, iy);
    }
    rs_heapscan_free_edges(&h);
    free(arr);
    free(x);
    free(y);
}

/* ---- roots ------------------------------------------------------------------ */

static void test_roots(void **state)
{
    void *a = calloc(1, 64), *b = calloc(1, 32); /* a declared 32 long */
    global_area[0] = a;
    global_area[1] = (void *)1;
    global_area[2] = (char *)b + 31;
    global_area[3] = NULL;
    void *on_stack[3] = {NULL, b, (char *)a + 32};
    rs_node_t nodes[2] = {node(a, 32), node(b, 32)};
    rs_root_t roots[3] = {
        /* starts 4 bytes into global_area: the word at 0 is not scanned */
        {.start = A(global_area) + 4, .size = sizeof global_area - 4, .kind = RS_ROOT_GLOBAL},
        {.start = A(on_stack), .size = sizeof on_stack, .kind = RS_ROOT_STACK},
        {.start = A(on_stack), .size = 0, .kind = RS_ROOT_USER},
    };
    rs_heap_t h = {.nodes = nodes, .n_nodes = 2, .roots = roots, .n_roots = 3};
    rs_heapscan_sort_nodes(&h);
    uint32_t ia = rs_heapscan_find(&h, A(a)), ib = rs_heapscan_find(&h, A(b));
    assert_int_equal(rs_heapscan_roots(&h), 0);
    assert_int_equal(h.n_root_edges, 3);
    rs_root_edge_t want[3] = {{0, ib, 12}, {1, ib, 8}, {1, ia, 16}};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(h.root_edges[i].root, want[i].root);
        assert_int_equal(h.root_edges[i].dst, want[i].dst);
        assert_int_equal(h.root_edges[i].offset, want[i].offset);
    }
    rs_heapscan_free_edges(&h);
    assert_null(h.root_edges);
    assert_int_equal(h.n_root_edges, 0);
    rs_heapscan_free_edges(&h); /* twice is fine */
    free(a);
    free(b);
}

/* heap->holes (pages never touched) are skipped in roots: a word of a block's
 * address inside a hole is not scanned, every other one is, and the
 * offsets stay the root's.  Holes cover a root's start, its middle, its
 * end and beyond it, and lie between and outside roots given out of
 * address order. */
static void test_root_holes(void **state)
{
    enum { WORDS = 64 };
    void *blk = calloc(1, 32);
    static void *area[WORDS];            /* two roots: words 0-31, 32-63 */
    for (int i = 0; i < WORDS; i++)
        area[i] = blk;
    rs_node_t nodes[1] = {node(blk, 32)};
    rs_root_t roots[2] = {
        {.start = A(&area[32]), .size = 32 * sizeof(void *), .kind = RS_ROOT_GLOBAL},
        {.start = A(&area[0]), .size = 32 * sizeof(void *), .kind = RS_ROOT_GLOBAL},
    };
    rs_span_t holes[] = {
        {A(&area[0]) - 64, A(&area[2])},  /* before root 1 and its first 2 words */
        {A(&area[10]), A(&area[20])},     /* its middle */
        {A(&area[30]), A(&area[34])},     /* across both roots */
        {A(&area[40]), A(&area[41])},
        {A(&area[63]), A(&area[63]) + 4096},   /* the end, and beyond */
    };
    rs_heap_t h = {.nodes = nodes, .n_nodes = 1, .roots = roots, .n_roots = 2,
                   .holes = holes, .n_holes = 5};
    rs_heapscan_sort_nodes(&h);
    assert_int_equal(rs_heapscan_roots(&h), 0);
    /* Scanned: 34-39, 41-62 of root 0; 2-9, 20-29 of root 1. */
    uint8_t seen[WORDS] = {0};
    for (uint64_t e = 0; e < h.n_root_edges; e++) {
        const rs_root_edge_t *re = &h.root_edges[e];
        assert_int_equal(re->dst, 0);
        assert_int_equal(re->offset % sizeof(void *), 0);
        uint32_t word = (uint32_t)(re->offset / sizeof(void *)) + (re->root == 0 ? 32 : 0);
        assert_true(word < WORDS);
        seen[word]++;
    }
    for (int i = 0; i < WORDS; i++) {
        int in_hole = i < 2 || (i >= 10 && i < 20) || (i >= 30 && i < 34) || i == 40 || i == 63;
        assert_int_equal(seen[i], in_hole ? 0 : 1);
    }
    assert_int_equal(h.n_root_edges, 6 + 22 + 8 + 10);
    rs_heapscan_free_edges(&h);
    free(blk);
}

/* heap->holes inside blocks are skipped too, with the block's offsets;
 * blocks before, between and after holes are scanned whole. */
static void test_block_holes(void **state)
{
    enum { PAGE = 4096, WORDS = 4 * PAGE / 8 };
    void **x = aligned_alloc(PAGE, 4 * PAGE);
    void **y = calloc(4, sizeof *y), **z = calloc(4, sizeof *z);
    for (int i = 0; i < WORDS; i++)
        x[i] = y;
    y[1] = x;
    z[2] = y;
    rs_node_t nodes[3] = {node(x, 4 * PAGE), node(y, 32), node(z, 32)};
    rs_span_t holes[] = {
        {A(x) + PAGE, A(x) + 2 * PAGE},            /* page 1 */
        {A(x) + 3 * PAGE + 2048, A(x) + 4 * PAGE},  /* the second half of page 3 */
    };
    rs_span_t far[] = {{8, 16}};                   /* below every block */
    rs_heap_t h = {.nodes = nodes, .n_nodes = 3, .holes = holes, .n_holes = 2};
    rs_heapscan_sort_nodes(&h);
    assert_int_equal(rs_heapscan_edges(&h), 0);
    uint32_t ix = rs_heapscan_find(&h, A(x)), iy = rs_heapscan_find(&h, A(y));
    uint32_t iz = rs_heapscan_find(&h, A(z));
    uint32_t want = 0;
    for (uint32_t w = 0; w < WORDS; w++) {
        uint32_t off = w * 8;
        int skipped = (off >= PAGE && off < 2 * PAGE) || off >= 3 * PAGE + 2048;
        assert_int_equal(has_edge(&h, ix, iy, off), !skipped);
        want += !skipped;
    }
    assert_int_equal(out_degree(&h, ix), want);
    assert_true(has_edge(&h, iy, ix, 8));
    assert_true(has_edge(&h, iz, iy, 16));
    rs_heapscan_free_edges(&h);
    /* A hole no block overlaps changes nothing. */
    h.holes = far;
    h.n_holes = 1;
    assert_int_equal(rs_heapscan_edges(&h), 0);
    assert_int_equal(out_degree(&h, ix), WORDS);
    rs_heapscan_free_edges(&h);
    free(x);
    free(y);
    free(z);
}

/* A root flagged RS_ROOT_FLAG_EXACT (glibc's arenas) only keeps blocks it
 * points at the first byte of: interior and one-past-end words are not
 * references from it, but still are from an ordinary root. */
static void test_exact_root(void **state)
{
    void *a = calloc(1, 32), *b = calloc(1, 32), *c = calloc(1, 32);
    void *words[3] = {a, (char *)b + 8, (char *)c + 32};
    rs_node_t nodes[3] = {node(a, 32), node(b, 32), node(c, 32)};
    rs_root_t roots[2] = {
        {.start = A(words), .size = sizeof words, .kind = RS_ROOT_GLOBAL,
         .flags = RS_ROOT_FLAG_EXACT},
        {.start = A(words), .size = sizeof words, .kind = RS_ROOT_GLOBAL},
    };
    rs_heap_t h = {.nodes = nodes, .n_nodes = 3, .roots = roots, .n_roots = 2};
    rs_heapscan_sort_nodes(&h);
    assert_int_equal(rs_heapscan_roots(&h), 0);
    assert_int_equal(h.n_root_edges, 4);
    assert_int_equal(h.root_edges[0].root, 0);
    assert_int_equal(h.root_edges[0].dst, rs_heapscan_find(&h, A(a)));
    for (int i = 1; i < 4; i++)
        assert_int_equal(h.root_edges[i].root, 1);
    rs_heapscan_free_edges(&h);
    free(a);
    free(b);
    free(c);
}

static void test_no_nodes(void **state)
{
    void *p = &p;
    rs_root_t root = {.start = A(&p), .size = sizeof p, .kind = RS_ROOT_USER};
    rs_heap_t h = {.roots = &root, .n_roots = 1};
    assert_int_equal(rs_heapscan_edges(&h), 0);
    assert_non_null(h.edge_start);
    assert_int_equal(h.edge_start[0], 0);
    assert_int_equal(rs_heapscan_roots(&h), 0);
    assert_int_equal(h.n_root_edges, 0);
    rs_heapscan_free_edges(&h);
}

/* ---- failure injection ------------------------------------------------- */

/* failing rs_mem backend: test_support.h */

static void test_out_of_memory(void **state)
{
    const size_t n_ptr = 3000; /* needs the edge array to grow twice */
    void **arr = calloc(n_ptr, sizeof *arr);
    for (size_t i = 0; i < n_ptr; i++)
        arr[i] = arr;
    rs_node_t nodes[1] = {node(arr, n_ptr * sizeof *arr)};
    rs_root_t root = {.start = A(arr), .size = n_ptr * sizeof *arr, .kind = RS_ROOT_USER};
    rs_heap_t h = {.nodes = nodes, .n_nodes = 1, .roots = &root, .n_roots = 1};
    for (int budget = 0; budget < 4; budget++) {
        allocs_left = budget;
        rs_mem_set_backend(&failing);
        int rc_edges = rs_heapscan_edges(&h);
        allocs_left = budget;
        int rc_roots = rs_heapscan_roots(&h);
        rs_mem_set_backend(NULL);
        assert_int_equal(rc_edges, -1);
        assert_null(h.edge_start);
        assert_null(h.edges);
        assert_int_equal(h.n_edges, 0);
        if (budget < 3) {
            assert_int_equal(rc_roots, -1);
            assert_null(h.root_edges);
            assert_int_equal(h.n_root_edges, 0);
        } else {
            assert_int_equal(rc_roots, 0);
            assert_int_equal(h.n_root_edges, n_ptr);
            rs_heapscan_free_edges(&h);
        }
    }
    allocs_left = 4;
    rs_mem_set_backend(&failing);
    assert_int_equal(rs_heapscan_edges(&h), 0);
    rs_mem_set_backend(NULL);
    assert_int_equal(h.n_edges, n_ptr);
    rs_heapscan_free_edges(&h);
    free(arr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_sort),
        cmocka_unit_test(test_edges_real_blocks),
        cmocka_unit_test(test_adjacent_blocks),
        cmocka_unit_test(test_header_not_referenced),
        cmocka_unit_test(test_self_edge_at_object),
        cmocka_unit_test(test_compressed_pointers),
        cmocka_unit_test(test_edges_past_one_per_node),
        cmocka_unit_test(test_many_edges_grow),
        cmocka_unit_test(test_roots),
        cmocka_unit_test(test_root_holes),
        cmocka_unit_test(test_block_holes),
        cmocka_unit_test(test_exact_root),
        cmocka_unit_test(test_no_nodes),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
