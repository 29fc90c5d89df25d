/*
 * graphviz.h - running Graphviz's `dot` on DOT text (report_dot.h makes
 * the text): finding it on PATH, and turning a graph into SVG in memory
 * for the HTML report to inline.
 *
 * `dot` is optional: callers fall back (the HTML page shows the DOT text
 * in a marked block, `refscope graph` says how to get it) when
 * rs_graphviz_find_dot() returns NULL.
 */
#ifndef RS_GRAPHVIZ_H
#define RS_GRAPHVIZ_H

#include <stddef.h>

/* The path of an executable `dot` in $PATH (or /usr/bin:/bin when PATH
 * is unset), malloc'ed; NULL when there is none or memory is exhausted. */
char *rs_graphviz_find_dot(void);

/* How long dot may lay one graph out before it is killed. */
#define RS_GRAPHVIZ_SECONDS 20

/*
 * Runs `dot_path -Tsvg` on dot[0..len) and stores the SVG, from its
 * "<svg" tag on (no XML prolog or DOCTYPE, so it can be inlined into
 * HTML), in a malloc'ed, NUL-terminated *svg.  dot's stderr is discarded.
 * Returns 0; -1 when dot cannot be run, fails, runs longer than
 * RS_GRAPHVIZ_SECONDS or prints no <svg>, or memory is exhausted (*svg is
 * then NULL).
 */
int rs_graphviz_svg(const char *dot_path, const char *dot, size_t len, char **svg);

#endif /* RS_GRAPHVIZ_H */
