/*
 * report_dot.h - the heap graph of a snapshot, or part of it, as Graphviz
 * DOT (`refscope graph`, like objgraph.show_backrefs).
 *
 * Which part:
 *   RS_DOT_LEAKS   every unreachable block and the pointers between them
 *                  (the default);
 *   RS_DOT_CYCLES  the blocks of reference cycles and the pointers inside
 *                  each cycle group;
 *   RS_DOT_AROUND  the targets and their referrers up to `depth` pointers
 *                  back (reversed breadth-first search), plus the roots
 *                  that point at any of them.
 * Output: `digraph refscope {` ... `}` with one line per node,
 *   b<i> [label="Type\n48 bytes\n0x...", ...]      (blocks; leaks red,
 *                                                   targets bold)
 *   r<k> [label="global 'cache'+8", shape=ellipse]  (roots)
 * and one line per edge, `b<i> -> b<j> [label="+16 .next"]`, so tests can
 * count nodes (lines with `[label=`) and edges (lines with `->`).  At most
 * max_nodes blocks and max_edges pointers are drawn (then a comment says
 * how many were cut: Graphviz's layout time grows fast with edges, 32 s
 * for 25 blocks all pointing at each other).  Names in labels are cut to
 * RS_DOT_LABEL_MAX bytes (Graphviz refuses a string over 16 KiB) and are
 * always well-formed UTF-8 (the SVG dot makes of them goes into pages).
 */
#ifndef RS_REPORT_DOT_H
#define RS_REPORT_DOT_H

#include "report_chain.h"
#include "report_target.h"

#include <stdint.h>
#include <stdio.h>

typedef enum rs_dot_mode { RS_DOT_LEAKS, RS_DOT_CYCLES, RS_DOT_AROUND } rs_dot_mode_t;

typedef struct rs_dot_options {
    rs_dot_mode_t   mode;
    const uint32_t *targets;     /* RS_DOT_AROUND                          */
    uint32_t        n_targets;
    uint32_t        depth;       /* RS_DOT_AROUND: pointers back           */
    uint32_t        max_nodes;   /* 0 = no limit                           */
    uint32_t        max_edges;   /* 0 = no limit                           */
} rs_dot_options_t;

#define RS_DOT_LABEL_MAX 256

typedef struct rs_dot_stats {
    uint32_t nodes, roots, edges, cut, edges_cut;
} rs_dot_stats_t;

/* Writes the graph.  Returns 0, or -1 when memory is exhausted or writing
 * failed; *stats (may be NULL) says what was drawn. */
int rs_dot_write(FILE *out, const rs_snapshot_t *snap, rs_namer_t *nm,
                 const rs_chain_index_t *x, const rs_dot_options_t *opt,
                 rs_dot_stats_t *stats);

#endif /* RS_REPORT_DOT_H */
