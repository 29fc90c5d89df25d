/*
 * test_spanset.c - cmocka tests for lib/model/spanset: exact results of
 * adds and removes that merge, trim and split; thousands of random
 * operations checked against a bitmap of the same addresses, with the
 * invariants (sorted, disjoint, never touching) after each; and out of
 * memory, where the set must stay valid and hold less, never more.
 */
#include "spanset.h"
#include "test_support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

static void assert_items(const rs_spanset_t *s, const rs_span_t *want, uint32_t n)
{
    assert_int_equal(s->n, n);
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(s->items[i].start, want[i].start);
        assert_int_equal(s->items[i].end, want[i].end);
    }
}

static void test_add_merges_overlapping_and_touching(void **state)
{
    (void)state;
    rs_spanset_t s = {0};
    assert_int_equal(rs_spanset_add(&s, 100, 200), 0);
    assert_int_equal(rs_spanset_add(&s, 300, 400), 0);
    assert_int_equal(rs_spanset_add(&s, 10, 20), 0);
    assert_items(&s, (rs_span_t[]){{10, 20}, {100, 200}, {300, 400}}, 3);
    assert_int_equal(rs_spanset_add(&s, 200, 250), 0);       /* touches */
    assert_items(&s, (rs_span_t[]){{10, 20}, {100, 250}, {300, 400}}, 3);
    assert_int_equal(rs_spanset_add(&s, 150, 350), 0);       /* bridges two */
    assert_items(&s, (rs_span_t[]){{10, 20}, {100, 400}}, 2);
    assert_int_equal(rs_spanset_add(&s, 0, 1000), 0);        /* covers all */
    assert_items(&s, (rs_span_t[]){{0, 1000}}, 1);
    assert_int_equal(rs_spanset_add(&s, 5, 5), 0);           /* empty */
    assert_items(&s, (rs_span_t[]){{0, 1000}}, 1);
    assert_int_equal(rs_spanset_bytes(&s), 1000);
    rs_spanset_free(&s);
    assert_int_equal(s.n, 0);
}

static void test_remove_trims_and_splits(void **state)
{
    (void)state;
    rs_spanset_t s = {0};
    rs_spanset_add(&s, 100, 200);
    rs_spanset_add(&s, 300, 400);
    rs_spanset_add(&s, 500, 600);
    assert_int_equal(rs_spanset_remove(&s, 150, 160), 0);    /* split */
    assert_items(&s, (rs_span_t[]){{100, 150}, {160, 200}, {300, 400}, {500, 600}}, 4);
    assert_int_equal(rs_spanset_remove(&s, 180, 550), 0);    /* trims both ends */
    assert_items(&s, (rs_span_t[]){{100, 150}, {160, 180}, {550, 600}}, 3);
    assert_int_equal(rs_spanset_remove(&s, 0, 100), 0);      /* touches only */
    assert_int_equal(rs_spanset_remove(&s, 600, 700), 0);
    assert_int_equal(rs_spanset_remove(&s, 150, 160), 0);    /* the gap */
    assert_items(&s, (rs_span_t[]){{100, 150}, {160, 180}, {550, 600}}, 3);
    assert_int_equal(rs_spanset_remove(&s, 100, 150), 0);    /* exactly one */
    assert_items(&s, (rs_span_t[]){{160, 180}, {550, 600}}, 2);
    assert_true(rs_spanset_contains(&s, 160));
    assert_true(rs_spanset_contains(&s, 179));
    assert_false(rs_spanset_contains(&s, 180));
    assert_false(rs_spanset_contains(&s, 159));
    assert_false(rs_spanset_contains(&s, 0));
    assert_false(rs_spanset_contains(&s, UINT64_MAX));
    assert_int_equal(rs_spanset_remove(&s, 0, UINT64_MAX), 0);
    assert_int_equal(s.n, 0);
    rs_spanset_free(&s);
}

#define SPACE 2048u

static void check_invariants(const rs_spanset_t *s)
{
    for (uint32_t i = 0; i < s->n; i++) {
        assert_true(s->items[i].start < s->items[i].end);
        if (i)
            assert_true(s->items[i - 1].end < s->items[i].start);
    }
}

static void check_same(const rs_spanset_t *s, const unsigned char *model)
{
    check_invariants(s);
    for (uint64_t a = 0; a < SPACE; a++)
        assert_int_equal(rs_spanset_contains(s, a), model[a]);
}

static void test_random_against_bitmap(void **state)
{
    (void)state;
    static unsigned char model[SPACE];
    memset(model, 0, sizeof model);
    rs_spanset_t s = {0};
    uint64_t seed = 0x5eed5eed1234ull;
    for (int op = 0; op < 4000; op++) {
        uint64_t a = rs_test_xorshift(&seed) % SPACE;
        uint64_t len = rs_test_xorshift(&seed) % 64;
        uint64_t b = a + len > SPACE ? SPACE : a + len;
        int add = rs_test_xorshift(&seed) % 3 != 0;   /* grows, then churns */
        if (add)
            assert_int_equal(rs_spanset_add(&s, a, b), 0);
        else
            assert_int_equal(rs_spanset_remove(&s, a, b), 0);
        memset(model + a, add, b - a);
        if (op % 97 == 0 || op > 3900)
            check_same(&s, model);
    }
    uint64_t bytes = 0;
    for (uint64_t a = 0; a < SPACE; a++)
        bytes += model[a];
    assert_int_equal(rs_spanset_bytes(&s), bytes);
    rs_spanset_free(&s);
}

static void test_out_of_memory_holds_less(void **state)
{
    (void)state;
    rs_spanset_t s = {0};
    for (uint64_t i = 0; i < 16; i++)           /* fills the first array */
        assert_int_equal(rs_spanset_add(&s, i * 100, i * 100 + 50), 0);
    assert_int_equal(s.cap, 16);
    allocs_left = 0;
    rs_mem_set_backend(&failing);
    /* A 17th range cannot be added: nothing changes. */
    assert_int_equal(rs_spanset_add(&s, 5000, 5100), -1);
    assert_int_equal(s.n, 16);
    assert_false(rs_spanset_contains(&s, 5000));
    /* Merging needs no memory. */
    assert_int_equal(rs_spanset_add(&s, 50, 100), 0);
    assert_int_equal(s.n, 15);
    assert_int_equal(rs_spanset_add(&s, 7000, 7100), 0);     /* the freed slot */
    assert_int_equal(s.n, 16);
    /* A split that cannot get a slot drops the whole range. */
    assert_int_equal(rs_spanset_remove(&s, 310, 320), -1);
    assert_int_equal(s.n, 15);
    assert_false(rs_spanset_contains(&s, 300));
    assert_false(rs_spanset_contains(&s, 349));
    assert_true(rs_spanset_contains(&s, 400));
    check_invariants(&s);
    rs_mem_set_backend(NULL);
    rs_spanset_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_merges_overlapping_and_touching),
        cmocka_unit_test(test_remove_trims_and_splits),
        cmocka_unit_test(test_random_against_bitmap),
        cmocka_unit_test(test_out_of_memory_holds_less),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
