/*
 * report_chain.c - referrer chains (see report_chain.h).
 *
 * Invariants of the index after building:
 *   dist[i] == 0 for unreachable nodes, else the BFS level (1 = a root
 *   points at it); par_node[i] is the node whose edge reached i first, or
 *   RS_CHAIN_NONE when a root did (par_root[i] then names it); par_off[i]
 *   is the pointer's offset in that holder.  rstart/rsrc/roff is the
 *   reversed edge list: the referrers of i are rsrc[rstart[i]..rstart[i+1]).
 */
#include "report_chain.h"

#include "report_array.h"
#include "text_clean.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct rs_chain_index {
    const rs_snapshot_t *snap;
    uint32_t *dist, *par_node, *par_root;
    uint64_t *par_off;
    uint64_t *rstart;        /* n_nodes + 1                                */
    uint32_t *rsrc;
    uint64_t *roff;
};

/* Lower is preferred as the start of a chain. */
static int root_rank(uint32_t kind)
{
    static const int rank[] = {
        [RS_ROOT_GLOBAL] = 0, [RS_ROOT_USER] = 1, [RS_ROOT_TLS] = 2,
        [RS_ROOT_DYNAMIC_TLS] = 3, [RS_ROOT_MMAP] = 4, [RS_ROOT_STACK] = 5,
        [RS_ROOT_REGISTERS] = 6, [RS_ROOT_IGNORED] = 7,
    };
    return kind < sizeof rank / sizeof rank[0] ? rank[kind] : 8;
}

static const rs_snapshot_t *g_sort_snap;

static int cmp_root_edges(const void *pa, const void *pb)
{
    const rs_root_edge_t *a = *(const rs_root_edge_t *const *)pa;
    const rs_root_edge_t *b = *(const rs_root_edge_t *const *)pb;
    const rs_heap_t *h = &g_sort_snap->heap;
    int ra = a->root < h->n_roots ? root_rank(h->roots[a->root].kind) : 9;
    int rb = b->root < h->n_roots ? root_rank(h->roots[b->root].kind) : 9;
    if (ra != rb)
        return ra - rb;
    if (a->root != b->root)
        return a->root < b->root ? -1 : 1;
    return a->offset < b->offset ? -1 : a->offset > b->offset;
}

void rs_chain_index_destroy(rs_chain_index_t *x)
{
    if (!x)
        return;
    free(x->dist);
    free(x->par_node);
    free(x->par_root);
    free(x->par_off);
    free(x->rstart);
    free(x->rsrc);
    free(x->roff);
    free(x);
}

static int build_reverse(rs_chain_index_t *x)
{
    const rs_heap_t *h = &x->snap->heap;
    x->rstart = calloc((size_t)h->n_nodes + 1, sizeof *x->rstart);
    x->rsrc = malloc((h->n_edges ? h->n_edges : 1) * sizeof *x->rsrc);
    x->roff = malloc((h->n_edges ? h->n_edges : 1) * sizeof *x->roff);
    if (!x->rstart || !x->rsrc || !x->roff)
        return -1;
    for (uint64_t e = 0; e < h->n_edges; e++)
        x->rstart[h->edges[e].dst + 1]++;
    for (uint32_t i = 0; i < h->n_nodes; i++)
        x->rstart[i + 1] += x->rstart[i];
    uint64_t *fill = malloc(((size_t)h->n_nodes + 1) * sizeof *fill);
    if (!fill)
        return -1;
    memcpy(fill, x->rstart, ((size_t)h->n_nodes + 1) * sizeof *fill);
    for (uint32_t src = 0; src < h->n_nodes; src++)
        for (uint64_t e = h->edge_start[src]; e < h->edge_start[src + 1]; e++) {
            uint64_t at = fill[h->edges[e].dst]++;
            x->rsrc[at] = src;
            x->roff[at] = h->edges[e].offset;
        }
    free(fill);
    return 0;
}

/* Multi-source BFS from the roots, in preference order.  Postcondition:
 * dist/par_* as in the file comment. */
static int bfs_from_roots(rs_chain_index_t *x)
{
    const rs_heap_t *h = &x->snap->heap;
    uint32_t *queue = malloc(((size_t)h->n_nodes + 1) * sizeof *queue);
    const rs_root_edge_t **order = malloc((h->n_root_edges + 1) * sizeof *order);
    if (!queue || !order) {
        free(queue);
        free(order);
        return -1;
    }
    for (uint64_t i = 0; i < h->n_root_edges; i++)
        order[i] = &h->root_edges[i];
    g_sort_snap = x->snap;
    qsort(order, h->n_root_edges, sizeof *order, cmp_root_edges);
    uint32_t head = 0, tail = 0;
    for (uint64_t i = 0; i < h->n_root_edges; i++) {
        uint32_t d = order[i]->dst;
        if (d >= h->n_nodes || x->dist[d])
            continue;
        x->dist[d] = 1;
        x->par_root[d] = order[i]->root;
        x->par_off[d] = order[i]->offset;
        queue[tail++] = d;
    }
    while (head < tail) {
        uint32_t s = queue[head++];
        for (uint64_t e = h->edge_start[s]; e < h->edge_start[s + 1]; e++) {
            uint32_t d = h->edges[e].dst;
            if (x->dist[d])
                continue;
            x->dist[d] = x->dist[s] + 1;
            x->par_node[d] = s;
            x->par_off[d] = h->edges[e].offset;
            queue[tail++] = d;
        }
    }
    free(queue);
    free(order);
    return 0;
}

rs_chain_index_t *rs_chain_index_build(const rs_snapshot_t *snap)
{
    rs_chain_index_t *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    size_t n = (size_t)snap->heap.n_nodes + 1;
    x->snap = snap;
    x->dist = calloc(n, sizeof *x->dist);
    x->par_node = malloc(n * sizeof *x->par_node);
    x->par_root = malloc(n * sizeof *x->par_root);
    x->par_off = calloc(n, sizeof *x->par_off);
    if (!x->dist || !x->par_node || !x->par_root || !x->par_off ||
        build_reverse(x) != 0)
        goto oom;
    memset(x->par_node, 0xff, n * sizeof *x->par_node);
    memset(x->par_root, 0xff, n * sizeof *x->par_root);
    if (bfs_from_roots(x) != 0)
        goto oom;
    return x;
oom:
    rs_chain_index_destroy(x);
    return NULL;
}

uint32_t rs_chain_distance(const rs_chain_index_t *x, uint32_t node)
{
    return node < x->snap->heap.n_nodes ? x->dist[node] : 0;
}

void rs_chains_free(rs_chain_t *chains, uint32_t n)
{
    for (uint32_t i = 0; chains && i < n; i++)
        free(chains[i].hops);
    free(chains);
}

/* ---- building chains ------------------------------------------------------ */

typedef struct chain_list {
    rs_chain_t *items;
    uint32_t    n;
    size_t      cap;
} chain_list_t;

static rs_chain_t *list_add(chain_list_t *l, uint32_t n_hops)
{
    if (rs_array_reserve(&l->items, &l->cap, (size_t)l->n + 1, sizeof *l->items) < 0)
        return NULL;
    rs_chain_t *c = &l->items[l->n];
    c->hops = calloc(n_hops ? n_hops : 1, sizeof *c->hops);
    if (!c->hops)
        return NULL;
    c->n_hops = n_hops;
    c->root = RS_CHAIN_NONE;
    l->n++;
    return c;
}

/* Chain along the BFS parents to reachable node `last`, plus an optional
 * extra hop (extra != NONE) reached at extra_off inside `last`. */
static int add_parent_chain(const rs_chain_index_t *x, chain_list_t *l, uint32_t last,
                            uint32_t extra, uint64_t extra_off)
{
    uint32_t len = x->dist[last] + (extra != RS_CHAIN_NONE);
    rs_chain_t *c = list_add(l, len);
    if (!c)
        return -1;
    uint32_t at = len;
    if (extra != RS_CHAIN_NONE)
        c->hops[--at] = (rs_chain_hop_t){ extra, extra_off };
    for (uint32_t v = last; at > 0; v = x->par_node[v]) {
        c->hops[--at] = (rs_chain_hop_t){ v, x->par_off[v] };
        if (x->par_node[v] == RS_CHAIN_NONE) {
            c->root = x->par_root[v];
            break;
        }
    }
    return 0;
}

/* For an unreachable target: path from its leak owner through unreachable
 * blocks (BFS over out-edges from the owner). */
static int add_leak_chain(const rs_chain_index_t *x, chain_list_t *l, uint32_t t)
{
    const rs_heap_t *h = &x->snap->heap;
    uint32_t owner = h->nodes[t].cls == RS_CLASS_INDIRECT ? h->nodes[t].owner : t;
    if (owner >= h->n_nodes)
        owner = t;
    uint32_t *prev = malloc((size_t)h->n_nodes * sizeof *prev);
    uint64_t *off = malloc((size_t)h->n_nodes * sizeof *off);
    uint32_t *queue = malloc((size_t)h->n_nodes * sizeof *queue);
    int rc = -1;
    if (!prev || !off || !queue)
        goto out;
    memset(prev, 0xff, (size_t)h->n_nodes * sizeof *prev);
    uint32_t head = 0, tail = 0;
    queue[tail++] = owner;
    prev[owner] = owner;
    while (head < tail && prev[t] == RS_CHAIN_NONE) {
        uint32_t s = queue[head++];
        for (uint64_t e = h->edge_start[s]; e < h->edge_start[s + 1]; e++) {
            uint32_t d = h->edges[e].dst;
            if (prev[d] != RS_CHAIN_NONE || x->dist[d])
                continue;
            prev[d] = s;
            off[d] = h->edges[e].offset;
            queue[tail++] = d;
        }
    }
    if (prev[t] == RS_CHAIN_NONE)
        owner = t, prev[t] = t;
    uint32_t len = 1;
    for (uint32_t v = t; v != owner; v = prev[v])
        len++;
    rs_chain_t *c = list_add(l, len);
    if (!c)
        goto out;
    for (uint32_t v = t, at = len; at > 0; v = prev[v]) {
        c->hops[--at] = (rs_chain_hop_t){ v, v == owner ? 0 : off[v] };
        if (v == owner)
            break;
    }
    rc = 0;
out:
    free(prev);
    free(off);
    free(queue);
    return rc;
}

static int cmp_chains(const void *pa, const void *pb)
{
    const rs_chain_t *a = pa, *b = pb;
    int ua = a->root == RS_CHAIN_NONE, ub = b->root == RS_CHAIN_NONE;
    if (ua != ub)
        return ua - ub;                 /* chains from roots first */
    if (a->n_hops != b->n_hops)
        return a->n_hops < b->n_hops ? -1 : 1;
    int ra = a->root == RS_CHAIN_NONE ? 8 : root_rank(g_sort_snap->heap.roots[a->root].kind);
    int rb = b->root == RS_CHAIN_NONE ? 8 : root_rank(g_sort_snap->heap.roots[b->root].kind);
    if (ra != rb)
        return ra - rb;
    uint32_t ta = a->hops[a->n_hops - 1].node, tb = b->hops[b->n_hops - 1].node;
    if (ta != tb)
        return ta < tb ? -1 : 1;
    uint32_t fa = a->n_hops > 1 ? a->hops[a->n_hops - 2].node : a->root;
    uint32_t fb = b->n_hops > 1 ? b->hops[b->n_hops - 2].node : b->root;
    return fa < fb ? -1 : fa > fb;
}

/* Direct root pointers and reachable referrers of t. */
static int add_alternatives(const rs_chain_index_t *x, chain_list_t *l, uint32_t t)
{
    const rs_heap_t *h = &x->snap->heap;
    for (uint64_t i = 0; i < h->n_root_edges; i++) {
        const rs_root_edge_t *re = &h->root_edges[i];
        if (re->dst != t)
            continue;
        rs_chain_t *c = list_add(l, 1);
        if (!c)
            return -1;
        c->root = re->root;
        c->hops[0] = (rs_chain_hop_t){ t, re->offset };
    }
    for (uint64_t e = x->rstart[t]; e < x->rstart[t + 1]; e++) {
        uint32_t r = x->rsrc[e];
        if (r == t || !x->dist[r] || x->dist[r] >= x->dist[t] + 8)
            continue;
        if (add_parent_chain(x, l, r, t, x->roff[e]) != 0)
            return -1;
    }
    return 0;
}

int rs_chain_find(const rs_chain_index_t *x, const uint32_t *targets, uint32_t n,
                  uint32_t max, rs_chain_t **out, uint32_t *n_out)
{
    chain_list_t l = { 0 };
    *out = NULL;
    *n_out = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t t = targets[i];
        if (t >= x->snap->heap.n_nodes)
            continue;
        int rc = !x->dist[t] ? add_leak_chain(x, &l, t)
               : n == 1      ? add_alternatives(x, &l, t)
                             : add_parent_chain(x, &l, t, RS_CHAIN_NONE, 0);
        if (rc != 0) {
            rs_chains_free(l.items, l.n);
            return -1;
        }
    }
    g_sort_snap = x->snap;
    if (l.n > 1)
        qsort(l.items, l.n, sizeof *l.items, cmp_chains);
    uint32_t keep = max && l.n > max ? max : l.n;
    for (uint32_t i = keep; i < l.n; i++)
        free(l.items[i].hops);
    *out = l.items;
    *n_out = keep;
    return 0;
}

int rs_chain_referrers(const rs_chain_index_t *x, uint32_t node,
                       rs_referrer_t **out, uint32_t *n_out)
{
    const rs_heap_t *h = &x->snap->heap;
    uint32_t n = 0;
    size_t cap = 0;
    rs_referrer_t *r = NULL;
    *out = NULL;
    *n_out = 0;
    if (node >= h->n_nodes)
        return 0;
    for (uint64_t i = 0; i <= h->n_root_edges + (x->rstart[node + 1] - x->rstart[node]); i++) {
        rs_referrer_t item;
        if (i < h->n_root_edges) {
            if (h->root_edges[i].dst != node)
                continue;
            item = (rs_referrer_t){ h->root_edges[i].root, 1, h->root_edges[i].offset };
        } else {
            uint64_t e = x->rstart[node] + (i - h->n_root_edges);
            if (e >= x->rstart[node + 1])
                break;
            item = (rs_referrer_t){ x->rsrc[e], 0, x->roff[e] };
        }
        if (rs_array_reserve(&r, &cap, (size_t)n + 1, sizeof *r) < 0) {
            free(r);
            return -1;
        }
        r[n++] = item;
    }
    *out = r;
    *n_out = n;
    return 0;
}

/* ---- rendering ---------------------------------------------------------- */

static void text_block(FILE *out, rs_namer_t *nm, const rs_snapshot_t *snap, uint32_t i)
{
    const rs_node_t *nd = &snap->heap.nodes[i];
    char buf[RS_TEXT_CLEAN_BUF];
    fprintf(out, "0x%" PRIx64 " %s (%" PRIu64 " bytes, %s", nd->addr,
            rs_text_clean(rs_namer_site(nm, i), buf, sizeof buf), nd->size,
            rs_class_name((rs_class_t)nd->cls));
    if (nd->type_id)
        fprintf(out, ", allocated in %s", rs_text_clean(rs_namer_function(nm, i), buf, sizeof buf));
    if (nd->flags & RS_NODE_REFCOUNTED)
        fprintf(out, ", refcount %" PRId64, nd->refcount);
    fputs(")", out);
}

static void text_offset(FILE *out, rs_namer_t *nm, uint32_t holder, uint64_t off)
{
    const char *field = holder != RS_CHAIN_NONE ? rs_namer_field(nm, holder, off) : NULL;
    char buf[RS_TEXT_CLEAN_BUF];
    if (field)
        fprintf(out, "[+%" PRIu64 " .%s] ", off, rs_text_clean(field, buf, sizeof buf));
    else
        fprintf(out, "[+%" PRIu64 "] ", off);
}

int rs_chain_print_text(FILE *out, rs_namer_t *nm, const rs_snapshot_t *snap,
                        const rs_chain_t *chains, uint32_t n)
{
    char buf[1024], clean[RS_TEXT_CLEAN_BUF];
    for (uint32_t c = 0; c < n; c++) {
        const rs_chain_t *ch = &chains[c];
        fprintf(out, "chain %" PRIu32 " (%" PRIu32 " hop%s):\n", c + 1, ch->n_hops,
                ch->n_hops == 1 ? "" : "s");
        uint32_t first = 0;
        if (ch->root != RS_CHAIN_NONE) {
            rs_root_name_t rn;
            rs_namer_root(nm, ch->root, ch->hops[0].offset, &rn);
            fprintf(out, "  %s\n", rs_text_clean(rs_root_name_format(&rn, buf, sizeof buf),
                                                clean, sizeof clean));
        } else {
            fputs("  (unreachable) leaked block ", out);
            text_block(out, nm, snap, ch->hops[0].node);
            fputs(ch->n_hops == 1 ? ": nothing points to it\n" : "\n", out);
            first = 1;
        }
        for (uint32_t h = first; h < ch->n_hops; h++) {
            fputs("  -> ", out);
            uint32_t holder = h ? ch->hops[h - 1].node : RS_CHAIN_NONE;
            if (h)
                text_offset(out, nm, holder, ch->hops[h].offset);
            text_block(out, nm, snap, ch->hops[h].node);
            fputc('\n', out);
        }
    }
    if (n == 0)
        fputs("no chain found\n", out);
    fflush(out);
    return ferror(out) ? -1 : 0;
}

static void json_root(rs_json_t *j, rs_namer_t *nm, uint32_t root, uint64_t off)
{
    rs_root_name_t rn;
    rs_namer_root(nm, root, off, &rn);
    rs_json_begin_object(j);
    rs_json_member_string(j, "kind", rn.kind);
    rs_json_member_uint_or_null(j, "tid", rn.tid, rn.tid);
    rs_json_member_string(j, "module", rn.module);
    rs_json_member_string(j, "symbol", rn.symbol);
    rs_json_member_uint(j, "offset", rn.symbol ? rn.symbol_offset : off);
    rs_json_member_hex(j, "address", rn.address);
    rs_json_member_string(j, "register", rn.reg);
    /* stack roots with known frames */
    rs_json_member_uint_or_null(j, "frame", rn.frame, rn.has_frame);
    rs_json_member_string(j, "function", rn.function);
    rs_json_member_string(j, "file", rn.file);
    rs_json_member_uint_or_null(j, "line", rn.line, rn.line);
    rs_json_end_object(j);
}

static void json_block(rs_json_t *j, rs_namer_t *nm, const rs_snapshot_t *snap,
                       uint32_t i, uint32_t holder, uint64_t off, int has_off)
{
    const rs_node_t *nd = &snap->heap.nodes[i];
    const char *type = nd->type_id && nd->type_id <= snap->n_types ? snap->types[nd->type_id - 1] : NULL;
    rs_json_begin_object(j);
    rs_json_member_hex(j, "address", nd->addr);
    rs_json_member_uint(j, "size", nd->size);
    rs_json_member_string(j, "class", rs_class_name((rs_class_t)nd->cls));
    rs_json_member_string(j, "type", type);
    rs_json_member_string(j, "function", rs_namer_function(nm, i));
    rs_json_member_string(j, "site", rs_namer_site(nm, i));
    rs_json_member_uint_or_null(j, "offset", off, has_off);
    rs_json_member_string(j, "field", has_off && holder != RS_CHAIN_NONE
                                      ? rs_namer_field(nm, holder, off) : NULL);
    rs_json_end_object(j);
}

void rs_chain_print_json(rs_json_t *j, rs_namer_t *nm, const rs_snapshot_t *snap,
                         const char *target, const rs_chain_t *chains, uint32_t n)
{
    rs_json_begin_object(j);
    rs_json_member_string(j, "target", target);
    rs_json_key(j, "chains");
    rs_json_begin_array(j);
    for (uint32_t c = 0; c < n; c++) {
        const rs_chain_t *ch = &chains[c];
        rs_json_begin_object(j);
        rs_json_key(j, "root");
        if (ch->root != RS_CHAIN_NONE)
            json_root(j, nm, ch->root, ch->hops[0].offset);
        else
            rs_json_null(j);
        rs_json_key(j, "hops");
        rs_json_begin_array(j);
        for (uint32_t h = 0; h < ch->n_hops; h++) {
            int has_off = h > 0;   /* the first pointer is described by "root" */
            json_block(j, nm, snap, ch->hops[h].node, h ? ch->hops[h - 1].node : RS_CHAIN_NONE,
                       ch->hops[h].offset, has_off);
        }
        rs_json_end_array(j);
        rs_json_end_object(j);
    }
    rs_json_end_array(j);
    rs_json_end_object(j);
}

int rs_referrers_print_text(FILE *out, rs_namer_t *nm, const rs_snapshot_t *snap,
                            uint32_t node, const rs_referrer_t *refs, uint32_t n)
{
    char buf[1024], clean[RS_TEXT_CLEAN_BUF];
    fputs("referrers of ", out);
    text_block(out, nm, snap, node);
    fprintf(out, ": %" PRIu32 "\n", n);
    for (uint32_t i = 0; i < n; i++) {
        fputs("  <- ", out);
        if (refs[i].is_root) {
            rs_root_name_t rn;
            rs_namer_root(nm, refs[i].from, refs[i].offset, &rn);
            fprintf(out, "%s\n", rs_text_clean(rs_root_name_format(&rn, buf, sizeof buf),
                                              clean, sizeof clean));
            continue;
        }
        text_offset(out, nm, refs[i].from, refs[i].offset);
        text_block(out, nm, snap, refs[i].from);
        fputc('\n', out);
    }
    fflush(out);
    return ferror(out) ? -1 : 0;
}

void rs_referrers_print_json(rs_json_t *j, rs_namer_t *nm, const rs_snapshot_t *snap,
                             uint32_t node, const rs_referrer_t *refs, uint32_t n)
{
    rs_json_begin_object(j);
    rs_json_key(j, "target");
    json_block(j, nm, snap, node, RS_CHAIN_NONE, 0, 0);
    rs_json_key(j, "referrers");
    rs_json_begin_array(j);
    for (uint32_t i = 0; i < n; i++) {
        rs_json_begin_object(j);
        rs_json_key(j, "root");
        if (refs[i].is_root)
            json_root(j, nm, refs[i].from, refs[i].offset);
        else
            rs_json_null(j);
        rs_json_key(j, "block");
        if (refs[i].is_root)
            rs_json_null(j);
        else
            json_block(j, nm, snap, refs[i].from, refs[i].from, refs[i].offset, 1);
        rs_json_end_object(j);
    }
    rs_json_end_array(j);
    rs_json_end_object(j);
}
