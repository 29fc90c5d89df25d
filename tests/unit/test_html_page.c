/*
 * test_html_page.c - unit tests of lib/report/html_page: the frame of a
 * page (escaped title, inline style and script, sticky bar, main), and
 * the summary chips (figures, singular, muted when empty).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "html_page.h"

static char *render(void (*fn)(FILE *))
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    fn(out);
    fclose(out);
    char *copy = strdup(buf);
    free(buf);
    return copy;
}

static void frame(FILE *out)
{
    rs_html_page_begin(out, "a <b> & c");
    rs_html_page_bar_end(out);
    fputs("BODY", out);
    rs_html_page_end(out);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void test_frame(void **state)
{
    (void)state;
    char *p = render(frame);
    assert_memory_equal(p, "<!DOCTYPE html>\n<html lang=\"en\">", 31);
    assert_int_equal(count(p, "<title>a &lt;b&gt; &amp; c</title>"), 1);
    assert_int_equal(count(p, "<h1>a &lt;b&gt; &amp; c</h1>"), 1);
    assert_int_equal(count(p, "<header class=\"top\">"), 1);
    assert_non_null(strstr(p, "header.top{position:sticky;top:0"));
    /* the bar, then main with the body, then the end */
    const char *bar = strstr(p, "</header>\n<main>\n"), *body = strstr(p, "BODY");
    assert_true(bar && body && bar < body);
    assert_string_equal(body, "BODY</main>\n</body>\n</html>\n");
    /* inline only: one <style>, one <script>, nothing fetched */
    assert_int_equal(count(p, "<style>"), 1);
    assert_int_equal(count(p, "<script>"), 1);
    assert_null(strstr(p, "src="));
    assert_null(strstr(p, "href="));
    assert_null(strstr(p, "url("));
    assert_non_null(strstr(p, "data-js-errors"));
    assert_non_null(strstr(p, "data-js-ready"));
    free(p);
}

static void chips(FILE *out)
{
    rs_html_chip(out, "c-leaked", "leaked", 24, 1);
    rs_html_chip(out, "c-cycle", "cyc<le", 0, 0);
    rs_html_chip_count(out, "c-rc_error", "rc errors", 3);
    rs_html_chip_count(out, "c-rc_error", "none", 0);
}

static void test_chips(void **state)
{
    (void)state;
    char *p = render(chips);
    assert_non_null(strstr(p, "<span class=\"chip c-leaked\"><b>leaked</b>24 B / 1 block</span>"));
    assert_non_null(strstr(p, "<span class=\"chip c-cycle zero\"><b>cyc&lt;le</b>0 B / 0 blocks</span>"));
    assert_non_null(strstr(p, "<span class=\"chip c-rc_error\"><b>rc errors</b>3</span>"));
    assert_non_null(strstr(p, "<span class=\"chip c-rc_error zero\"><b>none</b>0</span>"));
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame),
        cmocka_unit_test(test_chips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
