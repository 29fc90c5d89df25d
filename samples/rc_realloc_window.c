/*
 * rc_realloc_window - analyses (refscope_check()) while another thread
 * keeps realloc'ing the block of a refcounted object.
 *
 * main creates an Obj (a 64-byte block: refcount at 0, child at 8,
 * declared with refscope_object) reachable from the global `moving`, and a
 * 48-byte child block whose only pointer is obj->child.  A worker then
 * realloc's `moving` in a loop between 64 and 4096 bytes (the block
 * moves) while main calls refscope_check() 30 times.  While a realloc
 * runs, refscope holds the block and its objects out of its tables
 * (alloc_hooks.c, refcount.c); an analysis that stopped the world then
 * would not see the Obj, and the child, pointed to by nothing it sees,
 * would be "leaked".  Every check must find no leak: the analysis waits
 * for the realloc to end (the realloc window, refcount.h).  The sample
 * exits 70 ("sample check failed") when a check found a leak.  Then the
 * worker stops, main frees both blocks: nothing is live at exit.
 *
 * Without refscope, refscope_check() is 0: the program's output is the
 * same.  LeakSanitizer: no leaks.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     0/0
 *   @lsan    direct     0/0
 */
#include "sample_util.h"

#include <refscope.h>

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

#define CHECKS 30

struct obj {
    long  refcnt;
    void *child;
};

static struct obj *volatile moving;
static volatile int started, stop;

/* Grows and shrinks `moving` until told to stop; ends at 64 bytes. */
static void *realloc_loop(void *arg)
{
    (void)arg;
    for (unsigned i = 0; !stop || i % 2; i++) {
        struct obj *o = realloc(moving, i % 2 ? 64 : 4096);
        sample_check(o != NULL, "realloc");
        moving = o;
        started = 1;
    }
    return NULL;
}

int main(void)
{
    struct obj *o = malloc(64);
    sample_check(o != NULL, "malloc(obj)");
    o->refcnt = 1;
    refscope_object(o, "Obj", offsetof(struct obj, refcnt), sizeof o->refcnt);
    o->child = malloc(48);
    sample_check(o->child != NULL, "malloc(child)");
    moving = o;
    o = NULL;
    sample_scrub_stack();

    pthread_t t;
    sample_check(pthread_create(&t, NULL, realloc_loop, NULL) == 0,
                 "pthread_create");
    sample_wait_flag(&started);
    int missed = 0;
    for (int i = 0; i < CHECKS; i++)
        missed += refscope_check() != 0;
    stop = 1;
    sample_check(pthread_join(t, NULL) == 0, "pthread_join");
    sample_check(missed == 0, "refscope_check() saw a leak while the "
                 "block of a refcounted object was being realloc'ed");
    sample_say("rc_realloc_window: %d checks during reallocs, no leak\n",
               CHECKS);
    free(moving->child);
    refscope_decref(moving);
    moving->refcnt = 0;
    free(moving);
    return 0;
}
