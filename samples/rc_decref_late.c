/*
 * rc_decref_late - a clean program that calls refscope_decref() AFTER its
 * decrement, a common way to write a release function, and the wrong
 * place for refscope_decref() (refscope.h: call it before).
 * rc_decref_after.c is the same program done right; both share the queue
 * of msg_queue.h.
 *
 * 1000 Msg objects (24 bytes) go through a queue: msg_new() (refcount 1),
 * queue_push() takes a reference (refscope_incref after the increment),
 * queue_drain() and the producer each drop one through msg_unref(), which
 * decrements, then annotates, then frees at 0.  Every final release thus
 * shows refscope_decref() a count already at 0, like a real underflow;
 * but the object is freed right after, which after a real underflow it
 * would not be (the program's own count went below zero).  refscope holds
 * such a decref until the object's next event (objtable.h, the
 * annotation-order rule): here that is always the free.
 *
 * refscope must report nothing: no finding, summary.rc_errors 0 (not one
 * "count below zero" for the 1000 final releases), and print exactly one
 * line of advice on stderr naming refscope_decref_after().  Every block is
 * freed.
 *
 * LeakSanitizer reports nothing.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     0/0
 *   @total   reachable  0/0
 *   @lsan    direct     0/0
 */
#include "msg_queue.h"

#define N_MSGS 1000

SAMPLE_NOINLINE static void msg_unref(struct msg *m)
{
    int left = --m->refcnt;
    refscope_decref(m);          /* after the decrement: the wrong place */
    if (left == 0)
        free(m);
}

int main(void)
{
    run_queue(N_MSGS);
    sample_scrub_stack();
    sample_say("rc_decref_late: %d messages released, refscope_decref after --\n",
               N_MSGS);
    return 0;
}
