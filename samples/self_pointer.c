/*
 * self_pointer - an unreachable block that points to itself.
 *
 * make_self_node() allocates a 56-byte node whose next field points to
 * the node itself (a one-element circular list) and drops the only outside
 * pointer.  A pointer from a block to itself keeps nothing alive: the node
 * is "leaked" (a group of one, so it is its own lowest address).
 *
 * LeakSanitizer agrees (it skips self pointers): 56 bytes direct.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     56/1
 *   @total   reachable  0/0
 *   @finding leaked     56/1  make_self_node
 *   @lsan    direct     56/1
 */
#include "sample_util.h"

#include <stdlib.h>
#include <string.h>

struct node {
    struct node *next;
    char payload[48];
};

_Static_assert(sizeof(struct node) == 56, "the header's numbers assume 56");

SAMPLE_NOINLINE static void make_self_node(void)
{
    struct node *n = malloc(sizeof *n);
    sample_check(n != NULL, "malloc(node)");
    memset(n->payload, 's', sizeof n->payload);
    n->next = n;
    sample_drop(n);
}

int main(void)
{
    make_self_node();
    sample_scrub_stack();
    sample_say("self_pointer: a 56-byte node pointing to itself leaked\n");
    return 0;
}
