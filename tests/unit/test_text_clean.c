/*
 * test_text_clean.c - unit tests of lib/report/text_clean.c: clean text
 * (ASCII, well-formed UTF-8) comes back as the same pointer; C0 controls,
 * DEL, C1 controls and ill-formed UTF-8 are escaped as \xNN; an escaped
 * form that does not fit is cut with "..." between two units.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "text_clean.h"

#include <string.h>

static void test_clean_text_unchanged(void **state)
{
    (void)state;
    char buf[64];
    const char *names[] = { "", "Node", "std::vector<int, std::allocator<int> >",
                            "caf\xc3\xa9", "\xe2\x86\x92 \xf0\x9f\x90\x8d", "a\\b" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        assert_ptr_equal(rs_text_clean(names[i], buf, sizeof buf), names[i]);
    assert_null(rs_text_clean(NULL, buf, sizeof buf));
}

static void test_controls_escaped(void **state)
{
    (void)state;
    char buf[128];
    /* A line a CI log would read as a command, and a terminal colour. */
    assert_string_equal(rs_text_clean("Node\n::error::x", buf, sizeof buf),
                        "Node\\x0a::error::x");
    assert_string_equal(rs_text_clean("l\x1b[31meak", buf, sizeof buf),
                        "l\\x1b[31meak");
    assert_string_equal(rs_text_clean("a\rb\tc\x7f", buf, sizeof buf),
                        "a\\x0db\\x09c\\x7f");
    /* C1: U+009B (CSI) is escaped byte by byte; U+00A0 is text. */
    assert_string_equal(rs_text_clean("x\xc2\x9by\xc2\xa0", buf, sizeof buf),
                        "x\\xc2\\x9by\xc2\xa0");
    /* Ill-formed UTF-8: a lone continuation byte, a truncated sequence,
     * an overlong '/'. */
    assert_string_equal(rs_text_clean("\x80z\xe2\x86", buf, sizeof buf),
                        "\\x80z\\xe2\\x86");
    assert_string_equal(rs_text_clean("\xc0\xaf", buf, sizeof buf), "\\xc0\\xaf");
}

static void test_cut_to_fit(void **state)
{
    (void)state;
    char buf[16];
    /* 12 bytes of room before "...": "ab" (2), then escapes of 4 each. */
    assert_string_equal(rs_text_clean("ab\x01\x02\x03\x04", buf, sizeof buf),
                        "ab\\x01\\x02...");
    /* Never cut inside a character: the 3-byte arrow does not fit. */
    assert_string_equal(rs_text_clean("\x01\x02\xe2\x86\x92zz", buf, 14),
                        "\\x01\\x02...");
    char big[2000];
    memset(big, 'a', sizeof big - 2);
    big[sizeof big - 2] = '\n';
    big[sizeof big - 1] = '\0';
    char out[RS_TEXT_CLEAN_BUF];
    const char *r = rs_text_clean(big, out, sizeof out);
    assert_ptr_equal(r, out);
    assert_int_equal(strlen(r), sizeof out - 1);
    assert_string_equal(r + sizeof out - 4, "...");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_text_unchanged),
        cmocka_unit_test(test_controls_escaped),
        cmocka_unit_test(test_cut_to_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
