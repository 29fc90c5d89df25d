/*
 * timeline_cli.h - what the snapshot-analysis subcommands (diff, trend,
 * chain, graph, export) share beyond cli.h: loading a snapshot with a
 * one-line error, parsing --class lists, and ending JSON output.
 */
#ifndef RS_TIMELINE_CLI_H
#define RS_TIMELINE_CLI_H

#include "json_writer.h"
#include "snapshot.h"

#include <stdint.h>

/* Reads path.  On failure prints "refscope <cmd>: <reader's message>"
 * and returns NULL. */
rs_snapshot_t *rs_tl_load(const char *cmd, const char *path);

/* Parses "leaked,indirect" (class names, comma separated) into a mask of
 * 1 << rs_class_t.  On error prints the usage error and returns -1. */
int rs_tl_parse_classes(const char *cmd, const char *arg, uint32_t *mask);

/* Finishes JSON on stdout; returns 0, or prints "cannot write" and
 * returns -1. */
int rs_tl_json_finish(const char *cmd, rs_json_t *j);

/* Prints "refscope <cmd>: out of memory" and returns RS_CLI_EXIT_USAGE. */
int rs_tl_oom(const char *cmd);

#endif /* RS_TIMELINE_CLI_H */
