/*
 * rcobj_reload - a hooked library unloaded and loaded again: entry hooks
 * and GOT trampolines must forget the first copy's functions at dlclose
 * and hook the second copy.  librcobj_symbolic.so (rcobj.c linked
 * -Bsymbolic: rcobj_set_link calls rcobj_ref directly, seen only by an
 * entry hook) is dlopen'ed, used in balance, dlclosed (unmapped: nothing
 * else holds it); one page is then mapped where the library started, so
 * the second dlopen maps it at another address (checked).  Run with
 * REFSCOPE_HOOKS=/path/to/rcobj.profile; tests/integration/
 * test_refcount.py does.
 *
 * With the second copy, make_orphan() creates a "Stream" and a "Buffer"
 * (56 bytes each); attach() links the stream to the buffer with
 * rcobj_set_link (the reference is taken inside the library); the buffer
 * is unref'ed, the stream's link field cleared by hand without an unref
 * and the stream unref'ed (freed): the buffer keeps the link's reference
 * and nothing points to it.
 *
 * refscope must report:
 *  - summary.leaked_refs: 1 object, 1 ref, 56 bytes, 1 block; one
 *    "leaked_ref" finding, type "Buffer", refcount 1, pointers 0, refs 1,
 *    unbalanced: one incref (count 1) whose first frame is rcobj_set_link
 *    and that names attach; allocation stack through rcobj_new.
 *  - no cycle, no rc_error, no leaked or indirect block.
 */
#include "rcobj.h"
#include "sample_util.h"

#include <dlfcn.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static rcobj_t *(*new_fn)(const char *);
static void (*unref_fn)(rcobj_t *);
static void (*set_link_fn)(rcobj_t *, rcobj_t *);

/* Loads librcobj_symbolic.so from the executable's directory; returns
 * its handle and sets *base to where it is mapped. */
static void *load(void **base)
{
    void *handle = sample_dlopen_beside("librcobj_symbolic.so");
    new_fn = (rcobj_t *(*)(const char *))sample_dlsym(handle, "rcobj_new");
    unref_fn = (void (*)(rcobj_t *))sample_dlsym(handle, "rcobj_unref");
    set_link_fn = (void (*)(rcobj_t *, rcobj_t *))sample_dlsym(handle, "rcobj_set_link");
    Dl_info info;
    sample_check(dladdr((void *)set_link_fn, &info) && info.dli_fbase, "dladdr");
    *base = info.dli_fbase;
    return handle;
}

SAMPLE_NOINLINE static void attach(rcobj_t *stream, rcobj_t *buffer)
{
    set_link_fn(stream, buffer);        /* rcobj_ref inside the library */
}

SAMPLE_NOINLINE static void use_balanced(void)
{
    rcobj_t *stream = new_fn("Stream");
    rcobj_t *buffer = new_fn("Buffer");
    attach(stream, buffer);
    unref_fn(buffer);
    set_link_fn(stream, NULL);          /* rcobj_unref inside the library */
    unref_fn(stream);
}

SAMPLE_NOINLINE static void make_orphan(void)
{
    rcobj_t *stream = new_fn("Stream");
    rcobj_t *buffer = new_fn("Buffer");
    attach(stream, buffer);
    unref_fn(buffer);
    stream->link = NULL;                /* the link's reference is lost */
    unref_fn(stream);
}

int main(void)
{
    void *first, *second;
    void *handle = load(&first);
    use_balanced();
    sample_check(dlclose(handle) == 0, "dlclose");
    void *hold = mmap(first, 4096, PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    sample_check(hold == first, "the library was unmapped by dlclose");
    handle = load(&second);
    sample_check(second != first, "the library loaded at another address");
    make_orphan();
    sample_scrub_stack();
    sample_say("rcobj_reload: a link's reference lost in a reloaded library\n");
    return 0;
}
