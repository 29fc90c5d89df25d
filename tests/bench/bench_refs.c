/*
 * bench_refs - refcount traffic for measuring refscope's reference hooks:
 * millions of bobj_ref/bobj_unref calls into libbenchobj (benchobj.h), a
 * shared library whose exported functions refscope hooks through
 * benchobj.profile.
 *
 * O objects are created up front and split evenly between T threads; each
 * thread makes N operations on its own objects.  An operation either
 * (1 in 64) replaces an object: drops the array's reference, which frees
 * it, and creates a new one; or, at a recursion depth of 1..8 frames (so
 * stacks differ), takes a reference to one object, one time in two a
 * second reference to another, touches them and drops the references in
 * reverse order, like a function borrowing its arguments.  The objects
 * left at the end stay referenced from a global array until exit
 * (reachable, with their reference history, when refscope analyses).
 *
 * Prints "objects=<o> ref_calls=<n> checksum=<x>": ref_calls counts every
 * call to bobj_new/bobj_ref/bobj_unref; the checksum depends only on the
 * arguments, so runs with and without refscope can be compared.
 * Options:  -n ops per thread (default 2000000)  -t threads (default 1)
 *           -o objects (default 10000)
 */
#include "benchobj.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* A line each, allocated on a line boundary: each operation writes its
 * worker's seed, checksum and count, and workers sharing a line would
 * make the 2-thread figures depend on the array's address (bench_alloc.c
 * had 10% of it). */
typedef struct refs_worker {
    bobj_t  **objs;            /* this thread's slice of all_objects      */
    long      n_objs, ops;
    uint32_t  next_id;
    uint64_t  seed, checksum, calls;
} __attribute__((aligned(64))) refs_worker_t;

static bobj_t **all_objects;   /* kept until exit: reachable objects      */

static uint64_t next_random(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Borrows a (and b when not NULL) at recursion depth `depth`. */
__attribute__((noinline)) static uint64_t borrow(int depth, bobj_t *a, bobj_t *b)
{
    if (depth > 0) {
        uint64_t v = borrow(depth - 1, a, b);
        __asm__ volatile("" : : "r"(v) : "memory"); /* no tail call */
        return v;
    }
    bobj_ref(a);
    if (b)
        bobj_ref(b);
    uint64_t v = ++a->payload[0] + (b ? ++b->payload[1] : 0);
    if (b)
        bobj_unref(b);
    bobj_unref(a);
    return v;
}

static void *worker(void *arg)
{
    refs_worker_t *w = arg;
    for (long i = 0; i < w->ops; i++) {
        uint64_t r = next_random(&w->seed);
        bobj_t **slot = &w->objs[r % (uint64_t)w->n_objs];
        r = next_random(&w->seed);
        if ((r & 63) == 0) {
            bobj_unref(*slot);
            *slot = bobj_new(w->next_id++);
            w->calls += 2;
            w->checksum += *slot ? (*slot)->id : 0;
            continue;
        }
        bobj_t *b = (r & 64) ? w->objs[(r >> 8) % (uint64_t)w->n_objs] : NULL;
        if (b == *slot)
            b = NULL;
        w->checksum += borrow((int)((r >> 40) % 8) + 1, *slot, b);
        w->calls += b ? 4 : 2;
    }
    return NULL;
}

static int parse_args(int argc, char **argv, long *ops, long *threads, long *objs)
{
    *ops = 2000000, *threads = 1, *objs = 10000;
    int c;
    while ((c = getopt(argc, argv, "n:t:o:")) != -1) {
        long v = atol(optarg);
        if (v <= 0)
            return -1;
        switch (c) {
        case 'n': *ops = v; break;
        case 't': *threads = v; break;
        case 'o': *objs = v; break;
        default: return -1;
        }
    }
    return *objs >= *threads ? 0 : -1;
}

int main(int argc, char **argv)
{
    long ops, threads, n_objs;
    if (parse_args(argc, argv, &ops, &threads, &n_objs) != 0) {
        fprintf(stderr, "usage: bench_refs [-n ops] [-t threads] [-o objects >= threads]\n");
        return 2;
    }
    all_objects = calloc((size_t)n_objs, sizeof *all_objects);
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    refs_worker_t *ws = aligned_alloc(64, (size_t)threads * sizeof *ws);
    if (!all_objects || !tids || !ws)
        return 1;
    for (long i = 0; i < n_objs; i++)
        if (!(all_objects[i] = bobj_new((uint32_t)i)))
            return 1;
    uint64_t calls = (uint64_t)n_objs, checksum = 0;
    long per = n_objs / threads;
    for (long t = 0; t < threads; t++) {
        ws[t] = (refs_worker_t){
            .objs = all_objects + t * per,
            .n_objs = t + 1 == threads ? n_objs - t * per : per,
            .ops = ops,
            .next_id = (uint32_t)(n_objs + t * ops),
            .seed = 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1),
        };
        if (pthread_create(&tids[t], NULL, worker, &ws[t]) != 0)
            return 1;
    }
    for (long t = 0; t < threads; t++) {
        pthread_join(tids[t], NULL);
        checksum += ws[t].checksum;
        calls += ws[t].calls;
    }
    free(tids);
    free(ws);
    printf("objects=%ld ref_calls=%llu checksum=%llx\n", n_objs,
           (unsigned long long)calls, (unsigned long long)checksum);
    return 0;
}
