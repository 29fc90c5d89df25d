/*
 * report.h - render one analysed snapshot for people (text) or scripts
 * (JSON).
 *
 * Both renderers group the snapshot's blocks into findings (findings.h),
 * symbolize each finding's allocation stack (symbolize.h, with refscope's
 * own frames and the allocator entry point hidden) and print:
 *
 *  text:  a header line per process, one paragraph per finding with its
 *         frames, a line saying what the limit cut, and a SUMMARY line;
 *  JSON:  one object, the contract other tools and tests rely on:
 *    {"process": {"pid", "ppid", "exe", "argv": [...],
 *                 "exit_status": int or null},
 *     "summary": {"leaked": {"bytes","blocks"}, "indirect": {...},
 *                 "reachable": {...},
 *                 "cycles": {"groups","objects","bytes","blocks"},
 *                 "leaked_refs": {"objects","refs","bytes","blocks"},
 *                 "rc_errors": N},
 *    ("blocks" repeats "objects" so every class has bytes and blocks)
 *     "findings": [{"class", "bytes", "blocks", "type", "charged_to",
 *                   "stack": [{"function","symbol","file","line",
 *                              "module","address"}]}],
 *     "findings_cut": {"findings","bytes","blocks"},
 *     "hidden": {"bytes","blocks"} (only with a focus, report_focus.h:
 *               the leak blocks it left out),
 *     "snapshot": path or null}
 *    "function" is the name shown (C++ and Rust demangled), "symbol" the
 *    one the module spells (DWARF's name or the mangled symbol: stable
 *    across refscope versions, what baselines hash; symbolize.h).
 *    Unknown function, symbol, file, line or module are null; addresses are
 *    "0x..." strings; "type" is the type name shared by the finding's
 *    blocks or null; "charged_to" is, for an indirect finding, the index
 *    in "findings" of the leak it is charged to, else null.
 *    Class-specific members (findings.h says how findings are grouped):
 *     cycle:      "groups": N (aggregated groups of the same shape),
 *                 "type"/"stack" of the representative's first member,
 *                 "members": [{"address","type","size",
 *                              "refcount": N or null,"block","stack"}]
 *                 (one representative group, by address),
 *                 "edges": [{"from","to" (indices into members),"offset",
 *                            "field": DWARF member name or null,
 *                            "incref": [frames] or null}];
 *     leaked_ref: "refs" (unexplained references in all), "refcount" and
 *                 "pointers" (of the lowest-addressed object), "block"
 *                 (of that object), "unbalanced": [{"count","stack"}],
 *                 "maybe_unbalanced": [{"count","stack"}] (references a
 *                 release on another thread was paired with by guess:
 *                 any of them may be the one never released instead);
 *     "block" is null for an object that is a whole heap block, and
 *                 {"address","size","object","objects"} for one of several
 *                 objects of one block (lib/model/objnodes.h): the block,
 *                 the object's position in it (from 1) and how many.
 *                 The finding's "bytes" then count the object's part.
 *     rc_error:   (listed after every block finding) "kind"
 *                 ("decref_unknown", "underflow", "free_referenced",
 *                 "use_after_final"), "address" and "count" of the first
 *                 occurrence, "occurrences", "stack", "other_stack":
 *                 [frames] or null, "bytes": 0, "blocks": 0,
 *                 "charged_to": null.
 *    "findings_cut.findings" counts cut refcount error findings too.
 *
 * The summary figures are the snapshot's own (rs_snapshot_t.summary, the
 * analysis result); the findings are computed from its nodes.
 */
#ifndef RS_REPORT_H
#define RS_REPORT_H

#include "json_writer.h"
#include "report_focus.h"
#include "snapshot.h"
#include "symbolize.h"

#include <stdint.h>
#include <stdio.h>

typedef struct rs_report_options {
    int         show_reachable; /* list reachable groups too               */
    uint32_t    limit;          /* findings per snapshot, 0 = all          */
    uint32_t    max_frames;     /* frames per stack, 0 = all               */
    const char *snapshot_path;  /* file the snapshot came from, or NULL    */
    /* Called before each finding (refcount errors included) is rendered,
     * with its number from 1 and the count; NULL = not called.          */
    void       (*progress)(void *ctx, uint32_t done, uint32_t total);
    void        *progress_ctx;
    rs_focus_t  focus;          /* leaks outside it are only counted       */
} rs_report_options_t;

/* Source paths as every report shows them: relative to the current
 * directory when under it (absolute when the current directory is "/"). */
typedef struct rs_report_cwd {
    char   dir[4096];
    size_t len;                 /* 0: paths stay as they are             */
} rs_report_cwd_t;

/* Records the current directory (getcwd) in *c; cannot fail (a directory
 * that cannot be named leaves paths absolute). */
void rs_report_cwd_init(rs_report_cwd_t *c);
/* path as shown (points into path). */
const char *rs_report_cwd_path(const rs_report_cwd_t *c, const char *path);

/* Calls opt->progress, if any, for finding i (from 0) of total. */
void rs_report_progress(const rs_report_options_t *opt, uint32_t i, uint32_t total);

/*
 * Writes the text report of snap to out.  Returns 0; -1 when memory is
 * exhausted or writing failed (the output may then be partial).
 */
int rs_report_text(FILE *out, const rs_snapshot_t *snap,
                   rs_symbolizer_t *sym, const rs_report_options_t *opt);

/*
 * Hooks through which another renderer reuses the text report's wording
 * (report_html.c): the text still goes to `out`, but before each part of
 * the report `part` is called, and a stack's frames (already cut below
 * main, and to max_frames) go to `stack` instead of being printed.  A
 * hook returning non-zero stops the report (rs_report_text_hooked then
 * returns -1).  Either hook may be NULL.
 */
typedef enum rs_report_part {
    RS_REPORT_PART_HEADER,     /* the process line                         */
    RS_REPORT_PART_FINDING,    /* a block finding; `finding` is set        */
    RS_REPORT_PART_RC_ERROR,   /* a refcount error finding; `error` is set */
    RS_REPORT_PART_CUT,        /* the lines saying what --limit cut        */
    RS_REPORT_PART_SUMMARY,    /* the SUMMARY line                         */
    RS_REPORT_PART_END,        /* nothing more follows                     */
} rs_report_part_t;

struct rs_finding;
struct rs_rc_finding;

typedef struct rs_report_hooks {
    void *ctx;
    int (*part)(void *ctx, rs_report_part_t part,
                const struct rs_finding *finding,
                const struct rs_rc_finding *error);
    int (*stack)(void *ctx, const rs_frame_t *frames, int n);
} rs_report_hooks_t;

/* rs_report_text() with hooks (NULL: none). */
int rs_report_text_hooked(FILE *out, const rs_snapshot_t *snap,
                          rs_symbolizer_t *sym, const rs_report_options_t *opt,
                          const rs_report_hooks_t *hooks);

/*
 * Writes the JSON object of snap as the next value of j (top level or
 * inside an array).  Returns 0; -1 when memory is exhausted (the object
 * is then closed early and j's error flag set).  Write errors are left in
 * j for rs_json_finish() to report.
 */
int rs_report_json(rs_json_t *j, const rs_snapshot_t *snap,
                   rs_symbolizer_t *sym, const rs_report_options_t *opt);

/*
 * Pieces of the JSON report that the other JSON renderers (export, check)
 * reuse, so a frame, a tally or a process looks the same in every output.  They cannot fail; misuse and write errors are left in j.
 */

/* "key": {"bytes": t->bytes, "blocks": t->blocks} (inside an object). */
void rs_report_json_tally(rs_json_t *j, const char *key, const rs_tally_t *t);

/* One frame object {"function","symbol","file","line","module","address"}; the
 * line is null when the file or the line is unknown. */
void rs_report_json_frame(rs_json_t *j, const rs_frame_t *f);

/* The members "pid", "ppid", "exe", "argv" and "exit_status" (null when
 * unknown) of p, inside an object the caller opened. */
void rs_report_json_process_members(rs_json_t *j, const rs_proc_info_t *p);

/* Bytes and blocks in all leak classes (leaked, indirect, cycle,
 * leaked_ref) according to the snapshot's summary. */
rs_tally_t rs_report_leak_total(const rs_snapshot_t *snap);

#endif /* RS_REPORT_H */
