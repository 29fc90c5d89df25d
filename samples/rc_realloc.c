/*
 * rc_realloc - refcounted objects whose blocks are realloc'ed bigger and
 * move: the object records must follow their blocks.
 *
 * A Buf is a 16-byte header (refcount at 0, peer at 8) with a flexible
 * data array; a Chunk has its struct kref at byte 16 (an interior object
 * pointer, kref style, as in rc_embedded).  Each object is created 32
 * bytes long with a small "fence" block allocated right after it, so that
 * growing it to 256 bytes with realloc() cannot happen in place: the block
 * moves (the sample checks that it did; the fences are freed).
 *
 * make_cycle() creates Bufs a and b, grows both (buf_grow), makes each
 * hold a counted reference to the other through peer (buf_set_peer) and
 * drops its own references (buf_unref, through the new pointers).
 * make_leak() creates a Chunk, grows it (chunk_grow), gets and puts a
 * reference (use_ok), gets one and never puts it (keep_wrong), then puts
 * its own: refcount 1, no pointer to it.  make_ignored() allocates a
 * plain 32-byte block, marks it with refscope_ignore(), grows it to 256
 * bytes (moved) and drops the pointer: the ignore follows the block, which
 * is therefore a root and "reachable", not leaked.  make_temp() creates a
 * Buf, grows it and releases it with no other event in between: the
 * decref and the free happen at its new address, nothing to report.
 *
 * refscope must report, with the objects at their new addresses:
 *  - one "cycle" finding: 1 group, type "Buf", 2 members of 256 bytes
 *    with refcount 1, edges at offset 8 both ways (field "peer"),
 *    allocated (the realloc that made the block) in buf_grow; references
 *    taken in buf_set_peer;
 *  - one "leaked_ref" finding: type "Chunk", 256 bytes in 1 block,
 *    allocated in chunk_grow, refcount 1 (read at block offset 16),
 *    pointers 0, one unbalanced incref taken in keep_wrong.
 * No refcount error: the decrefs and frees after the moves are those of
 * tracked objects.  (When the records stayed at the old addresses,
 * make_temp's decref was a "decref of untracked object", the Chunk lost
 * its history and type and was reported as a plain leak, and the ignored
 * block as leaked.)  No leaked or indirect block; the ignored block is
 * the only reachable one (256 bytes).
 *
 * LeakSanitizer: the Bufs point to each other, 512 bytes in 2 blocks
 * indirect; the Chunk and the ignored block are 512 bytes in 2 blocks
 * direct.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   cycles      512/2
 *   @total   leaked_refs 256/1
 *   @total   reachable   256/1
 *   @finding cycle       512/2  buf_grow
 *   @finding leaked_ref  256/1  chunk_grow
 *   @lsan    direct      512/2
 *   @lsan    indirect    512/2
 */
#include "sample_util.h"

#include <refscope.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))

#define SMALL_DATA 16    /* data bytes at creation: a 32-byte block      */
#define GROWN      256   /* block size after the grow                    */

struct buf {
    int         refcnt;
    int         len;
    struct buf *peer;        /* offset 8, counted reference */
    char        data[];
};

struct kref {
    int refcount;
};

struct chunk {
    char        tag[16];
    struct kref kref;        /* offset 16: the object pointer */
    int         len;
    char        data[];
};

_Static_assert(sizeof(struct buf) == 16, "the header's numbers assume 16");
_Static_assert(offsetof(struct buf, peer) == 8, "the header says offset 8");
_Static_assert(offsetof(struct chunk, kref) == 16, "the header says 16");
_Static_assert(sizeof(struct chunk) == 24, "the grow arithmetic assumes 24");

/* A block allocated right after the object keeps realloc from growing it
 * in place.  calloc, like the objects: glibc's calloc bypasses the tcache,
 * so the fence comes from the same place as the object before it. */
SAMPLE_NOINLINE static void *fence(void)
{
    void *f = calloc(1, 32);
    sample_check(f != NULL, "calloc(fence)");
    return f;
}

/* The grows below must have moved their block (the point of the sample). */
static void check_moved(uintptr_t before, const void *now)
{
    sample_check(now != NULL, "realloc(grow)");
    sample_check((uintptr_t)now != before, "realloc moved the block");
}

/* ---- Buf: the object at the block's start ---- */

SAMPLE_NOINLINE static struct buf *buf_new(void)
{
    struct buf *b = calloc(1, sizeof *b + SMALL_DATA);
    sample_check(b != NULL, "calloc(buf)");
    b->refcnt = 1;
    b->len = SMALL_DATA;
    refscope_object(b, "Buf", offsetof(struct buf, refcnt), sizeof b->refcnt);
    return b;
}

SAMPLE_NOINLINE static struct buf *buf_grow(struct buf *b)
{
    uintptr_t before = (uintptr_t)b;
    b = realloc(b, GROWN);
    check_moved(before, b);
    memset(b->data + b->len, 0, GROWN - sizeof *b - (size_t)b->len);
    b->len = GROWN - (int)sizeof *b;
    return b;
}

SAMPLE_NOINLINE static struct buf *buf_ref(struct buf *b)
{
    b->refcnt++;
    refscope_incref(b);
    return b;
}

SAMPLE_NOINLINE static void buf_unref(struct buf *b)
{
    refscope_decref(b);
    if (--b->refcnt == 0) {
        if (b->peer)
            buf_unref(b->peer);
        free(b);
    }
}

SAMPLE_NOINLINE static void buf_set_peer(struct buf *b, struct buf *peer)
{
    b->peer = buf_ref(peer);
}

/* ---- Chunk: the object inside the block ---- */

SAMPLE_NOINLINE static struct chunk *chunk_new(void)
{
    struct chunk *c = calloc(1, sizeof *c + SMALL_DATA - 8);
    sample_check(c != NULL, "calloc(chunk)");
    strcpy(c->tag, "chunk");
    c->kref.refcount = 1;
    c->len = SMALL_DATA - 8;
    refscope_object(&c->kref, "Chunk", offsetof(struct kref, refcount),
                    sizeof c->kref.refcount);
    return c;
}

SAMPLE_NOINLINE static struct chunk *chunk_grow(struct chunk *c)
{
    uintptr_t before = (uintptr_t)c;
    c = realloc(c, GROWN);
    check_moved(before, c);
    c->len = GROWN - (int)sizeof *c;
    return c;
}

SAMPLE_NOINLINE static void kref_get(struct kref *k)
{
    k->refcount++;
    refscope_incref(k);
}

SAMPLE_NOINLINE static void kref_put(struct kref *k)
{
    refscope_decref(k);
    if (--k->refcount == 0)
        free(container_of(k, struct chunk, kref));
}

SAMPLE_NOINLINE static void use_ok(struct chunk *c)
{
    kref_get(&c->kref);
    c->data[0] = 1;
    kref_put(&c->kref);
}

SAMPLE_NOINLINE static void keep_wrong(struct chunk *c)
{
    kref_get(&c->kref);
    c->data[1] = 2;
    /* forgot kref_put(&c->kref) */
}

/* ---- a plain block under refscope_ignore() ---- */

SAMPLE_NOINLINE static void make_ignored(void)
{
    char *cache = calloc(1, 32);
    sample_check(cache != NULL, "calloc(cache)");
    refscope_ignore(cache);
    void *f = fence();
    uintptr_t before = (uintptr_t)cache;
    cache = realloc(cache, GROWN);
    check_moved(before, cache);
    free(f);
    memset(cache, 0, GROWN);
    sample_drop(cache);
}

/* ---- the scenarios ---- */

SAMPLE_NOINLINE static void make_cycle(void)
{
    struct buf *a = buf_new();
    void *fa = fence();
    struct buf *b = buf_new();
    void *fb = fence();
    a = buf_grow(a);
    b = buf_grow(b);
    free(fa);
    free(fb);
    buf_set_peer(a, b);
    buf_set_peer(b, a);
    buf_unref(a);
    buf_unref(b);
}

SAMPLE_NOINLINE static void make_leak(void)
{
    struct chunk *c = chunk_new();
    void *f = fence();
    c = chunk_grow(c);
    free(f);
    use_ok(c);
    keep_wrong(c);
    kref_put(&c->kref);
}

SAMPLE_NOINLINE static void make_temp(void)
{
    struct buf *t = buf_new();
    void *f = fence();
    t = buf_grow(t);
    free(f);
    buf_unref(t);
}

int main(void)
{
    make_cycle();
    make_leak();
    make_ignored();
    make_temp();
    sample_scrub_stack();
    sample_say("rc_realloc: two grown Bufs hold each other, a grown Chunk "
               "keeps a lost reference\n");
    return 0;
}
