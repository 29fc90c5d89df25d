/*
 * cmd_export.c - `refscope export --json SNAPSHOT`: the whole snapshot as
 * JSON for other tools (schema in lib/report/report_export.h).  Exit 0 success,
 * 2 on a usage error or an unreadable snapshot.
 */
#include "cli.h"
#include "report_export.h"
#include "timeline_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define CMD "export"

static void usage(void)
{
    fputs("usage: refscope export --json SNAPSHOT\n"
          "\n"
          "Writes everything a snapshot holds as one JSON object on stdout:\n"
          "process, summary, modules, types, symbolized stacks, every block\n"
          "with its class, the pointer edges, the roots and root pointers,\n"
          "refcount errors.  The schema is documented in lib/report/report_export.h\n"
          "(\"format\": \"refscope-snapshot-json\", \"version\": 1).\n"
          "\n"
          "  --json     the output format (the only one, and required)\n"
          "  --help     this text\n"
          "\n"
          "Exit status: 0 success, 2 usage error or unreadable snapshot.\n", stdout);
}

int rs_cmd_export(int argc, char **argv)
{
    static const struct option options[] = {
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt, json = 0;
    rs_cli_getopt_start();
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case 'j':
            json = 1;
            break;
        default:
            return rs_cli_option_default(CMD, opt, argv, usage);
        }
    }
    if (!json)
        return rs_cli_usage_error(CMD, "--json is required (the only export format)");
    if (argc - optind != 1)
        return rs_cli_usage_error(CMD, "wants exactly one snapshot file");
    rs_snapshot_t *s = rs_cli_load(CMD, argv[optind]);
    if (!s)
        return RS_CLI_EXIT_USAGE;
    rs_symbolizer_t *sym = rs_symbolizer_create(stderr);
    int rc = RS_CLI_EXIT_USAGE;
    if (!sym) {
        rs_cli_oom(CMD);
    } else {
        rs_json_t j;
        rs_json_init(&j, stdout, 0);
        int e = rs_export_json(&j, s, sym);
        if (rs_tl_json_finish(CMD, &j) == 0 && e == 0)
            rc = 0;
        else if (e)
            rs_cli_oom(CMD);
    }
    rs_symbolizer_destroy(sym);
    rs_snapshot_free(s);
    return rc;
}
