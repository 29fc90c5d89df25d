/*
 * timeline_cli.c - helpers of the snapshot-analysis subcommands (see
 * timeline_cli.h).
 */
#include "timeline_cli.h"

#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rs_snapshot_t *rs_tl_load(const char *cmd, const char *path)
{
    rs_snapshot_error_t err = { "" };
    rs_snapshot_t *s = rs_snapshot_read(path, &err);
    if (!s)
        fprintf(stderr, "refscope %s: %s\n", cmd, err.message[0] ? err.message : path);
    return s;
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

int rs_tl_json_finish(const char *cmd, rs_json_t *j)
{
    if (rs_json_finish(j) == 0 && fflush(stdout) == 0 && !ferror(stdout))
        return 0;
    fprintf(stderr, "refscope %s: cannot write the output: %s\n", cmd,
            ferror(stdout) ? strerror(errno) : "internal JSON error");
    return -1;
}

int rs_tl_oom(const char *cmd)
{
    fprintf(stderr, "refscope %s: out of memory\n", cmd);
    return RS_CLI_EXIT_USAGE;
}
