/*
 * gst_leak - real GStreamer mini objects (libgstreamer-1.0): a GstBuffer
 * with a leaked reference and one that is released properly.  Run with
 * REFSCOPE_HOOKS=gst (the built-in profile; like gobject, it also makes
 * GLib 2.74's slice allocator use malloc, so each GstBuffer is a heap
 * block of its own: GStreamer 1.22 takes buffers from g_slice_new0);
 * tests/integration/test_refcount.py does.
 *
 * gst_init() runs first, with the plugin registry neither forked for nor
 * updated (GST_REGISTRY_UPDATE=no, GST_REGISTRY pointing at no file), so
 * the run is one process that loads no plugin.
 *
 * The gst profile sees a buffer's creation through its ctor hook on
 * gst_buffer_new (libgstreamer's own call of gst_mini_object_init does not
 * go through its GOT); without it the leaked incref would pair with
 * make_leak's unref and no unbalanced incref could be named.
 *  - make_leak() creates a buffer with gst_buffer_new() (no memory: one
 *    280-byte GstBufferImpl block), leak_buffer_ref() takes an extra
 *    reference with gst_buffer_ref (the header's inline wrapper of
 *    gst_mini_object_ref) and never drops it, make_leak() unrefs its own.
 *  - make_balanced() creates a buffer, ref_and_unref() refs and unrefs it,
 *    then make_balanced() unrefs it: the buffer is freed.
 *  - keep_buffer() keeps a buffer in the global `kept` (reachable).
 *
 * refscope must report:
 *  - summary.leaked_refs: 1 object, 1 ref, 280 bytes, 1 block; one
 *    "leaked_ref" finding, type "GstBuffer", refcount 1, pointers 0,
 *    refs 1, unbalanced: one incref (count 1; gst_mini_object_ref called
 *    by the inline gst_buffer_ref) whose stack names leak_buffer_ref;
 *    allocation stack g_malloc <- g_slice_alloc <- gst_buffer_new <-
 *    make_leak.
 *  - no cycle, no rc_error, no leaked or indirect block; nothing about
 *    the buffers of make_balanced (freed) or keep_buffer (reachable: a
 *    --show-reachable run lists it as a "GstBuffer" of 280 bytes).
 */
#include "gst_sample.h"
#include "sample_util.h"

#include <gst/gst.h>
#include <stdlib.h>

static GstBuffer *kept;

SAMPLE_NOINLINE static void leak_buffer_ref(GstBuffer *buf)
{
    gst_buffer_ref(buf);
}

SAMPLE_NOINLINE static void make_leak(void)
{
    GstBuffer *buf = gst_buffer_new();
    leak_buffer_ref(buf);
    gst_buffer_unref(buf);
}

SAMPLE_NOINLINE static void ref_and_unref(GstBuffer *buf)
{
    gst_buffer_ref(buf);
    gst_buffer_unref(buf);
}

SAMPLE_NOINLINE static void make_balanced(void)
{
    GstBuffer *buf = gst_buffer_new();
    ref_and_unref(buf);
    gst_buffer_unref(buf);
}

SAMPLE_NOINLINE static void keep_buffer(void)
{
    kept = gst_buffer_new();
}

int main(void)
{
    sample_gst_init();
    make_leak();
    make_balanced();
    keep_buffer();
    sample_check(GST_MINI_OBJECT_REFCOUNT_VALUE(kept) == 1,
                 "kept buffer holds one reference");
    sample_scrub_stack();
    sample_say("gst_leak: a GstBuffer with a leaked ref, one released\n");
    return 0;
}
