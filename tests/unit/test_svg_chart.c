/*
 * test_svg_chart.c - unit tests of lib/report/svg_chart: the nice axis
 * maximum, the y and x scales, and an SVG with one point per snapshot,
 * escaped labels and hover titles.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "svg_chart.h"

static void test_nice_max(void **state)
{
    (void)state;
    assert_int_equal(rs_chart_nice_max(0), 1);
    assert_int_equal(rs_chart_nice_max(1), 1);
    assert_int_equal(rs_chart_nice_max(2), 2);
    assert_int_equal(rs_chart_nice_max(3), 5);
    assert_int_equal(rs_chart_nice_max(7), 10);
    assert_int_equal(rs_chart_nice_max(10), 10);
    assert_int_equal(rs_chart_nice_max(11), 20);
    assert_int_equal(rs_chart_nice_max(4096), 5000);
    assert_int_equal(rs_chart_nice_max(3200000), 5000000);
    assert_int_equal(rs_chart_nice_max(UINT64_MAX), UINT64_MAX);
}

static void test_scales(void **state)
{
    (void)state;
    /* axis 0..1000 drawn from y=300 (bottom) up to y=100 (top) */
    assert_true(rs_chart_y(0, 1000, 100, 300) == 300);
    assert_true(rs_chart_y(1000, 1000, 100, 300) == 100);
    assert_true(rs_chart_y(500, 1000, 100, 300) == 200);
    assert_true(rs_chart_y(250, 1000, 100, 300) == 250);
    assert_true(rs_chart_y(5, 0, 100, 300) == 300);
    assert_true(rs_chart_x(0, 5, 50, 450) == 50);
    assert_true(rs_chart_x(4, 5, 50, 450) == 450);
    assert_true(rs_chart_x(2, 5, 50, 450) == 250);
    assert_true(rs_chart_x(0, 1, 50, 450) == 250);
}

static void test_svg(void **state)
{
    (void)state;
    static const uint64_t a[] = { 0, 4096, 8192 }, b[] = { 10, 10, 10 };
    const char *x[] = { "#0 start", "#1 <mid>", "#2 end" };
    rs_chart_series_t s[] = { { "grow<T>", a }, { "flat", b } };
    rs_chart_t c = { .x_labels = x, .n_points = 3, .series = s, .n_series = 2,
                     .unit = "bytes", .width = 800, .height = 400 };
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    rs_chart_svg(out, &c);
    fclose(out);
    assert_non_null(strstr(buf, "<svg "));
    assert_int_equal(strstr(buf, "</svg>") - buf + 7, (long)len);
    /* the axis goes to 10000, the nice maximum over 8192 */
    assert_non_null(strstr(buf, ">10000</text>"));
    assert_non_null(strstr(buf, "<title>grow&lt;T&gt; @ #1 &lt;mid&gt;: 4096 bytes</title>"));
    assert_null(strstr(buf, "grow<T>"));
    /* one polyline per series, one circle per point */
    size_t lines = 0, circles = 0;
    for (const char *p = buf; (p = strstr(p, "<polyline")); p++)
        lines++;
    for (const char *p = buf; (p = strstr(p, "<circle")); p++)
        circles++;
    assert_int_equal(lines, 2);
    assert_int_equal(circles, 6);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nice_max),
        cmocka_unit_test(test_scales),
        cmocka_unit_test(test_svg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
