/*
 * objnodes.c - split blocks holding several refcounted objects into one
 * node per object (see objnodes.h for the rule).
 *
 * How it works.  The object pointers are heap-sorted in place (no
 * allocation: this runs inside the target with the world stopped, where
 * qsort could call the interposed malloc).  One merge-like pass over the
 * sorted nodes and objects counts the distinct objects inside each block;
 * if no block holds two, nothing changes.  Otherwise a second pass writes
 * the new node array: each block's parts cut at its 2nd..k-th object.
 *
 * Invariants of the passes: both walk nodes in address order with one
 * cursor into objs that only moves forward; objects below the current
 * block (in a gap between blocks) are skipped.  Blocks do not overlap, so
 * an object belongs to at most one block.
 */
#include "objnodes.h"

#include "rs_mem.h"

#include <string.h>

/* ---- sorting the object pointers (heapsort, in place) ------------------ */

static void sift_down(uint64_t *a, size_t root, size_t n)
{
    for (size_t child; (child = 2 * root + 1) < n; root = child) {
        if (child + 1 < n && a[child + 1] > a[child])
            child++;
        if (a[root] >= a[child])
            return;
        uint64_t t = a[root];
        a[root] = a[child];
        a[child] = t;
    }
}

static void sort_u64(uint64_t *a, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(a, i, n);
    for (size_t end = n; end-- > 1;) {
        uint64_t t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift_down(a, 0, end);
    }
}

/* ---- the passes ---------------------------------------------------------- */

/* Advances *k past objects below node n; returns how many distinct
 * objects lie inside n, leaving *k on the first of them. */
static uint32_t objects_in(const rs_node_t *n, const uint64_t *objs, uint32_t n_objs,
                           uint32_t *k)
{
    while (*k < n_objs && objs[*k] < n->addr)
        (*k)++;
    uint32_t count = 0;
    for (uint32_t j = *k; j < n_objs && objs[j] - n->addr < n->size; j++)
        count += j == *k || objs[j] != objs[j - 1];
    return count;
}

/* Writes the parts of block n (cut at its 2nd..k-th distinct object, the
 * first of which is objs[k]) to out; returns how many. */
static uint32_t write_parts(const rs_node_t *n, const uint64_t *objs, uint32_t n_objs,
                            uint32_t k, rs_node_t *out)
{
    uint32_t parts = 0;
    uint64_t start = n->addr, end = n->addr + n->size;
    for (uint32_t j = k + 1; j < n_objs && objs[j] < end; j++) {
        if (objs[j] == objs[j - 1])
            continue;
        out[parts] = *n;
        out[parts].addr = start;
        out[parts].size = objs[j] - start;
        if (parts)
            out[parts].flags |= RS_NODE_PART;
        parts++;
        start = objs[j];
    }
    out[parts] = *n;
    out[parts].addr = start;
    out[parts].size = end - start;
    if (parts)
        out[parts].flags |= RS_NODE_PART;
    return parts + 1;
}

int rs_objnodes_split(rs_heap_t *heap, uint64_t *objs, uint32_t n_objs)
{
    sort_u64(objs, n_objs);
    uint64_t extra = 0;
    uint32_t k = 0;
    for (uint32_t i = 0; i < heap->n_nodes; i++) {
        uint32_t c = objects_in(&heap->nodes[i], objs, n_objs, &k);
        extra += c > 1 ? c - 1 : 0;
    }
    if (extra == 0)
        return 0;
    if (heap->n_nodes + extra > UINT32_MAX - 1)
        return -1;
    uint32_t total = (uint32_t)(heap->n_nodes + extra);
    rs_node_t *nodes = rs_mem_alloc((size_t)total * sizeof *nodes);
    if (!nodes)
        return -1;
    uint32_t w = 0;
    k = 0;
    for (uint32_t i = 0; i < heap->n_nodes; i++) {
        const rs_node_t *n = &heap->nodes[i];
        if (objects_in(n, objs, n_objs, &k) > 1)
            w += write_parts(n, objs, n_objs, k, &nodes[w]);
        else
            nodes[w++] = *n;
    }
    rs_mem_free(heap->nodes);
    heap->nodes = nodes;
    heap->n_nodes = w;
    return 0;
}

uint32_t rs_objnodes_block_start(const rs_heap_t *heap, uint32_t i)
{
    while (i > 0 && (heap->nodes[i].flags & RS_NODE_PART))
        i--;
    return i;
}
