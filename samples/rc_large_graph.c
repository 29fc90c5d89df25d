/*
 * rc_large_graph - a large heap graph: 100,000 two-object cycles (200,000
 * refcounted 16-byte Pnodes), to show that the exit analysis scales.
 *
 * make_pairs() calls make_pair() 100,000 times; each creates two Pnodes
 * from the same call site in pnode_new (so every node has the same
 * allocation stack), links each to the other with a counted reference
 * (pnode_link) and drops its own references.  Every pair is a separate
 * strongly connected group whose references are all explained.
 *
 * refscope must report summary.cycles: 100,000 groups, 200,000 objects,
 * 3,200,000 bytes; and, all groups having the same member types and
 * allocation stacks, exactly one aggregated "cycle" finding: groups
 * 100000, 3,200,000 bytes in 200,000 blocks, type "Pnode", allocated in
 * pnode_new, members the 2 Pnodes (16 bytes, refcount 1) of one
 * representative group and edges 0 -> 1, 1 -> 0 at offset 8 (field
 * "peer").  The issue asks for the analysis in well under a second; the
 * integration test measures and prints the wall time of the whole run
 * (no timing assertion).
 *
 * LeakSanitizer: 3,200,000 bytes in 200,000 objects indirect.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   cycles     3200000/200000
 *   @total   reachable  0/0
 *   @finding cycle      3200000/200000  pnode_new
 *   @lsan    indirect   3200000/200000
 */
#include "sample_util.h"

#include <refscope.h>

#include <stddef.h>
#include <stdlib.h>

#define N_PAIRS 100000

struct pnode {
    int           refcnt;
    int           id;
    struct pnode *peer;       /* offset 8: counted reference */
};

_Static_assert(sizeof(struct pnode) == 16, "the header's numbers assume 16");

SAMPLE_NOINLINE static struct pnode *pnode_new(int id)
{
    struct pnode *n = malloc(sizeof *n);
    sample_check(n != NULL, "malloc(pnode)");
    n->refcnt = 1;
    n->id = id;
    n->peer = NULL;
    refscope_object(n, "Pnode", offsetof(struct pnode, refcnt),
                    sizeof n->refcnt);
    return n;
}

SAMPLE_NOINLINE static struct pnode *pnode_ref(struct pnode *n)
{
    n->refcnt++;
    refscope_incref(n);
    return n;
}

SAMPLE_NOINLINE static void pnode_unref(struct pnode *n)
{
    refscope_decref(n);
    if (--n->refcnt == 0) {
        if (n->peer)
            pnode_unref(n->peer);
        free(n);
    }
}

SAMPLE_NOINLINE static void pnode_link(struct pnode *n, struct pnode *peer)
{
    n->peer = pnode_ref(peer);
}

SAMPLE_NOINLINE static void make_pair(int id)
{
    struct pnode *n[2];
    for (int k = 0; k < 2; k++)
        n[k] = pnode_new(2 * id + k);
    pnode_link(n[0], n[1]);
    pnode_link(n[1], n[0]);
    pnode_unref(n[0]);
    pnode_unref(n[1]);
}

SAMPLE_NOINLINE static void make_pairs(void)
{
    for (int i = 0; i < N_PAIRS; i++)
        make_pair(i);
}

int main(void)
{
    make_pairs();
    sample_scrub_stack();
    sample_say("rc_large_graph: %d two-object cycles\n", N_PAIRS);
    return 0;
}
