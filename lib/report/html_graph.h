/*
 * html_graph.h - the picture of one finding in the HTML report: a cycle's
 * members and the pointers between them, or the referrers of an indirect
 * leak or a leaked reference (the chain of blocks that holds it), drawn
 * by report_dot.c's DOT and Graphviz's `dot -Tsvg`, inlined as SVG.
 * Without `dot` the DOT text itself is shown, in a block marked as such,
 * so the page says what it would have drawn.
 *
 * What is drawn per class (RS_DOT_AROUND of report_dot.h):
 *   cycle       the representative group's listed members, depth 0;
 *   indirect    the finding's lowest block and its referrers, 4 back;
 *   leaked_ref  the lowest object and its referrers, 2 back, when some
 *               pointer to it was found;
 *   others      nothing (a direct leak has no referrer by definition).
 * At most RS_HTML_GRAPH_MAX_NODES blocks and RS_HTML_GRAPH_MAX_EDGES
 * pointers per graph (Graphviz's time grows fast with edges: 40 blocks all
 * pointing at each other took over 5 minutes), and dot runs for
 * RS_GRAPHVIZ_SECONDS at most (graphviz.h), else the DOT text is shown.
 */
#ifndef RS_HTML_GRAPH_H
#define RS_HTML_GRAPH_H

#include "findings.h"
#include "report_chain.h"
#include "report_target.h"

#include <stdio.h>

#define RS_HTML_GRAPH_MAX_NODES 40
#define RS_HTML_GRAPH_MAX_EDGES 120

/* Non-zero when rs_html_graph() draws something for f. */
int rs_html_graph_wanted(const rs_finding_t *f);

/*
 * Writes <div class="graph">...</div> for f (nothing when not wanted).
 * dot_path is Graphviz's dot or NULL (then, and when dot fails, the DOT
 * text is shown in <div class="dotsrc">).  Returns 0, or -1 when memory
 * is exhausted.
 */
int rs_html_graph(FILE *out, const rs_snapshot_t *snap, rs_namer_t *nm,
                  const rs_chain_index_t *x, const rs_finding_t *f,
                  const char *dot_path);

#endif /* RS_HTML_GRAPH_H */
