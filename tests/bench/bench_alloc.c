/*
 * bench_alloc - an allocation-heavy program for measuring refscope's
 * overhead against the program run natively and against other tools.
 *
 * Each of T threads makes N operations on a working set of W slots: an
 * empty slot gets a block (sizes 8..1024 mostly, 4 KiB..64 KiB rarely)
 * allocated at a recursion depth of 1..32 frames, so backtraces vary in
 * depth; a full slot is freed, or reallocated one time in four.  Before
 * the threads start, L long-lived blocks are allocated and kept in a
 * global array until exit (they are reachable, so a leak checker must
 * scan them).  Everything but the long-lived blocks is freed before exit.
 *
 * Prints "max_live_blocks=<n> exit_live_blocks=<n> checksum=<x>":
 * max_live_blocks bounds the number of blocks live at once from above (sum
 * of per-thread maxima plus the long-lived ones), exit_live_blocks is
 * what a leak checker finds at exit; the checksum depends only on the
 * arguments, so runs under different tools can be compared.  Options:
 *   -n ops per thread (default 4000000)   -t threads (default 1)
 *   -w working-set slots per thread (default 4096)
 *   -l long-lived blocks (default 100000)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct bench_cfg {
    long ops, threads, slots, long_lived;
} bench_cfg_t;

/* A line each (and allocated on a line boundary): every operation writes
 * its worker's seed and checksum, and two workers sharing a line made the
 * 2-thread figures depend on where the array happened to land (10%
 * between builds that differed only in refscope's code). */
typedef struct bench_worker {
    const bench_cfg_t *cfg;
    uint64_t seed;
    uint64_t checksum;
    long live, max_live;          /* blocks in the working set            */
} __attribute__((aligned(64))) bench_worker_t;

static void **long_lived;

static uint64_t next_random(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static size_t pick_size(uint64_t r)
{
    if ((r & 255) == 0)
        return 4096 + (size_t)((r >> 8) % (60 * 1024));
    return 8 + (size_t)((r >> 8) % 1017);
}

/* Allocates at recursion depth `depth` so stacks differ in length. */
__attribute__((noinline)) static void *alloc_at_depth(int depth, size_t size,
                                                      int zeroed)
{
    if (depth > 0) {
        void *p = alloc_at_depth(depth - 1, size, zeroed);
        __asm__ volatile("" : : "r"(p) : "memory"); /* no tail call */
        return p;
    }
    return zeroed ? calloc(1, size) : malloc(size);
}

static void *worker(void *arg)
{
    bench_worker_t *w = arg;
    long n_slots = w->cfg->slots;
    void **slots = calloc((size_t)n_slots, sizeof *slots);
    if (!slots)
        return NULL;
    for (long i = 0; i < w->cfg->ops; i++) {
        uint64_t r = next_random(&w->seed);
        void **slot = &slots[r % (uint64_t)n_slots];
        r = next_random(&w->seed);
        if (!*slot) {
            size_t size = pick_size(r);
            *slot = alloc_at_depth((int)(r >> 40) % 32 + 1, size, r & 1);
            if (*slot) {
                ((unsigned char *)*slot)[0] = (unsigned char)size;
                if (++w->live > w->max_live)
                    w->max_live = w->live;
            }
            w->checksum += size;
        } else if ((r & 3) == 0) {
            size_t size = pick_size(r >> 2);
            void *p = realloc(*slot, size);
            if (p) {
                *slot = p;
                w->checksum += size * 3;
            }
        } else {
            free(*slot);
            *slot = NULL;
            w->live--;
            w->checksum += 1;
        }
    }
    for (long i = 0; i < n_slots; i++)
        free(slots[i]);
    free(slots);
    return NULL;
}

static int parse_args(int argc, char **argv, bench_cfg_t *cfg)
{
    *cfg = (bench_cfg_t){4000000, 1, 4096, 100000};
    int c;
    while ((c = getopt(argc, argv, "n:t:w:l:")) != -1) {
        long v = atol(optarg);
        if (v <= 0 && c != 'l')
            return -1;
        switch (c) {
        case 'n': cfg->ops = v; break;
        case 't': cfg->threads = v; break;
        case 'w': cfg->slots = v; break;
        case 'l': cfg->long_lived = v; break;
        default: return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    bench_cfg_t cfg;
    if (parse_args(argc, argv, &cfg) != 0) {
        fprintf(stderr, "usage: bench_alloc [-n ops] [-t threads] "
                        "[-w slots] [-l long-lived]\n");
        return 2;
    }
    long_lived = calloc((size_t)cfg.long_lived + 1, sizeof *long_lived);
    uint64_t seed = 42, checksum = 0;
    for (long i = 0; long_lived && i < cfg.long_lived; i++) {
        size_t size = 16 + (size_t)(next_random(&seed) % 240);
        long_lived[i] = alloc_at_depth((int)(i % 8), size, 0);
        checksum += size;
    }
    pthread_t *tids = calloc((size_t)cfg.threads, sizeof *tids);
    bench_worker_t *ws = aligned_alloc(64, (size_t)cfg.threads * sizeof *ws);
    if (!long_lived || !tids || !ws)
        return 1;
    for (long t = 0; t < cfg.threads; t++) {
        ws[t] = (bench_worker_t){.cfg = &cfg,
                                 .seed = 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1)};
        if (pthread_create(&tids[t], NULL, worker, &ws[t]) != 0)
            return 1;
    }
    long max_live = cfg.long_lived + 1;
    for (long t = 0; t < cfg.threads; t++) {
        pthread_join(tids[t], NULL);
        checksum += ws[t].checksum;
        max_live += ws[t].max_live + 1;
    }
    free(tids);
    free(ws);
    printf("max_live_blocks=%ld exit_live_blocks=%ld checksum=%llx\n",
           max_live, cfg.long_lived + 1, (unsigned long long)checksum);
    return 0;
}
