/*
 * progress.c - the progress line (see progress.h).
 *
 * A line is drawn as "\r<text>\033[K" (carriage return, text, erase to
 * the end of the line) and cleared with "\r\033[K", so a shorter text
 * never leaves the end of a longer one behind.  Drawn with one write(2)
 * each, so nothing buffered in stderr's FILE can interleave with it.
 */
#include "progress.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct {
    int      decided, enabled;
    int      shown;            /* a line is on the screen                  */
    uint64_t last_ns;          /* when it was drawn                        */
    char     what[64];         /* its phase                                */
} st;

int rs_progress_wanted(int stderr_is_tty, const char *term, const char *ci)
{
    return stderr_is_tty && term && *term && strcmp(term, "dumb") != 0 && !ci;
}

int rs_progress_enabled(void)
{
    if (!st.decided) {
        st.enabled = rs_progress_wanted(isatty(2), getenv("TERM"), getenv("CI"));
        st.decided = 1;
    }
    return st.enabled;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void put(const char *s, size_t n)
{
    while (n) {
        ssize_t k = write(2, s, n);
        if (k <= 0)
            return;                      /* progress is best effort */
        s += k;
        n -= (size_t)k;
    }
}

/* Whether an update of phase `what` is due now (and if so, records it). */
static int due(const char *what)
{
    if (!rs_progress_enabled())
        return 0;
    uint64_t t = now_ns();
    int same = st.shown && strncmp(st.what, what, sizeof st.what - 1) == 0;
    if (same && t - st.last_ns < RS_PROGRESS_INTERVAL_MS * 1000000ull)
        return 0;
    st.last_ns = t;
    snprintf(st.what, sizeof st.what, "%s", what);
    return 1;
}

static void draw(const char *text)
{
    char line[256];
    int n = snprintf(line, sizeof line, "\rrefscope: %s\033[K", text);
    if (n > 0)
        put(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    st.shown = 1;
}

void rs_progress_percent(const char *what, uint64_t done, uint64_t total)
{
    if (!due(what))
        return;
    char text[160];
    uint64_t pct = total ? (done >= total ? 100 : done * 100 / total) : 0;
    snprintf(text, sizeof text, "%s %" PRIu64 "%%", what, pct);
    draw(text);
}

void rs_progress_count(const char *what, uint64_t done, uint64_t total,
                       const char *unit)
{
    if (!due(what))
        return;
    char text[160];
    snprintf(text, sizeof text, "%s %" PRIu64 "/%" PRIu64 " %s", what, done,
             total, unit);
    draw(text);
}

void rs_progress_clear(void)
{
    if (st.shown)
        put("\r\033[K", 4);
    st.shown = 0;
    st.what[0] = '\0';
}

void rs_progress_snapshot_cb(void *ctx, uint64_t done, uint64_t total)
{
    (void)ctx;
    rs_progress_percent("reading snapshot", done, total);
}

void rs_progress_findings_cb(void *ctx, uint32_t done, uint32_t total)
{
    (void)ctx;
    rs_progress_count("symbolizing", done, total, "findings");
}
