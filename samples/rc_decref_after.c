/*
 * rc_decref_after - rc_decref_late.c done right: the release function
 * decrements first and then annotates with refscope_decref_after(), the
 * annotation made for that order (refscope.h).
 *
 * 1000 Msg objects (24 bytes) go through a queue: msg_new() (refcount 1),
 * queue_push() takes a reference (refscope_incref after the increment),
 * queue_drain() and the producer each drop one through msg_unref(), which
 * decrements, then calls refscope_decref_after(), then frees at 0.
 * refscope reads the counter as it was before the decrement.
 *
 * One more Msg proves that the decrefs are recorded: leak_one() creates
 * it, keep_extra_ref() takes a reference through msg_ref() and never
 * drops it, leak_one() releases its own (msg_unref: refcount 1 left).
 *
 * refscope must report one "leaked_ref" finding: type "Msg", 24 bytes in
 * 1 block, allocated in msg_new, refcount 1, pointers 0, refs 1, and
 * exactly one unbalanced incref, whose stack names keep_extra_ref (were
 * the refscope_decref_after() calls not recorded, the creation would be
 * unbalanced too).  summary.rc_errors 0, and no advice line about
 * refscope_decref_after() on stderr.  Every other block is freed.
 *
 * LeakSanitizer reports the leaked Msg as a direct leak.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked_refs 24/1
 *   @total   reachable   0/0
 *   @finding leaked_ref  24/1  msg_new
 *   @lsan    direct      24/1
 */
#include "msg_queue.h"

#define N_MSGS 1000

SAMPLE_NOINLINE static void msg_unref(struct msg *m)
{
    int left = --m->refcnt;
    refscope_decref_after(m);    /* after the decrement: the right call */
    if (left == 0)
        free(m);
}

SAMPLE_NOINLINE static void msg_ref(struct msg *m)
{
    m->refcnt++;
    refscope_incref(m);
}

SAMPLE_NOINLINE static void keep_extra_ref(struct msg *m)
{
    msg_ref(m);                  /* never released: the leak */
}

SAMPLE_NOINLINE static void leak_one(void)
{
    struct msg *m = msg_new(-1);
    keep_extra_ref(m);
    msg_unref(m);
}

int main(void)
{
    run_queue(N_MSGS);
    leak_one();
    sample_scrub_stack();
    sample_say("rc_decref_after: %d messages released, refscope_decref_after\n",
               N_MSGS);
    return 0;
}
