/*
 * registry_edges.c - marking the pointers of a registry keyed by identity
 * (registry_edges.h).
 *
 * A table's slot i is read from the graph, not from memory: the keys
 * array's edge at byte i * 8 (big keys) or i * 4 (GLib keeps keys in
 * 4-byte entries while every one fits in 32 bits; heapscan reads such
 * half-words as pointers too) is key i, and the values array's edge at the
 * same slot is its value.  Only slots in use (slot_used) count: a removed
 * entry's words are cleared by GLib, but a word the graph reads as a
 * pointer in an unused slot is no key.
 */
#include "registry_edges.h"

#include "heapscan.h"
#include "rs_mem.h"
#include "weak_edges.h"

#include <string.h>

static uint64_t word_at(const uint8_t *b, unsigned off)
{
    uint64_t w;
    memcpy(&w, b + off, sizeof w);
    return w;
}

void rs_ghash_view_read(const void *bytes, rs_ghash_view_t *v)
{
    const uint8_t *b = bytes;
    uint32_t bits;
    memcpy(&bits, b + 24, sizeof bits);
    v->size = word_at(b, 0);
    v->big_keys = bits & 1u;
    v->big_values = (bits >> 1) & 1u;
    v->keys = word_at(b, 32);
    v->hashes = word_at(b, 40);
    v->values = word_at(b, 48);
    v->hash_func = word_at(b, 56);
    v->key_equal = word_at(b, 64);
    v->key_destroy = word_at(b, 80);
    v->value_destroy = word_at(b, 88);
}

static void set_bit(uint64_t *bits, uint64_t e)
{
    bits[e / 64] |= 1ull << (e % 64);
}

void rs_registry_mark_edge(rs_registry_marks_t *m, uint64_t e)
{
    set_bit(m->weak, e);
    set_bit(m->registry, e);
}

void rs_registry_mark_weak(rs_registry_marks_t *m, uint64_t e)
{
    set_bit(m->weak, e);
}

static int add_owned(rs_registry_marks_t *m, uint32_t owner, uint32_t dst)
{
    if (m->n_owned == m->cap_owned) {
        uint32_t cap = m->cap_owned ? m->cap_owned * 2 : 64;
        rs_owned_edge_t *o = rs_mem_realloc(m->owned, (size_t)cap * sizeof *o);
        if (!o)
            return -1;
        m->owned = o;
        m->cap_owned = cap;
    }
    m->owned[m->n_owned++] = (rs_owned_edge_t){ owner, dst };
    return 0;
}

uint32_t rs_registry_block_at(const rs_heap_t *heap, uint64_t addr)
{
    uint32_t i = addr ? rs_heapscan_find(heap, addr) : UINT32_MAX;
    return i != UINT32_MAX && heap->nodes[i].addr == addr ? i : UINT32_MAX;
}

/* Slot of the keys array's edge at byte offset, or UINT64_MAX when that
 * word is no entry of a slot in use. */
static uint64_t slot_of(const rs_ghash_view_t *t, uint32_t offset,
                        rs_registry_slot_fn slot_used, void *ctx)
{
    unsigned width = t->big_keys ? 8 : 4;
    uint64_t slot = offset / width;
    if (offset % width || slot >= t->size || !slot_used(ctx, slot))
        return UINT64_MAX;
    return slot;
}

/* 1 when key node k has the shape rule->key_size says, and then its back
 * pointer's edge in *back. */
static int key_shaped(const rs_heap_t *heap, const rs_registry_rule_t *rule, uint32_t k,
                      uint64_t *back)
{
    if (heap->nodes[k].size != rule->key_size)
        return 0;
    *back = rs_weak_edges_at(heap, k, rule->key_back);
    return *back != UINT64_MAX &&
           (heap->nodes[heap->edges[*back].dst].flags & RS_NODE_REFCOUNTED);
}

/* A key_size table: 1 when every key in use has the shape. */
static int every_key_shaped(const rs_heap_t *heap, uint32_t keys, const rs_ghash_view_t *t,
                            const rs_registry_rule_t *rule, rs_registry_slot_fn slot_used,
                            void *ctx)
{
    uint64_t back, n = 0;
    for (uint32_t e = heap->edge_start[keys]; e < heap->edge_start[keys + 1]; e++) {
        if (slot_of(t, heap->edges[e].offset, slot_used, ctx) == UINT64_MAX)
            continue;
        if (!key_shaped(heap, rule, heap->edges[e].dst, &back))
            return 0;
        n++;
    }
    return n > 0;
}

/* The key's closure's notifiers pointing to the object of node obj
 * (rs_registry_rule_t.closure): registry pointers. */
static void mark_notifiers(const rs_heap_t *heap, rs_registry_marks_t *m,
                           const rs_registry_rule_t *rule, uint32_t key, uint32_t obj)
{
    uint64_t c = rule->closure ? rs_weak_edges_at(heap, key, rule->closure) : UINT64_MAX;
    uint64_t n = c != UINT64_MAX ? rs_weak_edges_at(heap, heap->edges[c].dst, rule->notifiers)
                                 : UINT64_MAX;
    if (n == UINT64_MAX)
        return;
    uint32_t arr = heap->edges[n].dst;
    for (uint32_t e = heap->edge_start[arr]; e < heap->edge_start[arr + 1]; e++)
        if (heap->edges[e].dst == obj && heap->edges[e].offset % 16 == 0)
            rs_registry_mark_edge(m, e);
}

/* Marks key edge e of slot `slot`, and what the rule says goes with it.
 * Returns 1 when marked, 0 when the key is none of the rule's, -1 OOM. */
static int mark_key(const rs_heap_t *heap, rs_registry_marks_t *m, const rs_ghash_view_t *t,
                    const rs_registry_rule_t *rule, uint32_t values, uint64_t e,
                    uint64_t slot)
{
    uint32_t key = heap->edges[e].dst;
    uint64_t back;
    if (rule->key_size) {
        if (!key_shaped(heap, rule, key, &back))
            return 0;
        rs_registry_mark_edge(m, back);
        mark_notifiers(heap, m, rule, key, heap->edges[back].dst);
    } else if (!(heap->nodes[key].flags & RS_NODE_REFCOUNTED)) {
        return 0;
    }
    rs_registry_mark_edge(m, e);
    if (!rule->owns_values || values == UINT32_MAX || t->values == t->keys)
        return 1;
    uint64_t v = rs_weak_edges_at(heap, values, slot * (t->big_values ? 8u : 4u));
    if (v == UINT64_MAX)
        return 1;                        /* a NULL or outside value */
    rs_registry_mark_edge(m, v);
    return add_owned(m, key, heap->edges[v].dst) == 0 ? 1 : -1;
}

int rs_registry_mark_table(const rs_heap_t *heap, rs_registry_marks_t *m,
                           const rs_ghash_view_t *t, const rs_registry_rule_t *rule,
                           rs_registry_slot_fn slot_used, void *ctx)
{
    if (!heap->edge_start)
        return 0;
    uint32_t keys = rs_registry_block_at(heap, t->keys);
    uint32_t values = rs_registry_block_at(heap, t->values);
    if (keys == UINT32_MAX)
        return 0;
    if (rule->key_size && !every_key_shaped(heap, keys, t, rule, slot_used, ctx))
        return 0;
    int marked = 0;
    for (uint32_t e = heap->edge_start[keys]; e < heap->edge_start[keys + 1]; e++) {
        uint64_t slot = slot_of(t, heap->edges[e].offset, slot_used, ctx);
        if (slot == UINT64_MAX)
            continue;
        int rc = mark_key(heap, m, t, rule, values, e, slot);
        if (rc < 0)
            return -1;
        marked += rc;
    }
    return marked;
}

/* ---- sorting the owned pairs (heap sort: no allocation, n log n) ------- */

static int owned_less(const rs_owned_edge_t *a, const rs_owned_edge_t *b)
{
    return a->owner != b->owner ? a->owner < b->owner : a->dst < b->dst;
}

static void sift_down(rs_owned_edge_t *a, uint32_t root, uint32_t n)
{
    for (;;) {
        uint32_t big = root, l = 2 * root + 1, r = l + 1;
        if (l < n && owned_less(&a[big], &a[l]))
            big = l;
        if (r < n && owned_less(&a[big], &a[r]))
            big = r;
        if (big == root)
            return;
        rs_owned_edge_t tmp = a[root];
        a[root] = a[big];
        a[big] = tmp;
        root = big;
    }
}

void rs_registry_sort_owned(rs_registry_marks_t *m)
{
    uint32_t n = m->n_owned;
    for (uint32_t i = n / 2; i-- > 0;)
        sift_down(m->owned, i, n);
    for (uint32_t end = n; end > 1; end--) {
        rs_owned_edge_t tmp = m->owned[0];
        m->owned[0] = m->owned[end - 1];
        m->owned[end - 1] = tmp;
        sift_down(m->owned, 0, end - 1);
    }
}
