/*
 * report_text.c - the report people read (see report.h).
 *
 * Layout, LeakSanitizer-like:
 *
 *   refscope: process 1234 (./prog arg) exited with status 0
 *
 *   Leak of 96 bytes in 2 blocks (leaked), allocated at:
 *       #0 0x55d0c0a1b2c3 in make_node samples/leak.c:12 (leak_indirect)
 *       #1 0x55d0c0a1b400 in main samples/leak.c:30 (leak_indirect)
 *
 *   SUMMARY: refscope: 160 bytes leaked in 4 blocks (...)
 *
 * Source paths under the current directory are shown relative to it;
 * frames without a source line show "(module+0xoffset)" instead.
 */
#include "report.h"

#include "findings.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct text_ctx {
    FILE                      *out;
    const rs_snapshot_t       *snap;
    rs_symbolizer_t           *sym;
    const rs_report_options_t *opt;
    const rs_findings_t       *findings;
    char                       cwd[4096];
    size_t                     cwd_len;
    rs_frame_t                 frames[RS_SYMBOLIZE_MAX_FRAMES];
} text_ctx_t;

rs_tally_t rs_report_leak_total(const rs_snapshot_t *snap)
{
    static const rs_class_t leaks[] = { RS_CLASS_LEAKED, RS_CLASS_INDIRECT,
                                        RS_CLASS_CYCLE, RS_CLASS_LEAKED_REF };
    rs_tally_t t = { 0, 0 };
    for (size_t i = 0; i < sizeof leaks / sizeof leaks[0]; i++) {
        t.bytes += snap->summary.by_class[leaks[i]].bytes;
        t.blocks += snap->summary.by_class[leaks[i]].blocks;
    }
    return t;
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* A source path as shown: relative when under the current directory. */
static const char *shown_path(const text_ctx_t *c, const char *path)
{
    if (c->cwd_len && strncmp(path, c->cwd, c->cwd_len) == 0 &&
        path[c->cwd_len] == '/')
        return path + c->cwd_len + 1;
    return path;
}

/* Prints an argument, quoted for a POSIX shell when it needs it. */
static void print_arg(FILE *out, const char *arg)
{
    if (*arg && strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                       "0123456789-_./=:,+@%") == strlen(arg)) {
        fputs(arg, out);
        return;
    }
    fputc('\'', out);
    for (const char *p = arg; *p; p++) {
        if (*p == '\'')
            fputs("'\\''", out);
        else if ((unsigned char)*p < 0x20)
            fprintf(out, "\\x%02x", (unsigned char)*p);
        else
            fputc(*p, out);
    }
    fputc('\'', out);
}

static void print_header(const text_ctx_t *c)
{
    const rs_proc_info_t *p = &c->snap->proc;
    fprintf(c->out, "refscope: process %" PRId32 " (", p->pid);
    if (p->argc && p->argv) {
        for (uint32_t i = 0; i < p->argc; i++) {
            if (i)
                fputc(' ', c->out);
            print_arg(c->out, p->argv[i] ? p->argv[i] : "");
        }
    } else {
        print_arg(c->out, p->exe ? p->exe : "?");
    }
    fputc(')', c->out);
    const char *label = p->label ? p->label : "";
    if (p->reason == 1)
        fprintf(c->out, " snapshot '%s' #%" PRIu32, label, p->seq);
    else if (p->reason == 2)
        fprintf(c->out, " check '%s' #%" PRIu32, label, p->seq);
    else if (p->has_exit_status)
        fprintf(c->out, " exited with status %" PRId32, p->exit_status);
    else
        fputs(" exited", c->out);
    fputc('\n', c->out);
}

static void print_frame(const text_ctx_t *c, uint32_t no, const rs_frame_t *f)
{
    fprintf(c->out, "    #%" PRIu32 " 0x%" PRIx64 " in %s", no, f->address,
            f->function ? f->function : "??");
    if (f->file) {
        fprintf(c->out, " %s", shown_path(c, f->file));
        if (f->line)
            fprintf(c->out, ":%" PRIu32, f->line);
        if (f->module)
            fprintf(c->out, " (%s)", base_name(f->module));
    } else if (f->module) {
        fprintf(c->out, " (%s+0x%" PRIx64 ")", f->module, f->module_offset);
    }
    fputc('\n', c->out);
}

/* Symbolizes stack_id into c->frames; returns the count shown or -1. */
static int stack_frames(text_ctx_t *c, uint32_t stack_id)
{
    uint32_t max = RS_SYMBOLIZE_MAX_FRAMES;
    if (c->opt->max_frames && c->opt->max_frames < max)
        max = c->opt->max_frames;
    return rs_symbolize_stack(c->sym, c->snap, stack_id, c->frames, max);
}

/* "make_list samples/leak.c:20": the first frame of the finding `target`
 * charges go to, written to out.  Returns -1 when memory is exhausted. */
static int print_charge(text_ctx_t *c, uint32_t target)
{
    if (target == RS_FINDING_NONE) {
        fputs("indirect", c->out);
        return 0;
    }
    int n = stack_frames(c, c->findings->items[target].stack_id);
    if (n < 0)
        return -1;
    fputs("indirect, charged to the leak ", c->out);
    if (n == 0) {
        fprintf(c->out, "with stack #%" PRIu32,
                c->findings->items[target].stack_id);
        return 0;
    }
    const rs_frame_t *f = &c->frames[0];
    fprintf(c->out, "allocated in %s", f->function ? f->function : "??");
    if (f->file && f->line)
        fprintf(c->out, " at %s:%" PRIu32, shown_path(c, f->file), f->line);
    return 0;
}

static const char *type_name(const rs_snapshot_t *snap, uint32_t type_id)
{
    if (type_id == 0 || type_id > snap->n_types || !snap->types)
        return NULL;
    return snap->types[type_id - 1];
}

static int print_finding(text_ctx_t *c, const rs_finding_t *f)
{
    const char *type = type_name(c->snap, f->type_id);
    if (f->cls == RS_CLASS_REACHABLE)
        fprintf(c->out, "Reachable: %" PRIu64 " %s in %" PRIu64 " %s (",
                f->bytes, plural(f->bytes, "byte", "bytes"), f->blocks,
                plural(f->blocks, "block", "blocks"));
    else
        fprintf(c->out, "Leak of %" PRIu64 " %s in %" PRIu64 " %s (",
                f->bytes, plural(f->bytes, "byte", "bytes"), f->blocks,
                plural(f->blocks, "block", "blocks"));
    switch (f->cls) {
    case RS_CLASS_INDIRECT:
        if (print_charge(c, f->charged_to) < 0)
            return -1;
        break;
    case RS_CLASS_CYCLE:
        fputs("reference cycle", c->out);
        if (f->cycle_group != RS_FINDING_NONE)
            fprintf(c->out, " %" PRIu32, f->cycle_group);
        break;
    case RS_CLASS_LEAKED_REF:
        fputs("leaked reference", c->out);
        break;
    default:
        fputs(rs_class_name(f->cls), c->out);
    }
    if (type)
        fprintf(c->out, ", type %s", type);
    fputs("), allocated at:\n", c->out);

    int n = stack_frames(c, f->stack_id);
    if (n < 0)
        return -1;
    if (n == 0)
        fputs("    <no stack recorded>\n", c->out);
    for (int i = 0; i < n; i++)
        print_frame(c, (uint32_t)i, &c->frames[i]);
    fputc('\n', c->out);
    return 0;
}

/* "leaked: 96 bytes in 2 blocks" when the class is not empty; *first
 * says whether a separator is due. */
static void print_part(const text_ctx_t *c, const char *what,
                       const rs_tally_t *t, int *first)
{
    if (t->blocks == 0)
        return;
    fprintf(c->out, "%s%s: %" PRIu64 " %s in %" PRIu64 " %s",
            *first ? " (" : ", ", what, t->bytes,
            plural(t->bytes, "byte", "bytes"), t->blocks,
            plural(t->blocks, "block", "blocks"));
    *first = 0;
}

static void print_summary(const text_ctx_t *c)
{
    const rs_summary_t *s = &c->snap->summary;
    const rs_tally_t *k = s->by_class;
    rs_tally_t total = rs_report_leak_total(c->snap);
    int first = 1;

    fputs("SUMMARY: refscope: ", c->out);
    if (total.blocks == 0) {
        fputs("no leaks", c->out);
    } else {
        fprintf(c->out, "%" PRIu64 " %s leaked in %" PRIu64 " %s",
                total.bytes, plural(total.bytes, "byte", "bytes"),
                total.blocks, plural(total.blocks, "block", "blocks"));
        print_part(c, "leaked", &k[RS_CLASS_LEAKED], &first);
        print_part(c, "indirect", &k[RS_CLASS_INDIRECT], &first);
        print_part(c, "cycles", &k[RS_CLASS_CYCLE], &first);
        if (k[RS_CLASS_CYCLE].blocks)
            fprintf(c->out, " in %" PRIu32 " %s", s->cycle_groups,
                    plural(s->cycle_groups, "group", "groups"));
        print_part(c, "leaked references", &k[RS_CLASS_LEAKED_REF], &first);
        if (k[RS_CLASS_LEAKED_REF].blocks)
            fprintf(c->out, " holding %" PRIu64 " %s", s->leaked_refs,
                    plural(s->leaked_refs, "reference", "references"));
        if (!first)
            fputc(')', c->out);
    }
    fprintf(c->out, "; %" PRIu64 " %s reachable in %" PRIu64 " %s; %"
            PRIu32 " refcount %s\n",
            k[RS_CLASS_REACHABLE].bytes,
            plural(k[RS_CLASS_REACHABLE].bytes, "byte", "bytes"),
            k[RS_CLASS_REACHABLE].blocks,
            plural(k[RS_CLASS_REACHABLE].blocks, "block", "blocks"),
            s->rc_errors, plural(s->rc_errors, "error", "errors"));
}

int rs_report_text(FILE *out, const rs_snapshot_t *snap,
                   rs_symbolizer_t *sym, const rs_report_options_t *opt)
{
    static const rs_report_options_t defaults;
    rs_findings_t findings;
    text_ctx_t *c = calloc(1, sizeof *c);
    int rc = -1;

    if (!opt)
        opt = &defaults;
    rs_findings_options_t fopt = { .show_reachable = opt->show_reachable,
                                   .limit = opt->limit };
    if (!c || rs_findings_build(snap, &fopt, &findings) < 0) {
        free(c);
        return -1;
    }
    *c = (text_ctx_t){ .out = out, .snap = snap, .sym = sym, .opt = opt,
                       .findings = &findings };
    if (getcwd(c->cwd, sizeof c->cwd))
        c->cwd_len = strlen(c->cwd);
    if (c->cwd_len == 1) /* "/": paths stay absolute */
        c->cwd_len = 0;

    print_header(c);
    fputc('\n', out);
    for (uint32_t i = 0; i < findings.n; i++)
        if (print_finding(c, &findings.items[i]) < 0)
            goto out;
    if (findings.n_cut)
        fprintf(out, "... %" PRIu32 " more %s (%" PRIu64 " %s in %" PRIu64
                " %s) not shown (--limit)\n\n", findings.n_cut,
                plural(findings.n_cut, "finding", "findings"),
                findings.cut.bytes, plural(findings.cut.bytes, "byte", "bytes"),
                findings.cut.blocks,
                plural(findings.cut.blocks, "block", "blocks"));
    print_summary(c);
    rc = ferror(out) ? -1 : 0;
out:
    rs_findings_free(&findings);
    free(c);
    return rc;
}
