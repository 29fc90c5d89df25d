/*
 * gobject_signal_lost - GObjects with signal handlers connected: GLib
 * keeps each instance's address as a key of its handler tables
 * (gsignal.c's g_handler_list_bsa_ht and every Handler's instance), which
 * hold no reference.  RsKnob (gobject_signal.h): a GObject with an int
 * property "value", a 32-byte instance.  The built-in gobject profile's `registry` lines
 * declare them.  Run with REFSCOPE_HOOKS=gobject;
 * tests/integration/test_refcount.py does.
 *
 *  - make_lost(): an RsKnob with a "notify::value" handler, then
 *    dropped: a "leaked_ref" of type RsKnob, 32 bytes, refcount 1, 0
 *    pointers, the g_object_new reference in make_lost unbalanced; its
 *    handler list (a GBSearchArray), Handler and closure are indirect,
 *    charged to it.
 *  - make_lost_with_data(): an RsKnob whose handler holds a reference to
 *    another RsKnob (g_signal_connect_data with g_object_ref, and
 *    g_object_unref as the destroy notify), then dropped: a second
 *    "leaked_ref" of type RsKnob, allocated in knob_owning_data <-
 *    make_lost_with_data; the other knob (whose reference the handler
 *    holds) is indirect, charged to it.
 *  - keep_connected(): an RsKnob with a handler, kept in the global
 *    `kept`: reachable, not reported.
 *  - keep_data_owner(): an RsKnob kept in the global `owner`, whose
 *    handler holds the only reference to another knob: both reachable.
 *
 * Before the registry lines, refscope reported "no leaks": GLib's tables
 * made the lost actions reachable from libgobject's globals.
 */
#include "sample_util.h"

#include "gobject_signal.h"

static RsKnob *kept, *owner;

SAMPLE_NOINLINE static RsKnob *connected_knob(void)
{
    RsKnob *k = g_object_new(RS_TYPE_KNOB, NULL);
    g_signal_connect(k, "notify::value", G_CALLBACK(rs_knob_on_notify), NULL);
    return k;
}

/* A knob whose handler holds the only reference to a second knob. */
SAMPLE_NOINLINE static RsKnob *knob_owning_data(void)
{
    RsKnob *k = g_object_new(RS_TYPE_KNOB, NULL);
    RsKnob *data = g_object_new(RS_TYPE_KNOB, NULL);
    g_signal_connect_data(k, "notify::value", G_CALLBACK(rs_knob_on_notify),
                          g_object_ref(data), rs_knob_unref_notify, 0);
    g_object_unref(data);
    return k;
}

SAMPLE_NOINLINE static void make_lost(void)
{
    sample_drop(connected_knob());
}

SAMPLE_NOINLINE static void make_lost_with_data(void)
{
    sample_drop(knob_owning_data());
}

SAMPLE_NOINLINE static void keep_connected(void)
{
    kept = connected_knob();
}

SAMPLE_NOINLINE static void keep_data_owner(void)
{
    owner = knob_owning_data();
}

int main(void)
{
    make_lost();
    make_lost_with_data();
    keep_connected();
    keep_data_owner();
    sample_scrub_stack();
    g_object_set(kept, "value", 1, NULL);        /* the handlers run */
    g_object_set(owner, "value", 2, NULL);
    sample_say("gobject_signal_lost: two knobs with handlers lost, two kept\n");
    return 0;
}
