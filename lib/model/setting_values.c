/*
 * setting_values.c - signal and period setting values (see
 * setting_values.h).  Numbers are parsed by hand with an overflow check
 * (strtoull would take "-1" and leading blanks).
 */
#include "setting_values.h"

#include <signal.h>
#include <string.h>

/* Decimal digits at s into *out; *end after them.  -1 when there are
 * none or the number overflows. */
static int parse_decimal(const char *s, const char **end, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (p == s)
        return -1;
    *end = p;
    *out = v;
    return 0;
}

/* "RTMIN", "RTMIN+n", "RTMAX", "RTMAX-n" (also the other sign, within
 * the real-time range); -1 when v is none of them. */
static int parse_realtime(const char *v)
{
    int base = strncmp(v, "RTMIN", 5) == 0 ? SIGRTMIN
             : strncmp(v, "RTMAX", 5) == 0 ? SIGRTMAX : -1;
    if (base < 0)
        return -1;
    v += 5;
    if (*v) {
        const char *end;
        uint64_t n;
        int sign = *v == '+' ? 1 : *v == '-' ? -1 : 0;
        if (!sign || parse_decimal(v + 1, &end, &n) != 0 || *end || n > 64)
            return -1;
        base += sign * (int)n;
    }
    return base >= SIGRTMIN && base <= SIGRTMAX ? base : -1;
}

int rs_signal_parse(const char *v, int *sig)
{
    static const struct { const char *name; int sig; } names[] = {
        { "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
        { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "PIPE", SIGPIPE },
        { "ALRM", SIGALRM }, { "TERM", SIGTERM }, { "TTIN", SIGTTIN },
        { "TTOU", SIGTTOU }, { "URG", SIGURG }, { "XCPU", SIGXCPU },
        { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
        { "WINCH", SIGWINCH }, { "PWR", SIGPWR }, { "TSTP", SIGTSTP },
        /* refused by rs_signal_unusable(), which says why */
        { "KILL", SIGKILL }, { "STOP", SIGSTOP }, { "SEGV", SIGSEGV },
        { "BUS", SIGBUS }, { "ILL", SIGILL }, { "FPE", SIGFPE },
        { "TRAP", SIGTRAP }, { "ABRT", SIGABRT }, { "SYS", SIGSYS },
        { "CHLD", SIGCHLD }, { "CONT", SIGCONT },
    };
    if (strncmp(v, "SIG", 3) == 0)
        v += 3;
    if (*v >= '0' && *v <= '9') {
        const char *end;
        uint64_t n;
        if (parse_decimal(v, &end, &n) != 0 || *end || n > 1024)
            return -1;
        *sig = (int)n;
        return 0;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(v, names[i].name) == 0) {
            *sig = names[i].sig;
            return 0;
        }
    int rt = parse_realtime(v);
    if (rt < 0)
        return -1;
    *sig = rt;
    return 0;
}

const char *rs_signal_unusable(int sig)
{
    switch (sig) {
    case SIGKILL: case SIGSTOP:
        return "cannot be caught";
    case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGTRAP:
    case SIGABRT: case SIGSYS:
        return "a fault signal: its handler would return to the faulting "
               "instruction";
    case SIGCHLD: case SIGCONT:
        return "job control's";
    }
    if (sig <= 0 || sig > SIGRTMAX)
        return "not a signal";
    if (sig > SIGSYS && sig < SIGRTMIN)
        return "reserved by glibc";
    return NULL;
}

int rs_period_parse(const char *v, uint64_t *ms)
{
    static const struct { const char *unit; uint64_t ms; } units[] = {
        { "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 },
        { "h", 3600000 },
    };
    const char *end;
    uint64_t n;
    if (strcmp(v, "off") == 0) {
        *ms = 0;
        return 0;
    }
    if (parse_decimal(v, &end, &n) != 0)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) != 0)
            continue;
        if (n > UINT64_MAX / units[i].ms)
            return -1;
        uint64_t total = n * units[i].ms;
        if (total != 0 && total < RS_MIN_INTERVAL_MS)
            return -1;
        *ms = total;
        return 0;
    }
    return -1;
}
