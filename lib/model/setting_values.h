/*
 * setting_values.h - the values of settings that name a signal or a
 * period, parsed alike wherever they are given: the preload's
 * REFSCOPE_SNAPSHOT_SIGNAL, REFSCOPE_STOP_SIGNAL and
 * REFSCOPE_SNAPSHOT_INTERVAL (settings.c), and `refscope run`'s
 * --snapshot-on-signal and --snapshot-every, which become them (so that
 * run rejects at once a value the preload would ignore).
 *
 * No stdio, no allocation: the preload parses its settings at start-up.
 */
#ifndef RS_SETTING_VALUES_H
#define RS_SETTING_VALUES_H

#include <stdint.h>

/* A snapshot period shorter than this is refused. */
#define RS_MIN_INTERVAL_MS 10

/*
 * Parses a signal: a number, or a name with or without SIG (HUP, INT,
 * QUIT, USR1, USR2, PIPE, ALRM, TERM, TTIN, TTOU, TSTP, URG, XCPU, XFSZ,
 * VTALRM, PROF, WINCH, PWR, and those rs_signal_unusable() refuses),
 * RTMIN+n or RTMAX-n.  Returns 0 and sets
 * *sig, or -1 when v is malformed (*sig unchanged).  Whether refscope may
 * catch it is rs_signal_unusable()'s to say.
 */
int rs_signal_parse(const char *v, int *sig);

/*
 * NULL when refscope may install a handler for sig (a signal a program is
 * sent to ask something of it); else why not, as a phrase:
 *   KILL, STOP               "cannot be caught"
 *   SEGV, BUS, ILL, FPE,     "a fault signal: its handler would return to
 *   TRAP, ABRT, SYS           the faulting instruction" (the program would
 *                             hang, writing a snapshot at each retry)
 *   CHLD, CONT               "job control's"
 *   32, 33 (glibc's own)     "reserved by glibc"
 *   0 or past RTMAX          "not a signal"
 */
const char *rs_signal_unusable(int sig);

/* What a usable signal looks like, for a complaint. */
#define RS_SIGNAL_EXPECTED \
    "a signal number or name refscope may catch (not KILL, STOP, SEGV, BUS, " \
    "ILL, FPE, TRAP, ABRT, SYS, CHLD, CONT or glibc's 32-33)"

/*
 * Parses a period: "0" or "off" (0: off), or a whole number with unit ms,
 * s, m or h (no unit: seconds), at least RS_MIN_INTERVAL_MS.  Returns 0
 * and sets *ms, or -1 when v is malformed or out of range (*ms unchanged).
 */
int rs_period_parse(const char *v, uint64_t *ms);

#endif /* RS_SETTING_VALUES_H */
