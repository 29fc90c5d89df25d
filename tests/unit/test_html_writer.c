/*
 * test_html_writer.c - unit tests of lib/report/html_writer: every
 * character with a meaning in HTML is escaped, control characters are
 * made visible, formatted arguments are escaped, and the buffer form
 * reports the length it needs like snprintf.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "html_writer.h"

/* Runs fn on a memory stream and returns what it wrote (malloc'ed). */
#define CAPTURE(buf, stmt)                              \
    do {                                                \
        size_t len_ = 0;                                \
        FILE *out = open_memstream(&(buf), &len_);      \
        stmt;                                           \
        fclose(out);                                    \
    } while (0)

static void test_text_escapes_markup(void **state)
{
    (void)state;
    char *buf = NULL;
    CAPTURE(buf, rs_html_text(out, "a<b>&\"c\"'d' </script>"));
    assert_string_equal(buf, "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39; &lt;/script&gt;");
    free(buf);
}

static void test_text_control_chars(void **state)
{
    (void)state;
    char *buf = NULL;
    CAPTURE(buf, rs_html_text(out, "tab\there\nnl\x01\x1b[0m\x7f"));
    assert_string_equal(buf, "tab\there\nnl\\x01\\x1b[0m\\x7f");
    free(buf);
    CAPTURE(buf, rs_html_text_n(out, "a\0b", 3));
    assert_string_equal(buf, "a\\x00b");
    free(buf);
    /* a page is UTF-8: a stray byte, a cut sequence and an overlong '<'
     * are shown as \xNN; U+00E9 and U+1F600 pass whole */
    CAPTURE(buf, rs_html_text(out, "\xe9t\xc3\xa9\xf0\x9f\x98\x80\xc0\xbc\xe2\x82"));
    assert_string_equal(buf, "\\xe9t\xc3\xa9\xf0\x9f\x98\x80\\xc0\\xbc\\xe2\\x82");
    free(buf);
    CAPTURE(buf, rs_html_text(out, NULL));
    assert_string_equal(buf, "");
    free(buf);
}

static void test_textf_escapes_arguments(void **state)
{
    (void)state;
    char *buf = NULL;
    CAPTURE(buf, rs_html_textf(out, "%s has %d <bytes>", "f<T>", 42));
    assert_string_equal(buf, "f&lt;T&gt; has 42 &lt;bytes&gt;");
    free(buf);
    /* longer than the function's stack buffer */
    char big[2000];
    memset(big, '<', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CAPTURE(buf, rs_html_textf(out, "[%s]", big));
    assert_int_equal(strlen(buf), 2 + 4 * (sizeof big - 1));
    assert_memory_equal(buf, "[&lt;", 5);
    assert_int_equal(buf[strlen(buf) - 1], ']');
    free(buf);
}

static void test_elements(void **state)
{
    (void)state;
    char *buf = NULL;
    CAPTURE(buf, (rs_html_elem(out, "td", "fn", "a&b"), rs_html_open(out, "div", NULL),
                  rs_html_close(out, "div")));
    assert_string_equal(buf, "<td class=\"fn\">a&amp;b</td><div></div>");
    free(buf);
}

static void test_escape_buffer(void **state)
{
    (void)state;
    char dst[8];
    assert_int_equal(rs_html_escape(dst, sizeof dst, "x<y"), 6);
    assert_string_equal(dst, "x&lt;y");
    /* cut: needs 12, gets the whole escapes that fit in 7 and the NUL,
     * never half of one (a dangling "&lt" would be broken markup) */
    assert_int_equal(rs_html_escape(dst, sizeof dst, "<<<"), 12);
    assert_string_equal(dst, "&lt;");
    /* nor half of a UTF-8 character: "aaaaaa" + U+00E9 needs 8 */
    assert_int_equal(rs_html_escape(dst, sizeof dst, "aaaaaa\xc3\xa9"), 8);
    assert_string_equal(dst, "aaaaaa");
    /* bytes that start no well-formed sequence are shown as \xNN, so the
     * page stays UTF-8; a well-formed one passes */
    assert_int_equal(rs_html_escape(dst, sizeof dst, "\xff\xc3\xa9"), 6);
    assert_string_equal(dst, "\\xff\xc3\xa9");
    assert_int_equal(rs_html_escape(dst, sizeof dst, "\xed\xa0\x80"), 12);  /* a surrogate */
    assert_int_equal(rs_html_escape(dst, sizeof dst, NULL), 0);
    assert_string_equal(dst, "");
    assert_int_equal(rs_html_escape(NULL, 0, "&"), 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_escapes_markup),
        cmocka_unit_test(test_text_control_chars),
        cmocka_unit_test(test_textf_escapes_arguments),
        cmocka_unit_test(test_elements),
        cmocka_unit_test(test_escape_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
