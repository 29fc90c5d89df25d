/*
 * gst_pool - GstBuffers recycled by a GstBufferPool, run under
 * REFSCOPE_HOOKS=gst (tests/integration/test_refcount.py).  When the last
 * reference to a pooled buffer goes, gst_mini_object_unref calls the
 * buffer's dispose function, which takes a reference again (the count
 * goes from 0 back to 1) and hands the buffer back to its pool; the pool
 * gives it out again on the next acquire.  That revival is GStreamer's
 * documented protocol, not an "incref after the final decref": every
 * pipeline whose elements use a pool (videotestsrc ! videoconvert) got
 * one false error per buffer.
 *
 * cycle_buffers() configures a pool of 2 buffers of 4096 bytes, acquires
 * and releases buffers 8 times (each acquire after the first two returns
 * a recycled buffer: 8 revivals), deactivates the pool and unrefs it.
 *
 * refscope must report: no rc_error, no leaked_ref, no cycle, no leaked
 * or indirect block.  Output: "gst_pool: 8 buffers through a pool of 2".
 */
#include "gst_sample.h"
#include "sample_util.h"

#include <gst/gst.h>
#include <stdlib.h>

SAMPLE_NOINLINE static GstBufferPool *make_pool(void)
{
    GstBufferPool *pool = gst_buffer_pool_new();
    GstStructure *config = gst_buffer_pool_get_config(pool);
    gst_buffer_pool_config_set_params(config, NULL, 4096, 2, 2);
    sample_check(gst_buffer_pool_set_config(pool, config), "set_config");
    sample_check(gst_buffer_pool_set_active(pool, TRUE), "set_active");
    return pool;
}

SAMPLE_NOINLINE static int cycle_buffers(void)
{
    GstBufferPool *pool = make_pool();
    int n = 0;
    for (int i = 0; i < 8; i++) {
        GstBuffer *buf = NULL;
        sample_check(gst_buffer_pool_acquire_buffer(pool, &buf, NULL) == GST_FLOW_OK,
                     "acquire_buffer");
        gst_buffer_memset(buf, 0, (guint8)i, 4096);
        gst_buffer_unref(buf);
        n++;
    }
    sample_check(gst_buffer_pool_set_active(pool, FALSE), "set_active FALSE");
    gst_object_unref(pool);
    return n;
}

int main(void)
{
    sample_gst_init();
    int n = cycle_buffers();
    sample_scrub_stack();
    sample_say("gst_pool: %d buffers through a pool of 2\n", n);
    return 0;
}
