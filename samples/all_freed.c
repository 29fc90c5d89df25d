/*
 * all_freed - a program that frees everything it allocates.
 *
 * churn() exercises every allocation entry point refscope interposes
 * (malloc, calloc, realloc growing and shrinking, reallocarray,
 * posix_memalign, aligned_alloc, memalign, valloc, strdup, strndup) and
 * frees every block, including a linked list of 1000 nodes.  Nothing is
 * live at exit: no findings, nothing reachable.
 *
 * LeakSanitizer agrees: no leaks.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     0/0
 *   @total   reachable  0/0
 *   @lsan    direct     0/0
 */
#include "sample_util.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

struct item {
    struct item *next;
    int value;
};

SAMPLE_NOINLINE static void list_churn(void)
{
    struct item *head = NULL;
    for (int i = 0; i < 1000; i++) {
        struct item *it = malloc(sizeof *it);
        sample_check(it != NULL, "malloc(item)");
        it->value = i;
        it->next = head;
        head = it;
    }
    while (head) {
        struct item *next = head->next;
        free(head);
        head = next;
    }
}

SAMPLE_NOINLINE static void entry_point_churn(void)
{
    char *p = malloc(10);
    sample_check(p != NULL, "malloc");
    p = realloc(p, 10000);
    sample_check(p != NULL, "realloc grow");
    p = realloc(p, 5);
    sample_check(p != NULL, "realloc shrink");
    free(p);

    int *v = calloc(100, sizeof *v);
    sample_check(v != NULL && v[99] == 0, "calloc");
    v = reallocarray(v, 200, sizeof *v);
    sample_check(v != NULL, "reallocarray");
    free(v);

    void *a = NULL;
    sample_check(posix_memalign(&a, 256, 1000) == 0, "posix_memalign");
    free(a);
    a = aligned_alloc(64, 640);
    sample_check(a != NULL, "aligned_alloc");
    free(a);
    a = memalign(128, 100);
    sample_check(a != NULL, "memalign");
    free(a);
    a = valloc(100);
    sample_check(a != NULL, "valloc");
    free(a);

    char *s = strdup("freed");
    char *t = strndup("freed too", 5);
    sample_check(s != NULL && t != NULL && strcmp(s, t) == 0, "strdup");
    free(s);
    free(t);
}

int main(void)
{
    list_churn();
    entry_point_churn();
    sample_scrub_stack();
    sample_say("all_freed: every block freed\n");
    return 0;
}
