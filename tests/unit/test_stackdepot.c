/*
 * test_stackdepot.c - unit tests of lib/model/stackdepot.c: deduplication, dense
 * ids, epochs, frame clamping, bad ids, allocation failure, concurrent
 * interning of overlapping stacks from four threads (through the shared
 * cache too, and across the move to the big bucket table), the move
 * itself, and the cache (same ids with evictions, key collisions).
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

#include "rs_mem.h"
#include "stackdepot.h"

/* A stack whose frames are derived from k (distinct for distinct k). */
static uint32_t make_stack(uint64_t *pcs, uint32_t k)
{
    uint32_t n = 1 + k % 24;
    for (uint32_t i = 0; i < n; i++)
        pcs[i] = 0x400000 + (uint64_t)k * 0x1000 + i * 8;
    return n;
}

static void assert_stack(const rs_stackdepot_t *d, uint32_t id,
                         const uint64_t *pcs, uint32_t n, uint32_t epoch)
{
    rs_stack_t s;
    assert_int_equal(rs_stackdepot_get(d, id, &s), 0);
    assert_int_equal(s.n_frames, n);
    assert_int_equal(s.epoch, epoch);
    assert_memory_equal(s.pcs, pcs, n * sizeof *pcs);
}

/* Through the cache in front of the buckets: the same ids on every round
 * for more stacks than the cache holds (sets shared, entries evicted). */
static void test_cache_same_ids(void **state)
{
    rs_stackdepot_t *d = rs_stackdepot_create();
    uint64_t pcs[32];
    for (int round = 0; round < 3; round++) {
        for (uint32_t k = 0; k < 2000; k++) {
            uint32_t n = make_stack(pcs, k);
            uint32_t id = rs_stackdepot_intern(d, pcs, n, k % 3);
            assert_int_equal(id, k + 1);
            assert_int_equal(rs_stackdepot_intern(d, pcs, n, k % 3), id);
            assert_stack(d, id, pcs, n, k % 3);
        }
    }
    assert_int_equal(rs_stackdepot_count(d), 2000);
    rs_stackdepot_destroy(d);
}

/* Stacks alike in every frame the cache key samples (same depth, same
 * first two, middle and last frames) share a cache entry; every hit is
 * checked frame by frame, so each keeps its own id, as does the same
 * stack in another epoch or one frame shorter. */
static void test_cache_key_collision(void **state)
{
    rs_stackdepot_t *d = rs_stackdepot_create();
    uint64_t a[10], b[10];
    for (uint32_t i = 0; i < 10; i++)
        a[i] = b[i] = 0x500000 + i * 16;
    b[3] = 0x123456;                 /* not sampled: frames 0, 1, 5, 9 */
    uint32_t ia = rs_stackdepot_intern(d, a, 10, 0);
    uint32_t ib = rs_stackdepot_intern(d, b, 10, 0);
    assert_int_equal(ia, 1);
    assert_int_equal(ib, 2);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(rs_stackdepot_intern(d, a, 10, 0), ia);
        assert_int_equal(rs_stackdepot_intern(d, b, 10, 0), ib);
        assert_int_equal(rs_stackdepot_intern(d, b, 10, 0), ib);
        assert_int_equal(rs_stackdepot_intern(d, a, 10, 0), ia);
    }
    assert_int_equal(rs_stackdepot_intern(d, a, 10, 1), 3);
    assert_int_equal(rs_stackdepot_intern(d, a, 9, 0), 4);
    assert_int_equal(rs_stackdepot_intern(d, a, 10, 0), ia);
    assert_stack(d, ia, a, 10, 0);
    assert_stack(d, ib, b, 10, 0);
    assert_int_equal(rs_stackdepot_count(d), 4);
    rs_stackdepot_destroy(d);
}

static void test_dedupe_and_dense_ids(void **state)
{
    rs_stackdepot_t *d = rs_stackdepot_create();
    assert_non_null(d);
    assert_int_equal(rs_stackdepot_count(d), 0);
    uint64_t pcs[32];
    for (uint32_t k = 0; k < 5000; k++) {
        uint32_t n = make_stack(pcs, k);
        assert_int_equal(rs_stackdepot_intern(d, pcs, n, 1), k + 1);
    }
    assert_int_equal(rs_stackdepot_count(d), 5000);
    for (uint32_t k = 0; k < 5000; k++) {
        uint32_t n = make_stack(pcs, k);
        assert_int_equal(rs_stackdepot_intern(d, pcs, n, 1), k + 1);
        assert_stack(d, k + 1, pcs, n, 1);
    }
    assert_int_equal(rs_stackdepot_count(d), 5000);
    assert_true(rs_stackdepot_bytes(d) > 5000 * 8);
    rs_stackdepot_destroy(d);
}

static void test_epoch_and_prefix_distinguish(void **state)
{
    rs_stackdepot_t *d = rs_stackdepot_create();
    uint64_t pcs[4] = {1, 2, 3, 4};
    uint32_t a = rs_stackdepot_intern(d, pcs, 4, 0);
    uint32_t b = rs_stackdepot_intern(d, pcs, 4, 1);
    uint32_t c = rs_stackdepot_intern(d, pcs, 3, 0);     /* a prefix     */
    uint32_t e = rs_stackdepot_intern(d, NULL, 0, 0);    /* empty stack  */
    assert_int_equal(a, 1);
    assert_int_equal(b, 2);
    assert_int_equal(c, 3);
    assert_int_equal(e, 4);
    assert_int_equal(rs_stackdepot_intern(d, pcs, 4, 1), b);
    assert_int_equal(rs_stackdepot_intern(d, NULL, 0, 0), e);
    assert_stack(d, b, pcs, 4, 1);
    assert_stack(d, c, pcs, 3, 0);
    rs_stack_t s;
    assert_int_equal(rs_stackdepot_get(d, e, &s), 0);
    assert_int_equal(s.n_frames, 0);
    rs_stackdepot_destroy(d);
}

static void test_clamp_frames(void **state)
{
    rs_stackdepot_t *d = rs_stackdepot_create();
    uint64_t pcs[RS_STACK_MAX_FRAMES + 10];
    for (size_t i = 0; i < RS_STACK_MAX_FRAMES + 10; i++)
        pcs[i] = 0x1000 + i;
    uint32_t id = rs_stackdepot_intern(d, pcs, RS_STACK_MAX_FRAMES + 10, 0);
    /* Frames beyond the limit are dropped, so both are the same stack. */
    assert_int_equal(rs_stackdepot_intern(d, pcs, RS_STACK_MAX_FRAMES, 0), id);
    assert_stack(d, id, pcs, RS_STACK_MAX_FRAMES, 0);
    rs_stackdepot_destroy(d);
}

static void test_get_bad_id(void **state)
{
    rs_stackdepot_t *d = rs_stackdepot_create();
    rs_stack_t s;
    uint64_t pc = 42;
    assert_int_equal(rs_stackdepot_get(d, 0, &s), -1);
    assert_int_equal(rs_stackdepot_get(d, 1, &s), -1);
    assert_int_equal(rs_stackdepot_intern(d, &pc, 1, 0), 1);
    assert_int_equal(rs_stackdepot_get(d, 1, &s), 0);
    assert_int_equal(rs_stackdepot_get(d, 2, &s), -1);
    assert_int_equal(rs_stackdepot_get(d, 5000, &s), -1);
    assert_int_equal(rs_stackdepot_get(d, UINT32_MAX, &s), -1);
    assert_int_equal(rs_stackdepot_get(NULL, 1, &s), -1);
    assert_int_equal(rs_stackdepot_intern(NULL, &pc, 1, 0), 0);
    rs_stackdepot_destroy(d);
    rs_stackdepot_destroy(NULL);
}

/* ---- failure injection ------------------------------------------------- */

/* failing rs_mem backend: test_support.h */

static void test_out_of_memory(void **state)
{
    uint64_t pcs[32];
    for (int budget = 0; budget < 3; budget++) {
        allocs_left = budget;
        rs_mem_set_backend(&failing);
        rs_stackdepot_t *d = rs_stackdepot_create();
        rs_mem_set_backend(NULL);
        assert_null(d);
    }
    /* Created fine, but no memory for the first arena chunk: "no stack". */
    allocs_left = 3;
    rs_mem_set_backend(&failing);
    rs_stackdepot_t *d = rs_stackdepot_create();
    assert_non_null(d);
    uint32_t n = make_stack(pcs, 7);
    assert_int_equal(rs_stackdepot_intern(d, pcs, n, 0), 0);
    assert_int_equal(rs_stackdepot_count(d), 0);
    /* Memory again: ids still start at 1. */
    allocs_left = 1000;
    assert_int_equal(rs_stackdepot_intern(d, pcs, n, 0), 1);
    rs_mem_set_backend(NULL);
    assert_stack(d, 1, pcs, n, 0);
    rs_stackdepot_destroy(d);

    /* Arena chunk allocated, id-index leaf not: the stack keeps its id
     * (ids stay dense, interning finds it) but get() says unknown. */
    allocs_left = 4;
    rs_mem_set_backend(&failing);
    d = rs_stackdepot_create();
    assert_int_equal(rs_stackdepot_intern(d, pcs, n, 0), 1);
    allocs_left = 1000;
    assert_int_equal(rs_stackdepot_intern(d, pcs, n, 0), 1);
    uint32_t n2 = make_stack(pcs, 8);
    assert_int_equal(rs_stackdepot_intern(d, pcs, n2, 0), 2);
    rs_mem_set_backend(NULL);
    rs_stack_t s;
    assert_int_equal(rs_stackdepot_get(d, 1, &s), -1);
    assert_stack(d, 2, pcs, n2, 0);
    assert_int_equal(rs_stackdepot_count(d), 2);
    rs_stackdepot_destroy(d);
}

/* The bucket table starts small and moves to a big one after some
 * thousands of stacks (stackdepot.c): the bytes say which, and every
 * stack keeps its id across the move - looked up in the new table, since
 * 20,000 stacks are far more than the cache in front holds. */
static void test_ids_kept_across_growth(void **state)
{
    enum { N = 20000, BIG_TABLE = 512 * 1024 };
    rs_stackdepot_t *d = rs_stackdepot_create();
    uint64_t pcs[32];
    static uint32_t ids[N];
    for (uint32_t k = 0; k < 100; k++)
        ids[k] = rs_stackdepot_intern(d, pcs, make_stack(pcs, k), 0);
    uint64_t small = rs_stackdepot_bytes(d);
    assert_true(small < BIG_TABLE);
    for (uint32_t k = 100; k < N; k++)
        ids[k] = rs_stackdepot_intern(d, pcs, make_stack(pcs, k), 0);
    assert_true(rs_stackdepot_bytes(d) >= small + BIG_TABLE);
    for (uint32_t k = 0; k < N; k++) {
        uint32_t n = make_stack(pcs, k);
        assert_int_equal(ids[k], k + 1);
        assert_int_equal(rs_stackdepot_intern(d, pcs, n, 0), k + 1);
        assert_stack(d, k + 1, pcs, n, 0);
    }
    assert_int_equal(rs_stackdepot_count(d), N);
    rs_stackdepot_destroy(d);
}

/* ---- concurrency -------------------------------------------------------- */

#define THREADS 4
#define KEYS    20000

typedef struct worker {
    rs_stackdepot_t *d;
    uint32_t         first;
    uint32_t         ids[KEYS];   /* id the thread got for key k */
} worker_t;

static void *intern_many(void *arg)
{
    worker_t *w = arg;
    uint64_t pcs[32];
    /* Each thread walks all keys from a different start, so the same
     * stacks are interned concurrently by several threads. */
    for (int round = 0; round < 2; round++)
        for (uint32_t i = 0; i < KEYS; i++) {
            uint32_t k = (w->first + i) % KEYS;
            uint32_t n = make_stack(pcs, k);
            uint32_t id = rs_stackdepot_intern(w->d, pcs, n, k % 3);
            if (round == 0)
                w->ids[k] = id;
            else if (w->ids[k] != id)
                w->ids[k] = 0; /* checked by the main thread */
        }
    return NULL;
}

static void test_concurrent_overlapping(void **state)
{
    rs_stackdepot_t *d = rs_stackdepot_create();
    static worker_t w[THREADS];
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) {
        w[t].d = d;
        w[t].first = t * (KEYS / THREADS / 2);
        assert_int_equal(pthread_create(&th[t], NULL, intern_many, &w[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);

    assert_int_equal(rs_stackdepot_count(d), KEYS);
    static uint8_t used[KEYS + 1];
    memset(used, 0, sizeof used);
    uint64_t pcs[32];
    for (uint32_t k = 0; k < KEYS; k++) {
        uint32_t id = w[0].ids[k];
        assert_in_range(id, 1, KEYS);
        for (int t = 1; t < THREADS; t++)
            assert_int_equal(w[t].ids[k], id);
        assert_int_equal(used[id], 0); /* one key per id: ids dense */
        used[id] = 1;
        uint32_t n = make_stack(pcs, k);
        assert_stack(d, id, pcs, n, k % 3);
    }
    rs_stackdepot_destroy(d);
}

static void test_lock_all(void **state)
{
    rs_stackdepot_t *d = rs_stackdepot_create();
    rs_stackdepot_lock_all(d);
    rs_stackdepot_unlock_all(d);
    uint64_t pc = 9;
    assert_int_equal(rs_stackdepot_intern(d, &pc, 1, 0), 1);
    rs_stackdepot_lock_all(NULL);
    rs_stackdepot_unlock_all(NULL);
    rs_stackdepot_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dedupe_and_dense_ids),
        cmocka_unit_test(test_epoch_and_prefix_distinguish),
        cmocka_unit_test(test_clamp_frames),
        cmocka_unit_test(test_get_bad_id),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_ids_kept_across_growth),
        cmocka_unit_test(test_concurrent_overlapping),
        cmocka_unit_test(test_lock_all),
        cmocka_unit_test(test_cache_same_ids),
        cmocka_unit_test(test_cache_key_collision),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
