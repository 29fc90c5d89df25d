/*
 * html_graph.c - a finding's graph for the HTML report (see html_graph.h):
 * report_dot.c writes the DOT into memory, graphviz.c renders it.
 */
#include "html_graph.h"

#include "graphviz.h"
#include "html_writer.h"
#include "report_dot.h"

#include <stdlib.h>

int rs_html_graph_wanted(const rs_finding_t *f)
{
    return f->cls == RS_CLASS_CYCLE || f->cls == RS_CLASS_INDIRECT ||
           (f->cls == RS_CLASS_LEAKED_REF && f->pointers > 0);
}

static void dot_options(const rs_finding_t *f, rs_dot_options_t *o)
{
    *o = (rs_dot_options_t){ .mode = RS_DOT_AROUND,
                             .targets = &f->first_node, .n_targets = 1,
                             .max_nodes = RS_HTML_GRAPH_MAX_NODES,
                             .max_edges = RS_HTML_GRAPH_MAX_EDGES };
    if (f->cls == RS_CLASS_CYCLE) {
        o->targets = f->members;
        o->n_targets = f->n_members;
        o->depth = 0;
    } else {
        o->depth = f->cls == RS_CLASS_INDIRECT ? 4 : 2;
    }
}

/* What the picture shows, above it. */
static const char *caption(const rs_finding_t *f)
{
    if (f->cls == RS_CLASS_CYCLE)
        return "The cycle: its members and the pointers between them";
    if (f->cls == RS_CLASS_INDIRECT)
        return "What holds it: the blocks that point to it, up to 4 back";
    return "What points to it: referrers up to 2 back";
}

static void fallback(FILE *out, const char *dot, size_t len, const char *why)
{
    fputs("<div class=\"dotsrc\"><p class=\"note\">", out);
    rs_html_text(out, why);
    fputs(" The graph as Graphviz DOT text:</p><pre>", out);
    rs_html_text_n(out, dot, len);
    fputs("</pre></div>\n", out);
}

int rs_html_graph(FILE *out, const rs_snapshot_t *snap, rs_namer_t *nm,
                  const rs_chain_index_t *x, const rs_finding_t *f,
                  const char *dot_path)
{
    if (!rs_html_graph_wanted(f))
        return 0;
    rs_dot_options_t o;
    dot_options(f, &o);
    char *dot = NULL, *svg = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&dot, &len);
    if (!m)
        return -1;
    int rc = rs_dot_write(m, snap, nm, x, &o, NULL);
    if (fclose(m) != 0 || rc != 0) {
        free(dot);
        return -1;
    }
    fputs("<p class=\"gcap\">", out);
    rs_html_text(out, caption(f));
    fputs("</p>\n", out);
    if (!dot_path)
        fallback(out, dot, len, "Graphviz's dot is not installed, so this "
                 "graph is not drawn.");
    else if (rs_graphviz_svg(dot_path, dot, len, &svg) != 0)
        fallback(out, dot, len, "Graphviz's dot failed on this graph.");
    else
        fprintf(out, "<div class=\"graph\">%s</div>\n", svg);
    free(svg);
    free(dot);
    return 0;
}
