/*
 * test_pyloc_table.c - unit tests of lib/model/pyloc_table.c: dense
 * indices in order of first interning, deduplication by (function, file,
 * line), texts cut at a NUL byte, lookups out of range, the copy for a
 * snapshot, growth past the first chunk and index, out of memory (nothing
 * added), and four threads interning overlapping locations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "test_support.h"

#include "pyloc_table.h"
#include "rs_mem.h"

static uint32_t intern(rs_pyloc_table_t *t, const char *fn, const char *file, uint32_t line)
{
    return rs_pyloc_table_intern(t, fn, strlen(fn), file, strlen(file), line);
}

static void assert_loc(const rs_pyloc_table_t *t, uint32_t i, const char *fn,
                       const char *file, uint32_t line)
{
    const rs_pyloc_t *l = rs_pyloc_table_get(t, i);
    assert_non_null(l);
    assert_string_equal(l->function, fn);
    assert_string_equal(l->file, file);
    assert_int_equal(l->line, line);
}

static void test_dedup(void **state)
{
    (void)state;
    rs_pyloc_table_t *t = rs_pyloc_table_create();
    assert_int_equal(intern(t, "make_garbage", "t.py", 7), 0);
    assert_int_equal(intern(t, "<module>", "t.py", 12), 1);
    assert_int_equal(intern(t, "make_garbage", "t.py", 8), 2);   /* another line */
    assert_int_equal(intern(t, "make_garbage", "u.py", 7), 3);   /* another file */
    assert_int_equal(intern(t, "make_garbage", "t.py", 7), 0);
    assert_int_equal(intern(t, "<module>", "t.py", 12), 1);
    /* a prefix is another text */
    assert_int_equal(intern(t, "make_garbag", "t.py", 7), 4);
    assert_int_equal(rs_pyloc_table_count(t), 5);
    assert_loc(t, 0, "make_garbage", "t.py", 7);
    assert_loc(t, 1, "<module>", "t.py", 12);
    assert_loc(t, 3, "make_garbage", "u.py", 7);
    assert_null(rs_pyloc_table_get(t, 5));
    assert_null(rs_pyloc_table_get(t, UINT32_MAX));
    rs_pyloc_table_destroy(t);
    rs_pyloc_table_destroy(NULL);
}

/* Lengths count bytes, not NUL-terminated strings; a NUL ends a text. */
static void test_lengths_and_nul(void **state)
{
    (void)state;
    rs_pyloc_table_t *t = rs_pyloc_table_create();
    assert_int_equal(rs_pyloc_table_intern(t, "f_long_name", 1, "a.pyXYZ", 4, 3), 0);
    assert_loc(t, 0, "f", "a.py", 3);
    assert_int_equal(rs_pyloc_table_intern(t, "f\0g", 3, "a.py", 4, 3), 0);
    assert_int_equal(rs_pyloc_table_intern(t, "", 0, "", 0, 0), 1);
    assert_loc(t, 1, "", "", 0);
    rs_pyloc_table_destroy(t);
}

static void test_copy(void **state)
{
    (void)state;
    rs_pyloc_table_t *t = rs_pyloc_table_create();
    rs_pyloc_t *out = (rs_pyloc_t *)1;
    uint32_t n = 7;
    assert_int_equal(rs_pyloc_table_copy(t, &out, &n), 0);
    assert_null(out);
    assert_int_equal(n, 0);
    intern(t, "a", "x.py", 1);
    intern(t, "b", "x.py", 2);
    assert_int_equal(rs_pyloc_table_copy(t, &out, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(out[1].function, "b");
    assert_int_equal(out[1].line, 2);
    rs_mem_free(out);
    rs_pyloc_table_destroy(t);
}

/* Thousands of locations: several chunks, the index rebuilt many times;
 * every one keeps its index and text. */
static void test_growth(void **state)
{
    (void)state;
    rs_pyloc_table_t *t = rs_pyloc_table_create();
    char fn[32];
    for (uint32_t i = 0; i < 5000; i++) {
        snprintf(fn, sizeof fn, "f%u", i % 700);
        assert_int_equal(intern(t, fn, "big.py", i), i);
    }
    for (uint32_t i = 0; i < 5000; i += 7) {
        snprintf(fn, sizeof fn, "f%u", i % 700);
        assert_int_equal(intern(t, fn, "big.py", i), i);
        assert_loc(t, i, fn, "big.py", i);
    }
    assert_int_equal(rs_pyloc_table_count(t), 5000);
    rs_pyloc_table_destroy(t);
}

/* With the chunk and index made, a new location needs two allocations
 * (its two texts): with fewer nothing is added; a known one needs none. */
static void test_out_of_memory(void **state)
{
    (void)state;
    rs_pyloc_table_t *t = rs_pyloc_table_create();
    assert_int_equal(intern(t, "a", "x.py", 1), 0);
    for (int k = 0; k < 2; k++) {
        allocs_left = k;
        rs_mem_set_backend(&failing);
        assert_int_equal(intern(t, "new", "x.py", 2), UINT32_MAX);
        assert_int_equal(intern(t, "a", "x.py", 1), 0);
        rs_mem_set_backend(NULL);
        assert_int_equal(rs_pyloc_table_count(t), 1);
    }
    allocs_left = 2;
    rs_mem_set_backend(&failing);
    assert_int_equal(intern(t, "new", "x.py", 2), 1);
    rs_mem_set_backend(NULL);
    assert_loc(t, 1, "new", "x.py", 2);
    rs_pyloc_table_destroy(t);
}

static rs_pyloc_table_t *shared;
static uint32_t seen[4][600];

static void *interner(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    char fn[32];
    for (uint32_t i = 0; i < 600; i++) {
        uint32_t k = (i * 7 + (uint32_t)id * 13) % 600;
        snprintf(fn, sizeof fn, "g%u", k);
        seen[id][k] = intern(shared, fn, "threads.py", k);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    shared = rs_pyloc_table_create();
    pthread_t th[4];
    for (uintptr_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, interner, (void *)i), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(rs_pyloc_table_count(shared), 600);
    char fn[32];
    for (uint32_t k = 0; k < 600; k++) {
        for (int i = 1; i < 4; i++)
            assert_int_equal(seen[i][k], seen[0][k]);
        snprintf(fn, sizeof fn, "g%u", k);
        assert_loc(shared, seen[0][k], fn, "threads.py", k);
    }
    rs_pyloc_table_destroy(shared);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dedup),
        cmocka_unit_test(test_lengths_and_nul),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
