/*
 * rcobj_alias - two hooked names for one function: librcobj exports
 * rcobj_retain as an alias of rcobj_ref (same address), and
 * rcobj_alias.profile hooks both.  Run with
 * REFSCOPE_HOOKS=<samples dir>/rcobj_alias.profile (tests/integration/
 * test_refcount.py does).  The entry of rcobj_ref can be patched only
 * once; a call through either name's GOT slot, or a direct call to the
 * shared entry, must each be recorded exactly once.
 *
 * make_buffer() creates a "Buffer" (rcobj_new), takes and drops
 * references through both names in balance() (rcobj_ref, rcobj_retain,
 * two rcobj_unref), keeps one taken with rcobj_retain in keep_retained()
 * that nothing releases, and drops its own: refcount 1, no pointer to it.
 *
 * refscope must report, with the profile:
 *  - summary.leaked_refs: 1 object, 1 ref, 56 bytes; one "leaked_ref"
 *    finding, type "Buffer", refcount 1, pointers 0, allocated in
 *    rcobj_new, unbalanced: 1 reference taken in keep_retained.
 *  - no cycle, no rc_error, no leaked or indirect block.
 */
#include "rcobj.h"
#include "sample_util.h"

SAMPLE_NOINLINE static void balance(rcobj_t *obj)
{
    rcobj_ref(obj);
    rcobj_retain(obj);
    rcobj_unref(obj);
    rcobj_unref(obj);
}

SAMPLE_NOINLINE static void keep_retained(rcobj_t *obj)
{
    rcobj_retain(obj);                  /* never released */
}

SAMPLE_NOINLINE static void make_buffer(void)
{
    rcobj_t *buffer = rcobj_new("Buffer");
    sample_check(buffer != NULL, "rcobj_new");
    balance(buffer);
    keep_retained(buffer);
    rcobj_unref(buffer);
}

int main(void)
{
    make_buffer();
    sample_scrub_stack();
    sample_say("rcobj_alias: a reference taken through an alias is kept\n");
    return 0;
}
