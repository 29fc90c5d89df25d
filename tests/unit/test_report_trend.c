/*
 * test_report_trend.c - unit tests of lib/report_trend on hand-built
 * series of snapshots: a group growing in every interval is found with
 * its growth per interval; one that grows then shrinks is not; the
 * min_share threshold; growth measured in blocks; the limit; control
 * characters in a name escaped in the text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report_trend.h"

#define SNAPS 4

typedef struct series {
    rs_node_t        nodes[SNAPS][64];
    char            *types[3];
    rs_snapshot_t    snap[SNAPS];
    rs_symbolizer_t *sym;
} series_t;

static void add(rs_snapshot_t *s, rs_node_t *nodes, uint32_t type, uint64_t size, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = s->heap.n_nodes++;
        assert_true(i < 64);
        nodes[i] = (rs_node_t){ .addr = 0x1000 + 0x100 * (uint64_t)i, .size = size,
                                .type_id = type, .cls = RS_CLASS_REACHABLE,
                                .owner = UINT32_MAX };
    }
}

/* Cache: 2, 4, 6, 8 blocks of 10 bytes (grows every interval).
 * Wave:  3, 5, 2, 6 blocks of 100 bytes (grows in 2 of 3).
 * Flat:  1 block of 7 bytes throughout. */
static int setup(void **state)
{
    static const uint32_t cache[SNAPS] = { 2, 4, 6, 8 }, wave[SNAPS] = { 3, 5, 2, 6 };
    series_t *s = calloc(1, sizeof *s);
    s->types[0] = "Cache";
    s->types[1] = "Wave";
    s->types[2] = "Flat";
    for (int i = 0; i < SNAPS; i++) {
        s->snap[i].types = s->types;
        s->snap[i].n_types = 3;
        s->snap[i].heap.nodes = s->nodes[i];
        add(&s->snap[i], s->nodes[i], 1, 10, cache[i]);
        add(&s->snap[i], s->nodes[i], 2, 100, wave[i]);
        add(&s->snap[i], s->nodes[i], 3, 7, 1);
    }
    s->sym = rs_symbolizer_create(NULL);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    series_t *s = *state;
    rs_symbolizer_destroy(s->sym);
    free(s);
    return 0;
}

static const rs_snapshot_t *const *ptrs(series_t *s)
{
    static const rs_snapshot_t *p[SNAPS];
    for (int i = 0; i < SNAPS; i++)
        p[i] = &s->snap[i];
    return p;
}

static void test_every_interval(void **state)
{
    series_t *s = *state;
    rs_trend_options_t opt = { .by = RS_GROUP_TYPE, .min_share = 1.0 };
    rs_trend_t t;
    assert_int_equal(rs_trend_compute(ptrs(s), SNAPS, s->sym, &opt, &t), 0);
    assert_int_equal(t.n, 1);
    assert_string_equal(t.items[0].row->key, "Cache");
    assert_int_equal(t.items[0].grew_in, 3);
    assert_int_equal(t.items[0].bytes_per_interval, 20);
    assert_int_equal(t.items[0].count_per_interval, 2);
    assert_int_equal(t.items[0].row->cells[3].bytes, 80);
    rs_trend_free(&t);
}

static void test_min_share(void **state)
{
    series_t *s = *state;
    rs_trend_options_t opt = { .by = RS_GROUP_TYPE, .min_share = 0.66 };
    rs_trend_t t;
    assert_int_equal(rs_trend_compute(ptrs(s), SNAPS, s->sym, &opt, &t), 0);
    assert_int_equal(t.n, 2);
    /* Wave: +300 bytes over 3 intervals = +100 per interval, first */
    assert_string_equal(t.items[0].row->key, "Wave");
    assert_int_equal(t.items[0].grew_in, 2);
    assert_int_equal(t.items[0].bytes_per_interval, 100);
    assert_string_equal(t.items[1].row->key, "Cache");
    rs_trend_free(&t);
    opt.limit = 1;
    assert_int_equal(rs_trend_compute(ptrs(s), SNAPS, s->sym, &opt, &t), 0);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.n_cut, 1);
    rs_trend_free(&t);
}

static void test_shrinking_and_too_few(void **state)
{
    series_t *s = *state;
    rs_trend_options_t opt = { .by = RS_GROUP_TYPE, .min_share = 0.3 };
    rs_trend_t t;
    /* reversed order: nothing ends larger than it started except nothing */
    const rs_snapshot_t *rev[SNAPS];
    for (int i = 0; i < SNAPS; i++)
        rev[i] = &s->snap[SNAPS - 1 - i];
    assert_int_equal(rs_trend_compute(rev, SNAPS, s->sym, &opt, &t), 0);
    assert_int_equal(t.n, 0);
    rs_trend_free(&t);
    assert_int_equal(rs_trend_compute(ptrs(s), 1, s->sym, &opt, &t), -1);
}

static void test_json(void **state)
{
    series_t *s = *state;
    rs_trend_options_t opt = { .by = RS_GROUP_TYPE, .min_share = 1.0, .by_count = 1 };
    rs_trend_t t;
    assert_int_equal(rs_trend_compute(ptrs(s), SNAPS, s->sym, &opt, &t), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    rs_json_t j;
    rs_json_init(&j, f, 0);
    char *paths[SNAPS] = { "a", "b", "c", "d" };
    rs_trend_json(&j, &t, ptrs(s), paths, &opt);
    assert_int_equal(rs_json_finish(&j), 0);
    fclose(f);
    assert_non_null(strstr(buf, "\"bytes\":[20,40,60,80]"));
    assert_non_null(strstr(buf, "\"grew_in\":3"));
    assert_null(strstr(buf, "Wave"));
    free(buf);
    rs_trend_free(&t);
}

/* A growing type whose name holds control characters: escaped in the
 * text (it would start a line of its own), kept in the key. */
static void test_text_controls_escaped(void **state)
{
    series_t *s = *state;
    s->types[0] = "Ca\nche\x7f";
    rs_trend_options_t opt = { .by = RS_GROUP_TYPE, .min_share = 1.0 };
    rs_trend_t t;
    assert_int_equal(rs_trend_compute(ptrs(s), SNAPS, s->sym, &opt, &t), 0);
    assert_string_equal(t.items[0].row->key, "Ca\nche\x7f");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(rs_trend_text(f, &t, &opt), 0);
    fclose(f);
    assert_non_null(strstr(buf, "\nCa\\x0ache\\x7f\n    grew in 3/3"));
    free(buf);
    rs_trend_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_interval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_min_share, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shrinking_and_too_few, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_controls_escaped, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
