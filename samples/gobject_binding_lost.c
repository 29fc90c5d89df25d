/*
 * gobject_binding_lost - two GObjects joined by g_object_bind_property and
 * lost: the binding connects a "notify" handler to the source, so GLib's
 * handler tables (gsignal.c, keyed by the instance's address, no
 * reference; the gobject profile's `registry` lines) point to it.  RsKnob
 * is gobject_signal.h's 32-byte GObject.  Run with REFSCOPE_HOOKS=gobject;
 * tests/integration/test_refcount.py does.
 *
 *  - make_lost_pair(): knobs `source` and `target`, source's "value" bound
 *    to target's, both dropped: two "leaked_ref" findings of type RsKnob,
 *    32 bytes, refcount 1, 0 pointers, each with the g_object_new
 *    reference of new_source or new_target (called by make_lost_pair)
 *    unbalanced; the GBinding (whose one
 *    reference its BindingContext owns, through its GWeakRef to it: the
 *    gobject profile's except=GBinding), the handler bookkeeping, the
 *    weak-reference stacks and lists and the binding's context are
 *    indirect.
 *  - keep_pair(): the same pair kept in the globals `kept_source` and
 *    `kept_target`: reachable, not reported.
 *
 * Before the registry lines, refscope reported "no leaks"; with them but
 * before the `qdata` lines (GWeakRefs, g_object_weak_ref stacks) and the
 * Handler closure's invalidate notifier (key-closure=), "a cycle of 19
 * blocks": the BindingContext's GWeakRefs to the knobs, each knob's
 * WeakRefStack.object and the source's notify closure's invalidate
 * notifier counted as references.
 */
#include "sample_util.h"

#include "gobject_signal.h"

static RsKnob *kept_source, *kept_target;

/* Each knob made by its own function: the two leaked references (and the
 * two kept knobs) are told apart by where they were allocated. */
SAMPLE_NOINLINE static RsKnob *new_source(void)
{
    return g_object_new(RS_TYPE_KNOB, NULL);
}

SAMPLE_NOINLINE static RsKnob *new_target(void)
{
    return g_object_new(RS_TYPE_KNOB, NULL);
}

SAMPLE_NOINLINE static void bind_pair(RsKnob *source, RsKnob *target)
{
    g_object_bind_property(source, "value", target, "value", G_BINDING_DEFAULT);
}

SAMPLE_NOINLINE static void make_lost_pair(void)
{
    RsKnob *source = new_source();
    RsKnob *target = new_target();
    bind_pair(source, target);
    g_object_set(source, "value", 3, NULL);
    sample_drop(source);
    sample_drop(target);
}

SAMPLE_NOINLINE static void keep_pair(void)
{
    kept_source = new_source();
    kept_target = new_target();
    bind_pair(kept_source, kept_target);
}

int main(void)
{
    make_lost_pair();
    keep_pair();
    sample_scrub_stack();
    g_object_set(kept_source, "value", 4, NULL);
    sample_check(RS_KNOB(kept_target)->value == 4, "the kept binding works");
    sample_say("gobject_binding_lost: a bound pair lost, another kept\n");
    return 0;
}
