/*
 * stress_threads - four threads doing 2,000,000 allocator operations.
 *
 * Each thread runs a deterministic pseudo-random mix of malloc, calloc,
 * realloc (grow, shrink, realloc(NULL, n)), free, posix_memalign and
 * aligned_alloc over a table of 1024 slots, sizes 1..4096 with an
 * occasional 64 KiB block, 500,000 operations per thread.  The program
 * counts every operation and checks that exactly 2,000,000 were made and
 * that every slot was freed at the end.  Then each thread t (0..3)
 * deliberately leaks:
 *   10 blocks of 100 + t bytes from stress_leak_malloc   (4060 bytes, 40)
 *    5 blocks of 200 bytes, 64-aligned, stress_leak_aligned (4000, 20)
 * All threads are joined before exit.  Everything else was freed, so
 * "leaked" is exactly 8060 bytes in 60 blocks, nothing is indirect.
 * The leaked blocks are zeroed so no stale pointer links them.
 *
 * "reachable" is not checked: it holds the DTVs that glibc keeps for the
 * four exited threads in its stack cache (see leak_in_thread.c).
 *
 * LeakSanitizer agrees: 8060 bytes in 60 objects direct.
 *
 * An optional argument replaces the total number of operations (used by
 * quick runs; the numbers above assume the default).
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     8060/60
 *   @finding leaked     4060/40  stress_leak_malloc
 *   @finding leaked     4000/20  stress_leak_aligned
 *   @lsan    direct     8060/60
 */
#include "sample_util.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define N_THREADS 4
#define N_SLOTS 1024
#define DEFAULT_OPS 2000000L

enum op { OP_MALLOC, OP_CALLOC, OP_MEMALIGN, OP_ALIGNED, OP_REALLOC,
          OP_FREE, OP_REALLOC_NULL, N_OPS };

struct worker {
    int      index;
    long     ops;                 /* operations to make                  */
    long     done[N_OPS];         /* operations made, by kind            */
    long     live_at_end;         /* slots still holding a block         */
};

static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

static size_t random_size(uint64_t *rng)
{
    uint64_t r = next_random(rng);
    if ((r & 1023) == 0)
        return 64 * 1024;
    return 1 + (size_t)((r >> 10) % 4096);
}

/* Fills an empty slot with a block from one of four entry points. */
static void fill_slot(void **slot, uint64_t *rng, struct worker *w)
{
    size_t size = random_size(rng);
    void *p = NULL;
    enum op kind = (enum op)(next_random(rng) % 4);
    switch (kind) {
    case OP_MALLOC:   p = malloc(size); break;
    case OP_CALLOC:   p = calloc(1, size); break;
    case OP_MEMALIGN:
        if (posix_memalign(&p, 32, size) != 0)
            p = NULL;
        break;
    default:          p = aligned_alloc(16, (size + 15) & ~(size_t)15); break;
    }
    sample_check(p != NULL, "allocation in stress");
    ((char *)p)[0] = (char)size;
    *slot = p;
    w->done[kind]++;
}

/* Frees or reallocates a full slot. */
static void churn_slot(void **slot, uint64_t *rng, struct worker *w)
{
    uint64_t r = next_random(rng);
    if (r % 3 == 0) {
        void *p = realloc(*slot, random_size(rng));
        sample_check(p != NULL, "realloc in stress");
        *slot = p;
        w->done[OP_REALLOC]++;
    } else {
        free(*slot);
        *slot = NULL;
        w->done[OP_FREE]++;
    }
}

SAMPLE_NOINLINE static void stress_leak_malloc(size_t size)
{
    void *p = malloc(size);
    sample_check(p != NULL, "malloc(leak)");
    memset(p, 0, size);
    sample_drop(p);
}

SAMPLE_NOINLINE static void stress_leak_aligned(void)
{
    void *p = NULL;
    sample_check(posix_memalign(&p, 64, 200) == 0, "posix_memalign(leak)");
    memset(p, 0, 200);
    sample_drop(p);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(w->index + 1);
    void **slots = calloc(N_SLOTS, sizeof *slots);
    sample_check(slots != NULL, "calloc(slots)");
    for (long i = 0; i < w->ops; i++) {
        void **slot = &slots[next_random(&rng) % N_SLOTS];
        if (*slot) {
            churn_slot(slot, &rng, w);
        } else if (next_random(&rng) % 16 == 0) {
            *slot = realloc(NULL, random_size(&rng));
            sample_check(*slot != NULL, "realloc(NULL)");
            w->done[OP_REALLOC_NULL]++;
        } else {
            fill_slot(slot, &rng, w);
        }
    }
    for (int i = 0; i < N_SLOTS; i++) {
        if (slots[i]) {
            free(slots[i]);
            slots[i] = NULL;
        }
    }
    for (int i = 0; i < N_SLOTS; i++)
        w->live_at_end += slots[i] != NULL;
    free(slots);
    for (int i = 0; i < 10; i++)
        stress_leak_malloc(100 + (size_t)w->index);
    for (int i = 0; i < 5; i++)
        stress_leak_aligned();
    sample_scrub_stack();
    return NULL;
}

int main(int argc, char **argv)
{
    long total = argc > 1 ? atol(argv[1]) : DEFAULT_OPS;
    sample_check(total >= N_THREADS, "operation count");
    static struct worker workers[N_THREADS];
    pthread_t threads[N_THREADS];
    for (int t = 0; t < N_THREADS; t++) {
        workers[t].index = t;
        workers[t].ops = total / N_THREADS + (t < total % N_THREADS);
        sample_check(pthread_create(&threads[t], NULL, worker_main,
                                    &workers[t]) == 0, "pthread_create");
    }
    long done = 0, live = 0;
    for (int t = 0; t < N_THREADS; t++) {
        sample_check(pthread_join(threads[t], NULL) == 0, "pthread_join");
        for (int k = 0; k < N_OPS; k++)
            done += workers[t].done[k];
        live += workers[t].live_at_end;
    }
    sample_check(done == total, "every operation was counted");
    sample_check(live == 0, "every slot was freed");
    sample_scrub_stack();
    sample_say("stress_threads: %d threads, %ld operations, "
               "leaked 60 blocks on purpose\n", N_THREADS, done);
    return 0;
}
