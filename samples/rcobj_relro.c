/*
 * rcobj_relro - hooks refreshed while a dlopen'ed library is still being
 * relocated: librcobj_ifunc.so (rcobj_ifunc.c, -z now -z relro) runs an
 * IFUNC resolver that allocates during its relocation, which makes
 * refscope refresh its hooks at that instant.  The library's GOT must not
 * be patched then (its RELRO pages are still being written by ld.so:
 * making them read-only would crash the next relocation), and must be
 * patched later.  Run with REFSCOPE_HOOKS=<samples dir>/rcobj.profile
 * and REFSCOPE_ENTRY_HOOKS=0, so that only the GOT hook can see the
 * library's call (tests/integration/test_refcount.py does).
 *
 * make_buffer() creates a "Buffer" (rcobj_new), keep_extra() takes a
 * reference through the library's rcobj_keep (rcobj_ref called through
 * the library's GOT) that nothing releases, and make_buffer drops its
 * own: refcount 1, no pointer to it.
 *
 * refscope must report, with the profile:
 *  - summary.leaked_refs: 1 object, 1 ref, 56 bytes; one "leaked_ref"
 *    finding, type "Buffer", refcount 1, pointers 0, allocated in
 *    rcobj_new, unbalanced: 1 reference taken in keep_extra.
 *  - no cycle, no rc_error, no leaked or indirect block.
 */
#include "rcobj.h"
#include "sample_util.h"

#include <dlfcn.h>
#include <string.h>
#include <unistd.h>

static rcobj_t *(*keep_fn)(rcobj_t *);

static void load(void)
{
    void *handle = sample_dlopen_beside("librcobj_ifunc.so");
    keep_fn = (rcobj_t *(*)(rcobj_t *))sample_dlsym(handle, "rcobj_keep");
}

SAMPLE_NOINLINE static void keep_extra(rcobj_t *obj)
{
    keep_fn(obj);                       /* never released */
}

SAMPLE_NOINLINE static void make_buffer(void)
{
    rcobj_t *buffer = rcobj_new("Buffer");
    sample_check(buffer != NULL, "rcobj_new");
    keep_extra(buffer);
    rcobj_unref(buffer);
}

int main(void)
{
    load();
    make_buffer();
    sample_scrub_stack();
    sample_say("rcobj_relro: hooks refreshed during a library's relocation\n");
    return 0;
}
