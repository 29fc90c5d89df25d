/*
 * rc_pool - several refcounted objects in one heap block: a pool of three
 * Nodes allocated with one calloc, each with its own reference count.
 *
 * A 104-byte struct pool is an 8-byte header (magic, number of live
 * items) followed by three 32-byte Nodes at byte offsets 8, 40 and 72
 * (refcount at 0 and peer at 8 inside each).  A Node finds its pool from
 * its index, not through a pointer.  Every Node is declared to
 * refscope with refscope_object(&pool->items[i], ...).  When a Node's
 * count drops to 0 its pool's live count goes down; the pool is freed
 * when no item is live.
 *
 * make_pool() creates the pool (pool_new, every item at refcount 1), then:
 *  - items[0] gets a reference in keep_wrong that is never released, and
 *    make_pool drops its own: refcount 1, no pointer to it;
 *  - items[1] and items[2] hold counted references to each other through
 *    peer (node_set_peer: pointers inside the same block), and make_pool
 *    drops its own: each has refcount 1, explained by the other's peer.
 * The pool is never freed.
 *
 * Each object of the block is its own node (lib/model/objnodes.h): items[0]
 * owns bytes [0, 40) of the block (the header included), items[1] [40, 72)
 * and items[2] [72, 104).  refscope must report:
 *  - one "leaked_ref" finding: type "Node", 40 bytes in 1 block (node),
 *    allocated in pool_new, refcount 1, pointers 0, one unbalanced incref
 *    taken in keep_wrong;
 *  - one "cycle" finding: 1 group of 2 Node objects, 64 bytes, members of
 *    32 bytes with refcount 1, edges at offset 8 both ways (field "peer"),
 *    references taken in node_set_peer.
 * No leaked, indirect, reachable block or refcount error.  (When a block
 * was one node, its first object stood for all three: one "cycle" of 104
 * bytes, the two peer pointers counted as references to items[0].)
 *
 * LeakSanitizer: one block of 104 bytes, direct.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked_refs 40/1
 *   @total   cycles      64/2
 *   @total   reachable   0/0
 *   @finding leaked_ref  40/1  pool_new
 *   @finding cycle       64/2  pool_new
 *   @lsan    direct      104/1
 */
#include "sample_util.h"

#include <refscope.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

struct pool;

struct node {
    int          refcnt;
    int          index;
    struct node *peer;       /* offset 8, counted reference */
    long         payload[2]; /* no pointer back to the pool: one would be
                                a reference to items[0] */
};

struct pool {
    uint32_t    magic;
    uint32_t    live;        /* items whose count is above 0 */
    struct node items[3];    /* offsets 8, 40, 72 */
};

_Static_assert(sizeof(struct node) == 32, "the header's numbers assume 32");
_Static_assert(offsetof(struct node, peer) == 8, "the header says offset 8");
_Static_assert(offsetof(struct pool, items) == 8, "the header says 8");
_Static_assert(sizeof(struct pool) == 104, "the header says 104");

SAMPLE_NOINLINE static struct pool *pool_new(void)
{
    struct pool *p = calloc(1, sizeof *p);
    sample_check(p != NULL, "calloc(pool)");
    p->magic = 0x504f4f4c;
    for (int i = 0; i < 3; i++) {
        struct node *n = &p->items[i];
        n->refcnt = 1;
        n->index = i;
        refscope_object(n, "Node", offsetof(struct node, refcnt), sizeof n->refcnt);
        p->live++;
    }
    return p;
}

static struct pool *pool_of(struct node *n)
{
    return (struct pool *)((char *)(n - n->index) - offsetof(struct pool, items));
}

SAMPLE_NOINLINE static struct node *node_ref(struct node *n)
{
    n->refcnt++;
    refscope_incref(n);
    return n;
}

SAMPLE_NOINLINE static void node_unref(struct node *n)
{
    refscope_decref(n);
    if (--n->refcnt != 0)
        return;
    struct pool *p = pool_of(n);
    if (n->peer)
        node_unref(n->peer);
    if (--p->live == 0)
        free(p);
}

SAMPLE_NOINLINE static void node_set_peer(struct node *n, struct node *peer)
{
    n->peer = node_ref(peer);
}

SAMPLE_NOINLINE static void keep_wrong(struct node *n)
{
    node_ref(n);
    n->payload[0] = 1;
    /* forgot node_unref(n) */
}

SAMPLE_NOINLINE static void make_pool(void)
{
    struct pool *p = pool_new();
    keep_wrong(&p->items[0]);
    node_set_peer(&p->items[1], &p->items[2]);
    node_set_peer(&p->items[2], &p->items[1]);
    node_unref(&p->items[0]);
    node_unref(&p->items[1]);
    node_unref(&p->items[2]);
}

int main(void)
{
    make_pool();
    sample_scrub_stack();
    sample_say("rc_pool: one pooled Node keeps a lost reference, two hold "
               "each other\n");
    return 0;
}
