/*
 * main.c - the refscope command-line program: finds the subcommand in a
 * table and hands it the rest of the command line.  Each subcommand lives
 * in its own cmd_<name>.c and parses its own options.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

typedef struct command {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *summary;
} command_t;

static const command_t commands[] = {
    { "run", rs_cmd_run,
      "run a program under the preload and report its leaks" },
    { "report", rs_cmd_report,
      "print the report of snapshot files (text, JSON, folded, HTML)" },
    { "check", rs_cmd_check,
      "the CI gate: exit 1 when snapshots show leaks (0 clean, 2 error)" },
    { "diff", rs_cmd_diff,
      "what grew between two snapshots, by site, type, function or file" },
    { "trend", rs_cmd_trend,
      "sites and types that grow across snapshots (HTML: a chart)" },
    { "chain", rs_cmd_chain,
      "why a block is alive: shortest pointer chains from the roots" },
    { "graph", rs_cmd_graph,
      "Graphviz DOT (or SVG/PNG) of leaks, cycles or a block's referrers" },
    { "export", rs_cmd_export,
      "a whole snapshot as JSON, for other tools" },
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fputs("usage: refscope <command> [options] [args]\n"
          "\n"
          "refscope finds memory leaks, reference cycles and leaked\n"
          "references in C programs, without recompiling them.\n"
          "\n"
          "commands:\n", out);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fputs("\n"
          "'refscope <command> --help' describes a command's options.\n"
          "Exit status: 0 success, 2 usage error or unreadable input;\n"
          "'run' exits with the status of the program it ran.\n", out);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return rs_cli_usage_error("", "missing command");
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 ||
        strcmp(name, "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].main(argc - 1, argv + 1);
    rs_cli_say("", "unknown command '%s' (try --help)", name);
    return RS_CLI_EXIT_USAGE;
}
