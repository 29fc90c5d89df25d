/*
 * findings.c - group blocks and refcount errors into findings (see
 * findings.h for what a finding is).
 *
 * Phases:
 *  0. shapes: cycle nodes are sorted by (group id, index); every group's
 *             shape (its sorted (type, stack) list) is interned in a
 *             table, giving each cycle node a shape id (its variant) and
 *             each shape its representative group.  Leaked-ref nodes get
 *             the id of their set of unbalanced incref stacks the same
 *             way.  After this, variant[i] is meaningful for those nodes.
 *  0'. focus: with a focus (report_focus.h), the leak nodes it does not
 *             keep are counted in `hidden` and never grouped.
 *  1. group:  one pass over the nodes; a uthash table maps (class, stack,
 *             type, variant) to a group; node_group[i] remembers each
 *             node's group.  Plain classes use (class, stack) only.
 *             After this, every listed node is counted in exactly one group.
 *  2. sort:   an index permutation is sorted (class rank, bytes, blocks,
 *             stack, first node) and rank[group] gives each group's
 *             final position.  Leaks a person starts from come first
 *             (leaked, cycle, leaked_ref), then what they hold (indirect),
 *             then reachable, as LeakSanitizer lists direct before
 *             indirect leaks.
 *  3. charge: every indirect node's owner chain is followed to a node that
 *             is not indirect; its group (by rank) is the charge target.
 *             A group whose nodes disagree gets RS_FINDING_NONE.
 *  4. cut:    findings past the limit are dropped and counted; charges
 *             pointing past the limit become RS_FINDING_NONE.
 *  5. detail: kept cycle findings get members and edges (with increfs);
 *             kept leaked-ref findings get their unbalanced list sorted
 *             and capped.
 *  6. errors: snapshot.rc_errors grouped by (kind, stack, other stack),
 *             sorted and cut.
 *
 * Memory: everything is plain malloc (this file runs only in the tool).
 * On failure every phase leaves what it allocated reachable from build_t
 * or out, and one exit path frees it.
 */
#include "findings.h"

#include "classify.h"

#include "objnodes.h"
#include "report_array.h"

#include <stdlib.h>
#include <string.h>

#include "stack_sites.h"
#include "uthash.h"

#define CHARGE_UNSET (UINT32_MAX - 1)

typedef struct group_key {
    uint32_t cls;
    uint32_t stack_id;
    uint32_t type_id;
    uint32_t variant;
} group_key_t;

typedef struct group_ref {
    group_key_t    key;
    uint32_t       index;
    UT_hash_handle hh;
} group_ref_t;

/* An interned list of 32-bit words (a cycle shape or a stack set). */
typedef struct intern_ref {
    uint32_t      *words;
    uint32_t       n;
    uint32_t       id;
    UT_hash_handle hh;
} intern_ref_t;

typedef struct shape {
    uint32_t rep_start;  /* representative group: cyc[rep_start ..]       */
    uint32_t rep_len;
    uint32_t groups;
} shape_t;

typedef struct stack_set {
    uint32_t *stacks;    /* sorted, unique (owned by the intern_ref)      */
    uint32_t  n;
} stack_set_t;

typedef struct build {
    const rs_snapshot_t *snap;
    rs_finding_t *groups;
    uint32_t      n_groups;
    size_t        cap;
    group_ref_t  *table;
    uint32_t     *node_group; /* per node: group index or RS_FINDING_NONE */
    uint32_t     *variant;    /* per node: shape or stack-set id          */
    uint32_t     *rank;       /* per group: position after sorting        */
    uint32_t     *order;      /* sorted group indices                     */
    uint32_t     *indeg;      /* per node: heap edges into it holding a
                                 reference (not weak), or NULL          */
    uint32_t     *cyc;        /* cycle nodes by (group, index)            */
    uint32_t      n_cyc;
    intern_ref_t *shape_table;
    shape_t      *shapes;
    uint32_t      n_shapes;
    intern_ref_t *set_table;
    stack_set_t  *sets;
    uint32_t      n_sets;
    uint64_t     *lr_counts;  /* per leaked-ref node, parallel to its set */
    uint32_t      n_lr_counts;
    size_t        lr_cap;
    uint32_t     *lr_off;     /* per node: offset into lr_counts          */
    uint8_t      *hidden;     /* per node: not the focus's leak, or NULL  */
    uint32_t     *sites;      /* stack id -> its site (stack_sites.h), or
                                 NULL: every stack is its own site      */
} build_t;

/* The site of stack id: what findings group by. */
static inline uint32_t site_of(const build_t *b, uint32_t id)
{
    return rs_stack_site(b->sites, b->snap, id);
}

int rs_findings_is_leak_class(rs_class_t c)
{
    return c == RS_CLASS_LEAKED || c == RS_CLASS_INDIRECT ||
           c == RS_CLASS_CYCLE || c == RS_CLASS_LEAKED_REF;
}

const char *rs_findings_type_name(const rs_snapshot_t *snap, uint32_t type_id)
{
    if (type_id == 0 || type_id > snap->n_types || !snap->types)
        return NULL;
    return snap->types[type_id - 1];
}

int rs_findings_block_of(const rs_snapshot_t *snap, uint32_t node,
                         rs_finding_block_t *out)
{
    const rs_heap_t *h = &snap->heap;
    if (node >= h->n_nodes)
        return 0;
    uint32_t start = rs_objnodes_block_start(h, node), end = start + 1;
    while (end < h->n_nodes && (h->nodes[end].flags & RS_NODE_PART))
        end++;
    if (end - start < 2)
        return 0;
    const rs_node_t *last = &h->nodes[end - 1];
    out->addr = h->nodes[start].addr;
    out->size = last->addr + last->size - out->addr;
    out->object = node - start + 1;
    out->objects = end - start;
    return 1;
}

static rs_class_t node_class(const rs_node_t *n)
{
    return n->cls < RS_CLASS_COUNT ? (rs_class_t)n->cls : RS_CLASS_UNCLASSIFIED;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* ---- history --------------------------------------------------------- */

static int snapshot_stack(void *ctx, uint32_t id, rs_stack_t *out)
{
    const rs_snapshot_t *snap = ctx;
    if (id == 0 || id > snap->n_stacks || !snap->stacks)
        return -1;
    *out = snap->stacks[id - 1];
    return 0;
}

rs_refhist_stacks_t rs_findings_stacks(const rs_snapshot_t *snap)
{
    rs_refhist_stacks_t s = { snapshot_stack, (void *)snap, snap->thread_start_pc };
    return s;
}

/* The events of node i: sets *first and returns their number (0 when the
 * node has none or the history is inconsistent). */
static uint32_t node_events(const rs_snapshot_t *snap, uint32_t i,
                            uint64_t *first)
{
    const rs_ref_history_t *h = &snap->history;
    if (!h->event_start || !h->events || i >= snap->heap.n_nodes)
        return 0;
    uint64_t a = h->event_start[i], b = h->event_start[i + 1];
    if (a >= b || b > h->n_events)
        return 0;
    *first = a;
    return (uint32_t)(b - a);
}

static int is_ref(uint8_t op)
{
    return op == RS_REF_CTOR || op == RS_REF_INCREF;
}

/* The balancer's verdict on node's events: *ev and *n (0: no history)
 * and, allocated (free both with free(*partner)), partner[] and, when
 * guessed is non-NULL, *guessed (rs_refhist_balance_guesses).  0, or -1
 * when memory is exhausted. */
static int balance_node(const rs_snapshot_t *snap, uint32_t node,
                        const rs_ref_event_t **ev, uint64_t *first, uint32_t *n,
                        int32_t **partner, uint8_t **guessed)
{
    *partner = NULL;
    *n = node_events(snap, node, first);
    if (*n == 0)
        return 0;
    size_t bytes = (size_t)*n * (sizeof **partner + (guessed ? 1 : 0));
    if (!(*partner = malloc(bytes)))
        return -1;
    if (guessed)
        *guessed = (uint8_t *)(*partner + *n);
    *ev = &snap->history.events[*first];
    rs_refhist_stacks_t stacks = rs_findings_stacks(snap);
    rs_refhist_balance_guesses(*ev, *n, &stacks, *partner, guessed ? *guessed : NULL);
    return 0;
}

int rs_findings_unbalanced_events(const rs_snapshot_t *snap, uint32_t node,
                                  uint64_t *out, uint32_t max,
                                  uint32_t *total)
{
    const rs_ref_event_t *ev = NULL;
    uint64_t first = 0;
    uint32_t n, written = 0, count = 0;
    int32_t *partner;
    if (total)
        *total = 0;
    if (balance_node(snap, node, &ev, &first, &n, &partner, NULL) < 0)
        return -1;
    for (uint32_t k = n; k-- > 0;) {
        if (partner[k] >= 0 || !is_ref(ev[k].op))
            continue;
        count++;
        if (written < max)
            out[written++] = first + k;
    }
    free(partner);
    if (total)
        *total = count;
    return (int)written;
}

int rs_findings_guessed_events(const rs_snapshot_t *snap, uint32_t node,
                               uint64_t *out, uint32_t max)
{
    const rs_ref_event_t *ev = NULL;
    uint64_t first = 0;
    uint32_t n, written = 0, oldest = UINT32_MAX;
    int32_t *partner;
    uint8_t *guessed;
    if (balance_node(snap, node, &ev, &first, &n, &partner, &guessed) < 0)
        return -1;
    for (uint32_t k = 0; k < n && oldest == UINT32_MAX; k++)
        if (partner[k] < 0 && is_ref(ev[k].op))
            oldest = k;
    /* A guessed decref after the oldest unbalanced incref had that one
     * open, so may have released it instead of the one it chose. */
    for (uint32_t d = n; d-- > 0 && d > oldest;)
        if (guessed[d] && written < max)
            out[written++] = first + (uint32_t)partner[d];
    free(partner);
    return (int)written;
}

/* ---- interning -------------------------------------------------------- */

/* Returns the id of words[0..n) in *table (new ids are *n_ids, which is
 * then incremented; *is_new says whether it was added), or UINT32_MAX when
 * memory is exhausted.  The table keeps a copy of the words. */
static uint32_t intern(intern_ref_t **table, const uint32_t *words,
                       uint32_t n, uint32_t *n_ids, int *is_new)
{
    intern_ref_t *ref;
    size_t len = (size_t)n * sizeof *words;
    *is_new = 0;
    HASH_FIND(hh, *table, words, len, ref);
    if (ref)
        return ref->id;
    if (!(ref = calloc(1, sizeof *ref)) ||
        !(ref->words = malloc(len ? len : 1))) {
        free(ref);
        return UINT32_MAX;
    }
    if (len)
        memcpy(ref->words, words, len);
    ref->n = n;
    ref->id = (*n_ids)++;
    HASH_ADD_KEYPTR(hh, *table, ref->words, len, ref);
    *is_new = 1;
    return ref->id;
}

static void free_interned(intern_ref_t **table)
{
    intern_ref_t *ref, *tmp;
    HASH_ITER(hh, *table, ref, tmp) {
        HASH_DEL(*table, ref);
        free(ref->words);
        free(ref);
    }
}

/* ---- phase 0: cycle shapes ------------------------------------------- */

static int compare_cyc(const void *pa, const void *pb, void *arg)
{
    const rs_node_t *nodes = arg;
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    if (nodes[a].owner != nodes[b].owner)
        return nodes[a].owner < nodes[b].owner ? -1 : 1;
    return (a > b) - (a < b);
}

/* Interns the shape of the group cyc[start .. start+len); scratch holds
 * 2*len words.  Returns 0 or -1. */
static int intern_shape(build_t *b, uint32_t start, uint32_t len,
                        uint64_t *scratch)
{
    const rs_node_t *nodes = b->snap->heap.nodes;
    for (uint32_t k = 0; k < len; k++) {
        const rs_node_t *n = &nodes[b->cyc[start + k]];
        scratch[k] = (uint64_t)n->type_id << 32 | site_of(b, n->stack_id);
    }
    qsort(scratch, len, sizeof *scratch, cmp_u64);
    int is_new;
    uint32_t id = intern(&b->shape_table, (const uint32_t *)scratch, len * 2,
                         &b->n_shapes, &is_new);
    if (id == UINT32_MAX)
        return -1;
    if (is_new) {
        shape_t *s = realloc(b->shapes, b->n_shapes * sizeof *s);
        if (!s)
            return -1;
        b->shapes = s;
        s[id] = (shape_t){ .rep_start = start, .rep_len = len };
    }
    shape_t *s = &b->shapes[id];
    s->groups++;
    /* the representative is the group with the lowest first member */
    if (b->cyc[start] < b->cyc[s->rep_start]) {
        s->rep_start = start;
        s->rep_len = len;
    }
    for (uint32_t k = 0; k < len; k++)
        b->variant[b->cyc[start + k]] = id;
    return 0;
}

static int build_shapes(build_t *b)
{
    const rs_heap_t *heap = &b->snap->heap;
    uint32_t n = 0;
    for (uint32_t i = 0; i < heap->n_nodes; i++)
        n += node_class(&heap->nodes[i]) == RS_CLASS_CYCLE;
    if (n == 0)
        return 0;
    b->cyc = malloc((size_t)n * sizeof *b->cyc);
    uint64_t *scratch = malloc((size_t)n * sizeof *scratch);
    int rc = -1;
    if (!b->cyc || !scratch)
        goto out;
    for (uint32_t i = 0; i < heap->n_nodes; i++)
        if (node_class(&heap->nodes[i]) == RS_CLASS_CYCLE)
            b->cyc[b->n_cyc++] = i;
    qsort_r(b->cyc, n, sizeof *b->cyc, compare_cyc, heap->nodes);
    for (uint32_t start = 0; start < n;) {
        uint32_t end = start + 1;
        while (end < n && heap->nodes[b->cyc[end]].owner ==
                          heap->nodes[b->cyc[start]].owner)
            end++;
        if (intern_shape(b, start, end - start, scratch) < 0)
            goto out;
        start = end;
    }
    rc = 0;
out:
    free(scratch);
    return rc;
}

/* ---- phase 0: sets of unbalanced stacks of leaked references ---------- */

/* Heap edges into every node. */
static int count_in_edges(build_t *b)
{
    const rs_heap_t *heap = &b->snap->heap;
    b->indeg = calloc(heap->n_nodes ? heap->n_nodes : 1, sizeof *b->indeg);
    if (!b->indeg)
        return -1;
    for (uint64_t e = 0; heap->edges && e < heap->n_edges; e++)
        if (heap->edges[e].dst < heap->n_nodes && !rs_heap_edge_weak(heap, e))
            b->indeg[heap->edges[e].dst]++;
    return 0;
}

/* Sorts the sites stk[0..n) and folds equal ones, their counts going to
 * counts[]; returns how many distinct sites are left. */
static uint32_t fold_sites(uint32_t *stk, uint32_t n, uint64_t *counts)
{
    qsort(stk, n, sizeof *stk, cmp_u32);
    uint32_t u = 0;
    for (uint32_t k = 0; k < n; k++) {
        if (u && stk[u - 1] == stk[k]) {
            counts[u - 1]++;
            continue;
        }
        stk[u] = stk[k];
        counts[u++] = 1;
    }
    return u;
}

/* The sites of the events ev[0..n) (absolute indices) into stk. */
static void event_sites(const build_t *b, const uint64_t *ev, int n, uint32_t *stk)
{
    for (int k = 0; k < n; k++)
        stk[k] = site_of(b, b->snap->history.events[ev[k]].stack_id);
}

/* Gives leaked-ref node i its stack-set id and records its counts.  The
 * set is the sites of its unbalanced increfs, then, after the word
 * MAYBE_MARK, those of its guessed ones (rs_findings_guessed_events); its
 * counts have one entry per site (none for the mark).  ev/stk are scratch
 * of at least 2 * the node's event count + 1.  0 or -1. */
#define MAYBE_MARK UINT32_MAX
static int node_stack_set(build_t *b, uint32_t i, uint64_t *ev,
                          uint32_t *stk, uint32_t max)
{
    int n = rs_findings_unbalanced_events(b->snap, i, ev, max, NULL);
    if (n < 0)
        return -1;
    event_sites(b, ev, n, stk);
    uint32_t u = fold_sites(stk, (uint32_t)n, ev);
    int m = n ? rs_findings_guessed_events(b->snap, i, ev + u, max) : 0;
    if (m < 0)
        return -1;
    uint32_t words = u, counted = u;
    if (m > 0) {
        stk[words++] = MAYBE_MARK;
        event_sites(b, ev + u, m, stk + words);
        uint32_t v = fold_sites(stk + words, (uint32_t)m, ev + u);
        words += v;
        counted += v;
    }
    int is_new;
    uint32_t id = intern(&b->set_table, stk, words, &b->n_sets, &is_new);
    if (id == UINT32_MAX)
        return -1;
    if (is_new) {
        stack_set_t *s = realloc(b->sets, b->n_sets * sizeof *s);
        if (!s)
            return -1;
        b->sets = s;
        intern_ref_t *ref;
        HASH_FIND(hh, b->set_table, stk, (size_t)words * sizeof *stk, ref);
        s[id] = (stack_set_t){ ref->words, words };
    }
    if (rs_array_reserve(&b->lr_counts, &b->lr_cap, (size_t)b->n_lr_counts + counted,
             sizeof *b->lr_counts) < 0)
        return -1;
    b->variant[i] = id;
    b->lr_off[i] = b->n_lr_counts;
    if (counted)                  /* memcpy's pointers must be valid even for 0 */
        memcpy(b->lr_counts + b->n_lr_counts, ev, (size_t)counted * sizeof *ev);
    b->n_lr_counts += counted;
    return 0;
}

static int build_stack_sets(build_t *b)
{
    const rs_heap_t *heap = &b->snap->heap;
    uint32_t max = 0, any = 0;
    for (uint32_t i = 0; i < heap->n_nodes; i++) {
        if (node_class(&heap->nodes[i]) != RS_CLASS_LEAKED_REF)
            continue;
        uint64_t first;
        uint32_t n = node_events(b->snap, i, &first);
        any = 1;
        if (n > max)
            max = n;
    }
    if (!any)
        return 0;
    if (count_in_edges(b) < 0)
        return -1;
    b->lr_off = calloc(heap->n_nodes, sizeof *b->lr_off);
    uint64_t *ev = malloc((2 * (size_t)max + 1) * sizeof *ev);
    uint32_t *stk = malloc((2 * (size_t)max + 1) * sizeof *stk);
    int rc = b->lr_off && ev && stk ? 0 : -1;
    for (uint32_t i = 0; rc == 0 && i < heap->n_nodes; i++)
        if (node_class(&heap->nodes[i]) == RS_CLASS_LEAKED_REF)
            rc = node_stack_set(b, i, ev, stk, max);
    free(ev);
    free(stk);
    return rc;
}

/* ---- phase 1: grouping ------------------------------------------------ */

static group_key_t key_of(const build_t *b, uint32_t i, rs_class_t c)
{
    const rs_node_t *n = &b->snap->heap.nodes[i];
    group_key_t key;
    memset(&key, 0, sizeof key);
    key.cls = c;
    if (c == RS_CLASS_CYCLE) {
        key.variant = b->variant[i];
    } else if (c == RS_CLASS_LEAKED_REF) {
        key.stack_id = site_of(b, n->stack_id);
        key.type_id = n->type_id;
        key.variant = b->variant[i];
    } else {
        key.stack_id = site_of(b, n->stack_id);
    }
    return key;
}

/* Fills a new group's class-specific fields from its first node; 0 or -1. */
static int init_group(build_t *b, rs_finding_t *f, uint32_t node)
{
    const rs_node_t *n = &b->snap->heap.nodes[node];
    if (f->cls == RS_CLASS_CYCLE) {
        const shape_t *s = &b->shapes[b->variant[node]];
        f->groups = s->groups;
        f->n_members_total = s->rep_len;
    } else if (f->cls == RS_CLASS_LEAKED_REF) {
        const stack_set_t *set = &b->sets[b->variant[node]];
        f->refcount = n->refcount;
        f->pointers = b->indeg[node];
        f->unbalanced = calloc(set->n ? set->n : 1, sizeof *f->unbalanced);
        if (!f->unbalanced)
            return -1;
        uint8_t maybe = 0;
        for (uint32_t k = 0; k < set->n; k++) {
            if (set->stacks[k] == MAYBE_MARK) {
                maybe = 1;
                continue;
            }
            f->unbalanced[f->n_unbalanced].maybe = maybe;
            f->unbalanced[f->n_unbalanced++].stack_id = set->stacks[k];
        }
    }
    return 0;
}

/* Returns the group index for key, creating it; RS_FINDING_NONE when
 * memory is exhausted. */
static uint32_t group_for(build_t *b, group_key_t key, uint32_t node)
{
    group_ref_t *ref;
    HASH_FIND(hh, b->table, &key, sizeof key, ref);
    if (ref)
        return ref->index;
    if (rs_array_reserve(&b->groups, &b->cap, (size_t)b->n_groups + 1, sizeof *b->groups) < 0)
        return RS_FINDING_NONE;
    if (!(ref = calloc(1, sizeof *ref)))
        return RS_FINDING_NONE;
    const rs_node_t *n = &b->snap->heap.nodes[node];
    ref->key = key;
    ref->index = b->n_groups;
    rs_finding_t *f = &b->groups[ref->index];
    *f = (rs_finding_t){
        .cls = (rs_class_t)key.cls, .stack_id = site_of(b, n->stack_id),
        .type_id = n->type_id, .first_node = node,
        .charged_to = key.cls == RS_CLASS_INDIRECT ? CHARGE_UNSET
                                                   : RS_FINDING_NONE,
        .cycle_group = key.cls == RS_CLASS_CYCLE ? n->owner : RS_FINDING_NONE,
    };
    HASH_ADD(hh, b->table, key, sizeof key, ref);
    b->n_groups++; /* counted now so a failure below still frees it */
    if (init_group(b, f, node) < 0)
        return RS_FINDING_NONE;
    return ref->index;
}

/* Adds node i to group f. */
static void add_to_group(build_t *b, rs_finding_t *f, uint32_t i)
{
    const rs_node_t *n = &b->snap->heap.nodes[i];
    f->bytes += n->size;
    f->blocks++;
    if (f->cls != RS_CLASS_CYCLE && f->type_id != n->type_id)
        f->type_id = 0;
    if (f->cls != RS_CLASS_LEAKED_REF)
        return;
    /* Without overflow for any refcount a snapshot may hold. */
    int64_t gc_refs;
    if (!__builtin_sub_overflow(n->refcount, (int64_t)b->indeg[i], &gc_refs) && gc_refs > 0)
        f->refs += (uint64_t)gc_refs;
    for (uint32_t k = 0; k < f->n_unbalanced; k++)
        f->unbalanced[k].count += b->lr_counts[b->lr_off[i] + k];
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
        if (b->hidden && b->hidden[i]) {
            if (c != RS_CLASS_REACHABLE) {   /* `hidden` tallies leaks */
                out->hidden.bytes += n->size;
                out->hidden.blocks++;
            }
            continue;
        }
        uint32_t g = group_for(b, key_of(b, i, c), i);
        if (g == RS_FINDING_NONE)
            return -1;
        add_to_group(b, &b->groups[g], i);
        b->node_group[i] = g;
    }
    return 0;
}

/* ---- phases 2-4: sort, charge, cut ------------------------------------ */

/* Listing order of the classes: where a leak starts, then what it holds. */
static int class_rank(rs_class_t c)
{
    switch (c) {
    case RS_CLASS_LEAKED:     return 0;
    case RS_CLASS_CYCLE:      return 1;
    case RS_CLASS_LEAKED_REF: return 2;
    case RS_CLASS_INDIRECT:   return 3;
    default:                  return 4;
    }
}

static int compare_groups(const void *pa, const void *pb, void *arg)
{
    const rs_finding_t *groups = arg;
    const rs_finding_t *a = &groups[*(const uint32_t *)pa];
    const rs_finding_t *b = &groups[*(const uint32_t *)pb];
    int ra = class_rank(a->cls), rb = class_rank(b->cls);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    if (a->bytes != b->bytes)
        return a->bytes > b->bytes ? -1 : 1;
    if (a->blocks != b->blocks)
        return a->blocks > b->blocks ? -1 : 1;
    if (a->stack_id != b->stack_id)
        return a->stack_id < b->stack_id ? -1 : 1;
    return (a->first_node > b->first_node) - (a->first_node < b->first_node);
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

/* Phase 3: charged_to holds a rank (final index) afterwards.  -1 when
 * memory is exhausted. */
static int charge_indirect(build_t *b)
{
    const rs_heap_t *heap = &b->snap->heap;
    size_t n = heap->n_nodes ? heap->n_nodes : 1;
    uint32_t *roots = malloc(n * sizeof *roots), *path = malloc(n * sizeof *path);
    if (!roots || !path) {
        free(roots);
        free(path);
        return -1;
    }
    rs_charge_roots(heap, roots, path);
    free(path);
    for (uint32_t i = 0; i < heap->n_nodes; i++) {
        uint32_t g = b->node_group[i];
        if (g == RS_FINDING_NONE || b->groups[g].cls != RS_CLASS_INDIRECT)
            continue;
        uint32_t root = roots[i];
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
    free(roots);
    return 0;
}

static void free_finding(rs_finding_t *f)
{
    free(f->members);
    free(f->edges);
    free(f->unbalanced);
    f->members = NULL;
    f->edges = NULL;
    f->unbalanced = NULL;
}

/* Phase 4: moves the sorted groups into out, cut to the limit (the groups
 * array no longer owns their details afterwards). */
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
        rs_finding_t *f = &b->groups[b->order[r]];
        if (r >= keep) {
            out->n_cut++;
            out->cut.bytes += f->bytes;
            out->cut.blocks += f->blocks;
            free_finding(f);
            continue;
        }
        if (f->charged_to == CHARGE_UNSET || f->charged_to >= keep)
            f->charged_to = RS_FINDING_NONE;
        out->items[out->n++] = *f;
        memset(f, 0, sizeof *f);
    }
    return 0;
}

/* ---- phase 5: details ------------------------------------------------- */

static int compare_edges(const void *pa, const void *pb)
{
    const rs_finding_edge_t *a = pa, *b = pb;
    if (a->from != b->from)
        return a->from < b->from ? -1 : 1;
    return (a->offset > b->offset) - (a->offset < b->offset);
}

/* Index of node in the sorted members[0..n), or RS_FINDING_NONE. */
static uint32_t member_index(const uint32_t *members, uint32_t n,
                             uint32_t node)
{
    const uint32_t *p = bsearch(&node, members, n, sizeof *members, cmp_u32);
    return p ? (uint32_t)(p - members) : RS_FINDING_NONE;
}

/* Hands the unbalanced increfs of each member to its in-edges (the rule
 * in findings.h).  0 or -1. */
static int assign_increfs(const rs_snapshot_t *snap, rs_finding_t *f)
{
    for (uint32_t t = 0; t < f->n_members; t++) {
        uint32_t want = 0;
        for (uint32_t e = 0; e < f->n_edges; e++)
            want += f->edges[e].to == t;
        if (want == 0)
            continue;
        uint64_t *ev = malloc(want * sizeof *ev);
        if (!ev)
            return -1;
        int n = rs_findings_unbalanced_events(snap, f->members[t], ev, want,
                                              NULL);
        for (uint32_t e = 0, k = 0; n > 0 && e < f->n_edges; e++)
            if (f->edges[e].to == t && k < (uint32_t)n)
                f->edges[e].incref_stack = snap->history.events[ev[k++]].stack_id;
        free(ev);
        if (n < 0)
            return -1;
    }
    return 0;
}

/* Members and edges of a kept cycle finding.  0 or -1. */
static int detail_cycle(build_t *b, rs_finding_t *f)
{
    const rs_heap_t *heap = &b->snap->heap;
    const shape_t *s = &b->shapes[b->variant[f->first_node]];
    uint32_t n = s->rep_len < RS_FINDINGS_MAX_MEMBERS ? s->rep_len
                                                      : RS_FINDINGS_MAX_MEMBERS;
    f->members = malloc(n * sizeof *f->members);
    if (!f->members)
        return -1;
    memcpy(f->members, b->cyc + s->rep_start, n * sizeof *f->members);
    f->n_members = n;
    size_t cap = 0;
    for (uint32_t m = 0; m < n && heap->edge_start && heap->edges; m++) {
        uint32_t src = f->members[m];
        for (uint64_t e = heap->edge_start[src];
             e < heap->edge_start[src + 1] && e < heap->n_edges; e++) {
            uint32_t to = member_index(f->members, n, heap->edges[e].dst);
            if (to == RS_FINDING_NONE)
                continue;
            if (rs_array_reserve(&f->edges, &cap, (size_t)f->n_edges + 1, sizeof *f->edges) < 0)
                return -1;
            f->edges[f->n_edges++] = (rs_finding_edge_t){
                .from = m, .to = to, .offset = heap->edges[e].offset };
        }
    }
    if (f->n_edges)
        qsort(f->edges, f->n_edges, sizeof *f->edges, compare_edges);
    return assign_increfs(b->snap, f);
}

static int compare_unbalanced(const void *pa, const void *pb)
{
    const rs_finding_unbalanced_t *a = pa, *b = pb;
    if (a->maybe != b->maybe)
        return a->maybe - b->maybe;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return (a->stack_id > b->stack_id) - (a->stack_id < b->stack_id);
}

static void detail_leaked_ref(rs_finding_t *f)
{
    qsort(f->unbalanced, f->n_unbalanced, sizeof *f->unbalanced,
          compare_unbalanced);
    while (f->n_unbalanced > RS_FINDINGS_MAX_UNBALANCED) {
        const rs_finding_unbalanced_t *u = &f->unbalanced[--f->n_unbalanced];
        if (!u->maybe)
            f->unbalanced_cut += u->count;
    }
}

/* Phase 5. */
static int add_details(build_t *b, rs_findings_t *out)
{
    for (uint32_t i = 0; i < out->n; i++) {
        rs_finding_t *f = &out->items[i];
        if (f->cls == RS_CLASS_CYCLE && detail_cycle(b, f) < 0)
            return -1;
        if (f->cls == RS_CLASS_LEAKED_REF)
            detail_leaked_ref(f);
    }
    return 0;
}

/* ---- phase 6: refcount errors ----------------------------------------- */

typedef struct err_key {
    uint32_t kind, stack_id, other_stack_id;
} err_key_t;

typedef struct err_ref {
    err_key_t      key;
    uint32_t       index;
    UT_hash_handle hh;
} err_ref_t;

static int compare_errors(const void *pa, const void *pb)
{
    const rs_rc_finding_t *a = pa, *b = pb;
    if (a->occurrences != b->occurrences)
        return a->occurrences > b->occurrences ? -1 : 1;
    return (a->first > b->first) - (a->first < b->first);
}

/* Groups the errors into out->errors (all of them), their stacks by site;
 * 0 or -1. */
static int group_errors(const build_t *b, rs_findings_t *out, err_ref_t **table)
{
    const rs_snapshot_t *snap = b->snap;
    size_t cap = 0;
    for (uint32_t i = 0; snap->rc_errors && i < snap->n_rc_errors; i++) {
        const rs_rc_error_t *e = &snap->rc_errors[i];
        err_key_t key = { e->kind, site_of(b, e->stack_id), site_of(b, e->other_stack_id) };
        err_ref_t *ref;
        HASH_FIND(hh, *table, &key, sizeof key, ref);
        if (!ref) {
            if (rs_array_reserve(&out->errors, &cap, (size_t)out->n_errors + 1,
                     sizeof *out->errors) < 0 ||
                !(ref = calloc(1, sizeof *ref)))
                return -1;
            ref->key = key;
            ref->index = out->n_errors++;
            HASH_ADD(hh, *table, key, sizeof key, ref);
            out->errors[ref->index] = (rs_rc_finding_t){
                .kind = (rs_rc_error_kind_t)e->kind, .stack_id = key.stack_id,
                .other_stack_id = key.other_stack_id, .type_id = e->type_id,
                .addr = e->addr, .count = e->count, .first = i };
        }
        out->errors[ref->index].occurrences++;
    }
    return 0;
}

/* Phase 6. */
static int build_errors(const build_t *b, const rs_findings_options_t *opt,
                        rs_findings_t *out)
{
    err_ref_t *table = NULL, *ref, *tmp;
    int rc = group_errors(b, out, &table);
    HASH_ITER(hh, table, ref, tmp) {
        HASH_DEL(table, ref);
        free(ref);
    }
    if (rc < 0)
        return -1;
    if (out->n_errors)            /* qsort's too */
        qsort(out->errors, out->n_errors, sizeof *out->errors, compare_errors);
    if (opt->limit && out->n_errors > opt->limit) {
        out->n_errors_cut = out->n_errors - opt->limit;
        out->n_errors = opt->limit;
    }
    return 0;
}

/* ---- entry points ------------------------------------------------------ */

static void free_build(build_t *b)
{
    group_ref_t *ref, *tmp;
    HASH_ITER(hh, b->table, ref, tmp) {
        HASH_DEL(b->table, ref);
        free(ref);
    }
    for (uint32_t g = 0; g < b->n_groups; g++)
        free_finding(&b->groups[g]);
    free_interned(&b->shape_table);
    free_interned(&b->set_table);
    free(b->groups);
    free(b->node_group);
    free(b->variant);
    free(b->rank);
    free(b->order);
    free(b->indeg);
    free(b->cyc);
    free(b->shapes);
    free(b->sets);
    free(b->lr_counts);
    free(b->lr_off);
    free(b->hidden);
    free(b->sites);
}

int rs_findings_build(const rs_snapshot_t *snap,
                      const rs_findings_options_t *opt, rs_findings_t *out)
{
    static const rs_findings_options_t defaults = { 0, 0, RS_FOCUS_ALL };
    build_t b = { .snap = snap, .sites = rs_stack_sites(snap) };
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (!opt)
        opt = &defaults;
    size_t n_nodes = snap->heap.n_nodes ? snap->heap.n_nodes : 1;
    b.node_group = malloc(n_nodes * sizeof *b.node_group);
    b.variant = calloc(n_nodes, sizeof *b.variant);
    if (!b.node_group || !b.variant || rs_focus_hidden(snap, opt->focus, &b.hidden) < 0 ||
        build_shapes(&b) < 0 ||
        build_stack_sets(&b) < 0 || group_nodes(&b, opt, out) < 0)
        goto out;
    b.rank = malloc((b.n_groups ? b.n_groups : 1) * sizeof *b.rank);
    b.order = malloc((b.n_groups ? b.n_groups : 1) * sizeof *b.order);
    if (!b.rank || !b.order)
        goto out;
    sort_groups(&b);
    if (charge_indirect(&b) < 0 || emit(&b, opt, out) < 0 || add_details(&b, out) < 0 ||
        build_errors(&b, opt, out) < 0)
        goto out;
    rc = 0;
out:
    free_build(&b);
    if (rc < 0)
        rs_findings_free(out);
    return rc;
}

void rs_findings_free(rs_findings_t *f)
{
    if (!f)
        return;
    for (uint32_t i = 0; f->items && i < f->n; i++)
        free_finding(&f->items[i]);
    free(f->items);
    free(f->errors);
    memset(f, 0, sizeof *f);
}
