/*
 * cairo_leak - real cairo objects (libcairo2): an image surface with a
 * leaked reference, and surfaces, contexts and patterns that are
 * released properly.  Run with REFSCOPE_HOOKS=cairo (the built-in
 * profile: counts kept from the calls seen, cairo's counters being
 * private); tests/integration/test_refcount.py does.
 *
 *  - make_leak() creates a 16x16 ARGB32 image surface (one 392-byte
 *    cairo_image_surface_t block; pixman allocates the 264-byte
 *    pixman_image_t and the 1024-byte pixel buffer), cache_surface()
 *    takes an extra reference with cairo_surface_reference and never
 *    drops it, make_leak() destroys its own.
 *  - make_balanced() creates a surface and paints it twice: paint()
 *    creates a context (cairo_create) and a solid pattern
 *    (cairo_pattern_create_rgb), takes and drops one more reference on
 *    each, and destroys both.  cairo recycles the released pattern and
 *    context from its own pools, so the second paint() gets them back
 *    from their ctors: a new life, not a duplicate ctor.  The surface is
 *    destroyed at the end: freed.  Before that, draw_groups() makes
 *    cairo itself reference and destroy patterns and a context (groups,
 *    save/restore): with cairo_destroy and cairo_pattern_destroy hooked
 *    through the GOT only (their entries open with a short jump, which
 *    the entry hook once refused), those calls went unseen and the
 *    patterns and context were reported as freed while referenced.
 *  - keep_surface() keeps a surface in the global `kept` (reachable).
 *
 * The surface holds pointers into itself (empty list heads); they are not
 * references (heapscan.h), so its one counted reference is unexplained.
 *
 * refscope must report:
 *  - summary.leaked_refs: 1 object, 1 ref, 392 bytes, 1 block; one
 *    "leaked_ref" finding, type "cairo_surface_t", refcount 1 (ctor + 1
 *    reference - 1 destroy), pointers 0, refs 1, unbalanced: one incref
 *    (count 1) whose stack names cache_surface; allocation stack through
 *    make_leak.
 *  - summary.indirect: 1288 bytes in 2 blocks (the pixman image and its
 *    pixels, charged to the surface).
 *  - no cycle, no rc_error, no leaked block; nothing about the objects of
 *    make_balanced (freed, or back in cairo's pools: reachable) or the
 *    kept surface (reachable: a --show-reachable run lists it as a
 *    "cairo_surface_t" of 392 bytes allocated through keep_surface).
 */
#include "sample_util.h"

#include <cairo.h>

static cairo_surface_t *kept;

SAMPLE_NOINLINE static void cache_surface(cairo_surface_t *s)
{
    cairo_surface_reference(s);
}

SAMPLE_NOINLINE static void make_leak(void)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 16, 16);
    sample_check(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS, "surface");
    cache_surface(s);
    cairo_surface_destroy(s);
}

SAMPLE_NOINLINE static void paint(cairo_surface_t *s)
{
    cairo_t *cr = cairo_create(s);
    cairo_pattern_t *p = cairo_pattern_create_rgb(0.5, 0.25, 1.0);
    cairo_pattern_reference(p);
    cairo_set_source(cr, p);
    cairo_pattern_destroy(p);
    cairo_paint(cr);
    cairo_pattern_destroy(p);
    cairo_reference(cr);
    cairo_destroy(cr);
    cairo_destroy(cr);
}

/* cairo's own calls: a group popped into a pattern, sources replaced and
 * a saved state restored make cairo reference and destroy patterns and
 * contexts itself, through cairo_pattern_destroy and cairo_destroy, whose
 * entries start with a short jump (`test %rdi,%rdi; je`). */
SAMPLE_NOINLINE static void draw_groups(cairo_surface_t *s)
{
    cairo_t *cr = cairo_create(s);
    for (int i = 0; i < 3; i++) {
        cairo_save(cr);
        cairo_push_group(cr);
        cairo_set_source_rgb(cr, 0.1 * i, 0.2, 0.3);
        cairo_rectangle(cr, i, i, 8, 8);
        cairo_fill(cr);
        cairo_pop_group_to_source(cr);
        cairo_paint_with_alpha(cr, 0.5);
        cairo_restore(cr);
    }
    cairo_destroy(cr);
}

SAMPLE_NOINLINE static void make_balanced(void)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 16, 16);
    paint(s);
    paint(s);
    draw_groups(s);
    cairo_surface_destroy(s);
}

SAMPLE_NOINLINE static void keep_surface(void)
{
    kept = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 16, 16);
}

int main(void)
{
    make_leak();
    make_balanced();
    keep_surface();
    sample_scrub_stack();
    sample_say("cairo_leak: a surface with a leaked reference, one released\n");
    return 0;
}
