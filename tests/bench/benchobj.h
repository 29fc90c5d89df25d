/*
 * benchobj.h - libbenchobj, the refcounted-object library of the refcount
 * benchmark (bench_refs.c).  Like GLib or OpenSSL it exports its ref/unref
 * functions, so refscope profiles it without recompiling anything through
 * tests/bench/benchobj.profile (REFSCOPE_HOOKS=.../benchobj.profile).
 *
 * The layout is part of that profile's contract: the signed 32-bit
 * reference count is at byte offset 0 (benchobj.c asserts it).
 * bobj_new returns NULL when out of memory; bobj_ref/bobj_unref accept
 * NULL and do nothing.  All three are thread safe (atomic counter).
 */
#ifndef BENCHOBJ_H
#define BENCHOBJ_H

#include <stdint.h>

typedef struct bobj {
    int32_t  refcount;       /* offset 0: the counter benchobj.profile names */
    uint32_t id;             /* caller's tag                                 */
    uint64_t payload[2];     /* something to touch                           */
} bobj_t;                    /* 24 bytes                                     */

/* A new object tagged id with one reference, or NULL (out of memory). */
bobj_t *bobj_new(uint32_t id);
/* Takes a reference; returns obj. */
bobj_t *bobj_ref(bobj_t *obj);
/* Drops a reference; the last one frees obj. */
void bobj_unref(bobj_t *obj);

#endif /* BENCHOBJ_H */
