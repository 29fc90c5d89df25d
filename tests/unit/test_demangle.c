/*
 * test_demangle.c - cmocka tests for lib/report/demangle: C++ names and
 * Rust names (legacy and v0) become readable; C names, names that only look
 * mangled, and NULL give NULL (the caller keeps the name as it is).
 */
#include "demangle.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

static void expect(const char *mangled, const char *want)
{
    char *got = rs_demangle(mangled);
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_cxx_names(void **state)
{
    (void)state;
    expect("_ZN2os6mallocEm8MEMFLAGSRK15NativeCallStack",
           "os::malloc(unsigned long, MEMFLAGS, NativeCallStack const&)");
    expect("_Znwm", "operator new(unsigned long)");
    expect("_ZSt9terminatev", "std::terminate()");
    expect("_ZN3app7Factory5buildEv", "app::Factory::build()");
}

/* Rust: legacy names lose their hash and escapes, v0 names are decoded. */
static void test_rust_names(void **state)
{
    (void)state;
    expect("_ZN4core3fmt5write17h0123456789abcdefE", "core::fmt::write");
    expect("_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17ha86af84d9cc65291E",
           "std::rt::lang_start::{{closure}}");
    expect("_RNvNtCsjrHSEGnQ3l9_3std2rt19lang_start_internal",
           "std::rt::lang_start_internal");
}

static void test_not_mangled(void **state)
{
    (void)state;
    expect(NULL, NULL);
    expect("", NULL);
    expect("main", NULL);
    expect("_start", NULL);
    expect("_Z", NULL);          /* the prefix alone */
    expect("_Zqqq", NULL);       /* malformed */
    expect("_Dmain", NULL);      /* D's prefix: not tried */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cxx_names),
        cmocka_unit_test(test_rust_names),
        cmocka_unit_test(test_not_mangled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
