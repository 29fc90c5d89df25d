/*
 * report_json.c - the report scripts read: one JSON object per snapshot
 * (the contract is spelled out in report.h; keep both in step), and the
 * pieces of it (frame, tally, process) that the other JSON renderers
 * share (rs_report_json_*).
 *
 * Every value that may be unknown is written as null rather than left
 * out, so consumers can index without checking for presence.
 */
#include "report.h"

#include "findings.h"

#include <stdlib.h>

void rs_report_json_tally(rs_json_t *j, const char *key, const rs_tally_t *t)
{
    rs_json_key(j, key);
    rs_json_begin_object(j);
    rs_json_member_uint(j, "bytes", t->bytes);
    rs_json_member_uint(j, "blocks", t->blocks);
    rs_json_end_object(j);
}

void rs_report_json_process_members(rs_json_t *j, const rs_proc_info_t *p)
{
    rs_json_member_int(j, "pid", p->pid);
    rs_json_member_int(j, "ppid", p->ppid);
    rs_json_member_string(j, "exe", p->exe);
    rs_json_key(j, "argv");
    rs_json_begin_array(j);
    for (uint32_t i = 0; p->argv && i < p->argc; i++)
        rs_json_string(j, p->argv[i] ? p->argv[i] : "");
    rs_json_end_array(j);
    rs_json_member_int_or_null(j, "exit_status", p->exit_status, p->has_exit_status);
}

static void summary(rs_json_t *j, const rs_summary_t *s)
{
    const rs_tally_t *k = s->by_class;
    rs_json_key(j, "summary");
    rs_json_begin_object(j);
    rs_report_json_tally(j, "leaked", &k[RS_CLASS_LEAKED]);
    rs_report_json_tally(j, "indirect", &k[RS_CLASS_INDIRECT]);
    rs_report_json_tally(j, "reachable", &k[RS_CLASS_REACHABLE]);
    rs_json_key(j, "cycles");
    rs_json_begin_object(j);
    rs_json_member_uint(j, "groups", s->cycle_groups);
    rs_json_member_uint(j, "objects", k[RS_CLASS_CYCLE].blocks);
    rs_json_member_uint(j, "bytes", k[RS_CLASS_CYCLE].bytes);
    /* "blocks" == "objects", so every class has bytes and blocks */
    rs_json_member_uint(j, "blocks", k[RS_CLASS_CYCLE].blocks);
    rs_json_end_object(j);
    rs_json_key(j, "leaked_refs");
    rs_json_begin_object(j);
    rs_json_member_uint(j, "objects", k[RS_CLASS_LEAKED_REF].blocks);
    rs_json_member_uint(j, "refs", s->leaked_refs);
    rs_json_member_uint(j, "bytes", k[RS_CLASS_LEAKED_REF].bytes);
    rs_json_member_uint(j, "blocks", k[RS_CLASS_LEAKED_REF].blocks);
    rs_json_end_object(j);
    rs_json_member_uint(j, "rc_errors", s->rc_errors);
    rs_json_end_object(j);
}

void rs_report_json_frame(rs_json_t *j, const rs_frame_t *f)
{
    rs_json_begin_object(j);
    rs_json_member_string(j, "function", f->function);
    rs_json_member_string(j, "symbol", f->symbol);
    rs_json_member_string(j, "file", f->file);
    rs_json_member_uint_or_null(j, "line", f->line, f->file && f->line);
    rs_json_member_string(j, "module", f->module);
    rs_json_member_hex(j, "address", f->address);
    if (f->python)
        rs_json_member_bool(j, "python", 1);
    rs_json_end_object(j);
}

/* "key": [frames[0..n)]. */
static void json_frames(rs_json_t *j, const char *key, const rs_frame_t *frames,
                        int n)
{
    rs_json_key(j, key);
    rs_json_begin_array(j);
    for (int i = 0; i < n; i++)
        rs_report_json_frame(j, &frames[i]);
    rs_json_end_array(j);
}

/* Per-report state shared by the finding writers. */
typedef struct json_ctx {
    rs_json_t                 *j;
    const rs_snapshot_t       *snap;
    rs_symbolizer_t           *sym;
    const rs_report_options_t *opt;
    rs_frame_t                *frames;
} json_ctx_t;

/* "key": [frames of stack_id] (or null when null_if_none and stack_id is
 * 0); returns -1 when memory is exhausted. */
static int stack(json_ctx_t *c, const char *key, uint32_t stack_id,
                 int null_if_none)
{
    if (null_if_none && stack_id == 0) {
        rs_json_member_null(c->j, key);
        return 0;
    }
    uint32_t max = RS_SYMBOLIZE_MAX_FRAMES;
    if (c->opt->max_frames && c->opt->max_frames < max)
        max = c->opt->max_frames;
    int n = rs_symbolize_stack(c->sym, c->snap, stack_id, c->frames, max);
    json_frames(c->j, key, c->frames, n);
    return n < 0 ? -1 : 0;
}

static void type_value(json_ctx_t *c, uint32_t type_id)
{
    rs_json_string(c->j, rs_findings_type_name(c->snap, type_id));
}

/* "block": {"address","size","object","objects"} for an object of a block
 * split into objects, null for a whole block. */
static void block_member(json_ctx_t *c, uint32_t node)
{
    rs_finding_block_t b;
    rs_json_key(c->j, "block");
    if (!rs_findings_block_of(c->snap, node, &b)) {
        rs_json_null(c->j);
        return;
    }
    rs_json_begin_object(c->j);
    rs_json_member_hex(c->j, "address", b.addr);
    rs_json_member_uint(c->j, "size", b.size);
    rs_json_member_uint(c->j, "object", b.object);
    rs_json_member_uint(c->j, "objects", b.objects);
    rs_json_end_object(c->j);
}

/* "members": [...] of a cycle finding; -1 when memory is exhausted. */
static int cycle_members(json_ctx_t *c, const rs_finding_t *f)
{
    int rc = 0;
    rs_json_key(c->j, "members");
    rs_json_begin_array(c->j);
    for (uint32_t m = 0; m < f->n_members && rc == 0; m++) {
        const rs_node_t *n = &c->snap->heap.nodes[f->members[m]];
        rs_json_begin_object(c->j);
        rs_json_member_hex(c->j, "address", n->addr);
        rs_json_key(c->j, "type");
        type_value(c, n->type_id);
        rs_json_member_uint(c->j, "size", n->size);
        rs_json_member_int_or_null(c->j, "refcount", n->refcount,
                                   n->flags & RS_NODE_REFCOUNTED);
        block_member(c, f->members[m]);
        rc = stack(c, "stack", n->stack_id, 0);
        rs_json_end_object(c->j);
    }
    rs_json_end_array(c->j);
    return rc;
}

/* "edges": [...] of a cycle finding; -1 when memory is exhausted. */
static int cycle_edges(json_ctx_t *c, const rs_finding_t *f)
{
    int rc = 0;
    rs_json_key(c->j, "edges");
    rs_json_begin_array(c->j);
    for (uint32_t e = 0; e < f->n_edges && rc == 0; e++) {
        const rs_finding_edge_t *ed = &f->edges[e];
        const rs_node_t *src = &c->snap->heap.nodes[f->members[ed->from]];
        rs_json_begin_object(c->j);
        rs_json_member_uint(c->j, "from", ed->from);
        rs_json_member_uint(c->j, "to", ed->to);
        rs_json_member_uint(c->j, "offset", ed->offset);
        rs_json_key(c->j, "field");
        rs_json_string(c->j, rs_symbolize_node_field(
            c->sym, c->snap, src,
            rs_findings_type_name(c->snap, src->type_id), ed->offset));
        rc = stack(c, "incref", ed->incref_stack, 1);
        rs_json_end_object(c->j);
    }
    rs_json_end_array(c->j);
    return rc;
}

/* key: [...], the entries of a leaked_ref finding's unbalanced list whose
 * maybe flag is `maybe`; -1 when memory is exhausted. */
static int unbalanced_part(json_ctx_t *c, const rs_finding_t *f, const char *key,
                           uint8_t maybe)
{
    int rc = 0;
    rs_json_key(c->j, key);
    rs_json_begin_array(c->j);
    for (uint32_t u = 0; u < f->n_unbalanced && rc == 0; u++) {
        if (f->unbalanced[u].maybe != maybe)
            continue;
        rs_json_begin_object(c->j);
        rs_json_member_uint(c->j, "count", f->unbalanced[u].count);
        rc = stack(c, "stack", f->unbalanced[u].stack_id, 0);
        rs_json_end_object(c->j);
    }
    rs_json_end_array(c->j);
    return rc;
}

/* "unbalanced" and "maybe_unbalanced" of a leaked_ref finding. */
static int unbalanced(json_ctx_t *c, const rs_finding_t *f)
{
    int rc = unbalanced_part(c, f, "unbalanced", 0);
    return rc ? rc : unbalanced_part(c, f, "maybe_unbalanced", 1);
}

/* Writes one block finding; returns -1 when memory is exhausted. */
static int finding(json_ctx_t *c, const rs_finding_t *f)
{
    rs_json_t *j = c->j;
    rs_json_begin_object(j);
    rs_json_member_string(j, "class", rs_class_name(f->cls));
    rs_json_member_uint(j, "bytes", f->bytes);
    rs_json_member_uint(j, "blocks", f->blocks);
    rs_json_key(j, "type");
    type_value(c, f->type_id);
    rs_json_member_uint_or_null(j, "charged_to", f->charged_to,
                                f->charged_to != RS_FINDING_NONE);
    int rc = stack(c, "stack", f->stack_id, 0);
    if (rc == 0 && f->cls == RS_CLASS_CYCLE) {
        rs_json_member_uint(j, "groups", f->groups);
        rc = cycle_members(c, f);
        if (rc == 0)
            rc = cycle_edges(c, f);
    } else if (rc == 0 && f->cls == RS_CLASS_LEAKED_REF) {
        rs_json_member_uint(j, "refs", f->refs);
        rs_json_member_int(j, "refcount", f->refcount);
        rs_json_member_uint(j, "pointers", f->pointers);
        block_member(c, f->first_node);
        rc = unbalanced(c, f);
    }
    rs_json_end_object(j);
    return rc;
}

/* Writes one refcount error finding; returns -1 when memory is
 * exhausted. */
static int rc_error(json_ctx_t *c, const rs_rc_finding_t *e)
{
    rs_json_t *j = c->j;
    rs_json_begin_object(j);
    rs_json_member_string(j, "class", "rc_error");
    rs_json_member_string(j, "kind", rs_rc_error_name(e->kind));
    rs_json_member_uint(j, "bytes", 0);
    rs_json_member_uint(j, "blocks", 0);
    rs_json_key(j, "type");
    type_value(c, e->type_id);
    rs_json_member_null(j, "charged_to");
    rs_json_member_hex(j, "address", e->addr);
    rs_json_member_int(j, "count", e->count);
    rs_json_member_uint(j, "occurrences", e->occurrences);
    int rc = stack(c, "stack", e->stack_id, 0);
    if (rc == 0)
        rc = stack(c, "other_stack", e->other_stack_id, 1);
    rs_json_end_object(j);
    return rc;
}

int rs_report_json(rs_json_t *j, const rs_snapshot_t *snap,
                   rs_symbolizer_t *sym, const rs_report_options_t *opt)
{
    static const rs_report_options_t defaults;
    rs_findings_t findings;
    int rc = 0;

    if (!opt)
        opt = &defaults;
    rs_findings_options_t fopt = { .show_reachable = opt->show_reachable,
                                   .limit = opt->limit, .focus = opt->focus };
    rs_frame_t *frames = malloc(RS_SYMBOLIZE_MAX_FRAMES * sizeof *frames);
    if (!frames || rs_findings_build(snap, &fopt, &findings) < 0) {
        free(frames);
        j->error = 1;
        return -1;
    }
    rs_json_begin_object(j);
    rs_json_key(j, "process");
    rs_json_begin_object(j);
    rs_report_json_process_members(j, &snap->proc);
    rs_json_end_object(j);
    summary(j, &snap->summary);
    rs_json_key(j, "findings");
    rs_json_begin_array(j);
    json_ctx_t c = { j, snap, sym, opt, frames };
    uint32_t total = findings.n + findings.n_errors;
    for (uint32_t i = 0; i < findings.n && rc == 0; i++) {
        rs_report_progress(opt, i, total);
        rc = finding(&c, &findings.items[i]);
    }
    for (uint32_t i = 0; i < findings.n_errors && rc == 0; i++) {
        rs_report_progress(opt, findings.n + i, total);
        rc = rc_error(&c, &findings.errors[i]);
    }
    rs_json_end_array(j);
    rs_json_key(j, "findings_cut");
    rs_json_begin_object(j);
    rs_json_member_uint(j, "findings", (uint64_t)findings.n_cut + findings.n_errors_cut);
    rs_json_member_uint(j, "bytes", findings.cut.bytes);
    rs_json_member_uint(j, "blocks", findings.cut.blocks);
    rs_json_end_object(j);
    if (opt->focus != RS_FOCUS_ALL)
        rs_report_json_tally(j, "hidden", &findings.hidden);
    rs_json_member_string(j, "snapshot", opt->snapshot_path);
    rs_json_end_object(j);
    if (rc < 0)
        j->error = 1;
    rs_findings_free(&findings);
    free(frames);
    return rc;
}
