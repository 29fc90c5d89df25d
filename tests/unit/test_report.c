/*
 * test_report.c - unit tests of lib/report_json and lib/report_text on a
 * hand-built snapshot whose stacks point into this test binary.  The JSON
 * is parsed back with a tiny strict parser (below) and checked field by
 * field against the contract in report.h; the text is checked for the
 * lines people read.  A last test writes the snapshot with the snapshot
 * writer, reads it back and expects the very same JSON.  A second
 * snapshot holds refcounted objects (two 2-cycles of the same shape, a
 * leaked reference with history, repeated refcount errors) and checks the
 * cycle / leaked_ref / rc_error findings in both forms, with the field
 * name of the cycle's pointer read from this binary's DWARF.  The text
 * renderer's hooks (the HTML report's way in) are checked on the first
 * snapshot, and so is the HTML page's source line under a real frame.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <link.h>
#include <unistd.h>

#include "html_writer.h"
#include "report.h"
#include "report_html.h"

/* ---- a tiny JSON parser --------------------------------------------------- */

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype_t;

typedef struct jval {
    jtype_t       type;
    char         *str;      /* J_STR: decoded UTF-8; J_NUM: the literal */
    size_t        n;        /* J_ARR/J_OBJ: members                      */
    char        **keys;     /* J_OBJ                                     */
    struct jval **items;
    int           boolean;
} jval_t;

typedef struct jparser {
    const char *p;
} jparser_t;

static jval_t *jparse_value(jparser_t *ps);

static void jskip(jparser_t *ps)
{
    while (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\t' || *ps->p == '\r')
        ps->p++;
}

static jval_t *jnew(jtype_t t)
{
    jval_t *v = calloc(1, sizeof *v);
    v->type = t;
    return v;
}

static void jappend_utf8(char *out, size_t *len, unsigned cp)
{
    if (cp < 0x80) {
        out[(*len)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*len)++] = (char)(0xC0 | cp >> 6);
        out[(*len)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*len)++] = (char)(0xE0 | cp >> 12);
        out[(*len)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*len)++] = (char)(0x80 | (cp & 0x3F));
    }
}

static char *jparse_string(jparser_t *ps)
{
    assert_int_equal(*ps->p, '"');
    ps->p++;
    char *out = malloc(strlen(ps->p) + 1);
    size_t len = 0;
    while (*ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        assert_true(c >= 0x20); /* raw control characters are invalid */
        if (c != '\\') {
            out[len++] = (char)c;
            ps->p++;
            continue;
        }
        ps->p++;
        switch (*ps->p++) {
        case '"': out[len++] = '"'; break;
        case '\\': out[len++] = '\\'; break;
        case '/': out[len++] = '/'; break;
        case 'b': out[len++] = '\b'; break;
        case 'f': out[len++] = '\f'; break;
        case 'n': out[len++] = '\n'; break;
        case 'r': out[len++] = '\r'; break;
        case 't': out[len++] = '\t'; break;
        case 'u': {
            char hex[5] = { 0 };
            memcpy(hex, ps->p, 4);
            ps->p += 4;
            jappend_utf8(out, &len, (unsigned)strtoul(hex, NULL, 16));
            break;
        }
        default:
            fail_msg("bad escape");
        }
    }
    ps->p++;
    out[len] = 0;
    return out;
}

static void jadd(jval_t *v, char *key, jval_t *item)
{
    v->items = realloc(v->items, (v->n + 1) * sizeof *v->items);
    v->keys = realloc(v->keys, (v->n + 1) * sizeof *v->keys);
    v->items[v->n] = item;
    v->keys[v->n] = key;
    v->n++;
}

static jval_t *jparse_container(jparser_t *ps, int object)
{
    jval_t *v = jnew(object ? J_OBJ : J_ARR);
    char close = object ? '}' : ']';
    ps->p++;
    jskip(ps);
    if (*ps->p == close) {
        ps->p++;
        return v;
    }
    for (;;) {
        char *key = NULL;
        jskip(ps);
        if (object) {
            key = jparse_string(ps);
            jskip(ps);
            assert_int_equal(*ps->p, ':');
            ps->p++;
        }
        jadd(v, key, jparse_value(ps));
        jskip(ps);
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        assert_int_equal(*ps->p, close);
        ps->p++;
        return v;
    }
}

static jval_t *jparse_value(jparser_t *ps)
{
    jskip(ps);
    char c = *ps->p;
    if (c == '{' || c == '[')
        return jparse_container(ps, c == '{');
    if (c == '"') {
        jval_t *v = jnew(J_STR);
        v->str = jparse_string(ps);
        return v;
    }
    if (strncmp(ps->p, "null", 4) == 0) {
        ps->p += 4;
        return jnew(J_NULL);
    }
    if (strncmp(ps->p, "true", 4) == 0 || strncmp(ps->p, "false", 5) == 0) {
        jval_t *v = jnew(J_BOOL);
        v->boolean = c == 't';
        ps->p += v->boolean ? 4 : 5;
        return v;
    }
    size_t n = strspn(ps->p, "-0123456789");
    assert_true(n > 0);
    jval_t *v = jnew(J_NUM);
    v->str = strndup(ps->p, n);
    ps->p += n;
    return v;
}

static jval_t *jparse(const char *text)
{
    jparser_t ps = { text };
    jval_t *v = jparse_value(&ps);
    jskip(&ps);
    assert_int_equal(*ps.p, 0); /* exactly one value */
    return v;
}

static void jfree(jval_t *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++) {
        jfree(v->items[i]);
        free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

/* Member `key` of object v; fails the test when absent. */
static jval_t *jget(const jval_t *v, const char *key)
{
    assert_int_equal(v->type, J_OBJ);
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->keys[i], key) == 0)
            return v->items[i];
    fail_msg("missing key %s", key);
    return NULL;
}

static jval_t *jat(const jval_t *v, size_t i)
{
    assert_int_equal(v->type, J_ARR);
    assert_true(i < v->n);
    return v->items[i];
}

static long long jnum(const jval_t *v)
{
    assert_int_equal(v->type, J_NUM);
    return strtoll(v->str, NULL, 10);
}

static const char *jstr(const jval_t *v)
{
    assert_int_equal(v->type, J_STR);
    return v->str;
}

static long long jpath_num(const jval_t *v, const char *a, const char *b)
{
    return jnum(jget(jget(v, a), b));
}

/* ---- the snapshot under test ------------------------------------------- */

static volatile int sink;

__attribute__((noinline)) void report_target_a(void) { sink++; }
__attribute__((noinline)) void report_target_b(void) { sink += 2; }

typedef struct fixture {
    rs_module_t   mods[2];
    rs_segment_t  segs[16];
    rs_segment_t  fake_seg;
    uint64_t      pcs1[3], pcs2[1], pcs3[1];
    rs_stack_t    stacks[3];
    rs_node_t     nodes[5];
    uint32_t      edge_start[6];
    char         *argv[2];
    char         *types[1];
    char          exe[4096];
    rs_snapshot_t snap;
} fixture_t;

static int main_module(struct dl_phdr_info *info, size_t size, void *data)
{
    fixture_t *fx = data;
    rs_module_t *m = &fx->mods[0];
    for (int i = 0; i < info->dlpi_phnum && m->n_segments < 16; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        rs_segment_t *s = &fx->segs[m->n_segments++];
        s->start = info->dlpi_addr + ph->p_vaddr;
        s->end = s->start + ph->p_memsz;
        s->flags = ph->p_flags;
    }
    m->load_bias = info->dlpi_addr;
    return 1; /* the executable comes first */
}

static uint64_t pc_of(void (*fn)(void))
{
    return (uint64_t)(uintptr_t)fn + 1; /* looked up as pc - 1 */
}

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    ssize_t len = readlink("/proc/self/exe", fx->exe, sizeof fx->exe - 1);
    if (len <= 0)
        return -1;
    fx->mods[0] = (rs_module_t){ .path = fx->exe, .segments = fx->segs,
                                 .unload_epoch = RS_EPOCH_LIVE };
    dl_iterate_phdr(main_module, fx);
    fx->fake_seg = (rs_segment_t){ 0x1000, 0x2000, 5 };
    fx->mods[1] = (rs_module_t){ .path = "/usr/lib/librefscope.so",
                                 .segments = &fx->fake_seg, .n_segments = 1,
                                 .unload_epoch = RS_EPOCH_LIVE };
    /* stack 1: refscope hook, report_target_a, report_target_b */
    fx->pcs1[0] = 0x1100;
    fx->pcs1[1] = pc_of(report_target_a);
    fx->pcs1[2] = pc_of(report_target_b);
    fx->pcs2[0] = pc_of(report_target_b);
    fx->pcs3[0] = 0x10; /* in no module */
    fx->stacks[0] = (rs_stack_t){ 0, 3, fx->pcs1 };
    fx->stacks[1] = (rs_stack_t){ 0, 1, fx->pcs2 };
    fx->stacks[2] = (rs_stack_t){ 0, 1, fx->pcs3 };
    /* nodes: two leaked (stack 1, type Node), one indirect charged to the
     * first (stack 2), one reachable (stack 3), one leaked without stack */
    rs_node_t *n = fx->nodes;
    n[0] = (rs_node_t){ .addr = 0x10000, .size = 32, .stack_id = 1,
                        .type_id = 1, .flags = RS_NODE_REFCOUNTED,
                        .cls = RS_CLASS_LEAKED, .owner = UINT32_MAX };
    n[1] = n[0];
    n[1].addr = 0x10100;
    n[2] = (rs_node_t){ .addr = 0x10200, .size = 16, .stack_id = 2,
                        .cls = RS_CLASS_INDIRECT, .owner = 0 };
    n[3] = (rs_node_t){ .addr = 0x10300, .size = 100, .stack_id = 3,
                        .cls = RS_CLASS_REACHABLE, .owner = UINT32_MAX };
    n[4] = (rs_node_t){ .addr = 0x10400, .size = 1, .stack_id = 0,
                        .cls = RS_CLASS_LEAKED, .owner = UINT32_MAX };
    fx->argv[0] = "./prog";
    fx->argv[1] = "a\"b\n\xff";
    fx->types[0] = "Node";
    rs_snapshot_t *s = &fx->snap;
    s->proc = (rs_proc_info_t){ .pid = 1234, .ppid = 77, .exit_status = 3,
                                .has_exit_status = 1, .exe = "/bin/prog",
                                .argv = fx->argv, .argc = 2, .label = "exit" };
    s->modules = fx->mods;
    s->n_modules = 2;
    s->stacks = fx->stacks;
    s->n_stacks = 3;
    s->types = fx->types;
    s->n_types = 1;
    s->heap.nodes = fx->nodes;
    s->heap.n_nodes = 5;
    s->heap.edge_start = fx->edge_start; /* no edges */
    rs_summary_count(&s->heap, &s->summary);
    s->summary.cycle_groups = 4;
    s->summary.leaked_refs = 5;
    s->summary.rc_errors = 6;
    *state = fx;
    return fx->mods[0].n_segments ? 0 : -1;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

/* Renders snap as JSON (compact or pretty) and parses it back. */
static jval_t *render_json(const rs_snapshot_t *snap,
                           const rs_report_options_t *opt, int indent,
                           char **text_out)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    rs_symbolizer_t *sym = rs_symbolizer_create(stderr);
    rs_json_t j;
    rs_json_init(&j, f, indent);
    assert_int_equal(rs_report_json(&j, snap, sym, opt), 0);
    assert_int_equal(rs_json_finish(&j), 0);
    fclose(f);
    rs_symbolizer_destroy(sym);
    jval_t *v = jparse(buf);
    if (text_out)
        *text_out = buf;
    else
        free(buf);
    return v;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void test_json_process_and_summary(void **state)
{
    fixture_t *fx = *state;
    rs_report_options_t opt = { .snapshot_path = "/tmp/p.1234.0.rsnap" };
    jval_t *v = render_json(&fx->snap, &opt, 2, NULL);
    jval_t *p = jget(v, "process");
    assert_int_equal(jnum(jget(p, "pid")), 1234);
    assert_int_equal(jnum(jget(p, "ppid")), 77);
    assert_string_equal(jstr(jget(p, "exe")), "/bin/prog");
    assert_int_equal(jget(p, "argv")->n, 2);
    assert_string_equal(jstr(jat(jget(p, "argv"), 0)), "./prog");
    /* the invalid byte became U+FFFD */
    assert_string_equal(jstr(jat(jget(p, "argv"), 1)), "a\"b\n\xef\xbf\xbd");
    assert_int_equal(jnum(jget(p, "exit_status")), 3);

    jval_t *s = jget(v, "summary");
    assert_int_equal(jpath_num(s, "leaked", "bytes"), 65);
    assert_int_equal(jpath_num(s, "leaked", "blocks"), 3);
    assert_int_equal(jpath_num(s, "indirect", "bytes"), 16);
    assert_int_equal(jpath_num(s, "indirect", "blocks"), 1);
    assert_int_equal(jpath_num(s, "reachable", "bytes"), 100);
    assert_int_equal(jpath_num(s, "cycles", "groups"), 4);
    assert_int_equal(jpath_num(s, "cycles", "objects"), 0);
    assert_int_equal(jpath_num(s, "cycles", "bytes"), 0);
    assert_int_equal(jpath_num(s, "cycles", "blocks"), 0);
    assert_int_equal(jpath_num(s, "leaked_refs", "blocks"), 0);
    assert_int_equal(jpath_num(s, "leaked_refs", "objects"), 0);
    assert_int_equal(jpath_num(s, "leaked_refs", "refs"), 5);
    assert_int_equal(jpath_num(s, "leaked_refs", "bytes"), 0);
    assert_int_equal(jnum(jget(s, "rc_errors")), 6);
    assert_string_equal(jstr(jget(v, "snapshot")), "/tmp/p.1234.0.rsnap");
    jfree(v);

    /* no exit status: null; no snapshot path: null */
    fx->snap.proc.has_exit_status = 0;
    v = render_json(&fx->snap, NULL, 0, NULL);
    assert_int_equal(jget(jget(v, "process"), "exit_status")->type, J_NULL);
    assert_int_equal(jget(v, "snapshot")->type, J_NULL);
    fx->snap.proc.has_exit_status = 1;
    jfree(v);
}

static void test_json_findings_and_stacks(void **state)
{
    fixture_t *fx = *state;
    jval_t *v = render_json(&fx->snap, NULL, 0, NULL);
    jval_t *fs = jget(v, "findings");
    assert_int_equal(fs->type, J_ARR);
    assert_int_equal(fs->n, 3); /* reachable not listed */

    jval_t *f0 = jat(fs, 0);
    assert_string_equal(jstr(jget(f0, "class")), "leaked");
    assert_int_equal(jnum(jget(f0, "bytes")), 64);
    assert_int_equal(jnum(jget(f0, "blocks")), 2);
    assert_string_equal(jstr(jget(f0, "type")), "Node");
    assert_int_equal(jget(f0, "charged_to")->type, J_NULL);
    jval_t *st = jget(f0, "stack");
    assert_int_equal(st->n, 2); /* the librefscope frame is hidden */
    jval_t *fr = jat(st, 0);
    assert_string_equal(jstr(jget(fr, "function")), "report_target_a");
    assert_string_equal(jstr(jget(fr, "symbol")), "report_target_a");   /* a C name */
    assert_true(ends_with(jstr(jget(fr, "file")), "test_report.c"));
    assert_true(jnum(jget(fr, "line")) > 0);
    assert_string_equal(jstr(jget(fr, "module")), fx->exe);
    char addr[32];
    snprintf(addr, sizeof addr, "0x%llx", (unsigned long long)fx->pcs1[1]);
    assert_string_equal(jstr(jget(fr, "address")), addr);
    assert_string_equal(jstr(jget(jat(st, 1), "function")), "report_target_b");

    jval_t *f1 = jat(fs, 1); /* the 1-byte leak without a stack */
    assert_string_equal(jstr(jget(f1, "class")), "leaked");
    assert_int_equal(jnum(jget(f1, "bytes")), 1);
    assert_int_equal(jget(f1, "stack")->n, 0);

    jval_t *f2 = jat(fs, 2); /* indirect blocks list after the leaks */
    assert_string_equal(jstr(jget(f2, "class")), "indirect");
    assert_int_equal(jnum(jget(f2, "charged_to")), 0);
    assert_int_equal(jget(f2, "type")->type, J_NULL);
    assert_int_equal(jpath_num(v, "findings_cut", "findings"), 0);
    jfree(v);
}

static void test_json_reachable_unknown_frame_and_limit(void **state)
{
    fixture_t *fx = *state;
    rs_report_options_t opt = { .show_reachable = 1, .limit = 4 };
    jval_t *v = render_json(&fx->snap, &opt, 0, NULL);
    jval_t *fs = jget(v, "findings");
    assert_int_equal(fs->n, 4);
    jval_t *f3 = jat(fs, 3); /* reachable blocks list last */
    assert_string_equal(jstr(jget(f3, "class")), "reachable");
    jval_t *fr = jat(jget(f3, "stack"), 0);
    assert_int_equal(jget(fr, "function")->type, J_NULL);
    assert_int_equal(jget(fr, "symbol")->type, J_NULL);
    assert_int_equal(jget(fr, "file")->type, J_NULL);
    assert_int_equal(jget(fr, "line")->type, J_NULL);
    assert_int_equal(jget(fr, "module")->type, J_NULL);
    assert_string_equal(jstr(jget(fr, "address")), "0x10");
    assert_int_equal(jpath_num(v, "findings_cut", "findings"), 0);
    jfree(v);

    opt.limit = 2; /* cuts the indirect and the reachable finding */
    v = render_json(&fx->snap, &opt, 0, NULL);
    assert_int_equal(jget(v, "findings")->n, 2);
    assert_int_equal(jpath_num(v, "findings_cut", "findings"), 2);
    assert_int_equal(jpath_num(v, "findings_cut", "bytes"), 116);
    assert_int_equal(jpath_num(v, "findings_cut", "blocks"), 2);
    jfree(v);
}

static char *render_text(const rs_snapshot_t *snap,
                         const rs_report_options_t *opt)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    rs_symbolizer_t *sym = rs_symbolizer_create(stderr);
    assert_int_equal(rs_report_text(f, snap, sym, opt), 0);
    fclose(f);
    rs_symbolizer_destroy(sym);
    return buf;
}

static void test_text_report(void **state)
{
    fixture_t *fx = *state;
    char *t = render_text(&fx->snap, NULL);
    assert_non_null(strstr(t, "refscope: process 1234 (./prog 'a\"b\\x0a\\xff') "
                              "exited with status 3\n"));
    assert_non_null(strstr(t, "Leak of 64 bytes in 2 blocks (leaked, type "
                              "Node), allocated at:\n    #0 0x"));
    assert_non_null(strstr(t, " in report_target_a "));
    assert_non_null(strstr(t, "test_report.c:"));
    assert_non_null(strstr(t, "\n    #1 0x"));
    assert_null(strstr(t, "librefscope"));
    assert_non_null(strstr(t, "Leak of 16 bytes in 1 block (indirect, charged "
                              "to the leak allocated in report_target_a at "));
    assert_non_null(strstr(t, "Leak of 1 byte in 1 block (leaked), allocated "
                              "at:\n    <no stack recorded>\n"));
    assert_null(strstr(t, "Reachable:"));
    assert_non_null(strstr(t, "SUMMARY: refscope: 81 bytes leaked in 4 blocks "
                              "(leaked: 65 bytes in 3 blocks, indirect: 16 "
                              "bytes in 1 block); 100 bytes reachable in 1 "
                              "block; 6 refcount errors\n"));
    free(t);

    rs_report_options_t opt = { .show_reachable = 1 };
    t = render_text(&fx->snap, &opt);
    assert_non_null(strstr(t, "Reachable: 100 bytes in 1 block (reachable), "
                              "allocated at:\n    #0 0x10 in ??\n"));
    free(t);
    opt.limit = 1;
    t = render_text(&fx->snap, &opt);
    assert_non_null(strstr(t, "... 3 more findings (117 bytes in 3 blocks) "
                              "not shown (--limit)\n"));
    free(t);
}

/* A leak allocated only in a library without symbols (a stripped
 * library's own thread): the indirect block it holds is charged to the
 * library's unnamed frame, shown as module+offset, not "??". */
static void test_text_charge_unnamed(void **state)
{
    fixture_t *fx = *state;
    rs_snapshot_t snap = fx->snap;
    rs_module_t mods[2] = { fx->mods[0], fx->mods[1] };
    mods[1].path = "/usr/lib/x86_64-linux-gnu/libgone-for-test.so.1";
    uint64_t pcs[1] = { 0x1234 };
    rs_stack_t stacks[3] = { { 0, 1, pcs }, fx->stacks[1], fx->stacks[2] };
    snap.modules = mods;
    snap.stacks = stacks;
    char *t = render_text(&snap, NULL);
    assert_non_null(strstr(t, "Leak of 16 bytes in 1 block (indirect, charged "
                              "to the leak allocated in ?" "?(libgone-for-test.so.1+0x1234)), "
                              "allocated at:\n"));
    free(t);
}

/* What the hooks of rs_report_text_hooked() saw. */
typedef struct hook_log {
    char     parts[64];   /* one letter per part: H F E C S Z            */
    int      n_parts;
    int      stacks;
    char     first_fn[64];
} hook_log_t;

static int log_part(void *ctx, rs_report_part_t p, const struct rs_finding *f,
                    const struct rs_rc_finding *e)
{
    hook_log_t *l = ctx;
    static const char letters[] = "HFECSZ";
    assert_true((p == RS_REPORT_PART_FINDING) == (f != NULL));
    assert_true((p == RS_REPORT_PART_RC_ERROR) == (e != NULL));
    if (l->n_parts < 63)
        l->parts[l->n_parts++] = letters[p];
    return 0;
}

static int log_stack(void *ctx, const rs_frame_t *frames, int n)
{
    hook_log_t *l = ctx;
    if (l->stacks++ == 0 && n > 0 && frames[0].function)
        snprintf(l->first_fn, sizeof l->first_fn, "%s", frames[0].function);
    return 0;
}

static int fail_part(void *ctx, rs_report_part_t p, const struct rs_finding *f,
                     const struct rs_rc_finding *e)
{
    (void)ctx;
    (void)f;
    (void)e;
    return p == RS_REPORT_PART_SUMMARY ? -1 : 0;
}

static void test_text_hooks(void **state)
{
    fixture_t *fx = *state;
    hook_log_t log = { 0 };
    rs_report_hooks_t hooks = { .ctx = &log, .part = log_part, .stack = log_stack };
    rs_report_options_t opt = { .limit = 2 };
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    rs_symbolizer_t *sym = rs_symbolizer_create(stderr);
    assert_int_equal(rs_report_text_hooked(f, &fx->snap, sym, &opt, &hooks), 0);
    fclose(f);
    /* header, 2 findings (--limit 2), the cut, summary, end */
    assert_string_equal(log.parts, "HFFCSZ");
    assert_string_equal(log.first_fn, "report_target_a");
    assert_int_equal(log.stacks, 2);     /* one per finding shown */
    /* the words stay in the text, the frames went to the hook */
    assert_non_null(strstr(buf, "Leak of 64 bytes in 2 blocks (leaked, type Node), "
                                "allocated at:\n"));
    assert_null(strstr(buf, "#0 0x"));
    free(buf);

    /* a hook that fails stops the report */
    hooks.part = fail_part;
    f = open_memstream(&buf, &size);
    assert_int_equal(rs_report_text_hooked(f, &fx->snap, sym, &opt, &hooks), -1);
    fclose(f);
    assert_null(strstr(buf, "SUMMARY"));
    free(buf);

    /* hooks left NULL: the plain text report */
    hooks.stack = NULL;
    hooks.part = NULL;
    f = open_memstream(&buf, &size);
    assert_int_equal(rs_report_text_hooked(f, &fx->snap, sym, &opt, &hooks), 0);
    fclose(f);
    assert_non_null(strstr(buf, "#0 0x"));
    free(buf);
    rs_symbolizer_destroy(sym);
}

/* The HTML page of this snapshot (report_html.h): its stacks are real, so
 * a frame's source line, read from this very file, is shown under it. */
static void test_html_source_lines(void **state)
{
    fixture_t *fx = *state;
    rs_symbolizer_t *sym = rs_symbolizer_create(stderr);
    rs_frame_t frames[8];
    int n = rs_symbolize_stack(sym, &fx->snap, 1, frames, 8);
    assert_true(n >= 1);
    assert_string_equal(frames[0].function, "report_target_a");
    assert_non_null(frames[0].file);
    /* the line, read independently */
    FILE *src = fopen(frames[0].file, "r");
    assert_non_null(src);
    char line[512] = "";
    for (uint32_t i = 0; i < frames[0].line && fgets(line, sizeof line, src); i++)
        ;
    fclose(src);
    line[strcspn(line, "\n")] = '\0';
    char esc[2048];
    rs_html_escape(esc, sizeof esc, line);
    char want[2200];
    snprintf(want, sizeof want, "<tr class=\"src\"><td colspan=\"4\"><code>%s</code>",
             esc);

    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    const rs_snapshot_t *snaps[1] = { &fx->snap };
    rs_html_options_t opt = { .report = { .limit = 0 } };
    assert_int_equal(rs_report_html(f, snaps, NULL, 1, sym, &opt), 0);
    fclose(f);
    assert_non_null(strstr(buf, "<td class=\"fn\">report_target_a</td>"));
    if (!strstr(buf, want))
        fail_msg("no source line %s in the page", want);
    assert_non_null(strstr(buf, "<details class=\"stack\"><summary>report_target_a &mdash; "));
    free(buf);
    rs_symbolizer_destroy(sym);
}

static void test_text_snapshot_header_and_clean_summary(void **state)
{
    fixture_t *fx = *state;
    rs_snapshot_t snap = fx->snap;
    snap.proc.reason = 1;
    snap.proc.label = "before";
    snap.proc.seq = 2;
    snap.heap.n_nodes = 0;
    memset(&snap.summary, 0, sizeof snap.summary);
    char *t = render_text(&snap, NULL);
    assert_non_null(strstr(t, "snapshot 'before' #2\n"));
    assert_non_null(strstr(t, "SUMMARY: refscope: no leaks; 0 bytes reachable "
                              "in 0 blocks; 0 refcount errors\n"));
    assert_null(strstr(t, "Leak of"));
    free(t);
    assert_int_equal(rs_report_leak_total(&snap).blocks, 0);
    assert_int_equal(rs_report_leak_total(&fx->snap).bytes, 81);
}

/* Strings from the program (a type named by Python code, a snapshot's
 * label) reach a terminal or a CI log with their control characters and
 * ill-formed UTF-8 escaped: a type name holding "\n::error::" started a
 * line GitHub Actions reads as a command. */
static void test_text_controls_escaped(void **state)
{
    fixture_t *fx = *state;
    rs_snapshot_t snap = fx->snap;
    char *types[1] = { "Node\n::error::x\x1b[2J\xc2\x9b" };
    snap.types = types;
    snap.proc.reason = 1;
    snap.proc.label = "be\rfore";
    char *t = render_text(&snap, NULL);
    assert_non_null(strstr(t, "snapshot 'be\\x0dfore' #"));
    assert_non_null(strstr(t, "(leaked, type Node\\x0a::error::x\\x1b[2J\\xc2\\x9b), "
                              "allocated at:\n"));
    for (const unsigned char *p = (const unsigned char *)t; *p; p++)
        assert_true(*p == '\n' || (*p >= 0x20 && *p != 0x7f && *p != 0x9b));
    assert_null(strstr(t, "\n::error::"));
    free(t);
}

/* The end of a process: its status, the fatal signal that killed it (the
 * preload's label, no status), or neither. */
static void test_text_exit_headers(void **state)
{
    fixture_t *fx = *state;
    rs_snapshot_t snap = fx->snap;
    snap.proc.reason = 0;
    snap.proc.has_exit_status = 0;
    snap.proc.label = "SIGSEGV";
    char *t = render_text(&snap, NULL);
    assert_non_null(strstr(t, "') killed by SIGSEGV\n"));
    free(t);
    snap.proc.label = "exit";
    t = render_text(&snap, NULL);
    assert_non_null(strstr(t, "') exited\n"));
    assert_null(strstr(t, "killed"));
    free(t);
    snap.proc.has_exit_status = 1;
    snap.proc.exit_status = 3;
    t = render_text(&snap, NULL);
    assert_non_null(strstr(t, "') exited with status 3\n"));
    free(t);
}

static void test_snapshot_round_trip(void **state)
{
    fixture_t *fx = *state;
    char path[] = "/tmp/test_report.XXXXXX.rsnap";
    int fd = mkstemps(path, 6);
    assert_true(fd >= 0);
    close(fd);
    rs_snapshot_error_t err = { "" };
    if (rs_snapshot_write(&fx->snap, path, &err) < 0)
        fail_msg("write: %s", err.message);
    rs_snapshot_t *back = rs_snapshot_read(path, &err);
    unlink(path);
    if (!back)
        fail_msg("read: %s", err.message);
    char *a, *b;
    jval_t *va = render_json(&fx->snap, NULL, 0, &a);
    jval_t *vb = render_json(back, NULL, 0, &b);
    assert_string_equal(a, b);
    free(a);
    free(b);
    jfree(va);
    jfree(vb);
    rs_snapshot_free(back);
}

/* ---- refcounted objects ------------------------------------------------- */

/* The type the refcounted test objects claim to be: "next" at +24. */
typedef struct Node {
    int64_t      refcnt;
    uint64_t     pad[2];
    struct Node *next;
    uint64_t     tail[2];
} Node;

Node report_node_instance; /* makes sure Node's DWARF is emitted */

__attribute__((noinline)) void report_link(void) { sink += 3; }
__attribute__((noinline)) void report_borrow_wrong(void) { sink += 4; }
__attribute__((noinline)) void report_node_ref(void) { sink += 5; }

typedef struct rc_fixture {
    fixture_t     *base;
    uint64_t       pcs[5][2];
    rs_stack_t     stacks[5];
    rs_node_t      nodes[6];
    uint32_t       edge_start[7];
    rs_edge_t      edges[4];
    uint32_t       event_start[7];
    rs_ref_event_t events[2];
    rs_rc_error_t  errs[3];
    char          *types[1];
    rs_snapshot_t  snap;
} rc_fixture_t;

enum { RC_A = 1, RC_B, RC_LINK, RC_WRONG, RC_FAKE };

/* Two A<->B cycles (+24 each way) of Node objects allocated in
 * report_target_a, a leaked reference taken in report_borrow_wrong
 * (through report_node_ref, an incref function), and
 * an underflow (twice) in report_target_b after a final decref in
 * report_target_a. */
static void rc_fixture(fixture_t *base, rc_fixture_t *rc)
{
    memset(rc, 0, sizeof *rc);
    void (*fns[4])(void) = { report_target_a, report_target_b, report_link,
                             report_borrow_wrong };
    for (int i = 0; i < 4; i++) {
        rc->pcs[i][0] = pc_of(fns[i]);
        rc->stacks[i] = (rs_stack_t){ 0, 1, rc->pcs[i] };
    }
    /* borrow_wrong's incref went through an incref function */
    rc->pcs[RC_WRONG - 1][0] = pc_of(report_node_ref);
    rc->pcs[RC_WRONG - 1][1] = pc_of(report_borrow_wrong);
    rc->stacks[RC_WRONG - 1].n_frames = 2;
    rc->pcs[4][0] = 0x1100; /* in the fake librefscope */
    rc->stacks[4] = (rs_stack_t){ 0, 1, rc->pcs[4] };
    for (uint32_t i = 0; i < 5; i++) {
        rs_node_t *n = &rc->nodes[i];
        *n = (rs_node_t){ .addr = 0x20000 + 0x40 * (uint64_t)i, .size = 48,
                          .stack_id = RC_A, .type_id = 1,
                          .flags = RS_NODE_REFCOUNTED, .cls = RS_CLASS_CYCLE,
                          .owner = i / 2, .refcount = 1 };
    }
    rc->nodes[4].cls = RS_CLASS_LEAKED_REF;
    rc->nodes[4].owner = UINT32_MAX;
    rc->nodes[5] = (rs_node_t){ .addr = 0x20200, .size = 10, .stack_id = RC_B,
                                .cls = RS_CLASS_REACHABLE,
                                .owner = UINT32_MAX };
    /* edges: 0 -> 1, 1 -> 0, 2 -> 3, 3 -> 2, all at +24 */
    for (uint32_t i = 0; i < 4; i++) {
        rc->edge_start[i + 1] = i + 1;
        rc->edges[i] = (rs_edge_t){ i ^ 1, 24 };
    }
    rc->edge_start[5] = rc->edge_start[6] = 4;
    /* history: node 0 got link's incref (from node 1's pointer); node 4
     * got borrow_wrong's */
    rc->events[0] = (rs_ref_event_t){ .stack_id = RC_LINK, .seq = 1,
                                      .op = RS_REF_INCREF };
    rc->events[1] = (rs_ref_event_t){ .stack_id = RC_WRONG, .seq = 2,
                                      .op = RS_REF_INCREF };
    uint32_t starts[7] = { 0, 1, 1, 1, 1, 2, 2 };
    memcpy(rc->event_start, starts, sizeof starts);
    for (int i = 0; i < 2; i++)
        rc->errs[i] = (rs_rc_error_t){ .kind = RS_RC_UNDERFLOW, .type_id = 1,
                                       .addr = 0x30000 + 0x100 * (uint64_t)i,
                                       .count = -1 - i, .stack_id = RC_B,
                                       .other_stack_id = RC_A, .tid = 5 };
    rc->errs[2] = (rs_rc_error_t){ .kind = RS_RC_DECREF_UNKNOWN,
                                   .addr = 0xdead0, .stack_id = RC_B,
                                   .tid = 5 };
    rc->types[0] = "Node";
    rs_snapshot_t *s = &rc->snap;
    *s = base->snap;
    s->stacks = rc->stacks;
    s->n_stacks = 5;
    s->types = rc->types;
    s->n_types = 1;
    s->heap = (rs_heap_t){ .nodes = rc->nodes, .n_nodes = 6,
                           .edge_start = rc->edge_start, .edges = rc->edges,
                           .n_edges = 4 };
    s->history = (rs_ref_history_t){ rc->event_start, rc->events, 2 };
    s->rc_errors = rc->errs;
    s->n_rc_errors = 3;
    memset(&s->summary, 0, sizeof s->summary);
    rs_summary_count(&s->heap, &s->summary);
    s->summary.cycle_groups = 2;
    s->summary.leaked_refs = 1;
    s->summary.rc_errors = 3;
}

static const char *first_function(const jval_t *stack)
{
    return jstr(jget(jat(stack, 0), "function"));
}

static void check_rc_json(const jval_t *v)
{
    jval_t *s = jget(v, "summary");
    assert_int_equal(jpath_num(s, "cycles", "groups"), 2);
    assert_int_equal(jpath_num(s, "cycles", "objects"), 4);
    assert_int_equal(jpath_num(s, "cycles", "bytes"), 192);
    assert_int_equal(jpath_num(s, "leaked_refs", "objects"), 1);
    assert_int_equal(jpath_num(s, "leaked_refs", "refs"), 1);
    assert_int_equal(jpath_num(s, "leaked_refs", "bytes"), 48);
    assert_int_equal(jnum(jget(s, "rc_errors")), 3);

    jval_t *fs = jget(v, "findings");
    assert_int_equal(fs->n, 4);
    jval_t *c = jat(fs, 0);
    assert_string_equal(jstr(jget(c, "class")), "cycle");
    assert_int_equal(jnum(jget(c, "groups")), 2);
    assert_int_equal(jnum(jget(c, "bytes")), 192);
    assert_int_equal(jnum(jget(c, "blocks")), 4);
    assert_string_equal(jstr(jget(c, "type")), "Node");
    assert_string_equal(first_function(jget(c, "stack")), "report_target_a");
    jval_t *m = jget(c, "members");
    assert_int_equal(m->n, 2);
    assert_string_equal(jstr(jget(jat(m, 0), "address")), "0x20000");
    assert_string_equal(jstr(jget(jat(m, 1), "address")), "0x20040");
    assert_string_equal(jstr(jget(jat(m, 1), "type")), "Node");
    assert_int_equal(jnum(jget(jat(m, 0), "size")), 48);
    assert_int_equal(jnum(jget(jat(m, 0), "refcount")), 1);
    assert_string_equal(first_function(jget(jat(m, 0), "stack")),
                        "report_target_a");
    jval_t *e = jget(c, "edges");
    assert_int_equal(e->n, 2);
    jval_t *e0 = jat(e, 0), *e1 = jat(e, 1);
    assert_int_equal(jnum(jget(e0, "from")), 0);
    assert_int_equal(jnum(jget(e0, "to")), 1);
    assert_int_equal(jnum(jget(e0, "offset")), 24);
    assert_string_equal(jstr(jget(e0, "field")), "next");
    /* node 1 has no history; node 0's unbalanced incref is link's */
    assert_int_equal(jget(e0, "incref")->type, J_NULL);
    assert_int_equal(jnum(jget(e1, "from")), 1);
    assert_int_equal(jnum(jget(e1, "to")), 0);
    assert_string_equal(first_function(jget(e1, "incref")), "report_link");
    assert_int_equal(jget(c, "charged_to")->type, J_NULL);

    jval_t *l = jat(fs, 1);
    assert_string_equal(jstr(jget(l, "class")), "leaked_ref");
    assert_int_equal(jnum(jget(l, "bytes")), 48);
    assert_int_equal(jnum(jget(l, "blocks")), 1);
    assert_int_equal(jnum(jget(l, "refs")), 1);
    assert_int_equal(jnum(jget(l, "refcount")), 1);
    assert_int_equal(jnum(jget(l, "pointers")), 0);
    assert_string_equal(jstr(jget(l, "type")), "Node");
    jval_t *u = jget(l, "unbalanced");
    assert_int_equal(u->n, 1);
    assert_int_equal(jnum(jget(jat(u, 0), "count")), 1);
    assert_string_equal(first_function(jget(jat(u, 0), "stack")),
                        "report_node_ref");
    assert_string_equal(jstr(jget(jat(jget(jat(u, 0), "stack"), 1),
                                  "function")), "report_borrow_wrong");

    jval_t *r = jat(fs, 2);
    assert_string_equal(jstr(jget(r, "class")), "rc_error");
    assert_string_equal(jstr(jget(r, "kind")), "underflow");
    assert_string_equal(jstr(jget(r, "type")), "Node");
    assert_string_equal(jstr(jget(r, "address")), "0x30000");
    assert_int_equal(jnum(jget(r, "count")), -1);
    assert_int_equal(jnum(jget(r, "occurrences")), 2);
    assert_int_equal(jnum(jget(r, "bytes")), 0);
    assert_int_equal(jnum(jget(r, "blocks")), 0);
    assert_string_equal(first_function(jget(r, "stack")), "report_target_b");
    assert_string_equal(first_function(jget(r, "other_stack")),
                        "report_target_a");
    jval_t *r2 = jat(fs, 3);
    assert_string_equal(jstr(jget(r2, "kind")), "decref_unknown");
    assert_int_equal(jget(r2, "type")->type, J_NULL);
    assert_int_equal(jget(r2, "other_stack")->type, J_NULL);
    assert_int_equal(jnum(jget(r2, "occurrences")), 1);
}

static void test_json_refcount_findings(void **state)
{
    rc_fixture_t rc;
    rc_fixture(*state, &rc);
    jval_t *v = render_json(&rc.snap, NULL, 2, NULL);
    check_rc_json(v);
    jfree(v);

    /* limit 1: one block finding and one error finding stay */
    rs_report_options_t opt = { .limit = 1 };
    v = render_json(&rc.snap, &opt, 0, NULL);
    jval_t *fs = jget(v, "findings");
    assert_int_equal(fs->n, 2);
    assert_string_equal(jstr(jget(jat(fs, 0), "class")), "cycle");
    assert_string_equal(jstr(jget(jat(fs, 1), "class")), "rc_error");
    assert_int_equal(jpath_num(v, "findings_cut", "findings"), 2);
    assert_int_equal(jpath_num(v, "findings_cut", "bytes"), 48);
    jfree(v);
}

static void test_text_refcount_findings(void **state)
{
    rc_fixture_t rc;
    rc_fixture(*state, &rc);
    char *t = render_text(&rc.snap, NULL);
    assert_non_null(strstr(t, "Cycle of 2 Node objects (96 bytes), 2 groups "
                              "(192 bytes in 4 blocks in all):\n"));
    assert_non_null(strstr(t, "  Node@0x20000 size 48 refcount 1, allocated "
                              "at:\n      #0 0x"));
    assert_non_null(strstr(t, "  Node@0x20040 size 48 refcount 1, allocated "
                              "at:\n"));
    assert_non_null(strstr(t, "  Node@0x20000 +24 (next) \u2192 Node@0x20040 "
                              "+24 (next) \u2192 (back)\n"));
    assert_null(strstr(t, "also:"));
    const char *ref = strstr(t, "  reference Node@0x20040 +24 (next) \u2192 "
                                "Node@0x20000 taken at:\n      #0 0x");
    assert_non_null(ref);
    assert_non_null(strstr(ref, " in report_link "));
    assert_non_null(strstr(t, "Leaked reference: Node@0x20100 refcount 1, 0 "
                              "pointers found, allocated at:\n    #0 0x"));
    const char *lost = strstr(t, "  1 reference taken in report_borrow_wrong "
                                 "(");
    assert_non_null(lost);
    assert_non_null(strstr(lost, "test_report.c:"));
    assert_non_null(strstr(lost, ") was never released:\n      #0 0x"));
    assert_non_null(strstr(lost, " in report_node_ref "));
    assert_non_null(strstr(t, "Refcount error (underflow): decref of "
                              "Node@0x30000 brought the count to -1 (2 times) "
                              "at:\n    #0 0x"));
    assert_non_null(strstr(t, "\n  previous final decref at:\n      #0 0x"));
    assert_non_null(strstr(t, "Refcount error (decref_unknown): decref of "
                              "object@0xdead0, which is freed or was never "
                              "tracked, at:\n"));
    assert_non_null(strstr(t, "cycles: 192 bytes in 4 blocks in 2 groups"));
    assert_non_null(strstr(t, "leaked references: 48 bytes in 1 block holding "
                              "1 reference"));
    assert_non_null(strstr(t, "; 3 refcount errors\n"));
    free(t);

    /* errors past the limit are counted */
    rs_report_options_t opt = { .limit = 1 };
    t = render_text(&rc.snap, &opt);
    assert_non_null(strstr(t, "... 1 more refcount error finding not shown "
                              "(--limit)\n"));
    free(t);
}

static void test_text_cycle_without_field_names(void **state)
{
    rc_fixture_t rc;
    rc_fixture(*state, &rc);
    /* a type this binary does not define, no history: no names, no
     * increfs */
    rc.types[0] = "NoSuchTypeAnywhere";
    rc.snap.history = (rs_ref_history_t){ 0 };
    char *t = render_text(&rc.snap, NULL);
    assert_non_null(strstr(t, "  NoSuchTypeAnywhere@0x20000 +24 \u2192 "
                              "NoSuchTypeAnywhere@0x20040 +24 \u2192 "
                              "(back)\n"));
    assert_null(strstr(t, "  reference "));
    assert_non_null(strstr(t, "  no reference history: the increfs never "
                              "released are unknown\n"));
    free(t);
    jval_t *v = render_json(&rc.snap, NULL, 0, NULL);
    jval_t *e0 = jat(jget(jat(jget(v, "findings"), 0), "edges"), 0);
    assert_int_equal(jget(e0, "field")->type, J_NULL);
    jfree(v);
}

static void test_refcount_snapshot_round_trip(void **state)
{
    rc_fixture_t rc;
    rc_fixture(*state, &rc);
    char path[] = "/tmp/test_report_rc.XXXXXX.rsnap";
    int fd = mkstemps(path, 6);
    assert_true(fd >= 0);
    close(fd);
    rs_snapshot_error_t err = { "" };
    if (rs_snapshot_write(&rc.snap, path, &err) < 0)
        fail_msg("write: %s", err.message);
    rs_snapshot_t *back = rs_snapshot_read(path, &err);
    unlink(path);
    if (!back)
        fail_msg("read: %s", err.message);
    char *a, *b;
    jval_t *va = render_json(&rc.snap, NULL, 0, &a);
    jval_t *vb = render_json(back, NULL, 0, &b);
    check_rc_json(vb);
    assert_string_equal(a, b);
    free(a);
    free(b);
    jfree(va);
    jfree(vb);
    rs_snapshot_free(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_process_and_summary),
        cmocka_unit_test(test_json_findings_and_stacks),
        cmocka_unit_test(test_json_reachable_unknown_frame_and_limit),
        cmocka_unit_test(test_text_report),
        cmocka_unit_test(test_text_charge_unnamed),
        cmocka_unit_test(test_text_hooks),
        cmocka_unit_test(test_html_source_lines),
        cmocka_unit_test(test_text_snapshot_header_and_clean_summary),
        cmocka_unit_test(test_text_exit_headers),
        cmocka_unit_test(test_text_controls_escaped),
        cmocka_unit_test(test_snapshot_round_trip),
        cmocka_unit_test(test_json_refcount_findings),
        cmocka_unit_test(test_text_refcount_findings),
        cmocka_unit_test(test_text_cycle_without_field_names),
        cmocka_unit_test(test_refcount_snapshot_round_trip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
