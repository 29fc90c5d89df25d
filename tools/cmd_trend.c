/*
 * cmd_trend.c - `refscope trend SNAP...`: groups that grow across a series
 * of snapshots of one run (lib/report/report_trend.h).  Exit 0 success, 2 on a
 * usage error, an unreadable snapshot or snapshots of different programs
 * (without --force).
 */
#include "cli.h"
#include "report_html.h"
#include "report_trend.h"
#include "timeline_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "trend"

static void usage(void)
{
    fputs("usage: refscope trend [options] [--json | --html FILE] SNAPSHOT SNAPSHOT...\n"
          "\n"
          "Reads a series of snapshots of one run, in the order given (oldest\n"
          "first), and lists the allocation sites (or types) that grow in\n"
          "every interval, or in a given share of them, with their growth\n"
          "per interval: memory that is still reachable but never freed,\n"
          "such as an unbounded cache.\n"
          "\n"
          "  --by site|type|function|file   grouping (default site)\n"
          "  --min-share P     report groups that grow in at least P percent\n"
          "                    of the intervals (1..100, default 100)\n"
          "  --count           measure growth in blocks instead of bytes\n"
          "  --class LIST      only blocks of these classes (comma separated)\n"
          "  --limit N         at most N findings (0 = all, the default)\n"
          "  --force           accept snapshots of different programs\n"
          "  --json            JSON (layout in lib/report/report_trend.h)\n"
          "  --html FILE       write a chart of the bytes of each growing\n"
          "                    group per snapshot, and the table, as one\n"
          "                    self-contained HTML page to FILE\n"
          "  -o, --output FILE write to FILE (replaced atomically: written\n"
          "                    under a temporary name, then renamed)\n"
          "  --help            this text\n"
          "\n"
          "Exit status: 0 success (whether or not anything grows), 2 usage\n"
          "error, unreadable snapshot or different programs.\n", stdout);
}

typedef struct trend_args {
    rs_trend_options_t opt;
    rs_tl_group_args_t g;
    char             **paths;
    uint32_t           n;
} trend_args_t;

static int parse(int argc, char **argv, trend_args_t *a)
{
    static const struct option options[] = {
        { "min-share", required_argument, NULL, 'm' },
        { "count", no_argument, NULL, 'n' },
        RS_TL_GROUP_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    uint32_t v;
    int opt, rc;
    a->opt.min_share = 1.0;
    rs_cli_getopt_start();
    while ((opt = getopt_long(argc, argv, RS_TL_GROUP_SHORT, options, NULL)) != -1) {
        switch (opt) {
        case 'm':
            if (rs_cli_parse_uint(CMD, "min-share", optarg, 1, 100, &v) < 0)
                return RS_CLI_EXIT_USAGE;
            a->opt.min_share = v / 100.0;
            break;
        case 'n':
            a->opt.by_count = 1;
            break;
        default:
            if ((rc = rs_tl_group_option(CMD, opt, optarg, argv, &a->g, usage)) >= 0)
                return rc;
        }
    }
    if ((rc = rs_tl_group_check(CMD, &a->g)) >= 0)
        return rc;
    if (argc - optind < 2)
        return rs_cli_usage_error(CMD, "wants at least two snapshot files");
    a->opt.by = a->g.by;
    a->opt.class_mask = a->g.class_mask;
    a->opt.limit = a->g.limit;
    a->paths = argv + optind;
    a->n = (uint32_t)(argc - optind);
    return -1;
}

static int check_programs(const trend_args_t *a, rs_snapshot_t **s)
{
    char why[1024];
    for (uint32_t i = 1; i < a->n; i++)
        if (!rs_group_same_program(s[0], s[i], why, sizeof why) && !a->g.force) {
            rs_cli_say(CMD, "%s and %s: %s (use --force to accept)",
                       a->paths[0], a->paths[i], why);
            return -1;
        }
    return 0;
}

int rs_cmd_trend(int argc, char **argv)
{
    trend_args_t a;
    memset(&a, 0, sizeof a);
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        return rc;
    rs_snapshot_t **s = calloc(a.n, sizeof *s);
    rs_symbolizer_t *sym = rs_symbolizer_create(stderr);
    rc = RS_CLI_EXIT_USAGE;
    if (!s || !sym) {
        rs_cli_oom(CMD);
        goto out;
    }
    if (rs_tl_load_series(CMD, a.paths, a.n, s) < 0)
        goto out;
    if (check_programs(&a, s) != 0)
        goto out;
    rs_trend_t t;
    if (rs_trend_compute((const rs_snapshot_t *const *)s, a.n, sym, &a.opt, &t) != 0) {
        rs_cli_oom(CMD);
        goto out;
    }
    rs_cli_sink_t sink;
    if (rs_cli_sink_open(CMD, a.g.html ? a.g.html : a.g.output, &sink) < 0) {
        rs_trend_free(&t);
        goto out;
    }
    if (a.g.html) {
        int werr = rs_trend_html(sink.fp, &t, (const rs_snapshot_t *const *)s,
                                 a.paths, &a.opt);
        rc = rs_cli_page_close(CMD, &sink, werr) == 0 ? 0 : RS_CLI_EXIT_USAGE;
    } else if (a.g.json) {
        rs_json_t j;
        rs_json_init(&j, sink.fp, 2);
        rs_trend_json(&j, &t, (const rs_snapshot_t *const *)s, a.paths, &a.opt);
        rc = rs_tl_json_finish(CMD, &j) ? RS_CLI_EXIT_USAGE : 0;
    } else {
        rc = rs_trend_text(sink.fp, &t, &a.opt) ? RS_CLI_EXIT_USAGE : 0;
    }
    if (sink.fp && rs_cli_sink_close(CMD, &sink, rc == 0) < 0)
        rc = RS_CLI_EXIT_USAGE;
    rs_trend_free(&t);
out:
    for (uint32_t i = 0; s && i < a.n; i++)
        rs_snapshot_free(s[i]);
    free(s);
    rs_symbolizer_destroy(sym);
    return rc;
}
