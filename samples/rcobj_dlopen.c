/*
 * rcobj_dlopen - entry hooks on a library loaded with dlopen(RTLD_LOCAL)
 * after start-up, whose calls to its own functions never go through its
 * GOT: librcobj_symbolic.so is librcobj (rcobj.c) linked -Bsymbolic.  Run
 * with REFSCOPE_HOOKS=/path/to/rcobj.profile; tests/integration/
 * test_refcount.py does.
 *
 * The program loads the library found next to its executable and takes
 * rcobj_new, rcobj_unref and rcobj_set_link with dlsym (the profile's
 * functions come back as refscope's trampolines; rcobj_set_link is not in
 * the profile and comes back as itself).  rcobj_set_link calls rcobj_ref
 * directly: only the entry hook put on rcobj_ref when the library was
 * loaded sees that reference.
 *  - make_orphan() creates a "Stream" and a "Buffer" (56 bytes each);
 *    attach() links the stream to the buffer with rcobj_set_link (the
 *    reference is taken inside the library); make_orphan() unrefs the
 *    buffer, then clears the stream's link field by hand without an unref
 *    and unrefs the stream (freed): the buffer keeps the link's reference
 *    and nothing points to it.
 *  - make_balanced() does the same but unlinks with rcobj_set_link(s,
 *    NULL) (rcobj_unref inside the library): both are freed.
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
#include <unistd.h>

static rcobj_t *(*new_fn)(const char *);
static void (*unref_fn)(rcobj_t *);
static void (*set_link_fn)(rcobj_t *, rcobj_t *);

static void load(void)
{
    void *handle = sample_dlopen_beside("librcobj_symbolic.so");
    new_fn = (rcobj_t *(*)(const char *))sample_dlsym(handle, "rcobj_new");
    unref_fn = (void (*)(rcobj_t *))sample_dlsym(handle, "rcobj_unref");
    set_link_fn = (void (*)(rcobj_t *, rcobj_t *))sample_dlsym(handle, "rcobj_set_link");
}

SAMPLE_NOINLINE static void attach(rcobj_t *stream, rcobj_t *buffer)
{
    set_link_fn(stream, buffer);        /* rcobj_ref inside the library */
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

SAMPLE_NOINLINE static void make_balanced(void)
{
    rcobj_t *stream = new_fn("Stream");
    rcobj_t *buffer = new_fn("Buffer");
    attach(stream, buffer);
    unref_fn(buffer);
    set_link_fn(stream, NULL);          /* rcobj_unref inside the library */
    unref_fn(stream);
}

int main(void)
{
    load();
    make_orphan();
    make_balanced();
    sample_scrub_stack();
    sample_say("rcobj_dlopen: a link's reference lost in a dlopen'ed library\n");
    return 0;
}
