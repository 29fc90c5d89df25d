/*
 * msg_queue.h - the Msg queue of rc_decref_late.c and rc_decref_after.c,
 * which differ only in how msg_unref() annotates its decrement.
 *
 * A Msg (24 bytes) is created by msg_new() with refcount 1 and declared to
 * refscope; queue_push() takes a reference (refscope_incref after the
 * increment); queue_drain() drops it through msg_unref(), which the
 * including sample defines.  run_queue() sends n messages through the
 * queue, the producer dropping its own reference after each push, and
 * checks the payload sum.  Static functions: included by one .c only.
 */
#ifndef MSG_QUEUE_H
#define MSG_QUEUE_H

#include "sample_util.h"

#include <refscope.h>

#include <stddef.h>
#include <stdlib.h>

struct msg {
    int         refcnt;
    int         seq;
    struct msg *next;        /* queue link */
    long        payload;
};

static struct msg *head, *tail;

/* Defined by the sample: decrement, annotate, free at 0. */
static void msg_unref(struct msg *m);

SAMPLE_NOINLINE static struct msg *msg_new(int seq)
{
    struct msg *m = calloc(1, sizeof *m);
    sample_check(m != NULL, "calloc(msg)");
    m->refcnt = 1;
    m->seq = seq;
    refscope_object(m, "Msg", offsetof(struct msg, refcnt), sizeof m->refcnt);
    return m;
}

SAMPLE_NOINLINE static void queue_push(struct msg *m)
{
    m->refcnt++;
    refscope_incref(m);
    m->next = NULL;
    if (tail)
        tail->next = m;
    else
        head = m;
    tail = m;
}

SAMPLE_NOINLINE static long queue_drain(void)
{
    long sum = 0;
    while (head) {
        struct msg *m = head;
        head = m->next;
        sum += m->payload;
        msg_unref(m);
    }
    tail = NULL;
    return sum;
}

SAMPLE_NOINLINE static void run_queue(int n)
{
    for (int i = 0; i < n; i++) {
        struct msg *m = msg_new(i);
        m->payload = i;
        queue_push(m);
        msg_unref(m);
    }
    long sum = queue_drain();
    sample_check(sum == (long)n * (n - 1) / 2, "payload sum");
}

#endif /* MSG_QUEUE_H */
