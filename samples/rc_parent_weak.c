/*
 * rc_parent_weak - parent/child where the child's back pointer is weak
 * (not counted): no leak, and the weak pointer must not confuse anyone.
 *
 * Two families of a 40-byte Parent and a 24-byte Child, the parent
 * holding a counted reference to the child, the child a plain (weak)
 * pointer to the parent:
 *  - keep_family() stores its parent in the global `tree`: both objects
 *    stay alive and are "reachable" (64 bytes in 2 blocks).  The child's
 *    back pointer is a pointer the parent's refcount does not count
 *    (trial deletion sees refcount 1 and 2 pointers to the parent): root
 *    reachability wins, nothing is reported.
 *  - drop_family() builds a second family and releases it properly: the
 *    parent's last unref frees the child too.  Nothing is left.
 *
 * refscope must report nothing: no cycle, leaked_ref, leaked, indirect or
 * rc_error finding; summary.reachable 64/2.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   reachable  64/2
 */
#include "sample_util.h"

#include <refscope.h>

#include <stddef.h>
#include <stdlib.h>

struct child;

struct parent {
    long          refcnt;
    struct child *child;     /* counted reference */
    char          title[24];
};

struct child {
    long           refcnt;
    struct parent *parent;   /* weak: not counted */
    long           index;
};

_Static_assert(sizeof(struct parent) == 40, "the header's numbers assume 40");
_Static_assert(sizeof(struct child) == 24, "the header's numbers assume 24");

static struct parent *tree;

SAMPLE_NOINLINE static struct parent *parent_new(void)
{
    struct parent *p = calloc(1, sizeof *p);
    sample_check(p != NULL, "calloc(parent)");
    p->refcnt = 1;
    refscope_object(p, "Parent", offsetof(struct parent, refcnt),
                    sizeof p->refcnt);
    return p;
}

SAMPLE_NOINLINE static struct child *child_new(void)
{
    struct child *c = calloc(1, sizeof *c);
    sample_check(c != NULL, "calloc(child)");
    c->refcnt = 1;
    refscope_object(c, "Child", offsetof(struct child, refcnt),
                    sizeof c->refcnt);
    return c;
}

SAMPLE_NOINLINE static struct child *child_ref(struct child *c)
{
    c->refcnt++;
    refscope_incref(c);
    return c;
}

SAMPLE_NOINLINE static void child_unref(struct child *c)
{
    refscope_decref(c);
    if (--c->refcnt == 0)
        free(c);
}

SAMPLE_NOINLINE static void parent_unref(struct parent *p)
{
    refscope_decref(p);
    if (--p->refcnt == 0) {
        if (p->child) {
            p->child->parent = NULL;
            child_unref(p->child);
        }
        free(p);
    }
}

SAMPLE_NOINLINE static void parent_add_child(struct parent *p, struct child *c)
{
    p->child = child_ref(c);
    c->parent = p;           /* weak back pointer */
}

SAMPLE_NOINLINE static struct parent *make_family(void)
{
    struct parent *p = parent_new();
    struct child *c = child_new();
    parent_add_child(p, c);
    child_unref(c);
    return p;
}

SAMPLE_NOINLINE static void keep_family(void)
{
    tree = make_family();
}

SAMPLE_NOINLINE static void drop_family(void)
{
    parent_unref(make_family());
}

int main(void)
{
    keep_family();
    drop_family();
    sample_scrub_stack();
    sample_say("rc_parent_weak: weak back pointers, nothing leaks\n");
    return 0;
}
