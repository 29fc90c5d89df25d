/*
 * cmd_graph.c - `refscope graph SNAPSHOT`: the heap graph, or a part of
 * it, as Graphviz DOT (lib/report/report_dot.h); rendered to SVG/PNG/PDF with
 * Graphviz's `dot` when -o names such a file.  Exit 0 success, 1 when
 * --around matches no block, 2 on a usage error, an unreadable snapshot
 * or when `dot` is missing or fails.
 */
#include "cli.h"
#include "graphviz.h"
#include "report_dot.h"
#include "timeline_cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CMD "graph"

static void usage(void)
{
    fputs("usage: refscope graph [options] SNAPSHOT\n"
          "\n"
          "Draws blocks as boxes (type or allocation site, size, class,\n"
          "address; leaks in red) and pointers as arrows labelled with the\n"
          "byte offset and field name.  Default: every leaked block.\n"
          "\n"
          "  --cycles          the reference cycles and the pointers forming them\n"
          "  --around TARGET   TARGET (0xADDRESS, #N finding, type or function\n"
          "                    name) and what points to it, --depth levels back,\n"
          "                    with the roots that hold them (like objgraph's\n"
          "                    show_backrefs)\n"
          "  --depth N         levels of referrers for --around (default 3)\n"
          "  --max-nodes N     draw at most N blocks (default 500, 0 = all)\n"
          "  -o FILE           write to FILE; FILE.svg, .png or .pdf is rendered\n"
          "                    with Graphviz's dot (package graphviz), anything\n"
          "                    else gets the DOT text.  Default: DOT on stdout\n"
          "  --help            this text\n"
          "\n"
          "Exit status: 0 success, 1 nothing matches TARGET, 2 usage error,\n"
          "unreadable snapshot, or dot missing or failing.\n", stdout);
}

typedef struct graph_args {
    rs_dot_options_t opt;
    const char      *around, *output, *path;
} graph_args_t;

static int parse(int argc, char **argv, graph_args_t *a)
{
    static const struct option options[] = {
        { "cycles", no_argument, NULL, 'c' },
        { "around", required_argument, NULL, 'a' },
        { "depth", required_argument, NULL, 'd' },
        { "max-nodes", required_argument, NULL, 'n' },
        { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt, cycles = 0;
    a->opt.depth = 3;
    a->opt.max_nodes = 500;
    rs_cli_getopt_start();
    while ((opt = getopt_long(argc, argv, ":ho:", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            cycles = 1;
            break;
        case 'a':
            a->around = optarg;
            break;
        case 'd':
            if (rs_cli_parse_uint(CMD, "depth", optarg, 0, 1000, &a->opt.depth) < 0)
                return RS_CLI_EXIT_USAGE;
            break;
        case 'n':
            if (rs_cli_parse_uint(CMD, "max-nodes", optarg, 0, UINT32_MAX,
                                  &a->opt.max_nodes) < 0)
                return RS_CLI_EXIT_USAGE;
            break;
        case 'o':
            if (rs_cli_file_value(CMD, "output", optarg) < 0)
                return RS_CLI_EXIT_USAGE;
            a->output = optarg;
            break;
        default:
            return rs_cli_option_default(CMD, opt, argv, usage);
        }
    }
    if (cycles && a->around)
        return rs_cli_usage_error(CMD, "--cycles and --around exclude each other");
    if (argc - optind != 1)
        return rs_cli_usage_error(CMD, "wants exactly one snapshot file");
    a->opt.mode = cycles ? RS_DOT_CYCLES : a->around ? RS_DOT_AROUND : RS_DOT_LEAKS;
    a->path = argv[optind];
    return -1;
}

/* "svg", "png" or "pdf" when path asks for rendering, else NULL. */
static const char *render_format(const char *path)
{
    static const char *const formats[] = { "svg", "png", "pdf" };
    const char *dot = path ? strrchr(path, '.') : NULL;
    for (size_t i = 0; dot && i < 3; i++)
        if (strcmp(dot + 1, formats[i]) == 0)
            return formats[i];
    return NULL;
}

/* Starts `dot -T<fmt>` reading from a pipe and writing to sink (the
 * output's temporary file: committed only when dot succeeds, so a failed
 * rendering leaves no half file); returns the pipe's writing end and sets
 * *pid, or NULL with a message printed. */
static FILE *open_renderer(const char *fmt, const char *output, FILE *sink, char **dot,
                           pid_t *pid)
{
    *dot = rs_graphviz_find_dot();
    if (!*dot) {
        rs_cli_say(CMD, "cannot render %s: Graphviz's 'dot' is not installed (apt-get "
                   "install graphviz); write the DOT text with -o FILE.dot or to stdout "
                   "instead", output);
        return NULL;
    }
    char tflag[16];
    snprintf(tflag, sizeof tflag, "-T%s", fmt);
    int fds[2];
    if (pipe(fds) != 0) {
        rs_cli_say(CMD, "pipe: %s", strerror(errno));
        return NULL;
    }
    fflush(NULL);
    *pid = fork();
    if (*pid == 0) {
        dup2(fds[0], 0);
        dup2(fileno(sink), 1);
        close(fds[0]);
        close(fds[1]);
        execl(*dot, "dot", tflag, (char *)NULL);
        _exit(127);
    }
    close(fds[0]);
    FILE *f = *pid > 0 ? fdopen(fds[1], "w") : NULL;
    if (!f) {
        rs_cli_say(CMD, "cannot run %s: %s", *dot, strerror(errno));
        close(fds[1]);
    }
    return f;
}

/* Closes the pipe and waits for dot; returns its exit status (or -1). */
static int close_renderer(FILE *f, pid_t pid)
{
    fclose(f);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int write_graph(const graph_args_t *a, rs_tl_graph_t *g)
{
    const char *fmt = render_format(a->output);
    char *dot = NULL;
    pid_t pid = -1;
    rs_cli_sink_t sink;           /* -o FILE written atomically (cli_sink.c) */
    if (rs_cli_sink_open(CMD, a->output, &sink) < 0)
        return RS_CLI_EXIT_USAGE;
    FILE *out = fmt ? open_renderer(fmt, a->output, sink.fp, &dot, &pid) : sink.fp;
    if (!out) {
        rs_cli_sink_close(CMD, &sink, 0);
        free(dot);
        return RS_CLI_EXIT_USAGE;
    }
    rs_dot_stats_t st;
    int rc = rs_dot_write(out, g->snap, g->nm, g->x, &a->opt, &st);
    if (fmt) {
        int status = close_renderer(out, pid);
        if (status != 0) {
            rs_cli_say(CMD, "%s failed (status %d) rendering %s", dot, status, a->output);
            rc = -1;
        }
    }
    if (rs_cli_sink_close(CMD, &sink, rc == 0) < 0)
        rc = -1;
    free(dot);
    if (rc == 0 && a->output)
        rs_cli_say(CMD, "wrote %s (%u blocks, %u roots, %u pointers)",
                   a->output, st.nodes, st.roots, st.edges);
    if (rc == 0 && st.cut)
        rs_cli_say(CMD, "%u blocks not drawn (--max-nodes %u)", st.cut, a->opt.max_nodes);
    return rc ? RS_CLI_EXIT_USAGE : 0;
}

int rs_cmd_graph(int argc, char **argv)
{
    graph_args_t a;
    memset(&a, 0, sizeof a);
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        return rc;
    rs_tl_graph_t g;
    uint32_t *nodes = NULL;
    rc = rs_tl_graph_open(CMD, a.path, &g);
    if (rc == 0 && a.around) {
        rc = rs_tl_resolve(CMD, &g, a.around, &nodes, &a.opt.n_targets);
        a.opt.targets = nodes;
    }
    if (rc == 0)
        rc = write_graph(&a, &g);
    free(nodes);
    rs_tl_graph_close(&g);
    return rc;
}
