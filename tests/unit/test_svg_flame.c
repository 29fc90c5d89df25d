/*
 * test_svg_flame.c - unit tests of lib/report/svg_flame: shared prefixes
 * merge into one rectangle, callees lie inside their caller and their
 * widths add up to it (minus its self bytes), row 1 spans the root, and
 * the SVG carries escaped hover titles.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "svg_flame.h"

#include "test_support.h"

#define W 1000.0

static const rs_flame_rect_t *find(const rs_flame_t *f, const char *name,
                                   uint32_t depth)
{
    const rs_flame_rect_t *hit = NULL;
    for (uint32_t i = 0; i < f->n; i++)
        if (f->rects[i].depth == depth && f->rects[i].name_len == strlen(name) &&
            memcmp(f->rects[i].name, name, strlen(name)) == 0) {
            assert_null(hit);          /* merged: at most one per depth */
            hit = &f->rects[i];
        }
    return hit;
}

/* Checks the invariants of svg_flame.h on any layout: callees inside
 * their caller, their values adding up to the caller's minus self. */
static void check_invariants(const rs_flame_t *f, const uint64_t *self_of_root)
{
    double row1 = 0;
    for (uint32_t i = 0; i < f->n; i++) {
        const rs_flame_rect_t *p = &f->rects[i];
        uint64_t children = 0;
        double child_w = 0;
        for (uint32_t k = 0; k < f->n; k++) {
            const rs_flame_rect_t *c = &f->rects[k];
            if (c->depth != p->depth + 1 || c->start < p->start ||
                c->start >= p->start + p->value)
                continue;
            assert_true(c->start + c->value <= p->start + p->value);
            children += c->value;
            child_w += rs_flame_w(f, c, W);
        }
        assert_true(children <= p->value);
        assert_true(child_w <= rs_flame_w(f, p, W) + 1e-6);
        if (p->depth == 1)
            row1 += rs_flame_w(f, p, W);
    }
    double expect = W * (double)(f->total - *self_of_root) / (double)f->total;
    assert_true(row1 > expect - 1e-6 && row1 < expect + 1e-6);
}

static void test_merge_and_widths(void **state)
{
    (void)state;
    const char *stacks[] = { "main;a;b", "main;d", "x", "main;a;c", "main;a;b", "main" };
    const uint64_t bytes[] = { 10, 5, 7, 20, 1, 3 };
    rs_flame_t f;
    assert_int_equal(rs_flame_layout(stacks, bytes, 6, &f), 0);
    assert_int_equal(f.total, 46);
    assert_int_equal(f.max_depth, 3);
    const rs_flame_rect_t *root = find(&f, "all", 0), *m = find(&f, "main", 1),
                          *a = find(&f, "a", 2), *b = find(&f, "b", 3),
                          *c = find(&f, "c", 3), *d = find(&f, "d", 2),
                          *x = find(&f, "x", 1);
    assert_non_null(root);
    assert_non_null(m);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_non_null(d);
    assert_non_null(x);
    assert_int_equal(root->value, 46);
    assert_int_equal(m->value, 39);            /* 10+5+20+1+3 */
    assert_int_equal(a->value, 31);
    assert_int_equal(b->value, 11);            /* two stacks merged */
    assert_int_equal(c->value, 20);
    assert_int_equal(d->value, 5);
    assert_int_equal(x->value, 7);
    /* main's callees: a + d = 36 = 39 - 3 self bytes */
    assert_int_equal(a->value + d->value, m->value - 3);
    /* pixel widths of a and d add up to main's minus its self part */
    double wa = rs_flame_w(&f, a, W), wd = rs_flame_w(&f, d, W), wm = rs_flame_w(&f, m, W);
    assert_true(wa + wd > wm - W * 3 / 46 - 1e-6 && wa + wd < wm - W * 3 / 46 + 1e-6);
    assert_true(rs_flame_w(&f, root, W) == W);
    /* b and c lie side by side inside a */
    assert_true(b->start >= a->start && c->start >= a->start);
    assert_true(b->start + b->value == c->start || c->start + c->value == b->start);
    uint64_t zero = 0;
    check_invariants(&f, &zero);
    rs_flame_free(&f);
}

static void test_random_invariants(void **state)
{
    (void)state;
    static const char *const names[] = { "main", "f", "g", "h" };
    uint64_t seed = 0x9e3779b97f4a7c15u;
    for (int round = 0; round < 50; round++) {
        char *stacks[40];
        uint64_t bytes[40];
        uint32_t n = 1 + (uint32_t)(rs_test_xorshift(&seed) % 40);
        for (uint32_t i = 0; i < n; i++) {
            char buf[128] = "";
            uint32_t depth = 1 + (uint32_t)(rs_test_xorshift(&seed) % 6);
            for (uint32_t k = 0; k < depth; k++) {
                if (k)
                    strcat(buf, ";");
                strcat(buf, names[rs_test_xorshift(&seed) % 4]);
            }
            stacks[i] = strdup(buf);
            bytes[i] = 1 + rs_test_xorshift(&seed) % 1000;
        }
        rs_flame_t f;
        assert_int_equal(rs_flame_layout((const char *const *)stacks, bytes, n, &f), 0);
        uint64_t sum = 0, zero = 0;
        for (uint32_t i = 0; i < n; i++)
            sum += bytes[i];
        assert_int_equal(f.total, sum);
        check_invariants(&f, &zero);
        rs_flame_free(&f);
        for (uint32_t i = 0; i < n; i++)
            free(stacks[i]);
    }
}

static void test_svg(void **state)
{
    (void)state;
    const char *stacks[] = { "main;operator<<" };
    const uint64_t bytes[] = { 64 };
    rs_flame_t f;
    assert_int_equal(rs_flame_layout(stacks, bytes, 1, &f), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    rs_flame_svg(out, &f, W);
    fclose(out);
    assert_non_null(strstr(buf, "<svg "));
    assert_non_null(strstr(buf, "<title>operator&lt;&lt; (64 bytes, 100.0%)</title>"));
    assert_non_null(strstr(buf, "<title>main (64 bytes, 100.0%)</title>"));
    assert_null(strstr(buf, "operator<<"));
    free(buf);
    rs_flame_free(&f);
}

static void test_empty(void **state)
{
    (void)state;
    rs_flame_t f;
    assert_int_equal(rs_flame_layout(NULL, NULL, 0, &f), 0);
    assert_int_equal(f.total, 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    rs_flame_svg(out, &f, W);
    fclose(out);
    assert_non_null(strstr(buf, "no leaked bytes"));
    free(buf);
    rs_flame_free(&f);
    rs_flame_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_and_widths),
        cmocka_unit_test(test_random_invariants),
        cmocka_unit_test(test_svg),
        cmocka_unit_test(test_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
