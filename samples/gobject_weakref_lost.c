/*
 * gobject_weakref_lost - a GWeakRef held by a reachable block: it holds no
 * reference and must not keep its object alive.  GLib (2.74-2.78) lists
 * the GWeakRef's address in the object's qdata ("GObject-weak-locations");
 * the gobject profile's `qdata weak-locations` line makes the GWeakRef a
 * registry pointer.  RsKnob is gobject_signal.h's 32-byte GObject.  Run
 * with REFSCOPE_HOOKS=gobject; tests/integration/test_refcount.py does.
 *
 *  - watch_lost(): a knob whose only pointer is the GWeakRef of the global
 *    `lost_watch` (a heap block), its g_object_new reference dropped
 *    unreleased: one "leaked_ref" finding, RsKnob, 32 bytes, refcount 1,
 *    0 pointers, the reference of watch_lost unbalanced; its weak
 *    locations list and the GData holding it are indirect.
 *  - watch_kept(): the same, but the knob also held by the global
 *    `kept_knob`: reachable, not reported.
 *
 * Before the qdata lines, refscope reported "no leaks" (the GWeakRef kept
 * the lost knob reachable, as it does under Valgrind and LeakSanitizer).
 */
#include "sample_util.h"

#include "gobject_signal.h"

typedef struct watch {
    const char *name;
    GWeakRef    ref;
} watch_t;

static watch_t *lost_watch, *kept_watch;
static RsKnob *kept_knob;

SAMPLE_NOINLINE static watch_t *watch_new(const char *name, RsKnob *knob)
{
    watch_t *w = g_new0(watch_t, 1);
    w->name = name;
    g_weak_ref_init(&w->ref, knob);
    return w;
}

SAMPLE_NOINLINE static void watch_lost(void)
{
    RsKnob *knob = g_object_new(RS_TYPE_KNOB, NULL);
    lost_watch = watch_new("lost", knob);
    sample_drop(knob);
}

SAMPLE_NOINLINE static void watch_kept(void)
{
    kept_knob = g_object_new(RS_TYPE_KNOB, NULL);
    kept_watch = watch_new("kept", kept_knob);
}

int main(void)
{
    watch_lost();
    watch_kept();
    sample_scrub_stack();
    GObject *kept = g_weak_ref_get(&kept_watch->ref);
    sample_check(kept == G_OBJECT(kept_knob), "the kept watch sees its knob");
    g_object_unref(kept);
    sample_say("gobject_weakref_lost: a watched knob lost, another kept\n");
    return 0;
}
