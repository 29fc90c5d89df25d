/*
 * test_classify.c - unit tests of lib/model/classify.c.
 *
 * Hand-built graphs for each rule in classify.c's header comment, a
 * differential test against naive_classify.h on thousands of random small
 * graphs, a failure-injection test, and scale tests (no timing asserts).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_support.h"

#include "classify.h"
#include "naive_classify.h"
#include "rs_mem.h"

/* ---- graph builder ---------------------------------------------------- */

typedef struct gb {
    uint32_t        n;
    rs_node_t      *nodes;
    uint32_t       *esrc, *edst;
    uint64_t        ne, ecap;
    rs_root_edge_t *roots;
    uint64_t        nr, rcap;
    rs_heap_t       heap;
} gb_t;

static void gb_init(gb_t *g, uint32_t n)
{
    memset(g, 0, sizeof *g);
    g->n = n;
    g->nodes = calloc(n ? n : 1, sizeof *g->nodes);
    assert_non_null(g->nodes);
    for (uint32_t i = 0; i < n; i++) {
        g->nodes[i].addr = 0x10000 + (uint64_t)i * 64;
        g->nodes[i].size = 48;
        g->nodes[i].owner = 12345; /* classify must overwrite */
        g->nodes[i].cls = RS_CLASS_LEAKED;
    }
}

static void gb_rc(gb_t *g, uint32_t i, int64_t refcount)
{
    g->nodes[i].flags |= RS_NODE_REFCOUNTED;
    g->nodes[i].type_id = 1;
    g->nodes[i].refcount = refcount;
}

static void gb_edge(gb_t *g, uint32_t u, uint32_t v)
{
    if (g->ne == g->ecap) {
        g->ecap = g->ecap ? g->ecap * 2 : 64;
        g->esrc = realloc(g->esrc, g->ecap * sizeof *g->esrc);
        g->edst = realloc(g->edst, g->ecap * sizeof *g->edst);
        assert_true(g->esrc && g->edst);
    }
    g->esrc[g->ne] = u;
    g->edst[g->ne++] = v;
}

static void gb_root(gb_t *g, uint32_t v)
{
    if (g->nr == g->rcap) {
        g->rcap = g->rcap ? g->rcap * 2 : 8;
        g->roots = realloc(g->roots, g->rcap * sizeof *g->roots);
        assert_non_null(g->roots);
    }
    g->roots[g->nr] = (rs_root_edge_t){0, v, g->nr * 8};
    g->nr++;
}

/* CSR from the edge list, keeping insertion order per source. */
static rs_heap_t *gb_build(gb_t *g)
{
    rs_heap_t *h = &g->heap;
    free(h->edge_start);
    free(h->edges);
    memset(h, 0, sizeof *h);
    h->nodes = g->nodes;
    h->n_nodes = g->n;
    h->edge_start = calloc(g->n + 1, sizeof *h->edge_start);
    h->edges = calloc(g->ne ? g->ne : 1, sizeof *h->edges);
    assert_true(h->edge_start && h->edges);
    for (uint64_t e = 0; e < g->ne; e++)
        h->edge_start[g->esrc[e] + 1]++;
    for (uint32_t i = 0; i < g->n; i++)
        h->edge_start[i + 1] += h->edge_start[i];
    uint32_t *fill = calloc(g->n ? g->n : 1, sizeof *fill);
    assert_non_null(fill);
    for (uint64_t e = 0; e < g->ne; e++) {
        uint32_t u = g->esrc[e];
        uint32_t k = fill[u]++;
        h->edges[h->edge_start[u] + k] = (rs_edge_t){g->edst[e], k * 8};
    }
    free(fill);
    h->n_edges = g->ne;
    h->root_edges = g->roots;
    h->n_root_edges = g->nr;
    return h;
}

static void gb_free(gb_t *g)
{
    free(g->heap.edge_start);
    free(g->heap.edges);
    free(g->nodes);
    free(g->esrc);
    free(g->edst);
    free(g->roots);
}

static void classify_ok(gb_t *g, rs_summary_t *s)
{
    memset(s, 0, sizeof *s);
    assert_int_equal(rs_classify(gb_build(g), s), 0);
}

static void expect(const gb_t *g, uint32_t i, rs_class_t cls, uint32_t owner)
{
    assert_string_equal(rs_class_name((rs_class_t)g->nodes[i].cls), rs_class_name(cls));
    assert_int_equal(g->nodes[i].owner, owner);
}

#define NONE UINT32_MAX

/* ---- rules ----------------------------------------------------------- */

static void test_direct_and_reachable(void **state)
{
    gb_t g;
    rs_summary_t s;
    gb_init(&g, 3);
    gb_root(&g, 0);
    gb_edge(&g, 0, 1); /* 0 -> 1 reachable through the heap */
    classify_ok(&g, &s);
    expect(&g, 0, RS_CLASS_REACHABLE, NONE);
    expect(&g, 1, RS_CLASS_REACHABLE, NONE);
    expect(&g, 2, RS_CLASS_LEAKED, NONE);
    assert_int_equal(s.by_class[RS_CLASS_REACHABLE].blocks, 2);
    assert_int_equal(s.by_class[RS_CLASS_LEAKED].blocks, 1);
    assert_int_equal(s.by_class[RS_CLASS_LEAKED].bytes, 48);
    assert_int_equal(s.cycle_groups, 0);
    assert_int_equal(s.leaked_refs, 0);
    gb_free(&g);
}

static void test_indirect_chain(void **state)
{
    gb_t g;
    rs_summary_t s;
    gb_init(&g, 3);
    gb_edge(&g, 0, 1);
    gb_edge(&g, 1, 2);
    classify_ok(&g, &s);
    expect(&g, 0, RS_CLASS_LEAKED, NONE);
    expect(&g, 1, RS_CLASS_INDIRECT, 0);
    expect(&g, 2, RS_CLASS_INDIRECT, 0);
    assert_int_equal(s.by_class[RS_CLASS_INDIRECT].blocks, 2);
    gb_free(&g);
}

static void test_plain_two_cycle(void **state)
{
    gb_t g;
    rs_summary_t s;
    gb_init(&g, 3);
    gb_edge(&g, 1, 2);
    gb_edge(&g, 2, 1);
    classify_ok(&g, &s);
    expect(&g, 0, RS_CLASS_LEAKED, NONE);
    expect(&g, 1, RS_CLASS_LEAKED, NONE);   /* lowest address */
    expect(&g, 2, RS_CLASS_INDIRECT, 1);
    assert_int_equal(s.cycle_groups, 0);
    gb_free(&g);
}

static void test_self_pointers(void **state)
{
    gb_t g;
    rs_summary_t s;
    gb_init(&g, 2);
    gb_edge(&g, 0, 0);          /* plain self pointer: leaked          */
    gb_rc(&g, 1, 1);
    gb_edge(&g, 1, 1);          /* refcounted, held by itself: a cycle */
    classify_ok(&g, &s);
    expect(&g, 0, RS_CLASS_LEAKED, NONE);
    expect(&g, 1, RS_CLASS_CYCLE, 0);
    assert_int_equal(s.cycle_groups, 1);
    gb_free(&g);
}

static void test_refcounted_two_cycle(void **state)
{
    gb_t g;
    rs_summary_t s;
    gb_init(&g, 4);
    gb_rc(&g, 0, 1);
    gb_rc(&g, 1, 1);
    gb_edge(&g, 0, 1);
    gb_edge(&g, 1, 0);
    gb_edge(&g, 1, 2); /* plain child of the cycle        */
    gb_edge(&g, 2, 3); /* and its child                   */
    classify_ok(&g, &s);
    expect(&g, 0, RS_CLASS_CYCLE, 0);
    expect(&g, 1, RS_CLASS_CYCLE, 0);
    expect(&g, 2, RS_CLASS_INDIRECT, 1);
    expect(&g, 3, RS_CLASS_INDIRECT, 1);
    assert_int_equal(s.cycle_groups, 1);
    assert_int_equal(s.leaked_refs, 0);
    assert_int_equal(s.by_class[RS_CLASS_CYCLE].blocks, 2);
    gb_free(&g);
}

static void test_group_ids_follow_lowest_member(void **state)
{
    gb_t g;
    rs_summary_t s;
    gb_init(&g, 4);
    for (uint32_t i = 0; i < 4; i++)
        gb_rc(&g, i, 1);
    gb_edge(&g, 0, 3); /* group {0,3} */
    gb_edge(&g, 3, 0);
    gb_edge(&g, 1, 2); /* group {1,2} */
    gb_edge(&g, 2, 1);
    classify_ok(&g, &s);
    expect(&g, 0, RS_CLASS_CYCLE, 0);
    expect(&g, 3, RS_CLASS_CYCLE, 0);
    expect(&g, 1, RS_CLASS_CYCLE, 1);
    expect(&g, 2, RS_CLASS_CYCLE, 1);
    assert_int_equal(s.cycle_groups, 2);
    gb_free(&g);
}

static void test_leaked_ref_with_children(void **state)
{
    gb_t g;
    rs_summary_t s;
    gb_init(&g, 4);
    gb_rc(&g, 0, 3);   /* one pointer (from 3) explains 1 of 3 refs */
    gb_rc(&g, 2, 1);
    gb_edge(&g, 0, 1);
    gb_edge(&g, 1, 2);
    gb_edge(&g, 2, 3);
    gb_edge(&g, 3, 0);
    classify_ok(&g, &s);
    expect(&g, 0, RS_CLASS_LEAKED_REF, NONE);
    expect(&g, 1, RS_CLASS_INDIRECT, 0);
    expect(&g, 2, RS_CLASS_INDIRECT, 0);
    expect(&g, 3, RS_CLASS_INDIRECT, 0);
    assert_int_equal(s.leaked_refs, 2);
    assert_int_equal(s.cycle_groups, 0);
    gb_free(&g);
}

static void test_cycle_member_with_extra_ref(void **state)
{
    gb_t g;
    rs_summary_t s;
    gb_init(&g, 2);
    gb_rc(&g, 0, 1);
    gb_rc(&g, 1, 2);   /* one reference more than the cycle explains */
    gb_edge(&g, 0, 1);
    gb_edge(&g, 1, 0);
    classify_ok(&g, &s);
    expect(&g, 0, RS_CLASS_INDIRECT, 1);
    expect(&g, 1, RS_CLASS_LEAKED_REF, NONE);
    assert_int_equal(s.leaked_refs, 1);
    assert_int_equal(s.cycle_groups, 0);
    gb_free(&g);
}

static void test_weak_back_pointer_keeps_live(void **state)
{
    gb_t g;
    rs_summary_t s;
    /* parent (rc 1, held by a global) -> child (rc 1) -> parent (weak) */
    gb_init(&g, 2);
    gb_rc(&g, 0, 1);
    gb_rc(&g, 1, 1);
    gb_root(&g, 0);
    gb_edge(&g, 0, 1);
    gb_edge(&g, 1, 0);
    classify_ok(&g, &s);
    expect(&g, 0, RS_CLASS_REACHABLE, NONE);
    expect(&g, 1, RS_CLASS_REACHABLE, NONE);
    assert_int_equal(s.by_class[RS_CLASS_REACHABLE].blocks, 2);
    assert_int_equal(s.leaked_refs, 0);
    gb_free(&g);
}

static void test_weak_edge_not_counted(void **state)
{
    gb_t g;
    rs_summary_t s;
    /* A lost parent (rc 1) -> child (rc 1) -> parent by a back pointer
     * that holds no reference (a profile's `weak offset=`): without the
     * mark, a cycle; with it, the parent's reference is unexplained (a
     * leaked reference) and the child is its indirect leak. */
    gb_init(&g, 2);
    gb_rc(&g, 0, 1);
    gb_rc(&g, 1, 1);
    gb_edge(&g, 0, 1);
    gb_edge(&g, 1, 0);          /* edge 1 in CSR order */
    classify_ok(&g, &s);
    expect(&g, 0, RS_CLASS_CYCLE, 0);
    expect(&g, 1, RS_CLASS_CYCLE, 0);
    uint64_t weak = 1u << 1;
    rs_heap_t *h = gb_build(&g);
    h->weak_edges = &weak;
    memset(&s, 0, sizeof s);
    assert_int_equal(rs_classify(h, &s), 0);
    expect(&g, 0, RS_CLASS_LEAKED_REF, NONE);
    expect(&g, 1, RS_CLASS_INDIRECT, 0);
    assert_int_equal(s.leaked_refs, 1);
    assert_int_equal(s.cycle_groups, 0);
    gb_free(&g);
}

static void test_borrowed_pointers_clamp(void **state)
{
    gb_t g;
    rs_summary_t s;
    /* 1 has refcount 0 but two pointers to it: gc_refs -2, garbage. */
    gb_init(&g, 2);
    gb_rc(&g, 1, 0);
    gb_edge(&g, 0, 1);
    gb_edge(&g, 0, 1);
    classify_ok(&g, &s);
    expect(&g, 0, RS_CLASS_LEAKED, NONE);
    expect(&g, 1, RS_CLASS_INDIRECT, 0);
    assert_int_equal(s.leaked_refs, 0);
    gb_free(&g);
}

static void test_cycle_through_plain_array(void **state)
{
    gb_t g;
    rs_summary_t s;
    /* object 0 -> its children array 1 (plain) -> child 2 -> object 0 */
    gb_init(&g, 3);
    gb_rc(&g, 0, 1);
    gb_rc(&g, 2, 1);
    gb_edge(&g, 0, 1);
    gb_edge(&g, 1, 2);
    gb_edge(&g, 2, 0);
    classify_ok(&g, &s);
    expect(&g, 0, RS_CLASS_CYCLE, 0);
    expect(&g, 1, RS_CLASS_CYCLE, 0);
    expect(&g, 2, RS_CLASS_CYCLE, 0);
    assert_int_equal(s.cycle_groups, 1);
    assert_int_equal(s.by_class[RS_CLASS_CYCLE].blocks, 3);
    gb_free(&g);
}

static void test_leaked_block_holding_cycle(void **state)
{
    gb_t g;
    rs_summary_t s;
    gb_init(&g, 3);
    gb_rc(&g, 1, 2);
    gb_rc(&g, 2, 1);
    gb_edge(&g, 0, 1);
    gb_edge(&g, 1, 2);
    gb_edge(&g, 2, 1);
    classify_ok(&g, &s);
    expect(&g, 0, RS_CLASS_LEAKED, NONE);
    expect(&g, 1, RS_CLASS_CYCLE, 0);
    expect(&g, 2, RS_CLASS_CYCLE, 0);
    gb_free(&g);
}

static void test_ignored_is_root(void **state)
{
    gb_t g;
    rs_summary_t s;
    gb_init(&g, 3);
    g.nodes[1].flags |= RS_NODE_IGNORED;
    gb_edge(&g, 1, 2);
    gb_edge(&g, 0, 1);
    classify_ok(&g, &s);
    expect(&g, 0, RS_CLASS_LEAKED, NONE);
    expect(&g, 1, RS_CLASS_REACHABLE, NONE);
    expect(&g, 2, RS_CLASS_REACHABLE, NONE);
    gb_free(&g);
}

static void test_owner_tie_rule(void **state)
{
    gb_t g;
    rs_summary_t s;
    /* leaked 0 and leaked 1 both point at 2 (same distance): 2 goes to 0.
     * 1 -> 3 -> 4 and 0 -> 5 -> 6 -> 4: 4 goes to 1 (closer). */
    gb_init(&g, 7);
    gb_edge(&g, 1, 2);
    gb_edge(&g, 0, 2);
    gb_edge(&g, 1, 3);
    gb_edge(&g, 3, 4);
    gb_edge(&g, 0, 5);
    gb_edge(&g, 5, 6);
    gb_edge(&g, 6, 4);
    classify_ok(&g, &s);
    expect(&g, 0, RS_CLASS_LEAKED, NONE);
    expect(&g, 1, RS_CLASS_LEAKED, NONE);
    expect(&g, 2, RS_CLASS_INDIRECT, 0);
    expect(&g, 4, RS_CLASS_INDIRECT, 1);
    expect(&g, 6, RS_CLASS_INDIRECT, 0);
    gb_free(&g);
}

static void test_no_edges_array(void **state)
{
    /* A failed scan leaves edge_start NULL: every block is then direct. */
    rs_node_t nodes[2] = {{.addr = 16, .size = 8}, {.addr = 32, .size = 8}};
    rs_heap_t h = {.nodes = nodes, .n_nodes = 2};
    rs_summary_t s;
    assert_int_equal(rs_classify(&h, &s), 0);
    assert_int_equal(nodes[0].cls, RS_CLASS_LEAKED);
    assert_int_equal(nodes[1].cls, RS_CLASS_LEAKED);
    h.n_nodes = 0;
    assert_int_equal(rs_classify(&h, &s), 0);
    assert_int_equal(s.by_class[RS_CLASS_LEAKED].blocks, 0);
}

/* ---- failure injection ------------------------------------------------- */

/* failing rs_mem backend: test_support.h */

static void test_out_of_memory(void **state)
{
    gb_t g;
    gb_init(&g, 4);
    gb_edge(&g, 0, 1);
    gb_build(&g);
    for (int budget = 0; budget < 7; budget++) {
        rs_summary_t s;
        memset(&s, 0xab, sizeof s);
        allocs_left = budget;
        rs_mem_set_backend(&failing);
        int rc = rs_classify(&g.heap, &s);
        rs_mem_set_backend(NULL);
        assert_int_equal(rc, -1);
        for (uint32_t i = 0; i < 4; i++) {
            assert_int_equal(g.nodes[i].cls, RS_CLASS_UNCLASSIFIED);
            assert_int_equal(g.nodes[i].owner, UINT32_MAX);
        }
        assert_int_equal(s.cycle_groups, 0xabababab); /* untouched */
    }
    allocs_left = 7;
    rs_mem_set_backend(&failing);
    rs_summary_t s;
    assert_int_equal(rs_classify(&g.heap, &s), 0);
    rs_mem_set_backend(NULL);
    expect(&g, 1, RS_CLASS_INDIRECT, 0);
    assert_true(rs_mem_out_of_memory());
    gb_free(&g);
}

/* ---- differential test ------------------------------------------------- */

static uint64_t rng_state = 0x853c49e6748fea9bull;
static uint32_t rnd(uint32_t bound)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)((rng_state >> 11) % bound);
}

static void random_graph(gb_t *g)
{
    uint32_t n = 1 + rnd(40);
    gb_init(g, n);
    uint32_t rc_percent = rnd(101);
    for (uint32_t i = 0; i < n; i++) {
        if (rnd(100) < rc_percent)
            gb_rc(g, i, (int64_t)rnd(5) - (rnd(10) == 0));
        if (rnd(40) == 0)
            g->nodes[i].flags |= RS_NODE_IGNORED;
    }
    uint32_t ne = rnd(3 * n + 1);
    for (uint32_t e = 0; e < ne; e++)
        gb_edge(g, rnd(n), rnd(n));
    uint32_t nr = rnd(4);
    for (uint32_t r = 0; r < nr; r++)
        gb_root(g, rnd(n));
}

static void test_differential_random(void **state)
{
    unsigned seen[RS_CLASS_COUNT] = {0};
    for (int iter = 0; iter < 4000; iter++) {
        gb_t g;
        random_graph(&g);
        rs_summary_t s;
        classify_ok(&g, &s);
        naive_result_t want;
        assert_int_equal(naive_classify(&g.heap, &want), 0);
        for (uint32_t i = 0; i < g.n; i++) {
            if (g.nodes[i].cls != want.cls[i] || g.nodes[i].owner != want.owner[i])
                print_error("graph %d node %u: got %s/%u want %s/%u\n", iter, i,
                            rs_class_name((rs_class_t)g.nodes[i].cls), g.nodes[i].owner,
                            rs_class_name((rs_class_t)want.cls[i]), want.owner[i]);
            assert_int_equal(g.nodes[i].cls, want.cls[i]);
            assert_int_equal(g.nodes[i].owner, want.owner[i]);
            seen[want.cls[i]]++;
        }
        assert_int_equal(s.cycle_groups, want.cycle_groups);
        assert_int_equal(s.leaked_refs, want.leaked_refs);
        gb_free(&g);
    }
    /* The generator must exercise every class. */
    for (int c = RS_CLASS_REACHABLE; c < RS_CLASS_COUNT; c++)
        assert_true(seen[c] > 100);
    assert_int_equal(seen[RS_CLASS_UNCLASSIFIED], 0);
}

/* ---- scale ------------------------------------------------------------- */

static void test_scale_two_cycles(void **state)
{
    const uint32_t n = 200000;
    gb_t g;
    gb_init(&g, n);
    for (uint32_t i = 0; i < n; i += 2) {
        gb_rc(&g, i, 1);
        if ((i / 2) % 2 == 0)
            gb_rc(&g, i + 1, 1);  /* half the pairs: two objects          */
        gb_edge(&g, i, i + 1);    /* the other half: object + plain block */
        gb_edge(&g, i + 1, i);
    }
    rs_summary_t s;
    classify_ok(&g, &s);
    assert_int_equal(s.cycle_groups, n / 2);
    assert_int_equal(s.by_class[RS_CLASS_CYCLE].blocks, n);
    assert_int_equal(g.nodes[n - 1].owner, n / 2 - 1);
    gb_free(&g);
}

static void test_scale_deep_ring_and_chain(void **state)
{
    /* A ring of 300k refcounted objects and a 300k-long plain chain hanging
     * off a leaked head: DFS and BFS depth far beyond any C stack. */
    const uint32_t ring = 300000, chain = 300000, n = ring + chain;
    gb_t g;
    gb_init(&g, n);
    for (uint32_t i = 0; i < ring; i++) {
        gb_rc(&g, i, 1);
        gb_edge(&g, i, (i + 1) % ring);
    }
    for (uint32_t i = ring; i + 1 < n; i++)
        gb_edge(&g, i, i + 1);
    rs_summary_t s;
    classify_ok(&g, &s);
    assert_int_equal(s.cycle_groups, 1);
    assert_int_equal(s.by_class[RS_CLASS_CYCLE].blocks, ring);
    assert_int_equal(s.by_class[RS_CLASS_LEAKED].blocks, 1);
    assert_int_equal(s.by_class[RS_CLASS_INDIRECT].blocks, chain - 1);
    expect(&g, n - 1, RS_CLASS_INDIRECT, ring);
    gb_free(&g);
}

/* rs_charge_roots: what each node of a classified heap is charged to,
 * following owners past indirect nodes; none for a missing or self owner
 * and for chains into a cycle (a corrupt snapshot); long chains and a long
 * cycle resolved whole. */
static void test_charge_roots(void **state)
{
    (void)state;
    enum { N = 9, BIG = 100000 };
    static const struct { uint8_t cls; uint32_t owner; uint32_t root; } want[N] = {
        { RS_CLASS_LEAKED, UINT32_MAX, UINT32_MAX },    /* 0: a leak           */
        { RS_CLASS_INDIRECT, 0, 0 },                    /* 1: held by 0        */
        { RS_CLASS_INDIRECT, 1, 0 },                    /* 2: by 1, so by 0    */
        { RS_CLASS_INDIRECT, 2, 0 },                    /* 3: and so on        */
        { RS_CLASS_INDIRECT, 4, UINT32_MAX },           /* 4: itself           */
        { RS_CLASS_INDIRECT, 6, UINT32_MAX },           /* 5: into the cycle   */
        { RS_CLASS_INDIRECT, 7, UINT32_MAX },           /* 6, 7: a cycle       */
        { RS_CLASS_INDIRECT, 6, UINT32_MAX },
        { RS_CLASS_INDIRECT, 99, UINT32_MAX },          /* 8: no such node     */
    };
    rs_node_t nodes[N];
    memset(nodes, 0, sizeof nodes);
    for (uint32_t i = 0; i < N; i++) {
        nodes[i].cls = want[i].cls;
        nodes[i].owner = want[i].owner;
    }
    rs_heap_t h = { .nodes = nodes, .n_nodes = N };
    uint32_t root[N], path[N];
    rs_charge_roots(&h, root, path);
    for (uint32_t i = 0; i < N; i++)
        assert_int_equal(root[i], want[i].root);

    /* A chain of BIG indirect nodes down to one leak, then the same nodes
     * in a ring. */
    rs_node_t *big = calloc(BIG, sizeof *big);
    uint32_t *r = malloc(BIG * sizeof *r), *p = malloc(BIG * sizeof *p);
    assert_non_null(big);
    assert_non_null(r);
    assert_non_null(p);
    big[0].cls = RS_CLASS_LEAKED;
    big[0].owner = UINT32_MAX;
    for (uint32_t i = 1; i < BIG; i++) {
        big[i].cls = RS_CLASS_INDIRECT;
        big[i].owner = i - 1;
    }
    rs_heap_t hb = { .nodes = big, .n_nodes = BIG };
    rs_charge_roots(&hb, r, p);
    for (uint32_t i = 1; i < BIG; i++)
        assert_int_equal(r[i], 0);
    big[0].cls = RS_CLASS_INDIRECT;
    big[0].owner = BIG - 1;
    rs_charge_roots(&hb, r, p);
    for (uint32_t i = 0; i < BIG; i++)
        assert_int_equal(r[i], UINT32_MAX);
    free(big);
    free(r);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direct_and_reachable),
        cmocka_unit_test(test_indirect_chain),
        cmocka_unit_test(test_plain_two_cycle),
        cmocka_unit_test(test_self_pointers),
        cmocka_unit_test(test_refcounted_two_cycle),
        cmocka_unit_test(test_group_ids_follow_lowest_member),
        cmocka_unit_test(test_leaked_ref_with_children),
        cmocka_unit_test(test_cycle_member_with_extra_ref),
        cmocka_unit_test(test_weak_back_pointer_keeps_live),
        cmocka_unit_test(test_weak_edge_not_counted),
        cmocka_unit_test(test_borrowed_pointers_clamp),
        cmocka_unit_test(test_cycle_through_plain_array),
        cmocka_unit_test(test_leaked_block_holding_cycle),
        cmocka_unit_test(test_ignored_is_root),
        cmocka_unit_test(test_owner_tie_rule),
        cmocka_unit_test(test_no_edges_array),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_differential_random),
        cmocka_unit_test(test_scale_two_cycles),
        cmocka_unit_test(test_scale_deep_ring_and_chain),
        cmocka_unit_test(test_charge_roots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
