/*
 * report_export.c - JSON export of a whole snapshot and folded stacks
 * (the schema and line format are in report_export.h).
 */
#include "report_export.h"

#include "findings.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *reason_name(uint8_t r)
{
    return r == 0 ? "exit" : r == 1 ? "snapshot" : r == 2 ? "check" : "unknown";
}

static void uint_or_null(rs_json_t *j, const char *key, uint64_t v, int valid)
{
    rs_json_key(j, key);
    if (valid)
        rs_json_uint(j, v);
    else
        rs_json_null(j);
}

static void export_process(rs_json_t *j, const rs_proc_info_t *p)
{
    rs_json_key(j, "process");
    rs_json_begin_object(j);
    rs_json_key(j, "pid");
    rs_json_int(j, p->pid);
    rs_json_key(j, "ppid");
    rs_json_int(j, p->ppid);
    rs_json_key(j, "exe");
    rs_json_string(j, p->exe);
    rs_json_key(j, "argv");
    rs_json_begin_array(j);
    for (uint32_t i = 0; i < p->argc; i++)
        rs_json_string(j, p->argv[i]);
    rs_json_end_array(j);
    rs_json_key(j, "exit_status");
    if (p->has_exit_status)
        rs_json_int(j, p->exit_status);
    else
        rs_json_null(j);
    rs_json_key(j, "reason");
    rs_json_string(j, reason_name(p->reason));
    rs_json_key(j, "seq");
    rs_json_uint(j, p->seq);
    rs_json_key(j, "time_ns");
    rs_json_uint(j, p->time_ns);
    rs_json_key(j, "label");
    rs_json_string(j, p->label);
    rs_json_end_object(j);
}

static void export_summary(rs_json_t *j, const rs_summary_t *s)
{
    rs_json_key(j, "summary");
    rs_json_begin_object(j);
    for (int c = 1; c < RS_CLASS_COUNT; c++) {
        rs_json_key(j, rs_class_name((rs_class_t)c));
        rs_json_begin_object(j);
        rs_json_key(j, "bytes");
        rs_json_uint(j, s->by_class[c].bytes);
        rs_json_key(j, "blocks");
        rs_json_uint(j, s->by_class[c].blocks);
        rs_json_end_object(j);
    }
    rs_json_key(j, "cycle_groups");
    rs_json_uint(j, s->cycle_groups);
    rs_json_key(j, "leaked_refs");
    rs_json_uint(j, s->leaked_refs);
    rs_json_key(j, "rc_errors");
    rs_json_uint(j, s->rc_errors);
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
        rs_json_key(j, "path");
        rs_json_string(j, m->path);
        rs_json_key(j, "build_id");
        rs_json_string(j, m->build_id_len ? hex : NULL);
        rs_json_key(j, "load_bias");
        rs_json_hex(j, m->load_bias);
        rs_json_key(j, "segments");
        rs_json_begin_array(j);
        for (uint32_t g = 0; g < m->n_segments; g++) {
            rs_json_begin_object(j);
            rs_json_key(j, "start");
            rs_json_hex(j, m->segments[g].start);
            rs_json_key(j, "end");
            rs_json_hex(j, m->segments[g].end);
            rs_json_key(j, "flags");
            rs_json_uint(j, m->segments[g].flags);
            rs_json_end_object(j);
        }
        rs_json_end_array(j);
        rs_json_key(j, "load_epoch");
        rs_json_uint(j, m->load_epoch);
        uint_or_null(j, "unload_epoch", m->unload_epoch, m->unload_epoch != RS_EPOCH_LIVE);
        rs_json_end_object(j);
    }
    rs_json_end_array(j);
    rs_json_key(j, "types");
    rs_json_begin_array(j);
    for (uint32_t i = 0; i < s->n_types; i++)
        rs_json_string(j, s->types[i]);
    rs_json_end_array(j);
}

static void export_frame(rs_json_t *j, const rs_frame_t *f)
{
    rs_json_begin_object(j);
    rs_json_key(j, "address");
    rs_json_hex(j, f->address);
    rs_json_key(j, "function");
    rs_json_string(j, f->function);
    rs_json_key(j, "file");
    rs_json_string(j, f->file);
    uint_or_null(j, "line", f->line, f->line != 0);
    rs_json_key(j, "module");
    rs_json_string(j, f->module);
    rs_json_end_object(j);
}

static int export_stacks(rs_json_t *j, const rs_snapshot_t *s, rs_symbolizer_t *sym)
{
    rs_frame_t frames[64];
    rs_json_key(j, "stacks");
    rs_json_begin_array(j);
    for (uint32_t id = 1; id <= s->n_stacks; id++) {
        const rs_stack_t *st = &s->stacks[id - 1];
        rs_json_begin_object(j);
        rs_json_key(j, "id");
        rs_json_uint(j, id);
        rs_json_key(j, "epoch");
        rs_json_uint(j, st->epoch);
        rs_json_key(j, "frames");
        rs_json_begin_array(j);
        for (uint32_t k = 0; k < st->n_frames; k++) {
            int n = rs_symbolize_pc(sym, s->modules, s->n_modules, st->pcs[k],
                                    st->epoch, frames, 64);
            if (n < 0)
                return -1;
            for (int f = 0; f < n; f++)
                export_frame(j, &frames[f]);
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
        rs_json_key(j, "index");
        rs_json_uint(j, i);
        rs_json_key(j, "address");
        rs_json_hex(j, n->addr);
        rs_json_key(j, "size");
        rs_json_uint(j, n->size);
        rs_json_key(j, "class");
        rs_json_string(j, n->cls < RS_CLASS_COUNT ? rs_class_name((rs_class_t)n->cls) : NULL);
        uint_or_null(j, "stack", n->stack_id, n->stack_id != 0);
        uint_or_null(j, "type", n->type_id, n->type_id != 0);
        rs_json_key(j, "refcount");
        if (n->flags & RS_NODE_REFCOUNTED)
            rs_json_int(j, n->refcount);
        else
            rs_json_null(j);
        rs_json_key(j, "flags");
        rs_json_uint(j, n->flags);
        uint_or_null(j, "owner", n->owner, n->owner != UINT32_MAX);
        rs_json_key(j, "thread");
        rs_json_uint(j, n->alloc_tid);
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
        rs_json_key(j, "index");
        rs_json_uint(j, i);
        rs_json_key(j, "kind");
        rs_json_string(j, rs_root_kind_name((rs_root_kind_t)r->kind));
        rs_json_key(j, "start");
        rs_json_hex(j, r->start);
        rs_json_key(j, "size");
        rs_json_uint(j, r->size);
        uint_or_null(j, "module", r->module, r->module != UINT32_MAX);
        uint_or_null(j, "tid", r->tid, r->tid != 0);
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
        rs_json_key(j, "kind");
        rs_json_string(j, rs_rc_error_name((rs_rc_error_kind_t)e->kind));
        uint_or_null(j, "type", e->type_id, e->type_id != 0);
        rs_json_key(j, "address");
        rs_json_hex(j, e->addr);
        rs_json_key(j, "count");
        rs_json_int(j, e->count);
        uint_or_null(j, "stack", e->stack_id, e->stack_id != 0);
        uint_or_null(j, "other_stack", e->other_stack_id, e->other_stack_id != 0);
        rs_json_key(j, "tid");
        rs_json_uint(j, e->tid);
        rs_json_end_object(j);
    }
    rs_json_end_array(j);
}

int rs_export_json(rs_json_t *j, const rs_snapshot_t *snap, rs_symbolizer_t *sym)
{
    rs_json_begin_object(j);
    rs_json_key(j, "format");
    rs_json_string(j, "refscope-snapshot-json");
    rs_json_key(j, "version");
    rs_json_uint(j, 1);
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

static void folded_frame(FILE *out, const rs_frame_t *f)
{
    if (f->function) {
        for (const char *p = f->function; *p; p++)
            fputc(*p == ';' || *p == ' ' ? '_' : *p, out);
    } else if (f->module) {
        const char *b = strrchr(f->module, '/');
        fprintf(out, "%s+0x%" PRIx64, b ? b + 1 : f->module, f->module_offset);
    } else {
        fputs("??", out);
    }
}

int rs_export_folded(FILE *out, const rs_snapshot_t *snap, rs_symbolizer_t *sym)
{
    static rs_frame_t frames[RS_SYMBOLIZE_MAX_FRAMES];
    rs_findings_t f;
    rs_findings_options_t opt = { 0 };
    if (rs_findings_build(snap, &opt, &f) != 0)
        return -1;
    int rc = 0;
    for (uint32_t i = 0; i < f.n && rc == 0; i++) {
        int n = rs_symbolize_stack(sym, snap, f.items[i].stack_id, frames,
                                   RS_SYMBOLIZE_MAX_FRAMES);
        if (n < 0) {
            rc = -1;
            break;
        }
        if (n == 0)
            fputs("??", out);
        for (int k = n - 1; k >= 0; k--) {
            folded_frame(out, &frames[k]);
            if (k)
                fputc(';', out);
        }
        fprintf(out, " %" PRIu64 "\n", f.items[i].bytes);
    }
    rs_findings_free(&f);
    fflush(out);
    return rc == 0 && !ferror(out) ? 0 : -1;
}
