/*
 * test_objtable.c - unit tests of lib/model/objtable.c: event recording rules
 * (create by ctor/incref, duplicate ctor, untracked decref), declare,
 * remove with history hand-over, a differential test of the sharded hash
 * table against a plain array under random inserts and removals, threads
 * hammering shared objects, allocation failure, and type-name interning.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "objtable.h"
#include "rs_mem.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const rs_objtable_opts_t with_history = { 1, 0, NULL };

static rs_ref_event_t ev(rs_ref_op_t op, uint32_t stack)
{
    rs_ref_event_t e = { stack, rs_refhist_next_seq(), 0, (uint8_t)op, 0 };
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
    e = ev(RS_REF_CTOR, 3);     /* nested constructor: ignored */
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
    assert_int_equal(o.hist->n, 3);
    assert_int_equal(o.hist->events[0].stack_id, 2);
    assert_int_equal(o.hist->events[2].op, RS_REF_DECREF);

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
    assert_int_equal(o.hist->n, 2);
    assert_int_equal(o.hist->events[0].op, RS_REF_CTOR);
    assert_int_equal(o.hist->events[0].stack_id, 8);
    assert_int_equal(rs_objtable_remove(t, 0x4000, NULL), 1);

    /* An incref of an unknown object creates it, flagged late; without a
     * counter field the count comes from events. */
    rs_obj_info_t ev_info = { .type_id = 1, .hook = 2 };
    e = ev(RS_REF_INCREF, 6);
    assert_int_equal(rs_objtable_record(t, 0x2000, &ev_info, &e, NULL, &o),
                     RS_OBJ_CREATED);
    assert_int_equal(o.flags, RS_OBJ_SEEN_LATE | RS_OBJ_RC_FROM_EVENTS);
    assert_null(o.hist);
    /* No info: an unknown incref is not tracked. */
    assert_int_equal(rs_objtable_record(t, 0x3000, NULL, &e, NULL, &o), RS_OBJ_UNTRACKED);
    /* Bad arguments. */
    assert_int_equal(rs_objtable_record(t, 0, &info, &e, NULL, &o), RS_OBJ_UNTRACKED);
    rs_ref_event_t bad = e;
    bad.op = 9;
    assert_int_equal(rs_objtable_record(t, 0x1000, &info, &bad, NULL, &o), RS_OBJ_UNTRACKED);
    assert_int_equal(rs_objtable_count(t), 2);
    assert_true(rs_objtable_bytes(t) > 2 * sizeof(rs_obj_t));

    /* Remove hands the history over. */
    assert_int_equal(rs_objtable_remove(t, 0x1000, &o), 1);
    assert_non_null(o.hist);
    assert_int_equal(o.hist->n, 3);
    rs_refhist_free(o.hist);
    assert_int_equal(rs_objtable_remove(t, 0x1000, &o), 0);
    assert_int_equal(rs_objtable_lookup(t, 0x1000, &o), 0);
    assert_int_equal(rs_objtable_lookup(t, 0x2000, &o), 1);
    assert_int_equal(rs_objtable_remove(t, 0x2000, NULL), 1);
    assert_int_equal(rs_objtable_count(t), 0);
    rs_objtable_destroy(t);
    rs_objtable_destroy(NULL);
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
    assert_int_equal(o.hist->n, 1);              /* kept */
    assert_int_equal(o.flags, RS_OBJ_SEEN_LATE);
    assert_int_equal(rs_objtable_declare(t, 0, &a), -1);
    assert_int_equal(rs_objtable_declare(t, 0x6000, NULL), -1);
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
            } else if (what == 1) {
                assert_int_equal(r, RS_OBJ_DUP_CTOR);
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
    rs_objtable_opts_t opts = { 1, 64, NULL };
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
        assert_int_equal(rs_refhist_net(o.hist), 1);
        assert_int_equal(o.hist->n, 1 + 2 * 4 * 2000);
    }
    rs_objtable_destroy(t);
}

static int fail_alloc;
static void *fake_alloc(size_t n) { return fail_alloc ? NULL : malloc(n); }
static void *fake_calloc(size_t n, size_t s) { return fail_alloc ? NULL : calloc(n, s); }
static void *fake_realloc(void *p, size_t n) { return fail_alloc ? NULL : realloc(p, n); }
static void fake_free(void *p) { free(p); }

static void test_out_of_memory(void **state)
{
    rs_mem_backend_t b = { fake_alloc, fake_calloc, fake_realloc, fake_free };
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
    assert_null(o.hist);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_rules),
        cmocka_unit_test(test_declare),
        cmocka_unit_test(test_differential),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_typetable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
