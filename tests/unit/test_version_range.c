/*
 * test_version_range.c - cmocka tests for lib/model/version_range: the
 * bounds with and without a micro part (an upper bound without one covers
 * every micro release), the order of versions across parts, and every
 * malformed range leaving the result unchanged.
 */
#include "version_range.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void test_bounds(void **state)
{
    (void)state;
    rs_version_range_t r;
    assert_int_equal(rs_version_range_parse("1.22-1.28", &r), 0);
    assert_int_equal(r.min, rs_version_make(1, 22, 0));
    assert_int_equal(r.max, rs_version_make(1, 28, RS_VERSION_PART_MAX));
    assert_true(rs_version_range_has(&r, 1, 22, 0));
    assert_true(rs_version_range_has(&r, 1, 24, 12));
    assert_true(rs_version_range_has(&r, 1, 28, 999));
    assert_false(rs_version_range_has(&r, 1, 21, 999));
    assert_false(rs_version_range_has(&r, 1, 29, 0));
    assert_false(rs_version_range_has(&r, 2, 0, 0));
    assert_false(rs_version_range_has(&r, 0, 99, 0));

    assert_int_equal(rs_version_range_parse("1.22.3-1.22.3", &r), 0);
    assert_true(rs_version_range_has(&r, 1, 22, 3));
    assert_false(rs_version_range_has(&r, 1, 22, 2));
    assert_false(rs_version_range_has(&r, 1, 22, 4));

    assert_int_equal(rs_version_range_parse("0.10.36-999.999.999", &r), 0);
    assert_true(rs_version_range_has(&r, 1, 0, 0));
    assert_true(rs_version_range_has(&r, 5000, 0, 0));   /* clamped */
}

static void test_order(void **state)
{
    (void)state;
    assert_true(rs_version_make(1, 9, 999) < rs_version_make(1, 10, 0));
    assert_true(rs_version_make(1, 999, 999) < rs_version_make(2, 0, 0));
    assert_true(rs_version_make(1, 22, 1) < rs_version_make(1, 22, 2));
}

static void test_malformed(void **state)
{
    (void)state;
    const char *bad[] = { "", "1.22", "1.22-", "-1.28", "1-1.28", "1.22-1",
                          "1.22-1.28-1.30", "1.22 -1.28", "1.22-1.28 ", "1..22-1.28",
                          "1.22.-1.28", "1.x-1.28", "+1.22-1.28", "1.1000-1.28",
                          "1.22-1.28.1000", "1.28-1.22", "1.22.5-1.22.4", "a.b-c.d",
                          "1.22.3.4-1.28" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rs_version_range_t r = { 7, 9 };
        if (rs_version_range_parse(bad[i], &r) != -1)
            fail_msg("'%s' was accepted", bad[i]);
        assert_int_equal(r.min, 7);
        assert_int_equal(r.max, 9);
    }
    rs_version_range_t r = { 7, 9 };
    assert_int_equal(rs_version_range_parse(NULL, &r), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
