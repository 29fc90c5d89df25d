/*
 * qdata_edges.c - GLib's weak-reference bookkeeping in an object's qdata,
 * marked in the heap graph (qdata_edges.h).
 *
 * Every block is found in the graph before a word of it is read: the
 * GData by its exact address and its size (len entries must fit), each
 * GSList node as a block of at least 16 bytes, the block holding a
 * GWeakRef as the one containing its address.  A list is followed for at
 * most n_nodes steps (a corrupt, circular list ends there).
 */
#include "qdata_edges.h"

#include "heapscan.h"
#include "weak_edges.h"

/* The word at addr, when [addr, addr + 8) lies inside node i; else 0. */
static uint64_t word_in(const rs_heap_t *heap, const rs_qdata_reader_t *r, uint32_t i,
                        uint64_t addr)
{
    const rs_node_t *n = &heap->nodes[i];
    uint64_t w = 0;
    if (addr < n->addr || addr + 8 > n->addr + n->size || r->read(r->ctx, addr, &w) != 0)
        return 0;
    return w;
}

uint64_t rs_gdata_lookup(const rs_heap_t *heap, const rs_qdata_reader_t *r,
                         uint64_t gdata, uint32_t quark)
{
    uint32_t g = rs_registry_block_at(heap, gdata & ~(uint64_t)RS_GDATA_FLAGS_MASK);
    if (g == UINT32_MAX || !quark)
        return 0;
    uint64_t base = heap->nodes[g].addr;
    uint64_t head = word_in(heap, r, g, base);
    uint64_t len = head & 0xffffffffu, alloc = head >> 32;
    if (len > alloc || RS_GDATA_HEADER + len * RS_GDATA_ELT > heap->nodes[g].size)
        return 0;
    for (uint64_t k = 0; k < len; k++) {
        uint64_t elt = base + RS_GDATA_HEADER + k * RS_GDATA_ELT;
        if ((word_in(heap, r, g, elt) & 0xffffffffu) == quark)
            return word_in(heap, r, g, elt + 8);
    }
    return 0;
}

/* The edge of the word at addr (inside node i) when it points into node
 * dst, else UINT64_MAX. */
static uint64_t edge_to(const rs_heap_t *heap, uint32_t i, uint64_t addr, uint32_t dst)
{
    uint64_t e = rs_weak_edges_at(heap, i, addr - heap->nodes[i].addr);
    return e != UINT64_MAX && heap->edges[e].dst == dst ? e : UINT64_MAX;
}

/* The GWeakRef at loc: a registry pointer when it lies in a block and
 * points to the object (addr, node obj).  Returns 1 when marked. */
static int mark_location(const rs_heap_t *heap, rs_registry_marks_t *m,
                         const rs_qdata_reader_t *r, uint32_t obj, uint64_t addr,
                         uint64_t loc)
{
    uint32_t holder = rs_heapscan_find(heap, loc);
    if (holder == UINT32_MAX || loc % 8 || word_in(heap, r, holder, loc) != addr)
        return 0;
    uint64_t e = edge_to(heap, holder, loc, obj);
    if (e == UINT64_MAX)
        return 0;
    rs_registry_mark_edge(m, e);
    return 1;
}

/* Weak locations: list is the GSList ** block's address. */
static int mark_locations(const rs_heap_t *heap, rs_registry_marks_t *m,
                          const rs_qdata_reader_t *r, uint32_t obj, uint64_t addr,
                          const rs_qdata_rule_t *rule, uint64_t list)
{
    uint32_t head = rs_registry_block_at(heap, list);
    if (head == UINT32_MAX)
        return 0;
    int marked = 0;
    uint64_t node_addr = word_in(heap, r, head, list);
    for (uint32_t steps = 0; node_addr && steps < heap->n_nodes; steps++) {
        uint32_t n = rs_registry_block_at(heap, node_addr);
        if (n == UINT32_MAX || heap->nodes[n].size < RS_GSLIST_SIZE)
            break;
        uint64_t loc = word_in(heap, r, n, node_addr);
        uint64_t to_holder = rs_weak_edges_at(heap, n, 0);
        if (to_holder != UINT64_MAX) {
            rs_registry_mark_edge(m, to_holder);   /* the list owns no location */
            marked++;
        }
        if (!rule->keep_refs)
            marked += mark_location(heap, m, r, obj, addr, loc);
        node_addr = word_in(heap, r, n, node_addr + 8);
    }
    return marked;
}

/* Back pointer: the word at rule->back of the block at data. */
static int mark_back(const rs_heap_t *heap, rs_registry_marks_t *m, uint32_t obj,
                     const rs_qdata_rule_t *rule, uint64_t data)
{
    uint32_t b = rs_registry_block_at(heap, data);
    if (b == UINT32_MAX || (uint64_t)rule->back + 8 > heap->nodes[b].size)
        return 0;
    uint64_t e = edge_to(heap, b, data + rule->back, obj);
    if (e == UINT64_MAX)
        return 0;
    rs_registry_mark_weak(m, e);
    return 1;
}

int rs_qdata_mark(const rs_heap_t *heap, rs_registry_marks_t *m, uint32_t obj,
                  uint64_t addr, const rs_qdata_rule_t *rule, const rs_qdata_reader_t *r)
{
    if (!heap->edge_start || !rule->quark)
        return 0;
    uint64_t data = rs_gdata_lookup(heap, r, word_in(heap, r, obj, addr + rule->field),
                                    rule->quark);
    if (!data)
        return 0;
    if (rule->kind == RS_QDATA_WEAK_LOCATIONS)
        return mark_locations(heap, m, r, obj, addr, rule, data);
    if (rule->kind == RS_QDATA_BACK)
        return mark_back(heap, m, obj, rule, data);
    return 0;
}
