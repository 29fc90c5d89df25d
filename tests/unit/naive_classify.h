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
 *
 * naive_object_heap() states objnodes.h's rule (several refcounted objects
 * in one block are several nodes) and heapscan.h's pointer rule directly
 * on a memory image: for any address it asks "which block contains it
 * (the one starting there on a tie), and which of that block's objects is
 * the last one at or below it (else its first one)" by looping over all
 * blocks and objects.  It shares no code with objnodes.c or heapscan.c;
 * its graph then goes through naive_classify().
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

/* ---- object-level graphs from a memory image ----------------------- */

#define NAIVE_MEM_MAX 64

/* Blocks (8-aligned, readable at their addresses, non-overlapping), the
 * object pointers inside them with their refcounts, and root words. */
typedef struct naive_mem {
    uint32_t        n_blocks;
    uint64_t        block_addr[NAIVE_MEM_MAX], block_size[NAIVE_MEM_MAX];
    uint32_t        n_objs;
    uint64_t        obj_addr[NAIVE_MEM_MAX];   /* distinct                  */
    int64_t         obj_rc[NAIVE_MEM_MAX];
    const uint64_t *root_words;
    uint32_t        n_root_words;
} naive_mem_t;

/* A vertex: block b, and object o inside it (-1: a block without one). */
typedef struct naive_vertex {
    uint32_t block;
    int32_t  obj;
    uint64_t start;          /* the block's start for its first vertex    */
} naive_vertex_t;

/* Storage for the rs_heap_t naive_object_heap() builds. */
typedef struct naive_graph {
    naive_vertex_t v[NAIVE_MAX];
    uint32_t       n;
    rs_node_t      nodes[NAIVE_MAX];
    uint32_t       edge_start[NAIVE_MAX + 1];
    rs_edge_t      edges[NAIVE_MAX * NAIVE_MEM_MAX];
    rs_root_edge_t root_edges[NAIVE_MEM_MAX];
    rs_heap_t      heap;
} naive_graph_t;

static inline int naive_in_block(const naive_mem_t *m, uint32_t b, uint64_t a, int end_ok)
{
    return a >= m->block_addr[b] &&
           (a < m->block_addr[b] + m->block_size[b] ||
            (end_ok && a == m->block_addr[b] + m->block_size[b]));
}

/* The object of block b that owns address a: the last one at or below a,
 * else the first one; -1 when b holds none. */
static inline int32_t naive_owner_obj(const naive_mem_t *m, uint32_t b, uint64_t a)
{
    int32_t best = -1, first = -1;
    for (uint32_t o = 0; o < m->n_objs; o++) {
        if (!naive_in_block(m, b, m->obj_addr[o], 0))
            continue;
        if (first < 0 || m->obj_addr[o] < m->obj_addr[first])
            first = (int32_t)o;
        if (m->obj_addr[o] <= a && (best < 0 || m->obj_addr[o] > m->obj_addr[best]))
            best = (int32_t)o;
    }
    return best >= 0 ? best : first;
}

/* The vertex a pointer word with value a refers to, or NAIVE_INF. */
static inline uint32_t naive_vertex_of(const naive_graph_t *g, const naive_mem_t *m,
                                       uint64_t a)
{
    uint32_t blk = NAIVE_INF;
    for (uint32_t b = 0; b < m->n_blocks; b++)
        if (naive_in_block(m, b, a, 1) &&
            (blk == NAIVE_INF || m->block_addr[b] == a))
            blk = b;
    if (blk == NAIVE_INF)
        return NAIVE_INF;
    int32_t obj = naive_owner_obj(m, blk, a);
    for (uint32_t v = 0; v < g->n; v++)
        if (g->v[v].block == blk && g->v[v].obj == obj)
            return v;
    return NAIVE_INF;
}

/* Builds g->heap from m: one vertex per block without objects and per
 * object, ordered by start address; every 8-aligned word of every block
 * and every root word that points into a block is an edge, except a word
 * pointing into its own vertex other than at its start.  Returns 0, or
 * -1 when there are more than NAIVE_MAX vertices or too many edges. */
static inline int naive_object_heap(const naive_mem_t *m, naive_graph_t *g)
{
    memset(g, 0, sizeof *g);
    for (uint32_t b = 0; b < m->n_blocks; b++) {
        int32_t first = naive_owner_obj(m, b, m->block_addr[b]);
        for (int32_t o = -1; o < (int32_t)m->n_objs; o++) {
            int mine = o < 0 ? first < 0 : naive_in_block(m, b, m->obj_addr[o], 0);
            if (!mine)
                continue;
            if (g->n == NAIVE_MAX)
                return -1;
            uint64_t start = o == first || o < 0 ? m->block_addr[b] : m->obj_addr[o];
            g->v[g->n++] = (naive_vertex_t){ b, o, start };
        }
    }
    for (uint32_t i = 1; i < g->n; i++)            /* insertion sort by start */
        for (uint32_t j = i; j > 0 && g->v[j - 1].start > g->v[j].start; j--) {
            naive_vertex_t t = g->v[j];
            g->v[j] = g->v[j - 1];
            g->v[j - 1] = t;
        }
    uint32_t ne = 0;
    for (uint32_t v = 0; v < g->n; v++) {
        rs_node_t *n = &g->nodes[v];
        n->addr = g->v[v].start;
        n->owner = UINT32_MAX;
        if (g->v[v].obj >= 0) {
            n->flags = RS_NODE_REFCOUNTED;
            n->refcount = m->obj_rc[g->v[v].obj];
        }
        g->edge_start[v] = ne;
        uint32_t b = g->v[v].block;
        for (uint64_t w = m->block_addr[b]; w + 8 <= m->block_addr[b] + m->block_size[b]; w += 8) {
            if (naive_vertex_of(g, m, w) != v)
                continue;                   /* the word belongs to a sibling */
            uint64_t val;
            memcpy(&val, (const void *)(uintptr_t)w, sizeof val);
            uint32_t dst = naive_vertex_of(g, m, val);
            if (dst == NAIVE_INF)
                continue;
            if (dst == v && val != n->addr)
                continue;       /* into itself, not at its start: no edge */
            if (ne == NAIVE_MAX * NAIVE_MEM_MAX)
                return -1;
            g->edges[ne++] = (rs_edge_t){ dst, (uint32_t)(w - n->addr) };
        }
    }
    g->edge_start[g->n] = ne;
    uint32_t nr = 0;
    for (uint32_t r = 0; r < m->n_root_words && r < NAIVE_MEM_MAX; r++) {
        uint32_t dst = naive_vertex_of(g, m, m->root_words[r]);
        if (dst != NAIVE_INF)
            g->root_edges[nr++] = (rs_root_edge_t){ 0, dst, (uint64_t)r * 8 };
    }
    g->heap = (rs_heap_t){ .nodes = g->nodes, .n_nodes = g->n, .edge_start = g->edge_start,
                           .edges = g->edges, .n_edges = ne, .root_edges = g->root_edges,
                           .n_root_edges = nr };
    return 0;
}

#endif /* NAIVE_CLASSIFY_H */
