/*
 * rc_reachable_ref - a reference taken and never released, on an object
 * that is still reachable.
 *
 * use_widget() creates a 40-byte Widget (widget_new), puts a counted
 * reference in the global `cache` (cache_store), borrow_wrong() takes a
 * reference it never releases, and use_widget() drops its own: refcount
 * 2, one pointer (the global).  The widget is reachable from a root, and
 * root reachability decides first: its class is "reachable", not
 * leaked_ref.  An object that is alive is not a leak at exit, however
 * high its count; the extra reference shows up only when the object
 * should have died (drop the cache entry and it becomes a leaked_ref, as
 * in rc_leaked_ref).
 *
 * What the report shows: no finding at all by default; summary.reachable
 * 40/1 and every leak class 0.  With --show-reachable there is one
 * "reachable" finding, type "Widget", 40 bytes in 1 block, allocated in
 * widget_new.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   reachable  40/1
 */
#include "sample_util.h"

#include <refscope.h>

#include <stddef.h>
#include <stdlib.h>

struct widget {
    int   refcnt;
    int   id;
    char *label;
    char  pad[24];
};

_Static_assert(sizeof(struct widget) == 40, "the header's numbers assume 40");

static struct widget *cache;

SAMPLE_NOINLINE static struct widget *widget_new(void)
{
    struct widget *w = calloc(1, sizeof *w);
    sample_check(w != NULL, "calloc(widget)");
    w->refcnt = 1;
    refscope_object(w, "Widget", offsetof(struct widget, refcnt),
                    sizeof w->refcnt);
    return w;
}

SAMPLE_NOINLINE static struct widget *widget_ref(struct widget *w)
{
    w->refcnt++;
    refscope_incref(w);
    return w;
}

SAMPLE_NOINLINE static void widget_unref(struct widget *w)
{
    refscope_decref(w);
    if (--w->refcnt == 0)
        free(w);
}

SAMPLE_NOINLINE static void cache_store(struct widget *w)
{
    cache = widget_ref(w);
}

SAMPLE_NOINLINE static void borrow_wrong(struct widget *w)
{
    struct widget *mine = widget_ref(w);
    mine->id++;
    /* forgot widget_unref(mine) */
}

SAMPLE_NOINLINE static void use_widget(void)
{
    struct widget *w = widget_new();
    cache_store(w);
    borrow_wrong(w);
    widget_unref(w);
}

int main(void)
{
    use_widget();
    sample_scrub_stack();
    sample_say("rc_reachable_ref: a cached Widget with one extra reference\n");
    return 0;
}
