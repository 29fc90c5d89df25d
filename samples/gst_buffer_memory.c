/*
 * gst_buffer_memory - a GstBuffer that owns memory, with a leaked
 * reference.  Run with REFSCOPE_HOOKS=gst; tests/integration/
 * test_refcount.py does (gst_init as in gst_leak.c: no plugin loaded).
 *
 * make_leak() creates a buffer with gst_buffer_new_allocate() (a
 * GstBufferImpl block and one GstMemory of 100 bytes, whose mini object
 * points back to the buffer through priv_pointer, its parent, holding no
 * reference), leak_buffer_ref() takes an extra reference and never drops
 * it, make_leak() unrefs its own.  The memory's back pointer is the
 * profile's `weak offset=56`: trial deletion does not count it, so the
 * buffer's one reference is unexplained - a leaked reference, the memory
 * its indirect leak.  (It was reported as a cycle of the buffer and its
 * memory, with no leaked reference.)
 *
 * refscope must report: summary.leaked_refs 1 object, 1 ref, the buffer;
 * one "leaked_ref" finding, type "GstBuffer", refcount 1, whose one
 * unbalanced incref names leak_buffer_ref, allocation stack through
 * gst_buffer_new_allocate <- make_leak; the GstMemory block indirect,
 * charged to it; no cycle, no rc_error.
 */
#include "gst_sample.h"
#include "sample_util.h"

#include <gst/gst.h>
#include <stdlib.h>

SAMPLE_NOINLINE static void leak_buffer_ref(GstBuffer *buf)
{
    gst_buffer_ref(buf);
}

SAMPLE_NOINLINE static void make_leak(void)
{
    GstBuffer *buf = gst_buffer_new_allocate(NULL, 100, NULL);
    sample_check(buf != NULL && gst_buffer_n_memory(buf) == 1, "a buffer with memory");
    leak_buffer_ref(buf);
    gst_buffer_unref(buf);
}

int main(void)
{
    sample_gst_init();
    make_leak();
    sample_scrub_stack();
    sample_say("gst_buffer_memory: a GstBuffer with memory and a leaked ref\n");
    return 0;
}
