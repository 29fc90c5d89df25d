/*
 * findings.c - group blocks by (class, allocation stack) (see findings.h).
 *
 * Phases:
 *  1. group:  one pass over the nodes; a uthash table maps (class, stack)
 *             to a group; node_group[i] remembers each node's group.
 *             After this, every listed node is counted in exactly one group.
 *  2. sort:   an index permutation is sorted (bytes, blocks, stack, class)
 *             and rank[group] gives each group's final position.
 *  3. charge: every indirect node's owner chain is followed to a node that
 *             is not indirect; its group (by rank) is the charge target.
 *             A group whose nodes disagree gets RS_FINDING_NONE.
 *  4. cut:    findings past the limit are dropped and counted; charges
 *             pointing past the limit become RS_FINDING_NONE.
 */
#include "findings.h"

#include <stdlib.h>
#include <string.h>

#include "uthash.h"

#define CHARGE_UNSET (UINT32_MAX - 1)

typedef struct group_key {
    uint32_t cls;
    uint32_t stack_id;
} group_key_t;

typedef struct group_ref {
    group_key_t    key;
    uint32_t       index;
    UT_hash_handle hh;
} group_ref_t;

typedef struct build {
    const rs_snapshot_t *snap;
    rs_finding_t *groups;
    uint32_t      n_groups, cap;
    group_ref_t  *table;
    uint32_t     *node_group; /* per node: group index or RS_FINDING_NONE */
    uint32_t     *rank;       /* per group: position after sorting        */
    uint32_t     *order;      /* sorted group indices                     */
} build_t;

int rs_findings_is_leak_class(rs_class_t c)
{
    return c == RS_CLASS_LEAKED || c == RS_CLASS_INDIRECT ||
           c == RS_CLASS_CYCLE || c == RS_CLASS_LEAKED_REF;
}

static rs_class_t node_class(const rs_node_t *n)
{
    return n->cls < RS_CLASS_COUNT ? (rs_class_t)n->cls : RS_CLASS_UNCLASSIFIED;
}

/* Returns the group index for key, creating it; RS_FINDING_NONE when
 * memory is exhausted. */
static uint32_t group_for(build_t *b, group_key_t key, uint32_t node)
{
    group_ref_t *ref;
    HASH_FIND(hh, b->table, &key, sizeof key, ref);
    if (ref)
        return ref->index;
    if (b->n_groups == b->cap) {
        uint32_t cap = b->cap ? b->cap * 2 : 16;
        rs_finding_t *g = realloc(b->groups, cap * sizeof *g);
        if (!g)
            return RS_FINDING_NONE;
        b->groups = g;
        b->cap = cap;
    }
    if (!(ref = calloc(1, sizeof *ref)))
        return RS_FINDING_NONE;
    const rs_node_t *n = &b->snap->heap.nodes[node];
    ref->key = key;
    ref->index = b->n_groups;
    b->groups[ref->index] = (rs_finding_t){
        .cls = (rs_class_t)key.cls, .stack_id = key.stack_id,
        .type_id = n->type_id, .first_node = node,
        .charged_to = key.cls == RS_CLASS_INDIRECT ? CHARGE_UNSET
                                                   : RS_FINDING_NONE,
        .cycle_group = key.cls == RS_CLASS_CYCLE ? n->owner : RS_FINDING_NONE,
    };
    HASH_ADD(hh, b->table, key, sizeof key, ref);
    return b->n_groups++;
}

/* Phase 1. Returns 0, or -1 when memory is exhausted. */
static int group_nodes(build_t *b, const rs_findings_options_t *opt,
                       rs_findings_t *out)
{
    const rs_heap_t *heap = &b->snap->heap;
    for (uint32_t i = 0; i < heap->n_nodes; i++) {
        const rs_node_t *n = &heap->nodes[i];
        rs_class_t c = node_class(n);
        out->by_class[c].bytes += n->size;
        out->by_class[c].blocks++;
        b->node_group[i] = RS_FINDING_NONE;
        if (!rs_findings_is_leak_class(c) &&
            !(c == RS_CLASS_REACHABLE && opt->show_reachable))
            continue;
        group_key_t key;
        memset(&key, 0, sizeof key);
        key.cls = c;
        key.stack_id = n->stack_id;
        uint32_t g = group_for(b, key, i);
        if (g == RS_FINDING_NONE)
            return -1;
        rs_finding_t *f = &b->groups[g];
        f->bytes += n->size;
        f->blocks++;
        if (f->type_id != n->type_id)
            f->type_id = 0;
        if (c == RS_CLASS_CYCLE && f->cycle_group != n->owner)
            f->cycle_group = RS_FINDING_NONE;
        b->node_group[i] = g;
    }
    return 0;
}

static int compare_groups(const void *pa, const void *pb, void *arg)
{
    const rs_finding_t *groups = arg;
    const rs_finding_t *a = &groups[*(const uint32_t *)pa];
    const rs_finding_t *b = &groups[*(const uint32_t *)pb];
    if (a->bytes != b->bytes)
        return a->bytes > b->bytes ? -1 : 1;
    if (a->blocks != b->blocks)
        return a->blocks > b->blocks ? -1 : 1;
    if (a->stack_id != b->stack_id)
        return a->stack_id < b->stack_id ? -1 : 1;
    return (a->cls > b->cls) - (a->cls < b->cls);
}

/* Phase 2. */
static void sort_groups(build_t *b)
{
    for (uint32_t g = 0; g < b->n_groups; g++)
        b->order[g] = g;
    qsort_r(b->order, b->n_groups, sizeof *b->order, compare_groups,
            b->groups);
    for (uint32_t r = 0; r < b->n_groups; r++)
        b->rank[b->order[r]] = r;
}

/* The node an indirect node is charged to: its owner chain followed past
 * indirect nodes (bounded, so a corrupt cyclic chain ends), or
 * RS_FINDING_NONE. */
static uint32_t charge_root(const rs_heap_t *heap, uint32_t i)
{
    for (uint32_t steps = 0; steps < heap->n_nodes; steps++) {
        uint32_t owner = heap->nodes[i].owner;
        if (owner >= heap->n_nodes || owner == i)
            return RS_FINDING_NONE;
        if (node_class(&heap->nodes[owner]) != RS_CLASS_INDIRECT)
            return owner;
        i = owner;
    }
    return RS_FINDING_NONE;
}

/* Phase 3: charged_to holds a rank (final index) afterwards. */
static void charge_indirect(build_t *b)
{
    const rs_heap_t *heap = &b->snap->heap;
    for (uint32_t i = 0; i < heap->n_nodes; i++) {
        uint32_t g = b->node_group[i];
        if (g == RS_FINDING_NONE || b->groups[g].cls != RS_CLASS_INDIRECT)
            continue;
        uint32_t root = charge_root(heap, i);
        uint32_t target = root == RS_FINDING_NONE ? RS_FINDING_NONE
                          : b->node_group[root];
        if (target != RS_FINDING_NONE)
            target = b->rank[target];
        rs_finding_t *f = &b->groups[g];
        if (f->charged_to == CHARGE_UNSET)
            f->charged_to = target;
        else if (f->charged_to != target)
            f->charged_to = RS_FINDING_NONE;
    }
}

/* Phase 4: copies the sorted groups into out, cut to the limit. */
static int emit(build_t *b, const rs_findings_options_t *opt,
                rs_findings_t *out)
{
    uint32_t keep = b->n_groups;
    if (opt->limit && keep > opt->limit)
        keep = opt->limit;
    out->items = calloc(keep ? keep : 1, sizeof *out->items);
    if (!out->items)
        return -1;
    for (uint32_t r = 0; r < b->n_groups; r++) {
        rs_finding_t f = b->groups[b->order[r]];
        if (r >= keep) {
            out->n_cut++;
            out->cut.bytes += f.bytes;
            out->cut.blocks += f.blocks;
            continue;
        }
        if (f.charged_to == CHARGE_UNSET || f.charged_to >= keep)
            f.charged_to = RS_FINDING_NONE;
        out->items[out->n++] = f;
    }
    return 0;
}

static void free_build(build_t *b)
{
    group_ref_t *ref, *tmp;
    HASH_ITER(hh, b->table, ref, tmp) {
        HASH_DEL(b->table, ref);
        free(ref);
    }
    free(b->groups);
    free(b->node_group);
    free(b->rank);
    free(b->order);
}

int rs_findings_build(const rs_snapshot_t *snap,
                      const rs_findings_options_t *opt, rs_findings_t *out)
{
    static const rs_findings_options_t defaults = { 0, 0 };
    build_t b = { .snap = snap };
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (!opt)
        opt = &defaults;
    size_t n_nodes = snap->heap.n_nodes;
    b.node_group = malloc((n_nodes ? n_nodes : 1) * sizeof *b.node_group);
    if (!b.node_group || group_nodes(&b, opt, out) < 0)
        goto out;
    b.rank = malloc((b.n_groups ? b.n_groups : 1) * sizeof *b.rank);
    b.order = malloc((b.n_groups ? b.n_groups : 1) * sizeof *b.order);
    if (!b.rank || !b.order)
        goto out;
    sort_groups(&b);
    charge_indirect(&b);
    rc = emit(&b, opt, out);
out:
    free_build(&b);
    if (rc < 0) {
        free(out->items);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

void rs_findings_free(rs_findings_t *f)
{
    if (!f)
        return;
    free(f->items);
    f->items = NULL;
    f->n = 0;
}
