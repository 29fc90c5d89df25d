/*
 * rc_cycle_pair - two refcounted nodes that hold each other: the classic
 * reference cycle.
 *
 * make_pair() creates two 32-byte Node objects with node_new() (refcount
 * 1 each, declared to refscope with refscope_object), makes each hold a
 * counted reference to the other through its peer field (node_set_peer,
 * which calls node_ref: refcount 2), then drops its own references with
 * node_unref (refcount 1).  Each node's only reference is the other's peer
 * pointer, so neither is ever freed.  Trial deletion proves it: refcount 1
 * minus 1 pointer from the other node = 0 for both.
 *
 * refscope must report one cycle group of 2 objects, 64 bytes: one
 * "cycle" finding, type "Node", allocated in node_new, members two Nodes
 * of 32 bytes with refcount 1, edges 0 -> 1 and 1 -> 0 at offset 8 (field
 * "peer" when the field name is known).  The reference behind each edge
 * was taken in node_set_peer (the ctor references were balanced by
 * make_pair's node_unref calls: the ctor is the shallower incref).  No
 * leaked, indirect, leaked_ref or rc_error.
 *
 * LeakSanitizer sees two blocks that point to each other: 64 bytes in 2
 * objects indirect and nothing direct (it has no notion of refcounts).
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   cycles     64/2
 *   @total   reachable  0/0
 *   @finding cycle      64/2  node_new
 *   @lsan    indirect   64/2
 */
#include "sample_util.h"

#include <refscope.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct node {
    int          refcnt;
    int          id;
    struct node *peer;      /* counted reference */
    char         name[16];
};

_Static_assert(sizeof(struct node) == 32, "the header's numbers assume 32");
_Static_assert(offsetof(struct node, peer) == 8, "the header says offset 8");

SAMPLE_NOINLINE static struct node *node_new(int id)
{
    struct node *n = calloc(1, sizeof *n);
    sample_check(n != NULL, "calloc(node)");
    n->refcnt = 1;
    n->id = id;
    strcpy(n->name, id ? "second" : "first");
    refscope_object(n, "Node", offsetof(struct node, refcnt),
                    sizeof n->refcnt);
    return n;
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
    if (--n->refcnt == 0) {
        if (n->peer)
            node_unref(n->peer);
        free(n);
    }
}

SAMPLE_NOINLINE static void node_set_peer(struct node *n, struct node *peer)
{
    n->peer = node_ref(peer);
}

SAMPLE_NOINLINE static void make_pair(void)
{
    struct node *a = node_new(0);
    struct node *b = node_new(1);
    node_set_peer(a, b);
    node_set_peer(b, a);
    node_unref(a);
    node_unref(b);
}

int main(void)
{
    make_pair();
    sample_scrub_stack();
    sample_say("rc_cycle_pair: two Nodes hold each other\n");
    return 0;
}
