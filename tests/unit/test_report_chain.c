/*
 * test_report_chain.c - unit tests of lib/report_chain on hand-built heap
 * graphs: shortest chains, the root preference (a global over a stack at
 * the same length, a shorter stack chain over a longer global one), the
 * alternatives through different referrers, --max, chains of unreachable
 * blocks from their leak owner, referrers, and a differential test that
 * checks distances and every chain's hops against a naive fixed-point
 * computation on random graphs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report_chain.h"

#define MAXN 40
#define MAXE 200

typedef struct graph {
    rs_node_t      nodes[MAXN];
    uint32_t       edge_start[MAXN + 1];
    rs_edge_t      edges[MAXE];
    rs_root_t      roots[8];
    rs_root_edge_t root_edges[16];
    /* edges as added, before CSR */
    uint32_t       src[MAXE], dst[MAXE], off[MAXE];
    uint32_t       n_raw;
    rs_snapshot_t  snap;
} graph_t;

static void g_init(graph_t *g, uint32_t n)
{
    memset(g, 0, sizeof *g);
    for (uint32_t i = 0; i < n; i++)
        g->nodes[i] = (rs_node_t){ .addr = 0x10000 + 0x100 * (uint64_t)i, .size = 64,
                                   .cls = RS_CLASS_REACHABLE, .owner = UINT32_MAX };
    g->snap.heap.nodes = g->nodes;
    g->snap.heap.n_nodes = n;
    g->snap.heap.roots = g->roots;
    g->snap.heap.root_edges = g->root_edges;
}

static void g_edge(graph_t *g, uint32_t s, uint32_t d, uint32_t off)
{
    assert_true(g->n_raw < MAXE);
    g->src[g->n_raw] = s;
    g->dst[g->n_raw] = d;
    g->off[g->n_raw++] = off;
}

static uint32_t g_root(graph_t *g, rs_root_kind_t kind)
{
    uint32_t r = g->snap.heap.n_roots++;
    g->roots[r] = (rs_root_t){ .start = 0x900000 + 0x1000 * (uint64_t)r, .size = 0x100,
                               .kind = kind, .module = UINT32_MAX, .tid = 7 };
    return r;
}

static void g_root_edge(graph_t *g, uint32_t root, uint32_t dst, uint64_t off)
{
    g->root_edges[g->snap.heap.n_root_edges++] = (rs_root_edge_t){ root, dst, off };
}

/* Builds the CSR arrays from the raw edges (sorted by source). */
static void g_finish(graph_t *g)
{
    uint32_t n = g->snap.heap.n_nodes, at = 0;
    for (uint32_t s = 0; s < n; s++) {
        g->edge_start[s] = at;
        for (uint32_t e = 0; e < g->n_raw; e++)
            if (g->src[e] == s)
                g->edges[at++] = (rs_edge_t){ g->dst[e], g->off[e] };
    }
    g->edge_start[n] = at;
    g->snap.heap.edge_start = g->edge_start;
    g->snap.heap.edges = g->edges;
    g->snap.heap.n_edges = at;
}

static int has_edge(const graph_t *g, uint32_t s, uint32_t d, uint64_t off)
{
    for (uint32_t e = g->edge_start[s]; e < g->edge_start[s + 1]; e++)
        if (g->edges[e].dst == d && g->edges[e].offset == off)
            return 1;
    return 0;
}

/* A chain must be a real path: the root points at hop 0, each hop at the
 * next at the given offset. */
static void assert_valid_chain(const graph_t *g, const rs_chain_t *c)
{
    if (c->root != RS_CHAIN_NONE) {
        int found = 0;
        for (uint64_t i = 0; i < g->snap.heap.n_root_edges; i++)
            found |= g->root_edges[i].root == c->root &&
                     g->root_edges[i].dst == c->hops[0].node &&
                     g->root_edges[i].offset == c->hops[0].offset;
        assert_true(found);
    }
    for (uint32_t h = 1; h < c->n_hops; h++)
        assert_true(has_edge(g, c->hops[h - 1].node, c->hops[h].node, c->hops[h].offset));
}

/*   stack -> 0 -> 1 -> 2 -> 3 ;  global -> 4 -> 3 ;  global -> 5 (-> 3 at +24)
 * 3 is reachable in 2 hops from the global (via 4 or 5) and in 4 from the
 * stack.  6 is leaked, 7 indirect (owner 6) through 6 -> 8 -> 7. */
static void small_graph(graph_t *g)
{
    g_init(g, 9);
    uint32_t stack = g_root(g, RS_ROOT_STACK);
    uint32_t global = g_root(g, RS_ROOT_GLOBAL);
    g_root_edge(g, stack, 0, 16);
    g_root_edge(g, global, 4, 8);
    g_root_edge(g, global, 5, 40);
    g_edge(g, 0, 1, 0);
    g_edge(g, 1, 2, 8);
    g_edge(g, 2, 3, 16);
    g_edge(g, 4, 3, 32);
    g_edge(g, 5, 3, 24);
    g_edge(g, 6, 8, 0);
    g_edge(g, 8, 7, 8);
    g->nodes[6].cls = RS_CLASS_LEAKED;
    g->nodes[8].cls = RS_CLASS_INDIRECT;
    g->nodes[8].owner = 6;
    g->nodes[7].cls = RS_CLASS_INDIRECT;
    g->nodes[7].owner = 6;
    g_finish(g);
}

static void test_shortest_from_global(void **state)
{
    (void)state;
    graph_t *g = malloc(sizeof *g);
    small_graph(g);
    rs_chain_index_t *x = rs_chain_index_build(&g->snap);
    assert_non_null(x);
    assert_int_equal(rs_chain_distance(x, 3), 2);
    assert_int_equal(rs_chain_distance(x, 2), 3);
    assert_int_equal(rs_chain_distance(x, 6), 0);
    uint32_t t = 3;
    rs_chain_t *c;
    uint32_t n;
    assert_int_equal(rs_chain_find(x, &t, 1, 3, &c, &n), 0);
    assert_int_equal(n, 3);
    /* two 2-hop chains from the global (via 4 and 5), then the stack one */
    assert_int_equal(c[0].n_hops, 2);
    assert_int_equal(c[0].root, 1);
    assert_int_equal(c[1].n_hops, 2);
    assert_int_equal(c[1].root, 1);
    assert_true((c[0].hops[0].node == 4 && c[1].hops[0].node == 5));
    assert_int_equal(c[0].hops[1].offset, 32);
    assert_int_equal(c[1].hops[1].offset, 24);
    assert_int_equal(c[2].n_hops, 4);
    assert_int_equal(c[2].root, 0);
    assert_int_equal(c[2].hops[0].offset, 16);
    for (uint32_t i = 0; i < n; i++)
        assert_valid_chain(g, &c[i]);
    rs_chains_free(c, n);
    /* --max 1 keeps the best one only */
    assert_int_equal(rs_chain_find(x, &t, 1, 1, &c, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(c[0].hops[0].node, 4);
    rs_chains_free(c, n);
    rs_chain_index_destroy(x);
    free(g);
}

static void test_stack_wins_when_shorter(void **state)
{
    (void)state;
    graph_t *g = malloc(sizeof *g);
    g_init(g, 3);
    uint32_t global = g_root(g, RS_ROOT_GLOBAL);
    uint32_t stack = g_root(g, RS_ROOT_STACK);
    g_root_edge(g, global, 0, 0);
    g_edge(g, 0, 1, 0);
    g_edge(g, 1, 2, 0);
    g_root_edge(g, stack, 2, 8);
    g_finish(g);
    rs_chain_index_t *x = rs_chain_index_build(&g->snap);
    uint32_t t = 2;
    rs_chain_t *c;
    uint32_t n;
    assert_int_equal(rs_chain_find(x, &t, 1, 0, &c, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(c[0].root, stack);
    assert_int_equal(c[0].n_hops, 1);
    assert_int_equal(c[1].root, global);
    assert_int_equal(c[1].n_hops, 3);
    rs_chains_free(c, n);
    rs_chain_index_destroy(x);
    free(g);
}

static void test_unreachable_from_owner(void **state)
{
    (void)state;
    graph_t *g = malloc(sizeof *g);
    small_graph(g);
    rs_chain_index_t *x = rs_chain_index_build(&g->snap);
    uint32_t t = 7;
    rs_chain_t *c;
    uint32_t n;
    assert_int_equal(rs_chain_find(x, &t, 1, 3, &c, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(c[0].root, RS_CHAIN_NONE);
    assert_int_equal(c[0].n_hops, 3);
    assert_int_equal(c[0].hops[0].node, 6);
    assert_int_equal(c[0].hops[1].node, 8);
    assert_int_equal(c[0].hops[2].node, 7);
    assert_int_equal(c[0].hops[2].offset, 8);
    rs_chains_free(c, n);
    /* a leak itself: the chain is the block alone */
    t = 6;
    assert_int_equal(rs_chain_find(x, &t, 1, 3, &c, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(c[0].n_hops, 1);
    assert_int_equal(c[0].hops[0].node, 6);
    rs_chains_free(c, n);
    rs_chain_index_destroy(x);
    free(g);
}

static void test_referrers(void **state)
{
    (void)state;
    graph_t *g = malloc(sizeof *g);
    small_graph(g);
    rs_chain_index_t *x = rs_chain_index_build(&g->snap);
    rs_referrer_t *r;
    uint32_t n;
    assert_int_equal(rs_chain_referrers(x, 3, &r, &n), 0);
    assert_int_equal(n, 3);
    uint32_t seen = 0;
    for (uint32_t i = 0; i < n; i++) {
        assert_false(r[i].is_root);
        seen |= 1u << r[i].from;
    }
    assert_int_equal(seen, (1u << 2) | (1u << 4) | (1u << 5));
    free(r);
    assert_int_equal(rs_chain_referrers(x, 0, &r, &n), 0);
    assert_int_equal(n, 1);
    assert_true(r[0].is_root);
    assert_int_equal(r[0].offset, 16);
    free(r);
    rs_chain_index_destroy(x);
    free(g);
}

/* Naive distances: relax until nothing changes. */
static void naive_dist(const graph_t *g, uint32_t *dist)
{
    uint32_t n = g->snap.heap.n_nodes;
    for (uint32_t i = 0; i < n; i++)
        dist[i] = 0;
    for (uint64_t i = 0; i < g->snap.heap.n_root_edges; i++)
        dist[g->root_edges[i].dst] = 1;
    for (int changed = 1; changed;) {
        changed = 0;
        for (uint32_t e = 0; e < g->n_raw; e++) {
            uint32_t s = g->src[e], d = g->dst[e];
            if (dist[s] && (!dist[d] || dist[s] + 1 < dist[d])) {
                dist[d] = dist[s] + 1;
                changed = 1;
            }
        }
    }
}

static void test_random_differential(void **state)
{
    (void)state;
    graph_t *g = malloc(sizeof *g);
    srand(12345);
    for (int round = 0; round < 200; round++) {
        uint32_t n = 5 + (uint32_t)(rand() % (MAXN - 5));
        g_init(g, n);
        uint32_t nr = 1 + (uint32_t)(rand() % 3);
        for (uint32_t r = 0; r < nr; r++)
            g_root(g, (rs_root_kind_t)(1 + rand() % 4));
        uint32_t nre = (uint32_t)(rand() % 4);
        for (uint32_t k = 0; k < nre; k++)
            g_root_edge(g, (uint32_t)rand() % nr, (uint32_t)rand() % n, 8 * (uint64_t)(rand() % 8));
        uint32_t ne = (uint32_t)(rand() % (3 * n));
        for (uint32_t k = 0; k < ne && g->n_raw < MAXE; k++)
            g_edge(g, (uint32_t)rand() % n, (uint32_t)rand() % n, 8 * (uint32_t)(rand() % 8));
        g_finish(g);
        uint32_t dist[MAXN];
        naive_dist(g, dist);
        rs_chain_index_t *x = rs_chain_index_build(&g->snap);
        assert_non_null(x);
        for (uint32_t t = 0; t < n; t++) {
            assert_int_equal(rs_chain_distance(x, t), dist[t]);
            if (!dist[t])
                continue;
            rs_chain_t *c;
            uint32_t nc;
            assert_int_equal(rs_chain_find(x, &t, 1, 5, &c, &nc), 0);
            assert_true(nc >= 1);
            assert_int_equal(c[0].n_hops, dist[t]);
            for (uint32_t i = 0; i < nc; i++) {
                assert_int_equal(c[i].hops[c[i].n_hops - 1].node, t);
                assert_true(c[i].n_hops >= dist[t]);
                assert_true(i == 0 || c[i].n_hops >= c[i - 1].n_hops);
                assert_valid_chain(g, &c[i]);
            }
            rs_chains_free(c, nc);
        }
        rs_chain_index_destroy(x);
    }
    free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shortest_from_global),
        cmocka_unit_test(test_stack_wins_when_shorter),
        cmocka_unit_test(test_unreachable_from_owner),
        cmocka_unit_test(test_referrers),
        cmocka_unit_test(test_random_differential),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
