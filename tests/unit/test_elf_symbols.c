/*
 * test_elf_symbols.c - unit tests of preload/elf_symbols.c: its lookup
 * finds what dlsym(RTLD_DEFAULT) finds (functions, data, an IFUNC, a
 * versioned function with older versions), nothing for names no module
 * defines, and never touches dlerror's state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "elf_symbols.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>


static void expect_same(const char *name)
{
    void *want = dlsym(RTLD_DEFAULT, name);
    if (!want)
        fail_msg("%s: dlsym finds nothing", name);
    void *got = rs_elf_symbol(name);
    if (got != want)
        fail_msg("%s: rs_elf_symbol %p, dlsym %p", name, got, want);
}

static void test_same_as_dlsym(void **state)
{
    (void)state;
    static const char *const names[] = {
        "malloc", "free", "printf",                   /* functions          */
        "_cmocka_run_group_tests",                    /* another library's  */
        "stdout", "environ", "program_invocation_name",  /* data            */
        "memcpy", "strlen",                           /* IFUNCs in glibc     */
        "pthread_create", "realpath",                 /* several versions    */
        "dlsym",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        expect_same(names[i]);
}

static void test_missing(void **state)
{
    (void)state;
    assert_null(rs_elf_symbol("rs_no_such_symbol_anywhere"));
    assert_null(rs_elf_symbol(""));
    assert_null(rs_elf_symbol(NULL));
}

static void test_dlerror_untouched(void **state)
{
    (void)state;
    (void)dlerror();
    assert_null(dlsym(RTLD_DEFAULT, "rs_no_such_symbol_anywhere"));
    /* The program's pending error stays, through lookups that fail and
     * lookups that succeed. */
    assert_null(rs_elf_symbol("rs_another_missing_symbol"));
    assert_non_null(rs_elf_symbol("malloc"));
    const char *e = dlerror();
    assert_non_null(e);
    assert_non_null(strstr(e, "rs_no_such_symbol_anywhere"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_dlsym),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_dlerror_untouched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
