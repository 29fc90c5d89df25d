/*
 * qdata_lines.c - the entries a profile's `qdata` lines describe (profile.h;
 * GLib's weak locations and weak-reference stacks), found in every object's
 * qdata and marked in the heap graph (lib/model/qdata_edges.h).
 *
 * Two steps around the world stop of rs_analysis_run():
 *   prepare (world running, before scratch memory) resolves, once per
 *           line, the library's version (rs_registry_version_ok), the
 *           quark of the line's string (GLib's g_quark_try_string, found
 *           with rs_elf_symbol: it takes GLib's quark lock, so it is never
 *           called while threads are stopped; 0 while GLib has not made
 *           the quark: asked again at the next analysis) and the type id
 *           of except= (the type table: 0 while no such object was seen).
 *           It also notes how many type names exist: an object whose
 *           type was named after prepare may be of the except type, so
 *           its GWeakRefs are left counted (never a live object dead).
 *           Kept in static memory: an analysis in final mode (no prepare)
 *           uses what an earlier one found.
 *   mark    (world stopped, after the registry tables) reads, for every
 *           object of a profile with applicable lines, its GData and the
 *           entries under the lines' quarks.
 * Memory read: only live blocks of the graph (qdata_edges.c checks the
 * bounds first); no lock is taken.
 */
#include "elf_symbols.h"
#include "refcount.h"

#include "heapscan.h"
#include "preload.h"
#include "profile.h"
#include "qdata_edges.h"

#include <string.h>

#define QL_LINES 8     /* qdata lines looked after, in all profiles */

enum { QL_UNKNOWN, QL_NO, QL_YES };

/* What is known about one qdata line. */
typedef struct ql_line {
    const rs_qdata_spec_t *spec;
    uint32_t profile;
    uint8_t  version;         /* QL_*                                        */
    uint32_t quark;           /* 0: not made yet                             */
    uint32_t except_id;       /* type id of except=, 0: unknown              */
    uint32_t types_known;     /* type names that existed at prepare          */
} ql_line_t;

static ql_line_t lines[QL_LINES];
static uint32_t n_lines;

/* ---- prepare --------------------------------------------------------------- */

typedef uint32_t (*quark_try_fn)(const char *);

static void collect_lines(const rs_profile_set_t *set)
{
    for (uint32_t p = 0; p < set->n_profiles; p++)
        for (uint32_t k = 0; k < set->profiles[p].n_qdata && n_lines < QL_LINES; k++)
            lines[n_lines++] = (ql_line_t){ .spec = &set->profiles[p].qdata[k], .profile = p };
}

static void prepare_line(ql_line_t *l, quark_try_fn quark_try)
{
    if (l->version == QL_UNKNOWN)
        l->version = rs_registry_version_ok(l->spec->version_vars, &l->spec->versions)
                         ? QL_YES : QL_NO;
    if (l->version != QL_YES)
        return;
    if (!l->quark)
        l->quark = quark_try(l->spec->quark);
    if (l->spec->except && !l->except_id)
        l->except_id = rs_typetable_find(rs_types, l->spec->except);
    l->types_known = rs_types ? rs_typetable_count(rs_types) : 0;
}

void rs_qdata_lines_prepare(void)
{
    const rs_profile_set_t *set = rs_refhooks_profiles();
    if (!set)
        return;
    if (!n_lines)
        collect_lines(set);
    quark_try_fn quark_try = n_lines ? (quark_try_fn)rs_elf_symbol("g_quark_try_string")
                                     : NULL;
    if (!quark_try)
        return;          /* no GLib yet: asked again at the next analysis */
    for (uint32_t i = 0; i < n_lines; i++)
        prepare_line(&lines[i], quark_try);
}

static int line_applies(const ql_line_t *l)
{
    return l->version == QL_YES && l->quark;
}

int rs_qdata_lines_ready(void)
{
    for (uint32_t i = 0; i < n_lines; i++)
        if (line_applies(&lines[i]))
            return 1;
    return 0;
}

/* ---- mark ------------------------------------------------------------------ */

typedef struct ql_ctx {
    rs_heap_t              *heap;
    rs_registry_marks_t    *marks;
    const rs_profile_set_t *set;
} ql_ctx_t;

/* The reader of qdata_edges.h: the block is live, the world stopped. */
static int read_word(void *ctx, uint64_t addr, uint64_t *out)
{
    (void)ctx;
    memcpy(out, (const void *)(uintptr_t)addr, sizeof *out);
    return 0;
}

/* Line l's rule for an object of type type_id. */
static rs_qdata_rule_t rule_for(const ql_line_t *l, uint32_t type_id)
{
    rs_qdata_rule_t rule = { .field = l->spec->field, .quark = l->quark,
                             .kind = l->spec->back ? RS_QDATA_BACK : RS_QDATA_WEAK_LOCATIONS,
                             .back = l->spec->offset };
    /* A type named after prepare might be except=: left counted. */
    rule.keep_refs = l->spec->except &&
                     (type_id == l->except_id || type_id > l->types_known || !type_id);
    return rule;
}

static void mark_object(const rs_obj_t *o, void *arg)
{
    ql_ctx_t *c = arg;
    if (o->hook >= c->set->n_hooks)
        return;                       /* an annotation's object */
    uint32_t p = c->set->hooks[o->hook].profile;
    if (!c->set->profiles[p].n_qdata)
        return;
    uint32_t i = rs_heapscan_find(c->heap, o->addr);
    if (i == UINT32_MAX || !(c->heap->nodes[i].flags & RS_NODE_REFCOUNTED))
        return;
    rs_qdata_reader_t reader = { read_word, NULL };
    for (uint32_t k = 0; k < n_lines; k++)
        if (lines[k].profile == p && line_applies(&lines[k])) {
            rs_qdata_rule_t rule = rule_for(&lines[k], o->type_id);
            rs_qdata_mark(c->heap, c->marks, i, o->addr, &rule, &reader);
        }
}

void rs_qdata_lines_mark(rs_heap_t *heap, rs_registry_marks_t *marks)
{
    const rs_profile_set_t *set = rs_refhooks_profiles();
    if (!set || !rs_objects || !rs_qdata_lines_ready())
        return;
    ql_ctx_t c = { heap, marks, set };
    rs_objtable_foreach(rs_objects, mark_object, &c);
}
