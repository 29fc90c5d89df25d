/*
 * cmd_diff.c - `refscope diff OLD NEW`: what grew between two snapshots
 * of one program (lib/report/report_diff.h does the work).  Exit 0 on success,
 * 2 on a usage error, an unreadable snapshot, or snapshots of different
 * programs without --force.
 */
#include "cli.h"
#include "report_diff.h"
#include "report_html.h"
#include "timeline_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define CMD "diff"
#define DEFAULT_TEXT_LIMIT 50

static void usage(void)
{
    fputs("usage: refscope diff [options] [--json | --html FILE] OLD NEW\n"
          "\n"
          "Compares two snapshots of one program: live blocks grouped by\n"
          "allocation site (or type, function, file) with count and bytes\n"
          "before, after and the difference, largest growth first.\n"
          "\n"
          "  --by site|type|function|file   grouping (default site); type\n"
          "                    groups refcounted types by name and plain\n"
          "                    blocks by their allocating function\n"
          "  --sort bytes|count  order by bytes delta (default) or count delta\n"
          "  --min-delta N     hide groups whose delta (of the sort column)\n"
          "                    is smaller than N in absolute value\n"
          "  --class LIST      only blocks of these classes, comma separated\n"
          "                    (reachable, leaked, indirect, cycle, leaked_ref)\n"
          "  --limit N         at most N rows (0 = all; default 50 for text,\n"
          "                    all for JSON)\n"
          "  --force           diff snapshots of different programs\n"
          "  --json            JSON (layout in lib/report/report_diff.h)\n"
          "  --html FILE       write the growth table as one self-contained\n"
          "                    HTML page to FILE (no network needed to view)\n"
          "  -o, --output FILE write to FILE (replaced atomically: written\n"
          "                    under a temporary name, then renamed)\n"
          "  --help            this text\n"
          "\n"
          "Exit status: 0 success, 2 usage error, unreadable snapshot or\n"
          "different programs without --force.\n", stdout);
}

typedef struct diff_args {
    rs_diff_options_t  opt;
    rs_tl_group_args_t g;
    char              *paths[2];
} diff_args_t;

/* Returns -1 to go on, else an exit status. */
static int parse(int argc, char **argv, diff_args_t *a)
{
    static const struct option options[] = {
        { "sort", required_argument, NULL, 's' },
        { "min-delta", required_argument, NULL, 'm' },
        RS_TL_GROUP_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    uint32_t v;
    int opt, rc;
    rs_cli_getopt_start();
    while ((opt = getopt_long(argc, argv, RS_TL_GROUP_SHORT, options, NULL)) != -1) {
        switch (opt) {
        case 's':
            if (strcmp(optarg, "count") != 0 && strcmp(optarg, "bytes") != 0)
                return rs_cli_usage_error(CMD, "--sort wants bytes or count, not "
                                          "'%s'", optarg);
            a->opt.sort_count = strcmp(optarg, "count") == 0;
            break;
        case 'm':
            if (rs_cli_parse_uint(CMD, "min-delta", optarg, 0, UINT32_MAX, &v) < 0)
                return RS_CLI_EXIT_USAGE;
            a->opt.min_delta = v;
            break;
        default:
            if ((rc = rs_tl_group_option(CMD, opt, optarg, argv, &a->g, usage)) >= 0)
                return rc;
        }
    }
    if ((rc = rs_tl_group_check(CMD, &a->g)) >= 0)
        return rc;
    if (argc - optind != 2)
        return rs_cli_usage_error(CMD, "wants two snapshot files, OLD and NEW "
                                  "(got %d)", argc - optind);
    a->paths[0] = argv[optind];
    a->paths[1] = argv[optind + 1];
    a->opt.by = a->g.by;
    a->opt.class_mask = a->g.class_mask;
    a->opt.limit = a->g.have_limit || a->g.json || a->g.html ? a->g.limit
                                                             : DEFAULT_TEXT_LIMIT;
    return -1;
}

static int render(const diff_args_t *a, rs_snapshot_t *const *s, rs_symbolizer_t *sym)
{
    rs_diff_t d;
    if (rs_diff_compute(s[0], s[1], sym, &a->opt, &d) != 0)
        return rs_cli_oom(CMD);
    rs_cli_sink_t sink;
    if (rs_cli_sink_open(CMD, a->g.html ? a->g.html : a->g.output, &sink) < 0) {
        rs_diff_free(&d);
        return RS_CLI_EXIT_USAGE;
    }
    int rc = 0;
    if (a->g.html) {
        int werr = rs_diff_html(sink.fp, &d, s[0], a->paths[0], s[1],
                                a->paths[1], &a->opt);
        rc = rs_cli_page_close(CMD, &sink, werr);
    } else if (a->g.json) {
        rs_json_t j;
        rs_json_init(&j, sink.fp, 2);
        rs_diff_json(&j, &d, s[0], a->paths[0], s[1], a->paths[1], &a->opt);
        rc = rs_tl_json_finish(CMD, &j);
    } else if (rs_diff_text(sink.fp, &d, s[0], a->paths[0], s[1], a->paths[1], &a->opt) != 0) {
        rs_cli_say(CMD, "cannot write the output");
        rc = -1;
    }
    if (sink.fp && rs_cli_sink_close(CMD, &sink, rc == 0) < 0)
        rc = -1;
    rs_diff_free(&d);
    return rc ? RS_CLI_EXIT_USAGE : 0;
}

int rs_cmd_diff(int argc, char **argv)
{
    diff_args_t a;
    memset(&a, 0, sizeof a);
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        return rc;
    rs_snapshot_t *s[2] = { NULL, NULL };
    rs_symbolizer_t *sym = NULL;
    char why[1024];
    rc = RS_CLI_EXIT_USAGE;
    if (rs_tl_load_series(CMD, a.paths, 2, s) < 0)
        goto out;
    sym = rs_symbolizer_create(stderr);
    if (!sym) {
        rs_cli_oom(CMD);
        goto out;
    }
    if (!rs_group_same_program(s[0], s[1], why, sizeof why) && !a.g.force) {
        rs_cli_say(CMD, "%s; allocation sites would not match, so the diff would mislead "
                   "(use --force to diff anyway)", why);
        goto out;
    }
    rc = render(&a, s, sym);
out:
    rs_symbolizer_destroy(sym);
    rs_snapshot_free(s[0]);
    rs_snapshot_free(s[1]);
    return rc;
}
