/*
 * progress.h - one line of progress on stderr for long work
 * ("refscope: reading snapshot 45%", "refscope: symbolizing 12/100
 * findings"), redrawn in place with '\r' and cleared at the end.
 *
 * Shown only to a person watching: stderr is a terminal, TERM is set and
 * not "dumb", and the CI variable is unset; never when stderr is a file
 * or a pipe, or in CI.  Updates are throttled to one per
 * RS_PROGRESS_INTERVAL_MS, except that a new phase (another `what`) is
 * drawn at once.  The state is the process's: there is one stderr.
 */
#ifndef RS_PROGRESS_H
#define RS_PROGRESS_H

#include <stdint.h>

#define RS_PROGRESS_INTERVAL_MS 100

/* Whether progress is shown, from the facts above (decided once, on the
 * first call, from isatty(2), $TERM and $CI). */
int rs_progress_enabled(void);

/* The rule itself, for a stderr that is (or not) a terminal. */
int rs_progress_wanted(int stderr_is_tty, const char *term, const char *ci);

/* "refscope: <what> <done * 100 / total>%". */
void rs_progress_percent(const char *what, uint64_t done, uint64_t total);

/* "refscope: <what> <done>/<total> <unit>". */
void rs_progress_count(const char *what, uint64_t done, uint64_t total,
                       const char *unit);

/* Erases the line if one is shown; the next update starts afresh. */
void rs_progress_clear(void);

/* Callbacks for rs_snapshot_read_progress() ("reading snapshot N%") and
 * rs_report_options_t.progress ("symbolizing N/M findings"). */
void rs_progress_snapshot_cb(void *ctx, uint64_t done, uint64_t total);
void rs_progress_findings_cb(void *ctx, uint32_t done, uint32_t total);

#endif /* RS_PROGRESS_H */
