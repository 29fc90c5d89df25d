/*
 * test_graphviz.c - unit tests of lib/report/graphviz with stand-in `dot`
 * scripts (so they do not depend on Graphviz): finding dot on PATH, the
 * SVG kept from its <svg> tag on, the DOT text arriving on dot's stdin,
 * and a failing or silent dot reported as failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "graphviz.h"

static char dir[64];
static char dot[128];

/* Writes dir/dot as a shell script with the given body. */
static void fake_dot(const char *body)
{
    FILE *f = fopen(dot, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    fclose(f);
    chmod(dot, 0755);
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/rs-dot-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(dot, sizeof dot, "%s/dot", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(dot);
    rmdir(dir);
    return 0;
}

static void test_find(void **state)
{
    (void)state;
    char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    char path[256];
    snprintf(path, sizeof path, "/nonexistent:%s", dir);
    setenv("PATH", "/nonexistent", 1);
    assert_null(rs_graphviz_find_dot());
    fake_dot("exit 0");
    setenv("PATH", path, 1);
    char *found = rs_graphviz_find_dot();
    assert_non_null(found);
    assert_string_equal(found, dot);
    free(found);
    if (old)
        setenv("PATH", old, 1);
    free(old);
}

static void test_svg_from_stdin(void **state)
{
    (void)state;
    /* echoes the prolog, then the DOT text it got inside <svg> */
    fake_dot("[ \"$1\" = -Tsvg ] || exit 3\n"
             "echo '<?xml version=\"1.0\"?>'\necho '<!DOCTYPE svg>'\n"
             "printf '<svg>'; cat; printf '</svg>\\n'");
    static const char graph[] = "digraph refscope { b0 -> b1 }";
    char *svg = NULL;
    assert_int_equal(rs_graphviz_svg(dot, graph, sizeof graph - 1, &svg), 0);
    assert_string_equal(svg, "<svg>digraph refscope { b0 -> b1 }</svg>\n");
    free(svg);
}

static void test_big_graph(void **state)
{
    (void)state;
    fake_dot("printf '<svg>'; wc -c | tr -d ' \\n'; printf '</svg>'");
    size_t n = 1u << 20;                 /* larger than a pipe buffer */
    char *graph = malloc(n);
    memset(graph, 'x', n);
    char *svg = NULL;
    assert_int_equal(rs_graphviz_svg(dot, graph, n, &svg), 0);
    assert_string_equal(svg, "<svg>1048576</svg>");
    free(svg);
    free(graph);
}

static void test_failures(void **state)
{
    (void)state;
    char *svg = (char *)1;
    fake_dot("echo '<svg></svg>'; exit 1");
    assert_int_equal(rs_graphviz_svg(dot, "x", 1, &svg), -1);
    assert_null(svg);
    fake_dot("echo 'no picture'");
    assert_int_equal(rs_graphviz_svg(dot, "x", 1, &svg), -1);
    assert_null(svg);
    assert_int_equal(rs_graphviz_svg("/nonexistent/dot", "x", 1, &svg), -1);
    assert_null(svg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_svg_from_stdin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_graph, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
