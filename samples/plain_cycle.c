/*
 * plain_cycle - three plain (not refcounted) blocks in a ring, unreachable.
 *
 * make_ring_node() is called three times from the same call site; the
 * 64-byte nodes point a -> b -> c -> a and the last outside pointer is
 * dropped.  No node is refcounted, so this is not a "cycle" finding: in a
 * group of plain blocks that only point at each other refscope calls the
 * lowest-address block "leaked" and the others "indirect".  All three
 * share one allocation stack, so there is one finding of each class.
 *
 * LeakSanitizer differs: every node is pointed to by another leaked node,
 * so it calls all three indirect and reports no direct leak: 0 direct,
 * 192 bytes in 3 objects indirect.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     64/1
 *   @total   indirect   128/2
 *   @total   reachable  0/0
 *   @finding leaked     64/1   make_ring_node
 *   @finding indirect   128/2  make_ring_node
 *   @lsan    direct     0/0
 *   @lsan    indirect   192/3
 */
#include "sample_util.h"

#include <stdlib.h>
#include <string.h>

struct ring {
    struct ring *next;
    char payload[56];
};

_Static_assert(sizeof(struct ring) == 64, "the header's numbers assume 64");

SAMPLE_NOINLINE static struct ring *make_ring_node(struct ring *next)
{
    struct ring *r = malloc(sizeof *r);
    sample_check(r != NULL, "malloc(ring)");
    memset(r->payload, 'r', sizeof r->payload);
    r->next = next;
    return r;
}

SAMPLE_NOINLINE static void make_ring(void)
{
    struct ring *first = NULL, *last = NULL;
    for (int i = 0; i < 3; i++) {
        first = make_ring_node(first);
        if (!last)
            last = first;
    }
    last->next = first;
    sample_drop(first);
}

int main(void)
{
    make_ring();
    sample_scrub_stack();
    sample_say("plain_cycle: a ring of three 64-byte nodes leaked\n");
    return 0;
}
