/*
 * rcobj_ifunc.c - librcobj_ifunc.so, the library rcobj_relro.c dlopens:
 * linked -z now -z relro against librcobj, so its GOT (rcobj_ref's slot
 * included) lies in RELRO pages that ld.so makes read-only only once the
 * whole library is relocated.  Its one export, rcobj_keep, calls a local
 * IFUNC whose resolver runs during that relocation (its IRELATIVE slot
 * comes after rcobj_ref's, on the same page) and allocates: refscope's
 * allocation hook then refreshes the hooks (a dlopen happened) while the
 * library is half relocated.  Not a sample program.
 */
#include "rcobj.h"

#include <stdlib.h>

static rcobj_t *keep_impl(rcobj_t *obj)
{
    return rcobj_ref(obj);
}

typedef rcobj_t *keep_fn_t(rcobj_t *);

/* Runs inside dlopen, during relocation; malloc is refscope's. */
static keep_fn_t *resolve_keep(void)
{
    void *volatile scratch = malloc(24);
    free(scratch);
    return keep_impl;
}

static rcobj_t *keep(rcobj_t *obj) __attribute__((ifunc("resolve_keep")));

rcobj_t *rcobj_keep(rcobj_t *obj)
{
    return keep(obj);
}
