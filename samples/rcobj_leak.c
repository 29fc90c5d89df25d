/*
 * rcobj_leak - leaks through librcobj's exported ref/unref functions,
 * with no annotation at all: refscope learns about the objects only from
 * the profile, REFSCOPE_HOOKS=<samples dir>/rcobj.profile (run by
 * tests/integration/test_refcount.py; without the profile the objects are
 * plain blocks and this program is not a useful sample).
 *
 * make_buffer() creates a "Buffer" (rcobj_new), keep_extra_ref() takes a
 * reference with rcobj_ref that nothing ever releases, and make_buffer
 * drops its own (rcobj_unref): refcount 1, no pointer to it.
 * make_streams() creates two "Stream"s and links each to the other with
 * rcobj_set_link (which calls rcobj_ref inside the library), then drops
 * its own references: a two-object cycle.  make_scratch() creates and
 * releases a "Scratch" object properly: nothing to report.
 *
 * refscope must report, with the profile:
 *  - summary.cycles: 1 group, 2 objects, 112 bytes; one "cycle" finding,
 *    type "Stream", 112 bytes in 2 blocks, allocated in rcobj_new called
 *    from make_streams, members two 56-byte Streams with refcount 1,
 *    edges 0 -> 1 and 1 -> 0 at offset 16 (field "link").
 *  - summary.leaked_refs: 1 object, 1 ref, 56 bytes; one "leaked_ref"
 *    finding, type "Buffer", refcount 1, pointers 0, allocated in
 *    rcobj_new called from make_buffer, unbalanced: 1 reference taken in
 *    keep_extra_ref.
 *  - no leaked, indirect or rc_error; nothing reachable.
 * The expectation lines below hold for the hooked run, except the lsan
 * ones: LeakSanitizer calls the Buffer direct and the Streams indirect.
 *
 * Expected (machine-read by tests/integration/test_refcount.py):
 *   @total   cycles      112/2
 *   @total   leaked_refs 56/1
 *   @total   reachable   0/0
 *   @finding cycle       112/2  rcobj_new
 *   @finding leaked_ref  56/1   rcobj_new
 *   @lsan    direct      56/1
 *   @lsan    indirect    112/2
 */
#include "rcobj.h"
#include "sample_util.h"

SAMPLE_NOINLINE static void keep_extra_ref(rcobj_t *obj)
{
    rcobj_ref(obj);
}

SAMPLE_NOINLINE static void make_buffer(void)
{
    rcobj_t *b = rcobj_new("Buffer");
    sample_check(b != NULL, "rcobj_new(Buffer)");
    keep_extra_ref(b);
    rcobj_unref(b);
}

SAMPLE_NOINLINE static void make_streams(void)
{
    rcobj_t *s1 = rcobj_new("Stream");
    rcobj_t *s2 = rcobj_new("Stream");
    sample_check(s1 && s2, "rcobj_new(Stream)");
    rcobj_set_link(s1, s2);
    rcobj_set_link(s2, s1);
    rcobj_unref(s1);
    rcobj_unref(s2);
}

SAMPLE_NOINLINE static void make_scratch(void)
{
    rcobj_t *s = rcobj_new("Scratch");
    sample_check(s != NULL, "rcobj_new(Scratch)");
    rcobj_unref(rcobj_ref(s));
    rcobj_unref(s);
}

int main(void)
{
    make_buffer();
    make_streams();
    make_scratch();
    sample_scrub_stack();
    sample_say("rcobj_leak: a Buffer with a lost reference, a Stream cycle\n");
    return 0;
}
