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
 * Refcounted objects get their own paragraphs:
 *
 *   Cycle of 2 Node objects (96 bytes), 1 group:
 *     Node@0x55d0c0a1b2a0 size 48 refcount 1, allocated at:
 *       #0 0x... in node_new samples/cycle.c:20 (cycle2)
 *     ...
 *     Node@0x55d0c0a1b2a0 +24 (next) → Node@0x55d0c0a1b2d0 +24 (next) → (back)
 *     reference Node@0x55d0c0a1b2a0 +24 → Node@0x55d0c0a1b2d0 taken at:
 *       #0 0x... in link samples/cycle.c:31 (cycle2)
 *
 *   Leaked reference: Node@0x... refcount 2, 1 pointer found, allocated at:
 *       #0 ...
 *     1 reference taken in borrow_wrong (samples/ref.c:42) was never released:
 *       #0 ...
 *   ("taken in" names the first frame that is not an incref function,
 *   i.e. not named *ref, *ref_sink, *reference, *retain or *incref.)
 *
 *   Refcount error (underflow): decref of Node@0x... brought the count to
 *   -1 at:
 *       #0 ...
 *     previous final decref at:
 *       #0 ...
 *
 * The loop of a cycle is the shortest cycle through its first member
 * (breadth-first over the edges between members); edges outside that
 * loop are listed after it with "also:".
 *
 * Source paths under the current directory are shown relative to it;
 * frames without a source line show "(module+0xoffset)" instead.
 */
#include "report.h"

#include "findings.h"
#include "text_clean.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef struct text_ctx {
    FILE                      *out;
    const rs_snapshot_t       *snap;
    rs_symbolizer_t           *sym;
    const rs_report_options_t *opt;
    const rs_findings_t       *findings;
    const rs_report_hooks_t   *hooks;
    rs_report_cwd_t            cwd;
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

void rs_report_progress(const rs_report_options_t *opt, uint32_t i, uint32_t total)
{
    if (opt && opt->progress)
        opt->progress(opt->progress_ctx, i + 1, total);
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

void rs_report_cwd_init(rs_report_cwd_t *c)
{
    c->len = getcwd(c->dir, sizeof c->dir) ? strlen(c->dir) : 0;
    if (c->len == 1) /* "/": paths stay absolute */
        c->len = 0;
}

const char *rs_report_cwd_path(const rs_report_cwd_t *c, const char *path)
{
    if (c->len && strncmp(path, c->dir, c->len) == 0 && path[c->len] == '/')
        return path + c->len + 1;
    return path;
}

/* A source path as shown: relative when under the current directory. */
static const char *shown_path(const text_ctx_t *c, const char *path)
{
    return rs_report_cwd_path(&c->cwd, path);
}

/* Prints an argument, quoted for a POSIX shell when it needs it. */
static void print_arg(FILE *out, const char *arg)
{
    if (*arg && strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                       "0123456789-_./=:,+@%") == strlen(arg)) {
        fputs(arg, out);
        return;
    }
    char buf[RS_TEXT_CLEAN_BUF];
    fputc('\'', out);
    for (const char *p = rs_text_clean(arg, buf, sizeof buf); *p; p++) {
        if (*p == '\'')
            fputs("'\\''", out);
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
    char buf[RS_TEXT_CLEAN_BUF];
    const char *label = p->label ? rs_text_clean(p->label, buf, sizeof buf) : "";
    if (p->reason == 1)
        fprintf(c->out, " snapshot '%s' #%" PRIu32, label, p->seq);
    else if (p->reason == 2)
        fprintf(c->out, " check '%s' #%" PRIu32, label, p->seq);
    else if (p->has_exit_status)
        fprintf(c->out, " exited with status %" PRId32, p->exit_status);
    else if (strncmp(label, "SIG", 3) == 0)   /* a fatal signal's name */
        fprintf(c->out, " killed by %s", label);
    else
        fputs(" exited", c->out);
    fputc('\n', c->out);
}

static void print_frame(const text_ctx_t *c, int indent, uint32_t no,
                        const rs_frame_t *f)
{
    char fn[RS_TEXT_CLEAN_BUF], file[RS_TEXT_CLEAN_BUF], mod[RS_TEXT_CLEAN_BUF];
    const char *name = f->function ? rs_text_clean(f->function, fn, sizeof fn) : "??";
    if (f->python) {
        fprintf(c->out, "%*s#%" PRIu32 " [py] in %s", indent, "", no, name);
        if (f->file)
            fprintf(c->out, " %s:%" PRIu32, rs_text_clean(shown_path(c, f->file), file,
                                                         sizeof file), f->line);
        fputs(" (python)\n", c->out);
        return;
    }
    fprintf(c->out, "%*s#%" PRIu32 " 0x%" PRIx64 " in %s", indent, "", no, f->address, name);
    if (f->file) {
        fprintf(c->out, " %s", rs_text_clean(shown_path(c, f->file), file, sizeof file));
        if (f->line)
            fprintf(c->out, ":%" PRIu32, f->line);
        if (f->module)
            fprintf(c->out, " (%s)", rs_text_clean(base_name(f->module), mod, sizeof mod));
    } else if (f->module) {
        fprintf(c->out, " (%s+0x%" PRIx64 ")", rs_text_clean(f->module, mod, sizeof mod),
                f->module_offset);
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

/* "make_list samples/leak.c:20": the summary frame (symbolize.h) of the
 * finding `target` charges go to, written to out.  Returns -1 when memory is exhausted. */
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
    const rs_frame_t *f = rs_symbolize_summary_frame(c->frames, n);
    char name[512], clean[RS_TEXT_CLEAN_BUF];
    fprintf(c->out, "allocated in %s",
            rs_text_clean(rs_symbolize_frame_name(f, name, sizeof name), clean, sizeof clean));
    if (f->file && f->line)
        fprintf(c->out, " at %s:%" PRIu32,
                rs_text_clean(shown_path(c, f->file), clean, sizeof clean), f->line);
    return 0;
}

/* The name of type_id as printed (text_clean.h), in buf when escaped;
 * NULL when unknown. */
static const char *type_name(const rs_snapshot_t *snap, uint32_t type_id, char *buf)
{
    return rs_text_clean(rs_findings_type_name(snap, type_id), buf, RS_TEXT_CLEAN_BUF);
}

/* Frames below main (the C library's start-up code) say nothing to a
 * person hunting a leak; the text report stops at main.  JSON keeps them. */
static int below_main(const rs_frame_t *frames, int n)
{
    for (int i = 0; i + 1 < n; i++)
        if (frames[i].function && strcmp(frames[i].function, "main") == 0)
            return i + 1;
    return n;
}

/* Prints the frames of stack_id at indent, or a placeholder; -1 when
 * memory is exhausted. */
static int print_stack(text_ctx_t *c, int indent, uint32_t stack_id)
{
    int n = stack_frames(c, stack_id);
    if (n < 0)
        return -1;
    n = below_main(c->frames, n);
    if (c->hooks && c->hooks->stack)
        return c->hooks->stack(c->hooks->ctx, c->frames, n) ? -1 : 0;
    if (n == 0)
        fprintf(c->out, "%*s<no stack recorded>\n", indent, "");
    for (int i = 0; i < n; i++)
        print_frame(c, indent, (uint32_t)i, &c->frames[i]);
    return 0;
}

static int print_block_finding(text_ctx_t *c, const rs_finding_t *f)
{
    char buf[RS_TEXT_CLEAN_BUF];
    const char *type = type_name(c->snap, f->type_id, buf);
    if (f->cls == RS_CLASS_REACHABLE)
        fprintf(c->out, "Reachable: %" PRIu64 " %s in %" PRIu64 " %s (",
                f->bytes, plural(f->bytes, "byte", "bytes"), f->blocks,
                plural(f->blocks, "block", "blocks"));
    else
        fprintf(c->out, "Leak of %" PRIu64 " %s in %" PRIu64 " %s (",
                f->bytes, plural(f->bytes, "byte", "bytes"), f->blocks,
                plural(f->blocks, "block", "blocks"));
    if (f->cls == RS_CLASS_INDIRECT) {
        if (print_charge(c, f->charged_to) < 0)
            return -1;
    } else {
        fputs(rs_class_name(f->cls), c->out);
    }
    if (type)
        fprintf(c->out, ", type %s", type);
    fputs("), allocated at:\n", c->out);
    if (print_stack(c, 4, f->stack_id) < 0)
        return -1;
    fputc('\n', c->out);
    return 0;
}

/* "Node@0x1234", or "<untyped>@0x1234" when the type is unknown
 * ("block" for heap blocks, "object" for refcount error targets). */
static void print_named(const text_ctx_t *c, uint32_t type_id, uint64_t addr,
                        const char *untyped)
{
    char buf[RS_TEXT_CLEAN_BUF];
    const char *type = type_name(c->snap, type_id, buf);
    fprintf(c->out, "%s@0x%" PRIx64, type ? type : untyped, addr);
}

static void print_object(const text_ctx_t *c, uint32_t type_id, uint64_t addr)
{
    print_named(c, type_id, addr, "block");
}

static const rs_node_t *member(const text_ctx_t *c, const rs_finding_t *f,
                               uint32_t m)
{
    return &c->snap->heap.nodes[f->members[m]];
}

/* "Node@0x10 +24 (next)": the source end of a cycle edge. */
static void print_edge_source(text_ctx_t *c, const rs_finding_t *f,
                              const rs_finding_edge_t *e)
{
    const rs_node_t *src = member(c, f, e->from);
    print_object(c, src->type_id, src->addr);
    fprintf(c->out, " +%" PRIu32, e->offset);
    const char *field = rs_symbolize_node_field(c->sym, c->snap, src,
                                                rs_findings_type_name(c->snap, src->type_id),
                                                e->offset);
    char buf[RS_TEXT_CLEAN_BUF];
    if (field)
        fprintf(c->out, " (%s)", rs_text_clean(field, buf, sizeof buf));
}

/* "Cycle of 2 Node objects (96 bytes), 1 group:" */
static void print_cycle_header(text_ctx_t *c, const rs_finding_t *f)
{
    uint64_t bytes = 0;
    uint32_t type = f->n_members ? member(c, f, 0)->type_id : 0;
    for (uint32_t m = 0; m < f->n_members; m++) {
        bytes += member(c, f, m)->size;
        if (member(c, f, m)->type_id != type)
            type = 0;
    }
    char buf[RS_TEXT_CLEAN_BUF];
    const char *tn = type_name(c->snap, type, buf);
    fprintf(c->out, "Cycle of %" PRIu32 " %s%s%s (%" PRIu64 " %s), %" PRIu32
            " %s", f->n_members_total, tn ? tn : "", tn ? " " : "",
            plural(f->n_members_total, "object", "objects"), bytes,
            plural(bytes, "byte", "bytes"), f->groups,
            plural(f->groups, "group", "groups"));
    if (f->groups > 1)
        fprintf(c->out, " (%" PRIu64 " bytes in %" PRIu64 " blocks in all)",
                f->bytes, f->blocks);
    fputs(":\n", c->out);
    if (f->n_members < f->n_members_total)
        fprintf(c->out, "  (first %" PRIu32 " members shown)\n", f->n_members);
}

/* The shortest loop through member 0, as edge indices into *loop (with
 * n_members + 1 entries of room); returns its length, 0 if none, -1 when
 * memory is exhausted.  Breadth-first: prev[m] is the edge that reached
 * member m first. */
static int find_loop(const rs_finding_t *f, uint32_t *loop)
{
    uint32_t *prev = malloc((f->n_members ? f->n_members : 1) * sizeof *prev);
    uint32_t *queue = malloc((f->n_members ? f->n_members : 1) * sizeof *queue);
    int len = -1;
    if (!prev || !queue)
        goto out;
    len = 0;
    for (uint32_t m = 0; m < f->n_members; m++)
        prev[m] = UINT32_MAX;
    uint32_t head = 0, tail = 0, closing = UINT32_MAX;
    queue[tail++] = 0;
    while (head < tail && closing == UINT32_MAX) {
        uint32_t m = queue[head++];
        for (uint32_t e = 0; e < f->n_edges; e++) {
            const rs_finding_edge_t *ed = &f->edges[e];
            if (ed->from != m)
                continue;
            if (ed->to == 0) {
                closing = e;
                break;
            }
            if (prev[ed->to] == UINT32_MAX) {
                prev[ed->to] = e;
                queue[tail++] = ed->to;
            }
        }
    }
    if (closing == UINT32_MAX)
        goto out;
    /* walk back from the closing edge, then reverse */
    for (uint32_t e = closing;; e = prev[f->edges[e].from]) {
        loop[len++] = e;
        if (f->edges[e].from == 0)
            break;
    }
    for (int i = 0, k = len - 1; i < k; i++, k--) {
        uint32_t t = loop[i];
        loop[i] = loop[k];
        loop[k] = t;
    }
out:
    free(prev);
    free(queue);
    return len;
}

/* " (object 2 of 3 in a 104-byte block at 0x...)" for an object of a
 * block split into objects; nothing for a whole block. */
static void print_block_note(text_ctx_t *c, uint32_t node)
{
    rs_finding_block_t b;
    if (rs_findings_block_of(c->snap, node, &b))
        fprintf(c->out, " (object %" PRIu32 " of %" PRIu32 " in a %" PRIu64
                "-byte block at 0x%" PRIx64 ")", b.object, b.objects, b.size, b.addr);
}

static int print_cycle_members(text_ctx_t *c, const rs_finding_t *f)
{
    for (uint32_t m = 0; m < f->n_members; m++) {
        const rs_node_t *n = member(c, f, m);
        fputs("  ", c->out);
        print_object(c, n->type_id, n->addr);
        fprintf(c->out, " size %" PRIu64, n->size);
        print_block_note(c, f->members[m]);
        if (n->flags & RS_NODE_REFCOUNTED)
            fprintf(c->out, " refcount %" PRId64, n->refcount);
        fputs(", allocated at:\n", c->out);
        if (print_stack(c, 6, n->stack_id) < 0)
            return -1;
    }
    return 0;
}

/* The loop line, the other edges, and the increfs of every edge. */
static int print_cycle_edges(text_ctx_t *c, const rs_finding_t *f)
{
    uint32_t *loop = malloc((f->n_edges + 1) * sizeof *loop);
    uint8_t *in_loop = calloc(f->n_edges + 1, 1);
    int len = loop && in_loop ? find_loop(f, loop) : -1;
    int rc = -1;
    if (len < 0)
        goto out;
    if (len > 0) {
        fputs("  ", c->out);
        for (int i = 0; i < len; i++) {
            in_loop[loop[i]] = 1;
            print_edge_source(c, f, &f->edges[loop[i]]);
            fputs(" \u2192 ", c->out);
        }
        fputs("(back)\n", c->out);
    }
    for (uint32_t e = 0; e < f->n_edges; e++) {
        if (in_loop[e])
            continue;
        const rs_node_t *dst = member(c, f, f->edges[e].to);
        fputs("  also: ", c->out);
        print_edge_source(c, f, &f->edges[e]);
        fputs(" \u2192 ", c->out);
        print_object(c, dst->type_id, dst->addr);
        fputc('\n', c->out);
    }
    for (uint32_t e = 0; e < f->n_edges; e++) {
        const rs_finding_edge_t *ed = &f->edges[e];
        if (!ed->incref_stack)
            continue;
        const rs_node_t *dst = member(c, f, ed->to);
        fputs("  reference ", c->out);
        print_edge_source(c, f, ed);
        fputs(" \u2192 ", c->out);
        print_object(c, dst->type_id, dst->addr);
        fputs(" taken at:\n", c->out);
        if (print_stack(c, 6, ed->incref_stack) < 0)
            goto out;
    }
    rc = 0;
out:
    free(loop);
    free(in_loop);
    return rc;
}

static int print_cycle(text_ctx_t *c, const rs_finding_t *f)
{
    print_cycle_header(c, f);
    if (print_cycle_members(c, f) < 0 || print_cycle_edges(c, f) < 0)
        return -1;
    fputc('\n', c->out);
    return 0;
}

/* Non-zero if name looks like an incref function (widget_ref,
 * g_object_ref_sink, cairo_surface_reference, X509_up_ref, CFRetain):
 * the frame that took the reference is its caller. */
static int is_ref_function(const char *name)
{
    static const char *const suffixes[] = { "ref", "ref_sink", "reference",
                                             "retain", "incref" };
    size_t len = name ? strlen(name) : 0;
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t k = strlen(suffixes[i]);
        if (len >= k && strcasecmp(name + len - k, suffixes[i]) == 0)
            return 1;
    }
    return 0;
}

/* "1 reference taken in borrow_wrong (file.c:42) was never released:",
 * naming the first frame that is not an incref function itself; a maybe
 * entry ends "may be one:" instead. */
static int print_unbalanced(text_ctx_t *c, const rs_finding_unbalanced_t *u)
{
    int n = stack_frames(c, u->stack_id);
    if (n < 0)
        return -1;
    fprintf(c->out, "  %" PRIu64 " %s taken", u->count,
            plural(u->count, "reference", "references"));
    if (n > 0) {
        int k = 0;
        while (k + 1 < n && is_ref_function(c->frames[k].function))
            k++;
        const rs_frame_t *fr = &c->frames[k];
        char buf[RS_TEXT_CLEAN_BUF];
        fprintf(c->out, " in %s", fr->function ? rs_text_clean(fr->function, buf, sizeof buf)
                                               : "??");
        if (fr->file && fr->line)
            fprintf(c->out, " (%s:%" PRIu32 ")",
                    rs_text_clean(shown_path(c, fr->file), buf, sizeof buf), fr->line);
    }
    if (u->maybe)
        fprintf(c->out, " %s:\n", u->count == 1 ? "may be it" : "may be among them");
    else
        fprintf(c->out, " %s never released:\n", u->count == 1 ? "was" : "were");
    return print_stack(c, 6, u->stack_id);
}

static int print_leaked_ref(text_ctx_t *c, const rs_finding_t *f)
{
    const rs_node_t *n = &c->snap->heap.nodes[f->first_node];
    fputs("Leaked reference: ", c->out);
    print_object(c, n->type_id, n->addr);
    print_block_note(c, f->first_node);
    fprintf(c->out, " refcount %" PRId64 ", %" PRIu32 " %s found", f->refcount,
            f->pointers, plural(f->pointers, "pointer", "pointers"));
    if (f->blocks > 1)
        fprintf(c->out, " (%" PRIu64 " objects, %" PRIu64 " bytes, %" PRIu64
                " unexplained references)", f->blocks, f->bytes, f->refs);
    fputs(", allocated at:\n", c->out);
    if (print_stack(c, 4, f->stack_id) < 0)
        return -1;
    if (f->n_unbalanced == 0)
        fputs("  no reference history: the increfs never released are "
              "unknown\n", c->out);
    uint32_t u = 0;
    for (; u < f->n_unbalanced && !f->unbalanced[u].maybe; u++)
        if (print_unbalanced(c, &f->unbalanced[u]) < 0)
            return -1;
    if (f->unbalanced_cut)
        fprintf(c->out, "  ... %" PRIu64 " more at other stacks\n",
                f->unbalanced_cut);
    if (u < f->n_unbalanced)
        fputs("  uncertain: a release on another thread was paired by guess; "
              "the reference never released may instead be one of these:\n",
              c->out);
    for (; u < f->n_unbalanced; u++)
        if (print_unbalanced(c, &f->unbalanced[u]) < 0)
            return -1;
    fputc('\n', c->out);
    return 0;
}

static int print_finding(text_ctx_t *c, const rs_finding_t *f)
{
    if (f->cls == RS_CLASS_CYCLE)
        return print_cycle(c, f);
    if (f->cls == RS_CLASS_LEAKED_REF)
        return print_leaked_ref(c, f);
    return print_block_finding(c, f);
}

/* What happened, per kind, and what the other stack is. */
static void print_rc_what(text_ctx_t *c, const rs_rc_finding_t *e)
{
    switch (e->kind) {
    case RS_RC_UNDERFLOW:
        fputs("decref of ", c->out);
        print_named(c, e->type_id, e->addr, "object");
        fprintf(c->out, " brought the count to %" PRId64, e->count);
        break;
    case RS_RC_DECREF_UNKNOWN:
        fputs("decref of ", c->out);
        print_named(c, e->type_id, e->addr, "object");
        fputs(", which is freed or was never tracked,", c->out);
        break;
    case RS_RC_FREE_REFERENCED:
        fputs("free() of ", c->out);
        print_named(c, e->type_id, e->addr, "object");
        fprintf(c->out, " while its count was %" PRId64, e->count);
        break;
    case RS_RC_INCREF_AFTER_FINAL:
        fputs("use of ", c->out);
        print_named(c, e->type_id, e->addr, "object");
        fputs(" after its final decref", c->out);
        break;
    default:
        fputs("event on ", c->out);
        print_named(c, e->type_id, e->addr, "object");
    }
}

static const char *rc_other_label(rs_rc_error_kind_t k)
{
    switch (k) {
    case RS_RC_UNDERFLOW:          return "previous final decref at:";
    case RS_RC_DECREF_UNKNOWN:     return "freed at:";
    case RS_RC_INCREF_AFTER_FINAL: return "final decref at:";
    default:                       return "earlier event at:";
    }
}

static int print_rc_error(text_ctx_t *c, const rs_rc_finding_t *e)
{
    const char *kind = rs_rc_error_name(e->kind);
    fprintf(c->out, "Refcount error (%s): ", kind ? kind : "unknown");
    print_rc_what(c, e);
    if (e->occurrences > 1)
        fprintf(c->out, " (%" PRIu64 " times)", e->occurrences);
    fputs(" at:\n", c->out);
    if (print_stack(c, 4, e->stack_id) < 0)
        return -1;
    if (e->other_stack_id) {
        fprintf(c->out, "  %s\n", rc_other_label(e->kind));
        if (print_stack(c, 6, e->other_stack_id) < 0)
            return -1;
    }
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

/* Tells the hooks what comes next; -1 when they ask to stop. */
static int tell_hooks(const text_ctx_t *c, rs_report_part_t p, const rs_finding_t *f,
                const rs_rc_finding_t *e)
{
    if (!c->hooks || !c->hooks->part)
        return 0;
    fflush(c->out);
    return c->hooks->part(c->hooks->ctx, p, f, e) ? -1 : 0;
}

int rs_report_text(FILE *out, const rs_snapshot_t *snap,
                   rs_symbolizer_t *sym, const rs_report_options_t *opt)
{
    return rs_report_text_hooked(out, snap, sym, opt, NULL);
}

int rs_report_text_hooked(FILE *out, const rs_snapshot_t *snap,
                          rs_symbolizer_t *sym, const rs_report_options_t *opt,
                          const rs_report_hooks_t *hooks)
{
    static const rs_report_options_t defaults;
    rs_findings_t findings;
    text_ctx_t *c = calloc(1, sizeof *c);
    int rc = -1;

    if (!opt)
        opt = &defaults;
    rs_findings_options_t fopt = { .show_reachable = opt->show_reachable,
                                   .limit = opt->limit, .focus = opt->focus };
    if (!c || rs_findings_build(snap, &fopt, &findings) < 0) {
        free(c);
        return -1;
    }
    *c = (text_ctx_t){ .out = out, .snap = snap, .sym = sym, .opt = opt,
                       .findings = &findings, .hooks = hooks };
    rs_report_cwd_init(&c->cwd);

    if (tell_hooks(c, RS_REPORT_PART_HEADER, NULL, NULL) < 0)
        goto out;
    print_header(c);
    fputc('\n', out);
    uint32_t total = findings.n + findings.n_errors;
    for (uint32_t i = 0; i < findings.n; i++) {
        rs_report_progress(opt, i, total);
        if (tell_hooks(c, RS_REPORT_PART_FINDING, &findings.items[i], NULL) < 0 ||
            print_finding(c, &findings.items[i]) < 0)
            goto out;
    }
    for (uint32_t i = 0; i < findings.n_errors; i++) {
        rs_report_progress(opt, findings.n + i, total);
        if (tell_hooks(c, RS_REPORT_PART_RC_ERROR, NULL, &findings.errors[i]) < 0 ||
            print_rc_error(c, &findings.errors[i]) < 0)
            goto out;
    }
    if ((findings.n_errors_cut || findings.n_cut) &&
        tell_hooks(c, RS_REPORT_PART_CUT, NULL, NULL) < 0)
        goto out;
    if (findings.n_errors_cut)
        fprintf(out, "... %" PRIu32 " more refcount error %s not shown "
                "(--limit)\n\n", findings.n_errors_cut,
                plural(findings.n_errors_cut, "finding", "findings"));
    if (findings.n_cut)
        fprintf(out, "... %" PRIu32 " more %s (%" PRIu64 " %s in %" PRIu64
                " %s) not shown (--limit)\n\n", findings.n_cut,
                plural(findings.n_cut, "finding", "findings"),
                findings.cut.bytes, plural(findings.cut.bytes, "byte", "bytes"),
                findings.cut.blocks,
                plural(findings.cut.blocks, "block", "blocks"));
    if (findings.hidden.blocks)
        fprintf(out, "... %" PRIu64 " %s in %" PRIu64 " %s leaked by the "
                "interpreter and its libraries, not by an extension module, "
                "not shown (--all)\n\n", findings.hidden.bytes,
                plural(findings.hidden.bytes, "byte", "bytes"), findings.hidden.blocks,
                plural(findings.hidden.blocks, "block", "blocks"));
    if (tell_hooks(c, RS_REPORT_PART_SUMMARY, NULL, NULL) < 0)
        goto out;
    print_summary(c);
    if (tell_hooks(c, RS_REPORT_PART_END, NULL, NULL) < 0)
        goto out;
    rc = ferror(out) ? -1 : 0;
out:
    rs_findings_free(&findings);
    free(c);
    return rc;
}
