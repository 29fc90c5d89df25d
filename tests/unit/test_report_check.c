/*
 * test_report_check.c - unit tests of the CI gate (lib/report_check*.c,
 * lib/report/report_formats.c): LSan-style pattern matching, suppression files
 * and their errors, which item each suppression kind hides, fingerprint
 * stability (addresses, lines and system frames do not matter; functions,
 * files, class and type do), baseline round trip, growth and ratchet,
 * the threshold rules, and the escaping of the machine formats.
 * Items are built by hand, so no snapshot or symbolizer is needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "json_parse.h"
#include "report_check.h"

#define APP "/src/app/prog"

static rs_check_frame_t frame(const char *fn, const char *file, uint32_t line,
                              const char *module, uint64_t addr)
{
    return (rs_check_frame_t){ .function = (char *)fn, .symbol = (char *)fn,
                               .file = (char *)file, .line = line,
                               .module = (char *)module, .address = addr };
}

/* A typical leak stack: libc frames after two application frames. */
static void leak_stack(rs_check_frame_t *f, const char *fn, uint64_t base,
                       uint32_t line)
{
    f[0] = frame(fn, "/src/app/leak.c", line, APP, base + 0x10);
    f[1] = frame("main", "/src/app/main.c", 40, APP, base + 0x80);
    f[2] = frame("__libc_start_call_main", "../sysdeps/x.h", 58,
                 "/usr/lib/x86_64-linux-gnu/libc.so.6", 0x7f0000001000);
    f[3] = frame("_start", NULL, 0, APP, base + 0x5);
}

static rs_check_item_t item(rs_check_kind_t kind, const char *type,
                            uint64_t bytes, uint64_t count,
                            rs_check_frame_t *frames, uint32_t n)
{
    rs_check_item_t it;
    memset(&it, 0, sizeof it);
    it.kind = kind;
    it.type = (char *)type;
    it.bytes = bytes;
    it.count = count;
    it.frames = frames;
    it.n_frames = n;
    return it;
}

/* ---- patterns ----------------------------------------------------------- */

static void test_glob(void **state)
{
    static const struct { const char *pat, *s; int match; } cases[] = {
        { "foo", "foo", 1 },          { "foo", "xfooy", 1 },
        { "foo", "fo", 0 },           { "^foo", "foobar", 1 },
        { "^foo", "xfoo", 0 },        { "foo$", "barfoo", 1 },
        { "foo$", "foobar", 0 },      { "^foo$", "foo", 1 },
        { "^foo$", "foox", 0 },       { "f*o", "fxxo", 1 },
        { "a*b$", "ab_ab", 1 },       { "a*b$", "ab_a", 0 },
        { "*", "anything", 1 },       { "^*$", "x", 1 },
        { "lib*.so", "/usr/lib/libfoo.so.1", 1 },
        { "^/usr/lib/", "/usr/lib/libc.so.6", 1 },
        { "^/usr/lib/", "/opt/usr/lib/x", 0 },
        { "make_*_node", "make_big_node", 1 },
        { "make_*_node", "make_node", 0 },
        { "x", "", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (rs_supp_glob(cases[i].pat, cases[i].s) != cases[i].match)
            fail_msg("'%s' vs '%s': expected %d", cases[i].pat, cases[i].s,
                     cases[i].match);
    assert_false(rs_supp_glob("x", NULL));
}

/* ---- suppression files ---------------------------------------------------- */

static void expect_parse_error(const char *text, const char *want)
{
    rs_supp_list_t l = { 0 };
    char err[256] = "";
    assert_int_equal(rs_supp_parse(&l, "s.supp", text, strlen(text), err,
                                   sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("expected '%s' in '%s'", want, err);
    rs_supp_free(&l);
}

static void test_supp_parse(void **state)
{
    static const char text[] =
        "# LSan file\n"
        "\n"
        "leak:make_node\n"
        "  leak : ^libfoo.so$  \r\n"
        "cycle:Node\n"
        "ref:widget_ref\n"
        "rc:conn_unref\n"
        "type:GstBuffer\n";
    rs_supp_list_t l = { 0 };
    char err[256];
    assert_int_equal(rs_supp_parse(&l, "s.supp", text, sizeof text - 1, err,
                                   sizeof err), 0);
    assert_int_equal(l.n, 6);
    assert_int_equal(l.items[0].kind, RS_SUPP_LEAK);
    assert_string_equal(l.items[0].pattern, "make_node");
    assert_int_equal(l.items[0].line, 3);
    assert_string_equal(l.items[1].pattern, "^libfoo.so$");
    assert_int_equal(l.items[1].line, 4);
    assert_int_equal(l.items[2].kind, RS_SUPP_CYCLE);
    assert_int_equal(l.items[3].kind, RS_SUPP_REF);
    assert_int_equal(l.items[4].kind, RS_SUPP_RC);
    assert_int_equal(l.items[5].kind, RS_SUPP_TYPE);
    assert_string_equal(l.items[5].file, "s.supp");
    rs_supp_free(&l);
    rs_supp_free(&l); /* twice is fine */

    expect_parse_error("leak:a\nbogus\n", "s.supp:2: expected 'kind:pattern'");
    expect_parse_error("\n\nfoo:bar\n", "s.supp:3: unknown suppression kind "
                                        "'foo'");
    expect_parse_error("leak:\n", "s.supp:1: empty pattern");
    expect_parse_error("leak:a^b\n", "s.supp:1: '^' is only allowed");
    expect_parse_error("# x\nleak:a$b\n", "s.supp:2: '$' is only allowed");
    /* What a message quotes from the file stays one line and cannot drive
     * a terminal (found by tests/fuzz). */
    expect_parse_error("l\x1b[31meak:x\n", "unknown suppression kind "
                                          "'l\\x1b[31meak'");
    expect_parse_error("ty\x7fpe:x\n", "kind 'ty\\x7fpe'");
    expect_parse_error("leak\x1a*c\\d\rx\n", "got 'leak\\x1a*c\\\\d\\rx'");
}

static void test_supp_load_missing(void **state)
{
    rs_supp_list_t l = { 0 };
    char err[256];
    assert_int_equal(rs_supp_load(&l, "/nonexistent/x.supp", err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "/nonexistent/x.supp: No such file"));
    rs_supp_free(&l);
}

/* A FIFO nobody writes to is refused, not waited on: `check` hung, and
 * with it every program ending under REFSCOPE_SUPPRESSIONS=FIFO and
 * REFSCOPE_EXITCODE (found by tests/fuzz).  So are devices (/dev/zero
 * was read until memory ran out) and directories. */
static void test_inputs_not_regular(void **state)
{
    char dir[] = "/tmp/test_report_check.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char fifo[64];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    const char *paths[] = { fifo, "/dev/zero", dir };
    const char *want[] = { "not a regular file", "not a regular file",
                           "Is a directory" };
    for (int i = 0; i < 3; i++) {
        rs_supp_list_t l = { 0 };
        rs_baseline_t b;
        memset(&b, 0, sizeof b);
        char err[256] = "";
        assert_int_equal(rs_supp_load(&l, paths[i], err, sizeof err), -1);
        if (!strstr(err, want[i]) || strncmp(err, paths[i], strlen(paths[i])))
            fail_msg("suppressions %s: '%s'", paths[i], err);
        rs_supp_free(&l);
        err[0] = '\0';
        assert_int_equal(rs_baseline_read(paths[i], &b, err, sizeof err), -1);
        if (!strstr(err, want[i]) || !strstr(err, paths[i]))
            fail_msg("baseline %s: '%s'", paths[i], err);
    }
    unlink(fifo);
    rmdir(dir);
}

static rs_supp_list_t supps(const char *text)
{
    rs_supp_list_t l = { 0 };
    char err[256];
    if (rs_supp_parse(&l, "t.supp", text, strlen(text), err, sizeof err) < 0)
        fail_msg("%s", err);
    return l;
}

static void test_supp_kinds(void **state)
{
    rs_check_frame_t f[4], g[1];
    leak_stack(f, "make_node", 0x555500000000, 12);
    g[0] = frame("widget_ref", "/src/app/w.c", 7, APP, 1);
    rs_check_item_t leak = item(RS_CHECK_LEAKS, NULL, 10, 1, f, 4);
    rs_check_item_t cycle = item(RS_CHECK_CYCLES, "Node", 10, 2, f, 4);
    rs_check_item_t ref = item(RS_CHECK_LEAKED_REFS, "Widget", 10, 1, f, 4);
    ref.other = g;
    ref.n_other = 1;
    rs_check_item_t rc = item(RS_CHECK_RC_ERRORS, "Conn", 0, 1, f, 4);

    rs_supp_list_t l = supps("leak:make_node\n");
    assert_int_equal(rs_supp_match(&l, &leak), 0);
    assert_int_equal(rs_supp_match(&l, &cycle), 0);  /* leak: covers all */
    assert_int_equal(rs_supp_match(&l, &ref), 0);
    assert_int_equal(rs_supp_match(&l, &rc), -1);    /* not rc errors */
    rs_supp_free(&l);

    l = supps("cycle:make_node\n");
    assert_int_equal(rs_supp_match(&l, &leak), -1);
    assert_int_equal(rs_supp_match(&l, &cycle), 0);
    assert_int_equal(rs_supp_match(&l, &ref), -1);
    rs_supp_free(&l);

    l = supps("ref:^widget_ref$\n");                /* an unbalanced incref */
    assert_int_equal(rs_supp_match(&l, &ref), 0);
    assert_int_equal(rs_supp_match(&l, &leak), -1);
    rs_supp_free(&l);

    l = supps("rc:main.c\ntype:^Node$\n");          /* file path, type */
    assert_int_equal(rs_supp_match(&l, &rc), 0);
    assert_int_equal(rs_supp_match(&l, &cycle), 1);
    assert_int_equal(rs_supp_match(&l, &ref), -1);  /* Widget */
    assert_int_equal(rs_supp_match(&l, &leak), -1); /* no type */
    rs_supp_free(&l);

    l = supps("leak:libc.so.6\nleak:^/src/app/prog$\n"); /* module paths */
    assert_int_equal(rs_supp_match(&l, &leak), 0);
    rs_supp_free(&l);

    l = supps("leak:other_function\nleak:^node\n");  /* names nothing */
    assert_int_equal(rs_supp_match(&l, &leak), -1);
    rs_supp_free(&l);

    /* A C++ frame matches by its shown (demangled) name and by its
     * mangled symbol. */
    f[0].function = "app::make_node(int)";
    f[0].symbol = "_ZN3app9make_nodeEi";
    l = supps("leak:app::make_node\n");
    assert_int_equal(rs_supp_match(&l, &leak), 0);
    rs_supp_free(&l);
    l = supps("leak:^_ZN3app9make_node\n");
    assert_int_equal(rs_supp_match(&l, &leak), 0);
    rs_supp_free(&l);
    l = supps("leak:^make_node\n");
    assert_int_equal(rs_supp_match(&l, &leak), -1);
    rs_supp_free(&l);
}

/* ---- fingerprints ---------------------------------------------------------- */

static void fp(rs_check_item_t *it, char out[RS_CHECK_FP_LEN + 1])
{
    rs_check_fingerprint(it, RS_CHECK_FP_FRAMES, out);
    assert_int_equal(strlen(out), RS_CHECK_FP_LEN);
}

static void test_fingerprint_stability(void **state)
{
    rs_check_frame_t a[4], b[4];
    char fa[17], fb[17];
    leak_stack(a, "make_node", 0x555500000000, 12);
    leak_stack(b, "make_node", 0x561200340000, 99); /* ASLR, edited file */
    b[2].module = "/lib/x86_64-linux-gnu/libc.so.6";  /* other distro */
    b[2].function = b[2].symbol = "__libc_start_main";
    rs_check_item_t ia = item(RS_CHECK_LEAKS, NULL, 10, 1, a, 4);
    rs_check_item_t ib = item(RS_CHECK_LEAKS, NULL, 20, 3, b, 4);
    fp(&ia, fa);
    fp(&ib, fb);
    assert_string_equal(fa, fb); /* counts are not in it either */

    b[0].function = b[0].symbol = "make_other";
    fp(&ib, fb);
    assert_string_not_equal(fa, fb);
    b[0].function = b[0].symbol = "make_node";
    /* How a name is shown (a C++ name demangled) is not its identity: a
     * baseline written before names were demangled still matches. */
    b[0].function = "app::make_node(int)";
    fp(&ib, fb);
    assert_string_equal(fa, fb);
    b[0].function = "make_node";
    b[0].file = "/src/app/other.c";
    fp(&ib, fb);
    assert_string_not_equal(fa, fb);
    b[0].file = "/elsewhere/app/leak.c";      /* only the basename counts */
    fp(&ib, fb);
    assert_string_equal(fa, fb);

    ib.kind = RS_CHECK_CYCLES;
    fp(&ib, fb);
    assert_string_not_equal(fa, fb);
    ib.kind = RS_CHECK_LEAKS;
    ib.type = "Node";
    fp(&ib, fb);
    assert_string_not_equal(fa, fb);
    ib.type = NULL;
    ib.detail = "underflow";
    fp(&ib, fb);
    assert_string_not_equal(fa, fb);
}

static void test_fingerprint_depth_and_system_frames(void **state)
{
    rs_check_frame_t f[6];
    f[0] = frame("g_malloc", "gmem.c", 1, "/usr/lib/libglib-2.0.so.0", 1);
    f[1] = frame("g_object_new", "gobject.c", 2,
                 "/usr/lib/libgobject-2.0.so.0", 2);
    f[2] = frame("make_a", "/src/a.c", 3, APP, 3);
    f[3] = frame("level2", "/src/a.c", 4, APP, 4);
    f[4] = frame("level3", "/src/a.c", 5, APP, 5);
    f[5] = frame("level4", "/src/a.c", 6, APP, 6);
    rs_check_item_t it = item(RS_CHECK_LEAKS, NULL, 1, 1, f, 6);
    uint32_t idx[RS_CHECK_MAX_FRAMES];
    assert_int_equal(rs_check_fp_select(&it, 2, idx), 2);
    assert_int_equal(idx[0], 2);       /* glib frames skipped */
    assert_int_equal(idx[1], 3);
    char d1[17], d2[17];
    rs_check_fingerprint(&it, 1, d1);
    rs_check_fingerprint(&it, 2, d2);
    assert_string_not_equal(d1, d2);
    f[5].function = "changed";          /* beyond 2 frames: same print */
    rs_check_fingerprint(&it, 2, d1);
    assert_string_equal(d1, d2);
    /* All frames in system libraries: they are used as they are. */
    it.n_frames = 2;
    assert_int_equal(rs_check_fp_select(&it, 4, idx), 2);
    assert_int_equal(idx[0], 0);
    assert_ptr_equal(rs_check_top_frame(&it), &f[0]);
    it.n_frames = 6;
    assert_ptr_equal(rs_check_top_frame(&it), &f[2]);
}

/* ---- the gate ------------------------------------------------------------- */

typedef struct fixture {
    rs_check_frame_t a[4], b[4], c[4];
    rs_check_set_t   set;
} fixture_t;

/* Three items: leaked at make_a (2 blocks, 100 bytes), indirect at
 * make_b, a refcount error at make_c. */
static void build(fixture_t *x, uint64_t base, uint64_t a_count,
                  uint64_t a_bytes)
{
    memset(x, 0, sizeof *x);
    leak_stack(x->a, "make_a", base, 10);
    leak_stack(x->b, "make_b", base, 20);
    leak_stack(x->c, "make_c", base, 30);
    rs_check_item_t it = item(RS_CHECK_LEAKS, NULL, a_bytes, a_count, x->a, 4);
    assert_int_equal(rs_check_set_add(&x->set, &it), 0);
    it = item(RS_CHECK_INDIRECT, NULL, 50, 1, x->b, 4);
    assert_int_equal(rs_check_set_add(&x->set, &it), 0);
    it = item(RS_CHECK_RC_ERRORS, "Conn", 0, 1, x->c, 4);
    it.detail = "underflow";
    assert_int_equal(rs_check_set_add(&x->set, &it), 0);
}

static rs_check_options_t defaults(void)
{
    return (rs_check_options_t){ .fail_on = RS_CHECK_FAIL_DEFAULT };
}

static void test_fail_on(void **state)
{
    unsigned m;
    char bad[32];
    assert_int_equal(rs_check_parse_fail_on("leaks,cycles", &m, bad,
                                            sizeof bad), 0);
    assert_int_equal(m, 1u << RS_CHECK_LEAKS | 1u << RS_CHECK_CYCLES);
    assert_int_equal(rs_check_parse_fail_on("leaked_ref,rc_errors", &m, bad,
                                            sizeof bad), 0);
    assert_int_equal(m, 1u << RS_CHECK_LEAKED_REFS | 1u << RS_CHECK_RC_ERRORS);
    assert_int_equal(rs_check_parse_fail_on("all", &m, bad, sizeof bad), 0);
    assert_int_equal(m, RS_CHECK_FAIL_ALL);
    assert_int_equal(rs_check_parse_fail_on("none", &m, bad, sizeof bad), 0);
    assert_int_equal(m, 0);
    assert_int_equal(rs_check_parse_fail_on("leaks,,x", &m, bad, sizeof bad),
                     -1);
    assert_string_equal(bad, "");
    assert_int_equal(rs_check_parse_fail_on("leaks,bogus", &m, bad,
                                            sizeof bad), -1);
    assert_string_equal(bad, "bogus");
}

static void test_evaluate_default(void **state)
{
    fixture_t x;
    rs_check_verdict_t v;
    rs_check_options_t o = defaults();
    build(&x, 0x1000, 2, 100);
    rs_check_evaluate(&x.set, &o, NULL, NULL, &v);
    assert_true(v.failed);
    assert_int_equal(v.counted, 2);          /* leak + rc error */
    assert_int_equal(v.not_gated, 1);        /* indirect */
    assert_int_equal(v.counted_bytes, 100);
    assert_int_equal(x.set.items[1].status, RS_CHECK_NOT_GATED);
    assert_non_null(strstr(v.reason, "2 findings"));

    o.fail_on = 1u << RS_CHECK_INDIRECT;
    rs_check_evaluate(&x.set, &o, NULL, NULL, &v);
    assert_true(v.failed);
    assert_int_equal(v.counted, 1);
    assert_int_equal(v.counted_bytes, 50);

    o.fail_on = 0;
    rs_check_evaluate(&x.set, &o, NULL, NULL, &v);
    assert_false(v.failed);
    assert_string_equal(v.reason, "");
    rs_check_set_free(&x.set);

    rs_check_set_t empty = { 0 };
    o = defaults();
    rs_check_evaluate(&empty, &o, NULL, NULL, &v);
    assert_false(v.failed);
    rs_check_set_free(&empty);
}

static void test_evaluate_thresholds(void **state)
{
    fixture_t x;
    rs_check_verdict_t v;
    rs_check_options_t o = defaults();
    build(&x, 0x1000, 2, 100);

    o.have_max_findings = 1;
    o.max_findings = 2;
    rs_check_evaluate(&x.set, &o, NULL, NULL, &v);
    assert_false(v.failed);
    o.max_findings = 1;
    rs_check_evaluate(&x.set, &o, NULL, NULL, &v);
    assert_true(v.failed);
    assert_non_null(strstr(v.reason, "--max-findings 1"));

    o = defaults();
    o.have_max_bytes = 1;
    o.max_leaked_bytes = 100;
    o.fail_on = 1u << RS_CHECK_LEAKS;
    rs_check_evaluate(&x.set, &o, NULL, NULL, &v);
    assert_false(v.failed);                  /* 100 bytes allowed */
    o.max_leaked_bytes = 99;
    rs_check_evaluate(&x.set, &o, NULL, NULL, &v);
    assert_true(v.failed);
    assert_non_null(strstr(v.reason, "--max-leaked-bytes 99"));

    /* Refcount errors have no bytes: a byte budget alone does not let
     * them through, --max-findings does. */
    o.fail_on = RS_CHECK_FAIL_DEFAULT;
    o.max_leaked_bytes = 1000;
    rs_check_evaluate(&x.set, &o, NULL, NULL, &v);
    assert_true(v.failed);
    assert_non_null(strstr(v.reason, "refcount error"));
    o.have_max_findings = 1;
    o.max_findings = 5;
    rs_check_evaluate(&x.set, &o, NULL, NULL, &v);
    assert_false(v.failed);
    rs_check_set_free(&x.set);
}

static void test_evaluate_suppressions(void **state)
{
    fixture_t x;
    rs_check_verdict_t v;
    rs_check_options_t o = defaults();
    build(&x, 0x1000, 2, 100);
    rs_supp_list_t l = supps("leak:make_a\nrc:make_c\nleak:unused_fn\n"
                             "leak:make_b\n");
    rs_check_evaluate(&x.set, &o, &l, NULL, &v);
    assert_false(v.failed);
    assert_int_equal(v.suppressed, 2);
    assert_int_equal(x.set.items[0].suppression, 0);
    assert_int_equal(x.set.items[2].suppression, 1);
    assert_int_equal(l.items[0].hits, 1);
    assert_int_equal(l.items[0].count, 2);
    assert_int_equal(l.items[0].bytes, 100);
    assert_int_equal(l.items[2].hits, 0);
    assert_int_equal(l.items[3].hits, 0);    /* indirect is not gated */
    rs_supp_free(&l);

    l = supps("leak:make_a\n");              /* exactly what it names */
    rs_check_evaluate(&x.set, &o, &l, NULL, &v);
    assert_true(v.failed);
    assert_int_equal(v.suppressed, 1);
    assert_int_equal(x.set.items[2].status, RS_CHECK_COUNTED);
    rs_supp_free(&l);
    rs_check_set_free(&x.set);
}

/* ---- baselines ------------------------------------------------------------- */

static char *temp_path(void)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/test_report_check.%d.json", getpid());
    return path;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_baseline_round_trip_and_growth(void **state)
{
    fixture_t x, y;
    rs_check_verdict_t v;
    rs_check_options_t o = defaults();
    rs_baseline_t b;
    char err[512];
    const char *path = temp_path();

    build(&x, 0x555500000000, 2, 100);
    rs_check_evaluate(&x.set, &o, NULL, NULL, &v);
    assert_int_equal(rs_baseline_write(path, &x.set, v.fp_frames, NULL, err,
                                       sizeof err), 0);
    assert_int_equal(rs_baseline_read(path, &b, err, sizeof err), 0);
    assert_int_equal(b.n, 3);
    assert_int_equal(b.fp_frames, RS_CHECK_FP_FRAMES);
    const rs_baseline_entry_t *e = rs_baseline_find(&b, x.set.items[0].fingerprint);
    assert_non_null(e);
    assert_int_equal(e->count, 2);
    assert_int_equal(e->bytes, 100);
    assert_string_equal(e->class_name, "leaked");
    assert_int_equal(e->n_frames, 3);        /* the application frames */
    assert_string_equal(e->frames[0], "make_a (leak.c)");
    assert_string_equal(e->frames[1], "main (main.c)");
    assert_string_equal(e->frames[2], "_start (prog)"); /* no file: module */

    /* Another build: other addresses, same leaks: passes. */
    build(&y, 0x7f1200000000, 2, 100);
    rs_check_evaluate(&y.set, &o, NULL, &b, &v);
    assert_false(v.failed);
    assert_int_equal(v.baselined, 2);
    rs_check_set_free(&y.set);

    /* Growth of a known leak fails, in count or in bytes. */
    build(&y, 0x7f1200000000, 3, 100);
    rs_check_evaluate(&y.set, &o, NULL, &b, &v);
    assert_true(v.failed);
    assert_int_equal(v.grown_items, 1);
    assert_true(y.set.items[0].grown);
    assert_int_equal(y.set.items[0].base_count, 2);
    rs_check_set_free(&y.set);
    build(&y, 0x7f1200000000, 2, 101);
    rs_check_evaluate(&y.set, &o, NULL, &b, &v);
    assert_true(v.failed);
    rs_check_set_free(&y.set);

    /* A new leak fails; the known ones stay excused. */
    build(&y, 0x7f1200000000, 2, 100);
    rs_check_frame_t nf[4];
    leak_stack(nf, "make_new", 0x7f1200000000, 5);
    rs_check_item_t it = item(RS_CHECK_LEAKS, NULL, 8, 1, nf, 4);
    assert_int_equal(rs_check_set_add(&y.set, &it), 0);
    rs_check_evaluate(&y.set, &o, NULL, &b, &v);
    assert_true(v.failed);
    assert_int_equal(v.counted, 1);
    assert_int_equal(v.new_items, 1);
    assert_int_equal(y.set.items[3].status, RS_CHECK_COUNTED);
    rs_check_set_free(&y.set);

    rs_baseline_free(&b);
    rs_check_set_free(&x.set);
    unlink(path);
}

static void test_baseline_ratchet(void **state)
{
    fixture_t x, y;
    rs_check_verdict_t v;
    rs_check_options_t o = defaults();
    rs_baseline_t b, b2;
    char err[512];
    const char *path = temp_path();

    build(&x, 0x1000, 5, 500);
    rs_check_evaluate(&x.set, &o, NULL, NULL, &v);
    assert_int_equal(rs_baseline_write(path, &x.set, v.fp_frames, NULL, err,
                                       sizeof err), 0);
    assert_int_equal(rs_baseline_read(path, &b, err, sizeof err), 0);

    /* Fewer leaks now, and a new one: the baseline tightens, the new one
     * is not added. */
    build(&y, 0x2000, 3, 300);
    rs_check_frame_t nf[4];
    leak_stack(nf, "make_new", 0x2000, 5);
    rs_check_item_t it = item(RS_CHECK_LEAKS, NULL, 8, 1, nf, 4);
    assert_int_equal(rs_check_set_add(&y.set, &it), 0);
    rs_check_evaluate(&y.set, &o, NULL, &b, &v);
    assert_int_equal(rs_baseline_write(path, &y.set, v.fp_frames, &b, err,
                                       sizeof err), 0);
    assert_int_equal(rs_baseline_read(path, &b2, err, sizeof err), 0);
    assert_int_equal(b2.n, 3);
    const rs_baseline_entry_t *e = rs_baseline_find(&b2,
                                                    x.set.items[0].fingerprint);
    assert_non_null(e);
    assert_int_equal(e->count, 3);
    assert_int_equal(e->bytes, 300);
    assert_null(rs_baseline_find(&b2, y.set.items[3].fingerprint));

    /* Going back up to 5 now fails against the tightened baseline. */
    rs_check_set_free(&y.set);
    build(&y, 0x3000, 5, 500);
    rs_check_evaluate(&y.set, &o, NULL, &b2, &v);
    assert_true(v.failed);
    assert_int_equal(v.grown_items, 1);

    rs_baseline_free(&b);
    rs_baseline_free(&b2);
    rs_check_set_free(&x.set);
    rs_check_set_free(&y.set);
    unlink(path);
}

static void expect_baseline_error(const char *text, const char *want)
{
    const char *path = temp_path();
    rs_baseline_t b;
    char err[512] = "";
    write_file(path, text);
    assert_int_equal(rs_baseline_read(path, &b, err, sizeof err), -1);
    if (!strstr(err, want) || !strstr(err, path))
        fail_msg("expected '%s' in '%s'", want, err);
    assert_int_equal(b.n, 0);
    unlink(path);
}

static void test_baseline_errors(void **state)
{
    expect_baseline_error("{\"refscope_baseline\": 1,\n \"fingerprint_frames\""
                          ": 4, \"findings\": [\n  {\"fingerprint\": \"xyz\"}]}",
                          "line 3, column 19: \"fingerprint\" must be 16");
    expect_baseline_error("{\"refscope_baseline\": 1, \"fingerprint_frames\": 4,"
                          " \"findings\": [{\"fingerprint\": "
                          "\"0123456789abcdef\", \"count\": -1, \"bytes\": 0}]}",
                          "\"count\" must be a non-negative integer");
    expect_baseline_error("{\"refscope_baseline\": 2}", "version 2");
    expect_baseline_error("[]", "must be a JSON object");
    expect_baseline_error("{\"x\": 1}", "not a refscope baseline");
    expect_baseline_error("{\"refscope_baseline\": 1, \"fingerprint_frames\": 0,"
                          " \"findings\": []}", "1..64");
    expect_baseline_error("{\"refscope_baseline\": 1, ", "line 1, column 26");
    rs_baseline_t b;
    char err[256];
    assert_int_equal(rs_baseline_read("/nonexistent/b.json", &b, err,
                                      sizeof err), -1);
    assert_non_null(strstr(err, "No such file"));
}

/* ---- rendering ------------------------------------------------------------- */

static char *render(rs_check_set_t *set, rs_check_format_t format,
                    rs_supp_list_t *l)
{
    rs_check_verdict_t v;
    rs_check_options_t o = defaults();
    rs_check_evaluate(set, &o, l, NULL, &v);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    rs_check_render_options_t ro = { .format = format, .source_root = "/src",
                                     .supp = l, .print_suppressions = 1 };
    assert_int_equal(rs_check_render(f, set, &v, &o, &ro), 0);
    fclose(f);
    return text;
}

static void test_render_escaping(void **state)
{
    rs_check_frame_t f[2];
    f[0] = frame("op<&>\"'", "/src/app/we,ird:name%.c", 7, APP, 1);
    f[1] = frame("main", "/src/app/main.c", 9, APP, 2);
    rs_check_set_t set = { 0 };
    rs_check_item_t it = item(RS_CHECK_LEAKS, "T\x01", 8, 1, f, 2);
    assert_int_equal(rs_check_set_add(&set, &it), 0);

    char *s = render(&set, RS_CHECK_FORMAT_GITHUB, NULL);
    assert_non_null(strstr(s, "::error file=app/we%2Cird%3Aname%25.c,line=7,"
                              "title=refscope leaked::leaked: 8 bytes in 1 "
                              "block"));
    free(s);

    s = render(&set, RS_CHECK_FORMAT_JUNIT, NULL);
    assert_non_null(strstr(s, "op&lt;&amp;&gt;&quot;&apos;"));
    assert_null(strchr(s, '\x01'));
    assert_non_null(strstr(s, "<failure type=\"leaked\""));
    free(s);

    /* XML 1.0 wants well-formed UTF-8 without U+FFFE/U+FFFF: a stray byte
     * and each byte of a surrogate become '?', U+FFFF is dropped, U+00E9
     * passes. */
    rs_check_set_t odd = { 0 };
    f[0] = frame("f\xff\xed\xa0\x80g\xef\xbf\xbfh\xc3\xa9", "/src/app/a.c", 7, APP, 1);
    rs_check_item_t it2 = item(RS_CHECK_LEAKS, "T", 8, 1, f, 2);
    assert_int_equal(rs_check_set_add(&odd, &it2), 0);
    s = render(&odd, RS_CHECK_FORMAT_JUNIT, NULL);
    assert_non_null(strstr(s, "f????g" "h\xc3\xa9"));   /* FF, ED, A0, 80 */
    assert_null(strstr(s, "\xef\xbf\xbf"));
    free(s);
    rs_check_set_free(&odd);

    s = render(&set, RS_CHECK_FORMAT_SARIF, NULL);
    rs_json_parse_error_t err;
    rs_json_value_t *doc = rs_json_parse(s, strlen(s), &err);
    assert_non_null(doc);
    assert_string_equal(rs_json_value_string(rs_json_value_get(doc,
                                                               "version")),
                        "2.1.0");
    const rs_json_value_t *res = rs_json_value_get(
        rs_json_value_get(doc, "runs")->items[0], "results")->items[0];
    const rs_json_value_t *loc = rs_json_value_get(
        rs_json_value_get(res, "locations")->items[0], "physicalLocation");
    assert_string_equal(rs_json_value_string(rs_json_value_get(
                            rs_json_value_get(loc, "artifactLocation"), "uri")),
                        "app/we%2Cird%3Aname%25.c");
    assert_true(rs_json_value_get(rs_json_value_get(loc, "region"),
                                  "startLine")->uint == 7);
    rs_json_value_free(doc);
    free(s);
    rs_check_set_free(&set);
}

static void test_render_suppressions_listing(void **state)
{
    fixture_t x;
    build(&x, 0x1000, 2, 100);
    rs_supp_list_t l = supps("leak:make_a\nleak:never_matches\n");
    char *s = render(&x.set, RS_CHECK_FORMAT_TEXT, &l);
    assert_non_null(strstr(s, "1 finding (2 blocks, 100 bytes)  leak:make_a  "
                              "(t.supp:1)"));
    assert_non_null(strstr(s, "Unused suppressions (1):\n  "
                              "leak:never_matches  (t.supp:2)"));
    assert_non_null(strstr(s, "refscope check: FAILED: 1 finding"));
    free(s);
    rs_supp_free(&l);
    rs_check_set_free(&x.set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_supp_parse),
        cmocka_unit_test(test_supp_load_missing),
        cmocka_unit_test(test_inputs_not_regular),
        cmocka_unit_test(test_supp_kinds),
        cmocka_unit_test(test_fingerprint_stability),
        cmocka_unit_test(test_fingerprint_depth_and_system_frames),
        cmocka_unit_test(test_fail_on),
        cmocka_unit_test(test_evaluate_default),
        cmocka_unit_test(test_evaluate_thresholds),
        cmocka_unit_test(test_evaluate_suppressions),
        cmocka_unit_test(test_baseline_round_trip_and_growth),
        cmocka_unit_test(test_baseline_ratchet),
        cmocka_unit_test(test_baseline_errors),
        cmocka_unit_test(test_render_escaping),
        cmocka_unit_test(test_render_suppressions_listing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
