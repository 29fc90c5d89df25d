/*
 * gst_object_lost - a GstObject that owns a child GstObject, with a leaked
 * reference.  Run with REFSCOPE_HOOKS=gobject,gst (GstObjects are
 * GObjects: their references go through g_object_ref);
 * tests/integration/test_refcount.py does.  No plugin is loaded
 * (gst_sample.h).
 *
 * SampleHolder is a GstObject subclass defined here, holding one child.
 * make_leak() makes a holder (sunk: one reference, the caller's) and a
 * GstPad, which gst_object_set_parent() hands to it: the holder's `child`
 * field holds the pad's only reference, and the pad's GstObject.parent
 * points back to the holder without one.  leak_holder_ref() takes a
 * reference to the holder and never drops it; make_leak() drops its own.
 * The gobject profile's `weak offset=40 is-a=GstObject` says the parent
 * pointer holds no reference, so the holder's one reference is
 * unexplained - a leaked reference - and the pad is its indirect leak.
 * (They were reported as a cycle of the two, with no leaked reference.)
 *
 * A GstBin is not used: each bin owns a GstBus whose sync handler points
 * back to the bin, another pointer that holds no reference (declared
 * since, for GStreamer 1.22 to 1.28: gst_bin_lost.c).
 *
 * refscope must report: one "leaked_ref" finding, type "SampleHolder",
 * refcount 1, no pointer holding a reference to it, whose one unbalanced
 * reference names leak_holder_ref; the pad indirect, charged to it; no
 * cycle, no rc_error.
 */
#include "gst_sample.h"
#include "sample_util.h"

typedef struct SampleHolder {
    GstObject  parent;
    GstObject *child;            /* one reference */
} SampleHolder;
typedef struct SampleHolderClass {
    GstObjectClass parent_class;
} SampleHolderClass;

G_DEFINE_TYPE(SampleHolder, sample_holder, GST_TYPE_OBJECT)

static void sample_holder_class_init(SampleHolderClass *klass)
{
    (void)klass;
}

static void sample_holder_init(SampleHolder *self)
{
    self->child = NULL;
}

SAMPLE_NOINLINE static void leak_holder_ref(SampleHolder *holder)
{
    gst_object_ref(holder);
}

SAMPLE_NOINLINE static void make_leak(void)
{
    SampleHolder *holder = gst_object_ref_sink(g_object_new(sample_holder_get_type(), NULL));
    GstPad *pad = gst_pad_new("src", GST_PAD_SRC);
    sample_check(gst_object_set_parent(GST_OBJECT(pad), GST_OBJECT(holder)),
                 "gst_object_set_parent");
    holder->child = GST_OBJECT(pad);
    leak_holder_ref(holder);
    gst_object_unref(holder);
}

int main(void)
{
    sample_gst_init();
    make_leak();
    sample_scrub_stack();
    sample_say("gst_object_lost: a GstObject owning a child, with a leaked ref\n");
    return 0;
}
