/*
 * naive_classify.h - an obviously correct, slow reference for rs_classify,
 * used by the differential test in test_classify.c.
 *
 * It states the rules of lib/model/classify.c directly on an adjacency matrix of
 * edge multiplicities, for graphs of at most NAIVE_MAX nodes:
 *  - reachability by repeated relaxation until nothing changes;
 *  - gc_refs by summing a matrix column;
 *  - "same SCC" as mutual reachability in a Warshall transitive closure
 *    restricted to the garbage, "cyclic" as "reaches itself";
 *  - BFS owners as "smallest (distance, seed index)", distances by
 *    Bellman-Ford style relaxation through the allowed nodes.
 * It shares no code with lib/model/classify.c.
 */
#ifndef NAIVE_CLASSIFY_H
#define NAIVE_CLASSIFY_H

#include "rs_model.h"

#include <stdint.h>
#include <string.h>

#define NAIVE_MAX 64
#define NAIVE_INF UINT32_MAX

typedef struct naive_result {
    uint8_t  cls[NAIVE_MAX];
    uint32_t owner[NAIVE_MAX];
    uint32_t cycle_groups;
    uint64_t leaked_refs;
} naive_result_t;

/* Charges every node of `allowed` reachable from a seed through allowed
 * nodes to the seed with the smallest (distance, index); sets cls/owner.
 * owner_of_seed[s] is what an INDIRECT node charged to s records (s). */
static inline void naive_charge(uint32_t n, uint32_t adj[NAIVE_MAX][NAIVE_MAX],
                                const int *seed, const int *allowed,
                                naive_result_t *r)
{
    uint32_t best_d[NAIVE_MAX], best_s[NAIVE_MAX];
    for (uint32_t v = 0; v < n; v++)
        best_d[v] = best_s[v] = NAIVE_INF;
    for (uint32_t s = 0; s < n; s++) {
        if (!seed[s])
            continue;
        uint32_t d[NAIVE_MAX];
        for (uint32_t v = 0; v < n; v++)
            d[v] = NAIVE_INF;
        d[s] = 0;
        for (uint32_t round = 0; round < n; round++)
            for (uint32_t u = 0; u < n; u++)
                if (d[u] != NAIVE_INF && (u == s || allowed[u]))
                    for (uint32_t v = 0; v < n; v++)
                        if (adj[u][v] && allowed[v] && d[u] + 1 < d[v])
                            d[v] = d[u] + 1;
        for (uint32_t v = 0; v < n; v++)
            if (allowed[v] && d[v] != NAIVE_INF &&
                (d[v] < best_d[v] || (d[v] == best_d[v] && s < best_s[v]))) {
                best_d[v] = d[v];
                best_s[v] = s;
            }
    }
    for (uint32_t v = 0; v < n; v++)
        if (best_s[v] != NAIVE_INF) {
            r->cls[v] = RS_CLASS_INDIRECT;
            r->owner[v] = best_s[v];
        }
}

/* Returns 0, or -1 when the heap has more than NAIVE_MAX nodes. */
static inline int naive_classify(const rs_heap_t *h, naive_result_t *r)
{
    uint32_t n = h->n_nodes;
    if (n > NAIVE_MAX)
        return -1;
    static uint32_t adj[NAIVE_MAX][NAIVE_MAX];
    static uint8_t reach[NAIVE_MAX][NAIVE_MAX];
    memset(adj, 0, sizeof adj);
    memset(r, 0, sizeof *r);
    for (uint32_t u = 0; u < n; u++) {
        r->owner[u] = UINT32_MAX;
        if (h->edge_start)
            for (uint32_t e = h->edge_start[u]; e < h->edge_start[u + 1]; e++)
                adj[u][h->edges[e].dst]++;
    }

    /* Reachable: relax until nothing changes. */
    int live[NAIVE_MAX] = {0};
    for (uint64_t e = 0; e < h->n_root_edges; e++)
        live[h->root_edges[e].dst] = 1;
    for (uint32_t v = 0; v < n; v++)
        if (h->nodes[v].flags & RS_NODE_IGNORED)
            live[v] = 1;
    for (int changed = 1; changed;) {
        changed = 0;
        for (uint32_t u = 0; u < n; u++)
            for (uint32_t v = 0; v < n; v++)
                if (live[u] && adj[u][v] && !live[v])
                    live[v] = changed = 1;
    }
    for (uint32_t v = 0; v < n; v++)
        if (live[v])
            r->cls[v] = RS_CLASS_REACHABLE;

    /* Trial deletion. */
    int seed[NAIVE_MAX] = {0}, allowed[NAIVE_MAX] = {0};
    for (uint32_t v = 0; v < n; v++) {
        if (live[v] || !(h->nodes[v].flags & RS_NODE_REFCOUNTED))
            continue;
        int64_t in = 0;
        for (uint32_t u = 0; u < n; u++)
            in += adj[u][v];
        int64_t gc = h->nodes[v].refcount - in;
        if (gc > 0) {
            r->cls[v] = RS_CLASS_LEAKED_REF;
            r->leaked_refs += (uint64_t)gc;
            seed[v] = 1;
        }
    }
    for (uint32_t v = 0; v < n; v++)
        allowed[v] = r->cls[v] == RS_CLASS_UNCLASSIFIED;
    naive_charge(n, adj, seed, allowed, r);

    /* Garbage: closure restricted to G. */
    int g[NAIVE_MAX];
    for (uint32_t v = 0; v < n; v++)
        g[v] = r->cls[v] == RS_CLASS_UNCLASSIFIED;
    for (uint32_t u = 0; u < n; u++)
        for (uint32_t v = 0; v < n; v++)
            reach[u][v] = g[u] && g[v] && adj[u][v];
    for (uint32_t k = 0; k < n; k++)
        for (uint32_t u = 0; u < n; u++)
            for (uint32_t v = 0; v < n; v++)
                if (reach[u][k] && reach[k][v])
                    reach[u][v] = 1;
#define NAIVE_SAME(u, v) ((u) == (v) || (reach[u][v] && reach[v][u]))
    uint32_t scc_min[NAIVE_MAX];
    int scc_rc[NAIVE_MAX] = {0}, scc_in[NAIVE_MAX] = {0};
    for (uint32_t v = 0; v < n; v++) {
        if (!g[v])
            continue;
        scc_min[v] = v;
        for (uint32_t u = 0; u < n; u++)
            if (g[u] && NAIVE_SAME(u, v)) {
                if (u < scc_min[v])
                    scc_min[v] = u;
                if (h->nodes[u].flags & RS_NODE_REFCOUNTED)
                    scc_rc[v] = 1;
                for (uint32_t x = 0; x < n; x++)
                    if (g[x] && adj[x][u] && !NAIVE_SAME(x, v))
                        scc_in[v] = 1;
            }
    }
    uint32_t group_of_min[NAIVE_MAX];
    memset(seed, 0, sizeof seed);
    for (uint32_t v = 0; v < n; v++) {
        if (!g[v])
            continue;
        if (reach[v][v] && scc_rc[v]) {
            if (scc_min[v] == v)
                group_of_min[v] = r->cycle_groups++;
            r->cls[v] = RS_CLASS_CYCLE;
            r->owner[v] = group_of_min[scc_min[v]];
            seed[v] = 1;
        } else if (!scc_in[v] && scc_min[v] == v) {
            r->cls[v] = RS_CLASS_LEAKED;
            seed[v] = 1;
        }
    }
#undef NAIVE_SAME
    for (uint32_t v = 0; v < n; v++)
        allowed[v] = r->cls[v] == RS_CLASS_UNCLASSIFIED;
    naive_charge(n, adj, seed, allowed, r);
    return 0;
}

#endif /* NAIVE_CLASSIFY_H */
