/*
 * cmd_report.c - `refscope report`: print the report of snapshot files.
 *
 * Text by default; --json prints one object for one file and an array
 * for several (the object layout is documented in lib/report/report.h);
 * --html FILE writes one page of every file (lib/report/report_html.h);
 * -o FILE writes the text or JSON to FILE atomically (cli_sink.c), and
 * leaves FILE as it was when the command fails.  Exit 0
 * when every file was read, 2 on a usage error or when a file could not
 * be read (the reader's one-line message says why).
 */
#include "cli.h"
#include "report_export.h"
#include "report_focus.h"
#include "timeline_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define CMD "report"
#define DEFAULT_TEXT_LIMIT 100

static void usage(void)
{
    fputs("usage: refscope report [--json | --folded | --html FILE] [--show-reachable]\n"
          "                       [--limit N] [--python] [-o FILE] SNAPSHOT...\n"
          "\n"
          "Prints what each snapshot found: leaks grouped by allocation\n"
          "stack, largest first, with function, file:line and module.\n"
          "\n"
          "  --folded          leaks as folded stacks for flame-graph tools:\n"
          "                    one line per finding, \"main;f;g BYTES\"\n"
          "  --json            JSON: one object for one snapshot, an array\n"
          "                    for several\n"
          "  --html FILE       one self-contained HTML page (no network needed\n"
          "                    to view it): summary, the findings with\n"
          "                    collapsible stacks and source lines, graphs of\n"
          "                    cycles and referrers (SVG by Graphviz's dot when\n"
          "                    installed), a flame graph of the leaked bytes\n"
          "  --show-reachable  also list blocks still reachable at exit\n"
          "  --limit N         at most N findings per snapshot (0 = all;\n"
          "                    default 100 for text, all for JSON); the\n"
          "                    report says how many were cut\n"
          "  -o, --output FILE write the report to FILE (replaced atomically:\n"
          "                    written under a temporary name, then renamed)\n"
          "  --python          only leaks allocated through a Python extension\n"
          "                    module, as `refscope run --python` reports them\n"
          "                    (and only such reachable blocks)\n"
          "  --help            this text\n"
          "\n"
          "Exit status: 0 success, 2 usage error or unreadable snapshot.\n",
          stdout);
}

/* --folded: the folded stacks of every file, in order. */
static int print_folded(FILE *fp, char **paths, int n)
{
    rs_symbolizer_t *sym = rs_symbolizer_create(stderr);
    int rc = 0;
    if (!sym)
        return rs_cli_oom(CMD);
    for (int i = 0; i < n; i++) {
        rs_snapshot_t *s = rs_cli_load(CMD, paths[i]);
        if (!s || rs_export_folded(fp, s, sym) != 0) {
            if (s)
                rs_cli_say(CMD, "cannot write the folded stacks");
            rc = RS_CLI_EXIT_USAGE;
        }
        rs_snapshot_free(s);
    }
    rs_symbolizer_destroy(sym);
    return rc;
}

int rs_cmd_report(int argc, char **argv)
{
    static const struct option options[] = {
        { "json", no_argument, NULL, 'j' },
        { "folded", no_argument, NULL, 'F' },
        { "html", required_argument, NULL, 'H' },
        { "show-reachable", no_argument, NULL, 'r' },
        { "limit", required_argument, NULL, 'l' },
        { "output", required_argument, NULL, 'o' },
        { "python", no_argument, NULL, 'P' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    rs_cli_output_t out = { 0 };
    int have_limit = 0, folded = 0;
    const char *output = NULL;
    int opt;

    rs_cli_getopt_start();
    while ((opt = getopt_long(argc, argv, ":ho:", options, NULL)) != -1) {
        switch (opt) {
        case 'j':
            out.json = 1;
            break;
        case 'F':
            folded = 1;
            break;
        case 'H':
            if (rs_cli_file_value(CMD, "html", optarg) < 0)
                return RS_CLI_EXIT_USAGE;
            out.html = optarg;
            break;
        case 'o':
            if (rs_cli_file_value(CMD, "output", optarg) < 0)
                return RS_CLI_EXIT_USAGE;
            output = optarg;
            break;
        case 'r':
            out.show_reachable = 1;
            break;
        case 'l':
            if (rs_cli_parse_uint(CMD, "limit", optarg, 0, UINT32_MAX,
                                  &out.limit) < 0)
                return RS_CLI_EXIT_USAGE;
            have_limit = 1;
            break;
        case 'P':
            out.focus = RS_FOCUS_PYTHON;
            break;
        default:
            return rs_cli_option_default(CMD, opt, argv, usage);
        }
    }
    if (optind == argc)
        return rs_cli_usage_error(CMD, "no snapshot file given");
    if (folded && out.json)
        return rs_cli_usage_error(CMD, "--folded and --json exclude each other");
    if (!have_limit && !out.json)
        out.limit = DEFAULT_TEXT_LIMIT;
    if (out.html && (folded || out.json))
        return rs_cli_usage_error(CMD, "--html excludes --json and --folded");
    if (out.html && output)
        return rs_cli_usage_error(CMD, "--html names its own file: it excludes -o");

    rs_cli_sink_t sink;
    if (rs_cli_sink_open(CMD, output, &sink) < 0)
        return RS_CLI_EXIT_USAGE;
    int rc;
    if (folded) {
        rc = print_folded(sink.fp, argv + optind, argc - optind);
    } else {
        rs_cli_printed_t printed;
        out.stream = sink.fp;
        rc = rs_cli_print_reports(CMD, argv + optind, (size_t)(argc - optind),
                                  &out, &printed);
        rc = rc < 0 || printed.unreadable ? RS_CLI_EXIT_USAGE : 0;
    }
    if (rs_cli_sink_close(CMD, &sink, rc == 0) < 0)
        rc = RS_CLI_EXIT_USAGE;
    return rc;
}
