/*
 * report_export.h - a whole snapshot as JSON for other tools
 * (`refscope export --json`), and leaks as folded stacks for flame-graph
 * tools (`refscope report --folded`).
 *
 * Export schema (version 1; one object):
 *   {"format": "refscope-snapshot-json", "version": 1,
 *    "process": {"pid","ppid","exe","argv":[..],"exit_status": N|null,
 *                "reason": "exit"|"snapshot"|"check","seq","time_ns",
 *                "label"},
 *    "summary": {"<class>": {"bytes","blocks"} for every class name,
 *                "cycle_groups","leaked_refs","rc_errors"},
 *    "modules": [{"path","build_id": "hex"|null,"load_bias": "0x..",
 *                 "segments":[{"start","end","flags"}],
 *                 "load_epoch","unload_epoch": N|null}],
 *    "types": ["name", ...]                       (type id i+1 = types[i])
 *    "stacks": [{"id","epoch","frames":[{"function","symbol","file",
 *                "line","module","address"}]}]    (symbolized, raw order;
 *                                                  frames as in report.h)
 *    "blocks": [{"index","address","size","class","stack": id|null,
 *                "type": id|null,"refcount": N|null,"flags",
 *                "owner": N|null,"thread"}]       (sorted by address)
 *    "edges": [[from, to, offset], ...]           (block indices)
 *    "roots": [{"index","kind","start","size","module": N|null,
 *               "tid": N|null}],
 *    "root_edges": [[root, to, offset], ...],
 *    "rc_errors": [{"kind","type": id|null,"address","count","stack",
 *                   "other_stack","tid"}]}
 * Addresses are "0x..." strings; every other number is a JSON integer.
 *
 * Folded stacks: one line per leak finding (`refscope report` order),
 * frames outermost first separated by ';', a space, the bytes:
 *   "main;cache_put;make_entry 4096".  Unknown frames are "??" or
 *   "module+0xoffset".
 */
#ifndef RS_REPORT_EXPORT_H
#define RS_REPORT_EXPORT_H

#include "json_writer.h"
#include "snapshot.h"
#include "symbolize.h"

#include <stdint.h>
#include <stdio.h>

/* Writes the export object as the next value of j.  Returns 0, or -1 when
 * memory is exhausted (errors of j are left for rs_json_finish). */
int rs_export_json(rs_json_t *j, const rs_snapshot_t *snap, rs_symbolizer_t *sym);

/* The folded stacks of snap's leak findings, in report order: stacks[i]
 * is the line without its count, bytes[i] the count (the flame graph of
 * the HTML report draws them, svg_flame.h). */
typedef struct rs_folded {
    char     **stacks;
    uint64_t  *bytes;
    uint32_t   n;
} rs_folded_t;

/* Fills *out (overwritten).  Returns 0, or -1 when memory is exhausted
 * (*out is then empty). */
int rs_folded_collect(const rs_snapshot_t *snap, rs_symbolizer_t *sym,
                      rs_folded_t *out);
void rs_folded_free(rs_folded_t *f);   /* accepts NULL and an empty one */

/* Writes the folded stacks of snap's leak findings.  Returns 0, or -1
 * when memory is exhausted or writing failed. */
int rs_export_folded(FILE *out, const rs_snapshot_t *snap, rs_symbolizer_t *sym);

#endif /* RS_REPORT_EXPORT_H */
