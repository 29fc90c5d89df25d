/*
 * svg_chart.c - the line chart (see svg_chart.h).  The plot area is the
 * SVG minus fixed margins for the axis labels (left), the x labels
 * (bottom) and the legend (right); the scale functions are pure so the
 * unit tests can check them without parsing SVG.  Legend labels longer
 * than LEGEND_CHARS are cut, with the whole label as their hover title.
 */
#include "svg_chart.h"

#include "html_writer.h"

#include <inttypes.h>
#include <string.h>

#define M_LEFT   72.0
#define M_RIGHT  230.0
#define M_TOP    16.0
#define M_BOTTOM 40.0
#define GRID     5
#define LEGEND_CHARS 32   /* longer series labels are cut in the legend */

static const char *const palette[] = {
    "#d1495b", "#2e86ab", "#edae49", "#3b8b5a", "#7d5ba6",
    "#00798c", "#e07a5f", "#5c6b73",
};
#define N_PALETTE (sizeof palette / sizeof palette[0])

uint64_t rs_chart_nice_max(uint64_t max)
{
    static const uint64_t steps[] = { 1, 2, 5 };
    if (max == 0)
        return 1;
    for (uint64_t p = 1;; p *= 10) {
        for (int i = 0; i < 3; i++)
            if (steps[i] * p >= max)
                return steps[i] * p;
        if (p > UINT64_MAX / 100)
            return max;            /* no nicer number fits */
    }
}

double rs_chart_y(uint64_t v, uint64_t top_value, double top, double bottom)
{
    if (!top_value)
        return bottom;
    return bottom - (double)v / (double)top_value * (bottom - top);
}

double rs_chart_x(uint32_t i, uint32_t n, double left, double right)
{
    if (n < 2)
        return (left + right) / 2;
    return left + (right - left) * (double)i / (double)(n - 1);
}

static uint64_t largest(const rs_chart_t *c)
{
    uint64_t m = 0;
    for (uint32_t s = 0; s < c->n_series; s++)
        for (uint32_t i = 0; i < c->n_points; i++)
            if (c->series[s].values[i] > m)
                m = c->series[s].values[i];
    return m;
}

static void print_axes(FILE *out, const rs_chart_t *c, uint64_t top_value,
                       double right, double bottom)
{
    for (int g = 0; g <= GRID; g++) {
        uint64_t v = top_value / GRID * (uint64_t)g;
        if (g == GRID)
            v = top_value;
        double y = rs_chart_y(v, top_value, M_TOP, bottom);
        fprintf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                "y2=\"%.1f\"/><text class=\"ax\" x=\"%.1f\" y=\"%.1f\" "
                "text-anchor=\"end\">%" PRIu64 "</text>\n", M_LEFT, y, right, y,
                M_LEFT - 6, y + 4, v);
    }
    for (uint32_t i = 0; i < c->n_points; i++) {
        double x = rs_chart_x(i, c->n_points, M_LEFT, right);
        fprintf(out, "<text class=\"ax\" x=\"%.1f\" y=\"%.1f\" "
                "text-anchor=\"middle\">", x, bottom + 16);
        rs_html_text(out, c->x_labels[i]);
        fputs("</text>\n", out);
    }
    fprintf(out, "<text class=\"ax\" x=\"4\" y=\"%.1f\">", M_TOP - 4);
    rs_html_text(out, c->unit);
    fputs("</text>\n", out);
}

static void print_series(FILE *out, const rs_chart_t *c, uint32_t s,
                         uint64_t top_value, double right, double bottom)
{
    const rs_chart_series_t *se = &c->series[s];
    const char *col = palette[s % N_PALETTE];
    fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
            "points=\"", col);
    for (uint32_t i = 0; i < c->n_points; i++)
        fprintf(out, "%s%.1f,%.1f", i ? " " : "",
                rs_chart_x(i, c->n_points, M_LEFT, right),
                rs_chart_y(se->values[i], top_value, M_TOP, bottom));
    fputs("\"/>\n", out);
    for (uint32_t i = 0; i < c->n_points; i++) {
        fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\">"
                "<title>", rs_chart_x(i, c->n_points, M_LEFT, right),
                rs_chart_y(se->values[i], top_value, M_TOP, bottom), col);
        rs_html_text(out, se->label);
        fputs(" @ ", out);
        rs_html_text(out, c->x_labels[i]);
        fprintf(out, ": %" PRIu64 " ", se->values[i]);
        rs_html_text(out, c->unit);
        fputs("</title></circle>\n", out);
    }
    double ly = M_TOP + 14.0 * s + 8;
    fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" "
            "fill=\"%s\"/><text class=\"lg\" x=\"%.1f\" y=\"%.1f\">",
            right + 16, ly - 9, col, right + 30, ly);
    size_t len = strlen(se->label);
    if (len > LEGEND_CHARS) {                 /* whole label on hover */
        fputs("<title>", out);
        rs_html_text(out, se->label);
        fputs("</title>", out);
        rs_html_text_n(out, se->label, LEGEND_CHARS - 2);
        fputs("..", out);
    } else {
        rs_html_text(out, se->label);
    }
    fputs("</text>\n", out);
}

void rs_chart_svg(FILE *out, const rs_chart_t *c)
{
    double right = c->width - M_RIGHT, bottom = c->height - M_BOTTOM;
    uint64_t top_value = rs_chart_nice_max(largest(c));
    fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" "
            "viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" "
            "font-size=\"11\">\n", c->width, c->height, c->width, c->height);
    print_axes(out, c, top_value, right, bottom);
    for (uint32_t s = 0; s < c->n_series; s++)
        print_series(out, c, s, top_value, right, bottom);
    fputs("</svg>\n", out);
}
