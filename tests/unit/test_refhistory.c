/*
 * test_refhistory.c - unit tests of lib/model/refhistory.c: the pairing rule case
 * by case (leaf-only differences, borrow_wrong, thread preference, depth
 * tie-break, recency, unmatched decrefs, which pairings are guesses, rule 0
 * and the pairs it removes as they come), a differential test against a
 * naive filter-then-maximise version of the rule on random logs, log
 * growth, compaction, allocation failure, and the adoption of a ctor whose
 * call began before the logged events (rs_refhist_adopt_ctor).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "refhistory.h"
#include "rs_mem.h"

#include <stdlib.h>
#include <string.h>

/* ---- a fake stack depot: stack id i is stacks[i - 1] -------------------- */

#define MAX_TEST_STACKS 64
typedef struct fake_depot {
    uint64_t frames[MAX_TEST_STACKS][8];
    uint32_t n_frames[MAX_TEST_STACKS];
    uint32_t n;
} fake_depot_t;

static int fake_get(void *ctx, uint32_t id, rs_stack_t *out)
{
    fake_depot_t *d = ctx;
    if (id == 0 || id > d->n)
        return -1;
    out->epoch = 0;
    out->n_frames = d->n_frames[id - 1];
    out->pcs = d->frames[id - 1];
    return 0;
}

/* Adds a stack given innermost first, 0-terminated; returns its id. */
static uint32_t add_stack(fake_depot_t *d, ...)
{
    va_list ap;
    va_start(ap, d);
    uint32_t i = d->n++, k = 0;
    for (unsigned long long pc; (pc = va_arg(ap, unsigned long long)) != 0;)
        d->frames[i][k++] = pc;
    va_end(ap);
    d->n_frames[i] = k;
    return i + 1;
}

/* An event with a fresh sequence number of its own (a constructor
 * entry's, so that the tests' events are strictly ordered). */
static rs_ref_event_t ev(rs_ref_op_t op, uint32_t stack, uint16_t thread)
{
    rs_ref_event_t e = { stack, rs_refhist_ctor_seq(), thread, (uint8_t)op, 0 };
    return e;
}

/* Frames of an imaginary program. */
#define LIBC   0x7000ull
#define START  0x7100ull
#define MAIN(n) (0x1000ull + (n))
#define FN_A(n) (0x2000ull + (n))
#define FN_B(n) (0x3000ull + (n))

static void test_common_suffix(void **state)
{
    uint64_t a[] = { 1, 2, 3, 4 }, b[] = { 9, 3, 4 }, c[] = { 5 };
    rs_stack_t sa = { 0, 4, a }, sb = { 0, 3, b }, sc = { 0, 1, c }, s0 = { 0, 0, NULL };
    assert_int_equal(rs_refhist_common_suffix(&sa, &sb), 2);
    assert_int_equal(rs_refhist_common_suffix(&sb, &sa), 2);
    assert_int_equal(rs_refhist_common_suffix(&sa, &sa), 4);
    assert_int_equal(rs_refhist_common_suffix(&sa, &sc), 0);
    assert_int_equal(rs_refhist_common_suffix(&sa, &s0), 0);
}

/* main: o = new(); borrow_ok(o); borrow_wrong(o); unref(o);
 * borrow_ok's ref and unref stacks differ only in the leaf. */
static void test_borrow_wrong(void **state)
{
    fake_depot_t d = { .n = 0 };
    rs_refhist_stacks_t st = { fake_get, &d, 0 };
    uint32_t s_new = add_stack(&d, MAIN(1), LIBC, START, 0ull);
    uint32_t s_ok_ref = add_stack(&d, FN_A(1), MAIN(2), LIBC, START, 0ull);
    uint32_t s_ok_unref = add_stack(&d, FN_A(9), MAIN(2), LIBC, START, 0ull);
    uint32_t s_wrong = add_stack(&d, FN_B(1), MAIN(3), LIBC, START, 0ull);
    uint32_t s_final = add_stack(&d, MAIN(4), LIBC, START, 0ull);
    rs_ref_event_t log[] = {
        ev(RS_REF_CTOR, s_new, 0), ev(RS_REF_INCREF, s_ok_ref, 0),
        ev(RS_REF_DECREF, s_ok_unref, 0), ev(RS_REF_INCREF, s_wrong, 0),
        ev(RS_REF_DECREF, s_final, 0),
    };
    int32_t partner[5];
    assert_int_equal(rs_refhist_balance(log, 5, &st, partner), 1);
    assert_int_equal(partner[1], 2);
    assert_int_equal(partner[2], 1);
    assert_int_equal(partner[0], 4);     /* ctor, same depth, pairs with final */
    assert_int_equal(partner[4], 0);
    assert_int_equal(partner[3], -1);    /* taken in borrow_wrong, never released */

    /* Swapping the call order does not change the verdict. */
    rs_ref_event_t log2[] = {
        ev(RS_REF_CTOR, s_new, 0), ev(RS_REF_INCREF, s_wrong, 0),
        ev(RS_REF_INCREF, s_ok_ref, 0), ev(RS_REF_DECREF, s_ok_unref, 0),
        ev(RS_REF_DECREF, s_final, 0),
    };
    assert_int_equal(rs_refhist_balance(log2, 5, &st, partner), 1);
    assert_int_equal(partner[1], -1);
    assert_int_equal(partner[2], 3);
    assert_int_equal(partner[0], 4);
}

/* A loop calling borrow_ok many times, then one borrow_wrong call in the
 * middle: exactly that one incref is reported. */
static void test_loop_with_one_leak(void **state)
{
    fake_depot_t d = { .n = 0 };
    rs_refhist_stacks_t st = { fake_get, &d, 0 };
    /* The unrefs are made one call deeper than the refs, so that rule 0
     * never applies and every pair is left to compaction. */
    uint32_t s_new = add_stack(&d, MAIN(1), LIBC, 0ull);
    uint32_t s_ref = add_stack(&d, FN_A(1), MAIN(2), LIBC, 0ull);
    uint32_t s_unref = add_stack(&d, FN_B(2), FN_A(2), MAIN(2), LIBC, 0ull);
    uint32_t s_wrong = add_stack(&d, FN_B(1), MAIN(3), LIBC, 0ull);
    uint32_t s_final = add_stack(&d, MAIN(4), LIBC, 0ull);
    rs_ref_event_t log[64];
    uint32_t n = 0, wrong_at = 0;
    log[n++] = ev(RS_REF_CTOR, s_new, 0);
    for (int i = 0; i < 20; i++) {
        log[n++] = ev(RS_REF_INCREF, s_ref, 0);
        if (i == 7) {
            wrong_at = n;
            log[n++] = ev(RS_REF_INCREF, s_wrong, 0);
        }
        log[n++] = ev(RS_REF_DECREF, s_unref, 0);
    }
    log[n++] = ev(RS_REF_DECREF, s_final, 0);
    int32_t partner[64];
    assert_int_equal(rs_refhist_balance(log, n, &st, partner), 1);
    for (uint32_t i = 0; i < n; i++)
        if (i != wrong_at)
            assert_true(partner[i] >= 0);
    assert_int_equal(partner[wrong_at], -1);
}

static void test_thread_preference(void **state)
{
    fake_depot_t d = { .n = 0 };
    rs_refhist_stacks_t st = { fake_get, &d, 0 };
    /* Thread 2's incref shares 3 frames with the decref, thread 1's only
     * one: the same thread (1) still wins. */
    uint32_t s_t1 = add_stack(&d, FN_B(1), FN_B(2), LIBC, 0ull);
    uint32_t s_t2 = add_stack(&d, FN_A(1), FN_A(5), MAIN(1), LIBC, 0ull);
    uint32_t s_dec = add_stack(&d, FN_A(2), FN_A(5), MAIN(1), LIBC, 0ull);
    rs_ref_event_t log[] = {
        ev(RS_REF_INCREF, s_t1, 1), ev(RS_REF_INCREF, s_t2, 2),
        ev(RS_REF_DECREF, s_dec, 1),
    };
    int32_t partner[3];
    assert_int_equal(rs_refhist_balance(log, 3, &st, partner), 1);
    assert_int_equal(partner[2], 0);
    assert_int_equal(partner[1], -1);

    /* No same-thread incref shares a frame: the longest suffix on any
     * thread wins, even over a more recent one. */
    uint32_t s_far = add_stack(&d, FN_B(7), 0x9999ull, 0ull);
    uint32_t s_short = add_stack(&d, FN_B(3), FN_B(4), LIBC, 0ull);
    rs_ref_event_t log2[] = {
        ev(RS_REF_INCREF, s_t2, 2), ev(RS_REF_INCREF, s_short, 3),
        ev(RS_REF_INCREF, s_far, 1), ev(RS_REF_DECREF, s_dec, 1),
    };
    int32_t p2[4];
    assert_int_equal(rs_refhist_balance(log2, 4, &st, p2), 2);
    assert_int_equal(p2[3], 0);
}

static void test_depth_and_recency_ties(void **state)
{
    fake_depot_t d = { .n = 0 };
    rs_refhist_stacks_t st = { fake_get, &d, 0 };
    uint32_t s_deep = add_stack(&d, FN_A(1), FN_B(1), MAIN(1), LIBC, 0ull);
    uint32_t s_flat = add_stack(&d, MAIN(2), LIBC, 0ull);
    uint32_t s_dec = add_stack(&d, MAIN(3), LIBC, 0ull);
    /* Both share only LIBC; the flat (same depth) one wins though older. */
    rs_ref_event_t log[] = {
        ev(RS_REF_INCREF, s_flat, 0), ev(RS_REF_INCREF, s_deep, 0),
        ev(RS_REF_DECREF, s_dec, 0),
    };
    int32_t partner[3];
    rs_refhist_balance(log, 3, &st, partner);
    assert_int_equal(partner[2], 0);
    /* Identical candidates: the most recent wins. */
    rs_ref_event_t log2[] = {
        ev(RS_REF_INCREF, s_flat, 0), ev(RS_REF_INCREF, s_flat, 0),
        ev(RS_REF_DECREF, s_dec, 0),
    };
    rs_refhist_balance(log2, 3, &st, partner);
    assert_int_equal(partner[2], 1);
    assert_int_equal(partner[0], -1);
}

static void test_no_stacks_and_unmatched(void **state)
{
    /* Without stacks the rule is LIFO. */
    rs_ref_event_t log[] = {
        ev(RS_REF_DECREF, 0, 0),              /* unmatched: nothing before */
        ev(RS_REF_CTOR, 0, 0), ev(RS_REF_INCREF, 0, 1), ev(RS_REF_INCREF, 0, 2),
        ev(RS_REF_DECREF, 0, 0), ev(RS_REF_DECREF, 0, 0), ev(RS_REF_DECREF, 0, 0),
        ev(RS_REF_DECREF, 0, 0),              /* unmatched: all taken       */
        ev(RS_REF_INCREF, 0, 0),              /* after every decref         */
    };
    int32_t partner[9];
    assert_int_equal(rs_refhist_balance(log, 9, NULL, partner), 1);
    assert_int_equal(partner[0], -1);
    assert_int_equal(partner[4], 3);
    assert_int_equal(partner[5], 2);
    assert_int_equal(partner[6], 1);
    assert_int_equal(partner[7], -1);
    assert_int_equal(partner[8], -1);
    /* A stack callback that knows nothing behaves the same. */
    fake_depot_t d = { .n = 0 };
    rs_refhist_stacks_t st = { fake_get, &d, 0 };
    log[4].stack_id = 42;
    assert_int_equal(rs_refhist_balance(log, 9, &st, partner), 1);
    assert_int_equal(partner[4], 3);
    assert_int_equal(rs_refhist_balance(log, 0, &st, partner), 0);
}

/* Which pairings are guesses: a decref paired by rule 2 or 3 while more
 * than one incref was open. */
static void test_guessed_pairings(void **state)
{
    fake_depot_t d = { .n = 0 };
    rs_refhist_stacks_t st = { fake_get, &d, 0 };
    uint32_t s_ctor = add_stack(&d, MAIN(1), LIBC, 0ull);
    uint32_t s_keep = add_stack(&d, FN_A(1), START, 0ull);      /* thread 1 */
    uint32_t s_hand = add_stack(&d, FN_B(1), MAIN(2), LIBC, 0ull);
    uint32_t s_give = add_stack(&d, FN_A(2), START, 0ull);      /* thread 2 */
    uint32_t s_end = add_stack(&d, MAIN(3), LIBC, 0ull);
    /* rcobj_handoff's history: thread 2's release shares only the thread
     * start frame, with thread 1's incref: rule 2, a guess; main's is
     * rule 1 (same thread), no guess. */
    rs_ref_event_t log[] = {
        ev(RS_REF_CTOR, s_ctor, 0), ev(RS_REF_INCREF, s_keep, 1),
        ev(RS_REF_INCREF, s_hand, 0), ev(RS_REF_DECREF, s_give, 2),
        ev(RS_REF_DECREF, s_end, 0),
    };
    int32_t partner[5], plain[5];
    uint8_t guessed[5];
    memset(guessed, 7, sizeof guessed);
    assert_int_equal(rs_refhist_balance_guesses(log, 5, &st, partner, guessed), 1);
    assert_int_equal(rs_refhist_balance(log, 5, &st, plain), 1);
    assert_memory_equal(partner, plain, sizeof partner);
    assert_int_equal(partner[3], 1);
    assert_int_equal(partner[4], 0);
    assert_int_equal(partner[2], -1);
    const uint8_t want[5] = { 0, 0, 0, 1, 0 };
    assert_memory_equal(guessed, want, sizeof want);

    /* One open incref: no choice, no guess, on any thread or stack. */
    rs_ref_event_t one[] = { ev(RS_REF_CTOR, s_ctor, 0), ev(RS_REF_DECREF, s_give, 2) };
    assert_int_equal(rs_refhist_balance_guesses(one, 2, &st, partner, guessed), 0);
    assert_int_equal(guessed[1], 0);
    /* Rule 0 (same function) and stackless logs: rule 0 is no guess, LIFO
     * without stacks is. */
    uint32_t s_b1 = add_stack(&d, FN_B(5), MAIN(4), LIBC, 0ull);
    uint32_t s_b2 = add_stack(&d, FN_B(6), MAIN(4), LIBC, 0ull);
    rs_ref_event_t borrow[] = {
        ev(RS_REF_CTOR, s_ctor, 0), ev(RS_REF_INCREF, s_b1, 0),
        ev(RS_REF_DECREF, s_b2, 0),
    };
    rs_refhist_balance_guesses(borrow, 3, &st, partner, guessed);
    assert_int_equal(partner[2], 1);
    assert_int_equal(guessed[2], 0);
    rs_refhist_balance_guesses(borrow, 3, NULL, partner, guessed);
    assert_int_equal(partner[2], 1);
    assert_int_equal(guessed[2], 1);
}

/* Rule 2 across threads: the frames every thread's stack ends with (the
 * thread start routine's, start_thread's, __clone3's) are no evidence
 * once the balancer knows start_thread's return address. */
static void test_thread_start_frames_no_evidence(void **state)
{
    fake_depot_t d = { .n = 0 };
    const uint64_t clone = 0x7200, start = 0x7300, proxy = 0x7400;
    uint32_t s_ctor = add_stack(&d, MAIN(1), LIBC, 0ull);
    /* thread 1 keeps a reference; thread 2 releases the hand-over; both
     * run through the same start routine call site (GLib's proxy) */
    uint32_t s_keep = add_stack(&d, FN_A(1), proxy, start, clone, 0ull);
    uint32_t s_hand = add_stack(&d, FN_B(1), MAIN(2), LIBC, 0ull);
    uint32_t s_give = add_stack(&d, FN_A(2), proxy, start, clone, 0ull);
    uint32_t s_end = add_stack(&d, MAIN(3), LIBC, 0ull);
    rs_ref_event_t log[] = {
        ev(RS_REF_CTOR, s_ctor, 0), ev(RS_REF_INCREF, s_keep, 1),
        ev(RS_REF_INCREF, s_hand, 0), ev(RS_REF_DECREF, s_give, 2),
        ev(RS_REF_DECREF, s_end, 0),
    };
    int32_t partner[5];
    uint8_t guessed[5];
    /* Unknown: the shared proxy, start_thread and __clone3 frames make
     * thread 1's incref the choice (rule 2). */
    rs_refhist_stacks_t blind = { fake_get, &d, 0 };
    rs_refhist_balance_guesses(log, 5, &blind, partner, guessed);
    assert_int_equal(partner[3], 1);
    assert_int_equal(partner[2], -1);
    /* Known: nothing but those frames is shared, so rule 3 takes the most
     * recent incref, main's hand-over; thread 1's is left. Still a guess. */
    rs_refhist_stacks_t st = { fake_get, &d, start };
    rs_refhist_balance_guesses(log, 5, &st, partner, guessed);
    assert_int_equal(partner[3], 2);
    assert_int_equal(partner[1], -1);
    assert_int_equal(partner[4], 0);
    assert_int_equal(guessed[3], 1);
    /* A frame shared past the start routine's is evidence again: thread
     * 2's release comes from the same call in the thread function. */
    uint32_t s_keep2 = add_stack(&d, FN_A(7), FN_A(5), proxy, start, clone, 0ull);
    uint32_t s_give2 = add_stack(&d, FN_A(8), FN_A(5), proxy, start, clone, 0ull);
    rs_ref_event_t log2[] = {
        ev(RS_REF_CTOR, s_ctor, 0), ev(RS_REF_INCREF, s_keep2, 1),
        ev(RS_REF_INCREF, s_hand, 0), ev(RS_REF_DECREF, s_give2, 2),
    };
    rs_refhist_balance_guesses(log2, 4, &st, partner, guessed);
    assert_int_equal(partner[3], 1);
}

/* ---- differential test against a naive version of the rule ------------- */

/* Rule 0, naively: j and d have known stacks of as many frames, at
 * least one, equal but for the innermost, and the same thread. */
static int naive_same_function(const rs_ref_event_t *e, int32_t j, uint32_t d,
                               fake_depot_t *dep)
{
    rs_stack_t a, b;
    if (e[j].thread != e[d].thread || fake_get(dep, e[j].stack_id, &a) ||
        fake_get(dep, e[d].stack_id, &b) || a.n_frames < 1 || a.n_frames != b.n_frames)
        return 0;
    for (uint32_t k = 1; k < a.n_frames; k++)
        if (a.pcs[k] != b.pcs[k])
            return 0;
    return 1;
}

static int32_t naive_choose(const rs_ref_event_t *e, uint32_t d, fake_depot_t *dep,
                            const int32_t *partner)
{
    struct { int32_t j; uint32_t suffix, extra, same; } c[256];
    uint32_t nc = 0;
    rs_stack_t ds = { 0, 0, NULL }, is;
    for (int32_t j = (int32_t)d - 1; j >= 0; j--) {          /* rule 0 */
        if ((e[j].op != RS_REF_CTOR && e[j].op != RS_REF_INCREF) || partner[j] >= 0)
            continue;
        if (naive_same_function(e, j, d, dep))
            return j;
        break;
    }
    if (e[d].stack_id && fake_get(dep, e[d].stack_id, &ds))
        ds.n_frames = 0;
    for (uint32_t j = 0; j < d; j++) {
        if ((e[j].op != RS_REF_CTOR && e[j].op != RS_REF_INCREF) || partner[j] >= 0)
            continue;
        uint32_t suf = 0, depth = 0;
        if (e[j].stack_id && fake_get(dep, e[j].stack_id, &is) == 0) {
            suf = rs_refhist_common_suffix(&ds, &is);
            depth = is.n_frames;
        }
        c[nc].j = (int32_t)j;
        c[nc].suffix = suf;
        c[nc].extra = depth - suf;
        c[nc].same = e[j].thread == e[d].thread;
        nc++;
    }
    if (nc == 0)
        return -1;
    /* Filter: group 1 (same thread, shares frames), else group 2. */
    for (int pass = 0; pass < 2; pass++) {
        int32_t best = -1;
        for (uint32_t k = 0; k < nc; k++) {
            if (c[k].suffix == 0 || (pass == 0 && !c[k].same))
                continue;
            if (best < 0 || c[k].suffix > c[best].suffix ||
                (c[k].suffix == c[best].suffix && c[k].extra < c[best].extra) ||
                (c[k].suffix == c[best].suffix && c[k].extra == c[best].extra &&
                 c[k].j > c[best].j))
                best = (int32_t)k;
        }
        if (best >= 0)
            return c[best].j;
    }
    return c[nc - 1].j;
}

static void test_differential_random(void **state)
{
    srand(7);
    for (int iter = 0; iter < 400; iter++) {
        fake_depot_t dep = { .n = 0 };
        for (int s = 0; s < 12; s++) {
            uint32_t i = dep.n++, depth = 1 + (uint32_t)rand() % 6;
            for (uint32_t k = 0; k < depth; k++)   /* few values: many overlaps */
                dep.frames[i][k] = 1 + (uint64_t)(rand() % (k + 2)) + 10 * (depth - k);
            dep.n_frames[i] = depth;
        }
        rs_refhist_stacks_t st = { fake_get, &dep, 0 };
        uint32_t n = 1 + (uint32_t)rand() % 60;
        rs_ref_event_t log[60];
        for (uint32_t i = 0; i < n; i++)
            log[i] = ev((rs_ref_op_t)(1 + rand() % 3), (uint32_t)rand() % 14,
                        (uint16_t)(rand() % 3));
        int32_t partner[60], naive[60];
        uint32_t open = rs_refhist_balance(log, n, &st, partner);
        uint32_t naive_open = 0;
        for (uint32_t i = 0; i < n; i++)
            naive[i] = -1;
        for (uint32_t i = 0; i < n; i++) {
            if (log[i].op != RS_REF_DECREF)
                continue;
            int32_t j = naive_choose(log, i, &dep, naive);
            if (j >= 0) {
                naive[j] = (int32_t)i;
                naive[i] = j;
            }
        }
        for (uint32_t i = 0; i < n; i++) {
            assert_int_equal(partner[i], naive[i]);
            if (partner[i] >= 0) {
                assert_int_equal(partner[partner[i]], (int32_t)i);
                if (log[i].op == RS_REF_DECREF)
                    assert_true(partner[i] < (int32_t)i);
            }
            naive_open += log[i].op != RS_REF_DECREF && naive[i] < 0;
        }
        assert_int_equal(open, naive_open);
    }
}

/* ---- logs ---------------------------------------------------------------- */

static void test_append_and_grow(void **state)
{
    rs_refhist_t log = { 0 };
    assert_int_equal(rs_refhist_bytes(NULL), 0);
    assert_int_equal(rs_refhist_bytes(&log), 0);
    assert_int_equal(rs_refhist_net(NULL), 0);
    rs_refhist_prefetch(&log);                /* a hint: nothing to load */
    assert_int_equal(sizeof(rs_ref_event_t), 12);
    rs_ref_event_t e = ev(RS_REF_CTOR, 0, 0);
    assert_int_equal(rs_refhist_append(&log, &e, 0, NULL), 0);
    for (int i = 0; i < 99; i++) {
        e = ev(RS_REF_INCREF, 0, 0);
        assert_int_equal(rs_refhist_append(&log, &e, 0, NULL), 0);
    }
    rs_refhist_prefetch(&log);                /* a hint: no effect */
    assert_int_equal(log.n, 100);
    assert_true(log.cap >= 100);
    assert_int_equal(rs_refhist_net(&log), 100);
    assert_int_equal(rs_refhist_bytes(&log), 12 * (uint64_t)log.cap);
    for (uint32_t i = 1; i < log.n; i++)
        assert_true(log.events[i].seq > log.events[i - 1].seq);
    rs_refhist_free(&log);
    rs_refhist_free(NULL);
}

static void test_compaction(void **state)
{
    fake_depot_t d = { .n = 0 };
    rs_refhist_stacks_t st = { fake_get, &d, 0 };
    /* The unrefs are made one call deeper than the refs, so that rule 0
     * never applies and every pair is left to compaction. */
    uint32_t s_new = add_stack(&d, MAIN(1), LIBC, 0ull);
    uint32_t s_ref = add_stack(&d, FN_A(1), MAIN(2), LIBC, 0ull);
    uint32_t s_unref = add_stack(&d, FN_B(2), FN_A(2), MAIN(2), LIBC, 0ull);
    uint32_t s_wrong = add_stack(&d, FN_B(1), MAIN(3), LIBC, 0ull);
    rs_refhist_t log = { 0 };
    rs_ref_event_t e = ev(RS_REF_DECREF, s_ref, 0);   /* unmatched */
    assert_int_equal(rs_refhist_append(&log, &e, 16, &st), 0);
    e = ev(RS_REF_CTOR, s_new, 0);
    assert_int_equal(rs_refhist_append(&log, &e, 16, &st), 0);
    for (int i = 0; i < 1000; i++) {
        e = ev(RS_REF_INCREF, s_ref, 0);
        assert_int_equal(rs_refhist_append(&log, &e, 16, &st), 0);
        if (i % 100 == 0) {
            e = ev(RS_REF_INCREF, s_wrong, 0);
            assert_int_equal(rs_refhist_append(&log, &e, 16, &st), 0);
        }
        e = ev(RS_REF_DECREF, s_unref, 0);
        assert_int_equal(rs_refhist_append(&log, &e, 16, &st), 0);
    }
    /* Bounded: 16 events plus 11 outstanding references, at most doubled. */
    assert_true(log.cap <= 64);
    assert_true(log.pairs_dropped >= 900);
    assert_int_equal(log.decrefs_dropped, 1);
    /* ctor + 10 wrong - the unmatched decref at the start */
    assert_int_equal(rs_refhist_net(&log), 10);
    int32_t partner[64];
    assert_int_equal(rs_refhist_balance(log.events, log.n, &st, partner), 11);
    uint32_t wrong = 0, ctor = 0;
    for (uint32_t i = 0; i < log.n; i++) {
        if (partner[i] >= 0)
            continue;
        wrong += log.events[i].stack_id == s_wrong;
        ctor += log.events[i].op == RS_REF_CTOR;
    }
    assert_int_equal(wrong, 10);
    assert_int_equal(ctor, 1);
    rs_refhist_free(&log);
}

/* Rule 0: a decref that follows an incref taken by the same function at
 * the same depth on the same thread pairs with it at once (the log does
 * not grow, nothing is compacted); any other decref is appended.  The
 * balancer applies the same rule, which outranks a longer common suffix
 * that the rules below would prefer. */
static void test_rule0_pairs_at_once(void **state)
{
    fake_depot_t d = { .n = 0 };
    rs_refhist_stacks_t st = { fake_get, &d, 0 };
    uint32_t s_new = add_stack(&d, MAIN(1), LIBC, 0ull);
    uint32_t s_ref = add_stack(&d, FN_A(1), MAIN(2), LIBC, 0ull);
    uint32_t s_unref = add_stack(&d, FN_A(2), MAIN(2), LIBC, 0ull);
    uint32_t s_deeper = add_stack(&d, FN_B(2), FN_A(2), MAIN(2), LIBC, 0ull);
    uint32_t s_leaf1 = add_stack(&d, FN_A(3), 0ull), s_leaf2 = add_stack(&d, FN_A(4), 0ull);
    rs_refhist_t log = { 0 };
    rs_ref_event_t e = ev(RS_REF_CTOR, s_new, 0);
    assert_int_equal(rs_refhist_append(&log, &e, 8, &st), 0);
    for (int i = 0; i < 1000; i++) {
        e = ev(RS_REF_INCREF, s_ref, 0);
        assert_int_equal(rs_refhist_append(&log, &e, 8, &st), 0);
        assert_int_equal(log.n, 2);
        e = ev(RS_REF_DECREF, s_unref, 0);
        assert_int_equal(rs_refhist_append(&log, &e, 8, &st), 0);
        assert_int_equal(log.n, 1);
    }
    assert_int_equal(log.cap, 4);
    assert_int_equal(log.pairs_dropped, 0);
    assert_int_equal(log.events[0].op, RS_REF_CTOR);
    /* One-frame stacks (REFSCOPE_DEPTH=1) pair at once too: the log of a
     * borrowing loop at depth 1 stays at the constructor alone. */
    for (int i = 0; i < 100; i++) {
        e = ev(RS_REF_INCREF, s_leaf1, 0);
        assert_int_equal(rs_refhist_append(&log, &e, 8, &st), 0);
        e = ev(RS_REF_DECREF, s_leaf2, 0);
        assert_int_equal(rs_refhist_append(&log, &e, 8, &st), 0);
        assert_int_equal(log.n, 1);
    }
    assert_int_equal(log.cap, 4);
    /* Not at once, both kept: another thread, another depth, one frame
     * against two; then a decref after a decref, and the first event of
     * the log. */
    uint32_t s_leaf_caller = add_stack(&d, FN_A(4), MAIN(2), 0ull);
    const struct { uint32_t inc, dec; uint16_t dec_thread; } kept[] = {
        { s_ref, s_unref, 1 }, { s_ref, s_deeper, 0 }, { s_leaf1, s_leaf_caller, 0 },
    };
    for (unsigned k = 0; k < sizeof kept / sizeof kept[0]; k++) {
        e = ev(RS_REF_INCREF, kept[k].inc, 0);
        assert_int_equal(rs_refhist_append(&log, &e, 0, &st), 0);
        e = ev(RS_REF_DECREF, kept[k].dec, kept[k].dec_thread);
        assert_int_equal(rs_refhist_append(&log, &e, 0, &st), 0);
        assert_int_equal(log.n, 3 + 2 * k);
    }
    e = ev(RS_REF_DECREF, s_unref, 0);
    assert_int_equal(rs_refhist_append(&log, &e, 0, &st), 0);
    assert_int_equal(log.n, 8);                          /* after a decref */
    rs_refhist_free(&log);
    log = (rs_refhist_t){ 0 };
    e = ev(RS_REF_INCREF, s_ref, 0);                     /* seen late */
    assert_int_equal(rs_refhist_append(&log, &e, 0, &st), 0);
    e = ev(RS_REF_DECREF, s_unref, 0);
    assert_int_equal(rs_refhist_append(&log, &e, 0, &st), 0);
    assert_int_equal(log.n, 2);                          /* the first event */
    int32_t partner[2];
    assert_int_equal(rs_refhist_balance(log.events, 2, &st, partner), 0);
    assert_int_equal(partner[1], 0);
    rs_refhist_free(&log);

    /* Rule 0 outranks a longer suffix: the older incref was taken inside
     * an earlier call from the decref's own call site (FN_A(2)), so its
     * stack ends with the decref's whole stack; rule 1 alone would take
     * it, rule 0 takes the newest, made by the same function. */
    uint32_t s_inside = add_stack(&d, FN_B(7), FN_A(2), MAIN(2), LIBC, 0ull);
    rs_ref_event_t l[4] = {
        ev(RS_REF_CTOR, s_new, 0), ev(RS_REF_INCREF, s_inside, 0),
        ev(RS_REF_INCREF, s_ref, 0), ev(RS_REF_DECREF, s_unref, 0),
    };
    int32_t p4[4];
    assert_int_equal(rs_refhist_balance(l, 4, &st, p4), 2);
    assert_int_equal(p4[3], 2);
    assert_int_equal(p4[1], -1);
}

/* The seqs of the increfs (ctors included) a log leaves unpaired, in log
 * order, into out; returns how many. */
static uint32_t unpaired_seqs(const rs_refhist_t *log, const rs_refhist_stacks_t *st,
                              uint32_t *out)
{
    static int32_t partner[4096];
    assert_true(log->n <= 4096);
    rs_refhist_balance(log->events, log->n, st, partner);
    uint32_t k = 0;
    for (uint32_t i = 0; i < log->n; i++)
        if (log->events[i].op != RS_REF_DECREF && partner[i] < 0)
            out[k++] = log->events[i].seq;
    return k;
}

/* Compaction changes nothing of the verdict: a log compacted whenever it
 * holds 4, 8 or 64 events leaves exactly the increfs unreleased that the
 * whole log balanced at once leaves (random events on random stacks and
 * threads), so REFSCOPE_HISTORY trades memory only. */
static void test_compaction_keeps_verdict(void **state)
{
    srand(11);
    static const uint32_t limits[] = { 4, 8, 64 };
    for (int iter = 0; iter < 200; iter++) {
        fake_depot_t dep = { .n = 0 };
        for (int k = 0; k < 10; k++) {
            uint32_t i = dep.n++, depth = 1 + (uint32_t)rand() % 5;
            for (uint32_t f = 0; f < depth; f++)
                dep.frames[i][f] = 1 + (uint64_t)(rand() % (f + 2)) + 10 * (depth - f);
            dep.n_frames[i] = depth;
        }
        rs_refhist_stacks_t st = { fake_get, &dep, 0 };
        rs_refhist_t whole = { 0 }, compacted[3] = { { 0 } };
        uint32_t n = 1 + (uint32_t)rand() % 400;
        for (uint32_t i = 0; i < n; i++) {
            /* More refs than unrefs at first, then more unrefs. */
            int unref = rand() % 100 < (i < n / 2 ? 40 : 60);
            rs_ref_event_t e = ev(unref ? RS_REF_DECREF : RS_REF_INCREF,
                                  (uint32_t)rand() % 12, (uint16_t)(rand() % 3));
            assert_int_equal(rs_refhist_append(&whole, &e, 0, &st), 0);
            for (int c = 0; c < 3; c++)
                assert_int_equal(rs_refhist_append(&compacted[c], &e, limits[c], &st), 0);
        }
        static uint32_t want[4096], got[4096];
        uint32_t n_want = unpaired_seqs(&whole, &st, want);
        for (int c = 0; c < 3; c++) {
            assert_int_equal(unpaired_seqs(&compacted[c], &st, got), n_want);
            assert_memory_equal(got, want, n_want * sizeof want[0]);
            rs_refhist_free(&compacted[c]);
        }
        rs_refhist_free(&whole);
    }
}

static int fail_alloc;
static void *fake_alloc(size_t n) { return fail_alloc ? NULL : malloc(n); }
static void *fake_calloc(size_t n, size_t s) { return fail_alloc ? NULL : calloc(n, s); }
static void *fake_realloc(void *p, size_t n) { return fail_alloc ? NULL : realloc(p, n); }
static void fake_free(void *p) { free(p); }

static void test_out_of_memory(void **state)
{
    rs_mem_backend_t b = { fake_alloc, fake_calloc, fake_realloc, fake_free, NULL };
    rs_mem_set_backend(&b);
    rs_refhist_t log = { 0 };
    rs_ref_event_t e = ev(RS_REF_INCREF, 0, 0);
    fail_alloc = 1;
    assert_int_equal(rs_refhist_append(&log, &e, 4, NULL), -1);
    assert_null(log.events);
    fail_alloc = 0;
    for (int i = 0; i < 4; i++)
        assert_int_equal(rs_refhist_append(&log, &e, 4, NULL), 0);
    rs_ref_event_t *before = log.events;
    fail_alloc = 1;   /* compaction scratch and growth both fail */
    assert_int_equal(rs_refhist_append(&log, &e, 4, NULL), -1);
    assert_ptr_equal(log.events, before);
    assert_int_equal(log.cap, 4);
    assert_int_equal(log.n, 4);
    fail_alloc = 0;
    rs_mem_set_backend(NULL);
    rs_refhist_free(&log);
}

/* A constructor that refs and unrefs its object before returning, and one
 * that calls a nested hooked constructor: the outer ctor, whose sequence
 * number was taken at the call's entry, becomes the first event. */
static void test_adopt_ctor(void **state)
{
    rs_ref_event_t outer = ev(RS_REF_CTOR, 1, 0);       /* seq taken at entry */
    rs_ref_event_t inc = ev(RS_REF_INCREF, 2, 0), dec = ev(RS_REF_DECREF, 2, 0);
    rs_refhist_t log = { 0 };
    assert_int_equal(rs_refhist_append(&log, &inc, 0, NULL), 0);
    assert_int_equal(rs_refhist_append(&log, &dec, 0, NULL), 0);
    assert_int_equal(rs_refhist_append(&log, &inc, 0, NULL), 0);
    assert_int_equal(rs_refhist_append(&log, &dec, 0, NULL), 0);   /* log full */
    assert_int_equal(rs_refhist_adopt_ctor(&log, &outer), 1);
    assert_int_equal(log.n, 5);
    assert_int_equal(log.events[0].op, RS_REF_CTOR);
    assert_int_equal(log.events[0].stack_id, 1);
    assert_int_equal(log.events[1].op, RS_REF_INCREF);
    assert_int_equal(log.events[4].op, RS_REF_DECREF);
    assert_int_equal(rs_refhist_net(&log), 1);
    /* The same ctor again (a second, outer call started earlier still)
     * replaces it; one started later does not apply. */
    rs_ref_event_t later = ev(RS_REF_CTOR, 3, 0);
    assert_int_equal(rs_refhist_adopt_ctor(&log, &later), -1);
    rs_ref_event_t earlier = outer;
    earlier.seq -= 1;
    earlier.stack_id = 4;
    assert_int_equal(rs_refhist_adopt_ctor(&log, &earlier), 0);
    assert_int_equal(log.n, 5);
    assert_int_equal(log.events[0].stack_id, 4);
    rs_refhist_free(&log);

    /* Events from before the call: a ctor of an object already in use. */
    log = (rs_refhist_t){ 0 };
    rs_ref_event_t before = ev(RS_REF_INCREF, 2, 0);
    rs_ref_event_t ctor = ev(RS_REF_CTOR, 1, 0);
    assert_int_equal(rs_refhist_append(&log, &before, 0, NULL), 0);
    assert_int_equal(rs_refhist_adopt_ctor(&log, &ctor), -1);
    assert_int_equal(log.n, 1);
    rs_refhist_free(&log);
    /* No log: nothing to adopt into. */
    log = (rs_refhist_t){ 0 };
    assert_int_equal(rs_refhist_adopt_ctor(&log, &ctor), -1);
    assert_null(log.events);
}

/* Constructor entries take fresh odd numbers; other events the current
 * even one: larger than the entries before them, smaller than those
 * after, shared between two entries. */
static void test_sequence_numbers(void **state)
{
    (void)state;
    uint32_t before = rs_refhist_event_seq();
    uint32_t c1 = rs_refhist_ctor_seq();
    uint32_t e1 = rs_refhist_event_seq(), e2 = rs_refhist_event_seq();
    uint32_t c2 = rs_refhist_ctor_seq();
    uint32_t e3 = rs_refhist_event_seq();
    assert_int_equal(c1 & 1, 1);
    assert_int_equal(c2 & 1, 1);
    assert_int_equal(e1 & 1, 0);
    assert_true((int32_t)(before - c1) < 0);
    assert_true((int32_t)(c1 - e1) < 0);
    assert_int_equal(e1, e2);
    assert_true((int32_t)(e2 - c2) < 0);
    assert_true((int32_t)(c2 - e3) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequence_numbers),
        cmocka_unit_test(test_common_suffix),
        cmocka_unit_test(test_borrow_wrong),
        cmocka_unit_test(test_loop_with_one_leak),
        cmocka_unit_test(test_thread_preference),
        cmocka_unit_test(test_guessed_pairings),
        cmocka_unit_test(test_thread_start_frames_no_evidence),
        cmocka_unit_test(test_depth_and_recency_ties),
        cmocka_unit_test(test_no_stacks_and_unmatched),
        cmocka_unit_test(test_differential_random),
        cmocka_unit_test(test_append_and_grow),
        cmocka_unit_test(test_compaction),
        cmocka_unit_test(test_rule0_pairs_at_once),
        cmocka_unit_test(test_compaction_keeps_verdict),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_adopt_ctor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
