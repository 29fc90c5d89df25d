/*
 * cmd_run.c - `refscope run [options] -- prog args...`: run a program
 * under librefscope.so and report every process of it when it ends.
 *
 * How:
 *  1. find librefscope.so ($REFSCOPE_LIBRARY, else ../lib next to this
 *     executable, as in the build tree and an installed tree, else the
 *     install libdir compiled in) and put it first in LD_PRELOAD;
 *  2. point REFSCOPE_OUT at --out DIR or a fresh temporary directory
 *     (removed afterwards) and set REFSCOPE_QUIET=1: the report is ours;
 *  3. become a child subreaper, so descendants orphaned by their parents
 *     are re-parented to us and waited for too;
 *  4. fork and exec the program (run_process.c: an exec failure comes
 *     back through a close-on-exec pipe and gives 127/126 like a shell;
 *     SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to us are forwarded to it,
 *     and it is killed if we die, PR_SET_PDEATHSIG);
 *  5. wait until no descendant is left (run_process.c; after the program
 *     ended, one that left our session, a daemon, is not waited for, nor,
 *     past --wait PERIOD or a Ctrl-C, one still running: a note names
 *     them and the directory is kept for their snapshots), then
 *     report every *.rsnap of the directory written during the run
 *     (modified since the start, or named after a process we waited for),
 *     the direct child first, then by pid and sequence number.
 * The report goes to stdout after the program's own output, or with
 * -o FILE to FILE (written atomically, cli_sink.c).  With --json and no
 * -o the program's stdout is sent to our stderr instead, so that stdout
 * carries nothing but the JSON array: `refscope run --json -- prog | jq .`
 * always parses.
 * The exit status is the program's; when a signal killed it, refscope run
 * dies of that signal after the report (run_process.h).  A report that
 * cannot be written (stdout a closed pipe) is said in one line and the
 * snapshots are kept, their directory named.  With
 * --exitcode N the preload makes leaking processes exit N, and refscope
 * run exits N when the program exited 0 but any of its processes leaked.
 * With --python (a focus, report_focus.h) only the report knows which
 * leaks count, so the preload is not given REFSCOPE_EXITCODE and refscope
 * run alone decides, from the leaks the focus lists.
 */
#include "cli.h"

#include "report_array.h"
#include "report_focus.h"
#include "run_process.h"
#include "setting_values.h"
#include "snapshot_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define CMD "run"
#define DEFAULT_TEXT_LIMIT 100
#define MAX_DEPTH 256

#ifndef REFSCOPE_INSTALL_LIBDIR
#define REFSCOPE_INSTALL_LIBDIR "/usr/local/lib"
#endif

typedef struct run_options {
    const char     *out_dir;    /* --out, or NULL for a temporary one     */
    const char     *output_file; /* -o/--output FILE for the report, or
                                    NULL for stdout                       */
    uint32_t        depth;      /* --depth, 0 = preload default           */
    int             have_exitcode;
    uint32_t        exitcode;
    rs_cli_output_t output;
    char          **program;    /* argv of the program, NULL terminated   */
    char          **check_argv; /* --check: "--check" and the gate's
                                   options (malloc'ed), else NULL         */
    int             check_argc;
    const char     *snapshot_every;  /* --snapshot-every PERIOD, or NULL   */
    const char     *snapshot_signal; /* --snapshot-on-signal[=SIG], or NULL */
    int             python;     /* --python: REFSCOPE_HOOKS gets python    */
    int             all;        /* --all: no focus on extension modules    */
    int             scrub;      /* --scrub: REFSCOPE_SCRUB=1               */
    uint64_t        wait_ms;    /* --wait: for the other processes after
                                   the program, or RS_WAIT_FOREVER      */
} run_options_t;

/* One snapshot file to report. */
typedef struct snap_file {
    char *path;
    long  pid;
    long  seq;
} snap_file_t;

static void usage(void)
{
    fputs("usage: refscope run [options] -- PROGRAM [ARGS...]\n"
          "\n"
          "Runs PROGRAM with librefscope.so preloaded, waits for it and every\n"
          "process it started, then prints the report of each process\n"
          "(the program first, then by pid) after the program's own output.\n"
          "\n"
          "  --out DIR         keep the snapshots in DIR (created if missing,\n"
          "                    with its parents);\n"
          "                    default: a temporary directory, removed after\n"
          "  --json            print a JSON array with one object per process\n"
          "                    (layout in lib/report/report.h; \"snapshot\" is null\n"
          "                    unless --out keeps the files).  Without -o the\n"
          "                    program's stdout goes to refscope's stderr, so\n"
          "                    that stdout holds only the JSON (| jq . works)\n"
          "  -o, --output FILE write the report (text or JSON) to FILE instead\n"
          "                    of stdout, replaced atomically (a temporary\n"
          "                    name, then a rename); the program's stdout is\n"
          "                    left alone\n"
          "  --html FILE       write the reports as one self-contained HTML\n"
          "                    page to FILE instead of printing them (what\n"
          "                    'refscope report --html' shows)\n"
          "  --depth N         frames kept per allocation stack (1..256)\n"
          "  --scrub           zero freed memory (REFSCOPE_SCRUB=1), so that a\n"
          "                    stale pointer in reused memory hides no leak;\n"
          "                    costs a memset per free\n"
          "  --exitcode N      exit N (0..255) when anything leaked and the\n"
          "                    program itself exited 0 (with --python: when an\n"
          "                    extension module leaked)\n"
          "  --show-reachable  also list blocks still reachable at exit\n"
          "  --limit N         at most N findings per process (0 = all;\n"
          "                    default 100 for text, all for JSON)\n"
          "  --python          profile a Python program's C extensions: adds the\n"
          "                    built-in python profile to REFSCOPE_HOOKS (objects\n"
          "                    recognised by type, PYTHONMALLOC=malloc for the\n"
          "                    interpreter without changing the environment) and\n"
          "                    reports only leaks allocated through an extension\n"
          "                    module (the summary still counts every block)\n"
          "  --all             with --python: report every leak, the\n"
          "                    interpreter's own too\n"
          "  --wait PERIOD     once the program has ended, wait at most PERIOD\n"
          "                    (e.g. 5s, 500ms, 2m; 0: not at all) for the\n"
          "                    processes it left running (default: until they\n"
          "                    end; Ctrl-C also stops the wait); those still\n"
          "                    running are named, and their snapshots go to\n"
          "                    the kept directory when they end.  Processes\n"
          "                    that left the session (daemons) are never waited for\n"
          "  --snapshot-every PERIOD  also write a snapshot every PERIOD\n"
          "                    (e.g. 5s, 500ms, 2m) while the program runs\n"
          "  --snapshot-on-signal[=SIG]  write a snapshot when the program\n"
          "                    gets SIG (default USR2; off without this option)\n"
          "                    Snapshots taken during the run stay in --out DIR\n"
          "                    for 'refscope diff' and 'refscope trend'; the\n"
          "                    report shows each process's last one\n"
          "  --help            this text\n"
          "  --check [OPTS]    last before '--': apply the CI gate of\n"
          "                    'refscope check' (with its OPTS) instead of\n"
          "                    printing the reports; exit with the gate's\n"
          "                    status (0/1/2) unless the program failed\n"
          "\n"
          "Environment: REFSCOPE_LIBRARY overrides where librefscope.so is\n"
          "looked for; other REFSCOPE_* settings pass through to the preload.\n"
          "Exit status: the program's (killed by signal N: refscope run dies of\n"
          "signal N after the report), 127 or 126 when it cannot be run, 2 on\n"
          "a usage error.\n",
          stdout);
}

/* "5s", "500ms", "2m", "1h", "10" (seconds): a period the preload takes
 * as REFSCOPE_SNAPSHOT_INTERVAL (setting_values.h), not 0 or off. */
static int valid_period(const char *v)
{
    uint64_t ms;
    return rs_period_parse(v, &ms) == 0 && ms > 0;
}

/* --snapshot-on-signal's SIG: a signal the preload takes as
 * REFSCOPE_SNAPSHOT_SIGNAL; else the usage error's exit status. */
static int check_snapshot_signal(const char *v)
{
    int sig;
    if (rs_signal_parse(v, &sig) != 0)
        return rs_cli_usage_error(CMD, "--snapshot-on-signal wants a signal "
                                  "name or number such as USR2, RTMIN+2 or 12, "
                                  "not '%s'", v);
    const char *why = rs_signal_unusable(sig);
    if (why)
        return rs_cli_usage_error(CMD, "--snapshot-on-signal=%s: %s", v, why);
    return -1;
}

/* Parses argv into *o.  Returns -1 to continue, else an exit status. */
static int parse_options(int argc, char **argv, run_options_t *o)
{
    static const struct option options[] = {
        { "out", required_argument, NULL, 'O' },
        { "output", required_argument, NULL, 'o' },
        { "json", no_argument, NULL, 'j' },
        { "html", required_argument, NULL, 'H' },
        { "depth", required_argument, NULL, 'd' },
        { "exitcode", required_argument, NULL, 'e' },
        { "show-reachable", no_argument, NULL, 'r' },
        { "limit", required_argument, NULL, 'l' },
        { "snapshot-every", required_argument, NULL, 'S' },
        { "snapshot-on-signal", optional_argument, NULL, 'G' },
        { "python", no_argument, NULL, 'P' },
        { "all", no_argument, NULL, 'A' },
        { "scrub", no_argument, NULL, 's' },
        { "wait", required_argument, NULL, 'W' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int have_limit = 0, opt, rc;

    rs_cli_getopt_start();
    while ((opt = getopt_long(argc, argv, "+:ho:", options, NULL)) != -1) {
        switch (opt) {
        case 'O':
            if (rs_cli_file_value(CMD, "out", optarg) < 0)
                return RS_CLI_EXIT_USAGE;
            o->out_dir = optarg;
            break;
        case 'o':
            if (rs_cli_file_value(CMD, "output", optarg) < 0)
                return RS_CLI_EXIT_USAGE;
            o->output_file = optarg;
            break;
        case 'j':
            o->output.json = 1;
            break;
        case 'H':
            if (rs_cli_file_value(CMD, "html", optarg) < 0)
                return RS_CLI_EXIT_USAGE;
            o->output.html = optarg;
            break;
        case 'd':
            if (rs_cli_parse_uint(CMD, "depth", optarg, 1, MAX_DEPTH,
                                  &o->depth) < 0)
                return RS_CLI_EXIT_USAGE;
            break;
        case 'e':
            if (rs_cli_parse_uint(CMD, "exitcode", optarg, 0, 255,
                                  &o->exitcode) < 0)
                return RS_CLI_EXIT_USAGE;
            o->have_exitcode = 1;
            break;
        case 'r':
            o->output.show_reachable = 1;
            break;
        case 'l':
            if (rs_cli_parse_uint(CMD, "limit", optarg, 0, UINT32_MAX,
                                  &o->output.limit) < 0)
                return RS_CLI_EXIT_USAGE;
            have_limit = 1;
            break;
        case 'S':
            if (!valid_period(optarg))
                return rs_cli_usage_error(CMD, "--snapshot-every wants a period "
                                          "such as 5s, 500ms or 2m, not '%s'",
                                          optarg);
            o->snapshot_every = optarg;
            break;
        case 'G':
            if (optarg && (rc = check_snapshot_signal(optarg)) >= 0)
                return rc;
            o->snapshot_signal = optarg ? optarg : "USR2";
            break;
        case 'P':
            o->python = 1;
            break;
        case 'A':
            o->all = 1;
            break;
        case 's':
            o->scrub = 1;
            break;
        case 'W':
            if (rs_period_parse(optarg, &o->wait_ms) != 0)
                return rs_cli_usage_error(CMD, "--wait wants a period (e.g. 5s, 500ms, 2m, "
                                          "or 0), not '%s'", optarg);
            break;
        default:
            return rs_cli_option_default(CMD, opt, argv, usage);
        }
    }
    if (optind == argc)
        return rs_cli_usage_error(CMD, "no program given");
    if (o->output.html && o->output.json)
        return rs_cli_usage_error(CMD, "--json and --html exclude each other");
    if (o->output.html && o->check_argv)
        return rs_cli_usage_error(CMD, "--check replaces the reports: it "
                                  "excludes --html");
    if (o->output_file && o->check_argv)
        return rs_cli_usage_error(CMD, "with --check the report goes where the "
                                  "gate's own --output says: put -o FILE after "
                                  "--check");
    if (o->output_file && o->output.html)
        return rs_cli_usage_error(CMD, "--html names its own file: it excludes -o");
    if ((o->snapshot_every || o->snapshot_signal) && !o->out_dir)
        rs_cli_say(CMD, "note: snapshots taken during the run are removed with the "
                   "temporary directory; use --out DIR to keep them");
    if (!have_limit && !o->output.json)
        o->output.limit = DEFAULT_TEXT_LIMIT;
    if (o->python && !o->all)
        o->output.focus = RS_FOCUS_PYTHON;
    o->output.json_array = 1;
    o->program = argv + optind;
    return -1;
}

/* ---- environment ------------------------------------------------------- */

static int readable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
           access(path, R_OK) == 0;
}

/* 1 when path starts as an ELF shared object of this machine's class
 * (what LD_PRELOAD can load); a wrong REFSCOPE_LIBRARY would otherwise
 * only show as the loader's error and a run without snapshots. */
static int shared_object(const char *path)
{
    unsigned char h[18];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, h, sizeof h);
    close(fd);
    return n == (ssize_t)sizeof h && memcmp(h, "\x7f" "ELF", 4) == 0 &&
           h[4] == (sizeof(void *) == 8 ? 2 : 1) && h[16] == 3 && h[17] == 0;  /* ET_DYN */
}

/* Finds librefscope.so; returns a malloc'ed absolute path, or NULL with
 * the reason said. */
static char *find_library(void)
{
    const char *env = getenv("REFSCOPE_LIBRARY");
    if (env && *env) {
        const char *why = !readable_file(env) ? "is not a readable file"
                          : !shared_object(env) ? "is not a shared library" : NULL;
        if (why)
            rs_cli_say(CMD, "REFSCOPE_LIBRARY=%s %s", env, why);
        return why ? NULL : realpath(env, NULL);
    }

    char exe[PATH_MAX], candidate[PATH_MAX + 32];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(candidate, sizeof candidate, "%s/../lib/librefscope.so",
                     exe);
            if (readable_file(candidate))
                return realpath(candidate, NULL);
        }
    }
    snprintf(candidate, sizeof candidate, "%s/librefscope.so",
             REFSCOPE_INSTALL_LIBDIR);
    if (readable_file(candidate))
        return realpath(candidate, NULL);
    rs_cli_say(CMD, "cannot find librefscope.so (looked at ../lib next to refscope and "
               "%s; set REFSCOPE_LIBRARY)", REFSCOPE_INSTALL_LIBDIR);
    return NULL;
}

/* Prepends lib to LD_PRELOAD.  Returns 0 or -1 (message printed). */
static int set_preload(const char *lib)
{
    if (strpbrk(lib, " :\t\n")) {
        rs_cli_say(CMD, "the library path '%s' contains a space or colon, which "
                   "LD_PRELOAD cannot express", lib);
        return -1;
    }
    const char *old = getenv("LD_PRELOAD");
    size_t n = strlen(lib) + (old ? strlen(old) : 0) + 2;
    char *value = malloc(n);
    if (!value) {
        rs_cli_oom(CMD);
        return -1;
    }
    if (old && *old)
        snprintf(value, n, "%s:%s", lib, old);
    else
        snprintf(value, n, "%s", lib);
    int rc = setenv("LD_PRELOAD", value, 1);
    free(value);
    return rc;
}

/* Run as root, a directory made here is writable by everyone, sticky
 * like /tmp: processes that give up root (nginx's workers run as nobody,
 * daemons after setuid) must still write their snapshots into it. */
static void open_to_dropped_privileges(const char *dir)
{
    if (geteuid() == 0)
        chmod(dir, 01777);
}

/* 1 when a file can be created in dir (tried: root's access() says yes
 * to /proc); else 0 with the reason said. */
static int writable_dir(const char *dir)
{
    char probe[PATH_MAX];
    snprintf(probe, sizeof probe, "%s/.refscope-probe.XXXXXX", dir);
    int fd = mkostemp(probe, O_CLOEXEC);
    if (fd < 0) {
        rs_cli_say(CMD, "cannot write snapshots in '%s': %s", dir, strerror(errno));
        return 0;
    }
    close(fd);
    unlink(probe);
    return 1;
}

/* Creates (or accepts) the output directory, missing parents included;
 * returns a malloc'ed absolute path or NULL with a message printed.
 * *created says whether it is a temporary directory of ours. */
static char *make_out_dir(const char *requested, int *created)
{
    *created = 0;
    if (requested) {
        int made;
        if (rs_snapshot_make_dir(requested, &made) != 0) {
            struct stat st;
            if (errno == ENOTDIR && stat(requested, &st) == 0)
                rs_cli_say(CMD, "'%s' is not a directory", requested);
            else
                rs_cli_say(CMD, "cannot create '%s': %s", requested, strerror(errno));
            return NULL;
        }
        if (made)
            open_to_dropped_privileges(requested);
        if (!writable_dir(requested))
            return NULL;
        char *abs = realpath(requested, NULL);
        if (!abs)
            rs_cli_say(CMD, "cannot resolve '%s': %s", requested, strerror(errno));
        return abs;
    }
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    char templ[PATH_MAX];
    snprintf(templ, sizeof templ, "%s/refscope.XXXXXX", tmp);
    if (!mkdtemp(templ)) {
        rs_cli_say(CMD, "cannot create a directory in '%s': %s", tmp, strerror(errno));
        return NULL;
    }
    *created = 1;
    open_to_dropped_privileges(templ);
    char *abs = realpath(templ, NULL);
    if (!abs)
        rmdir(templ);
    return abs;
}

/* --python: "python" appended to REFSCOPE_HOOKS unless it is listed. */
static int add_python_hooks(void)
{
    const char *old = getenv("REFSCOPE_HOOKS");
    if (!old || !*old)
        return setenv("REFSCOPE_HOOKS", "python", 1);
    for (const char *s = old; s;) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        if (n == 6 && strncmp(s, "python", 6) == 0)
            return 0;
        s = comma ? comma + 1 : NULL;
    }
    size_t len = strlen(old) + sizeof ",python";
    char *v = malloc(len);
    if (!v)
        return -1;
    snprintf(v, len, "%s,python", old);
    int rc = setenv("REFSCOPE_HOOKS", v, 1);
    free(v);
    return rc;
}

static int set_number(const char *name, uint32_t v)
{
    char buf[16];
    snprintf(buf, sizeof buf, "%u", v);
    return setenv(name, buf, 1);
}

/* Sets every variable the preload reads.  Returns 0 or -1 (message). */
static int prepare_environment(const run_options_t *o, const char *out_dir)
{
    char *lib = find_library();
    if (!lib)
        return -1;
    int rc = set_preload(lib);
    free(lib);
    if (rc == 0)
        rc = setenv("REFSCOPE_OUT", out_dir, 1) |
             setenv("REFSCOPE_QUIET", "1", 1) |
             setenv("REFSCOPE_MARK_RUNNING", "1", 1) |
             (o->depth ? set_number("REFSCOPE_DEPTH", o->depth) : 0) |
             (o->scrub ? setenv("REFSCOPE_SCRUB", "1", 1) : 0) |
             (o->python ? add_python_hooks() : 0) |
             /* With a focus only the report knows what leaked. */
             (o->have_exitcode && o->output.focus == RS_FOCUS_ALL
                  ? set_number("REFSCOPE_EXITCODE", o->exitcode) : 0) |
             (o->snapshot_every ? setenv("REFSCOPE_SNAPSHOT_INTERVAL",
                                         o->snapshot_every, 1) : 0) |
             (o->snapshot_signal ? setenv("REFSCOPE_SNAPSHOT_SIGNAL",
                                          o->snapshot_signal, 1)
                                 : setenv("REFSCOPE_SNAPSHOT_SIGNAL", "off", 0));
    return rc ? -1 : 0;
}

/* ---- snapshots ---------------------------------------------------------- */

/* Parses "<exe>.<pid>.<seq>.rsnap"; returns 0 or -1 if name is not one. */
static int parse_snapshot_name(const char *name, long *pid, long *seq)
{
    static const char suffix[] = ".rsnap";
    size_t len = strlen(name), sl = sizeof suffix - 1;
    if (len <= sl || strcmp(name + len - sl, suffix) != 0)
        return -1;
    char buf[NAME_MAX + 1];
    snprintf(buf, sizeof buf, "%.*s", (int)(len - sl), name);
    char *dot = strrchr(buf, '.');
    if (!dot)
        return -1;
    *seq = strtol(dot + 1, NULL, 10);
    *dot = 0;
    dot = strrchr(buf, '.');
    *pid = dot ? strtol(dot + 1, NULL, 10) : -1;
    return 0;
}

static pid_t sort_first_pid;

static int compare_files(const void *pa, const void *pb)
{
    const snap_file_t *a = pa, *b = pb;
    int a_first = a->pid == sort_first_pid, b_first = b->pid == sort_first_pid;
    if (a_first != b_first)
        return b_first - a_first;
    if (a->pid != b->pid)
        return a->pid < b->pid ? -1 : 1;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return strcmp(a->path, b->path);
}

static int newer_or_equal(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec > b->tv_sec ||
           (a->tv_sec == b->tv_sec && a->tv_nsec >= b->tv_nsec);
}

/* Lists the snapshots of this run in report order into *files.  Returns
 * the count, or -1 with a message printed. */
static long collect_snapshots(const char *dir, const struct timespec *start,
                              const rs_pid_set_t *seen, pid_t child,
                              snap_file_t **files)
{
    DIR *d = opendir(dir);
    snap_file_t *list = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;

    *files = NULL;
    if (!d) {
        rs_cli_say(CMD, "cannot read '%s': %s", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d))) {
        long pid, seq;
        if (parse_snapshot_name(de->d_name, &pid, &seq) < 0)
            continue;
        size_t plen = strlen(dir) + strlen(de->d_name) + 2;
        char *path = malloc(plen);
        if (!path)
            break;
        snprintf(path, plen, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
            !(newer_or_equal(&st.st_mtim, start) || rs_pid_set_has(seen, pid))) {
            free(path);
            continue;
        }
        if (rs_array_reserve(&list, &cap, n + 1, sizeof *list) < 0) {
            free(path);
            break;
        }
        list[n++] = (snap_file_t){ path, pid, seq };
    }
    closedir(d);
    sort_first_pid = child;
    if (n)
        qsort(list, n, sizeof *list, compare_files);
    *files = list;
    return (long)n;
}

/* Keeps only the last snapshot of each pid (files sorted by pid, seq):
 * the report is about each process as it ended.  The earlier ones (taken
 * during the run) are deleted when the directory is temporary, else
 * counted in a note.  Returns the new count. */
static long drop_intermediate(snap_file_t *files, long n, int temporary,
                              const char *dir)
{
    long kept = 0, dropped = 0;
    for (long i = 0; i < n; i++) {
        int last = 1;
        for (long k = i + 1; k < n && last; k++)
            last = files[k].pid != files[i].pid;
        if (last) {
            files[kept++] = files[i];
            continue;
        }
        if (temporary)
            unlink(files[i].path);
        free(files[i].path);
        dropped++;
    }
    if (dropped && !temporary)
        rs_cli_say(CMD, "%ld snapshot%s taken during the run kept in %s (compare them "
                   "with 'refscope diff' or 'refscope trend')",
                   dropped, dropped == 1 ? "" : "s", dir);
    return kept;
}

static void free_snapshots(snap_file_t *files, long n, int remove_them)
{
    for (long i = 0; i < n; i++) {
        if (remove_them)
            unlink(files[i].path);
        free(files[i].path);
    }
    free(files);
}

/* The paths of files[0..n) in a malloc'ed array (borrowed strings), or
 * NULL with "out of memory" printed. */
static char **file_paths(const snap_file_t *files, long n)
{
    char **paths = calloc(n ? (size_t)n : 1, sizeof *paths);
    if (!paths) {
        rs_cli_oom(CMD);
        return NULL;
    }
    for (long i = 0; i < n; i++)
        paths[i] = files[i].path;
    return paths;
}

/* The file execvp() runs for name: name itself when it holds a '/', else
 * the first executable match in $PATH; into buf, 0 when found. */
static int find_program(const char *name, char *buf, size_t size)
{
    if (strchr(name, '/'))
        return snprintf(buf, size, "%s", name) < (int)size ? 0 : -1;
    const char *path = getenv("PATH");
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t len = strcspn(p, ":");
        if (snprintf(buf, size, "%.*s/%s", (int)len, len ? p : ".", name) < (int)size &&
            access(buf, X_OK) == 0)
            return 0;
        p += len + (p[len] == ':');
    }
    return -1;
}

/* Bytes a snapshot directory's file system must have free for the hint
 * below to blame something else. */
#define RUN_FULL_BYTES (1u << 20)

/* Why a program that ran wrote no snapshot, as far as its file and the
 * snapshot directory tell.  A preload that ran but could not write (a
 * full disk, no memory left for the analysis) has said why in a line of
 * its own, before this one. */
static const char *why_no_snapshot(const char *program, const char *out_dir)
{
    char path[PATH_MAX];
    struct stat st;
    struct statvfs fs;
    if (find_program(program, path, sizeof path) == 0 && stat(path, &st) == 0 &&
        (st.st_mode & (S_ISUID | S_ISGID)))
        return st.st_mode & S_ISUID
               ? "it is set-user-ID: the loader ignores LD_PRELOAD for it"
               : "it is set-group-ID: the loader ignores LD_PRELOAD for it";
    if (statvfs(out_dir, &fs) == 0 && (uint64_t)fs.f_bavail * fs.f_frsize < RUN_FULL_BYTES)
        return "the file system of the snapshot directory is full";
    return "a static program, or one that cleared LD_PRELOAD? Else a line of "
           "refscope's above says why";
}

/* Prints the reports to sink; returns how many processes leaked, or -1.
 * code is the program's exit code and out_dir the snapshot directory,
 * for the hint when nothing was written. */
static int report_snapshots(const run_options_t *o, const char *out_dir,
                            rs_cli_sink_t *sink, const snap_file_t *files, long n,
                            int code)
{
    char **paths = file_paths(files, n);
    if (!paths)
        return -1;
    if (n == 0 && code > 128)
        rs_cli_say(CMD, "no snapshot was written (the program was killed by signal %d "
                   "before it could be analysed)", code - 128);
    else if (n == 0)
        rs_cli_say(CMD, "no snapshot was written (%s)",
                   why_no_snapshot(o->program[0], out_dir));
    rs_cli_printed_t printed;
    rs_cli_output_t out = o->output;
    out.stream = sink->fp;
    int rc = rs_cli_print_reports(CMD, paths, (size_t)n, &out, &printed);
    free(paths);
    if (rs_cli_sink_close(CMD, sink, rc == 0) < 0)
        rc = -1;
    return rc < 0 ? -1 : (int)printed.leaking;
}

/* Takes "--check [check options]" (up to "--") out of argv into
 * o->check_argv.  Returns 0, or -1 when memory is exhausted. */
static int split_check(int *argc, char **argv, run_options_t *o)
{
    int c, d;
    for (c = 1; c < *argc && strcmp(argv[c], "--") != 0; c++)
        if (strcmp(argv[c], "--check") == 0)
            break;
    if (c == *argc || strcmp(argv[c], "--check") != 0)
        return 0;
    for (d = c + 1; d < *argc && strcmp(argv[d], "--") != 0; d++)
        ;
    o->check_argc = d - c;
    o->check_argv = calloc((size_t)o->check_argc + 1, sizeof *o->check_argv);
    if (!o->check_argv)
        return -1;
    memcpy(o->check_argv, argv + c, (size_t)o->check_argc * sizeof *argv);
    memmove(argv + c, argv + d, (size_t)(*argc - d + 1) * sizeof *argv);
    *argc -= d - c;
    return 0;
}

/* --check: the gate over the snapshots; returns the exit status (the
 * program's when it failed, else the gate's). */
static int check_snapshots(const run_options_t *o, const snap_file_t *files,
                           long n, int code)
{
    char **paths = file_paths(files, n);
    int gate = RS_CLI_EXIT_USAGE;
    if (!paths)
        return code ? code : RS_CLI_EXIT_USAGE;
    if (n == 0)
        rs_cli_say(CMD, "--check: no snapshot was written, nothing to check");
    else
        gate = rs_check_snapshots(CMD, o->check_argc, o->check_argv, paths,
                                  (size_t)n);
    free(paths);
    return code ? code : gate;
}

int rs_cmd_run(int argc, char **argv)
{
    run_options_t o = { .wait_ms = RS_WAIT_FOREVER };
    rs_pid_set_t seen = { 0 };
    int created = 0, keep_dir = 0, killed_by = 0, rc;

    if (split_check(&argc, argv, &o) < 0)
        return rs_cli_oom(CMD);
    if ((rc = parse_options(argc, argv, &o)) >= 0 ||
        (o.check_argv && (rc = rs_check_snapshots(CMD, o.check_argc,
                                                  o.check_argv, NULL, 0)) >= 0)) {
        free(o.check_argv);
        return rc;
    }
    char *out_dir = make_out_dir(o.out_dir, &created);
    if (!out_dir)
        return RS_CLI_EXIT_USAGE;
    o.output.temporary = created;
    rs_cli_sink_t sink = { 0 };
    if (prepare_environment(&o, out_dir) < 0 ||
        (!o.check_argv && rs_cli_sink_open(CMD, o.output_file, &sink) < 0)) {
        rc = RS_CLI_EXIT_USAGE;
        goto out;
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
        rs_cli_say(CMD, "cannot become a subreaper (%s); orphaned processes may be missed",
                   strerror(errno));

    struct timespec start;
    clock_gettime(CLOCK_REALTIME_COARSE, &start);
    int exec_errno;
    /* run --json | jq: the JSON alone on stdout (the file comment) */
    int stdout_to_stderr = o.output.json && !o.output_file && !o.check_argv;
    pid_t child = rs_run_start(o.program, stdout_to_stderr, &exec_errno);
    if (child < 0) {
        if (exec_errno)
            rs_cli_say(CMD, "cannot run '%s': %s", o.program[0], strerror(exec_errno));
        rc = exec_errno == ENOENT ? 127 : exec_errno ? 126 : 1;
        goto out;
    }
    rs_not_waited_t left;
    rc = rs_run_wait(child, &seen, o.wait_ms, &left, &killed_by);
    if (left.n > 0)
        rs_run_note_not_waited(&left, out_dir);
    keep_dir = left.n > 0;          /* the directory stays for them */

    snap_file_t *files;
    long n = collect_snapshots(out_dir, &start, &seen, child, &files);
    /* The program's own end without a snapshot is said by the report
     * when nothing at all was written. */
    rs_run_note_no_snapshot(out_dir, n == 0 ? child : 0);
    if (n > 0)
        n = drop_intermediate(files, n, created, out_dir);
    if (n >= 0 && o.check_argv) {
        rc = check_snapshots(&o, files, n, rc);
        free_snapshots(files, n, created);
    } else if (n >= 0) {
        int leaking = report_snapshots(&o, out_dir, &sink, files, n, rc);
        if (leaking > 0 && o.have_exitcode && rc == 0)
            rc = (int)o.exitcode;
        int lost = leaking < 0 && created && n > 0;   /* nothing else has them */
        if (lost) {
            rs_cli_say(CMD, "the report was not written; the snapshots are kept in %s",
                       out_dir);
            keep_dir = 1;
        }
        free_snapshots(files, n, created && !lost);
    }
out:
    if (sink.fp)
        rs_cli_sink_close(CMD, &sink, 0);   /* not reported: no FILE */
    if (created && !keep_dir)
        rmdir(out_dir);
    free(out_dir);
    free(seen.pids);
    free(o.check_argv);
    if (killed_by && rc == 128 + killed_by)
        rs_run_die_by(killed_by);
    return rc;
}
