/*
 * rc_parent_strong - a parent and its child, the child holding a counted
 * (strong) reference back to its parent: a cycle.
 *
 * make_family() creates a 40-byte Parent (parent_new) and then a 24-byte
 * Child (child_new); parent_add_child() stores a counted reference to the
 * child in parent->child and a counted reference to the parent in
 * child->parent (the bug: a back pointer must not own its target).  Then
 * the creator drops both of its references.  Parent: refcount 1, pointed
 * to by the child; Child: refcount 1, pointed to by the parent.
 *
 * refscope must report one cycle group of 2 objects, 64 bytes: one
 * "cycle" finding allocated in parent_new (the Parent, allocated first,
 * has the lower address and is member 0), type "Parent"; members Parent
 * (40 bytes, refcount 1) and Child (24 bytes, refcount 1); edges Parent
 * -> Child at offset 8 (field "child") and Child -> Parent at offset 8
 * (field "parent"), both references taken in parent_add_child.  Compare
 * rc_parent_weak, where the back pointer is weak and nothing leaks.
 *
 * LeakSanitizer: 64 bytes in 2 objects indirect, nothing direct.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   cycles     64/2
 *   @total   reachable  0/0
 *   @finding cycle      64/2  parent_new
 *   @lsan    indirect   64/2
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
    struct parent *parent;   /* counted reference: the bug */
    long           index;
};

_Static_assert(sizeof(struct parent) == 40, "the header's numbers assume 40");
_Static_assert(sizeof(struct child) == 24, "the header's numbers assume 24");

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

SAMPLE_NOINLINE static void parent_unref(struct parent *p);

SAMPLE_NOINLINE static struct parent *parent_ref(struct parent *p)
{
    p->refcnt++;
    refscope_incref(p);
    return p;
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
    if (--c->refcnt == 0) {
        if (c->parent)
            parent_unref(c->parent);
        free(c);
    }
}

SAMPLE_NOINLINE static void parent_unref(struct parent *p)
{
    refscope_decref(p);
    if (--p->refcnt == 0) {
        if (p->child)
            child_unref(p->child);
        free(p);
    }
}

SAMPLE_NOINLINE static void parent_add_child(struct parent *p, struct child *c)
{
    p->child = child_ref(c);
    c->parent = parent_ref(p);
}

SAMPLE_NOINLINE static void make_family(void)
{
    struct parent *p = parent_new();
    struct child *c = child_new();
    parent_add_child(p, c);
    child_unref(c);
    parent_unref(p);
}

int main(void)
{
    make_family();
    sample_scrub_stack();
    sample_say("rc_parent_strong: parent and child own each other\n");
    return 0;
}
