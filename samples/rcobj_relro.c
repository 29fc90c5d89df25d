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
#include <limits.h>
#include <string.h>
#include <unistd.h>

static rcobj_t *(*keep_fn)(rcobj_t *);

static void load(void)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    sample_check(n > 0, "readlink /proc/self/exe");
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    static const char name[] = "/librcobj_ifunc.so";
    sample_check(slash && (size_t)(slash - path) + sizeof name <= sizeof path, "path fits");
    memcpy(slash, name, sizeof name);
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    sample_check(handle != NULL, "dlopen librcobj_ifunc.so");
    keep_fn = (rcobj_t *(*)(rcobj_t *))dlsym(handle, "rcobj_keep");
    sample_check(keep_fn != NULL, "rcobj_keep");
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
