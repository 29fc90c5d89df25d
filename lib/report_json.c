/*
 * report_json.c - the report scripts read: one JSON object per snapshot
 * (the contract is spelled out in report.h; keep both in step).
 *
 * Every value that may be unknown is written as null rather than left
 * out, so consumers can index without checking for presence.
 */
#include "report.h"

#include "findings.h"

#include <stdlib.h>

static void tally(rs_json_t *j, const char *key, const rs_tally_t *t)
{
    rs_json_key(j, key);
    rs_json_begin_object(j);
    rs_json_key(j, "bytes");
    rs_json_uint(j, t->bytes);
    rs_json_key(j, "blocks");
    rs_json_uint(j, t->blocks);
    rs_json_end_object(j);
}

static void process(rs_json_t *j, const rs_proc_info_t *p)
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
    for (uint32_t i = 0; p->argv && i < p->argc; i++)
        rs_json_string(j, p->argv[i] ? p->argv[i] : "");
    rs_json_end_array(j);
    rs_json_key(j, "exit_status");
    if (p->has_exit_status)
        rs_json_int(j, p->exit_status);
    else
        rs_json_null(j);
    rs_json_end_object(j);
}

static void summary(rs_json_t *j, const rs_summary_t *s)
{
    const rs_tally_t *k = s->by_class;
    rs_json_key(j, "summary");
    rs_json_begin_object(j);
    tally(j, "leaked", &k[RS_CLASS_LEAKED]);
    tally(j, "indirect", &k[RS_CLASS_INDIRECT]);
    tally(j, "reachable", &k[RS_CLASS_REACHABLE]);
    rs_json_key(j, "cycles");
    rs_json_begin_object(j);
    rs_json_key(j, "groups");
    rs_json_uint(j, s->cycle_groups);
    rs_json_key(j, "objects");
    rs_json_uint(j, k[RS_CLASS_CYCLE].blocks);
    rs_json_key(j, "bytes");
    rs_json_uint(j, k[RS_CLASS_CYCLE].bytes);
    rs_json_key(j, "blocks"); /* == objects, so every class has bytes/blocks */
    rs_json_uint(j, k[RS_CLASS_CYCLE].blocks);
    rs_json_end_object(j);
    rs_json_key(j, "leaked_refs");
    rs_json_begin_object(j);
    rs_json_key(j, "objects");
    rs_json_uint(j, k[RS_CLASS_LEAKED_REF].blocks);
    rs_json_key(j, "refs");
    rs_json_uint(j, s->leaked_refs);
    rs_json_key(j, "bytes");
    rs_json_uint(j, k[RS_CLASS_LEAKED_REF].bytes);
    rs_json_key(j, "blocks");
    rs_json_uint(j, k[RS_CLASS_LEAKED_REF].blocks);
    rs_json_end_object(j);
    rs_json_key(j, "rc_errors");
    rs_json_uint(j, s->rc_errors);
    rs_json_end_object(j);
}

static void frame(rs_json_t *j, const rs_frame_t *f)
{
    rs_json_begin_object(j);
    rs_json_key(j, "function");
    rs_json_string(j, f->function);
    rs_json_key(j, "file");
    rs_json_string(j, f->file);
    rs_json_key(j, "line");
    if (f->file && f->line)
        rs_json_uint(j, f->line);
    else
        rs_json_null(j);
    rs_json_key(j, "module");
    rs_json_string(j, f->module);
    rs_json_key(j, "address");
    rs_json_hex(j, f->address);
    rs_json_end_object(j);
}

/* Writes one finding; returns -1 when memory is exhausted. */
static int finding(rs_json_t *j, const rs_snapshot_t *snap,
                   rs_symbolizer_t *sym, const rs_report_options_t *opt,
                   const rs_finding_t *f, rs_frame_t *frames)
{
    rs_json_begin_object(j);
    rs_json_key(j, "class");
    rs_json_string(j, rs_class_name(f->cls));
    rs_json_key(j, "bytes");
    rs_json_uint(j, f->bytes);
    rs_json_key(j, "blocks");
    rs_json_uint(j, f->blocks);
    rs_json_key(j, "type");
    if (f->type_id && f->type_id <= snap->n_types && snap->types)
        rs_json_string(j, snap->types[f->type_id - 1]);
    else
        rs_json_null(j);
    rs_json_key(j, "charged_to");
    if (f->charged_to != RS_FINDING_NONE)
        rs_json_uint(j, f->charged_to);
    else
        rs_json_null(j);
    rs_json_key(j, "stack");
    rs_json_begin_array(j);
    uint32_t max = RS_SYMBOLIZE_MAX_FRAMES;
    if (opt->max_frames && opt->max_frames < max)
        max = opt->max_frames;
    int n = rs_symbolize_stack(sym, snap, f->stack_id, frames, max);
    for (int i = 0; i < n; i++)
        frame(j, &frames[i]);
    rs_json_end_array(j);
    rs_json_end_object(j);
    return n < 0 ? -1 : 0;
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
                                   .limit = opt->limit };
    rs_frame_t *frames = malloc(RS_SYMBOLIZE_MAX_FRAMES * sizeof *frames);
    if (!frames || rs_findings_build(snap, &fopt, &findings) < 0) {
        free(frames);
        j->error = 1;
        return -1;
    }
    rs_json_begin_object(j);
    process(j, &snap->proc);
    summary(j, &snap->summary);
    rs_json_key(j, "findings");
    rs_json_begin_array(j);
    for (uint32_t i = 0; i < findings.n && rc == 0; i++)
        rc = finding(j, snap, sym, opt, &findings.items[i], frames);
    rs_json_end_array(j);
    rs_json_key(j, "findings_cut");
    rs_json_begin_object(j);
    rs_json_key(j, "findings");
    rs_json_uint(j, findings.n_cut);
    rs_json_key(j, "bytes");
    rs_json_uint(j, findings.cut.bytes);
    rs_json_key(j, "blocks");
    rs_json_uint(j, findings.cut.blocks);
    rs_json_end_object(j);
    rs_json_key(j, "snapshot");
    rs_json_string(j, opt->snapshot_path);
    rs_json_end_object(j);
    if (rc < 0)
        j->error = 1;
    rs_findings_free(&findings);
    free(frames);
    return rc;
}
