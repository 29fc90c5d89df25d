/*
 * rcobj_lockorder - hooks refreshed on one thread while another is inside
 * dlopen: the refresh must never wait for the loader lock, or it
 * deadlocks with a dlopen that takes the loader's write lock (a nested
 * dlopen, dl_iterate_phdr) while the refresh holds it.  A second thread
 * dlopens librcobj_ctor.so (rcobj_ctor.c), which needs librcobj (not
 * loaded before: refscope knows no original for rcobj_ref yet).  Its
 * constructor signals through a pipe, and the main thread allocates:
 * refscope refreshes its hooks there (a dlopen happened) and meets the
 * library's slot for rcobj_ref.  The constructor then calls
 * dl_iterate_phdr.  A 20 s alarm turns a deadlock into a failure.  Run
 * with REFSCOPE_HOOKS=<samples dir>/rcobj.profile (tests/integration/
 * test_refcount.py does).
 *
 * Then make_buffer() creates a "Buffer" (rcobj_new), keep_extra() takes
 * a reference through the library's rcobj_ctor_keep that nothing
 * releases, and make_buffer drops its own: refcount 1, no pointer to it.
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static rcobj_t *(*new_fn)(const char *);
static void (*unref_fn)(rcobj_t *);
static rcobj_t *(*keep_fn)(rcobj_t *);

static void *load(void *arg)
{
    void *handle = sample_dlopen_beside("librcobj_ctor.so");
    return handle;
}

SAMPLE_NOINLINE static void keep_extra(rcobj_t *obj)
{
    keep_fn(obj);                       /* never released */
}

SAMPLE_NOINLINE static void make_buffer(void)
{
    rcobj_t *buffer = new_fn("Buffer");
    sample_check(buffer != NULL, "rcobj_new");
    keep_extra(buffer);
    unref_fn(buffer);
}

int main(void)
{
    int fds[2];
    char fd[16], c;
    sample_check(pipe(fds) == 0, "pipe");
    snprintf(fd, sizeof fd, "%d", fds[1]);
    sample_check(setenv("RCOBJ_CTOR_PIPE", fd, 1) == 0, "setenv");
    alarm(20);
    pthread_t loader;
    sample_check(pthread_create(&loader, NULL, load, NULL) == 0, "pthread_create");
    sample_check(read(fds[0], &c, 1) == 1, "the constructor's signal");
    void *volatile scratch = malloc(40); /* refscope refreshes its hooks here */
    free(scratch);
    void *handle;
    sample_check(pthread_join(loader, &handle) == 0, "pthread_join");
    new_fn = (rcobj_t *(*)(const char *))sample_dlsym(handle, "rcobj_new");
    unref_fn = (void (*)(rcobj_t *))sample_dlsym(handle, "rcobj_unref");
    keep_fn = (rcobj_t *(*)(rcobj_t *))sample_dlsym(handle, "rcobj_ctor_keep");
    make_buffer();
    sample_scrub_stack();
    sample_say("rcobj_lockorder: hooks refreshed during another thread's dlopen\n");
    return 0;
}
