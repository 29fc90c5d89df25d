/*
 * svg_flame.c - flame graph layout and SVG (see svg_flame.h).
 *
 * The layout copies the stacks, turning ';' into '\1' so that strcmp()
 * orders them frame by frame ("a" < "a;b" < "ab"), sorts them, and sweeps:
 * open[] holds the frames of the current stack prefix with where each
 * started.  For each stack, frames past the prefix it shares with the
 * previous one are closed (emitted as rectangles), its own new frames are
 * opened at the current x, and x advances by its bytes.
 * Invariants: open[0..depth) are the frames of the stack being added;
 * x is the sum of the bytes of the stacks already added.
 */
#include "svg_flame.h"

#include "html_writer.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define ROW_H      17.0
#define SEP        '\1'
#define MIN_TEXT_W 28.0   /* pixels below which a name is not written     */
#define CHAR_W     6.6    /* average glyph width of the 11px font         */

typedef struct stack_ref {
    const char *s;        /* '\1'-separated frames in the layout's text     */
    uint64_t    bytes;
} stack_ref_t;

typedef struct open_frame {
    const char *name;
    size_t      len;
    uint64_t    start;
} open_frame_t;

static int cmp_stacks(const void *a, const void *b)
{
    return strcmp(((const stack_ref_t *)a)->s, ((const stack_ref_t *)b)->s);
}

/* Splits s into frames: writes at most max (start, length) pairs. */
static uint32_t split(const char *s, open_frame_t *fr, uint32_t max)
{
    uint32_t n = 0;
    while (*s && n < max) {
        const char *end = strchr(s, SEP);
        size_t len = end ? (size_t)(end - s) : strlen(s);
        fr[n].name = s;
        fr[n].len = len;
        n++;
        s += len + (end ? 1 : 0);
        if (!end)
            break;
    }
    return n;
}

static int push_rect(rs_flame_t *f, uint32_t *cap, const open_frame_t *o,
                     uint32_t depth, uint64_t end)
{
    if (f->n == *cap) {
        uint32_t nc = *cap ? *cap * 2 : 64;
        rs_flame_rect_t *r = realloc(f->rects, nc * sizeof *r);
        if (!r)
            return -1;
        f->rects = r;
        *cap = nc;
    }
    f->rects[f->n++] = (rs_flame_rect_t){ .name = o->name, .name_len = o->len,
                                          .depth = depth, .start = o->start,
                                          .value = end - o->start };
    if (depth > f->max_depth)
        f->max_depth = depth;
    return 0;
}

/* Copies the stacks into one text with SEP separators. */
static stack_ref_t *copy_stacks(const char *const *stacks, const uint64_t *bytes,
                                uint32_t n, char **text, size_t *longest)
{
    size_t total = 1;
    *longest = 0;
    for (uint32_t i = 0; i < n; i++) {
        size_t l = strlen(stacks[i]);
        total += l + 1;
        if (l > *longest)
            *longest = l;
    }
    stack_ref_t *refs = calloc(n ? n : 1, sizeof *refs);
    char *t = malloc(total);
    if (!refs || !t) {
        free(refs);
        free(t);
        return NULL;
    }
    char *p = t;
    for (uint32_t i = 0; i < n; i++) {
        size_t l = strlen(stacks[i]);
        for (size_t k = 0; k < l; k++)
            p[k] = stacks[i][k] == ';' ? SEP : stacks[i][k];
        p[l] = '\0';
        refs[i] = (stack_ref_t){ p, bytes[i] };
        p += l + 1;
    }
    *text = t;
    return refs;
}

int rs_flame_layout(const char *const *stacks, const uint64_t *bytes,
                    uint32_t n, rs_flame_t *out)
{
    memset(out, 0, sizeof *out);
    size_t longest;
    stack_ref_t *refs = copy_stacks(stacks, bytes, n, &out->text, &longest);
    open_frame_t *open = NULL, *cur = NULL;
    uint32_t cap = 0, depth = 0;
    if (!refs)
        return -1;
    /* a stack of L bytes has at most L + 1 frames (empty ones count) */
    uint32_t max_frames = (uint32_t)(longest + 1);
    open = calloc(max_frames + 1, sizeof *open);
    cur = calloc(max_frames + 1, sizeof *cur);
    if (!open || !cur)
        goto oom;
    qsort(refs, n, sizeof *refs, cmp_stacks);
    uint64_t x = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = split(refs[i].s, cur, max_frames);
        uint32_t same = 0;
        while (same < k && same < depth && open[same + 1].len == cur[same].len &&
               memcmp(open[same + 1].name, cur[same].name, cur[same].len) == 0)
            same++;
        for (; depth > same; depth--)       /* open[1..depth] are frames */
            if (push_rect(out, &cap, &open[depth], depth, x) < 0)
                goto oom;
        for (; depth < k; depth++)
            open[depth + 1] = (open_frame_t){ cur[depth].name, cur[depth].len, x };
        x += refs[i].bytes;
    }
    for (; depth > 0; depth--)
        if (push_rect(out, &cap, &open[depth], depth, x) < 0)
            goto oom;
    open[0] = (open_frame_t){ "all", 3, 0 };
    if (push_rect(out, &cap, &open[0], 0, x) < 0)
        goto oom;
    out->total = x;
    free(refs);
    free(open);
    free(cur);
    return 0;
oom:
    free(refs);
    free(open);
    free(cur);
    rs_flame_free(out);
    return -1;
}

void rs_flame_free(rs_flame_t *f)
{
    if (!f)
        return;
    free(f->rects);
    free(f->text);
    memset(f, 0, sizeof *f);
}

double rs_flame_x(const rs_flame_t *f, const rs_flame_rect_t *r, double width)
{
    return f->total ? (double)r->start * width / (double)f->total : 0.0;
}

double rs_flame_w(const rs_flame_t *f, const rs_flame_rect_t *r, double width)
{
    return f->total ? (double)r->value * width / (double)f->total : 0.0;
}

/* A warm colour derived from the name, so a function keeps its colour. */
static void colour(const rs_flame_rect_t *r, char buf[32])
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < r->name_len; i++)
        h = (h ^ (unsigned char)r->name[i]) * 16777619u;
    if (r->depth == 0) {
        snprintf(buf, 32, "rgb(200,200,210)");
        return;
    }
    snprintf(buf, 32, "rgb(%u,%u,%u)", 205 + h % 50, 80 + (h >> 8) % 120,
             40 + (h >> 16) % 50);
}

static void print_rect(FILE *out, const rs_flame_t *f, const rs_flame_rect_t *r,
                       double width, double height)
{
    double x = rs_flame_x(f, r, width), w = rs_flame_w(f, r, width);
    double y = height - (r->depth + 1) * ROW_H;
    char fill[32];
    colour(r, fill);
    fputs("<g class=\"fr\"><title>", out);
    rs_html_text_n(out, r->name, r->name_len);
    fprintf(out, " (%" PRIu64 " bytes, %.1f%%)</title>", r->value,
            100.0 * (double)r->value / (double)f->total);
    fprintf(out, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" "
            "fill=\"%s\" rx=\"2\"/>", x, y, w > 0.5 ? w - 0.5 : w, ROW_H - 1, fill);
    size_t fit = w > MIN_TEXT_W ? (size_t)((w - 6) / CHAR_W) : 0;
    if (fit >= 3) {
        fprintf(out, "<text x=\"%.2f\" y=\"%.1f\">", x + 3, y + ROW_H - 5);
        if (r->name_len <= fit) {
            rs_html_text_n(out, r->name, r->name_len);
        } else {
            rs_html_text_n(out, r->name, fit - 2);
            fputs("..", out);
        }
        fputs("</text>", out);
    }
    fputs("</g>\n", out);
}

void rs_flame_svg(FILE *out, const rs_flame_t *f, double width)
{
    if (!f->total) {
        fputs("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"flame\" "
              "width=\"300\" height=\"24\"><text x=\"4\" y=\"16\">no leaked "
              "bytes</text></svg>\n", out);
        return;
    }
    double height = (f->max_depth + 1) * ROW_H;
    fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"flame\" "
            "viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" "
            "font-family=\"monospace\" font-size=\"11\">\n", width, height,
            width, height);
    for (uint32_t i = 0; i < f->n; i++)
        print_rect(out, f, &f->rects[i], width, height);
    fputs("</svg>\n", out);
}
