/*
 * test_blocktable.c - unit tests of lib/model/blocktable.c: insert, lookup,
 * remove, replace (in place, at any fill), growth, deletion keeping probe
 * runs intact (checked against a plain array model, with records that do
 * not pack mixed in), the limits of the packed record, foreach, allocation
 * failure, fork locks, and four threads inserting and removing with exact
 * final counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "test_support.h"

#include "blocktable.h"
#include "rs_mem.h"

/* A record that packs (thread number below 2^22) unless the caller's
 * values are too large. */
static rs_block_t blk(uint64_t addr, uint64_t size, uint32_t stack)
{
    return (rs_block_t){addr, size, stack, (uint32_t)(addr >> 4) & 0x3fffff};
}

static void test_insert_lookup_remove_replace(void **state)
{
    rs_blocktable_t *t = rs_blocktable_create();
    assert_non_null(t);
    rs_block_t b = blk(0x1000, 24, 7), out;
    assert_int_equal(rs_blocktable_lookup(t, 0x1000, &out), 0);
    assert_int_equal(rs_blocktable_insert(t, &b), 0);
    assert_int_equal(rs_blocktable_count(t), 1);
    assert_int_equal(rs_blocktable_lookup(t, 0x1000, &out), 1);
    assert_memory_equal(&out, &b, sizeof b);
    assert_int_equal(rs_blocktable_lookup(t, 0x1010, NULL), 0); /* interior */

    rs_block_t b2 = blk(0x1000, 99, 8);                           /* replace */
    assert_int_equal(rs_blocktable_insert(t, &b2), 0);
    assert_int_equal(rs_blocktable_count(t), 1);
    assert_int_equal(rs_blocktable_lookup(t, 0x1000, &out), 1);
    assert_int_equal(out.size, 99);
    assert_int_equal(out.stack_id, 8);

    memset(&out, 0, sizeof out);
    assert_int_equal(rs_blocktable_remove(t, 0x1000, &out), 1);
    assert_memory_equal(&out, &b2, sizeof b2);
    assert_int_equal(rs_blocktable_remove(t, 0x1000, &out), 0);
    assert_int_equal(rs_blocktable_remove(t, 0x2000, NULL), 0);
    assert_int_equal(rs_blocktable_count(t), 0);

    rs_block_t zero = blk(0, 8, 1);                                /* rejected */
    assert_int_equal(rs_blocktable_insert(t, &zero), -1);
    assert_int_equal(rs_blocktable_lookup(t, 0, NULL), 0);
    assert_int_equal(rs_blocktable_remove(t, 0, NULL), 0);
    rs_blocktable_destroy(t);
    rs_blocktable_destroy(NULL);
}

/* Re-inserting every record of a table (whatever its fill, here across
 * several growth thresholds) replaces them in place: same count, same
 * memory, the new values. */
static void test_replace_keeps_size(void **state)
{
    rs_blocktable_t *t = rs_blocktable_create();
    assert_non_null(t);
    for (uint64_t k = 1; k <= 5000; k++) {
        rs_block_t b = blk(k * 48, k, 1);
        assert_int_equal(rs_blocktable_insert(t, &b), 0);
        if (k % 500 != 0)
            continue;
        uint64_t bytes = rs_blocktable_bytes(t);
        for (uint64_t j = 1; j <= k; j++) {
            rs_block_t r = blk(j * 48, j + k, 2);
            assert_int_equal(rs_blocktable_insert(t, &r), 0);
        }
        assert_int_equal(rs_blocktable_count(t), k);
        assert_int_equal(rs_blocktable_bytes(t), bytes);
        for (uint64_t j = 1; j <= k; j++) {
            rs_block_t out;
            assert_int_equal(rs_blocktable_lookup(t, j * 48, &out), 1);
            assert_int_equal(out.size, j + k);
            assert_int_equal(out.stack_id, 2);
        }
    }
    rs_blocktable_destroy(t);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) { return rs_test_xorshift(&rng_state); }

/* Random inserts and removes on a small key space (many collisions, long
 * probe runs, wrap-around) checked against a direct-indexed model. */
#define MODEL_KEYS 50000
static void test_growth_and_model(void **state)
{
    rs_blocktable_t *t = rs_blocktable_create();
    static rs_block_t model[MODEL_KEYS];
    memset(model, 0, sizeof model);
    uint64_t live = 0, bytes0 = rs_blocktable_bytes(t);
    for (int op = 0; op < 400000; op++) {
        uint32_t k = (uint32_t)(rnd() % MODEL_KEYS);
        uint64_t addr = 0x7f0000000000ull + (uint64_t)k * 16;
        if (rnd() % 3) {
            rs_block_t b = blk(addr, rnd() % 1000, (uint32_t)op);
            switch (rnd() % 32) {     /* some records do not pack */
            case 0: b.size = (1ull << 31) + rnd() % (1ull << 40); break;
            case 1: b.stack_id = UINT32_MAX - (uint32_t)(rnd() % 1000); break;
            case 2: b.tid_seq = (1u << 22) + (uint32_t)(rnd() % 1000); break;
            default: break;
            }
            assert_int_equal(rs_blocktable_insert(t, &b), 0);
            live += model[k].addr == 0;
            model[k] = b;
        } else {
            rs_block_t out;
            int had = model[k].addr != 0;
            assert_int_equal(rs_blocktable_remove(t, addr, &out), had);
            if (had) {
                assert_memory_equal(&out, &model[k], sizeof out);
                model[k].addr = 0;
                live--;
            }
        }
    }
    assert_int_equal(rs_blocktable_count(t), live);
    assert_true(rs_blocktable_bytes(t) >= bytes0 + live * 16);  /* packed */
    for (uint32_t k = 0; k < MODEL_KEYS; k++) {
        rs_block_t out;
        uint64_t addr = 0x7f0000000000ull + (uint64_t)k * 16;
        int found = rs_blocktable_lookup(t, addr, &out);
        assert_int_equal(found, model[k].addr != 0);
        if (found)
            assert_memory_equal(&out, &model[k], sizeof out);
    }
    rs_blocktable_destroy(t);
}

/* Each field at the largest value that packs and one past it: every
 * record reads back whole, and replacing one form by the other at the
 * same address leaves one record. */
static void test_packing_limits(void **state)
{
    rs_blocktable_t *t = rs_blocktable_create();
    const uint64_t addr_max = (1ull << RS_BLOCK_ADDR_BITS) - 16;
    rs_block_t cases[] = {
        {addr_max, (1ull << 31) - 1, (1u << 28) - 1, (1u << 22) - 1},  /* packs */
        {addr_max - 16, 1ull << 31, 5, 6},                              /* size  */
        {addr_max - 32, 7, 1u << 28, 8},                                /* stack */
        {addr_max - 48, 9, 10, 1u << 22},                               /* tid   */
        {0xffff800000000010ull, 11, 12, 13},                            /* addr  */
        {0x10, (1ull << 48) - 1, UINT32_MAX, UINT32_MAX},               /* all   */
        {0x20, 0, 0, 0},
    };
    size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rs_blocktable_insert(t, &cases[i]), 0);
    assert_int_equal(rs_blocktable_count(t), n);
    for (size_t i = 0; i < n; i++) {
        rs_block_t out;
        assert_int_equal(rs_blocktable_lookup(t, cases[i].addr, &out), 1);
        assert_memory_equal(&out, &cases[i], sizeof out);
    }
    /* Wide replaced by packed and packed by wide, at the same address. */
    rs_block_t small = cases[1], big = cases[0], out;
    small.size = 100;
    big.size = 1ull << 40;
    assert_int_equal(rs_blocktable_insert(t, &small), 0);
    assert_int_equal(rs_blocktable_insert(t, &big), 0);
    assert_int_equal(rs_blocktable_count(t), n);
    assert_int_equal(rs_blocktable_lookup(t, small.addr, &out), 1);
    assert_memory_equal(&out, &small, sizeof out);
    assert_int_equal(rs_blocktable_lookup(t, big.addr, &out), 1);
    assert_memory_equal(&out, &big, sizeof out);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rs_blocktable_remove(t, cases[i].addr, &out), 1);
    assert_int_equal(rs_blocktable_count(t), 0);
    assert_int_equal(rs_blocktable_remove(t, small.addr, NULL), 0);
    rs_blocktable_destroy(t);
}

typedef struct tally {
    uint64_t n, sum_size, xor_addr;
} tally_t;

static void add_up(const rs_block_t *b, void *arg)
{
    tally_t *s = arg;
    s->n++;
    s->sum_size += b->size;
    s->xor_addr ^= b->addr;
}

static void test_foreach(void **state)
{
    rs_blocktable_t *t = rs_blocktable_create();
    tally_t want = {0}, got = {0};
    rs_blocktable_foreach(t, add_up, &got);
    assert_int_equal(got.n, 0);
    for (uint64_t i = 1; i <= 10000; i++) {
        rs_block_t b = blk(i * 48, i, 1);
        assert_int_equal(rs_blocktable_insert(t, &b), 0);
        if (i % 4 == 0)
            assert_int_equal(rs_blocktable_remove(t, i * 48, NULL), 1);
        else {
            want.n++;
            want.sum_size += i;
            want.xor_addr ^= i * 48;
        }
    }
    rs_blocktable_foreach(t, add_up, &got);
    assert_int_equal(got.n, want.n);
    assert_int_equal(got.sum_size, want.sum_size);
    assert_int_equal(got.xor_addr, want.xor_addr);
    rs_blocktable_destroy(t);
}

/* ---- failure injection ------------------------------------------------- */

/* failing rs_mem backend: test_support.h */

static void test_out_of_memory(void **state)
{
    allocs_left = 0;
    rs_mem_set_backend(&failing);
    assert_null(rs_blocktable_create());
    allocs_left = 1;
    rs_blocktable_t *t = rs_blocktable_create();
    assert_non_null(t);
    /* No memory for any shard array: every insert fails, nothing stored. */
    for (uint64_t i = 1; i <= 100; i++) {
        rs_block_t b = blk(i * 32, 8, 1);
        assert_int_equal(rs_blocktable_insert(t, &b), -1);
    }
    assert_int_equal(rs_blocktable_count(t), 0);
    /* Memory for 256 shard arrays (first arrays or doublings), then none:
     * full shards keep filling up to capacity - 1, then refuse. */
    allocs_left = 256;
    uint64_t ok = 0, refused = 0;
    for (uint64_t i = 1; i <= 256 * 16 * 2; i++) {
        rs_block_t b = blk(i * 32, 8, 1);
        if (rs_blocktable_insert(t, &b) == 0)
            ok++;
        else
            refused++;
    }
    rs_mem_set_backend(NULL);
    assert_true(refused > 0);
    assert_true(ok > 0);
    assert_int_equal(rs_blocktable_count(t), ok);
    /* Everything accepted is findable; removing still works. */
    uint64_t found = 0;
    for (uint64_t i = 1; i <= 256 * 16 * 2; i++)
        found += rs_blocktable_remove(t, i * 32, NULL);
    assert_int_equal(found, ok);
    assert_int_equal(rs_blocktable_count(t), 0);
    rs_blocktable_destroy(t);
}

static void test_lock_all(void **state)
{
    rs_blocktable_t *t = rs_blocktable_create();
    rs_block_t b = blk(0x5000, 1, 1);
    rs_blocktable_lock_all(t);
    rs_blocktable_unlock_all(t);
    assert_int_equal(rs_blocktable_insert(t, &b), 0);
    assert_int_equal(rs_blocktable_lookup(t, 0x5000, NULL), 1);
    rs_blocktable_destroy(t);
}

/* ---- contention --------------------------------------------------------- */

#define THREADS 4
#define PER_THREAD 100000

typedef struct worker {
    rs_blocktable_t *t;
    uint32_t         id;
    uint64_t         errors;
} worker_t;

static uint64_t worker_addr(uint32_t id, uint64_t i)
{
    return 0x600000000000ull + (i * THREADS + id) * 16;
}

/* Inserts PER_THREAD blocks, removes every other one, replaces every
 * third, keeping a count of anything the table got wrong. */
static void *churn(void *arg)
{
    worker_t *w = arg;
    for (uint64_t i = 0; i < PER_THREAD; i++) {
        rs_block_t b = blk(worker_addr(w->id, i), i, w->id);
        w->errors += rs_blocktable_insert(w->t, &b) != 0;
        if (i >= 10 && (i - 10) % 2 == 0) {
            rs_block_t out;
            uint64_t j = i - 10;
            w->errors += rs_blocktable_remove(w->t, worker_addr(w->id, j), &out) != 1;
            w->errors += out.size != j ||
                out.stack_id != (j % 3 == 0 ? 1000 + w->id : w->id);
        }
        if (i % 3 == 0) {
            b.stack_id = 1000 + w->id;
            w->errors += rs_blocktable_insert(w->t, &b) != 0;
        }
    }
    return NULL;
}

static void test_contention(void **state)
{
    rs_blocktable_t *t = rs_blocktable_create();
    static worker_t w[THREADS];
    pthread_t th[THREADS];
    for (uint32_t i = 0; i < THREADS; i++) {
        w[i] = (worker_t){t, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, churn, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(w[i].errors, 0);

    /* Removed: even j < PER_THREAD - 10. */
    uint64_t removed = (PER_THREAD - 10 + 1) / 2;
    assert_int_equal(rs_blocktable_count(t), THREADS * (PER_THREAD - removed));
    for (uint32_t id = 0; id < THREADS; id++)
        for (uint64_t i = 0; i < PER_THREAD; i++) {
            rs_block_t out;
            int gone = i < PER_THREAD - 10 && i % 2 == 0;
            assert_int_equal(rs_blocktable_lookup(t, worker_addr(id, i), &out), !gone);
            if (!gone) {
                assert_int_equal(out.size, i);
                assert_int_equal(out.stack_id, i % 3 == 0 ? 1000 + id : id);
            }
        }
    tally_t got = {0};
    rs_blocktable_foreach(t, add_up, &got);
    assert_int_equal(got.n, rs_blocktable_count(t));
    rs_blocktable_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_lookup_remove_replace),
        cmocka_unit_test(test_replace_keeps_size),
        cmocka_unit_test(test_growth_and_model),
        cmocka_unit_test(test_packing_limits),
        cmocka_unit_test(test_foreach),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_lock_all),
        cmocka_unit_test(test_contention),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
