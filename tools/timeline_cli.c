/*
 * timeline_cli.c - helpers of the snapshot-analysis subcommands (see
 * timeline_cli.h).  Every helper prints its own one-line error, so the
 * subcommands only map failure to an exit status.
 */
#include "timeline_cli.h"

#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rs_tl_load_series(const char *cmd, char *const *paths, uint32_t n,
                      rs_snapshot_t **s)
{
    for (uint32_t i = 0; i < n; i++)
        if (!(s[i] = rs_cli_load(cmd, paths[i])))
            return -1;
    return 0;
}

int rs_tl_group_option(const char *cmd, int opt, const char *arg,
                       char **argv, rs_tl_group_args_t *g, void (*usage)(void))
{
    switch (opt) {
    case 'b':
        if (rs_group_by_from_name(arg, &g->by) != 0)
            return rs_cli_usage_error(cmd, "--by wants site, type, function "
                                      "or file, not '%s'", arg);
        return -1;
    case 'c':
        return rs_tl_parse_classes(cmd, arg, &g->class_mask) < 0 ? RS_CLI_EXIT_USAGE
                                                                 : -1;
    case 'l':
        if (rs_cli_parse_uint(cmd, "limit", arg, 0, UINT32_MAX, &g->limit) < 0)
            return RS_CLI_EXIT_USAGE;
        g->have_limit = 1;
        return -1;
    case 'f':
        g->force = 1;
        return -1;
    case 'j':
        g->json = 1;
        return -1;
    case 'H':
        if (rs_cli_file_value(cmd, "html", arg) < 0)
            return RS_CLI_EXIT_USAGE;
        g->html = arg;
        return -1;
    case 'o':
        if (rs_cli_file_value(cmd, "output", arg) < 0)
            return RS_CLI_EXIT_USAGE;
        g->output = arg;
        return -1;
    default:
        return rs_cli_option_default(cmd, opt, argv, usage);
    }
}

int rs_tl_group_check(const char *cmd, const rs_tl_group_args_t *g)
{
    if (g->json && g->html)
        return rs_cli_usage_error(cmd, "--json and --html exclude each other");
    if (g->output && g->html)
        return rs_cli_usage_error(cmd, "--html names its own file: it excludes -o");
    return -1;
}

int rs_tl_parse_classes(const char *cmd, const char *arg, uint32_t *mask)
{
    uint32_t m = 0;
    const char *p = arg;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char name[32];
        rs_class_t c = RS_CLASS_UNCLASSIFIED;
        if (len < sizeof name) {
            memcpy(name, p, len);
            name[len] = '\0';
            c = rs_class_from_name(name);
        }
        if (c == RS_CLASS_UNCLASSIFIED) {
            rs_cli_usage_error(cmd, "--class: unknown class '%.*s' (reachable, "
                               "leaked, indirect, cycle, leaked_ref)", (int)len, p);
            return -1;
        }
        m |= 1u << c;
        p += len + (comma != NULL);
    }
    if (!m) {
        rs_cli_usage_error(cmd, "--class wants class names");
        return -1;
    }
    *mask = m;
    return 0;
}

int rs_tl_graph_open(const char *cmd, const char *path, rs_tl_graph_t *g)
{
    memset(g, 0, sizeof *g);
    if (!(g->snap = rs_cli_load(cmd, path)))
        return RS_CLI_EXIT_USAGE;
    g->sym = rs_symbolizer_create(stderr);
    g->nm = g->sym ? rs_namer_create(g->snap, g->sym) : NULL;
    g->x = g->nm ? rs_chain_index_build(g->snap) : NULL;
    return g->x ? 0 : rs_cli_oom(cmd);
}

void rs_tl_graph_close(rs_tl_graph_t *g)
{
    rs_chain_index_destroy(g->x);
    rs_namer_destroy(g->nm);
    rs_symbolizer_destroy(g->sym);
    rs_snapshot_free(g->snap);
    memset(g, 0, sizeof *g);
}

int rs_tl_resolve(const char *cmd, rs_tl_graph_t *g, const char *target,
                  uint32_t **nodes, uint32_t *n)
{
    char why[512];
    long found = rs_target_resolve(g->nm, target, nodes, why, sizeof why);
    if (found <= 0) {
        rs_cli_say(cmd, "%s", why);
        return found == 0 ? 1 : RS_CLI_EXIT_USAGE;
    }
    *n = (uint32_t)found;
    return 0;
}

int rs_tl_json_finish(const char *cmd, rs_json_t *j)
{
    if (rs_json_finish(j) == 0 && fflush(j->out) == 0 && !ferror(j->out))
        return 0;
    rs_cli_say(cmd, "cannot write the output: %s",
               ferror(j->out) ? strerror(errno) : "internal JSON error");
    return -1;
}
