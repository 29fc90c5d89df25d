/*
 * test_setting_values.c - cmocka tests for lib/model/setting_values: every
 * form of signal (numbers, names with and without SIG, RTMIN+n, RTMAX-n)
 * and what is malformed; which signals refscope refuses to catch and why
 * (the fault signals, whose handler would make a crashing program retry
 * its fault forever); periods with each unit, their minimum and overflow.
 */
#include "setting_values.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

static int parsed(const char *v)
{
    int sig = -12345;
    assert_int_equal(rs_signal_parse(v, &sig), 0);
    return sig;
}

static void assert_malformed(const char *v)
{
    int sig = -12345;
    assert_int_equal(rs_signal_parse(v, &sig), -1);
    assert_int_equal(sig, -12345);               /* unchanged */
}

static void test_signal_forms(void **state)
{
    (void)state;
    assert_int_equal(parsed("USR1"), SIGUSR1);
    assert_int_equal(parsed("SIGUSR2"), SIGUSR2);
    assert_int_equal(parsed("PWR"), SIGPWR);
    assert_int_equal(parsed("TERM"), SIGTERM);
    assert_int_equal(parsed("12"), 12);
    assert_int_equal(parsed("SIG10"), 10);
    assert_int_equal(parsed("RTMIN"), SIGRTMIN);
    assert_int_equal(parsed("RTMIN+3"), SIGRTMIN + 3);
    assert_int_equal(parsed("SIGRTMAX-1"), SIGRTMAX - 1);
    assert_int_equal(parsed("SEGV"), SIGSEGV);   /* known, then refused */
    assert_int_equal(parsed("KILL"), SIGKILL);
    const char *bad[] = { "", "usr1", "USR", "SIG", "1x", "-1", " 1", "+1",
                          "99999999999999999999", "RTMIN+", "RTMIN3",
                          "RTMAX+1", "RTMIN-1", "RTMIN+65", "0x10" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_malformed(bad[i]);
}

static void test_signals_refused(void **state)
{
    (void)state;
    const int fault[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGABRT, SIGSYS };
    for (size_t i = 0; i < sizeof fault / sizeof fault[0]; i++)
        assert_non_null(strstr(rs_signal_unusable(fault[i]), "fault signal"));
    assert_string_equal(rs_signal_unusable(SIGKILL), "cannot be caught");
    assert_string_equal(rs_signal_unusable(SIGSTOP), "cannot be caught");
    assert_string_equal(rs_signal_unusable(SIGCHLD), "job control's");
    assert_string_equal(rs_signal_unusable(SIGCONT), "job control's");
    assert_string_equal(rs_signal_unusable(32), "reserved by glibc");
    assert_string_equal(rs_signal_unusable(33), "reserved by glibc");
    assert_string_equal(rs_signal_unusable(0), "not a signal");
    assert_string_equal(rs_signal_unusable(SIGRTMAX + 1), "not a signal");
    const int fine[] = { SIGUSR1, SIGUSR2, SIGPWR, SIGXCPU, SIGTERM, SIGINT, SIGHUP,
                         SIGRTMIN, SIGRTMAX };
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++)
        assert_null(rs_signal_unusable(fine[i]));
}

static uint64_t period(const char *v)
{
    uint64_t ms = 777;
    assert_int_equal(rs_period_parse(v, &ms), 0);
    return ms;
}

static void test_periods(void **state)
{
    (void)state;
    assert_int_equal(period("5"), 5000);
    assert_int_equal(period("5s"), 5000);
    assert_int_equal(period("500ms"), 500);
    assert_int_equal(period("10ms"), RS_MIN_INTERVAL_MS);
    assert_int_equal(period("2m"), 120000);
    assert_int_equal(period("1h"), 3600000);
    assert_int_equal(period("0"), 0);
    assert_int_equal(period("off"), 0);
    const char *bad[] = { "", "9ms", "5x", "s", "-1s", " 5s", "1.5s", "5 s",
                          "99999999999999999999s", "18446744073709551615h" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t ms = 777;
        assert_int_equal(rs_period_parse(bad[i], &ms), -1);
        assert_int_equal(ms, 777);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signal_forms),
        cmocka_unit_test(test_signals_refused),
        cmocka_unit_test(test_periods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
