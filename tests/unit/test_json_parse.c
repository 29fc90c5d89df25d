/*
 * test_json_parse.c - unit tests of lib/report/json_parse.c: values, escapes,
 * numbers, every class of syntax error with its line and column, depth
 * limits, and random garbage (which must never crash, only fail or
 * parse).  Round trip: what json_writer writes, json_parse reads back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "json_parse.h"
#include "json_writer.h"

static rs_json_value_t *parse(const char *s, rs_json_parse_error_t *err)
{
    return rs_json_parse(s, strlen(s), err);
}

/* Asserts that s fails at line:col with a message containing what. */
static void expect_error(const char *s, uint32_t line, uint32_t col,
                         const char *what)
{
    rs_json_parse_error_t err;
    rs_json_value_t *v = parse(s, &err);
    if (v)
        fail_msg("parsed but should not have: %s", s);
    if (err.line != line || err.column != col || !strstr(err.message, what))
        fail_msg("for %s: expected %u:%u '%s', got %u:%u '%s'", s, line, col,
                 what, err.line, err.column, err.message);
}

static void test_values(void **state)
{
    rs_json_parse_error_t err;
    rs_json_value_t *v = parse(" {\"a\": [1, 2.5, -3, true, false, null],"
                               " \"b\": {\"c\": \"d\"}, \"a2\": 18446744073709551615}",
                               &err);
    assert_non_null(v);
    assert_int_equal(v->kind, RS_JSON_OBJECT);
    assert_int_equal(v->length, 3);
    const rs_json_value_t *a = rs_json_value_get(v, "a");
    assert_non_null(a);
    assert_int_equal(a->kind, RS_JSON_ARRAY);
    assert_int_equal(a->length, 6);
    assert_true(a->items[0]->is_uint);
    assert_int_equal(a->items[0]->uint, 1);
    assert_false(a->items[1]->is_uint);
    assert_true(a->items[1]->number == 2.5);
    assert_false(a->items[2]->is_uint);
    assert_true(a->items[2]->number == -3);
    assert_int_equal(a->items[3]->kind, RS_JSON_BOOL);
    assert_true(a->items[3]->boolean);
    assert_false(a->items[4]->boolean);
    assert_int_equal(a->items[5]->kind, RS_JSON_NULL);
    assert_string_equal(rs_json_value_string(
                            rs_json_value_get(rs_json_value_get(v, "b"), "c")),
                        "d");
    const rs_json_value_t *big = rs_json_value_get(v, "a2");
    assert_true(big->is_uint);
    assert_true(big->uint == UINT64_MAX);
    assert_null(rs_json_value_get(v, "missing"));
    assert_null(rs_json_value_get(a, "a"));       /* not an object */
    assert_null(rs_json_value_string(a));
    assert_int_equal(a->line, 1);
    assert_int_equal(a->column, 8);
    rs_json_value_free(v);
    rs_json_value_free(NULL);
}

static void test_numbers(void **state)
{
    rs_json_parse_error_t err;
    rs_json_value_t *v = parse("[0, 1e3, 18446744073709551616, 0.0]", &err);
    assert_non_null(v);
    assert_true(v->items[0]->is_uint && v->items[0]->uint == 0);
    assert_false(v->items[1]->is_uint);          /* exponent: not integral */
    assert_true(v->items[1]->number == 1000);
    assert_false(v->items[2]->is_uint);          /* overflows uint64 */
    assert_false(v->items[3]->is_uint);
    rs_json_value_free(v);
    expect_error("01", 1, 2, "leading zero");
    expect_error("-", 1, 2, "expected a digit");
    expect_error("1.", 1, 3, "after '.'");
    expect_error("1e+", 1, 4, "exponent");
    expect_error("+1", 1, 1, "expected a value");
}

static void test_strings(void **state)
{
    rs_json_parse_error_t err;
    rs_json_value_t *v = parse("\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"
                               "\\u0000z\"", &err);
    assert_non_null(v);
    static const char want[] = "a\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\0z";
    assert_int_equal(v->length, sizeof want - 1);
    assert_memory_equal(v->string, want, sizeof want - 1);
    rs_json_value_free(v);
    v = parse("\"caf\xc3\xa9\"", &err);
    assert_non_null(v);
    assert_string_equal(v->string, "caf\xc3\xa9");
    rs_json_value_free(v);
    expect_error("\"abc", 1, 1, "unterminated string");
    expect_error("\"a\\x\"", 1, 4, "invalid escape");
    expect_error("\"\\u12g4\"", 1, 6, "hex digit");
    expect_error("\"\\ud83d\"", 1, 2, "without its low half");
    expect_error("\"\\ude00\"", 1, 2, "lone low surrogate");
    expect_error("\"\\ud83d\\u0041\"", 1, 2, "followed by");
    expect_error("\"a\tb\"", 1, 3, "control character");
    expect_error("\"\xff\"", 1, 2, "invalid UTF-8");
    expect_error("\"\xc0\xaf\"", 1, 2, "invalid UTF-8");       /* overlong */
    expect_error("\"\xed\xa0\x80\"", 1, 2, "invalid UTF-8");   /* surrogate */
}

static void test_syntax_errors(void **state)
{
    expect_error("", 1, 1, "expected a value, found end of input");
    expect_error("  \n  ", 2, 3, "end of input");
    expect_error("{\"a\" 1}", 1, 6, "expected ':'");
    expect_error("{\"a\": 1,}", 1, 9, "expected a string key");
    expect_error("[1, 2,]", 1, 7, "expected a value");
    expect_error("[1 2]", 1, 4, "expected ',' or ']'");
    expect_error("{\"a\": 1\n \"b\": 2}", 2, 2, "expected ',' or '}'");
    expect_error("{1: 2}", 1, 2, "string key");
    expect_error("tru", 1, 1, "expected a value");
    expect_error("nul", 1, 1, "expected a value");
    expect_error("[1] x", 1, 5, "after the end of the document");
    expect_error("[1] [2]", 1, 5, "after the end");
    expect_error("// comment\n1", 1, 1, "expected a value");
    expect_error("NaN", 1, 1, "expected a value");
}

static void test_depth(void **state)
{
    char deep[RS_JSON_PARSE_MAX_DEPTH * 2 + 3];
    size_t n = RS_JSON_PARSE_MAX_DEPTH;
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = 0;
    rs_json_parse_error_t err;
    rs_json_value_t *v = parse(deep, &err);
    assert_non_null(v); /* exactly the limit is fine */
    rs_json_value_free(v);
    memset(deep, '[', n + 1);
    memset(deep + n + 1, ']', n + 1);
    deep[2 * n + 2] = 0;
    expect_error(deep, 1, (uint32_t)n + 1, "nesting deeper");
}

static void test_bom_and_whitespace(void **state)
{
    rs_json_parse_error_t err;
    rs_json_value_t *v = parse("\xef\xbb\xbf \r\n\t{ }\n", &err);
    assert_non_null(v);
    assert_int_equal(v->kind, RS_JSON_OBJECT);
    assert_int_equal(v->length, 0);
    rs_json_value_free(v);
}

/* Random bytes and random mutations of valid documents must never crash:
 * each input either parses or fails with a position inside the input. */
static void test_garbage(void **state)
{
    static const char base[] = "{\"refscope_baseline\": 1, \"findings\": "
                               "[{\"fingerprint\": \"0123456789abcdef\", "
                               "\"count\": 2, \"frames\": [\"f (a.c)\"]}]}";
    char buf[sizeof base];
    unsigned seed = 12345;
    for (int round = 0; round < 20000; round++) {
        memcpy(buf, base, sizeof base);
        size_t len = sizeof base - 1;
        int edits = 1 + rand_r(&seed) % 4;
        for (int e = 0; e < edits; e++)
            buf[rand_r(&seed) % len] = (char)(rand_r(&seed) % 256);
        if (round % 3 == 0)
            len = rand_r(&seed) % len;
        rs_json_parse_error_t err;
        rs_json_value_t *v = rs_json_parse(buf, len, &err);
        if (!v) {
            assert_true(err.message[0] != 0);
            assert_true(err.line >= 1 && err.line <= 2 + len);
        }
        rs_json_value_free(v);
    }
}

static void test_round_trip_with_writer(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    rs_json_t j;
    rs_json_init(&j, f, 2);
    rs_json_begin_object(&j);
    rs_json_key(&j, "s");
    rs_json_string(&j, "tab\there \"q\" \x01 \xff");
    rs_json_key(&j, "n");
    rs_json_uint(&j, 1234567890123ull);
    rs_json_key(&j, "neg");
    rs_json_int(&j, -5);
    rs_json_end_object(&j);
    assert_int_equal(rs_json_finish(&j), 0);
    fclose(f);
    rs_json_parse_error_t err;
    rs_json_value_t *v = rs_json_parse(text, len, &err);
    assert_non_null(v);
    assert_string_equal(rs_json_value_string(rs_json_value_get(v, "s")),
                        "tab\there \"q\" \x01 \xef\xbf\xbd");
    assert_true(rs_json_value_get(v, "n")->uint == 1234567890123ull);
    assert_true(rs_json_value_get(v, "neg")->number == -5);
    rs_json_value_free(v);
    free(text);
}

static void test_file(void **state)
{
    char path[] = "/tmp/test_json_parse.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\n  \"a\": [1,\n  ]\n}", 18), 18);
    close(fd);
    rs_json_parse_error_t err;
    assert_null(rs_json_parse_file(path, &err));
    assert_non_null(strstr(err.message, path));
    assert_non_null(strstr(err.message, "line 3, column 3"));
    unlink(path);
    assert_null(rs_json_parse_file(path, &err));
    assert_non_null(strstr(err.message, "No such file"));
    assert_null(rs_json_parse_file("/tmp", &err));      /* the read's own error */
    assert_string_equal(err.message, "/tmp: Is a directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_bom_and_whitespace),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_round_trip_with_writer),
        cmocka_unit_test(test_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
