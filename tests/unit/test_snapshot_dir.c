/*
 * test_snapshot_dir - rs_snapshot_make_dir (lib/snapshot/snapshot_dir.c):
 * `mkdir -p` of the snapshot directory, in a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "snapshot_dir.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[PATH_MAX];

static int setup(void **state)
{
    (void)state;
    snprintf(base, sizeof base, "%s/rs-dir-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    return system(cmd) == 0 ? 0 : -1;
}

/* base/rel (base is a short mkdtemp name: the two fit). */
static const char *at(const char *rel)
{
    static char path[2 * PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", base, rel);
    return path;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    return st.st_mode & 07777;
}

static void test_parents_made(void **state)
{
    (void)state;
    int made = -1;
    assert_int_equal(rs_snapshot_make_dir(at("a/b/c"), &made), 0);
    assert_int_equal(made, 1);
    mode_of(at("a"));
    mode_of(at("a/b/c"));
    /* There already: nothing made, and the same with a trailing slash
     * and doubled slashes. */
    assert_int_equal(rs_snapshot_make_dir(at("a/b/c"), &made), 0);
    assert_int_equal(made, 0);
    assert_int_equal(rs_snapshot_make_dir(at("a//b/d/"), &made), 0);
    assert_int_equal(made, 1);
    mode_of(at("a/b/d"));
    assert_int_equal(rs_snapshot_make_dir(at("a/b/d/"), NULL), 0);
}

static void test_not_a_directory(void **state)
{
    (void)state;
    FILE *f = fopen(at("file"), "w");
    assert_non_null(f);
    fclose(f);
    int made = -1;
    errno = 0;
    assert_int_equal(rs_snapshot_make_dir(at("file"), &made), -1);
    assert_int_equal(errno, ENOTDIR);
    assert_int_equal(made, 0);
    errno = 0;
    assert_int_equal(rs_snapshot_make_dir(at("file/below"), NULL), -1);
    assert_int_equal(errno, ENOTDIR);
    errno = 0;
    assert_int_equal(rs_snapshot_make_dir("", NULL), -1);
    assert_int_equal(errno, ENOENT);
    char longer[PATH_MAX + 8];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    errno = 0;
    assert_int_equal(rs_snapshot_make_dir(longer, NULL), -1);
    assert_int_equal(errno, ENAMETOOLONG);
}

/* Under `umask 0777` a directory is made d---------; the owner gets rwx
 * back so that the process can write its snapshot (and, not as root,
 * make the next component). */
static void test_owner_can_write(void **state)
{
    (void)state;
    mode_t old = umask(0777);
    int rc = rs_snapshot_make_dir(at("u/v"), NULL);
    umask(old);
    assert_int_equal(rc, 0);
    assert_int_equal(mode_of(at("u")), 0700);
    assert_int_equal(mode_of(at("u/v")), 0700);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parents_made),
        cmocka_unit_test(test_not_a_directory),
        cmocka_unit_test(test_owner_can_write),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
