/*
 * test_objtable.c - unit tests of lib/model/objtable.c: event recording rules
 * (create by ctor/incref, duplicate ctor, nested and recycled ctors,
 * untracked decref), the annotation-order rule (held decrefs, which stay
 * in the history even where pairing rule 0 would drop them), declare,
 * remove with history hand-over, insert (a record moved to a new address
 * by realloc, replacing a stale one), a differential test of the sharded hash
 * table against a plain array under random inserts and removals, threads
 * hammering shared objects, events on known objects (no shard lock)
 * racing with records placed, moved and removed and arrays grown,
 * allocation failure, type-name interning, and the prefetch hints' slots.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "objtable.h"
#include "rs_mem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const rs_objtable_opts_t with_history = { 1, 0, NULL, 0, NULL };

static rs_ref_event_t ev(rs_ref_op_t op, uint32_t stack)
{
    rs_ref_event_t e = { stack, rs_refhist_ctor_seq(), 0, (uint8_t)op, 0 };
    return e;
}

static void test_record_rules(void **state)
{
    rs_objtable_t *t = rs_objtable_create();
    rs_obj_info_t info = { .type_id = 3, .rc_offset = 8, .rc_width = 4,
                           .rc_signed = 1, .hook = 7 };
    rs_obj_t o;
    rs_ref_event_t e = ev(RS_REF_DECREF, 1);
    assert_int_equal(rs_objtable_record(t, 0x1000, &info, &e, &with_history, &o),
                     RS_OBJ_UNTRACKED);
    assert_int_equal(rs_objtable_count(t), 0);
    /* seq numbers are taken at a call's entry: an outer constructor that
     * calls another hooked one is entered first and returns last */
    rs_ref_event_t outer = ev(RS_REF_CTOR, 3);
    e = ev(RS_REF_CTOR, 2);
    assert_int_equal(rs_objtable_record(t, 0x1000, &info, &e, &with_history, &o),
                     RS_OBJ_CREATED);
    assert_int_equal(o.addr, 0x1000);
    assert_int_equal(o.type_id, 3);
    assert_int_equal(o.rc_offset, 8);
    assert_int_equal(o.rc_width, 4);
    assert_int_equal(o.hook, 7);
    assert_int_equal(o.flags, RS_OBJ_RC_SIGNED);
    assert_int_equal(o.event_count, 1);
    e = outer;                  /* nested constructor: recorded once */
    assert_int_equal(rs_objtable_record(t, 0x1000, &info, &e, &with_history, &o),
                     RS_OBJ_DUP_CTOR);
    assert_int_equal(o.event_count, 1);
    e = ev(RS_REF_INCREF, 4);
    assert_int_equal(rs_objtable_record(t, 0x1000, &info, &e, &with_history, &o),
                     RS_OBJ_UPDATED);
    e = ev(RS_REF_DECREF, 5);
    assert_int_equal(rs_objtable_record(t, 0x1000, NULL, &e, &with_history, &o),
                     RS_OBJ_UPDATED);
    assert_int_equal(o.event_count, 1);
    assert_int_equal(o.hist.n, 3);
    assert_int_equal(o.hist.events[0].stack_id, 3);   /* the outer ctor's */
    assert_int_equal(o.hist.events[2].op, RS_REF_DECREF);

    /* A constructor that refs its object before returning: the ctor's
     * sequence number was taken at the call's entry, so it is put first
     * and the object is no longer "seen late". */
    rs_ref_event_t entered = ev(RS_REF_CTOR, 8);
    e = ev(RS_REF_INCREF, 9);
    assert_int_equal(rs_objtable_record(t, 0x4000, &info, &e, &with_history, &o),
                     RS_OBJ_CREATED);
    assert_int_equal(o.flags, RS_OBJ_RC_SIGNED | RS_OBJ_SEEN_LATE);
    assert_int_equal(rs_objtable_record(t, 0x4000, &info, &entered, &with_history, &o),
                     RS_OBJ_DUP_CTOR);
    assert_int_equal(o.flags, RS_OBJ_RC_SIGNED);
    assert_int_equal(o.event_count, 2);
    assert_int_equal(o.hist.n, 2);
    assert_int_equal(o.hist.events[0].op, RS_REF_CTOR);
    assert_int_equal(o.hist.events[0].stack_id, 8);
    assert_int_equal(rs_objtable_remove(t, 0x4000, NULL), 1);

    /* An incref of an unknown object creates it, flagged late; without a
     * counter field the count comes from events. */
    rs_obj_info_t ev_info = { .type_id = 1, .hook = 2 };
    e = ev(RS_REF_INCREF, 6);
    assert_int_equal(rs_objtable_record(t, 0x2000, &ev_info, &e, NULL, &o),
                     RS_OBJ_CREATED);
    assert_int_equal(o.flags, RS_OBJ_SEEN_LATE | RS_OBJ_RC_FROM_EVENTS);
    assert_null(o.hist.events);
    /* No info: an unknown incref is not tracked. */
    assert_int_equal(rs_objtable_record(t, 0x3000, NULL, &e, NULL, &o), RS_OBJ_UNTRACKED);
    /* Bad arguments. */
    assert_int_equal(rs_objtable_record(t, 0, &info, &e, NULL, &o), RS_OBJ_UNTRACKED);
    rs_ref_event_t bad = e;
    bad.op = 9;
    assert_int_equal(rs_objtable_record(t, 0x1000, &info, &bad, NULL, &o), RS_OBJ_UNTRACKED);
    assert_int_equal(rs_objtable_count(t), 2);
    assert_true(rs_objtable_bytes(t, NULL) > 2 * sizeof(rs_obj_t));

    /* Remove hands the history over. */
    assert_int_equal(rs_objtable_remove(t, 0x1000, &o), 1);
    assert_non_null(o.hist.events);
    assert_int_equal(o.hist.n, 3);
    rs_refhist_free(&o.hist);
    assert_int_equal(rs_objtable_remove(t, 0x1000, &o), 0);
    assert_int_equal(rs_objtable_lookup(t, 0x1000, &o), 0);
    assert_int_equal(rs_objtable_lookup(t, 0x2000, &o), 1);
    assert_int_equal(rs_objtable_remove(t, 0x2000, NULL), 1);
    assert_int_equal(rs_objtable_count(t), 0);
    rs_objtable_destroy(t);
    rs_objtable_destroy(NULL);
}

/* A nested ctor (a hooked constructor calling another) is recorded once,
 * with the outer call's stack; a ctor of a released events-kept object
 * (a library's pool handing it out again) starts a new life; with a
 * counter field the count is read from the object, so a ctor on a tracked
 * object is always a duplicate. */
static void test_ctor_rules(void **state)
{
    rs_objtable_t *t = rs_objtable_create();
    rs_obj_info_t events = { .type_id = 1, .hook = 2 };
    rs_obj_info_t field = { .type_id = 1, .rc_offset = 0, .rc_width = 4, .hook = 2 };
    rs_obj_t o;
    rs_ref_event_t outer = ev(RS_REF_CTOR, 11);       /* entered first    */
    rs_ref_event_t e = ev(RS_REF_CTOR, 10);          /* inner ctor       */
    assert_int_equal(rs_objtable_record(t, 0x1000, &events, &e, &with_history, &o),
                     RS_OBJ_CREATED);
    e = outer;                                        /* outer returns    */
    assert_int_equal(rs_objtable_record(t, 0x1000, &events, &e, &with_history, &o),
                     RS_OBJ_DUP_CTOR);
    assert_int_equal(o.event_count, 1);
    assert_int_equal(o.hist.n, 1);
    assert_int_equal(o.hist.events[0].stack_id, 11);
    e = ev(RS_REF_INCREF, 12);
    rs_objtable_record(t, 0x1000, &events, &e, &with_history, &o);
    e = ev(RS_REF_CTOR, 13);      /* not right after the ctor: no rewrite */
    assert_int_equal(rs_objtable_record(t, 0x1000, &events, &e, &with_history, &o),
                     RS_OBJ_DUP_CTOR);
    assert_int_equal(o.hist.n, 2);
    assert_int_equal(o.hist.events[0].stack_id, 11);
    assert_int_equal(o.hist.events[1].stack_id, 12);
    for (uint32_t k = 0; k < 2; k++) {
        e = ev(RS_REF_DECREF, 14);
        rs_objtable_record(t, 0x1000, &events, &e, &with_history, &o);
    }
    assert_int_equal(o.event_count, 0);
    e = ev(RS_REF_CTOR, 15);                          /* recycled          */
    assert_int_equal(rs_objtable_record(t, 0x1000, &events, &e, &with_history, &o),
                     RS_OBJ_UPDATED);
    assert_int_equal(o.event_count, 1);
    assert_int_equal(o.hist.n, 5);
    assert_int_equal(o.hist.events[4].op, RS_REF_CTOR);
    assert_int_equal(o.hist.events[4].stack_id, 15);
    /* Counter field: released, then a ctor: still a duplicate. */
    e = ev(RS_REF_CTOR, 20);
    rs_objtable_record(t, 0x2000, &field, &e, &with_history, &o);
    e = ev(RS_REF_DECREF, 21);
    rs_objtable_record(t, 0x2000, &field, &e, &with_history, &o);
    assert_int_equal(o.event_count, 0);
    e = ev(RS_REF_CTOR, 22);
    assert_int_equal(rs_objtable_record(t, 0x2000, &field, &e, &with_history, &o),
                     RS_OBJ_DUP_CTOR);
    assert_int_equal(o.event_count, 0);
    assert_int_equal(o.hist.events[0].stack_id, 20);
    rs_objtable_destroy(t);
}

/* The annotation-order rule (objtable.h): a held decref is ended by the
 * next event (a real underflow, handed back), survives until the free
 * (the wrong order: the removed object says so), or is ended by
 * rs_objtable_end_holds. */
static void count_holds(const rs_obj_t *o, const rs_ref_event_t *held, void *arg)
{
    uint32_t *stacks = arg;
    assert_false(o->flags & RS_OBJ_HELD);
    assert_int_equal(held->op, RS_REF_DECREF);
    stacks[o->addr == 0x2000 ? 0 : 1] = held->stack_id;
}

/* Two stacks of one function at one depth (rule 0 of the pairing rule,
 * refhistory.h): ids 1 and 2, frames innermost first. */
static const uint64_t rule0_frames[2][3] = { { 0x101, 0x200, 0x300 }, { 0x102, 0x200, 0x300 } };

static int rule0_stack(void *ctx, uint32_t id, rs_stack_t *out)
{
    (void)ctx;
    if (id < 1 || id > 2)
        return -1;
    out->epoch = 0;
    out->n_frames = 3;
    out->pcs = rule0_frames[id - 1];
    return 0;
}

/* A held decref stays in the history even where rule 0 would pair it
 * with the incref before it, so that the event it ended has its stack;
 * a decref not held is paired away, and RS_OBJ_LAST_DECREF still says
 * that the latest event was a decref. */
static void test_hold_keeps_rule0_decref(void **state)
{
    (void)state;
    rs_objtable_t *t = rs_objtable_create();
    rs_obj_info_t info = { .type_id = 1, .rc_width = 4, .hook = UINT16_MAX };
    rs_refhist_stacks_t stacks = { rule0_stack, NULL, 0 };
    rs_ref_event_t ended = { .op = 9 };
    rs_objtable_opts_t plain = { 1, 0, &stacks, 0, &ended };
    rs_objtable_opts_t hold = { 1, 0, &stacks, 1, &ended };
    rs_obj_t o;
    rs_ref_event_t e = ev(RS_REF_CTOR, 1);
    rs_objtable_record(t, 0x1000, &info, &e, &plain, &o);
    e = ev(RS_REF_INCREF, 1);
    rs_objtable_record(t, 0x1000, &info, &e, &plain, &o);
    e = ev(RS_REF_DECREF, 2);
    rs_objtable_record(t, 0x1000, &info, &e, &plain, &o);
    assert_int_equal(o.hist.n, 1);                       /* paired away */
    /* The latest event is still known to be a decref (a free right after
     * it is the final release), though the history ends with the ctor. */
    assert_true(o.flags & RS_OBJ_LAST_DECREF);
    assert_int_equal(o.hist.events[0].op, RS_REF_CTOR);
    e = ev(RS_REF_INCREF, 1);
    rs_objtable_record(t, 0x1000, &info, &e, &plain, &o);
    assert_false(o.flags & RS_OBJ_LAST_DECREF);
    e = ev(RS_REF_DECREF, 2);
    rs_objtable_record(t, 0x1000, &info, &e, &hold, &o);
    assert_int_equal(o.hist.n, 3);                       /* kept, held */
    assert_true(o.flags & RS_OBJ_HELD);
    e = ev(RS_REF_DECREF, 1);
    rs_objtable_record(t, 0x1000, &info, &e, &plain, &o);
    assert_int_equal(ended.op, RS_REF_DECREF);
    assert_int_equal(ended.stack_id, 2);
    rs_objtable_destroy(t);
}

static void test_hold_rules(void **state)
{
    rs_objtable_t *t = rs_objtable_create();
    rs_obj_info_t info = { .type_id = 1, .rc_width = 4, .hook = UINT16_MAX };
    rs_ref_event_t ended = { .op = 9 };
    rs_objtable_opts_t plain = { 1, 0, NULL, 0, &ended };
    rs_objtable_opts_t hold = { 1, 0, NULL, 1, &ended };
    rs_obj_t o;
    /* Wrong order: ctor, held decref, free. */
    rs_ref_event_t e = ev(RS_REF_CTOR, 1);
    rs_objtable_record(t, 0x1000, &info, &e, &plain, &o);
    assert_int_equal(ended.op, 0);
    e = ev(RS_REF_DECREF, 2);
    assert_int_equal(rs_objtable_record(t, 0x1000, &info, &e, &hold, &o), RS_OBJ_UPDATED);
    assert_true(o.flags & RS_OBJ_HELD);
    assert_int_equal(ended.op, 0);
    assert_int_equal(rs_objtable_declare(t, 0x1000, &info), 0);   /* kept */
    assert_int_equal(rs_objtable_remove(t, 0x1000, &o), 1);
    assert_true(o.flags & RS_OBJ_HELD);
    rs_refhist_free(&o.hist);
    /* Real underflow: the held decref is ended by the next event. */
    e = ev(RS_REF_CTOR, 3);
    rs_objtable_record(t, 0x1000, &info, &e, &plain, &o);
    e = ev(RS_REF_DECREF, 4);
    rs_objtable_record(t, 0x1000, &info, &e, &plain, &o);
    e = ev(RS_REF_DECREF, 5);
    rs_objtable_record(t, 0x1000, &info, &e, &hold, &o);
    e = ev(RS_REF_DECREF, 6);
    assert_int_equal(rs_objtable_record(t, 0x1000, &info, &e, &plain, &o), RS_OBJ_UPDATED);
    assert_false(o.flags & RS_OBJ_HELD);
    assert_int_equal(ended.op, RS_REF_DECREF);
    assert_int_equal(ended.stack_id, 5);
    e = ev(RS_REF_INCREF, 7);           /* nothing held any more */
    rs_objtable_record(t, 0x1000, &info, &e, &plain, &o);
    assert_int_equal(ended.op, 0);
    /* A held decref ended by an incref; a hold needs a decref. */
    e = ev(RS_REF_INCREF, 8);
    rs_objtable_record(t, 0x1000, &info, &e, &hold, &o);
    assert_false(o.flags & RS_OBJ_HELD);
    e = ev(RS_REF_DECREF, 9);
    rs_objtable_record(t, 0x1000, &info, &e, &hold, &o);
    e = ev(RS_REF_INCREF, 10);
    rs_objtable_record(t, 0x1000, &info, &e, &plain, &o);
    assert_int_equal(ended.stack_id, 9);
    /* Without history the held decref has no stack. */
    rs_objtable_opts_t bare_hold = { 0, 0, NULL, 1, &ended };
    rs_objtable_opts_t bare = { 0, 0, NULL, 0, &ended };
    e = ev(RS_REF_CTOR, 11);
    rs_objtable_record(t, 0x3000, &info, &e, &bare, &o);
    e = ev(RS_REF_DECREF, 12);
    rs_objtable_record(t, 0x3000, &info, &e, &bare_hold, &o);
    e = ev(RS_REF_DECREF, 13);
    rs_objtable_record(t, 0x3000, &info, &e, &bare, &o);
    assert_int_equal(ended.op, RS_REF_DECREF);
    assert_int_equal(ended.stack_id, 0);
    /* Holds left at an analysis: ended in batches of at most max. */
    e = ev(RS_REF_CTOR, 14);
    rs_objtable_record(t, 0x2000, &info, &e, &plain, &o);
    e = ev(RS_REF_DECREF, 15);
    rs_objtable_record(t, 0x2000, &info, &e, &hold, &o);
    e = ev(RS_REF_DECREF, 16);
    rs_objtable_record(t, 0x1000, &info, &e, &hold, &o);
    uint32_t stacks[2] = { 0, 0 };
    assert_int_equal(rs_objtable_end_holds(t, 1, count_holds, stacks), 1);
    assert_int_equal(rs_objtable_end_holds(t, 8, count_holds, stacks), 1);
    assert_int_equal(stacks[0], 15);
    assert_int_equal(stacks[1], 16);
    assert_int_equal(rs_objtable_end_holds(t, 8, count_holds, stacks), 0);
    assert_int_equal(rs_objtable_lookup(t, 0x2000, &o), 1);
    assert_false(o.flags & RS_OBJ_HELD);
    rs_objtable_destroy(t);
}

static void test_declare(void **state)
{
    rs_objtable_t *t = rs_objtable_create();
    rs_obj_info_t a = { .type_id = 1, .rc_offset = 0, .rc_width = 8, .hook = UINT16_MAX };
    rs_obj_info_t b = { .type_id = 2, .rc_offset = 16, .rc_width = 2 };
    rs_obj_t o;
    assert_int_equal(rs_objtable_declare(t, 0x5000, &a), 1);
    assert_int_equal(rs_objtable_lookup(t, 0x5000, &o), 1);
    assert_int_equal(o.flags, RS_OBJ_SEEN_LATE);
    rs_ref_event_t e = ev(RS_REF_INCREF, 1);
    rs_objtable_record(t, 0x5000, NULL, &e, &with_history, NULL);
    assert_int_equal(rs_objtable_declare(t, 0x5000, &b), 0);
    assert_int_equal(rs_objtable_lookup(t, 0x5000, &o), 1);
    assert_int_equal(o.type_id, 2);
    assert_int_equal(o.rc_offset, 16);
    assert_int_equal(o.rc_width, 2);
    assert_int_equal(o.event_count, 1);          /* kept */
    assert_int_equal(o.hist.n, 1);              /* kept */
    assert_int_equal(o.flags, RS_OBJ_SEEN_LATE);
    assert_int_equal(rs_objtable_declare(t, 0, &a), -1);
    assert_int_equal(rs_objtable_declare(t, 0x6000, NULL), -1);
    rs_objtable_destroy(t);
}

/* A block moved by realloc: remove at the old address, insert the same
 * record at the new one; type, counter, count and history follow. */
static void test_insert_moves_record(void **state)
{
    rs_objtable_t *t = rs_objtable_create();
    rs_obj_info_t info = { .type_id = 4, .rc_offset = 8, .rc_width = 4, .rc_signed = 1 };
    rs_ref_event_t e = ev(RS_REF_CTOR, 1);
    rs_objtable_record(t, 0x7000, &info, &e, &with_history, NULL);
    e = ev(RS_REF_INCREF, 2);
    rs_objtable_record(t, 0x7000, NULL, &e, &with_history, NULL);
    rs_obj_t o, moved;
    assert_int_equal(rs_objtable_remove(t, 0x7000, &o), 1);
    o.addr = 0x9000;
    assert_int_equal(rs_objtable_insert(t, &o), 1);
    assert_int_equal(rs_objtable_count(t), 1);
    assert_int_equal(rs_objtable_lookup(t, 0x7000, NULL), 0);
    assert_int_equal(rs_objtable_lookup(t, 0x9000, &moved), 1);
    assert_int_equal(moved.type_id, 4);
    assert_int_equal(moved.rc_offset, 8);
    assert_int_equal(moved.rc_width, 4);
    assert_int_equal(moved.flags, RS_OBJ_RC_SIGNED);
    assert_int_equal(moved.event_count, 2);
    assert_ptr_equal(moved.hist.events, o.hist.events);
    assert_int_equal(moved.hist.n, 2);
    /* A decref at the new address is an update, not an untracked object. */
    e = ev(RS_REF_DECREF, 3);
    assert_int_equal(rs_objtable_record(t, 0x9000, NULL, &e, &with_history, &moved),
                     RS_OBJ_UPDATED);
    assert_int_equal(moved.event_count, 1);
    assert_int_equal(moved.hist.n, 3);
    /* A stale record at the target is replaced (its history freed). */
    e = ev(RS_REF_CTOR, 4);
    rs_objtable_record(t, 0xA000, &info, &e, &with_history, NULL);
    assert_int_equal(rs_objtable_remove(t, 0x9000, &o), 1);
    o.addr = 0xA000;
    assert_int_equal(rs_objtable_insert(t, &o), 0);
    assert_int_equal(rs_objtable_count(t), 1);
    assert_int_equal(rs_objtable_lookup(t, 0xA000, &moved), 1);
    assert_int_equal(moved.event_count, 1);
    assert_int_equal(moved.hist.n, 3);
    o.addr = 0;
    assert_int_equal(rs_objtable_insert(t, &o), -1);
    assert_int_equal(rs_objtable_insert(NULL, &o), -1);
    rs_objtable_destroy(t);
}

static void count_cb(const rs_obj_t *o, void *arg)
{
    uint64_t *sum = arg;
    sum[0]++;
    sum[1] += o->addr;
}

/* Random inserts and removals, checked against a plain array. */
static void test_differential(void **state)
{
    enum { N = 3000 };
    static uint8_t present[N];
    static int32_t counts[N];
    memset(present, 0, sizeof present);
    memset(counts, 0, sizeof counts);
    rs_objtable_t *t = rs_objtable_create();
    rs_obj_info_t info = { .type_id = 1 };
    srand(11);
    for (int step = 0; step < 60000; step++) {
        uint32_t k = (uint32_t)rand() % N;
        uint64_t addr = 0x10000 + (uint64_t)k * 16;
        int what = rand() % 4;
        rs_obj_t o;
        if (what == 0) {
            assert_int_equal(rs_objtable_remove(t, addr, &o), present[k]);
            if (present[k])
                assert_int_equal(o.event_count, counts[k]);
            present[k] = 0;
        } else {
            rs_ref_event_t e = ev(what == 1 ? RS_REF_CTOR : what == 2 ? RS_REF_INCREF
                                                                      : RS_REF_DECREF, 0);
            rs_obj_result_t r = rs_objtable_record(t, addr, &info, &e, NULL, &o);
            if (!present[k]) {
                assert_int_equal(r, what == 3 ? RS_OBJ_UNTRACKED : RS_OBJ_CREATED);
                present[k] = what != 3;
                counts[k] = what != 3;
            } else if (what == 1 && counts[k] > 0) {
                assert_int_equal(r, RS_OBJ_DUP_CTOR);
            } else if (what == 1) {     /* released, counted from events:
                                           recycled, a new life */
                assert_int_equal(r, RS_OBJ_UPDATED);
                counts[k] += 1;
                assert_int_equal(o.event_count, counts[k]);
            } else {
                assert_int_equal(r, RS_OBJ_UPDATED);
                counts[k] += what == 2 ? 1 : -1;
                assert_int_equal(o.event_count, counts[k]);
            }
        }
    }
    uint64_t expect[2] = { 0, 0 }, got[2] = { 0, 0 };
    for (uint32_t k = 0; k < N; k++) {
        rs_obj_t o;
        uint64_t addr = 0x10000 + (uint64_t)k * 16;
        assert_int_equal(rs_objtable_lookup(t, addr, &o), present[k]);
        if (present[k]) {
            expect[0]++;
            expect[1] += addr;
            assert_int_equal(o.event_count, counts[k]);
        }
    }
    rs_objtable_foreach(t, count_cb, got);
    assert_int_equal(got[0], expect[0]);
    assert_int_equal(got[1], expect[1]);
    assert_int_equal(rs_objtable_count(t), expect[0]);
    rs_objtable_destroy(t);
}

typedef struct worker {
    rs_objtable_t *t;
    int            id;
} worker_t;

static void *hammer(void *arg)
{
    worker_t *w = arg;
    rs_obj_info_t info = { .type_id = 1 };
    for (int round = 0; round < 2000; round++) {
        /* 8 shared objects: +1 -1 per round each; private ones: create,
         * incref, remove. */
        for (uint64_t s = 0; s < 8; s++) {
            rs_ref_event_t e = ev(RS_REF_INCREF, (uint32_t)w->id);
            rs_objtable_record(w->t, 0x100 + s * 16, &info, &e, &with_history, NULL);
            e = ev(RS_REF_DECREF, (uint32_t)w->id);
            rs_objtable_record(w->t, 0x100 + s * 16, &info, &e, &with_history, NULL);
        }
        uint64_t mine = 0x1000000ull * (uint64_t)(w->id + 1) + (uint64_t)round * 32;
        rs_ref_event_t e = ev(RS_REF_CTOR, 0);
        rs_objtable_record(w->t, mine, &info, &e, NULL, NULL);
        if (round % 2)
            rs_objtable_remove(w->t, mine, NULL);
    }
    return NULL;
}

static void test_threads(void **state)
{
    rs_objtable_t *t = rs_objtable_create();
    rs_obj_info_t info = { .type_id = 1 };
    rs_objtable_opts_t opts = { 1, 64, NULL, 0, NULL };
    for (uint64_t s = 0; s < 8; s++) {
        rs_ref_event_t e = ev(RS_REF_CTOR, 0);
        rs_objtable_record(t, 0x100 + s * 16, &info, &e, &opts, NULL);
    }
    pthread_t th[4];
    worker_t w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker_t){ t, i };
        pthread_create(&th[i], NULL, hammer, &w[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(rs_objtable_count(t), 8 + 4 * 1000);
    for (uint64_t s = 0; s < 8; s++) {
        rs_obj_t o;
        assert_int_equal(rs_objtable_lookup(t, 0x100 + s * 16, &o), 1);
        assert_int_equal(o.event_count, 1);
        assert_int_equal(rs_refhist_net(&o.hist), 1);
        assert_int_equal(o.hist.n, 1 + 2 * 4 * 2000);
    }
    rs_objtable_destroy(t);
}

/* ---- events without the shard lock against layout changes ------------ */

#define RACE_OBJS    64      /* per event thread, its own                 */
#define RACE_ROUNDS  3000
#define RACE_THREADS 3

typedef struct race {
    rs_objtable_t *t;
    int            id;
    _Atomic int   *stop;
} race_t;

/* The next address from *at on (16-byte steps) in the table's shard 0,
 * as objtable.c picks shards (the top bits of a multiplicative hash): the
 * test puts every object in one shard, so that the other thread's
 * records placed and removed move the events' records all the time. */
static uint64_t next_in_shard0(uint64_t *at)
{
    while ((*at * 0x9E3779B97F4A7C15ull) >> 58 != 0)
        *at += 16;
    uint64_t a = *at;
    *at += 16;
    return a;
}

static uint64_t race_objs[RACE_THREADS][RACE_OBJS];

static uint64_t race_addr(int thread, int k) { return race_objs[thread][k]; }

/* Increfs and decrefs its own objects (the fast path), one more incref than
 * decref each round, and looks them up now and then. */
static void *race_events(void *arg)
{
    race_t *r = arg;
    rs_obj_info_t info = { .type_id = 2 };
    for (int round = 0; round < RACE_ROUNDS; round++) {
        for (int k = 0; k < RACE_OBJS; k++) {
            rs_ref_event_t e = ev(RS_REF_INCREF, (uint32_t)k);
            rs_objtable_record(r->t, race_addr(r->id, k), &info, &e, &with_history, NULL);
            if (round % 2) {
                e = ev(RS_REF_DECREF, (uint32_t)k);
                rs_objtable_record(r->t, race_addr(r->id, k), &info, &e, &with_history, NULL);
            }
        }
        rs_obj_t o;
        assert_int_equal(rs_objtable_lookup(r->t, race_addr(r->id, round % RACE_OBJS), &o), 1);
        assert_false(o.flags & 0x80);
    }
    return NULL;
}

/* Meanwhile: objects created and removed in every shard, a growing
 * number of them (arrays grown and retired under the events, records
 * placed, and moved back by deletions), the byte count, and
 * lock_all/unlock_all as an analysis or a fork takes them. */
static void *race_layout(void *arg)
{
    race_t *r = arg;
    rs_obj_info_t info = { .type_id = 3 };
    static uint64_t made[2][256];
    uint64_t at = 0x40000000ull;
    for (uint64_t round = 0; !atomic_load(r->stop); round++) {
        uint64_t *now = made[round % 2], *before = made[(round + 1) % 2];
        for (int k = 0; k < 256; k++) {
            now[k] = next_in_shard0(&at);
            rs_ref_event_t e = ev(RS_REF_CTOR, 0);
            rs_objtable_record(r->t, now[k], &info, &e, NULL, NULL);
        }
        for (int k = 0; round && k < 256; k += 2)
            rs_objtable_remove(r->t, before[k], NULL);
        uint64_t history;
        assert_true(rs_objtable_bytes(r->t, &history) > history);
        if (round % 4 == 0) {
            rs_objtable_lock_all(r->t);
            rs_objtable_unlock_all(r->t);
        }
    }
    return NULL;
}

static void count_race(const rs_obj_t *o, void *arg)
{
    if (o->type_id == 2)
        ++*(uint64_t *)arg;
}

static void test_race_layout_changes(void **state)
{
    rs_objtable_t *t = rs_objtable_create();
    uint64_t at = 0x7000000ull;
    for (int i = 0; i < RACE_THREADS; i++)
        for (int k = 0; k < RACE_OBJS; k++)
            race_objs[i][k] = next_in_shard0(&at);
    _Atomic int stop = 0;
    pthread_t th[RACE_THREADS + 1];
    race_t r[RACE_THREADS + 1];
    for (int i = 0; i <= RACE_THREADS; i++) {
        r[i] = (race_t){ t, i, &stop };
        pthread_create(&th[i], NULL, i == RACE_THREADS ? race_layout : race_events, &r[i]);
    }
    for (int i = 0; i < RACE_THREADS; i++)
        pthread_join(th[i], NULL);
    atomic_store(&stop, 1);
    pthread_join(th[RACE_THREADS], NULL);
    /* Every event counted once, on the right object, in its history. */
    for (int i = 0; i < RACE_THREADS; i++)
        for (int k = 0; k < RACE_OBJS; k++) {
            rs_obj_t o;
            assert_int_equal(rs_objtable_lookup(t, race_addr(i, k), &o), 1);
            assert_int_equal(o.event_count, RACE_ROUNDS / 2);
            assert_int_equal(o.hist.n, RACE_ROUNDS + RACE_ROUNDS / 2);
            assert_int_equal(o.type_id, 2);
        }
    uint64_t n = 0;
    rs_objtable_foreach(t, count_race, &n);
    assert_int_equal(n, RACE_THREADS * RACE_OBJS);
    rs_objtable_destroy(t);
}

/* Objects removed and made again while other threads' events hit them:
 * every incref recorded (created or updated) must end up in exactly one
 * history, of a record removed or of one left at the end - none lost to a
 * record being placed or moved meanwhile. */
#define CONTESTED 64

typedef struct contest {
    rs_objtable_t   *t;
    const uint64_t  *addrs;
    _Atomic int     *stop;
    uint64_t         recorded;     /* increfs that were recorded          */
    uint64_t         removed;      /* events in the histories removed     */
    int              remover;
} contest_t;

static void *contest_thread(void *arg)
{
    contest_t *c = arg;
    rs_obj_info_t info = { .type_id = 4 };
    uint64_t seed = 0x9E3779B97F4A7C15ull * (uint64_t)(c->remover + 7);
    for (int round = 0; c->remover ? !atomic_load(c->stop) : round < 200000; round++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        uint64_t addr = c->addrs[seed % CONTESTED];
        if (c->remover && round % 3 == 0) {
            rs_obj_t o;
            if (rs_objtable_remove(c->t, addr, &o)) {
                c->removed += o.hist.n;
                rs_refhist_free(&o.hist);
            }
            continue;
        }
        rs_ref_event_t e = ev(RS_REF_INCREF, 1);
        rs_obj_result_t r = rs_objtable_record(c->t, addr, &info, &e, &with_history, NULL);
        assert_true(r == RS_OBJ_CREATED || r == RS_OBJ_UPDATED);
        c->recorded++;
    }
    return NULL;
}

static void sum_hist(const rs_obj_t *o, void *arg)
{
    *(uint64_t *)arg += o->hist.n;
}

static void test_race_contested(void **state)
{
    rs_objtable_t *t = rs_objtable_create();
    uint64_t addrs[CONTESTED], at = 0x9000000ull;
    for (int k = 0; k < CONTESTED; k++)
        addrs[k] = next_in_shard0(&at);
    _Atomic int stop = 0;
    contest_t c[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        c[i] = (contest_t){ t, addrs, &stop, 0, 0, i == 2 };
        pthread_create(&th[i], NULL, contest_thread, &c[i]);
    }
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
    atomic_store(&stop, 1);
    pthread_join(th[2], NULL);
    uint64_t left = 0;
    rs_objtable_foreach(t, sum_hist, &left);
    assert_int_equal(c[0].recorded + c[1].recorded + c[2].recorded,
                     c[2].removed + left);
    rs_objtable_destroy(t);
}

static int fail_alloc;
static void *fake_alloc(size_t n) { return fail_alloc ? NULL : malloc(n); }
static void *fake_calloc(size_t n, size_t s) { return fail_alloc ? NULL : calloc(n, s); }
static void *fake_realloc(void *p, size_t n) { return fail_alloc ? NULL : realloc(p, n); }
static void fake_free(void *p) { free(p); }
static int fake_may_map(size_t n) { (void)n; return !fail_alloc; }   /* the shards' slots */

static void test_out_of_memory(void **state)
{
    rs_mem_backend_t b = { fake_alloc, fake_calloc, fake_realloc, fake_free, fake_may_map };
    rs_mem_set_backend(&b);
    rs_objtable_t *t = rs_objtable_create();
    rs_typetable_t *tt = rs_typetable_create();
    rs_obj_info_t info = { .type_id = 1 };
    rs_obj_t o;
    fail_alloc = 1;
    rs_ref_event_t e = ev(RS_REF_CTOR, 0);
    assert_int_equal(rs_objtable_record(t, 0x100, &info, &e, NULL, &o), RS_OBJ_ERROR);
    assert_int_equal(rs_objtable_count(t), 0);
    assert_int_equal(rs_objtable_declare(t, 0x100, &info), -1);
    rs_obj_t moved = { .addr = 0x200, .type_id = 1 };
    assert_int_equal(rs_objtable_insert(t, &moved), -1);
    assert_int_equal(rs_objtable_count(t), 0);
    assert_int_equal(rs_typetable_intern(tt, "X"), 0);
    assert_int_equal(rs_typetable_count(tt), 0);
    fail_alloc = 0;
    assert_int_equal(rs_objtable_record(t, 0x100, &info, &e, NULL, &o), RS_OBJ_CREATED);
    /* History allocation fails: the count still moves, ERROR is returned. */
    fail_alloc = 1;
    e = ev(RS_REF_INCREF, 0);
    assert_int_equal(rs_objtable_record(t, 0x100, &info, &e, &with_history, &o),
                     RS_OBJ_ERROR);
    assert_int_equal(o.event_count, 2);
    assert_null(o.hist.events);
    assert_null(rs_objtable_create());
    assert_null(rs_typetable_create());
    fail_alloc = 0;
    rs_mem_set_backend(NULL);
    rs_objtable_destroy(t);
    rs_typetable_destroy(tt);
}

static void test_typetable(void **state)
{
    rs_typetable_t *tt = rs_typetable_create();
    assert_int_equal(rs_typetable_intern(tt, "GObject"), 1);
    assert_int_equal(rs_typetable_intern(tt, "GstBuffer"), 2);
    assert_int_equal(rs_typetable_intern(tt, "GObject"), 1);
    assert_int_equal(rs_typetable_intern(tt, NULL), 0);
    assert_int_equal(rs_typetable_intern(tt, ""), 0);
    assert_string_equal(rs_typetable_name(tt, 2), "GstBuffer");
    assert_null(rs_typetable_name(tt, 0));
    assert_null(rs_typetable_name(tt, 3));
    char name[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "Type%d", i);
        assert_int_equal(rs_typetable_intern(tt, name), (uint32_t)i + 3);
    }
    for (int i = 999; i >= 0; i--) {
        snprintf(name, sizeof name, "Type%d", i);
        assert_int_equal(rs_typetable_intern(tt, name), (uint32_t)i + 3);
        assert_string_equal(rs_typetable_name(tt, (uint32_t)i + 3), name);
    }
    assert_int_equal(rs_typetable_count(tt), 1002);
    assert_int_equal(rs_typetable_count(NULL), 0);
    rs_typetable_destroy(tt);
    rs_typetable_destroy(NULL);
}

/* The prefetch hints name the slots a record is in: its home slot, or the
 * next one when another record took that first. */
static void test_prefetch_near(void **state)
{
    (void)state;
    rs_objtable_t *t = rs_objtable_create();
    rs_obj_info_t info = { .type_id = 3, .rc_width = 4, .hook = 1 };
    rs_ref_event_t e = ev(RS_REF_CTOR, 1);
    assert_null(rs_objtable_prefetch(t, 0x1000).home);      /* no slots yet */
    rs_objtable_prefetch_history(rs_objtable_prefetch(t, 0x1000), 0x1000);
    assert_null(rs_objtable_prefetch(NULL, 0x1000).home);
    assert_int_equal(rs_objtable_record(t, 0x1000, &info, &e, &with_history, NULL),
                     RS_OBJ_CREATED);
    rs_objtable_near_t a = rs_objtable_prefetch(t, 0x1000);
    assert_non_null(a.home);
    assert_int_equal(a.home->addr, 0x1000);
    /* An address with the same home slot goes to the next one. */
    uint64_t b = 0;
    for (uint64_t cand = 0x2000; cand < 0x2000 + (16ull << 24) && !b; cand += 16)
        if (rs_objtable_prefetch(t, cand).home == a.home)
            b = cand;
    assert_true(b != 0);
    assert_int_equal(rs_objtable_record(t, b, &info, &e, &with_history, NULL),
                     RS_OBJ_CREATED);
    rs_objtable_near_t nb = rs_objtable_prefetch(t, b);
    assert_ptr_equal(nb.home, a.home);
    assert_int_equal(nb.home->addr, 0x1000);
    assert_int_equal(nb.next->addr, b);
    rs_objtable_prefetch_history(nb, b);     /* a hint: nothing to see */
    rs_objtable_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_rules),
        cmocka_unit_test(test_ctor_rules),
        cmocka_unit_test(test_hold_rules),
        cmocka_unit_test(test_hold_keeps_rule0_decref),
        cmocka_unit_test(test_declare),
        cmocka_unit_test(test_insert_moves_record),
        cmocka_unit_test(test_differential),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_race_layout_changes),
        cmocka_unit_test(test_race_contested),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_typetable),
        cmocka_unit_test(test_prefetch_near),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
