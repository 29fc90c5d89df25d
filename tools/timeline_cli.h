/*
 * timeline_cli.h - what the snapshot-analysis subcommands (diff, trend,
 * chain, graph, export) share beyond cli.h: loading a series of
 * snapshots, the grouping options of diff and trend (--by, --class,
 * --limit, --force, --json, --html, -o/--output), opening one snapshot
 * with what chain and graph need to walk it, resolving a TARGET, and
 * ending JSON output.
 */
#ifndef RS_TIMELINE_CLI_H
#define RS_TIMELINE_CLI_H

#include "json_writer.h"
#include "report_chain.h"
#include "report_groups.h"
#include "report_target.h"
#include "snapshot.h"
#include "symbolize.h"

#include <getopt.h>
#include <stdint.h>

/* Reads paths[0..n) into s[0..n) in order, stopping at the first that
 * cannot be read (its message printed as by rs_cli_load()); returns 0, or
 * -1 with the entries not read left NULL. */
int rs_tl_load_series(const char *cmd, char *const *paths, uint32_t n,
                      rs_snapshot_t **s);

/* The options diff and trend share, for their getopt_long() tables. */
#define RS_TL_GROUP_OPTIONS                          \
    { "by", required_argument, NULL, 'b' },          \
    { "class", required_argument, NULL, 'c' },       \
    { "limit", required_argument, NULL, 'l' },       \
    { "force", no_argument, NULL, 'f' },             \
    { "json", no_argument, NULL, 'j' },              \
    { "html", required_argument, NULL, 'H' },        \
    { "output", required_argument, NULL, 'o' },      \
    { "help", no_argument, NULL, 'h' }

/* Their short options, for getopt_long()'s optstring. */
#define RS_TL_GROUP_SHORT ":ho:"

/* What RS_TL_GROUP_OPTIONS set (zero-initialised = the defaults). */
typedef struct rs_tl_group_args {
    rs_group_by_t by;          /* --by                                    */
    uint32_t      class_mask;  /* --class, 0 = every class                */
    uint32_t      limit;       /* --limit, 0 = all                        */
    int           have_limit;  /* --limit was given                       */
    int           force;       /* --force: accept different programs      */
    int           json;        /* --json                                  */
    const char   *html;        /* --html FILE, or NULL                    */
    const char   *output;      /* -o/--output FILE, NULL = stdout         */
} rs_tl_group_args_t;

/*
 * The default case of diff's and trend's getopt_long() switch: applies
 * one of RS_TL_GROUP_OPTIONS to *g and returns -1 to go on; anything else
 * goes to rs_cli_option_default().  Returns an exit status (0 after
 * --help, RS_CLI_EXIT_USAGE after a usage error, printed) otherwise.
 */
int rs_tl_group_option(const char *cmd, int opt, const char *arg,
                       char **argv, rs_tl_group_args_t *g, void (*usage)(void));

/* After parsing: --json and --html exclude each other.  Returns -1 when
 * the options agree, else prints the usage error and returns its status. */
int rs_tl_group_check(const char *cmd, const rs_tl_group_args_t *g);

/* Parses "leaked,indirect" (class names, comma separated) into a mask of
 * 1 << rs_class_t.  On error prints the usage error and returns -1. */
int rs_tl_parse_classes(const char *cmd, const char *arg, uint32_t *mask);

/* One snapshot opened for walking its heap graph (chain, graph). */
typedef struct rs_tl_graph {
    rs_snapshot_t    *snap;
    rs_symbolizer_t  *sym;
    rs_namer_t       *nm;
    rs_chain_index_t *x;
} rs_tl_graph_t;

/* Reads path and builds its symbolizer, namer and chain index.  Returns
 * 0, or RS_CLI_EXIT_USAGE with the reason printed (an unreadable file or
 * exhausted memory); g must be closed either way. */
int rs_tl_graph_open(const char *cmd, const char *path, rs_tl_graph_t *g);

/* Frees what rs_tl_graph_open() made; accepts a partly opened g. */
void rs_tl_graph_close(rs_tl_graph_t *g);

/* Resolves TARGET (rs_target_resolve()) into *nodes (malloc'ed) and *n.
 * Returns 0; else prints "refscope <cmd>: <why>" and returns 1 when
 * nothing matches, RS_CLI_EXIT_USAGE when target is malformed or memory
 * is exhausted. */
int rs_tl_resolve(const char *cmd, rs_tl_graph_t *g, const char *target,
                  uint32_t **nodes, uint32_t *n);

/* Finishes JSON and flushes its stream; returns 0, or prints "cannot
 * write" and returns -1. */
int rs_tl_json_finish(const char *cmd, rs_json_t *j);

#endif /* RS_TIMELINE_CLI_H */
