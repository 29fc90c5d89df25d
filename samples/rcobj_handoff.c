/*
 * rcobj_handoff - a reference handed to another thread, which releases
 * it, and a reference another thread takes and never releases: which one
 * leaked cannot be told from the history alone.
 *
 * main creates a "Parcel" (rcobj_new).  A first thread, keeper
 * (keep_a_copy), takes a reference and forgets it: the bug.  Then main
 * hands a reference over (hand_over: rcobj_ref, then a one-slot mailbox),
 * and a second thread, courier (deliver), takes the parcel out of the
 * mailbox and releases that reference.  main drops its own reference and
 * the pointer: refcount 1, nothing points to the parcel.
 *
 * The history holds 2 increfs besides the ctor and 2 decrefs.  main's
 * decref pairs with the ctor (same thread, same caller frames); courier's
 * could have released keeper's reference or main's hand-over: no thread
 * or caller frame says which (the two threads share only the thread start
 * frames every thread has, which the balancer does not count), so it is
 * paired by guess with the most recent incref, the hand-over, and the
 * report must say so: keep_a_copy's reference is named as never released,
 * and hand_over's as the one a release on another thread may have left
 * instead.
 *
 * refscope must report, with REFSCOPE_HOOKS=<samples dir>/rcobj.profile
 * (tests/integration/test_refcount.py): summary.leaked_refs 1 object, 1
 * ref, 56 bytes; one "leaked_ref" finding, type "Parcel", refcount 1,
 * pointers 0, allocated in rcobj_new called from main; 1 unbalanced
 * reference, taken in keep_a_copy, and 1 that may be unbalanced instead,
 * taken in hand_over.  No cycle, leak or rc_error.
 *
 * LeakSanitizer: 56 bytes direct.
 */
#include "rcobj.h"
#include "sample_util.h"

#include <pthread.h>

static rcobj_t *mailbox;

SAMPLE_NOINLINE static void keep_a_copy(rcobj_t *parcel)
{
    rcobj_ref(parcel);
}

static void *keeper(void *arg)
{
    keep_a_copy(arg);
    return NULL;
}

SAMPLE_NOINLINE static void hand_over(rcobj_t *parcel)
{
    mailbox = rcobj_ref(parcel);
}

SAMPLE_NOINLINE static void deliver(void)
{
    rcobj_t *parcel = mailbox;
    mailbox = NULL;
    rcobj_unref(parcel);
}

static void *courier(void *arg)
{
    (void)arg;
    deliver();
    return NULL;
}

static void run_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    sample_check(pthread_create(&t, NULL, fn, arg) == 0, "pthread_create");
    sample_check(pthread_join(t, NULL) == 0, "pthread_join");
}

int main(void)
{
    rcobj_t *parcel = rcobj_new("Parcel");
    sample_check(parcel != NULL, "rcobj_new(Parcel)");
    run_thread(keeper, parcel);
    hand_over(parcel);
    run_thread(courier, NULL);
    rcobj_unref(parcel);
    parcel = NULL;
    sample_scrub_stack();
    sample_say("rcobj_handoff: a parcel handed over, a copy kept\n");
    return 0;
}
