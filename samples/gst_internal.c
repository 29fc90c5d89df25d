/*
 * gst_internal - a GstBuffer created inside GStreamer, by a call the
 * program never makes itself: gst_buffer_make_writable() on a shared
 * buffer copies it in libgstreamer (gst_mini_object_make_writable ->
 * gst_mini_object_copy -> gst_buffer_copy_with_flags -> gst_buffer_new ->
 * gst_mini_object_init), all direct calls inside the library (it links
 * -Bsymbolic), seen only through refscope's entry hooks
 * (REFSCOPE_ENTRY_HOOKS, on by default).  Run with REFSCOPE_HOOKS=gst;
 * tests/integration/test_refcount.py does.  gst_init() runs as in
 * gst_leak.c (no registry, no plugin).
 *
 *  - make_copy_leak() creates a buffer (gst_buffer_new, 280 bytes), takes
 *    a second reference, and writable_copy() calls gst_buffer_make_writable
 *    on it: GStreamer copies the shared buffer and drops one reference of
 *    the original inside the library (gst_mini_object_unref).  The copy is
 *    never unreffed; make_copy_leak() unrefs the original (freed).
 *
 * refscope must report:
 *  - summary.leaked_refs: 1 object, 1 ref, 280 bytes, 1 block; one
 *    "leaked_ref" finding, type "GstBuffer", refcount 1, pointers 0, refs
 *    1, unbalanced: the copy's creation (count 1), whose stack's first
 *    frame is in libgstreamer (the static function that calls
 *    gst_buffer_new; Debian's library has no name for it) and that names
 *    gst_mini_object_make_writable and writable_copy; allocation stack
 *    through gst_buffer_new <- gst_mini_object_make_writable.  Without
 *    entry hooks the copy is never seen as an object: a plain leaked
 *    block instead.
 *  - no cycle, no rc_error, no leaked or indirect block; nothing about
 *    the original buffer (freed).
 */
#include "gst_sample.h"
#include "sample_util.h"

#include <gst/gst.h>
#include <stdlib.h>

SAMPLE_NOINLINE static GstBuffer *writable_copy(GstBuffer *shared)
{
    return gst_buffer_make_writable(shared);   /* copies inside GStreamer */
}

SAMPLE_NOINLINE static void make_copy_leak(void)
{
    GstBuffer *buf = gst_buffer_new();
    gst_buffer_ref(buf);                        /* shared: not writable */
    GstBuffer *copy = writable_copy(buf);
    sample_check(copy != buf, "a shared buffer is copied");
    gst_buffer_unref(buf);                      /* the copy is leaked */
}

int main(void)
{
    sample_gst_init();
    make_copy_leak();
    sample_scrub_stack();
    sample_say("gst_internal: a GstBuffer copied inside GStreamer, leaked\n");
    return 0;
}
