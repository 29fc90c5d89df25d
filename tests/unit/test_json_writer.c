/*
 * test_json_writer.c - unit tests of lib/json_writer: escaping, UTF-8
 * repair, separators and indentation, misuse and write errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json_writer.h"

/* Escapes len bytes of s into a fresh string (caller frees). */
static char *escape(const char *s, size_t len)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    assert_non_null(f);
    assert_int_equal(rs_json_escape(f, s, len), 0);
    fclose(f);
    return buf;
}

static void check_escape(const char *in, size_t len, const char *want)
{
    char *got = escape(in, len);
    assert_string_equal(got, want);
    free(got);
}

static void test_escape_specials(void **state)
{
    check_escape("a\"b\\c", 5, "a\\\"b\\\\c");
    check_escape("\n\r\t\b\f", 5, "\\n\\r\\t\\b\\f");
    check_escape("\x01\x1f\x7f", 3, "\\u0001\\u001f\\u007f");
    check_escape("a\0b", 3, "a\\u0000b");
    check_escape("/plain path.c", 13, "/plain path.c");
}

static void test_escape_valid_utf8(void **state)
{
    const char *s = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";
    check_escape(s, strlen(s), s);
}

static void test_escape_invalid_utf8(void **state)
{
    /* lone continuation byte */
    check_escape("a\x80z", 3, "a\\ufffdz");
    /* overlong encoding of '/': C0 is never a lead byte */
    check_escape("\xc0\xaf", 2, "\\ufffd\\ufffd");
    /* truncated 3-byte sequence at the end: one maximal subpart */
    check_escape("x\xe2\x82", 3, "x\\ufffd");
    /* truncated sequence followed by ASCII keeps the ASCII */
    check_escape("\xe2\x82z", 3, "\\ufffdz");
    /* UTF-16 surrogate U+D800 encoded in UTF-8 */
    check_escape("\xed\xa0\x80", 3, "\\ufffd\\ufffd\\ufffd");
    /* above U+10FFFF */
    check_escape("\xf4\x90\x80\x80", 4, "\\ufffd\\ufffd\\ufffd\\ufffd");
    /* 0xFF never appears in UTF-8 */
    check_escape("\xff", 1, "\\ufffd");
}

/* Runs a writer over a memstream; returns the text, *rc the finish code. */
typedef void (*emit_fn)(rs_json_t *j);

static char *render(emit_fn emit, int indent, int *rc)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    rs_json_t j;
    assert_non_null(f);
    rs_json_init(&j, f, indent);
    emit(&j);
    *rc = rs_json_finish(&j);
    fclose(f);
    return buf;
}

static void emit_document(rs_json_t *j)
{
    rs_json_begin_object(j);
    rs_json_key(j, "pid");
    rs_json_int(j, -5);
    rs_json_key(j, "argv");
    rs_json_begin_array(j);
    rs_json_string(j, "./prog");
    rs_json_string(j, "a\"b");
    rs_json_end_array(j);
    rs_json_key(j, "empty");
    rs_json_begin_array(j);
    rs_json_end_array(j);
    rs_json_key(j, "status");
    rs_json_null(j);
    rs_json_key(j, "file");
    rs_json_string(j, NULL);
    rs_json_key(j, "ok");
    rs_json_bool(j, 1);
    rs_json_key(j, "address");
    rs_json_hex(j, 0x7f00dead);
    rs_json_key(j, "big");
    rs_json_uint(j, UINT64_MAX);
    rs_json_key(j, "k\n");
    rs_json_begin_object(j);
    rs_json_end_object(j);
    rs_json_end_object(j);
}

static void test_compact_document(void **state)
{
    int rc;
    char *s = render(emit_document, 0, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(s,
        "{\"pid\":-5,\"argv\":[\"./prog\",\"a\\\"b\"],\"empty\":[],"
        "\"status\":null,\"file\":null,\"ok\":true,\"address\":\"0x7f00dead\","
        "\"big\":18446744073709551615,\"k\\n\":{}}\n");
    free(s);
}

static void emit_small(rs_json_t *j)
{
    rs_json_begin_array(j);
    rs_json_begin_object(j);
    rs_json_key(j, "a");
    rs_json_int(j, 1);
    rs_json_key(j, "b");
    rs_json_begin_array(j);
    rs_json_int(j, 2);
    rs_json_end_array(j);
    rs_json_end_object(j);
    rs_json_end_array(j);
}

static void test_pretty_document(void **state)
{
    int rc;
    char *s = render(emit_small, 2, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(s,
        "[\n  {\n    \"a\": 1,\n    \"b\": [\n      2\n    ]\n  }\n]\n");
    free(s);
}

static void emit_value_without_key(rs_json_t *j)
{
    rs_json_begin_object(j);
    rs_json_int(j, 1);
    rs_json_end_object(j);
}

static void emit_unbalanced(rs_json_t *j)
{
    rs_json_begin_object(j);
    rs_json_key(j, "a");
    rs_json_begin_array(j);
}

static void emit_mismatched_end(rs_json_t *j)
{
    rs_json_begin_object(j);
    rs_json_end_array(j);
}

static void emit_key_in_array(rs_json_t *j)
{
    rs_json_begin_array(j);
    rs_json_key(j, "a");
    rs_json_end_array(j);
}

static void emit_dangling_key(rs_json_t *j)
{
    rs_json_begin_object(j);
    rs_json_key(j, "a");
    rs_json_end_object(j);
}

static void emit_too_deep(rs_json_t *j)
{
    for (int i = 0; i < RS_JSON_MAX_DEPTH + 1; i++)
        rs_json_begin_array(j);
    for (int i = 0; i < RS_JSON_MAX_DEPTH + 1; i++)
        rs_json_end_array(j);
}

static void test_misuse_is_reported(void **state)
{
    emit_fn bad[] = {
        emit_value_without_key, emit_unbalanced, emit_mismatched_end,
        emit_key_in_array, emit_dangling_key, emit_too_deep,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc;
        char *s = render(bad[i], 0, &rc);
        assert_int_equal(rc, -1);
        free(s);
    }
}

static void test_write_error_is_reported(void **state)
{
    char buf[8];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    rs_json_t j;
    assert_non_null(f);
    setvbuf(f, NULL, _IONBF, 0);
    rs_json_init(&j, f, 0);
    rs_json_begin_array(&j);
    for (int i = 0; i < 10; i++)
        rs_json_string(&j, "longer than the buffer");
    rs_json_end_array(&j);
    assert_int_equal(rs_json_finish(&j), -1);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_specials),
        cmocka_unit_test(test_escape_valid_utf8),
        cmocka_unit_test(test_escape_invalid_utf8),
        cmocka_unit_test(test_compact_document),
        cmocka_unit_test(test_pretty_document),
        cmocka_unit_test(test_misuse_is_reported),
        cmocka_unit_test(test_write_error_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
