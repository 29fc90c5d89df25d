/*
 * benchobj.c - libbenchobj (see benchobj.h), built as a shared library so
 * that bench_refs calls bobj_new/bobj_ref/bobj_unref through the PLT and
 * refscope's GOT hooks see every call.  The library never calls its own
 * exported functions.
 */
#include "benchobj.h"

#include <stddef.h>
#include <stdlib.h>

_Static_assert(offsetof(bobj_t, refcount) == 0, "benchobj.profile: offset=0");
_Static_assert(sizeof(((bobj_t *)0)->refcount) == 4, "benchobj.profile: width=4");

bobj_t *bobj_new(uint32_t id)
{
    bobj_t *obj = malloc(sizeof *obj);
    if (!obj)
        return NULL;
    obj->refcount = 1;
    obj->id = id;
    obj->payload[0] = obj->payload[1] = 0;
    return obj;
}

bobj_t *bobj_ref(bobj_t *obj)
{
    if (obj)
        __atomic_add_fetch(&obj->refcount, 1, __ATOMIC_RELAXED);
    return obj;
}

void bobj_unref(bobj_t *obj)
{
    if (obj && __atomic_sub_fetch(&obj->refcount, 1, __ATOMIC_ACQ_REL) == 0)
        free(obj);
}
