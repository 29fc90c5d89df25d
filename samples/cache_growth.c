/*
 * cache_growth - an unbounded cache: memory that stays reachable but only
 * ever grows, plus a small leaked list, with a snapshot after each round.
 *
 * A global hash table `cache` (struct cache: 64 buckets, calloc'ed in
 * cache_init, 512 bytes) gets 100 new keys per round, four rounds; each
 * key costs a 48-byte struct entry (make_entry) and a 96-byte value
 * (make_value).  Nothing is ever evicted.  After each round the program
 * calls refscope_snapshot("round<N>") (refscope.h; a no-op without the
 * preload), so `refscope diff` of two rounds shows make_value on top with
 * +100 blocks / +9600 bytes, `refscope trend` over the rounds flags
 * make_value and make_entry as growing in every interval, and `refscope
 * chain SNAP make_value` leads from the global 'cache' through the bucket
 * array (cache_init) and an entry (make_entry) to the value.
 *
 * At the end build_lost_list() makes a 3-entry list with values and drops
 * it: the head entry is leaked (48 bytes), the two other entries and the
 * three values are indirect (96 + 288 bytes).  `refscope graph` of the
 * exit snapshot draws these 6 blocks and the 5 pointers between them.
 * Finally a 16-byte `tail` block is allocated and kept in a global: glibc's
 * top-chunk pointer (main_arena, in libc's data) points just past the
 * last block allocated, and refscope, like the other conservative
 * scanners, counts a one-past-the-end pointer as a reference; `tail`
 * makes sure that block is not one of the lost ones.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     48/1
 *   @total   indirect   384/5
 *   @total   reachable  >=58128/402
 *   @finding leaked     48/1  make_entry
 *   @finding indirect   96/2  make_entry
 *   @finding indirect   288/3  make_value
 *   @lsan    direct     48/1
 *   @lsan    indirect   384/5
 */
#include "sample_util.h"

#include "../preload/refscope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_BUCKETS  64
#define PER_ROUND  100
#define ROUNDS     4
#define VALUE_SIZE 96

struct entry {
    struct entry *next;
    char          key[24];
    char         *value;
    size_t        value_len;
};

_Static_assert(sizeof(struct entry) == 48, "the header's numbers assume 48");

struct cache {
    struct entry **buckets;
    size_t         n_buckets;
    size_t         count;
};

static struct cache cache;     /* the root of everything the cache holds */
static struct entry *lost;     /* cleared at the end: the list leaks     */
static char *tail;             /* the last block allocated                */

SAMPLE_NOINLINE static void cache_init(void)
{
    cache.buckets = calloc(N_BUCKETS, sizeof *cache.buckets);
    sample_check(cache.buckets != NULL, "calloc buckets");
    cache.n_buckets = N_BUCKETS;
}

SAMPLE_NOINLINE static char *make_value(int i)
{
    char *v = malloc(VALUE_SIZE);
    sample_check(v != NULL, "malloc value");
    memset(v, 'a' + i % 26, VALUE_SIZE);
    return v;
}

SAMPLE_NOINLINE static struct entry *make_entry(const char *key, int i)
{
    struct entry *e = malloc(sizeof *e);
    sample_check(e != NULL, "malloc entry");
    memset(e, 0, sizeof *e);
    snprintf(e->key, sizeof e->key, "%s", key);
    e->value = make_value(i);
    e->value_len = VALUE_SIZE;
    return e;
}

static unsigned hash(const char *s)
{
    unsigned h = 5381;
    while (*s)
        h = h * 33 + (unsigned char)*s++;
    return h;
}

SAMPLE_NOINLINE static void cache_put(int i)
{
    char key[24];
    snprintf(key, sizeof key, "key-%d", i);
    struct entry *e = make_entry(key, i);
    size_t b = hash(key) % cache.n_buckets;
    e->next = cache.buckets[b];
    cache.buckets[b] = e;
    cache.count++;
}

SAMPLE_NOINLINE static void build_lost_list(void)
{
    for (int i = 0; i < 3; i++) {
        struct entry *e = make_entry("lost", i);
        e->next = lost;
        lost = e;
    }
    lost = NULL;
}

int main(void)
{
    cache_init();
    for (int r = 1; r <= ROUNDS; r++) {
        for (int i = 0; i < PER_ROUND; i++)
            cache_put((r - 1) * PER_ROUND + i);
        char label[16];
        snprintf(label, sizeof label, "round%d", r);
        sample_scrub_stack();
        refscope_snapshot(label);
    }
    build_lost_list();
    tail = malloc(16);
    sample_check(tail != NULL, "malloc tail");
    sample_scrub_stack();
    sample_say("cache holds %zu entries\n", cache.count);
    return 0;
}
