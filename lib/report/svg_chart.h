/*
 * svg_chart.h - a line chart as inline SVG: one line per series over the
 * same points (the HTML trend page: live bytes per site across the
 * snapshots).
 *
 * The y axis runs from 0 to a "nice" maximum (1, 2 or 5 times a power of
 * ten, at least the largest value, 1 when every value is 0) with five
 * gridlines; x points are spread evenly, first at the left edge of the
 * plot, last at the right.  Each point has a <title> (series label, x
 * label, value) for hover.  Long labels are cut in the legend (the whole
 * label is its hover title).  Series colours cycle through a fixed palette,
 * and a legend lists the series in order.
 */
#ifndef RS_SVG_CHART_H
#define RS_SVG_CHART_H

#include <stdint.h>
#include <stdio.h>

typedef struct rs_chart_series {
    const char     *label;
    const uint64_t *values;     /* n_points values                          */
} rs_chart_series_t;

typedef struct rs_chart {
    const char *const       *x_labels;  /* n_points labels                  */
    uint32_t                 n_points;  /* >= 1                             */
    const rs_chart_series_t *series;
    uint32_t                 n_series;
    const char              *unit;      /* "bytes": axis caption            */
    double                   width, height;  /* of the whole SVG            */
} rs_chart_t;

/* The top of the y axis for values up to max (see above). */
uint64_t rs_chart_nice_max(uint64_t max);

/* The pixel y of v on an axis from 0 (at bottom) to top_value (at top). */
double rs_chart_y(uint64_t v, uint64_t top_value, double top, double bottom);

/* The pixel x of point i of n between left and right. */
double rs_chart_x(uint32_t i, uint32_t n, double left, double right);

/* Writes the <svg> element.  Write errors stay in out. */
void rs_chart_svg(FILE *out, const rs_chart_t *c);

#endif /* RS_SVG_CHART_H */
