/*
 * cmd_check.c - `refscope check [options] SNAPSHOT...`: the CI leak gate.
 * Also behind `refscope run --check [check options] -- prog`.
 *
 * Reads every snapshot (any unreadable one is a bad input: exit 2 before
 * anything is judged), turns their findings into check items, loads the
 * suppression files (--suppressions, then $REFSCOPE_SUPPRESSIONS) and the
 * baseline, lets rs_check_evaluate() decide, renders the result, and
 * writes or ratchets the baseline when asked.  All the logic lives in
 * lib/report_check*.c; this file is options and files.
 *
 * Exit status: 0 the gate passed, 1 it failed, 2 usage error, unreadable
 * snapshot, suppression file or baseline, or an output that could not be
 * written.
 */
#include "cli.h"

#include "report_check.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_PASS 0
#define EXIT_FAIL 1

typedef struct check_args {
    const char               *cmd;         /* "check" or "run"           */
    rs_check_options_t        opt;
    rs_check_render_options_t ropt;
    const char               *output;      /* --output, NULL = stdout    */
    const char               *baseline;
    const char               *write_baseline;
    int                       update_baseline;
    char                    **supp_files;
    size_t                    n_supp_files;
    char                    **snapshots;   /* positional arguments       */
    size_t                    n_snapshots;
} check_args_t;

/* Every option with its default, in one place (also the --help text). */
static void usage(FILE *out)
{
    fputs("usage: refscope check [options] SNAPSHOT...\n"
          "       refscope run [run options] --check [check options] -- "
          "PROGRAM [ARGS...]\n"
          "\n"
          "The CI leak gate: decides whether the findings of the snapshots\n"
          "fail, and says why.\n"
          "\n"
          "  --fail-on LIST          classes that fail: leaks, indirect, "
          "cycles,\n"
          "                          leaked_refs, rc_errors, all, none\n"
          "                          (default: all but indirect)\n"
          "  --max-findings N        fail only when more than N findings "
          "count\n"
          "  --max-leaked-bytes N    fail only when more than N bytes count\n"
          "                          (refcount errors then still fail unless\n"
          "                          --max-findings is given too)\n"
          "  --suppressions FILE     suppression file (repeatable); LSan's\n"
          "                          leak:PATTERN lines work unchanged, plus\n"
          "                          cycle:, ref:, rc: and type: lines.\n"
          "                          $REFSCOPE_SUPPRESSIONS (files separated\n"
          "                          by ':') is read too\n"
          "  --print-suppressions    list the suppressions with how much each\n"
          "                          matched, and the unused ones\n"
          "  --baseline FILE         findings recorded in FILE do not fail\n"
          "                          unless they grew\n"
          "  --write-baseline FILE   record the current findings in FILE and\n"
          "                          exit 0 (the gate is not applied)\n"
          "  --update-baseline       with --baseline: rewrite it with counts\n"
          "                          that went down (it only ever tightens)\n"
          "  --fingerprint-frames N  application frames in a fingerprint\n"
          "                          (1..64, default 4; a baseline keeps its\n"
          "                          own)\n"
          "  --format F              text (default), json, junit, sarif, "
          "github\n"
          "  -o, --output FILE       write the report to FILE (replaced\n"
          "                          atomically: a temporary name, then a\n"
          "                          rename); the verdict line still goes\n"
          "                          to stderr\n"
          "  --source-root DIR       show paths relative to DIR (default: "
          "the\n"
          "                          current directory)\n"
          "  --frames N              frames shown per finding (0 = all, the\n"
          "                          default)\n"
          "  --all                   text: also list suppressed, baselined "
          "and\n"
          "                          not gated findings\n"
          "  --help                  this text\n"
          "\n"
          "A finding's fingerprint is its class, type and the function and\n"
          "file names (no lines, no addresses) of its first application\n"
          "frames; a baseline compares counts and bytes per fingerprint.\n"
          "Exit status: 0 passed, 1 failed, 2 usage error or unreadable "
          "input.\n", out);
}

static int add_string(char ***list, size_t *n, char *s)
{
    char **l = realloc(*list, (*n + 1) * sizeof *l);
    if (!l)
        return -1;
    l[(*n)++] = s;
    *list = l;
    return 0;
}

static int parse_u64(const check_args_t *a, const char *option,
                     const char *arg, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (!*arg || *end || errno || arg[0] == '-') {
        rs_cli_usage_error(a->cmd, "--%s wants a number, not '%s'", option,
                           arg);
        return -1;
    }
    *out = v;
    return 0;
}

/* Handles one option; returns -1 to continue, else an exit status. */
static int one_option(check_args_t *a, int opt, const char *arg)
{
    char bad[64];
    uint32_t u;
    switch (opt) {
    case 'F':
        if (rs_check_parse_fail_on(arg, &a->opt.fail_on, bad, sizeof bad) < 0)
            return rs_cli_usage_error(a->cmd, "--fail-on: unknown class '%s' "
                                      "(leaks, indirect, cycles, leaked_refs,"
                                      " rc_errors, all, none)", bad);
        return -1;
    case 'n':
        a->opt.have_max_findings = 1;
        return parse_u64(a, "max-findings", arg, &a->opt.max_findings) < 0
               ? RS_CLI_EXIT_USAGE : -1;
    case 'b':
        a->opt.have_max_bytes = 1;
        return parse_u64(a, "max-leaked-bytes", arg,
                         &a->opt.max_leaked_bytes) < 0 ? RS_CLI_EXIT_USAGE
                                                       : -1;
    case 's':
        return add_string(&a->supp_files, &a->n_supp_files, (char *)arg) < 0
               ? RS_CLI_EXIT_USAGE : -1;
    case 'p': a->ropt.print_suppressions = 1; return -1;
    case 'B': a->baseline = arg;              return -1;
    case 'W':
        if (rs_cli_file_value(a->cmd, "write-baseline", arg) < 0)
            return RS_CLI_EXIT_USAGE;
        a->write_baseline = arg;
        return -1;
    case 'U': a->update_baseline = 1;         return -1;
    case 'o':
        if (rs_cli_file_value(a->cmd, "output", arg) < 0)
            return RS_CLI_EXIT_USAGE;
        a->output = arg;
        return -1;
    case 'r': a->ropt.source_root = arg;      return -1;
    case 'a': a->ropt.all_items = 1;          return -1;
    case 'P':
        if (rs_cli_parse_uint(a->cmd, "fingerprint-frames", arg, 1,
                              RS_CHECK_MAX_FRAMES, &u) < 0)
            return RS_CLI_EXIT_USAGE;
        a->opt.fp_frames = u;
        return -1;
    case 'f': {
        int f = rs_check_format_from_name(arg);
        if (f < 0)
            return rs_cli_usage_error(a->cmd, "--format: unknown format '%s' "
                                      "(text, json, junit, sarif, github)",
                                      arg);
        a->ropt.format = (rs_check_format_t)f;
        return -1;
    }
    case 'x':
        return rs_cli_parse_uint(a->cmd, "frames", arg, 0, UINT32_MAX,
                                 &a->ropt.max_frames) < 0 ? RS_CLI_EXIT_USAGE
                                                          : -1;
    case 'h':
        usage(stdout);
        return 0;
    default:
        return RS_CLI_EXIT_USAGE;
    }
}

/* Parses argv; returns -1 to continue, else an exit status. */
static int parse_options(check_args_t *a, int argc, char **argv)
{
    static const struct option options[] = {
        { "fail-on", required_argument, NULL, 'F' },
        { "max-findings", required_argument, NULL, 'n' },
        { "max-leaked-bytes", required_argument, NULL, 'b' },
        { "suppressions", required_argument, NULL, 's' },
        { "print-suppressions", no_argument, NULL, 'p' },
        { "baseline", required_argument, NULL, 'B' },
        { "write-baseline", required_argument, NULL, 'W' },
        { "update-baseline", no_argument, NULL, 'U' },
        { "fingerprint-frames", required_argument, NULL, 'P' },
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, 'o' },
        { "source-root", required_argument, NULL, 'r' },
        { "frames", required_argument, NULL, 'x' },
        { "all", no_argument, NULL, 'a' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt, rc;
    rs_cli_getopt_start();
    while ((opt = getopt_long(argc, argv, ":ho:", options, NULL)) != -1) {
        if (opt == ':' || opt == '?')
            return rs_cli_option_error(a->cmd, opt, argv);
        if ((rc = one_option(a, opt, optarg)) >= 0)
            return rc;
    }
    for (int i = optind; i < argc; i++)
        if (add_string(&a->snapshots, &a->n_snapshots, argv[i]) < 0)
            return RS_CLI_EXIT_USAGE;
    if (a->update_baseline && !a->baseline)
        return rs_cli_usage_error(a->cmd, "--update-baseline needs "
                                  "--baseline FILE");
    if (a->update_baseline && a->write_baseline)
        return rs_cli_usage_error(a->cmd, "--update-baseline and "
                                  "--write-baseline exclude each other");
    return -1;
}

/* ---- inputs -------------------------------------------------------------- */

/* Reads every suppression file; returns 0 or -1 (message printed). */
static int load_suppressions(const check_args_t *a, rs_supp_list_t *supp)
{
    char err[1024];
    for (size_t i = 0; i < a->n_supp_files; i++)
        if (rs_supp_load(supp, a->supp_files[i], err, sizeof err) < 0)
            goto fail;
    const char *env = getenv("REFSCOPE_SUPPRESSIONS");
    if (!env || !*env)
        return 0;
    char *copy = strdup(env), *save = NULL;
    if (!copy) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":",
                                                                 &save))
        if (rs_supp_load(supp, p, err, sizeof err) < 0) {
            free(copy);
            goto fail;
        }
    free(copy);
    return 0;
fail:
    rs_cli_say(a->cmd, "%s", err);
    return -1;
}

/* Reads every snapshot into set; returns 0 or -1 (message printed). */
static int load_snapshots(const check_args_t *a, char *const *paths,
                          size_t n, rs_check_set_t *set)
{
    rs_symbolizer_t *sym = rs_symbolizer_create(stderr);
    int rc = 0;
    if (!sym) {
        rs_cli_oom(a->cmd);
        return -1;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        rs_snapshot_t *snap = rs_cli_load(a->cmd, paths[i]);
        if (!snap) {
            rc = -1;
            break;
        }
        if (rs_check_set_add_snapshot(set, snap, sym, paths[i]) < 0) {
            rs_cli_oom(a->cmd);
            rc = -1;
        }
        rs_snapshot_free(snap);
    }
    rs_symbolizer_destroy(sym);
    return rc;
}

/* ---- outputs -------------------------------------------------------------- */

/* Renders to --output or stdout; returns 0 or -1 (message printed). */
static int render(const check_args_t *a, const rs_check_set_t *set,
                  const rs_check_verdict_t *v)
{
    rs_cli_sink_t sink;
    if (rs_cli_sink_open(a->cmd, a->output, &sink) < 0)
        return -1;
    int rc = rs_check_render(sink.fp, set, v, &a->opt, &a->ropt);
    if (rc < 0)
        rs_cli_say(a->cmd, "cannot write the report: %s", strerror(errno));
    if (rs_cli_sink_close(a->cmd, &sink, rc == 0) < 0)
        rc = -1;
    if (rc == 0 && (a->output || a->ropt.format != RS_CHECK_FORMAT_TEXT) &&
        a->ropt.format != RS_CHECK_FORMAT_GITHUB)
        rs_cli_say("check", "%s%s", v->failed ? "FAILED: " : "PASSED",
                   v->failed ? v->reason : "");
    return rc;
}

static int write_baseline(const check_args_t *a, const rs_check_set_t *set,
                          const rs_check_verdict_t *v,
                          const rs_baseline_t *ratchet)
{
    char err[1024];
    const char *path = ratchet ? a->baseline : a->write_baseline;
    if (rs_baseline_write(path, set, v->fp_frames, ratchet, err,
                          sizeof err) < 0) {
        rs_cli_say(a->cmd, "%s", err);
        return -1;
    }
    return 0;
}

static void free_args(check_args_t *a)
{
    free(a->supp_files);
    free(a->snapshots);
}

/* Runs the gate over paths; returns the exit status. */
static int gate(check_args_t *a, char *const *paths, size_t n)
{
    rs_check_set_t set = { 0 };
    rs_supp_list_t supp = { 0 };
    rs_baseline_t base = { 0 };
    rs_check_verdict_t v;
    char err[1024];
    int rc = RS_CLI_EXIT_USAGE;

    if (load_suppressions(a, &supp) < 0)
        goto out;
    if (a->baseline && rs_baseline_read(a->baseline, &base, err,
                                        sizeof err) < 0) {
        rs_cli_say(a->cmd, "%s", err);
        goto out;
    }
    if (load_snapshots(a, paths, n, &set) < 0)
        goto out;
    a->ropt.supp = &supp;
    rs_check_evaluate(&set, &a->opt, &supp, a->baseline ? &base : NULL, &v);
    if (a->write_baseline) {
        if (write_baseline(a, &set, &v, NULL) == 0) {
            rs_cli_say(a->cmd, "recorded %zu finding%s in %s",
                       set.n - (size_t)v.suppressed, set.n - v.suppressed == 1 ? "" : "s",
                       a->write_baseline);
            rc = EXIT_PASS;
        }
        goto out;
    }
    if (render(a, &set, &v) < 0)
        goto out;
    if (a->update_baseline && write_baseline(a, &set, &v, &base) < 0)
        goto out;
    rc = v.failed ? EXIT_FAIL : EXIT_PASS;
out:
    rs_check_set_free(&set);
    rs_supp_free(&supp);
    rs_baseline_free(&base);
    return rc;
}

int rs_check_snapshots(const char *cmd, int argc, char **argv,
                       char *const *paths, size_t n)
{
    check_args_t a = { .cmd = cmd, .opt = { .fail_on = RS_CHECK_FAIL_DEFAULT } };
    int rc = parse_options(&a, argc, argv);
    if (rc < 0 && a.n_snapshots)
        rc = rs_cli_usage_error(cmd, "unexpected argument '%s'",
                                a.snapshots[0]);
    if (rc < 0 && paths)
        rc = gate(&a, paths, n);
    free_args(&a);
    return rc;
}

int rs_cmd_check(int argc, char **argv)
{
    check_args_t a = { .cmd = "check",
                       .opt = { .fail_on = RS_CHECK_FAIL_DEFAULT } };
    int rc = parse_options(&a, argc, argv);
    if (rc < 0 && !a.n_snapshots)
        rc = rs_cli_usage_error(a.cmd, "no snapshot given");
    if (rc < 0)
        rc = gate(&a, a.snapshots, a.n_snapshots);
    free_args(&a);
    return rc;
}
