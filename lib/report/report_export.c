/*
 * report_export.c - JSON export of a whole snapshot and folded stacks
 * (the schema and line format are in report_export.h).  Process, tally
 * and frame objects come from the JSON report's writers (report.h), so
 * they match `refscope report --json`.
 */
#include "report_export.h"

#include "findings.h"
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *reason_name(uint8_t r)
{
    return r == 0 ? "exit" : r == 1 ? "snapshot" : r == 2 ? "check" : "unknown";
}

static void export_process(rs_json_t *j, const rs_proc_info_t *p)
{
    rs_json_key(j, "process");
    rs_json_begin_object(j);
    rs_report_json_process_members(j, p);
    rs_json_member_string(j, "reason", reason_name(p->reason));
    rs_json_member_uint(j, "seq", p->seq);
    rs_json_member_uint(j, "time_ns", p->time_ns);
    rs_json_member_string(j, "label", p->label);
    rs_json_end_object(j);
}

static void export_summary(rs_json_t *j, const rs_summary_t *s)
{
    rs_json_key(j, "summary");
    rs_json_begin_object(j);
    for (int c = 1; c < RS_CLASS_COUNT; c++)
        rs_report_json_tally(j, rs_class_name((rs_class_t)c), &s->by_class[c]);
    rs_json_member_uint(j, "cycle_groups", s->cycle_groups);
    rs_json_member_uint(j, "leaked_refs", s->leaked_refs);
    rs_json_member_uint(j, "rc_errors", s->rc_errors);
    rs_json_end_object(j);
}

static void export_modules(rs_json_t *j, const rs_snapshot_t *s)
{
    rs_json_key(j, "modules");
    rs_json_begin_array(j);
    for (uint32_t i = 0; i < s->n_modules; i++) {
        const rs_module_t *m = &s->modules[i];
        char hex[41];
        for (uint32_t k = 0; k < m->build_id_len && k < 20; k++)
            snprintf(hex + 2 * k, 3, "%02x", m->build_id[k]);
        rs_json_begin_object(j);
        rs_json_member_string(j, "path", m->path);
        rs_json_member_string(j, "build_id", m->build_id_len ? hex : NULL);
        rs_json_member_hex(j, "load_bias", m->load_bias);
        rs_json_key(j, "segments");
        rs_json_begin_array(j);
        for (uint32_t g = 0; g < m->n_segments; g++) {
            rs_json_begin_object(j);
            rs_json_member_hex(j, "start", m->segments[g].start);
            rs_json_member_hex(j, "end", m->segments[g].end);
            rs_json_member_uint(j, "flags", m->segments[g].flags);
            rs_json_end_object(j);
        }
        rs_json_end_array(j);
        rs_json_member_uint(j, "load_epoch", m->load_epoch);
        rs_json_member_uint_or_null(j, "unload_epoch", m->unload_epoch,
                                    m->unload_epoch != RS_EPOCH_LIVE);
        rs_json_end_object(j);
    }
    rs_json_end_array(j);
    rs_json_key(j, "types");
    rs_json_begin_array(j);
    for (uint32_t i = 0; i < s->n_types; i++)
        rs_json_string(j, s->types[i]);
    rs_json_end_array(j);
}

static int export_stacks(rs_json_t *j, const rs_snapshot_t *s, rs_symbolizer_t *sym)
{
    rs_frame_t frames[64];
    rs_json_key(j, "stacks");
    rs_json_begin_array(j);
    for (uint32_t id = 1; id <= s->n_stacks; id++) {
        const rs_stack_t *st = &s->stacks[id - 1];
        rs_json_begin_object(j);
        rs_json_member_uint(j, "id", id);
        rs_json_member_uint(j, "epoch", st->epoch);
        rs_json_key(j, "frames");
        rs_json_begin_array(j);
        for (uint32_t k = 0; k < st->n_frames; k++) {
            int n = rs_symbolize_snapshot_pc(sym, s, st->pcs[k], st->epoch, frames, 64);
            if (n < 0)
                return -1;
            for (int f = 0; f < n; f++)
                rs_report_json_frame(j, &frames[f]);
        }
        rs_json_end_array(j);
        rs_json_end_object(j);
    }
    rs_json_end_array(j);
    return 0;
}

static void export_blocks(rs_json_t *j, const rs_heap_t *h)
{
    rs_json_key(j, "blocks");
    rs_json_begin_array(j);
    for (uint32_t i = 0; i < h->n_nodes; i++) {
        const rs_node_t *n = &h->nodes[i];
        rs_json_begin_object(j);
        rs_json_member_uint(j, "index", i);
        rs_json_member_hex(j, "address", n->addr);
        rs_json_member_uint(j, "size", n->size);
        rs_json_member_string(j, "class", n->cls < RS_CLASS_COUNT
                                          ? rs_class_name((rs_class_t)n->cls) : NULL);
        rs_json_member_uint_or_null(j, "stack", n->stack_id, n->stack_id != 0);
        rs_json_member_uint_or_null(j, "type", n->type_id, n->type_id != 0);
        rs_json_member_int_or_null(j, "refcount", n->refcount,
                                   n->flags & RS_NODE_REFCOUNTED);
        rs_json_member_uint(j, "flags", n->flags);
        rs_json_member_uint_or_null(j, "owner", n->owner, n->owner != UINT32_MAX);
        rs_json_member_uint(j, "thread", n->alloc_tid);
        rs_json_end_object(j);
    }
    rs_json_end_array(j);
    rs_json_key(j, "edges");
    rs_json_begin_array(j);
    for (uint32_t i = 0; i < h->n_nodes; i++)
        for (uint64_t e = h->edge_start[i]; e < h->edge_start[i + 1]; e++) {
            rs_json_begin_array(j);
            rs_json_uint(j, i);
            rs_json_uint(j, h->edges[e].dst);
            rs_json_uint(j, h->edges[e].offset);
            rs_json_end_array(j);
        }
    rs_json_end_array(j);
}

static void export_roots(rs_json_t *j, const rs_heap_t *h)
{
    rs_json_key(j, "roots");
    rs_json_begin_array(j);
    for (uint32_t i = 0; i < h->n_roots; i++) {
        const rs_root_t *r = &h->roots[i];
        rs_json_begin_object(j);
        rs_json_member_uint(j, "index", i);
        rs_json_member_string(j, "kind", rs_root_kind_name((rs_root_kind_t)r->kind));
        rs_json_member_hex(j, "start", r->start);
        rs_json_member_uint(j, "size", r->size);
        rs_json_member_uint_or_null(j, "module", r->module, r->module != UINT32_MAX);
        rs_json_member_uint_or_null(j, "tid", r->tid, r->tid != 0);
        rs_json_end_object(j);
    }
    rs_json_end_array(j);
    rs_json_key(j, "root_edges");
    rs_json_begin_array(j);
    for (uint64_t e = 0; e < h->n_root_edges; e++) {
        rs_json_begin_array(j);
        rs_json_uint(j, h->root_edges[e].root);
        rs_json_uint(j, h->root_edges[e].dst);
        rs_json_uint(j, h->root_edges[e].offset);
        rs_json_end_array(j);
    }
    rs_json_end_array(j);
}

static void export_rc_errors(rs_json_t *j, const rs_snapshot_t *s)
{
    rs_json_key(j, "rc_errors");
    rs_json_begin_array(j);
    for (uint32_t i = 0; i < s->n_rc_errors; i++) {
        const rs_rc_error_t *e = &s->rc_errors[i];
        rs_json_begin_object(j);
        rs_json_member_string(j, "kind", rs_rc_error_name((rs_rc_error_kind_t)e->kind));
        rs_json_member_uint_or_null(j, "type", e->type_id, e->type_id != 0);
        rs_json_member_hex(j, "address", e->addr);
        rs_json_member_int(j, "count", e->count);
        rs_json_member_uint_or_null(j, "stack", e->stack_id, e->stack_id != 0);
        rs_json_member_uint_or_null(j, "other_stack", e->other_stack_id,
                                    e->other_stack_id != 0);
        rs_json_member_uint(j, "tid", e->tid);
        rs_json_end_object(j);
    }
    rs_json_end_array(j);
}

int rs_export_json(rs_json_t *j, const rs_snapshot_t *snap, rs_symbolizer_t *sym)
{
    rs_json_begin_object(j);
    rs_json_member_string(j, "format", "refscope-snapshot-json");
    rs_json_member_uint(j, "version", 1);
    export_process(j, &snap->proc);
    export_summary(j, &snap->summary);
    export_modules(j, snap);
    int rc = export_stacks(j, snap, sym);
    if (rc == 0) {
        export_blocks(j, &snap->heap);
        export_roots(j, &snap->heap);
        export_rc_errors(j, snap);
    }
    rs_json_end_object(j);
    return rc;
}

/* ---- folded stacks ------------------------------------------------------ */

/* Writes a name as one frame of a folded line: ';' separates frames, a
 * space the count, a line ends at '\n', so each of them (and any control
 * byte) becomes '_'. */
static void folded_name(FILE *out, const char *name)
{
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        fputc(*p == ';' || *p == ' ' || *p < 0x20 || *p == 0x7f ? '_' : *p, out);
}

static void folded_frame(FILE *out, const rs_frame_t *f)
{
    if (f->function) {
        folded_name(out, f->function);
        if (f->python)
            fputs("[py]", out);          /* a Python function, not a C one */
    } else if (f->module) {
        const char *b = strrchr(f->module, '/');
        folded_name(out, b ? b + 1 : f->module);
        fprintf(out, "+0x%" PRIx64, f->module_offset);
    } else {
        fputs("??", out);
    }
}

/* The folded line of one stack ("main;f;g") into a new string, or NULL
 * when memory is exhausted. */
static char *fold_stack(rs_symbolizer_t *sym, const rs_snapshot_t *snap,
                        uint32_t stack_id, rs_frame_t *frames)
{
    char *line = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&line, &len);
    if (!m)
        return NULL;
    int n = rs_symbolize_stack(sym, snap, stack_id, frames, RS_SYMBOLIZE_MAX_FRAMES);
    if (n == 0)
        fputs("??", m);
    for (int k = n - 1; k >= 0; k--) {
        folded_frame(m, &frames[k]);
        if (k)
            fputc(';', m);
    }
    if (fclose(m) != 0 || n < 0) {
        free(line);
        return NULL;
    }
    return line;
}

int rs_folded_collect(const rs_snapshot_t *snap, rs_symbolizer_t *sym,
                      rs_folded_t *out)
{
    static rs_frame_t frames[RS_SYMBOLIZE_MAX_FRAMES];
    rs_findings_t f;
    rs_findings_options_t opt = { 0 };
    memset(out, 0, sizeof *out);
    if (rs_findings_build(snap, &opt, &f) != 0)
        return -1;
    out->stacks = calloc(f.n ? f.n : 1, sizeof *out->stacks);
    out->bytes = calloc(f.n ? f.n : 1, sizeof *out->bytes);
    int rc = out->stacks && out->bytes ? 0 : -1;
    for (uint32_t i = 0; i < f.n && rc == 0; i++) {
        out->stacks[i] = fold_stack(sym, snap, f.items[i].stack_id, frames);
        out->bytes[i] = f.items[i].bytes;
        if (!out->stacks[i])
            rc = -1;
        else
            out->n++;
    }
    rs_findings_free(&f);
    if (rc < 0)
        rs_folded_free(out);
    return rc;
}

void rs_folded_free(rs_folded_t *f)
{
    if (!f)
        return;
    for (uint32_t i = 0; i < f->n; i++)
        free(f->stacks[i]);
    free(f->stacks);
    free(f->bytes);
    memset(f, 0, sizeof *f);
}

int rs_export_folded(FILE *out, const rs_snapshot_t *snap, rs_symbolizer_t *sym)
{
    rs_folded_t f;
    if (rs_folded_collect(snap, sym, &f) != 0)
        return -1;
    for (uint32_t i = 0; i < f.n; i++)
        fprintf(out, "%s %" PRIu64 "\n", f.stacks[i], f.bytes[i]);
    rs_folded_free(&f);
    fflush(out);
    return ferror(out) ? -1 : 0;
}
