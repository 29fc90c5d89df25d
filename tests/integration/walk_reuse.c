/*
 * walk_reuse.c - allocations whose stacks share frames at the same stack
 * positions, for test_walk_reuse.py: the fast walker takes over frames
 * from the thread's previous walk (preload/fastunwind.c) only after
 * checking that their stack slots still hold what was read, and these
 * are the stacks where taking over too much would show.
 *
 * Each round (ROUNDS of them, in the main thread and in one other thread)
 * leaks one block from each path below (two from via_a and via_b), every path with its own size
 * (thread_size_base added in the thread), so that each finding of the
 * report is one path in one thread with ROUNDS blocks:
 *   via_a / via_b   the same two inner frames (leaf, mid) at the same
 *                   stack positions, different callers above them;
 *   pick x / y      the same outer frames, different inner ones (leaf_x,
 *                   leaf_y) at the same position;
 *   rec_a / rec_b   recursions 6 and 3 deep, of two functions with the
 *                   same frame layout: stale deeper frames of one below
 *                   the other's;
 *   deep 7 / deep 2 fixed() at the same position with the same return
 *                   address in padded(), whose rbp differs (padded()
 *                   alloca()s the difference): only the saved rbp tells
 *                   the two stacks apart, and the alloca'd area still
 *                   holds the deeper call's frames.
 * Built -O0 (frame pointers, no inlining, no tail calls) by the test.
 * Prints "walk_reuse: done" and exits 0.
 */
#include "sample_util.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define ROUNDS 40

/* Sizes: one per path; the other thread adds 1000. */
enum { SZ_VIA_A = 16, SZ_VIA_B = 24, SZ_PICK_X = 32, SZ_PICK_Y = 40,
       SZ_REC_A = 48, SZ_REC_B = 56, SZ_DEEP_7 = 64, SZ_DEEP_2 = 72 };

SAMPLE_NOINLINE static void *leaf(size_t n) { return malloc(n); }
SAMPLE_NOINLINE static void *mid(size_t n) { return leaf(n); }
SAMPLE_NOINLINE static void *via_a(size_t n) { return mid(n); }
SAMPLE_NOINLINE static void *via_b(size_t n) { return mid(n); }

SAMPLE_NOINLINE static void *leaf_x(size_t n) { return malloc(n); }
SAMPLE_NOINLINE static void *leaf_y(size_t n) { return malloc(n); }
SAMPLE_NOINLINE static void *pick(int y, size_t n) { return y ? leaf_y(n) : leaf_x(n); }

SAMPLE_NOINLINE static void *rec_a(int k, size_t n) { return k ? rec_a(k - 1, n) : leaf(n); }
SAMPLE_NOINLINE static void *rec_b(int k, size_t n) { return k ? rec_b(k - 1, n) : leaf(n); }

/* Where padded() puts the frame of fixed(): the same address whatever
 * the depth padded() is called at (frames are 16-byte aligned at -O0). */
static _Thread_local char *target;

SAMPLE_NOINLINE static void *fixed(size_t n) { return malloc(n); }

SAMPLE_NOINLINE static void *padded(size_t n)
{
    char *here = __builtin_frame_address(0);
    if (!target)
        target = here - 4096;
    volatile char *pad = __builtin_alloca((size_t)(here - target));
    pad[0] = 1;                       /* the rest keeps what was there */
    return fixed(n);
}

SAMPLE_NOINLINE static void *deep(int k, size_t n) { return k ? deep(k - 1, n) : padded(n); }

static void leak(void *p)
{
    sample_check(p != NULL, "malloc");
    sample_drop(p);
}

SAMPLE_NOINLINE static void one_round(size_t base)
{
    /* The deeper first (padded() sets its target there), then at once
     * the shallower, from the same call: the deeper call's frames are
     * still in the area padded() alloca()s. */
    for (int k = 7; k > 0; k -= 5)
        leak(deep(k, base + (k == 7 ? SZ_DEEP_7 : SZ_DEEP_2)));
    for (int twice = 0; twice < 2; twice++) {
        leak(via_a(base + SZ_VIA_A));
        leak(via_b(base + SZ_VIA_B));
    }
    leak(pick(0, base + SZ_PICK_X));
    leak(pick(1, base + SZ_PICK_Y));
    leak(rec_a(6, base + SZ_REC_A));
    leak(rec_b(3, base + SZ_REC_B));
}

SAMPLE_NOINLINE static void run(size_t base)
{
    for (int i = 0; i < ROUNDS; i++)
        one_round(base);
}

static void *thread_main(void *arg)
{
    run((size_t)(uintptr_t)arg);
    return NULL;
}

int main(void)
{
    pthread_t t;
    sample_check(pthread_create(&t, NULL, thread_main, (void *)(uintptr_t)1000) == 0,
                 "pthread_create");
    run(0);
    sample_check(pthread_join(t, NULL) == 0, "pthread_join");
    sample_scrub_stack();
    sample_say("walk_reuse: done\n");
    return 0;
}
