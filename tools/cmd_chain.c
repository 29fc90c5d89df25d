/*
 * cmd_chain.c - `refscope chain SNAPSHOT TARGET`: why is a block alive —
 * the shortest referrer chains from roots (lib/report/report_chain.h), or its
 * direct referrers with --referrers.  Exit 0 when something was printed,
 * 1 when the target matches no block, 2 on a usage error or an unreadable
 * snapshot.
 */
#include "cli.h"
#include "report_chain.h"
#include "timeline_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "chain"

static void usage(void)
{
    fputs("usage: refscope chain [options] SNAPSHOT TARGET\n"
          "\n"
          "Prints the shortest chains of pointers from a root (a global\n"
          "variable, a thread's stack, registers or TLS, memory the\n"
          "program mapped) to TARGET: why it is still alive.  For a\n"
          "leaked block, the chain from the leaked block that holds it.\n"
          "TARGET is one of\n"
          "  0xADDRESS   the block containing this address\n"
          "  #N          finding N of `refscope report SNAPSHOT`\n"
          "  NAME        blocks of refcounted type NAME, else blocks\n"
          "              allocated in function NAME\n"
          "\n"
          "  --max N       at most N chains (default 3, 0 = all)\n"
          "  --referrers   list every pointer to the block instead (one hop;\n"
          "                TARGET must name one block: its first match is used)\n"
          "  --json        JSON (layout in lib/report/report_chain.h)\n"
          "  --help        this text\n"
          "\n"
          "Exit status: 0 success, 1 nothing matches TARGET, 2 usage error or\n"
          "unreadable snapshot.\n", stdout);
}

typedef struct chain_args {
    uint32_t    max;
    int         referrers, json;
    const char *path, *target;
} chain_args_t;

static int parse(int argc, char **argv, chain_args_t *a)
{
    static const struct option options[] = {
        { "max", required_argument, NULL, 'm' },
        { "referrers", no_argument, NULL, 'r' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt;
    a->max = 3;
    rs_cli_getopt_start();
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case 'm':
            if (rs_cli_parse_uint(CMD, "max", optarg, 0, UINT32_MAX, &a->max) < 0)
                return RS_CLI_EXIT_USAGE;
            break;
        case 'r':
            a->referrers = 1;
            break;
        case 'j':
            a->json = 1;
            break;
        default:
            return rs_cli_option_default(CMD, opt, argv, usage);
        }
    }
    if (argc - optind != 2)
        return rs_cli_usage_error(CMD, "wants a snapshot file and a target");
    a->path = argv[optind];
    a->target = argv[optind + 1];
    return -1;
}

static int print_referrers(const chain_args_t *a, rs_tl_graph_t *g, uint32_t node)
{
    rs_referrer_t *refs;
    uint32_t n;
    if (rs_chain_referrers(g->x, node, &refs, &n) != 0)
        return rs_cli_oom(CMD);
    int rc = 0;
    if (a->json) {
        rs_json_t j;
        rs_json_init(&j, stdout, 2);
        rs_referrers_print_json(&j, g->nm, g->snap, node, refs, n);
        rc = rs_tl_json_finish(CMD, &j);
    } else {
        rc = rs_referrers_print_text(stdout, g->nm, g->snap, node, refs, n);
    }
    free(refs);
    return rc ? RS_CLI_EXIT_USAGE : 0;
}

static int print_chains(const chain_args_t *a, rs_tl_graph_t *g,
                        const uint32_t *nodes, uint32_t n)
{
    rs_chain_t *chains;
    uint32_t nc;
    if (rs_chain_find(g->x, nodes, n, a->max, &chains, &nc) != 0)
        return rs_cli_oom(CMD);
    int rc;
    if (a->json) {
        rs_json_t j;
        rs_json_init(&j, stdout, 2);
        rs_chain_print_json(&j, g->nm, g->snap, a->target, chains, nc);
        rc = rs_tl_json_finish(CMD, &j);
    } else {
        printf("%u block%s match%s '%s'\n", n, n == 1 ? "" : "s", n == 1 ? "es" : "",
               a->target);
        rc = rs_chain_print_text(stdout, g->nm, g->snap, chains, nc);
    }
    rs_chains_free(chains, nc);
    return rc ? RS_CLI_EXIT_USAGE : 0;
}

int rs_cmd_chain(int argc, char **argv)
{
    chain_args_t a;
    memset(&a, 0, sizeof a);
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        return rc;
    rs_tl_graph_t g;
    uint32_t *nodes = NULL, n = 0;
    rc = rs_tl_graph_open(CMD, a.path, &g);
    if (rc == 0)
        rc = rs_tl_resolve(CMD, &g, a.target, &nodes, &n);
    if (rc == 0)
        rc = a.referrers ? print_referrers(&a, &g, nodes[0])
                         : print_chains(&a, &g, nodes, n);
    free(nodes);
    rs_tl_graph_close(&g);
    return rc;
}
