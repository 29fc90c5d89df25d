/*
 * report_check.h - the CI leak gate behind `refscope check`: findings of
 * snapshots become check items, suppressions hide some, a baseline of
 * known findings excuses others, thresholds decide pass or fail, and the
 * result is rendered as text, JSON, JUnit XML, SARIF 2.1.0 or GitHub
 * Actions workflow commands.
 *
 * Flow (every step is a function below, usable and tested alone):
 *   rs_check_set_add_snapshot()  findings of one snapshot -> items
 *   rs_supp_load()               suppression files       -> rs_supp_list_t
 *   rs_baseline_read()           a baseline file          -> rs_baseline_t
 *   rs_check_evaluate()          items + the above        -> verdict
 *   rs_check_render()            verdict                  -> report
 *   rs_baseline_write()          items                    -> baseline file
 *
 * Items.  One item per finding: a leak class (leaked, indirect, cycle,
 * leaked_ref) and allocation stack, or refcount errors grouped by kind,
 * stack and other stack.  An item owns copies of its strings and its
 * symbolized frames, so it outlives the snapshot and the symbolizer.
 *
 * Gate classes (the --fail-on names): leaks (class leaked), indirect,
 * cycles, leaked_refs, rc_errors; the default is all but indirect.
 *
 * Fingerprint (what a baseline records; stable across builds and runs,
 * independent of addresses and ASLR): the 64-bit FNV-1a hash, as 16 hex
 * digits, of the text
 *     "v1|<class>[:<rc error kind>]|<type or ->|<f1>@<b1>|<f2>@<b2>..."
 * where fK is the function name ("?" if unknown) and bK the basename of
 * the source file (else of the module, else "?") of the first N
 * application frames of the allocation stack (the stack of the error for
 * rc_error).  Application frames are the frames outside system libraries
 * (modules under /lib, /lib64, /usr/lib, /usr/lib64, /usr/libexec, and
 * the dynamic loader); refscope's own and allocator frames are already
 * gone.  When a stack has no application frame its first N frames are
 * used.  Line numbers are left out on purpose, so editing a file above a
 * leak does not make it "new"; two leaks in one function at different
 * lines therefore share a fingerprint and their counts add up.  N is 4 by
 * default (--fingerprint-frames) and is stored in the baseline, which
 * then decides it.
 */
#ifndef RS_REPORT_CHECK_H
#define RS_REPORT_CHECK_H

#include "snapshot.h"
#include "symbolize.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- items (report_check.c) ---------------------------------------- */

typedef enum rs_check_kind {
    RS_CHECK_LEAKS       = 0,  /* class leaked                              */
    RS_CHECK_INDIRECT    = 1,
    RS_CHECK_CYCLES      = 2,
    RS_CHECK_LEAKED_REFS = 3,
    RS_CHECK_RC_ERRORS   = 4,
    RS_CHECK_KIND_COUNT  = 5
} rs_check_kind_t;

#define RS_CHECK_FAIL_ALL     ((1u << RS_CHECK_KIND_COUNT) - 1)
#define RS_CHECK_FAIL_DEFAULT (RS_CHECK_FAIL_ALL & ~(1u << RS_CHECK_INDIRECT))
#define RS_CHECK_MAX_FRAMES   64   /* frames kept per stack of an item     */
#define RS_CHECK_FP_FRAMES    4    /* default frames in a fingerprint      */
#define RS_CHECK_FP_LEN       16   /* hex digits of a fingerprint          */

typedef struct rs_check_frame {
    char    *function;             /* NULL when unknown; for people         */
    char    *symbol;               /* as the module spells it (mangled):
                                      fingerprints hash it (rs_frame_t)     */
    char    *file;                 /* NULL when unknown                     */
    uint32_t line;                 /* 0 when unknown                        */
    char    *module;               /* NULL when unknown                     */
    uint64_t address;
    uint8_t  python;               /* a Python frame (rs_frame_t.python)    */
} rs_check_frame_t;

typedef enum rs_check_status {
    RS_CHECK_COUNTED    = 0,       /* counts towards the gate               */
    RS_CHECK_NOT_GATED  = 1,       /* its class is not in --fail-on         */
    RS_CHECK_SUPPRESSED = 2,       /* a suppression matched it              */
    RS_CHECK_BASELINED  = 3,       /* known to the baseline, not grown      */
} rs_check_status_t;

typedef struct rs_check_item {
    rs_check_kind_t   kind;
    char             *detail;      /* rc_error kind ("underflow"...) or NULL */
    char             *type;        /* type name or NULL                     */
    uint64_t          bytes;
    uint64_t          count;       /* blocks / objects / occurrences        */
    rs_check_frame_t *frames;      /* allocation (or error) stack           */
    uint32_t          n_frames;
    rs_check_frame_t *other;       /* more frames suppressions match: for
                                      rc_error the conflicting event's
                                      stack, for leaked_ref the unbalanced
                                      increfs, for cycle the other members'
                                      allocations; may be NULL              */
    uint32_t          n_other;
    uint32_t          snapshot;    /* index into the set's snapshots        */
    /* Filled in by rs_check_evaluate(): */
    rs_check_status_t status;
    long              suppression; /* index of the suppression, or -1      */
    char              fingerprint[RS_CHECK_FP_LEN + 1];
    int               in_baseline; /* the fingerprint is in the baseline   */
    int               grown;       /* ... and its count or bytes grew       */
    uint64_t          base_count, base_bytes; /* the baseline's figures     */
} rs_check_item_t;

typedef struct rs_check_set {
    rs_check_item_t *items;
    size_t           n, cap;
    char           **snapshots;    /* paths, as given                       */
    size_t           n_snapshots;
} rs_check_set_t;

/* The --fail-on name of a kind ("leaks", ..., "rc_errors") and the finding
 * class it gates ("leaked", "indirect", "cycle", "leaked_ref",
 * "rc_error"). */
const char *rs_check_kind_name(rs_check_kind_t k);
const char *rs_check_class_name(rs_check_kind_t k);

/*
 * Parses a comma-separated --fail-on list ("cycles,leaks"; "all" and
 * "none" are accepted too) into a bit mask of (1 << kind).  Returns 0, or
 * -1 with the offending word copied to bad[0..n).
 */
int rs_check_parse_fail_on(const char *list, unsigned *mask, char *bad,
                           size_t n);

/*
 * Appends a deep copy of *item (its strings and frames are copied, frames
 * cut to RS_CHECK_MAX_FRAMES; evaluation fields are reset).  Returns 0, or
 * -1 when memory is exhausted (the set is unchanged).
 */
int rs_check_set_add(rs_check_set_t *set, const rs_check_item_t *item);

/*
 * Adds the findings of one analysed snapshot read from path: one item per
 * leak finding and per group of refcount errors, with stacks symbolized
 * by sym.  Returns 0, or -1 when memory is exhausted (items added so far
 * stay).
 */
int rs_check_set_add_snapshot(rs_check_set_t *set, const rs_snapshot_t *snap,
                              rs_symbolizer_t *sym, const char *path);

/* Frees everything the set owns; accepts NULL and an empty set. */
void rs_check_set_free(rs_check_set_t *set);

/* Non-zero for a frame of a system library (see the fingerprint above). */
int rs_check_frame_is_system(const rs_check_frame_t *f);

/*
 * The top application frame of an item: the first frame with a source
 * file and line outside system libraries and not one of refscope.h's
 * inline refscope_* annotation functions, else the first frame with a
 * source file and line, else NULL.  Reports place the finding there.
 */
const rs_check_frame_t *rs_check_top_frame(const rs_check_item_t *item);

/* The frames a fingerprint over fp_frames frames uses: their indices into
 * item->frames go to idx; returns how many. */
uint32_t rs_check_fp_select(const rs_check_item_t *item, uint32_t fp_frames,
                            uint32_t idx[RS_CHECK_MAX_FRAMES]);

/* The file part of a frame in a fingerprint: basename of the source file,
 * else of the module, else "?". */
const char *rs_check_fp_file(const rs_check_frame_t *f);

/* qsort_r() comparator of item indices (size_t) into the set arg: by
 * fingerprint, then by index, so equal fingerprints keep set order. */
int rs_check_cmp_fingerprint(const void *pa, const void *pb, void *arg);

/* Writes the fingerprint of item over fp_frames frames into out (16 hex
 * digits and a NUL).  Never fails. */
void rs_check_fingerprint(const rs_check_item_t *item, uint32_t fp_frames,
                          char out[RS_CHECK_FP_LEN + 1]);

/* ---- suppressions (report_check_supp.c) ------------------------------ */

/*
 * A suppression file has one "kind:pattern" per line; blank lines and
 * lines starting with '#' are ignored, white space around kind and
 * pattern is dropped.  Kinds:
 *   leak:    LeakSanitizer's: any leak class (leaked, indirect, cycle,
 *            leaked_ref); the pattern is matched against the function
 *            name, the source file path and the module path of every
 *            frame of the allocation stack (and of the item's other
 *            stacks: a leaked_ref's unbalanced increfs, a cycle's other
 *            members' allocations)
 *   cycle:   the same, only reference cycles
 *   ref:     the same, only leaked references
 *   rc:      the same, only refcount errors (their stack and the
 *            conflicting earlier event's)
 *   type:    the refcounted type name, any class
 * Patterns follow LeakSanitizer: a match anywhere in the string, '*'
 * matches any run of characters, a leading '^' anchors at the start and a
 * trailing '$' at the end.  (Unlike LSan's greedy matcher, '*' backtracks,
 * so "a*b$" matches "ab_ab".)
 */
typedef enum rs_supp_kind {
    RS_SUPP_LEAK  = 0,
    RS_SUPP_CYCLE = 1,
    RS_SUPP_REF   = 2,
    RS_SUPP_RC    = 3,
    RS_SUPP_TYPE  = 4,
} rs_supp_kind_t;

typedef struct rs_supp {
    rs_supp_kind_t kind;
    char          *pattern;
    char          *file;           /* where it was read, for messages       */
    uint32_t       line;
    uint64_t       hits;           /* items it suppressed                   */
    uint64_t       count;          /* blocks / occurrences of those items   */
    uint64_t       bytes;
} rs_supp_t;

typedef struct rs_supp_list {
    rs_supp_t *items;
    size_t     n, cap;
} rs_supp_list_t;

/* Name of a kind as written in files ("leak", "cycle", ...). */
const char *rs_supp_kind_name(rs_supp_kind_t k);

/*
 * Parses text[0..len), read from a file called name, appending its
 * suppressions to l.  Returns 0; on a malformed line -1 with err set to
 * "name:line: message" (suppressions before that line stay added).
 */
int rs_supp_parse(rs_supp_list_t *l, const char *name, const char *text,
                  size_t len, char *err, size_t errlen);

/* Reads the file at path and parses it.  Returns 0 or -1 with err set
 * ("path: No such file or directory" or as for rs_supp_parse()). */
int rs_supp_load(rs_supp_list_t *l, const char *path, char *err,
                 size_t errlen);

/* LSan-style match of pattern against s (see above).  NULL or empty s
 * never matches. */
int rs_supp_glob(const char *pattern, const char *s);

/* The index of the first suppression that matches item, or -1. */
long rs_supp_match(const rs_supp_list_t *l, const rs_check_item_t *item);

void rs_supp_free(rs_supp_list_t *l);

/* ---- baselines (report_check_baseline.c) ----------------------------- */

/*
 * A baseline file is JSON:
 *   {"refscope_baseline": 1, "fingerprint_frames": N,
 *    "findings": [{"fingerprint": "16 hex digits", "class": "leaked",
 *                  "type": name|null, "count": N, "bytes": N,
 *                  "frames": ["function (file)", ...]}]}
 * "class", "type" and "frames" are for people; only fingerprint, count
 * and bytes are compared.  Entries are sorted by fingerprint so the file
 * diffs well in version control.
 */
typedef struct rs_baseline_entry {
    char     fingerprint[RS_CHECK_FP_LEN + 1];
    char    *class_name;
    char    *type;
    char   **frames;
    uint32_t n_frames;
    uint64_t count, bytes;
} rs_baseline_entry_t;

typedef struct rs_baseline {
    rs_baseline_entry_t *entries;
    size_t               n;
    uint32_t             fp_frames;
} rs_baseline_t;

/*
 * Reads a baseline.  Returns 0, or -1 with err set to "path: ..." (an I/O
 * error, "line L, column C: ..." for bad JSON or a value of the wrong
 * shape); *b is then empty.
 */
int rs_baseline_read(const char *path, rs_baseline_t *b, char *err,
                     size_t errlen);

/* The entry with fingerprint fp, or NULL. */
const rs_baseline_entry_t *rs_baseline_find(const rs_baseline_t *b,
                                            const char *fp);

/*
 * Writes the baseline of the evaluated set to path (atomically: a
 * temporary file renamed over it).  Items that are suppressed are left
 * out; items with the same fingerprint are added up.  With ratchet (the
 * old baseline, for --update-baseline) only fingerprints already in it
 * are kept, each with the smaller of its old and current figures, so a
 * baseline only ever tightens; without, every item is recorded.
 * Returns 0, or -1 with err set (nothing is left behind at path).
 */
int rs_baseline_write(const char *path, const rs_check_set_t *set,
                      uint32_t fp_frames, const rs_baseline_t *ratchet,
                      char *err, size_t errlen);

void rs_baseline_free(rs_baseline_t *b);

/* ---- the gate (report_check.c) ---------------------------------------- */

typedef struct rs_check_options {
    unsigned fail_on;              /* mask of (1 << rs_check_kind_t)        */
    int      have_max_findings;
    uint64_t max_findings;         /* counted items allowed                 */
    int      have_max_bytes;
    uint64_t max_leaked_bytes;     /* counted bytes allowed                 */
    uint32_t fp_frames;            /* 0 = the baseline's, else default      */
} rs_check_options_t;

typedef struct rs_check_verdict {
    int      failed;
    uint64_t counted, counted_bytes, counted_count, counted_rc;
    uint64_t suppressed, baselined, not_gated;
    uint64_t new_items, grown_items; /* with a baseline                     */
    uint32_t fp_frames;            /* frames the fingerprints used          */
    int      have_baseline;        /* a baseline was compared against       */
    char     reason[256];          /* why it failed, or "" when it passed   */
} rs_check_verdict_t;

/*
 * Decides the gate.  Every item gets its status, suppression and
 * fingerprint; suppressions get their hit counts (added to).  The rule:
 *  - an item of a kind not in fail_on is NOT_GATED; else one a
 *    suppression matches is SUPPRESSED; else, with a baseline, one whose
 *    fingerprint is in it and whose fingerprint's total count and bytes
 *    (over all unsuppressed items sharing it) did not grow is BASELINED;
 *    every other item is COUNTED;
 *  - with no threshold given, any counted item fails the gate;
 *  - --max-findings N fails when more than N items are counted;
 *  - --max-leaked-bytes N fails when counted bytes exceed N; refcount
 *    errors have no bytes, so they fail it unless --max-findings is given
 *    too.
 * base may be NULL, supp may be NULL.  Never fails.
 */
void rs_check_evaluate(rs_check_set_t *set, const rs_check_options_t *opt,
                       rs_supp_list_t *supp, const rs_baseline_t *base,
                       rs_check_verdict_t *v);

/* ---- rendering (report_formats.c) ------------------------------------- */

typedef enum rs_check_format {
    RS_CHECK_FORMAT_TEXT = 0,
    RS_CHECK_FORMAT_JSON,
    RS_CHECK_FORMAT_JUNIT,
    RS_CHECK_FORMAT_SARIF,
    RS_CHECK_FORMAT_GITHUB,
} rs_check_format_t;

/* Returns the format named s, or -1. */
int rs_check_format_from_name(const char *s);

typedef struct rs_check_render_options {
    rs_check_format_t     format;
    const char           *source_root;  /* paths under it are shown relative
                                           to it; NULL = current directory */
    int                   print_suppressions; /* text: list them and hits  */
    const rs_supp_list_t *supp;         /* for the suppression listing     */
    uint32_t              max_frames;   /* frames shown per item, 0 = all  */
    int                   all_items;    /* text: list suppressed, baselined
                                           and not gated items too          */
} rs_check_render_options_t;

/*
 * Writes the report of an evaluated set to out in the chosen format:
 *  text    one paragraph per counted item, then the verdict line
 *          "refscope check: PASSED|FAILED: ...";
 *  json    {"passed": bool, "reason": string|null, "fingerprint_frames",
 *           "totals": {"counted","counted_bytes","suppressed","baselined",
 *                      "not_gated","new","grown"},
 *           "findings": [{"class", "kind" (rc error kind or null),
 *                         "status" (counted|not_gated|suppressed|
 *                         baselined), "fingerprint", "type", "bytes",
 *                         "count", "baseline": {"count","bytes","grown"}
 *                         |null, "suppressed_by": {"file","line","kind",
 *                         "pattern"}|null, "snapshot", "stack": [frames as
 *                         in report.h], "other_stack" (rc_error only)}],
 *           "suppressions": [{"file","line","kind","pattern","hits",
 *                             "count","bytes"}]};
 *  junit   <testsuites><testsuite name="refscope"> with one testcase per
 *          item (failure for counted items when the gate failed, skipped
 *          for suppressed/baselined/not gated) and a "gate" testcase;
 *  sarif   SARIF 2.1.0, one result per item (suppressed ones carry a
 *          "suppressions" entry), located at the top application frame;
 *  github  "::error file=F,line=L,title=T::message" per counted item
 *          ("::warning" when the gate passed), "::notice" for the verdict.
 * Returns 0, or -1 on a write error or memory exhaustion.
 */
int rs_check_render(FILE *out, const rs_check_set_t *set,
                    const rs_check_verdict_t *v,
                    const rs_check_options_t *opt,
                    const rs_check_render_options_t *ropt);

#endif /* RS_REPORT_CHECK_H */
