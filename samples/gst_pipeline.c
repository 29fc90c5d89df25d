/*
 * gst_pipeline - a real GStreamer pipeline with streaming threads, run
 * under REFSCOPE_HOOKS=gobject,gst: the program must behave exactly as
 * without refscope while the entry hooks of libgobject and libgstreamer
 * see refs and buffers made on several threads, and while a plugin is
 * loaded with dlopen (its own hooked calls patched after start-up).
 *
 * gst_init() runs as in gst_leak.c (no registry, no plugin scan); the
 * program then loads the core elements plugin (libgstcoreelements.so,
 * found next to libgstreamer's plugin directory, GST_PLUGIN_DIR) with
 * gst_plugin_load_file - a dlopen - and runs "fakesrc num-buffers=200
 * sizetype=fixed sizemax=64 ! queue ! fakesink" to EOS: fakesrc's
 * streaming thread creates the buffers (gst_buffer_new_allocate inside
 * the plugin), the queue's thread hands them to fakesink, which unrefs
 * them.  A pad probe on fakesink counts the buffers (atomically).  Then
 * the pipeline is stopped and unreffed.
 *
 * Then gst_deinit().
 *
 * Output: "gst_pipeline: 200 buffers" and exit status 0, as natively.
 * refscope must report: no rc_error and no leaked_ref (every buffer,
 * event and element is released).  GStreamer's own start-up leaks are
 * not the sample's and not checked: its static core plugin (a GstPlugin,
 * 304 bytes) in a cycle through a weak reference with two plain blocks
 * (704 bytes in all), and 88 bytes of strings indirectly leaked by it.
 * With GOT hooks only (REFSCOPE_ENTRY_HOOKS=0) the objects created inside
 * libgstreamer and the plugin are unknown when the plugin unrefs them:
 * 15 false "decref of untracked object" errors.
 */
#include "gst_sample.h"
#include "sample_util.h"

#include <gst/gst.h>
#include <stdlib.h>

#ifndef GST_PLUGIN_DIR
#define GST_PLUGIN_DIR "/usr/lib/x86_64-linux-gnu/gstreamer-1.0"
#endif

static gint buffers_seen;

static GstPadProbeReturn count_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    (void)pad;
    (void)info;
    (void)data;
    g_atomic_int_inc(&buffers_seen);
    return GST_PAD_PROBE_OK;
}

SAMPLE_NOINLINE static void load_plugin(void)
{
    GError *err = NULL;
    GstPlugin *p = gst_plugin_load_file(GST_PLUGIN_DIR "/libgstcoreelements.so", &err);
    sample_check(p != NULL, "load libgstcoreelements.so");
    gst_object_unref(p);
}

SAMPLE_NOINLINE static void run_pipeline(void)
{
    GError *err = NULL;
    GstElement *pipeline = gst_parse_launch(
        "fakesrc name=src num-buffers=200 sizetype=fixed sizemax=64 ! queue ! "
        "fakesink name=sink", &err);
    sample_check(pipeline != NULL && err == NULL, "gst_parse_launch");
    GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    GstPad *pad = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, NULL, NULL);
    gst_object_unref(pad);
    gst_object_unref(sink);
    sample_check(gst_element_set_state(pipeline, GST_STATE_PLAYING) !=
                 GST_STATE_CHANGE_FAILURE, "set PLAYING");
    GstBus *bus = gst_element_get_bus(pipeline);
    GstMessage *msg = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND,
                                                 GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    sample_check(msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS, "EOS");
    gst_message_unref(msg);
    gst_object_unref(bus);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
}

int main(void)
{
    sample_gst_init();
    load_plugin();
    run_pipeline();
    gst_deinit();
    sample_scrub_stack();
    sample_say("gst_pipeline: %d buffers\n", g_atomic_int_get(&buffers_seen));
    return 0;
}
