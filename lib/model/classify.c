/*
 * classify.c - give every block of a heap graph its class (see classify.h).
 *
 * The rules, phase by phase.  "Edge" means one pointer word: two words of
 * A pointing at B are two edges, a block pointing into itself has a
 * self-edge.  G(X) below is the set of nodes still unclassified.
 *
 * "Out-neighbours" of a node, in every phase: the targets of its edges but
 * for registry pointers (rs_heap_t.registry_edges: a table keyed by
 * identity, which holds no reference and confers no liveness), then the
 * blocks a registry keeps for it (rs_heap_t.owned: GLib's handler lists of
 * an instance), which live and die with it.
 *
 * Phase 1, reachable.  A flood fill (explicit worklist) from the targets
 * of all root edges and from every RS_NODE_IGNORED node, along
 * out-neighbours.
 *   Postcondition: a node is RS_CLASS_REACHABLE iff some root edge or
 *   ignored node reaches it; every other node is unclassified.  No edge
 *   leads from a reachable node to an unclassified one.
 *
 * Phase 2, trial deletion (CPython's gc_refs).  For every unreachable
 * RS_NODE_REFCOUNTED node: gc_refs = refcount - (number of edges into it,
 * but for those that hold no reference: rs_heap_t.weak_edges and
 * registry_edges; an owned block is no pointer).
 * All such edges come from unreachable nodes (phase 1 postcondition), so
 * this subtracts exactly the references the dead part of the heap explains.
 *   Postcondition: a node is RS_CLASS_LEAKED_REF iff it is unreachable,
 *   refcounted and gc_refs > 0; summary->leaked_refs is the sum of those
 *   gc_refs.  gc_refs < 0 (borrowed pointers, e.g. a child's back pointer)
 *   counts as 0: such a node is garbage like one with gc_refs == 0.
 *
 * Phase 3, charged to leaked references.  A multi-source BFS from all
 * LEAKED_REF nodes over unclassified nodes.
 *   Postcondition: a node is RS_CLASS_INDIRECT with owner = a LEAKED_REF
 *   node iff it is unreachable, not LEAKED_REF, and some LEAKED_REF node
 *   reaches it through unclassified nodes.  No edge leads from a
 *   classified node to an unclassified one.
 *
 * Phase 4, the rest of the garbage G.  Strongly connected components of
 * the subgraph induced by G (iterative Tarjan).  An SCC is cyclic if it
 * has more than one node or a self-edge.
 *  a) A cyclic SCC with at least one refcounted node is a cycle group:
 *     all its nodes (plain ones too, e.g. a children array closing the
 *     cycle) become RS_CLASS_CYCLE with owner = group id.  Group ids are
 *     0, 1, 2... in order of each group's lowest node index.
 *  b) Any other SCC with no edge into it from another SCC of G is a leak
 *     root: its lowest-index node (lowest address, nodes being sorted)
 *     becomes RS_CLASS_LEAKED.
 *  c) A multi-source BFS from the cycle members and the leaked nodes of
 *     (b) over the still unclassified nodes of G makes every one of them
 *     RS_CLASS_INDIRECT (each is reachable from some (a) or (b) SCC, since
 *     every SCC of a finite DAG has a source ancestor).  The other members
 *     of a leaked SCC are reached only from its representative, so they are
 *     charged to it.
 *   Postcondition: every node is classified; cycle_groups counts (a).
 *
 * Owner tie rule (phases 3 and 4c): an INDIRECT node is charged to the
 * seed at the smallest BFS distance, and among seeds at that distance to
 * the one with the lowest node index, where paths may pass only through
 * nodes the same BFS charges (never through another seed).  This follows
 * from enqueuing seeds in index order and charging each node to the owner
 * of whichever node discovered it first (each BFS level stays sorted by
 * owner index).  tests/unit/naive_classify.h computes it independently.
 *
 * Precedence and differences from other tools, on purpose:
 *  - A refcounted node with gc_refs > 0 is LEAKED_REF even when it sits in
 *    a garbage cycle; the other members of that cycle are then INDIRECT,
 *    charged to it (the lost reference is the leak to fix).
 *  - A plain, self-pointing block is LEAKED (not a cycle group: no
 *    refcount to prove anything).  A cycle of plain blocks only is one
 *    LEAKED block (the lowest address) holding the others INDIRECT, where
 *    LeakSanitizer would call every member indirect and report nothing
 *    direct.
 *  - A cycle group stays CYCLE even when a leaked block also points at it.
 *
 * Memory: six arrays of n_nodes words and one of n_nodes bytes: the
 * worklist for phase 1, the rest once phase 1 left garbage (a heap with
 * none, the usual case at exit, never touches their pages: 21 of 25
 * bytes a node).  A failure leaves every node unclassified (owner
 * UINT32_MAX) and the summary untouched.  Arrays are reused across phases
 * where their lifetimes do not overlap (named for each use below).
 */
#include "classify.h"

#include "rs_likely.h"
#include "rs_mem.h"

#include <string.h>

#define CL_NONE    UINT32_MAX       /* no index / not yet visited          */
#define CL_ONSTACK (UINT32_MAX - 1) /* comp[] while on Tarjan's stack      */

/* Per-SCC flags. */
enum {
    SCC_SEEN  = 1u << 0, /* one member seen while counting              */
    SCC_MULTI = 1u << 1, /* more than one member                         */
    SCC_SELF  = 1u << 2, /* a member points at itself                    */
    SCC_RC    = 1u << 3, /* a member is refcounted                       */
    SCC_IN    = 1u << 4, /* an edge enters from another SCC of G         */
    SCC_DONE  = 1u << 5, /* its seed (group id / leaked rep) is assigned  */
};

typedef struct cl_work {
    rs_heap_t *heap;
    uint32_t   n;
    uint32_t  *queue;  /* phases 1-3, 4c: worklist; phase 4: Tarjan stack */
    uint32_t  *count;  /* phase 2: edges in; phase 4: Tarjan index        */
    uint32_t  *low;    /* phase 4: Tarjan lowlink, then group ids         */
    uint32_t  *iter;   /* phase 4: next out-neighbour position per node   */
    uint32_t  *call;   /* phase 4: DFS call stack                         */
    uint32_t  *comp;   /* phase 4: SCC of each node                       */
    uint8_t   *sccf;   /* phase 4: SCC_* per SCC                          */
} cl_work_t;

/* ---- small predicates ------------------------------------------------- */

static inline uint32_t edges_begin(const rs_heap_t *h, uint32_t i)
{
    return h->edge_start ? h->edge_start[i] : 0;
}

static inline uint32_t edges_end(const rs_heap_t *h, uint32_t i)
{
    return h->edge_start ? h->edge_start[i + 1] : 0;
}

static inline int unclassified(const rs_heap_t *h, uint32_t i)
{
    return h->nodes[i].cls == RS_CLASS_UNCLASSIFIED;
}

static inline int refcounted(const rs_heap_t *h, uint32_t i)
{
    return (h->nodes[i].flags & RS_NODE_REFCOUNTED) != 0;
}

static inline int cyclic(uint8_t f) { return (f & (SCC_MULTI | SCC_SELF)) != 0; }

/* Out-neighbours of a node (see the top): positions 0..ne-1 are its edges
 * from e0, positions ne..ne+no-1 its owned blocks from owned[o0]. */
typedef struct outs {
    uint32_t e0, ne, o0, no;
} outs_t;

/* First index of owned[] whose owner is >= u. */
static uint32_t owned_lower_bound(const rs_heap_t *h, uint32_t u)
{
    uint32_t lo = 0, hi = h->n_owned;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (h->owned[mid].owner < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static inline outs_t outs_of(const rs_heap_t *h, uint32_t u)
{
    outs_t o = { edges_begin(h, u), edges_end(h, u) - edges_begin(h, u), 0, 0 };
    if (RS_UNLIKELY(h->n_owned)) {
        o.o0 = owned_lower_bound(h, u);
        while (o.o0 + o.no < h->n_owned && h->owned[o.o0 + o.no].owner == u)
            o.no++;
    }
    return o;
}

/* Target of out-neighbour position k, or CL_NONE for a registry pointer. */
static inline uint32_t out_dst(const rs_heap_t *h, const outs_t *o, uint32_t k)
{
    if (k < o->ne)
        return rs_heap_edge_registry(h, o->e0 + k) ? CL_NONE : h->edges[o->e0 + k].dst;
    return h->owned[o->o0 + k - o->ne].dst;
}

/* d is an out-neighbour still unclassified. */
static inline int open_dst(const rs_heap_t *h, uint32_t d)
{
    return d != CL_NONE && unclassified(h, d);
}

static inline void set_class(rs_heap_t *h, uint32_t i, rs_class_t c, uint32_t owner)
{
    h->nodes[i].cls = (uint8_t)c;
    h->nodes[i].owner = owner;
}

/* ---- phase 1 ---------------------------------------------------------- */

static void mark_reachable(cl_work_t *w)
{
    rs_heap_t *h = w->heap;
    uint32_t top = 0;
    for (uint64_t e = 0; e < h->n_root_edges; e++) {
        uint32_t d = h->root_edges[e].dst;
        if (unclassified(h, d)) {
            set_class(h, d, RS_CLASS_REACHABLE, CL_NONE);
            w->queue[top++] = d;
        }
    }
    for (uint32_t i = 0; i < w->n; i++)
        if ((h->nodes[i].flags & RS_NODE_IGNORED) && unclassified(h, i)) {
            set_class(h, i, RS_CLASS_REACHABLE, CL_NONE);
            w->queue[top++] = i;
        }
    /* Invariants: every node on the worklist is REACHABLE; a node is
     * pushed once, when it is marked, so top <= n. */
    while (top) {
        uint32_t u = w->queue[--top];
        outs_t o = outs_of(h, u);
        for (uint32_t k = 0; k < o.ne + o.no; k++) {
            uint32_t d = out_dst(h, &o, k);
            if (open_dst(h, d)) {
                set_class(h, d, RS_CLASS_REACHABLE, CL_NONE);
                w->queue[top++] = d;
            }
        }
    }
}

/* ---- phase 2 ---------------------------------------------------------- */

static uint64_t trial_deletion(cl_work_t *w)
{
    rs_heap_t *h = w->heap;
    uint64_t leaked_refs = 0;
    memset(w->count, 0, (size_t)w->n * sizeof *w->count);
    for (uint32_t u = 0; u < w->n; u++)
        if (unclassified(h, u))
            for (uint32_t e = edges_begin(h, u); e < edges_end(h, u); e++)
                w->count[h->edges[e].dst] += !rs_heap_edge_weak(h, e) &&
                                             !rs_heap_edge_registry(h, e);
    for (uint32_t i = 0; i < w->n; i++) {
        if (!unclassified(h, i) || !refcounted(h, i))
            continue;
        int64_t gc_refs = h->nodes[i].refcount - (int64_t)w->count[i];
        if (gc_refs > 0) {
            set_class(h, i, RS_CLASS_LEAKED_REF, CL_NONE);
            leaked_refs += (uint64_t)gc_refs;
        }
    }
    return leaked_refs;
}

/* ---- BFS charging (phases 3 and 4c) ----------------------------------- */

/* queue[0..n_seeds) holds the seeds in increasing index order, already
 * classified (not INDIRECT).  Every unclassified node they reach through
 * unclassified nodes becomes INDIRECT, charged to the seed that reached it
 * first. */
static void charge_indirect(cl_work_t *w, uint32_t n_seeds)
{
    rs_heap_t *h = w->heap;
    uint32_t head = 0, tail = n_seeds;
    /* Invariants: queue[head..tail) is the frontier, in nondecreasing
     * owner order within each BFS level; every queued node is a seed or
     * INDIRECT; tail <= n because a node is queued once. */
    while (head < tail) {
        uint32_t u = w->queue[head++];
        uint32_t owner = h->nodes[u].cls == RS_CLASS_INDIRECT ? h->nodes[u].owner : u;
        outs_t o = outs_of(h, u);
        for (uint32_t k = 0; k < o.ne + o.no; k++) {
            uint32_t d = out_dst(h, &o, k);
            if (open_dst(h, d)) {
                set_class(h, d, RS_CLASS_INDIRECT, owner);
                w->queue[tail++] = d;
            }
        }
    }
}

static void charge_to_leaked_refs(cl_work_t *w)
{
    uint32_t n_seeds = 0;
    for (uint32_t i = 0; i < w->n; i++)
        if (w->heap->nodes[i].cls == RS_CLASS_LEAKED_REF)
            w->queue[n_seeds++] = i;
    charge_indirect(w, n_seeds);
}

/* ---- phase 4: SCCs of the garbage --------------------------------------- */

static void tarjan_push(cl_work_t *w, uint32_t v, uint32_t *counter,
                        uint32_t *sp, uint32_t *cp)
{
    w->count[v] = w->low[v] = (*counter)++;
    w->comp[v] = CL_ONSTACK;
    w->iter[v] = 0;
    w->queue[(*sp)++] = v;
    w->call[(*cp)++] = v;
}

/* Iterative Tarjan over the unclassified nodes; fills comp[] with SCC
 * numbers 0..return-1.  count[] is the DFS index, low[] the lowlink,
 * queue[] Tarjan's node stack, call[] the DFS path. */
static uint32_t find_sccs(cl_work_t *w)
{
    rs_heap_t *h = w->heap;
    uint32_t counter = 0, n_comp = 0, sp = 0, cp = 0;
    for (uint32_t i = 0; i < w->n; i++) {
        w->comp[i] = CL_NONE;
        w->count[i] = CL_NONE;
    }
    for (uint32_t r = 0; r < w->n; r++) {
        if (!unclassified(h, r) || w->count[r] != CL_NONE)
            continue;
        tarjan_push(w, r, &counter, &sp, &cp);
        /* Invariants: call[0..cp) is the DFS path, each node on it also on
         * Tarjan's stack; low[v] <= count[v]; a node is on Tarjan's stack
         * iff comp[v] == CL_ONSTACK. */
        while (cp) {
            uint32_t v = w->call[cp - 1];
            outs_t o = outs_of(h, v);
            if (w->iter[v] < o.ne + o.no) {
                uint32_t d = out_dst(h, &o, w->iter[v]++);
                if (!open_dst(h, d))
                    continue;
                if (w->count[d] == CL_NONE)
                    tarjan_push(w, d, &counter, &sp, &cp);
                else if (w->comp[d] == CL_ONSTACK && w->count[d] < w->low[v])
                    w->low[v] = w->count[d];
                continue;
            }
            cp--;
            if (w->low[v] == w->count[v]) {
                uint32_t x;
                do {
                    x = w->queue[--sp];
                    w->comp[x] = n_comp;
                } while (x != v);
                n_comp++;
            }
            if (cp && w->low[v] < w->low[w->call[cp - 1]])
                w->low[w->call[cp - 1]] = w->low[v];
        }
    }
    return n_comp;
}

/* Sets SCC_* flags for every SCC of the unclassified nodes. */
static void describe_sccs(cl_work_t *w, uint32_t n_comp)
{
    rs_heap_t *h = w->heap;
    memset(w->sccf, 0, n_comp);
    for (uint32_t v = 0; v < w->n; v++) {
        if (!unclassified(h, v))
            continue;
        uint8_t *f = &w->sccf[w->comp[v]];
        *f |= (*f & SCC_SEEN) ? SCC_MULTI : SCC_SEEN;
        if (refcounted(h, v))
            *f |= SCC_RC;
        outs_t o = outs_of(h, v);
        for (uint32_t k = 0; k < o.ne + o.no; k++) {
            uint32_t d = out_dst(h, &o, k);
            if (!open_dst(h, d))
                continue;
            if (d == v)
                *f |= SCC_SELF;
            else if (w->comp[d] != w->comp[v])
                w->sccf[w->comp[d]] |= SCC_IN;
        }
    }
}

/* Phase 4a/4b: classifies cycle members and leaked representatives and
 * queues them (in index order) as BFS seeds.  Returns the number of seeds;
 * *groups receives the number of cycle groups.  low[] holds group ids. */
static uint32_t seed_garbage(cl_work_t *w, uint32_t *groups)
{
    rs_heap_t *h = w->heap;
    uint32_t n_seeds = 0;
    *groups = 0;
    for (uint32_t v = 0; v < w->n; v++) {
        if (!unclassified(h, v))
            continue;
        uint32_t c = w->comp[v];
        uint8_t *f = &w->sccf[c];
        if (cyclic(*f) && (*f & SCC_RC)) {
            if (!(*f & SCC_DONE)) {
                w->low[c] = (*groups)++;
                *f |= SCC_DONE;
            }
            set_class(h, v, RS_CLASS_CYCLE, w->low[c]);
            w->queue[n_seeds++] = v;
        } else if (!(*f & (SCC_IN | SCC_DONE))) {
            *f |= SCC_DONE; /* first (lowest-index) member represents it */
            set_class(h, v, RS_CLASS_LEAKED, CL_NONE);
            w->queue[n_seeds++] = v;
        }
    }
    return n_seeds;
}

/* ---- driver ----------------------------------------------------------- */

static void work_free(cl_work_t *w)
{
    rs_mem_free(w->queue);
    rs_mem_free(w->count);
    rs_mem_free(w->low);
    rs_mem_free(w->iter);
    rs_mem_free(w->call);
    rs_mem_free(w->comp);
    rs_mem_free(w->sccf);
}

/* The worklist, all phase 1 needs.  -1 on exhaustion. */
static int work_alloc_queue(cl_work_t *w, rs_heap_t *heap)
{
    memset(w, 0, sizeof *w);
    w->heap = heap;
    w->n = heap->n_nodes;
    w->queue = rs_mem_alloc((size_t)w->n * sizeof(uint32_t));
    return w->queue ? 0 : -1;
}

/* The arrays of phases 2-4.  -1 on exhaustion (all freed). */
static int work_alloc_rest(cl_work_t *w)
{
    size_t words = (size_t)w->n * sizeof(uint32_t);
    w->count = rs_mem_alloc(words);
    w->low = rs_mem_alloc(words);
    w->iter = rs_mem_alloc(words);
    w->call = rs_mem_alloc(words);
    w->comp = rs_mem_alloc(words);
    w->sccf = rs_mem_alloc(w->n);
    if (w->queue && w->count && w->low && w->iter && w->call && w->comp && w->sccf)
        return 0;
    work_free(w);
    return -1;
}

static void unclassify_all(rs_heap_t *heap)
{
    for (uint32_t i = 0; i < heap->n_nodes; i++)
        set_class(heap, i, RS_CLASS_UNCLASSIFIED, CL_NONE);
}

/* 1 when phase 1 left a node unclassified. */
static int any_garbage(const rs_heap_t *heap)
{
    for (uint32_t i = 0; i < heap->n_nodes; i++)
        if (unclassified(heap, i))
            return 1;
    return 0;
}

int rs_classify(rs_heap_t *heap, rs_summary_t *summary)
{
    cl_work_t w;
    unclassify_all(heap);
    if (work_alloc_queue(&w, heap) != 0)
        return -1;

    mark_reachable(&w);
    uint64_t leaked_refs = 0;
    uint32_t groups = 0;
    if (any_garbage(heap)) {
        if (work_alloc_rest(&w) != 0) {
            unclassify_all(heap);
            return -1;
        }
        leaked_refs = trial_deletion(&w);
        charge_to_leaked_refs(&w);
        describe_sccs(&w, find_sccs(&w));
        charge_indirect(&w, seed_garbage(&w, &groups));
    }

    work_free(&w);
    if (summary) {
        rs_summary_count(heap, summary);
        summary->cycle_groups = groups;
        summary->leaked_refs = leaked_refs;
    }
    return 0;
}

/* See classify.h.  Each chain is followed once, the nodes met on it taking
 * the answer found at its end.  path[] holds the chain being followed;
 * root[] marks its nodes ON_PATH. */
#define ROOT_UNSET   (UINT32_MAX - 1)
#define ROOT_ON_PATH (UINT32_MAX - 2)
void rs_charge_roots(const rs_heap_t *heap, uint32_t *root, uint32_t *path)
{
    uint32_t n = heap->n_nodes;
    for (uint32_t i = 0; i < n; i++)
        root[i] = ROOT_UNSET;
    for (uint32_t start = 0; start < n; start++) {
        uint32_t len = 0, i = start, found;
        for (;;) {
            if (root[i] == ROOT_ON_PATH) {
                found = UINT32_MAX;          /* a cycle */
                break;
            }
            if (root[i] != ROOT_UNSET) {
                found = root[i];
                break;
            }
            root[i] = ROOT_ON_PATH;
            path[len++] = i;
            uint32_t owner = heap->nodes[i].owner;
            if (owner >= n || owner == i) {
                found = UINT32_MAX;
                break;
            }
            if (heap->nodes[owner].cls != RS_CLASS_INDIRECT) {
                found = owner;
                break;
            }
            i = owner;
        }
        while (len)
            root[path[--len]] = found;
    }
}
