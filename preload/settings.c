/*
 * settings.c - every REFSCOPE_* environment variable the preload reads, in
 * one table: name, default, description and how to parse it.
 *
 * Settings are read once, at start-up, with getenv() (no allocation).  An
 * empty variable counts as unset.  A malformed value is never fatal: one
 * line on stderr names the variable, the bad value and the default that is
 * used instead.  A REFSCOPE_* variable that is no setting (a typo, or a
 * name from another tool's habits) gets one line too, with the closest
 * setting's name when one is close: otherwise it would silently change
 * nothing.  REFSCOPE_LIBRARY is `refscope run`'s, passed through.  The
 * README documents the same table; keep them in step.
 */
#include "preload.h"
#include "refhistory.h"
#include "setting_values.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

rs_settings_t rs_settings;

typedef enum setting_kind { SET_BOOL, SET_UINT, SET_PATH, SET_STRING, SET_FUNC } setting_kind_t;

typedef struct setting {
    const char    *name;
    const char    *deflt;       /* default, as text                        */
    const char    *doc;
    setting_kind_t kind;
    long           min, max;    /* SET_UINT range                          */
    size_t         offset;      /* field in rs_settings_t                  */
    /* SET_FUNC: parses the value into the field (0, or -1 if malformed),
     * and what a good value looks like, for the complaint. */
    int          (*parse)(const char *value, void *field);
    const char    *expected;
} setting_t;

#define FIELD(f) offsetof(rs_settings_t, f)

/* A signal refscope may catch (setting_values.h); for the snapshot
 * signal also "off", "none" or 0 (no snapshots on a signal) and "on"
 * (SIGUSR2). */
static int parse_signal_setting(const char *v, void *field)
{
    int sig;
    if (strcmp(v, "off") == 0 || strcmp(v, "none") == 0 || strcmp(v, "0") == 0) {
        *(int *)field = 0;
        return 0;
    }
    if (strcmp(v, "on") == 0)
        sig = SIGUSR2;
    else if (rs_signal_parse(v, &sig) != 0 || rs_signal_unusable(sig))
        return -1;
    *(int *)field = sig;
    return 0;
}

static int parse_stop_signal_setting(const char *v, void *field)
{
    int sig;
    if (rs_signal_parse(v, &sig) != 0 || rs_signal_unusable(sig))
        return -1;
    *(int *)field = sig;
    return 0;
}

static int parse_interval_setting(const char *v, void *field)
{
    return rs_period_parse(v, (uint64_t *)field);
}

/* REFSCOPE_UNWIND: fast (0), libunwind (1), check (2). */
static int parse_unwind_setting(const char *v, void *field)
{
    static const char *const names[] = {"fast", "libunwind", "check"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(v, names[i]) == 0) {
            *(int *)field = i;
            return 0;
        }
    }
    return -1;
}

static const setting_t settings_table[] = {
    {"REFSCOPE_ENABLE", "1",
     "0 turns refscope off: allocations are forwarded untouched and nothing "
     "is analysed or written",
     SET_BOOL, 0, 1, FIELD(enable), NULL, NULL},
    {"REFSCOPE_OUT", "${TMPDIR:-/tmp}/refscope",
     "directory for snapshots, <exe>.<pid>.<seq>.rsnap; created if missing; "
     "a relative path is taken from the working directory at start-up",
     SET_PATH, 0, 0, FIELD(out_dir), NULL, NULL},
    {"REFSCOPE_DEPTH", "32",
     "frames kept per allocation stack (1..256); deeper costs more per "
     "allocation",
     SET_UINT, 1, RS_STACK_MAX_FRAMES, FIELD(depth), NULL, NULL},
    {"REFSCOPE_EXITCODE", "unset",
     "if set to N (0..255) and anything leaked, the process exits with "
     "status N after the analysis, like LeakSanitizer's exitcode (also "
     "when it ends by _exit; one killed by a signal keeps its signal)",
     SET_UINT, 0, 255, FIELD(exitcode), NULL, NULL},
    {"REFSCOPE_SUPPRESSIONS", "unset",
     "suppression files separated by ':' (LeakSanitizer's leak: lines and "
     "refscope's cycle:, ref:, rc:, type:); with REFSCOPE_EXITCODE, leaks "
     "they all hide do not change the exit status: `refscope check` decides "
     "on the snapshot (REFSCOPE_TOOL); if it cannot, every leak counts; "
     "set without REFSCOPE_EXITCODE it changes nothing, and one line says so",
     SET_FUNC, 0, 0, FIELD(suppressions), rs_gate_parse_suppressions,
     "files separated by ':', at most 4095 bytes once absolute"},
    {"REFSCOPE_TOOL", "unset",
     "the refscope program REFSCOPE_SUPPRESSIONS runs; unset: ../bin/refscope "
     "next to librefscope.so's directory, else the installed one",
     SET_PATH, 0, 0, FIELD(tool), NULL, NULL},
    {"REFSCOPE_QUIET", "0",
     "1 suppresses the summary on stderr (the snapshot is still written)",
     SET_BOOL, 0, 1, FIELD(quiet), NULL, NULL},
    {"REFSCOPE_SNAPSHOT_SIGNAL", "off",
     "on this signal a helper thread writes a snapshot "
     "(<exe>.<pid>.<seq>-signal.rsnap) and the program runs on; a number "
     "or a name (USR1, SIGUSR2, RTMIN+2, ...), on = SIGUSR2; off or 0 (the "
     "default) installs no handler and starts no thread, so the program "
     "keeps its signal dispositions and stays single-threaded; a signal "
     "refscope may not catch (KILL, STOP, a fault signal such as SEGV, "
     "CHLD, CONT, glibc's 32-33) is refused",
     SET_FUNC, 0, 0, FIELD(snapshot_signal), parse_signal_setting,
     RS_SIGNAL_EXPECTED ", or off"},
    {"REFSCOPE_SNAPSHOT_INTERVAL", "off",
     "write a snapshot (<exe>.<pid>.<seq>-interval.rsnap) every period, "
     "e.g. 10s, 500ms, 5m; at least 10ms; 0 or off disables it",
     SET_FUNC, 0, 0, FIELD(snapshot_interval_ms), parse_interval_setting,
     "a period such as 10s or 500ms, or off"},
    {"REFSCOPE_HOOKS", "unset",
     "comma-separated hook profiles for exported ref/unref functions: "
     "built-in names (gobject, gst, python) and profile file paths, e.g. "
     "gobject,/path/my.profile; an error in a profile is reported as "
     "file:line and nothing is hooked",
     SET_STRING, 0, 0, FIELD(hooks), NULL, NULL},
    {"REFSCOPE_ENTRY_HOOKS", "1",
     "1: REFSCOPE_HOOKS functions are also hooked at their entry, so calls a "
     "library makes to its own functions (GLib, GStreamer) are seen; 0: only "
     "calls through the GOT are (the entry code is never changed); 2: as 1, "
     "and one line on stderr per function says whether its entry was hooked "
     "or why not",
     SET_UINT, 0, 2, FIELD(entry_hooks), NULL, NULL},
    {"REFSCOPE_HISTORY", "64",
     "reference events kept per refcounted object before balanced pairs are "
     "compacted away (0..1000000); 0 turns the reference history off",
     SET_UINT, 0, 1000000, FIELD(history), NULL, NULL},
    {"REFSCOPE_STATS", "0",
     "1 prints one line on stderr after each analysis with refscope's own "
     "memory: live blocks, block records and registry, stack depot, object table and "
     "history bytes, and bytes per live block",
     SET_BOOL, 0, 1, FIELD(stats), NULL, NULL},
    {"REFSCOPE_SCRUB", "0",
     "1 zeroes each block's bytes when it is freed (and a block realloc "
     "moves, by a copy), so that no pointer left in freed memory keeps a "
     "leak reachable once the memory is reused (as Memcheck, whose "
     "allocator reuses freed memory late, sees it); costs a memset per free",
     SET_BOOL, 0, 1, FIELD(scrub), NULL, NULL},
    {"REFSCOPE_UNWIND", "fast",
     "how stacks are walked: fast (refscope's cached DWARF walker for the "
     "common frame shapes, libunwind for any stack it cannot walk whole), "
     "libunwind (libunwind only), check (both on every stack; the stacks "
     "that differ are counted as unwind_mismatches in the REFSCOPE_STATS "
     "line; for testing)",
     SET_FUNC, 0, 0, FIELD(unwind), parse_unwind_setting,
     "fast, libunwind or check"},
    {"REFSCOPE_STOP_SIGNAL", "PWR",
     "the signal that parks the other threads while the heap is scanned (a "
     "number or a name such as XCPU, RTMIN+3); choose another if the "
     "program uses SIGPWR; the signals refused as REFSCOPE_SNAPSHOT_SIGNAL "
     "are refused here too",
     SET_FUNC, 0, 0, FIELD(stop_signal), parse_stop_signal_setting,
     RS_SIGNAL_EXPECTED},
    {"REFSCOPE_STOP_PTRACE", "1",
     "1: a thread that blocks the stop signal is stopped with ptrace, from a "
     "tracer process refscope clones for the scan, when the system allows "
     "it; 0: it runs on during the scan and its whole stack is scanned (a "
     "pointer it moves meanwhile can make a block look leaked)",
     SET_BOOL, 0, 1, FIELD(stop_ptrace), NULL, NULL},
    {"REFSCOPE_MARK_RUNNING", "0",
     "1 (set by refscope run): while a process runs, a file .running.<pid> "
     "in REFSCOPE_OUT names it, removed once its end was analysed; one left "
     "behind by a process that is gone tells refscope run that the process "
     "ended without a snapshot (killed by SIGKILL, or it exec'd a program "
     "the loader does not preload)",
     SET_BOOL, 0, 1, FIELD(mark_running), NULL, NULL},
};

/* What a complaint shows of a value at most: the line must keep its end
 * (the default used), and a value may be as long as the environment. */
#define QUOTED_MAX 256

/* The n bytes at s quoted, at most QUOTED_MAX of them, then "...". */
static void quote_cut(rs_line_t *l, const char *s, size_t n)
{
    rs_line_quoted_mem(l, s, n > QUOTED_MAX ? QUOTED_MAX : n);
    if (n > QUOTED_MAX)
        rs_line_str(l, "...");
}

/* Says that name=value is malformed and which default is used. */
static void complain(const setting_t *s, const char *value, const char *expected)
{
    rs_line_t l = {.len = 0};
    rs_line_str(&l, "refscope: ignoring ");
    rs_line_str(&l, s->name);
    rs_line_str(&l, "='");
    quote_cut(&l, value, strlen(value));
    rs_line_str(&l, "' (expected ");
    rs_line_str(&l, expected);
    rs_line_str(&l, "); using the default ");
    rs_line_str(&l, s->deflt);
    rs_line_str(&l, "\n");
    rs_diag_emit(&l);
}

static int parse_bool(const char *v, int *out)
{
    static const char *const yes[] = {"1", "yes", "true", "on"};
    static const char *const no[] = {"0", "no", "false", "off"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcmp(v, yes[i]) == 0) { *out = 1; return 0; }
        if (strcmp(v, no[i]) == 0)  { *out = 0; return 0; }
    }
    return -1;
}

static int parse_uint(const char *v, long min, long max, long *out)
{
    long n = 0;
    if (!*v)
        return -1;
    for (; *v; v++) {
        if (*v < '0' || *v > '9')
            return -1;
        n = n * 10 + (*v - '0');
        if (n > max)
            return -1;
    }
    if (n < min)
        return -1;
    *out = n;
    return 0;
}

/* Copies a path into dst (PATH_MAX); -1 if it does not fit. */
static int set_path(char *dst, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la + lb + 1 > PATH_MAX)
        return -1;
    memcpy(dst, a, la);
    memcpy(dst + la, b, lb + 1);
    return 0;
}

/* dst = v, relative paths made absolute now: the program may chdir
 * before the snapshot is written.  -1 if it does not fit. */
int rs_settings_make_absolute(char *dst, const char *v)
{
    char cwd[PATH_MAX];
    if (v[0] == '/' || !getcwd(cwd, sizeof cwd - 1))
        return set_path(dst, v, "");
    size_t n = strlen(cwd);
    cwd[n] = '/';
    cwd[n + 1] = '\0';
    return set_path(dst, cwd, v);
}

static void apply_defaults(rs_settings_t *s)
{
    s->enable = 1;
    s->quiet = 0;
    s->depth = 32;
    s->exitcode = -1;
    s->hooks[0] = '\0';
    s->suppressions[0] = '\0';
    s->tool[0] = '\0';
    /* Compaction does not change which references are reported (the
     * balancer pairs decrefs in log order either way, refhistory.h): a
     * small log only keeps less memory in the cache's way.  bench_refs,
     * 150 events per object: 64 against 1024, CPU -15%, RSS -50%. */
    s->history = RS_REFHIST_DEFAULT_MAX;
    s->entry_hooks = 1;
    s->unwind = RS_UNWIND_FAST;
    s->snapshot_signal = 0;
    s->stop_signal = 0;
    s->stop_ptrace = 1;
    s->mark_running = 0;
    s->snapshot_interval_ms = 0;
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp || set_path(s->out_dir, tmp, "/refscope") != 0)
        set_path(s->out_dir, "/tmp", "/refscope");
}

static void load_one(const setting_t *s)
{
    const char *v = getenv(s->name);
    if (!v || !*v)
        return;
    char *field = (char *)&rs_settings + s->offset;
    switch (s->kind) {
    case SET_BOOL: {
        int b;
        if (parse_bool(v, &b) != 0)
            complain(s, v, "0 or 1");
        else
            *(int *)field = b;
        break;
    }
    case SET_UINT: {
        long n;
        if (parse_uint(v, s->min, s->max, &n) != 0) {
            rs_line_t range = {.len = 0};
            rs_line_str(&range, "a number from ");
            rs_line_i64(&range, s->min);
            rs_line_str(&range, " to ");
            rs_line_i64(&range, s->max);
            range.buf[range.len < sizeof range.buf ? range.len : sizeof range.buf - 1] = '\0';
            complain(s, v, range.buf);
        } else {
            *(int *)field = (int)n;
        }
        break;
    }
    case SET_PATH:
        if (rs_settings_make_absolute(field, v) != 0)
            complain(s, v, "a path shorter than PATH_MAX");
        break;
    case SET_STRING:            /* REFSCOPE_HOOKS is the only one */
        if (strlen(v) >= sizeof rs_settings.hooks)
            complain(s, v, "at most 4095 bytes");
        else
            memcpy(field, v, strlen(v) + 1);
        break;
    case SET_FUNC:
        if (s->parse(v, field) != 0)
            complain(s, v, s->expected);
        break;
    }
}

#define N_SETTINGS (sizeof settings_table / sizeof settings_table[0])
#define PREFIX "REFSCOPE_"

/* Edit distance between a[0..la) and b[0..lb), both at most 31 bytes
 * (longer ones count as far apart). */
static unsigned edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    if (la > 31 || lb > 31)
        return UINT32_MAX;
    unsigned row[32];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++) {
        unsigned diag = row[0];
        row[0] = (unsigned)i;
        for (size_t j = 1; j <= lb; j++) {
            unsigned up = row[j];
            unsigned best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The setting whose name (after the prefix) is within 3 edits of
 * name[0..len), or NULL. */
static const char *closest_setting(const char *name, size_t len)
{
    const char *best = NULL;
    unsigned best_d = 4;
    size_t skip = strlen(PREFIX);
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const char *cand = settings_table[i].name + skip;
        unsigned d = edit_distance(name + skip, len - skip, cand, strlen(cand));
        if (d < best_d) {
            best_d = d;
            best = settings_table[i].name;
        }
    }
    return best;
}

static int is_setting(const char *name, size_t len)
{
    static const char library[] = "REFSCOPE_LIBRARY";
    if (len == sizeof library - 1 && memcmp(name, library, len) == 0)
        return 1;
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (strlen(settings_table[i].name) == len &&
            memcmp(settings_table[i].name, name, len) == 0)
            return 1;
    return 0;
}

/* One line for each REFSCOPE_* variable that is no setting. */
static void complain_unknown(void)
{
    size_t plen = strlen(PREFIX);
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        size_t len = eq ? (size_t)(eq - *e) : strlen(*e);
        if (len < plen || strncmp(*e, PREFIX, plen) != 0 || is_setting(*e, len))
            continue;
        const char *near = closest_setting(*e, len);
        rs_line_t l = {.len = 0};
        rs_line_str(&l, "refscope: ignoring ");
        quote_cut(&l, *e, len);
        rs_line_str(&l, ": not a refscope setting");
        if (near) {
            rs_line_str(&l, " (did you mean ");
            rs_line_str(&l, near);
            rs_line_str(&l, "?)");
        }
        rs_line_str(&l, "\n");
        rs_diag_emit(&l);
    }
}

/* Settings that do nothing alone: said, or the user believes them in
 * effect. */
static void complain_alone(void)
{
    if (rs_settings.suppressions[0] && rs_settings.exitcode < 0) {
        rs_line_t l = {.len = 0};
        rs_line_str(&l, "refscope: REFSCOPE_SUPPRESSIONS decides only the exit status "
                        "of REFSCOPE_EXITCODE, which is not set: the summary and the "
                        "snapshot show every leak (`refscope check` applies the files "
                        "to a snapshot)\n");
        rs_diag_emit(&l);
    }
}

void rs_settings_load(void)
{
    apply_defaults(&rs_settings);
    for (size_t i = 0; i < N_SETTINGS; i++)
        load_one(&settings_table[i]);
    complain_unknown();
    complain_alone();
}
