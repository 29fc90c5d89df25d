/*
 * test_source_cache.c - unit tests of lib/report/source_cache: lines by
 * number (CRLF, last line without newline, empty lines), out-of-range
 * numbers, missing files and directories, and that a file is read once.
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

#include "source_cache.h"

static char path[64];

static int setup(void **state)
{
    (void)state;
    strcpy(path, "/tmp/rs-src-XXXXXX");
    int fd = mkstemp(path);
    static const char text[] = "int a;\r\n\n  return x < y;\nlast";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static void expect_line(rs_source_cache_t *c, uint32_t n, const char *want)
{
    const char *t;
    size_t len;
    assert_int_equal(rs_source_line(c, path, n, &t, &len), 0);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(t, want, len);
}

static void test_lines(void **state)
{
    (void)state;
    rs_source_cache_t *c = rs_source_cache_create();
    expect_line(c, 1, "int a;");
    expect_line(c, 2, "");
    expect_line(c, 3, "  return x < y;");
    expect_line(c, 4, "last");
    const char *t;
    size_t len;
    assert_int_equal(rs_source_line(c, path, 0, &t, &len), -1);
    assert_int_equal(rs_source_line(c, path, 5, &t, &len), -1);
    /* cached: the file may go away and its lines stay */
    unlink(path);
    expect_line(c, 3, "  return x < y;");
    rs_source_cache_destroy(c);
}

static void test_unreadable(void **state)
{
    (void)state;
    rs_source_cache_t *c = rs_source_cache_create();
    const char *t = NULL;
    size_t len = 0;
    assert_int_equal(rs_source_line(c, "/nonexistent/x.c", 1, &t, &len), -1);
    assert_int_equal(rs_source_line(c, "/nonexistent/x.c", 1, &t, &len), -1);
    assert_int_equal(rs_source_line(c, "/tmp", 1, &t, &len), -1);
    rs_source_cache_destroy(c);
    rs_source_cache_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lines, setup, teardown),
        cmocka_unit_test(test_unreadable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
