/*
 * test_findings.c - unit tests of lib/findings on hand-built snapshots:
 * grouping by (class, stack), the total sort order, reachable groups on
 * request, the limit and what it cut, charges of indirect leaks (direct,
 * through chains, mixed, corrupt), shared types and cycle groups, and
 * where an object of a block split into objects lies (block_of).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "findings.h"

#define NONE UINT32_MAX

/* A heap of up to 32 nodes, laid out at increasing addresses. */
typedef struct fixture {
    rs_node_t     nodes[32];
    rs_snapshot_t snap;
} fixture_t;

static uint32_t add(fixture_t *fx, rs_class_t cls, uint32_t stack,
                    uint64_t size, uint32_t owner, uint32_t type)
{
    uint32_t i = fx->snap.heap.n_nodes++;
    assert_true(i < 32);
    fx->nodes[i] = (rs_node_t){ .addr = 0x1000 + 0x100 * (uint64_t)i,
                                .size = size, .stack_id = stack,
                                .type_id = type, .cls = (uint8_t)cls,
                                .owner = owner };
    fx->snap.heap.nodes = fx->nodes;
    return i;
}

/* The standard heap used by most tests; expected order after sorting:
 *   0 A leaked   stack 1  64 bytes 2 blocks
 *   1 C leaked   stack 3  64 bytes 1 block
 *   2 B indirect stack 2  48 bytes 3 blocks (charged to A)
 *   3 E cycle    stack 4  48 bytes 2 blocks (group 7)
 *   4 G leaked   stack 0   8 bytes 1 block
 *   5 F leaked_ref stack 5 8 bytes 1 block
 * plus D reachable stack 1 1000 bytes and one unclassified node. */
static void standard_heap(fixture_t *fx)
{
    memset(fx, 0, sizeof *fx);
    uint32_t a1 = add(fx, RS_CLASS_LEAKED, 1, 32, NONE, 2);
    uint32_t a2 = add(fx, RS_CLASS_LEAKED, 1, 32, NONE, 2);
    add(fx, RS_CLASS_INDIRECT, 2, 16, a1, 0);
    add(fx, RS_CLASS_INDIRECT, 2, 16, a2, 0);
    add(fx, RS_CLASS_INDIRECT, 2, 16, a1, 0);
    add(fx, RS_CLASS_LEAKED, 3, 64, NONE, 0);
    add(fx, RS_CLASS_REACHABLE, 1, 1000, NONE, 0);
    add(fx, RS_CLASS_CYCLE, 4, 24, 7, 1);
    add(fx, RS_CLASS_CYCLE, 4, 24, 7, 3);
    add(fx, RS_CLASS_LEAKED_REF, 5, 8, NONE, 1);
    add(fx, RS_CLASS_LEAKED, 0, 8, NONE, 0);
    add(fx, RS_CLASS_UNCLASSIFIED, 9, 5, NONE, 0);
}

static void expect(const rs_finding_t *f, rs_class_t cls, uint32_t stack,
                   uint64_t bytes, uint64_t blocks)
{
    assert_int_equal(f->cls, cls);
    assert_int_equal(f->stack_id, stack);
    assert_int_equal(f->bytes, bytes);
    assert_int_equal(f->blocks, blocks);
}

static void test_grouping_and_order(void **state)
{
    fixture_t fx;
    rs_findings_t r;
    standard_heap(&fx);
    assert_int_equal(rs_findings_build(&fx.snap, NULL, &r), 0);
    assert_int_equal(r.n, 6);
    assert_int_equal(r.n_cut, 0);
    /* leaks to start from first (leaked, cycle, leaked_ref), then what
     * they hold (indirect); by bytes within a class */
    expect(&r.items[0], RS_CLASS_LEAKED, 1, 64, 2);
    expect(&r.items[1], RS_CLASS_LEAKED, 3, 64, 1);
    expect(&r.items[2], RS_CLASS_LEAKED, 0, 8, 1);
    expect(&r.items[3], RS_CLASS_CYCLE, 4, 48, 2);
    expect(&r.items[4], RS_CLASS_LEAKED_REF, 5, 8, 1);
    expect(&r.items[5], RS_CLASS_INDIRECT, 2, 48, 3);
    /* lowest-addressed block of each group */
    assert_int_equal(r.items[0].first_node, 0);
    assert_int_equal(r.items[5].first_node, 2);
    /* types: shared (A: 2), first member (cycle: 1 and 3), single (F: 1) */
    assert_int_equal(r.items[0].type_id, 2);
    assert_int_equal(r.items[3].type_id, 1);
    assert_int_equal(r.items[4].type_id, 1);
    /* charges and cycle groups */
    assert_int_equal(r.items[5].charged_to, 0);
    assert_int_equal(r.items[0].charged_to, NONE);
    assert_int_equal(r.items[3].cycle_group, 7);
    assert_int_equal(r.items[0].cycle_group, NONE);
    /* totals cover every block, listed or not */
    assert_int_equal(r.by_class[RS_CLASS_LEAKED].bytes, 136);
    assert_int_equal(r.by_class[RS_CLASS_LEAKED].blocks, 4);
    assert_int_equal(r.by_class[RS_CLASS_INDIRECT].bytes, 48);
    assert_int_equal(r.by_class[RS_CLASS_REACHABLE].bytes, 1000);
    assert_int_equal(r.by_class[RS_CLASS_REACHABLE].blocks, 1);
    assert_int_equal(r.by_class[RS_CLASS_CYCLE].blocks, 2);
    assert_int_equal(r.by_class[RS_CLASS_LEAKED_REF].bytes, 8);
    assert_int_equal(r.by_class[RS_CLASS_UNCLASSIFIED].blocks, 1);
    rs_findings_free(&r);
}

static void test_show_reachable(void **state)
{
    fixture_t fx;
    rs_findings_t r;
    rs_findings_options_t opt = { .show_reachable = 1 };
    standard_heap(&fx);
    assert_int_equal(rs_findings_build(&fx.snap, &opt, &r), 0);
    assert_int_equal(r.n, 7);
    expect(&r.items[0], RS_CLASS_LEAKED, 1, 64, 2);
    /* reachable blocks are listed last */
    expect(&r.items[6], RS_CLASS_REACHABLE, 1, 1000, 1);
    assert_int_equal(r.items[5].cls, RS_CLASS_INDIRECT);
    assert_int_equal(r.items[5].charged_to, 0);
    rs_findings_free(&r);
}

static void test_limit_counts_what_was_cut(void **state)
{
    fixture_t fx;
    rs_findings_t r;
    rs_findings_options_t opt = { .limit = 2 };
    standard_heap(&fx);
    assert_int_equal(rs_findings_build(&fx.snap, &opt, &r), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.n_cut, 4);
    assert_int_equal(r.cut.bytes, 48 + 48 + 8 + 8);
    assert_int_equal(r.cut.blocks, 3 + 2 + 1 + 1);
    /* totals are not affected by the limit */
    assert_int_equal(r.by_class[RS_CLASS_LEAKED].bytes, 136);
    rs_findings_free(&r);

    opt.limit = 6;
    assert_int_equal(rs_findings_build(&fx.snap, &opt, &r), 0);
    assert_int_equal(r.n, 6);
    assert_int_equal(r.items[5].charged_to, 0);
    rs_findings_free(&r);
}

/* A leak always lists before the indirect blocks charged to it, so a
 * limit cuts the indirect ones first and never leaves a dangling charge. */
static void test_limit_cuts_indirect_first(void **state)
{
    fixture_t fx;
    rs_findings_t r;
    rs_findings_options_t opt = { .limit = 1 };
    memset(&fx, 0, sizeof fx);
    uint32_t small = add(&fx, RS_CLASS_LEAKED, 1, 8, NONE, 0);
    add(&fx, RS_CLASS_INDIRECT, 2, 100, small, 0);
    assert_int_equal(rs_findings_build(&fx.snap, &opt, &r), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.n_cut, 1);
    expect(&r.items[0], RS_CLASS_LEAKED, 1, 8, 1);
    rs_findings_free(&r);
    /* without the limit the charge is there */
    assert_int_equal(rs_findings_build(&fx.snap, NULL, &r), 0);
    expect(&r.items[1], RS_CLASS_INDIRECT, 2, 100, 1);
    assert_int_equal(r.items[1].charged_to, 0);
    rs_findings_free(&r);
}

static void test_charges_chains_mixed_and_corrupt(void **state)
{
    fixture_t fx;
    rs_findings_t r;
    memset(&fx, 0, sizeof fx);
    uint32_t l1 = add(&fx, RS_CLASS_LEAKED, 1, 400, NONE, 0);
    uint32_t l2 = add(&fx, RS_CLASS_LEAKED, 2, 300, NONE, 0);
    /* stack 3: a chain indirect -> indirect -> l1 */
    uint32_t mid = add(&fx, RS_CLASS_INDIRECT, 4, 10, l1, 0);
    add(&fx, RS_CLASS_INDIRECT, 3, 200, mid, 0);
    /* stack 5: charged to l1 and to l2: mixed */
    add(&fx, RS_CLASS_INDIRECT, 5, 100, l1, 0);
    add(&fx, RS_CLASS_INDIRECT, 5, 100, l2, 0);
    /* stack 6: owner out of range */
    add(&fx, RS_CLASS_INDIRECT, 6, 50, 999, 0);
    /* stack 7: two indirect nodes owning each other (corrupt) */
    uint32_t c1 = fx.snap.heap.n_nodes;
    add(&fx, RS_CLASS_INDIRECT, 7, 20, c1 + 1, 0);
    add(&fx, RS_CLASS_INDIRECT, 7, 20, c1, 0);
    (void)l2;
    assert_int_equal(rs_findings_build(&fx.snap, NULL, &r), 0);
    assert_int_equal(r.n, 7);
    expect(&r.items[0], RS_CLASS_LEAKED, 1, 400, 1);
    expect(&r.items[1], RS_CLASS_LEAKED, 2, 300, 1);
    /* equal bytes: more blocks first */
    expect(&r.items[2], RS_CLASS_INDIRECT, 5, 200, 2);
    assert_int_equal(r.items[2].charged_to, NONE);
    expect(&r.items[3], RS_CLASS_INDIRECT, 3, 200, 1);
    assert_int_equal(r.items[3].charged_to, 0);
    expect(&r.items[4], RS_CLASS_INDIRECT, 6, 50, 1);
    assert_int_equal(r.items[4].charged_to, NONE);
    expect(&r.items[5], RS_CLASS_INDIRECT, 7, 40, 2);
    assert_int_equal(r.items[5].charged_to, NONE);
    expect(&r.items[6], RS_CLASS_INDIRECT, 4, 10, 1);
    assert_int_equal(r.items[6].charged_to, 0);
    rs_findings_free(&r);
}

static void test_empty_and_reachable_only(void **state)
{
    fixture_t fx;
    rs_findings_t r;
    memset(&fx, 0, sizeof fx);
    assert_int_equal(rs_findings_build(&fx.snap, NULL, &r), 0);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.n_cut, 0);
    rs_findings_free(&r);
    add(&fx, RS_CLASS_REACHABLE, 1, 10, NONE, 0);
    add(&fx, 200, 1, 10, NONE, 0); /* corrupt class: unclassified */
    assert_int_equal(rs_findings_build(&fx.snap, NULL, &r), 0);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.by_class[RS_CLASS_REACHABLE].blocks, 1);
    assert_int_equal(r.by_class[RS_CLASS_UNCLASSIFIED].blocks, 1);
    rs_findings_free(&r);
    rs_findings_free(NULL);
}

static void test_same_stack_different_class(void **state)
{
    fixture_t fx;
    rs_findings_t r;
    memset(&fx, 0, sizeof fx);
    add(&fx, RS_CLASS_LEAKED, 1, 10, NONE, 0);
    add(&fx, RS_CLASS_LEAKED_REF, 1, 10, NONE, 0);
    assert_int_equal(rs_findings_build(&fx.snap, NULL, &r), 0);
    assert_int_equal(r.n, 2);
    /* equal bytes, blocks and stack: class decides */
    assert_int_equal(r.items[0].cls, RS_CLASS_LEAKED);
    assert_int_equal(r.items[1].cls, RS_CLASS_LEAKED_REF);
    rs_findings_free(&r);
    assert_true(rs_findings_is_leak_class(RS_CLASS_CYCLE));
    assert_false(rs_findings_is_leak_class(RS_CLASS_REACHABLE));
    assert_false(rs_findings_is_leak_class(RS_CLASS_UNCLASSIFIED));
}

/* ---- refcounted objects: a growable heap with edges and history -------- */

/* Stacks (innermost first), modelled on refhistory.h's example:
 *  1 ctor, called from main        2 borrow_ok's incref
 *  3 borrow_ok's decref            4 borrow_wrong's incref
 *  5 main's final unref            6 link(): incref of the target
 *  7 another allocation site       8, 9 rc error sites */
static const uint64_t pcs_ctor[] = { 0x9000, 0xF000 };
static const uint64_t pcs_ok_inc[] = { 0x2001, 0x9010, 0xF000 };
static const uint64_t pcs_ok_dec[] = { 0x2002, 0x9010, 0xF000 };
static const uint64_t pcs_wrong[] = { 0x3001, 0x9020, 0xF000 };
static const uint64_t pcs_unref[] = { 0x9030, 0xF000 };
static const uint64_t pcs_link[] = { 0x4001, 0x9040, 0xF000 };
static const uint64_t pcs_other[] = { 0x5001, 0xF000 };
static const uint64_t pcs_err1[] = { 0x6001, 0xF000 };
static const uint64_t pcs_err2[] = { 0x7001, 0xF000 };

enum { S_CTOR = 1, S_OK_INC, S_OK_DEC, S_WRONG, S_UNREF, S_LINK, S_OTHER,
       S_ERR1, S_ERR2 };

typedef struct rc_heap {
    rs_node_t      *nodes;
    uint32_t        n, cap;
    /* edges as (src, dst, offset) triples before CSR conversion */
    uint32_t       (*raw)[3];
    uint32_t        n_raw, cap_raw;
    /* per node event lists, converted to CSR by rc_finish() */
    rs_ref_event_t *ev;
    uint32_t       *ev_node;
    uint32_t        n_ev, cap_ev;
    rs_rc_error_t   errs[16];
    rs_stack_t      stacks[9];
    uint32_t       *edge_start;
    rs_edge_t      *edges;
    uint32_t       *event_start;
    rs_ref_event_t *events;
    rs_snapshot_t   snap;
} rc_heap_t;

static rc_heap_t *rc_new(void)
{
    rc_heap_t *h = calloc(1, sizeof *h);
    const uint64_t *p[] = { pcs_ctor, pcs_ok_inc, pcs_ok_dec, pcs_wrong,
                            pcs_unref, pcs_link, pcs_other, pcs_err1,
                            pcs_err2 };
    uint32_t n[] = { 2, 3, 3, 3, 2, 3, 2, 2, 2 };
    for (int i = 0; i < 9; i++)
        h->stacks[i] = (rs_stack_t){ 0, n[i], p[i] };
    return h;
}

/* Adds a node at the next address (0x100000 + 0x40 * index). */
static uint32_t rc_node(rc_heap_t *h, rs_class_t cls, uint32_t stack,
                        uint32_t type, uint64_t size, int64_t refcount,
                        uint32_t owner)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->nodes = realloc(h->nodes, h->cap * sizeof *h->nodes);
    }
    uint32_t i = h->n++;
    h->nodes[i] = (rs_node_t){
        .addr = 0x100000 + 0x40 * (uint64_t)i, .size = size,
        .stack_id = stack, .type_id = type,
        .flags = type ? RS_NODE_REFCOUNTED : 0, .cls = (uint8_t)cls,
        .owner = owner, .refcount = refcount };
    return i;
}

static void rc_edge(rc_heap_t *h, uint32_t src, uint32_t dst, uint32_t off)
{
    if (h->n_raw == h->cap_raw) {
        h->cap_raw = h->cap_raw ? h->cap_raw * 2 : 64;
        h->raw = realloc(h->raw, h->cap_raw * sizeof *h->raw);
    }
    h->raw[h->n_raw][0] = src;
    h->raw[h->n_raw][1] = dst;
    h->raw[h->n_raw][2] = off;
    h->n_raw++;
}

/* Appends an event to node's history (events must be added in order per
 * node; nodes may interleave). */
static void rc_event_on(rc_heap_t *h, uint32_t node, rs_ref_op_t op,
                        uint32_t stack, uint16_t thread)
{
    if (h->n_ev == h->cap_ev) {
        h->cap_ev = h->cap_ev ? h->cap_ev * 2 : 64;
        h->ev = realloc(h->ev, h->cap_ev * sizeof *h->ev);
        h->ev_node = realloc(h->ev_node, h->cap_ev * sizeof *h->ev_node);
    }
    h->ev[h->n_ev] = (rs_ref_event_t){ .stack_id = stack, .seq = h->n_ev + 1,
                                       .thread = thread, .op = (uint8_t)op };
    h->ev_node[h->n_ev++] = node;
}

/* rc_event_on thread 0. */
static void rc_event(rc_heap_t *h, uint32_t node, rs_ref_op_t op,
                     uint32_t stack)
{
    rc_event_on(h, node, op, stack, 0);
}

/* The refhistory.h example on node: ctor, borrow_ok's balanced pair,
 * borrow_wrong's incref, main's unref.  borrow_wrong stays unbalanced. */
static void rc_borrow_history(rc_heap_t *h, uint32_t node)
{
    rc_event(h, node, RS_REF_CTOR, S_CTOR);
    rc_event(h, node, RS_REF_INCREF, S_OK_INC);
    rc_event(h, node, RS_REF_DECREF, S_OK_DEC);
    rc_event(h, node, RS_REF_INCREF, S_WRONG);
    rc_event(h, node, RS_REF_DECREF, S_UNREF);
}

/* Builds the CSR arrays and the snapshot. */
static rs_snapshot_t *rc_finish(rc_heap_t *h)
{
    h->edge_start = calloc(h->n + 1, sizeof *h->edge_start);
    h->edges = calloc(h->n_raw + 1, sizeof *h->edges);
    for (uint32_t e = 0; e < h->n_raw; e++)
        h->edge_start[h->raw[e][0] + 1]++;
    for (uint32_t i = 0; i < h->n; i++)
        h->edge_start[i + 1] += h->edge_start[i];
    uint32_t *fill = calloc(h->n + 1, sizeof *fill);
    for (uint32_t e = 0; e < h->n_raw; e++) {
        uint32_t src = h->raw[e][0];
        h->edges[h->edge_start[src] + fill[src]++] =
            (rs_edge_t){ h->raw[e][1], h->raw[e][2] };
    }
    h->event_start = calloc(h->n + 1, sizeof *h->event_start);
    h->events = calloc(h->n_ev + 1, sizeof *h->events);
    for (uint32_t k = 0; k < h->n_ev; k++)
        h->event_start[h->ev_node[k] + 1]++;
    for (uint32_t i = 0; i < h->n; i++)
        h->event_start[i + 1] += h->event_start[i];
    memset(fill, 0, (h->n + 1) * sizeof *fill);
    for (uint32_t k = 0; k < h->n_ev; k++) {
        uint32_t i = h->ev_node[k];
        h->events[h->event_start[i] + fill[i]++] = h->ev[k];
    }
    free(fill);
    rs_snapshot_t *s = &h->snap;
    s->stacks = h->stacks;
    s->n_stacks = 9;
    s->heap = (rs_heap_t){ .nodes = h->nodes, .n_nodes = h->n,
                           .edge_start = h->edge_start, .edges = h->edges,
                           .n_edges = h->n_raw };
    s->history = (rs_ref_history_t){ h->event_start, h->events, h->n_ev };
    s->rc_errors = h->errs;
    return s;
}

static void rc_free(rc_heap_t *h)
{
    free(h->nodes);
    free(h->raw);
    free(h->ev);
    free(h->ev_node);
    free(h->edge_start);
    free(h->edges);
    free(h->event_start);
    free(h->events);
    free(h);
}

/* The finding of class cls whose first node is `node`, or fails. */
static const rs_finding_t *finding_at(const rs_findings_t *r, rs_class_t cls,
                                      uint32_t node)
{
    for (uint32_t i = 0; i < r->n; i++)
        if (r->items[i].cls == cls && r->items[i].first_node == node)
            return &r->items[i];
    fail_msg("no %s finding starting at node %u", rs_class_name(cls), node);
    return NULL;
}

static uint32_t count_class(const rs_findings_t *r, rs_class_t cls)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->n; i++)
        n += r->items[i].cls == cls;
    return n;
}

static void test_cycle_aggregation_by_shape(void **state)
{
    rc_heap_t *h = rc_new();
    /* 1000 groups A(stack 1) <-> B(stack 7), Node (type 1), 48 bytes */
    for (uint32_t g = 0; g < 1000; g++) {
        uint32_t a = rc_node(h, RS_CLASS_CYCLE, S_CTOR, 1, 48, 1, g);
        uint32_t b = rc_node(h, RS_CLASS_CYCLE, S_OTHER, 1, 48, 1, g);
        rc_edge(h, a, b, 24);
        rc_edge(h, b, a, 24);
    }
    /* the same shape listed in the other order within the group
     * (B-stack member first): still the same shape */
    uint32_t b2 = rc_node(h, RS_CLASS_CYCLE, S_OTHER, 1, 48, 1, 1000);
    uint32_t a2 = rc_node(h, RS_CLASS_CYCLE, S_CTOR, 1, 48, 1, 1000);
    rc_edge(h, a2, b2, 24);
    rc_edge(h, b2, a2, 24);
    /* another shape: a self-cycle of type 2 */
    uint32_t self = rc_node(h, RS_CLASS_CYCLE, S_CTOR, 2, 16, 1, 1001);
    rc_edge(h, self, self, 8);
    /* another shape: three members, one a plain children array */
    uint32_t p = rc_node(h, RS_CLASS_CYCLE, S_CTOR, 1, 48, 1, 1002);
    uint32_t arr = rc_node(h, RS_CLASS_CYCLE, S_OTHER, 0, 32, 0, 1002);
    uint32_t c = rc_node(h, RS_CLASS_CYCLE, S_LINK, 1, 48, 1, 1002);
    rc_edge(h, p, arr, 16);
    rc_edge(h, arr, c, 0);
    rc_edge(h, arr, c, 8);   /* two slots hold the child */
    rc_edge(h, c, p, 40);
    rs_snapshot_t *snap = rc_finish(h);

    rs_findings_t r;
    assert_int_equal(rs_findings_build(snap, NULL, &r), 0);
    assert_int_equal(count_class(&r, RS_CLASS_CYCLE), 3);
    const rs_finding_t *f = &r.items[0]; /* the biggest */
    assert_int_equal(f->cls, RS_CLASS_CYCLE);
    assert_int_equal(f->groups, 1001);
    assert_int_equal(f->bytes, 1001 * 96);
    assert_int_equal(f->blocks, 2002);
    assert_int_equal(f->first_node, 0);
    assert_int_equal(f->stack_id, S_CTOR);
    assert_int_equal(f->type_id, 1);
    assert_int_equal(f->cycle_group, 0);
    assert_int_equal(f->n_members, 2);
    assert_int_equal(f->n_members_total, 2);
    assert_int_equal(f->members[0], 0);
    assert_int_equal(f->members[1], 1);
    assert_int_equal(f->n_edges, 2);
    assert_int_equal(f->edges[0].from, 0);
    assert_int_equal(f->edges[0].to, 1);
    assert_int_equal(f->edges[0].offset, 24);
    assert_int_equal(f->edges[1].from, 1);
    assert_int_equal(f->edges[1].to, 0);
    assert_int_equal(f->edges[0].incref_stack, 0); /* no history */
    assert_int_equal(f->refs, 0);
    assert_null(f->unbalanced);

    const rs_finding_t *fs = finding_at(&r, RS_CLASS_CYCLE, self);
    assert_int_equal(fs->groups, 1);
    assert_int_equal(fs->type_id, 2);
    assert_int_equal(fs->n_edges, 1);
    assert_int_equal(fs->edges[0].from, 0);
    assert_int_equal(fs->edges[0].to, 0);
    assert_int_equal(fs->edges[0].offset, 8);

    const rs_finding_t *f3 = finding_at(&r, RS_CLASS_CYCLE, p);
    assert_int_equal(f3->groups, 1);
    assert_int_equal(f3->bytes, 128);
    assert_int_equal(f3->n_members, 3);
    assert_int_equal(f3->members[1], arr);
    assert_int_equal(f3->n_edges, 4);
    /* sorted by source member, then offset */
    uint32_t want[4][3] = { { 0, 1, 16 }, { 1, 2, 0 }, { 1, 2, 8 },
                            { 2, 0, 40 } };
    for (int e = 0; e < 4; e++) {
        assert_int_equal(f3->edges[e].from, want[e][0]);
        assert_int_equal(f3->edges[e].to, want[e][1]);
        assert_int_equal(f3->edges[e].offset, want[e][2]);
    }
    assert_int_equal(r.by_class[RS_CLASS_CYCLE].blocks, 2002 + 1 + 3);

    /* the limit keeps the biggest, details only for kept ones */
    rs_findings_free(&r);
    rs_findings_options_t opt = { .limit = 1 };
    assert_int_equal(rs_findings_build(snap, &opt, &r), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.n_cut, 2);
    assert_int_equal(r.items[0].groups, 1001);
    rs_findings_free(&r);
    rc_free(h);
}

static void test_cycle_edges_get_their_increfs(void **state)
{
    rc_heap_t *h = rc_new();
    /* a reachable node pointing into the cycle: not a member's edge */
    uint32_t root = rc_node(h, RS_CLASS_REACHABLE, S_OTHER, 0, 8, 0, NONE);
    uint32_t a = rc_node(h, RS_CLASS_CYCLE, S_CTOR, 1, 48, 1, 3);
    uint32_t b = rc_node(h, RS_CLASS_CYCLE, S_CTOR, 1, 48, 2, 3);
    /* a leaked plain block outside the group that b points to */
    uint32_t out = rc_node(h, RS_CLASS_INDIRECT, S_OTHER, 0, 8, 0, b);
    rc_edge(h, root, a, 0);
    rc_edge(h, a, b, 24);
    rc_edge(h, b, a, 24);
    rc_edge(h, b, b, 32);  /* a self-pointer too */
    rc_edge(h, b, out, 8);
    /* a: created by main, linked from b (link's incref), unref'ed by main:
     * the link incref stays.  b: created, incref'ed by link, incref'ed by
     * borrow_wrong (most recent), main's unref pairs with the ctor. */
    rc_event(h, a, RS_REF_CTOR, S_CTOR);
    rc_event(h, b, RS_REF_CTOR, S_CTOR);
    rc_event(h, b, RS_REF_INCREF, S_LINK);
    rc_event(h, a, RS_REF_INCREF, S_LINK);
    rc_event(h, b, RS_REF_INCREF, S_WRONG);
    rc_event(h, a, RS_REF_DECREF, S_UNREF);
    rc_event(h, b, RS_REF_DECREF, S_UNREF);
    rs_snapshot_t *snap = rc_finish(h);

    uint64_t ev[4];
    uint32_t total = 0;
    assert_int_equal(rs_findings_unbalanced_events(snap, b, ev, 4, &total), 2);
    assert_int_equal(total, 2);
    assert_int_equal(snap->history.events[ev[0]].stack_id, S_WRONG);
    assert_int_equal(snap->history.events[ev[1]].stack_id, S_LINK);
    /* the cap is honoured, the total still counted */
    assert_int_equal(rs_findings_unbalanced_events(snap, b, ev, 1, &total), 1);
    assert_int_equal(total, 2);
    /* no history: none */
    assert_int_equal(rs_findings_unbalanced_events(snap, root, ev, 4, &total),
                     0);
    assert_int_equal(total, 0);

    rs_findings_t r;
    assert_int_equal(rs_findings_build(snap, NULL, &r), 0);
    const rs_finding_t *f = finding_at(&r, RS_CLASS_CYCLE, a);
    assert_int_equal(f->n_members, 2);
    assert_int_equal(f->n_edges, 3);
    /* a +24 -> b, b +24 -> a, b +32 -> b */
    assert_int_equal(f->edges[0].to, 1);
    assert_int_equal(f->edges[1].from, 1);
    assert_int_equal(f->edges[1].to, 0);
    assert_int_equal(f->edges[1].offset, 24);
    assert_int_equal(f->edges[2].offset, 32);
    /* a's only unbalanced incref is link's: the edge b -> a */
    assert_int_equal(f->edges[1].incref_stack, S_LINK);
    /* b's unbalanced increfs, most recent first, go to its in-edges in
     * edge order: a -> b gets borrow_wrong's, b -> b link's */
    assert_int_equal(f->edges[0].incref_stack, S_WRONG);
    assert_int_equal(f->edges[2].incref_stack, S_LINK);
    /* the indirect block is charged to the cycle finding */
    const rs_finding_t *ind = finding_at(&r, RS_CLASS_INDIRECT, out);
    assert_ptr_equal(&r.items[ind->charged_to], f);
    rs_findings_free(&r);

    /* without history every incref is unknown */
    snap->history = (rs_ref_history_t){ 0 };
    assert_int_equal(rs_findings_build(snap, NULL, &r), 0);
    f = finding_at(&r, RS_CLASS_CYCLE, a);
    for (uint32_t e = 0; e < f->n_edges; e++)
        assert_int_equal(f->edges[e].incref_stack, 0);
    rs_findings_free(&r);
    rc_free(h);
}

static void test_leaked_refs_grouped_by_unbalanced_stacks(void **state)
{
    rc_heap_t *h = rc_new();
    /* three Node objects from stack 1 with borrow_wrong's lost ref */
    uint32_t o[3];
    for (int i = 0; i < 3; i++) {
        o[i] = rc_node(h, RS_CLASS_LEAKED_REF, S_CTOR, 1, 40, 2, NONE);
        rc_borrow_history(h, o[i]);
    }
    /* a fourth with two lost borrow_wrong refs: same set of stacks */
    uint32_t o4 = rc_node(h, RS_CLASS_LEAKED_REF, S_CTOR, 1, 40, 3, NONE);
    rc_borrow_history(h, o4);
    rc_event(h, o4, RS_REF_INCREF, S_WRONG);
    /* one pointer to o[0] from a garbage block it owns (an indirect) */
    uint32_t child = rc_node(h, RS_CLASS_INDIRECT, S_OTHER, 0, 16, 0, o[0]);
    rc_edge(h, child, o[0], 0);
    /* the same type and stack but another lost ref (link's): separate */
    uint32_t o5 = rc_node(h, RS_CLASS_LEAKED_REF, S_CTOR, 1, 40, 2, NONE);
    rc_event(h, o5, RS_REF_CTOR, S_CTOR);
    rc_event(h, o5, RS_REF_INCREF, S_LINK);
    /* another type, same everything else: separate */
    uint32_t o6 = rc_node(h, RS_CLASS_LEAKED_REF, S_CTOR, 2, 40, 2, NONE);
    rc_borrow_history(h, o6);
    /* no history at all: an empty set */
    uint32_t o7 = rc_node(h, RS_CLASS_LEAKED_REF, S_CTOR, 1, 40, 5, NONE);
    rs_snapshot_t *snap = rc_finish(h);

    rs_findings_t r;
    assert_int_equal(rs_findings_build(snap, NULL, &r), 0);
    assert_int_equal(count_class(&r, RS_CLASS_LEAKED_REF), 4);
    const rs_finding_t *f = finding_at(&r, RS_CLASS_LEAKED_REF, o[0]);
    assert_int_equal(f->blocks, 4);
    assert_int_equal(f->bytes, 160);
    assert_int_equal(f->type_id, 1);
    assert_int_equal(f->refcount, 2);
    assert_int_equal(f->pointers, 1);
    /* (2 - 1) + 2 + 2 + 3 */
    assert_int_equal(f->refs, 8);
    assert_int_equal(f->n_unbalanced, 1);
    assert_int_equal(f->unbalanced[0].stack_id, S_WRONG);
    assert_int_equal(f->unbalanced[0].count, 5);
    assert_int_equal(f->unbalanced_cut, 0);
    /* the indirect child is charged to it */
    const rs_finding_t *ind = finding_at(&r, RS_CLASS_INDIRECT, child);
    assert_ptr_equal(&r.items[ind->charged_to], f);

    const rs_finding_t *f5 = finding_at(&r, RS_CLASS_LEAKED_REF, o5);
    assert_int_equal(f5->blocks, 1);
    assert_int_equal(f5->n_unbalanced, 2);
    /* equal counts: by stack id */
    assert_int_equal(f5->unbalanced[0].stack_id, S_CTOR);
    assert_int_equal(f5->unbalanced[1].stack_id, S_LINK);
    assert_int_equal(f5->refs, 2);
    assert_int_equal(f5->pointers, 0);

    const rs_finding_t *f6 = finding_at(&r, RS_CLASS_LEAKED_REF, o6);
    assert_int_equal(f6->type_id, 2);
    assert_int_equal(f6->unbalanced[0].stack_id, S_WRONG);
    const rs_finding_t *f7 = finding_at(&r, RS_CLASS_LEAKED_REF, o7);
    assert_int_equal(f7->n_unbalanced, 0);
    assert_int_equal(f7->refs, 5);
    rs_findings_free(&r);
    rc_free(h);
}

/* A reference handed to another thread: main (thread 0) creates the
 * object, thread 1 takes a reference at borrow_wrong's stack and keeps it,
 * main takes one at link's, thread 2 releases one, main releases its own.
 * Thread 2's decref shares no frame with an incref of its thread: rule 2
 * pairs it, by guess, with the ctor (one shared frame, the fewest others);
 * main's unref takes link's (same thread).  borrow_wrong's is unbalanced
 * and the ctor's may be instead. */
static void rc_handoff_history(rc_heap_t *h, uint32_t node)
{
    rc_event(h, node, RS_REF_CTOR, S_CTOR);
    rc_event_on(h, node, RS_REF_INCREF, S_WRONG, 1);
    rc_event(h, node, RS_REF_INCREF, S_LINK);
    rc_event_on(h, node, RS_REF_DECREF, S_OTHER, 2);
    rc_event(h, node, RS_REF_DECREF, S_UNREF);
}

static void test_guessed_pairings_name_maybe_unbalanced(void **state)
{
    rc_heap_t *h = rc_new();
    uint32_t a = rc_node(h, RS_CLASS_LEAKED_REF, S_CTOR, 1, 40, 1, NONE);
    rc_handoff_history(h, a);
    uint32_t b = rc_node(h, RS_CLASS_LEAKED_REF, S_CTOR, 1, 40, 1, NONE);
    rc_handoff_history(h, b);
    /* the same unbalanced incref, no guess: a finding of its own */
    uint32_t c = rc_node(h, RS_CLASS_LEAKED_REF, S_CTOR, 1, 40, 1, NONE);
    rc_borrow_history(h, c);
    /* a guess made before the unbalanced incref was taken does not make
     * it uncertain: thread 2 releases the ctor's reference while the
     * handed-over one is open, then borrow_wrong's is taken */
    uint32_t d = rc_node(h, RS_CLASS_LEAKED_REF, S_CTOR, 2, 40, 1, NONE);
    rc_event(h, d, RS_REF_CTOR, S_CTOR);
    rc_event(h, d, RS_REF_INCREF, S_LINK);
    rc_event_on(h, d, RS_REF_DECREF, S_OTHER, 2);
    rc_event(h, d, RS_REF_DECREF, S_UNREF);
    rc_event(h, d, RS_REF_INCREF, S_WRONG);
    rs_snapshot_t *snap = rc_finish(h);

    uint64_t ev[4];
    assert_int_equal(rs_findings_guessed_events(snap, a, ev, 4), 1);
    assert_int_equal(snap->history.events[ev[0]].stack_id, S_CTOR);
    assert_int_equal(rs_findings_guessed_events(snap, c, ev, 4), 0);
    assert_int_equal(rs_findings_guessed_events(snap, d, ev, 4), 0);
    assert_int_equal(rs_findings_guessed_events(snap, a, ev, 0), 0);

    rs_findings_t r;
    assert_int_equal(rs_findings_build(snap, NULL, &r), 0);
    assert_int_equal(count_class(&r, RS_CLASS_LEAKED_REF), 3);
    const rs_finding_t *f = finding_at(&r, RS_CLASS_LEAKED_REF, a);
    assert_int_equal(f->blocks, 2);
    assert_int_equal(f->n_unbalanced, 2);
    assert_int_equal(f->unbalanced[0].stack_id, S_WRONG);
    assert_int_equal(f->unbalanced[0].count, 2);
    assert_false(f->unbalanced[0].maybe);
    assert_int_equal(f->unbalanced[1].stack_id, S_CTOR);
    assert_int_equal(f->unbalanced[1].count, 2);
    assert_true(f->unbalanced[1].maybe);
    const rs_finding_t *fc = finding_at(&r, RS_CLASS_LEAKED_REF, c);
    assert_ptr_not_equal(fc, f);
    assert_int_equal(fc->n_unbalanced, 1);
    assert_false(fc->unbalanced[0].maybe);
    const rs_finding_t *fd = finding_at(&r, RS_CLASS_LEAKED_REF, d);
    assert_int_equal(fd->n_unbalanced, 1);
    assert_int_equal(fd->unbalanced[0].stack_id, S_WRONG);
    assert_false(fd->unbalanced[0].maybe);
    rs_findings_free(&r);
    rc_free(h);
}

static void test_many_unbalanced_stacks_are_capped(void **state)
{
    rc_heap_t *h = rc_new();
    uint32_t o = rc_node(h, RS_CLASS_LEAKED_REF, S_CTOR, 1, 40, 100, NONE);
    /* increfs from RS_FINDINGS_MAX_UNBALANCED + 3 distinct (unknown to the
     * snapshot) stack ids, id 100 three times */
    for (uint32_t k = 0; k < RS_FINDINGS_MAX_UNBALANCED + 3; k++)
        rc_event(h, o, RS_REF_INCREF, 100 + k);
    rc_event(h, o, RS_REF_INCREF, 100);
    rc_event(h, o, RS_REF_INCREF, 100);
    rs_snapshot_t *snap = rc_finish(h);
    rs_findings_t r;
    assert_int_equal(rs_findings_build(snap, NULL, &r), 0);
    const rs_finding_t *f = finding_at(&r, RS_CLASS_LEAKED_REF, o);
    assert_int_equal(f->n_unbalanced, RS_FINDINGS_MAX_UNBALANCED);
    assert_int_equal(f->unbalanced[0].stack_id, 100);
    assert_int_equal(f->unbalanced[0].count, 3);
    assert_int_equal(f->unbalanced_cut, 3);
    rs_findings_free(&r);
    rc_free(h);
}

static rs_rc_error_t rc_err(rs_rc_error_kind_t kind, uint32_t type,
                            uint64_t addr, int64_t count, uint32_t stack,
                            uint32_t other)
{
    return (rs_rc_error_t){ .kind = kind, .type_id = type, .addr = addr,
                            .count = count, .stack_id = stack,
                            .other_stack_id = other, .tid = 1 };
}

static void test_rc_errors_grouped(void **state)
{
    rc_heap_t *h = rc_new();
    rs_snapshot_t *snap = rc_finish(h);
    rs_rc_error_t *e = h->errs;
    /* 0: decref_unknown once; 1-3: underflow at (8, 9) three times on
     * different objects; 4: underflow at (8, 0); 5: underflow at (8, 9) */
    e[0] = rc_err(RS_RC_DECREF_UNKNOWN, 0, 0xdead, 0, S_ERR1, 0);
    for (int i = 1; i <= 3; i++)
        e[i] = rc_err(RS_RC_UNDERFLOW, 1, 0x1000 * (uint64_t)i, -i, S_ERR1,
                      S_ERR2);
    e[4] = rc_err(RS_RC_UNDERFLOW, 1, 0x9000, -1, S_ERR1, 0);
    e[5] = rc_err(RS_RC_FREE_REFERENCED, 1, 0x9100, 2, S_ERR2, S_CTOR);
    snap->n_rc_errors = 6;

    rs_findings_t r;
    assert_int_equal(rs_findings_build(snap, NULL, &r), 0);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.n_errors, 4);
    const rs_rc_finding_t *x = &r.errors[0];
    assert_int_equal(x->kind, RS_RC_UNDERFLOW);
    assert_int_equal(x->occurrences, 3);
    assert_int_equal(x->first, 1);
    assert_int_equal(x->addr, 0x1000);
    assert_int_equal(x->count, -1);
    assert_int_equal(x->type_id, 1);
    assert_int_equal(x->stack_id, S_ERR1);
    assert_int_equal(x->other_stack_id, S_ERR2);
    /* one occurrence each: in the order they happened */
    assert_int_equal(r.errors[1].kind, RS_RC_DECREF_UNKNOWN);
    assert_int_equal(r.errors[1].addr, 0xdead);
    assert_int_equal(r.errors[2].kind, RS_RC_UNDERFLOW);
    assert_int_equal(r.errors[2].other_stack_id, 0);
    assert_int_equal(r.errors[3].kind, RS_RC_FREE_REFERENCED);
    rs_findings_free(&r);

    rs_findings_options_t opt = { .limit = 1 };
    assert_int_equal(rs_findings_build(snap, &opt, &r), 0);
    assert_int_equal(r.n_errors, 1);
    assert_int_equal(r.n_errors_cut, 3);
    assert_int_equal(r.errors[0].occurrences, 3);
    rs_findings_free(&r);
    rc_free(h);
}

/* Nodes split from one block (RS_NODE_PART) say where they lie; whole
 * blocks, before and after, do not. */
static void test_block_of_split_objects(void **state)
{
    fixture_t fx;
    memset(&fx, 0, sizeof fx);
    add(&fx, RS_CLASS_LEAKED, 1, 16, NONE, 0);              /* whole */
    uint32_t p0 = add(&fx, RS_CLASS_LEAKED_REF, 2, 0x100, NONE, 1);
    uint32_t p1 = add(&fx, RS_CLASS_CYCLE, 2, 0x100, 0, 1);
    uint32_t p2 = add(&fx, RS_CLASS_CYCLE, 2, 0x28, 0, 1);
    fx.nodes[p1].flags |= RS_NODE_PART;
    fx.nodes[p2].flags |= RS_NODE_PART;
    add(&fx, RS_CLASS_LEAKED, 3, 8, NONE, 0);               /* whole */
    rs_finding_block_t b;
    assert_int_equal(rs_findings_block_of(&fx.snap, 0, &b), 0);
    assert_int_equal(rs_findings_block_of(&fx.snap, 4, &b), 0);
    assert_int_equal(rs_findings_block_of(&fx.snap, 5, &b), 0);   /* no node */
    const uint32_t parts[3] = { p0, p1, p2 };
    for (uint32_t k = 0; k < 3; k++) {
        memset(&b, 0, sizeof b);
        assert_int_equal(rs_findings_block_of(&fx.snap, parts[k], &b), 1);
        assert_int_equal(b.addr, fx.nodes[p0].addr);
        assert_int_equal(b.size, 0x228);
        assert_int_equal(b.object, k + 1);
        assert_int_equal(b.objects, 3);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grouping_and_order),
        cmocka_unit_test(test_show_reachable),
        cmocka_unit_test(test_limit_counts_what_was_cut),
        cmocka_unit_test(test_limit_cuts_indirect_first),
        cmocka_unit_test(test_charges_chains_mixed_and_corrupt),
        cmocka_unit_test(test_empty_and_reachable_only),
        cmocka_unit_test(test_same_stack_different_class),
        cmocka_unit_test(test_cycle_aggregation_by_shape),
        cmocka_unit_test(test_cycle_edges_get_their_increfs),
        cmocka_unit_test(test_leaked_refs_grouped_by_unbalanced_stacks),
        cmocka_unit_test(test_guessed_pairings_name_maybe_unbalanced),
        cmocka_unit_test(test_many_unbalanced_stacks_are_capped),
        cmocka_unit_test(test_rc_errors_grouped),
        cmocka_unit_test(test_block_of_split_objects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
