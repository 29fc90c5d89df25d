/*
 * svg_flame.h - a flame graph of leaked bytes by allocation stack, as
 * inline SVG (the HTML report's "where did the bytes leak" picture).
 *
 * Input: folded stacks, as `refscope report --folded` prints them
 * (report_export.h): frames outermost first separated by ';', each with a
 * byte count.  Layout follows Brendan Gregg's flamegraph.pl: the stacks
 * are sorted frame by frame, so stacks sharing a prefix are neighbours;
 * one sweep then merges the shared frames into one rectangle.  Row 0 is
 * the root ("all", every byte); a frame of depth d sits in row d, above
 * its caller.  Invariants of the result:
 *   - a rectangle's x is its caller's x plus the bytes of the callee
 *     rectangles left of it, so callees lie inside their caller;
 *   - the values of a rectangle's callees add up to its own value minus
 *     the bytes of stacks that end at it (its "self" bytes);
 *   - the width in pixels is value * width / total, so row 1 adds up to
 *     the root's width exactly when no stack is empty.
 * Rectangles come out in the order the sweep closes them (callees before
 * their caller).  The SVG has a <title> per rectangle (the hover text:
 * frame, bytes, share) and each frame's name when it fits.
 */
#ifndef RS_SVG_FLAME_H
#define RS_SVG_FLAME_H

#include <stdint.h>
#include <stdio.h>

typedef struct rs_flame_rect {
    const char *name;    /* points into the layout's own copy             */
    size_t      name_len;
    uint32_t    depth;   /* 0 = the root                                  */
    uint64_t    start;   /* bytes left of it, from the root's left edge   */
    uint64_t    value;   /* bytes of every stack through it               */
} rs_flame_rect_t;

typedef struct rs_flame {
    rs_flame_rect_t *rects;
    uint32_t         n;
    uint32_t         max_depth;
    uint64_t         total;   /* the root's value                        */
    char            *text;    /* the names point here                    */
} rs_flame_t;

/*
 * Lays out stacks[0..n) with bytes[0..n) into *out (overwritten).  Empty
 * stacks count only for the root.  Returns 0, or -1 when memory is
 * exhausted (*out is then empty; rs_flame_free accepts it).
 */
int rs_flame_layout(const char *const *stacks, const uint64_t *bytes,
                    uint32_t n, rs_flame_t *out);
void rs_flame_free(rs_flame_t *f);

/* Pixel x and width of r in a graph `width` pixels wide. */
double rs_flame_x(const rs_flame_t *f, const rs_flame_rect_t *r, double width);
double rs_flame_w(const rs_flame_t *f, const rs_flame_rect_t *r, double width);

/* Writes the <svg> element, `width` pixels wide.  Nothing to draw (total
 * 0) writes a short SVG saying so.  Write errors stay in out. */
void rs_flame_svg(FILE *out, const rs_flame_t *f, double width);

#endif /* RS_SVG_FLAME_H */
