/*
 * rcobj.c - librcobj: the refcounted-object library of the profile-driven
 * sample (see rcobj.h; profiled by rcobj.profile).  Built -O0 -g as a
 * shared library; every exported function is called through the PLT, so
 * refscope's GOT hooks see calls from the program and from the library
 * itself (rcobj_set_link calls rcobj_ref, rcobj_unref calls itself for
 * the link).  Not a sample program: it reports nothing by itself.
 */
#include "rcobj.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(offsetof(rcobj_t, refcount) == 4, "rcobj.profile: offset=4");
_Static_assert(sizeof(((rcobj_t *)0)->refcount) == 4, "rcobj.profile: width=4");
_Static_assert(offsetof(rcobj_t, kind) == 8, "rcobj.profile: field=8");
_Static_assert(sizeof(rcobj_t) == 56, "the samples' numbers assume 56");

rcobj_t *rcobj_new(const char *kind)
{
    rcobj_t *obj = malloc(sizeof *obj);
    if (!obj)
        return NULL;
    memset(obj, 0, sizeof *obj);
    obj->magic = RCOBJ_MAGIC;
    obj->refcount = 1;
    obj->kind = kind;
    return obj;
}

rcobj_t *rcobj_ref(rcobj_t *obj)
{
    if (obj)
        __atomic_add_fetch(&obj->refcount, 1, __ATOMIC_RELAXED);
    return obj;
}

/* The same function under a second exported name (rcobj_alias.c). */
rcobj_t *rcobj_retain(rcobj_t *obj) __attribute__((alias("rcobj_ref")));

void rcobj_unref(rcobj_t *obj)
{
    if (!obj || __atomic_sub_fetch(&obj->refcount, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    rcobj_t *link = obj->link;
    obj->magic = 0;
    free(obj);
    rcobj_unref(link);
}

void rcobj_set_link(rcobj_t *obj, rcobj_t *target)
{
    if (!obj)
        return;
    rcobj_t *old = obj->link;
    obj->link = rcobj_ref(target);
    rcobj_unref(old);
}
