/*
 * test_escape.c - unit tests of lib/model/escape.c: printable bytes (and
 * UTF-8 bytes) as they are; newline, tab, CR and backslash by name; other
 * controls and DEL as \xNN.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "escape.h"

#include <string.h>

/* The quoted form of c as a string. */
static const char *quote(unsigned char c, char buf[5])
{
    unsigned n = rs_escape_byte(c, buf);
    buf[n] = '\0';
    return buf;
}

static void test_escape_byte(void **state)
{
    (void)state;
    char b[5];
    assert_string_equal(quote('a', b), "a");
    assert_string_equal(quote(' ', b), " ");
    assert_string_equal(quote(0xc3, b), "\xc3");
    assert_string_equal(quote('\n', b), "\\n");
    assert_string_equal(quote('\t', b), "\\t");
    assert_string_equal(quote('\r', b), "\\r");
    assert_string_equal(quote('\\', b), "\\\\");
    assert_string_equal(quote(0x1b, b), "\\x1b");
    assert_string_equal(quote(0x00, b), "\\x00");
    assert_string_equal(quote(0x7f, b), "\\x7f");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
