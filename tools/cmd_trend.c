/*
 * cmd_trend.c - `refscope trend SNAP...`: groups that grow across a series
 * of snapshots of one run (lib/report_trend.h).  Exit 0 success, 2 on a
 * usage error, an unreadable snapshot or snapshots of different programs
 * (without --force).
 */
#include "cli.h"
#include "report_trend.h"
#include "timeline_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "trend"

static void usage(void)
{
    fputs("usage: refscope trend [options] SNAPSHOT SNAPSHOT...\n"
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
          "  --json            JSON (layout in lib/report_trend.h)\n"
          "  --help            this text\n"
          "\n"
          "Exit status: 0 success (whether or not anything grows), 2 usage\n"
          "error, unreadable snapshot or different programs.\n", stdout);
}

typedef struct trend_args {
    rs_trend_options_t opt;
    int                json, force;
    char             **paths;
    uint32_t           n;
} trend_args_t;

static int parse(int argc, char **argv, trend_args_t *a)
{
    static const struct option options[] = {
        { "by", required_argument, NULL, 'b' },
        { "min-share", required_argument, NULL, 'm' },
        { "count", no_argument, NULL, 'n' },
        { "class", required_argument, NULL, 'c' },
        { "limit", required_argument, NULL, 'l' },
        { "force", no_argument, NULL, 'f' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    uint32_t v;
    int opt;
    a->opt.min_share = 1.0;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case 'b':
            if (rs_group_by_from_name(optarg, &a->opt.by) != 0)
                return rs_cli_usage_error(CMD, "--by wants site, type, function "
                                          "or file, not '%s'", optarg);
            break;
        case 'm':
            if (rs_cli_parse_uint(CMD, "min-share", optarg, 1, 100, &v) < 0)
                return RS_CLI_EXIT_USAGE;
            a->opt.min_share = v / 100.0;
            break;
        case 'n':
            a->opt.by_count = 1;
            break;
        case 'c':
            if (rs_tl_parse_classes(CMD, optarg, &a->opt.class_mask) < 0)
                return RS_CLI_EXIT_USAGE;
            break;
        case 'l':
            if (rs_cli_parse_uint(CMD, "limit", optarg, 0, UINT32_MAX, &a->opt.limit) < 0)
                return RS_CLI_EXIT_USAGE;
            break;
        case 'f':
            a->force = 1;
            break;
        case 'j':
            a->json = 1;
            break;
        case 'h':
            usage();
            return 0;
        case ':':
            return rs_cli_usage_error(CMD, "%s needs a value", argv[optind - 1]);
        default:
            return rs_cli_usage_error(CMD, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind < 2)
        return rs_cli_usage_error(CMD, "wants at least two snapshot files");
    a->paths = argv + optind;
    a->n = (uint32_t)(argc - optind);
    return -1;
}

static int check_programs(const trend_args_t *a, rs_snapshot_t **s)
{
    char why[1024];
    for (uint32_t i = 1; i < a->n; i++)
        if (!rs_group_same_program(s[0], s[i], why, sizeof why) && !a->force) {
            fprintf(stderr, "refscope %s: %s and %s: %s (use --force to accept)\n",
                    CMD, a->paths[0], a->paths[i], why);
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
        rs_tl_oom(CMD);
        goto out;
    }
    for (uint32_t i = 0; i < a.n; i++)
        if (!(s[i] = rs_tl_load(CMD, a.paths[i])))
            goto out;
    if (check_programs(&a, s) != 0)
        goto out;
    rs_trend_t t;
    if (rs_trend_compute((const rs_snapshot_t *const *)s, a.n, sym, &a.opt, &t) != 0) {
        rs_tl_oom(CMD);
        goto out;
    }
    if (a.json) {
        rs_json_t j;
        rs_json_init(&j, stdout, 2);
        rs_trend_json(&j, &t, (const rs_snapshot_t *const *)s, a.paths, &a.opt);
        rc = rs_tl_json_finish(CMD, &j) ? RS_CLI_EXIT_USAGE : 0;
    } else {
        rc = rs_trend_text(stdout, &t, &a.opt) ? RS_CLI_EXIT_USAGE : 0;
    }
    rs_trend_free(&t);
out:
    for (uint32_t i = 0; s && i < a.n; i++)
        rs_snapshot_free(s[i]);
    free(s);
    rs_symbolizer_destroy(sym);
    return rc;
}
