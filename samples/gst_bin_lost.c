/*
 * gst_bin_lost - a GstPipeline and a GstBin, each holding two linked
 * elements, whose last references the program loses (it never unrefs
 * them).  Run with REFSCOPE_HOOKS=gobject,gst (GstObjects are GObjects);
 * tests/integration/test_refcount.py does.  No plugin is loaded
 * (gst_sample.h): the elements are SampleElements, a GstElement subclass
 * defined here with one always pad each.
 *
 * lose_pipeline() makes a GstPipeline (gst_pipeline_new: the caller's
 * one reference), adds a source and a sink element whose pads are
 * linked, takes it to PLAYING and back to NULL, and returns without
 * unreffing it.  lose_bin() does the same with a plain GstBin, without
 * the state changes.
 *
 * Inside each, the bin holds a reference to each child, to its child
 * bus and to its children's pads' lists; the children hold references
 * to the child bus too.  Three kinds of pointers hold none:
 *   - GstObject.parent of each child, back to the bin (the gobject
 *     profile's `weak offset=40 is-a=GstObject`);
 *   - GstPad.peer between the linked pads (not declared: both pads are
 *     owned by their elements anyway);
 *   - the child bus's sync handler, set by gst_bin_init() with the bin
 *     as its user data and no reference: GstBusPrivate.sync_handler
 *     (offset 16 of GstBus's instance private data, before the instance)
 *     points to a 32-byte SyncHandler block whose user_data (offset 8)
 *     is the bin.  The gobject profile declares it with `weak offset=16
 *     private is-a=GstBus then=8 version-call=gst_version
 *     versions=1.22-1.28`.
 * The last one was the bin's only pointer left uncounted: each lost bin
 * was reported as a cycle of 13 objects (the bin, its two elements, their
 * pads, the child bus, the SyncHandler and the GLists) and no leaked
 * reference.
 *
 * refscope must report: two "leaked_ref" findings, refcount 1 and no
 * pointer holding a reference to either: a GstPipeline (536 bytes with
 * its private data) whose unbalanced reference has lose_pipeline in its
 * stack, and a GstBin (408 bytes) whose unbalanced reference is its
 * creation in lose_bin; every other block of theirs indirect, charged to
 * them; no cycle, no rc_error.
 */
#include "gst_sample.h"
#include "sample_util.h"

/* SampleElement: a GstElement with the pads its maker adds. */
typedef struct SampleElement {
    GstElement parent;
} SampleElement;
typedef struct SampleElementClass {
    GstElementClass parent_class;
} SampleElementClass;

G_DEFINE_TYPE(SampleElement, sample_element, GST_TYPE_ELEMENT)

static void sample_element_class_init(SampleElementClass *klass)
{
    gst_element_class_set_static_metadata(GST_ELEMENT_CLASS(klass), "Sample element",
                                          "Generic", "one always pad", "refscope");
}

static void sample_element_init(SampleElement *self)
{
    (void)self;
}

/* An element named name with one pad of direction dir. */
SAMPLE_NOINLINE static GstElement *sample_element_new(const char *name, const char *pad,
                                                      GstPadDirection dir)
{
    GstElement *e = g_object_new(sample_element_get_type(), "name", name, NULL);
    sample_check(gst_element_add_pad(e, gst_pad_new(pad, dir)), "gst_element_add_pad");
    return e;
}

/* Adds a source and a sink to bin and links them. */
SAMPLE_NOINLINE static void fill_bin(GstBin *bin)
{
    GstElement *src = sample_element_new("src", "src", GST_PAD_SRC);
    GstElement *sink = sample_element_new("sink", "sink", GST_PAD_SINK);
    gst_bin_add_many(bin, src, sink, NULL);
    sample_check(gst_element_link(src, sink), "gst_element_link");
}

SAMPLE_NOINLINE static void lose_pipeline(void)
{
    GstElement *pipeline = gst_pipeline_new("pipeline");
    fill_bin(GST_BIN(pipeline));
    sample_check(gst_element_set_state(pipeline, GST_STATE_PLAYING) !=
                 GST_STATE_CHANGE_FAILURE, "set PLAYING");
    sample_check(gst_element_get_state(pipeline, NULL, NULL, GST_CLOCK_TIME_NONE) ==
                 GST_STATE_CHANGE_SUCCESS, "reach PLAYING");
    sample_check(gst_element_set_state(pipeline, GST_STATE_NULL) ==
                 GST_STATE_CHANGE_SUCCESS, "set NULL");
}

SAMPLE_NOINLINE static void lose_bin(void)
{
    GstElement *bin = gst_bin_new("bin");
    fill_bin(GST_BIN(bin));
}

int main(void)
{
    sample_gst_init();
    lose_pipeline();
    lose_bin();
    sample_scrub_stack();
    sample_say("gst_bin_lost: a GstPipeline and a GstBin lost\n");
    return 0;
}
