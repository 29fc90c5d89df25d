/*
 * exit_quick - leaks, then leaves with _exit(3): no atexit handlers, no
 * destructors, no stdio flush.  Debian's sh (dash), forked workers and
 * fatal-signal handlers leave this way.
 *
 * make_list() builds a 2-node list (two 40-byte blocks, the head pointing
 * to the tail) and drops the head: the head is "leaked", the tail
 * "indirect".  make_leak() drops a 77-byte block.  Then _exit(3).
 * refscope analyses inside its _exit() hook: the process's snapshot
 * exists, its exit status is 3 (the same as without refscope), and it
 * reports exactly:
 *
 * LeakSanitizer checks only inside exit() and reports nothing.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     117/2
 *   @total   indirect   40/1
 *   @finding leaked     77/1   make_leak
 *   @finding leaked     40/1   make_list
 *   @finding indirect   40/1   make_list
 */
#include "sample_util.h"

#include <stdlib.h>
#include <unistd.h>

struct node {
    struct node *next;
    char         payload[32];
};

SAMPLE_NOINLINE static void make_list(void)
{
    struct node *head = malloc(sizeof *head);
    sample_check(head != NULL, "malloc(head)");
    head->next = malloc(sizeof *head->next);
    sample_check(head->next != NULL, "malloc(tail)");
    head->next->next = NULL;
    sample_drop(head);
}

SAMPLE_NOINLINE static void make_leak(void)
{
    sample_drop(malloc(77));
}

int main(void)
{
    make_list();
    make_leak();
    sample_scrub_stack();
    sample_say("exit_quick: leaked 77 bytes and a 2-node list, _exit(3)\n");
    _exit(3);
}
