/*
 * cli.c - helpers shared by the refscope subcommands (see cli.h).
 *
 * Reports of several snapshots share one symbolizer, so a library that
 * every process of a run loaded is opened and its DWARF read only once.
 * Loading shows its progress (progress.h), and so does rendering, when
 * the report does not go to the terminal itself (where the findings
 * appearing are the progress, and a progress line would cut into them).
 */
#include "cli.h"

#include "graphviz.h"
#include "progress.h"
#include "findings.h"
#include "report.h"
#include "report_html.h"
#include "text_clean.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "refscope <cmd>: <message><tail>\n", the message cleaned (see cli.h).
 * A message that does not fit a 1 KiB buffer is formatted again into
 * one of its size. */
static void say_line(const char *cmd, const char *tail, const char *fmt, va_list ap)
{
    char small[1024], clean_small[RS_TEXT_CLEAN_BUF];
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    char *msg = small, *big = NULL;
    if (n >= (int)sizeof small && (big = malloc((size_t)n + 1)) != NULL) {
        vsnprintf(big, (size_t)n + 1, fmt, again);
        msg = big;
    }
    va_end(again);
    if (n < 0)
        msg = (char *)"(a message that cannot be formatted)";
    /* At most "\xNN" for each byte, and the "...". */
    size_t room = strlen(msg) * 4 + 8;
    char *clean_buf = room > sizeof clean_small ? malloc(room) : NULL;
    const char *clean = clean_buf ? rs_text_clean(msg, clean_buf, room)
                                  : rs_text_clean(msg, clean_small, sizeof clean_small);
    fprintf(stderr, "refscope%s%s: %s%s\n", *cmd ? " " : "", cmd, clean, tail);
    free(clean_buf);
    free(big);
}

void rs_cli_say(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say_line(cmd, "", fmt, ap);
    va_end(ap);
}

int rs_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say_line(cmd, " (try --help)", fmt, ap);
    va_end(ap);
    return RS_CLI_EXIT_USAGE;
}

void rs_cli_getopt_start(void)
{
    opterr = 0;
    optind = 1;
}

int rs_cli_option_error(const char *cmd, int opt, char **argv)
{
    if (opt == ':')
        return rs_cli_usage_error(cmd, "%s needs a value", argv[optind - 1]);
    return rs_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
}

int rs_cli_option_default(const char *cmd, int opt, char **argv,
                          void (*usage)(void))
{
    if (opt != 'h')
        return rs_cli_option_error(cmd, opt, argv);
    usage();
    return 0;
}

int rs_cli_file_value(const char *cmd, const char *option, const char *arg)
{
    if (!*arg) {
        rs_cli_usage_error(cmd, "--%s wants a path", option);
        return -1;
    }
    if (arg[0] == '-' && arg[1]) {
        rs_cli_usage_error(cmd, "--%s wants a path, not the option '%s' "
                           "(write ./%s for a path of that name)", option, arg, arg);
        return -1;
    }
    return 0;
}

int rs_cli_parse_uint(const char *cmd, const char *option, const char *arg,
                      uint32_t min, uint32_t max, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (!*arg || *end || errno || arg[0] == '-' || v < min || v > max) {
        rs_cli_usage_error(cmd, "--%s wants a number from %u to %u, not '%s'",
                           option, min, max, arg);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

rs_snapshot_t *rs_cli_load(const char *cmd, const char *path)
{
    rs_snapshot_error_t err = { "" };
    rs_snapshot_progress_t progress = { rs_progress_snapshot_cb, NULL };
    rs_snapshot_t *s = rs_snapshot_read_progress(path, &err, &progress);
    rs_progress_clear();
    if (!s) {
        fflush(stdout);
        rs_cli_say(cmd, "%s", err.message[0] ? err.message : path);
    }
    return s;
}

int rs_cli_oom(const char *cmd)
{
    rs_cli_say(cmd, "out of memory");
    return RS_CLI_EXIT_USAGE;
}

void rs_cli_report_progress(rs_report_options_t *opt, FILE *out)
{
    if (rs_progress_enabled() && !isatty(fileno(out)))
        opt->progress = rs_progress_findings_cb;
}

int rs_cli_page_close(const char *cmd, rs_cli_sink_t *s, int werr)
{
    const char *path = s->path;          /* rs_cli_sink_close clears s */
    if (werr)
        rs_cli_say(cmd, "cannot write %s: out of memory", path);
    if (rs_cli_sink_close(cmd, s, !werr) < 0)
        return -1;
    rs_cli_say(cmd, "wrote %s", path);
    return 0;
}

/* Prints one snapshot's report; returns -1 on exhaustion or I/O error. */
static int print_one(const rs_snapshot_t *snap, const char *path,
                     const rs_cli_output_t *out, rs_symbolizer_t *sym,
                     rs_json_t *j, int first)
{
    rs_report_options_t opt = { .show_reachable = out->show_reachable,
                                .limit = out->limit,
                                .focus = (rs_focus_t)out->focus,
                                .snapshot_path = out->temporary ? NULL : path };
    FILE *fp = out->stream ? out->stream : stdout;
    rs_cli_report_progress(&opt, fp);
    if (out->json)
        return rs_report_json(j, snap, sym, &opt);
    if (!first)
        fputc('\n', fp);
    return rs_report_text(fp, snap, sym, &opt);
}

/* Leak blocks of snap that the output's focus lists (all without one). */
static uint64_t leaks_in_focus(const rs_snapshot_t *snap, const rs_cli_output_t *out)
{
    uint64_t total = rs_report_leak_total(snap).blocks;
    rs_findings_options_t opt = { .focus = (rs_focus_t)out->focus };
    rs_findings_t f;
    if (!total || out->focus == RS_FOCUS_ALL || rs_findings_build(snap, &opt, &f) != 0)
        return total;
    total -= f.hidden.blocks;
    rs_findings_free(&f);
    return total;
}

/* Loads the readable ones of paths[0..n) into snaps/names (n entries of
 * room each) and counts them in *printed; returns how many were read. */
static uint32_t load_all(const char *cmd, char *const *paths, size_t n,
                         const rs_cli_output_t *out, rs_snapshot_t **snaps,
                         char **names, rs_cli_printed_t *printed)
{
    uint32_t got = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(snaps[got] = rs_cli_load(cmd, paths[i]))) {
            printed->unreadable++;
            continue;
        }
        if (leaks_in_focus(snaps[got], out) > 0)
            printed->leaking++;
        names[got++] = paths[i];
    }
    printed->reports = got;
    return got;
}

/* out->html: one page of every readable snapshot.  Returns 0 or -1. */
static int write_page(const char *cmd, char *const *paths, size_t n,
                      const rs_cli_output_t *out, rs_symbolizer_t *sym,
                      rs_cli_printed_t *printed)
{
    rs_snapshot_t **snaps = calloc(n ? n : 1, sizeof *snaps);
    char **names = calloc(n ? n : 1, sizeof *names);
    rs_html_options_t opt = { .report = { .show_reachable = out->show_reachable,
                                          .limit = out->limit,
                                          .focus = (rs_focus_t)out->focus },
                              .dot_path = rs_graphviz_find_dot() };
    uint32_t got = 0;
    int rc = -1;
    rs_cli_sink_t page = { 0 };
    if (!snaps || !names) {
        rs_cli_oom(cmd);
        goto done;
    }
    got = load_all(cmd, paths, n, out, snaps, names, printed);
    rc = 0;
    if (got == 0)
        goto done;
    rc = -1;
    if (rs_cli_sink_open(cmd, out->html, &page) < 0)
        goto done;
    rs_cli_report_progress(&opt.report, page.fp);
    int werr = rs_report_html(page.fp, (const rs_snapshot_t *const *)snaps,
                              out->temporary ? NULL : names, got, sym, &opt);
    rs_progress_clear();
    rc = rs_cli_page_close(cmd, &page, werr);
done:
    for (uint32_t i = 0; i < got; i++)
        rs_snapshot_free(snaps[i]);
    free(snaps);
    free(names);
    free((char *)opt.dot_path);
    return rc;
}

int rs_cli_print_reports(const char *cmd, char *const *paths, size_t n,
                         const rs_cli_output_t *out, rs_cli_printed_t *printed)
{
    rs_symbolizer_t *sym = rs_symbolizer_create(stderr);
    rs_json_t j;
    int rc = 0;
    int array = out->json && (out->json_array || n != 1);

    memset(printed, 0, sizeof *printed);
    if (!sym) {
        rs_cli_oom(cmd);
        return -1;
    }
    if (out->html) {
        rc = write_page(cmd, paths, n, out, sym, printed);
        rs_symbolizer_destroy(sym);
        return rc;
    }
    FILE *fp = out->stream ? out->stream : stdout;
    rs_json_init(&j, fp, 2);
    if (array)
        rs_json_begin_array(&j);
    for (size_t i = 0; i < n && rc == 0; i++) {
        rs_snapshot_t *snap = rs_cli_load(cmd, paths[i]);
        if (!snap) {
            printed->unreadable++;
            continue;
        }
        rc = print_one(snap, paths[i], out, sym, &j, printed->reports == 0);
        printed->reports++;
        if (leaks_in_focus(snap, out) > 0)
            printed->leaking++;
        rs_snapshot_free(snap);
        rs_progress_clear();
    }
    if (array)
        rs_json_end_array(&j);
    if (out->json && (array || printed->reports) && rs_json_finish(&j) < 0)
        rc = -1;
    if (fflush(fp) == EOF || ferror(fp))
        rc = -1;
    if (rc < 0)
        rs_cli_say(cmd, "cannot write the report: %s",
                   ferror(fp) ? strerror(errno) : "out of memory");
    rs_symbolizer_destroy(sym);
    return rc;
}
