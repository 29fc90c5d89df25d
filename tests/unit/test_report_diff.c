/*
 * test_report_diff.c - unit tests of lib/report_groups and lib/report_diff
 * on hand-built snapshots: grouping by type (typed and plain blocks),
 * deltas, both sort orders, --min-delta, --limit and what it cut, class
 * filters, the same-program check, the JSON rendering, and control
 * characters in names escaped in the text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report_diff.h"

typedef struct fixture {
    rs_node_t     nodes[64];
    char         *types[4];
    rs_module_t   mod;
    rs_snapshot_t snap;
} fixture_t;

static void init(fixture_t *fx, const char *exe)
{
    memset(fx, 0, sizeof *fx);
    fx->types[0] = "Alpha";
    fx->types[1] = "Beta";
    fx->types[2] = "Gamma";
    fx->snap.types = fx->types;
    fx->snap.n_types = 3;
    fx->snap.proc.exe = (char *)exe;
    fx->snap.proc.label = "t";
    fx->mod.path = (char *)exe;
    fx->snap.modules = &fx->mod;
    fx->snap.n_modules = 1;
    fx->snap.heap.nodes = fx->nodes;
}

/* n blocks of type (0 = plain) and size, class cls. */
static void add(fixture_t *fx, uint32_t type, uint64_t size, uint32_t n, rs_class_t cls)
{
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = fx->snap.heap.n_nodes++;
        assert_true(i < 64);
        fx->nodes[i] = (rs_node_t){ .addr = 0x1000 + 0x100 * (uint64_t)i, .size = size,
                                    .type_id = type, .cls = (uint8_t)cls, .owner = UINT32_MAX };
    }
}

static const rs_diff_row_t *row(const rs_diff_t *d, const char *key)
{
    for (uint32_t i = 0; i < d->n; i++)
        if (strcmp(d->rows[i].key, key) == 0)
            return &d->rows[i];
    return NULL;
}

typedef struct pair {
    fixture_t a, b;
    rs_symbolizer_t *sym;
} pair_t;

static int setup(void **state)
{
    pair_t *p = calloc(1, sizeof *p);
    init(&p->a, "/bin/prog");
    init(&p->b, "/bin/prog");
    /* before: Alpha 2x16, Beta 1x100, Gamma 3x8, plain 1x50
     * after:  Alpha 5x16, Beta 0,     Gamma 4x8 (one leaked), plain 1x50 */
    add(&p->a, 1, 16, 2, RS_CLASS_REACHABLE);
    add(&p->a, 2, 100, 1, RS_CLASS_REACHABLE);
    add(&p->a, 3, 8, 3, RS_CLASS_REACHABLE);
    add(&p->a, 0, 50, 1, RS_CLASS_REACHABLE);
    add(&p->b, 1, 16, 5, RS_CLASS_REACHABLE);
    add(&p->b, 3, 8, 3, RS_CLASS_REACHABLE);
    add(&p->b, 3, 8, 1, RS_CLASS_LEAKED);
    add(&p->b, 0, 50, 1, RS_CLASS_REACHABLE);
    p->sym = rs_symbolizer_create(NULL);
    assert_non_null(p->sym);
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    pair_t *p = *state;
    rs_symbolizer_destroy(p->sym);
    free(p);
    return 0;
}

static void test_by_type_deltas_and_order(void **state)
{
    pair_t *p = *state;
    rs_diff_options_t opt = { .by = RS_GROUP_TYPE };
    rs_diff_t d;
    assert_int_equal(rs_diff_compute(&p->a.snap, &p->b.snap, p->sym, &opt, &d), 0);
    assert_int_equal(d.n, 4);
    /* bytes deltas: Alpha +48, Gamma +8, plain 0, Beta -100 */
    assert_string_equal(d.rows[0].key, "Alpha");
    assert_string_equal(d.rows[1].key, "Gamma");
    assert_string_equal(d.rows[3].key, "Beta");
    const rs_diff_row_t *a = row(&d, "Alpha");
    assert_int_equal(a->count[0], 2);
    assert_int_equal(a->count[1], 5);
    assert_int_equal(a->count_delta, 3);
    assert_int_equal(a->bytes_delta, 48);
    const rs_diff_row_t *b = row(&d, "Beta");
    assert_int_equal(b->count_delta, -1);
    assert_int_equal(b->bytes_delta, -100);
    const rs_diff_row_t *plain = row(&d, "plain from (unknown stack)");
    assert_non_null(plain);
    assert_int_equal(plain->bytes_delta, 0);
    assert_int_equal(d.total.bytes_delta, 48 + 8 - 100);
    assert_int_equal(d.total.count[0], 7);
    assert_int_equal(d.total.count[1], 10);
    rs_diff_free(&d);
}

static void test_sort_count_min_delta_limit(void **state)
{
    pair_t *p = *state;
    rs_diff_options_t opt = { .by = RS_GROUP_TYPE, .sort_count = 1, .min_delta = 1 };
    rs_diff_t d;
    assert_int_equal(rs_diff_compute(&p->a.snap, &p->b.snap, p->sym, &opt, &d), 0);
    /* count deltas: Alpha +3, Gamma +1, Beta -1; plain (0) dropped */
    assert_int_equal(d.n, 3);
    assert_string_equal(d.rows[0].key, "Alpha");
    assert_string_equal(d.rows[1].key, "Gamma");
    assert_null(row(&d, "plain from (unknown stack)"));
    rs_diff_free(&d);

    opt.min_delta = 2;
    opt.limit = 0;
    assert_int_equal(rs_diff_compute(&p->a.snap, &p->b.snap, p->sym, &opt, &d), 0);
    assert_int_equal(d.n, 1);
    rs_diff_free(&d);

    opt = (rs_diff_options_t){ .by = RS_GROUP_TYPE, .limit = 2 };
    assert_int_equal(rs_diff_compute(&p->a.snap, &p->b.snap, p->sym, &opt, &d), 0);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.n_cut, 2);
    /* the total covers the cut rows too */
    assert_int_equal(d.total.bytes_delta, -44);
    rs_diff_free(&d);
}

static void test_class_filter(void **state)
{
    pair_t *p = *state;
    rs_diff_options_t opt = { .by = RS_GROUP_TYPE, .class_mask = 1u << RS_CLASS_LEAKED };
    rs_diff_t d;
    assert_int_equal(rs_diff_compute(&p->a.snap, &p->b.snap, p->sym, &opt, &d), 0);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.rows[0].key, "Gamma");
    assert_int_equal(d.rows[0].count[0], 0);
    assert_int_equal(d.rows[0].count[1], 1);
    rs_diff_free(&d);
}

static void test_same_program(void **state)
{
    pair_t *p = *state;
    char why[256];
    assert_int_equal(rs_group_same_program(&p->a.snap, &p->b.snap, why, sizeof why), 1);
    assert_string_equal(why, "");
    p->b.snap.proc.exe = "/bin/other";
    assert_int_equal(rs_group_same_program(&p->a.snap, &p->b.snap, why, sizeof why), 0);
    assert_non_null(strstr(why, "different programs"));
    assert_non_null(strstr(why, "/bin/other"));
    p->b.snap.proc.exe = "/bin/prog";
    p->a.mod.build_id_len = p->b.mod.build_id_len = 4;
    memcpy(p->a.mod.build_id, "\1\2\3\4", 4);
    memcpy(p->b.mod.build_id, "\1\2\3\5", 4);
    assert_int_equal(rs_group_same_program(&p->a.snap, &p->b.snap, why, sizeof why), 0);
    assert_non_null(strstr(why, "rebuilt"));
    memcpy(p->b.mod.build_id, "\1\2\3\4", 4);
    assert_int_equal(rs_group_same_program(&p->a.snap, &p->b.snap, why, sizeof why), 1);
}

static void test_group_by_names(void **state)
{
    (void)state;
    rs_group_by_t by;
    assert_int_equal(rs_group_by_from_name("file", &by), 0);
    assert_int_equal(by, RS_GROUP_FILE);
    assert_string_equal(rs_group_by_name(RS_GROUP_FUNCTION), "function");
    assert_int_equal(rs_group_by_from_name("colour", &by), -1);
}

static void test_json(void **state)
{
    pair_t *p = *state;
    rs_diff_options_t opt = { .by = RS_GROUP_TYPE, .class_mask = 1u << RS_CLASS_LEAKED };
    rs_diff_t d;
    assert_int_equal(rs_diff_compute(&p->a.snap, &p->b.snap, p->sym, &opt, &d), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    rs_json_t j;
    rs_json_init(&j, f, 0);
    rs_diff_json(&j, &d, &p->a.snap, "old.rsnap", &p->b.snap, "new.rsnap", &opt);
    assert_int_equal(rs_json_finish(&j), 0);
    fclose(f);
    assert_non_null(strstr(buf, "\"classes\":[\"leaked\"]"));
    assert_non_null(strstr(buf, "\"key\":\"Gamma\""));
    assert_non_null(strstr(buf, "\"count_delta\":1"));
    assert_non_null(strstr(buf, "\"path\":\"old.rsnap\""));
    free(buf);
    rs_diff_free(&d);
}

/* A type name and label with control characters (a Python class may be
 * named anything): the text escapes them, the JSON keeps the name. */
static void test_text_controls_escaped(void **state)
{
    pair_t *p = *state;
    p->a.types[0] = p->b.types[0] = "Al\npha\x1b[2J";
    p->b.snap.proc.label = "t\r";
    rs_diff_options_t opt = { .by = RS_GROUP_TYPE };
    rs_diff_t d;
    assert_int_equal(rs_diff_compute(&p->a.snap, &p->b.snap, p->sym, &opt, &d), 0);
    assert_non_null(row(&d, "Al\npha\x1b[2J"));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(rs_diff_text(f, &d, &p->a.snap, "old.rsnap", &p->b.snap, "new.rsnap",
                                  &opt), 0);
    fclose(f);
    assert_non_null(strstr(buf, "  Al\\x0apha\\x1b[2J\n"));
    assert_non_null(strstr(buf, "#0 't\\x0d')\n"));
    for (const char *c = buf; *c; c++)
        assert_true(*c == '\n' || (unsigned char)*c >= 0x20);
    free(buf);
    rs_diff_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_by_type_deltas_and_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sort_count_min_delta_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_class_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_program, setup, teardown),
        cmocka_unit_test(test_group_by_names),
        cmocka_unit_test_setup_teardown(test_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_controls_escaped, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
