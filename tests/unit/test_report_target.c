/*
 * test_report_target.c - unit tests of lib/report_target: TARGET
 * resolution (addresses inside and outside blocks, finding numbers, type
 * names, malformed input) and the names of blocks and roots.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report_target.h"

typedef struct fx {
    rs_node_t        nodes[4];
    rs_root_t        roots[3];
    char            *types[1];
    rs_snapshot_t    snap;
    rs_symbolizer_t *sym;
    rs_namer_t      *nm;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    /* 0x1000 (16, reachable), 0x2000 (64, leaked, type Obj),
     * 0x3000 (8, leaked), 0x4000 (32, reachable, type Obj) */
    static const uint64_t addr[4] = { 0x1000, 0x2000, 0x3000, 0x4000 };
    static const uint64_t size[4] = { 16, 64, 8, 32 };
    static const uint8_t cls[4] = { RS_CLASS_REACHABLE, RS_CLASS_LEAKED, RS_CLASS_LEAKED,
                                    RS_CLASS_REACHABLE };
    for (int i = 0; i < 4; i++)
        f->nodes[i] = (rs_node_t){ .addr = addr[i], .size = size[i], .cls = cls[i],
                                   .owner = UINT32_MAX, .stack_id = 0 };
    f->nodes[1].type_id = f->nodes[3].type_id = 1;
    f->nodes[1].stack_id = 1;       /* two leaks at two different stacks */
    f->nodes[2].stack_id = 2;
    static rs_stack_t stacks[2];    /* empty: nothing to symbolize */
    f->snap.stacks = stacks;
    f->snap.n_stacks = 2;
    f->types[0] = "Obj";
    f->roots[0] = (rs_root_t){ .start = 0x7000, .size = 128, .kind = RS_ROOT_REGISTERS,
                               .module = UINT32_MAX, .tid = 9 };
    f->roots[1] = (rs_root_t){ .start = 0x8000, .size = 128, .kind = RS_ROOT_TLS,
                               .module = UINT32_MAX, .tid = 9 };
    f->roots[2] = (rs_root_t){ .start = 0x7f0000000000, .size = 0x4000, .kind = RS_ROOT_MMAP,
                               .module = UINT32_MAX };
    f->snap.heap = (rs_heap_t){ .nodes = f->nodes, .n_nodes = 4, .roots = f->roots,
                                .n_roots = 3 };
    static uint32_t edge_start[5];
    f->snap.heap.edge_start = edge_start;
    f->snap.types = f->types;
    f->snap.n_types = 1;
    f->sym = rs_symbolizer_create(NULL);
    f->nm = rs_namer_create(&f->snap, f->sym);
    assert_non_null(f->nm);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    rs_namer_destroy(f->nm);
    rs_symbolizer_destroy(f->sym);
    free(f);
    return 0;
}

static long resolve(fx_t *f, const char *t, uint32_t **nodes, char *why)
{
    return rs_target_resolve(f->nm, t, nodes, why, 256);
}

static void test_addresses(void **state)
{
    fx_t *f = *state;
    uint32_t *n;
    char why[256];
    assert_int_equal(resolve(f, "0x2000", &n, why), 1);
    assert_int_equal(n[0], 1);
    free(n);
    assert_int_equal(resolve(f, "0x203f", &n, why), 1);   /* interior */
    assert_int_equal(n[0], 1);
    free(n);
    assert_int_equal(resolve(f, "0x2040", &n, why), 0);   /* one past the end */
    assert_non_null(strstr(why, "no live block"));
    assert_int_equal(resolve(f, "0x10", &n, why), 0);
    assert_int_equal(resolve(f, "0xq1", &n, why), -1);
    assert_non_null(strstr(why, "not a hexadecimal"));
    assert_int_equal(resolve(f, "0x-2000", &n, why), -1);  /* strtoull's sign */
    assert_non_null(strstr(why, "not a hexadecimal"));
}

static void test_findings_and_names(void **state)
{
    fx_t *f = *state;
    uint32_t *n;
    char why[256];
    /* findings: the 64-byte leak first, then the 8-byte one */
    assert_int_equal(resolve(f, "#1", &n, why), 1);
    assert_int_equal(n[0], 1);
    free(n);
    assert_int_equal(resolve(f, "#2", &n, why), 1);
    assert_int_equal(n[0], 2);
    free(n);
    assert_int_equal(resolve(f, "#3", &n, why), 0);
    assert_non_null(strstr(why, "has 2"));
    assert_int_equal(resolve(f, "#-1", &n, why), -1);    /* not #2^64-1 */
    assert_non_null(strstr(why, "not a finding number"));
    assert_int_equal(resolve(f, "# 1", &n, why), -1);
    assert_int_equal(resolve(f, "#x", &n, why), -1);
    assert_int_equal(resolve(f, "#0", &n, why), -1);
    assert_int_equal(resolve(f, "Obj", &n, why), 2);
    assert_int_equal(n[0], 1);
    assert_int_equal(n[1], 3);
    free(n);
    assert_int_equal(resolve(f, "no_such", &n, why), 0);
    assert_non_null(strstr(why, "no_such"));
    assert_int_equal(resolve(f, "", &n, why), -1);
    assert_string_equal(rs_namer_site(f->nm, 1), "Obj");
    assert_string_equal(rs_namer_site(f->nm, 0), "(unknown stack)");
    assert_string_equal(rs_namer_function(f->nm, 0), "??");
}

static void test_roots(void **state)
{
    fx_t *f = *state;
    rs_root_name_t r;
    char buf[256];
    rs_namer_root(f->nm, 0, 8 * 13, &r);
    assert_string_equal(r.reg, "rax");
    assert_int_equal(r.tid, 9);
    assert_non_null(strstr(rs_root_name_format(&r, buf, sizeof buf), "register rax of thread 9"));
    rs_namer_root(f->nm, 1, 16, &r);
    assert_null(r.reg);
    assert_int_equal(r.address, 0x8010);
    assert_non_null(strstr(rs_root_name_format(&r, buf, sizeof buf), "tls of thread 9 at 0x8010"));
    rs_namer_root(f->nm, 2, 0x160, &r);
    assert_string_equal(r.kind, "mmap");
    assert_string_equal(rs_root_name_format(&r, buf, sizeof buf),
                        "memory the program mapped (mmap) at 0x7f0000000160");
    rs_namer_root(f->nm, 5, 0, &r);
    assert_string_equal(r.kind, "unknown");
}

/* A stack slot is named by the frame of its thread with sp <= slot < the
 * next frame's sp; without frames (or below the innermost sp) the old
 * name stays. */
static void test_stack_root_frames(void **state)
{
    fx_t *f = *state;
    rs_root_name_t r;
    char buf[256];
    static rs_root_t stack_root[1] = {
        { .start = 0x9000, .size = 0x400, .kind = RS_ROOT_STACK, .module = UINT32_MAX,
          .tid = 9 },
    };
    static rs_thread_frame_t frames[] = {
        { 0x11, 0x100, 5, 0 },
        { 0x21, 0x9010, 9, 0 }, { 0x22, 0x9100, 9, 1 }, { 0x23, 0x9300, 9, 2 },
        { 0x31, 0x9000, 11, 0 },
    };
    f->snap.heap.roots = stack_root;
    f->snap.heap.n_roots = 1;
    rs_namer_root(f->nm, 0, 0x20, &r);
    assert_int_equal(r.has_frame, 0);          /* no frames in the snapshot */
    assert_non_null(strstr(rs_root_name_format(&r, buf, sizeof buf),
                           "stack of thread 9 at 0x9020"));
    f->snap.thread_frames = frames;
    f->snap.n_thread_frames = 5;
    rs_namer_root(f->nm, 0, 0x8, &r);          /* below the innermost sp */
    assert_int_equal(r.has_frame, 0);
    rs_namer_root(f->nm, 0, 0x20, &r);
    assert_int_equal(r.has_frame, 1);
    assert_int_equal(r.frame, 0);
    assert_int_equal(r.frame_offset, 0x10);
    rs_namer_root(f->nm, 0, 0x100, &r);
    assert_int_equal(r.frame, 1);
    assert_int_equal(r.frame_offset, 0);
    assert_null(r.function);                   /* pc in no module */
    assert_non_null(strstr(rs_root_name_format(&r, buf, sizeof buf),
                           "stack of thread 9, frame #1 ??, sp+0x0 at 0x9100"));
    rs_namer_root(f->nm, 0, 0x3ff, &r);        /* the outermost frame */
    assert_int_equal(r.frame, 2);
    assert_int_equal(r.frame_offset, 0xff);
    stack_root[0].tid = 12;                    /* a thread without frames */
    rs_namer_root(f->nm, 0, 0x3ff, &r);
    assert_int_equal(r.has_frame, 0);
    stack_root[0].tid = 9;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_findings_and_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stack_root_frames, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
