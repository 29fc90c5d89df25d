/*
 * rcobj.h - librcobj, a tiny refcounted-object library that exports its
 * ref/unref functions (the way GLib, cairo or OpenSSL do).  refscope
 * profiles it without any annotation through samples/rcobj.profile
 * (REFSCOPE_HOOKS=/path/to/rcobj.profile): rcobj_new is the constructor,
 * rcobj_ref/rcobj_unref take and drop references, the counter is the
 * signed 32-bit `refcount` at byte offset 4 and the type name is the
 * `const char *kind` at byte offset 8.  The layout below is therefore
 * part of the profile's contract: keep the _Static_asserts in rcobj.c in
 * step with rcobj.profile.
 *
 * rcobj_new returns NULL when out of memory; the other functions accept
 * NULL and do nothing.
 */
#ifndef RCOBJ_H
#define RCOBJ_H

#include <stdint.h>

typedef struct rcobj {
    uint32_t      magic;     /* RCOBJ_MAGIC while alive                    */
    int32_t       refcount;  /* offset 4: the counter the profile names    */
    const char   *kind;      /* offset 8: the type name (a static string)  */
    struct rcobj *link;      /* a counted reference to another rcobj       */
    char          data[32];
} rcobj_t;                   /* 56 bytes                                    */

#define RCOBJ_MAGIC 0x52434f42u

/* A new object of type `kind` (a string that outlives it) with one
 * reference, or NULL when out of memory. */
rcobj_t *rcobj_new(const char *kind);
/* Takes a reference; returns obj. */
rcobj_t *rcobj_ref(rcobj_t *obj);
/* rcobj_ref under another name, an alias at the same address (libraries
 * export such aliases for compatibility); rcobj_alias.c checks that
 * refscope counts one reference per call. */
rcobj_t *rcobj_retain(rcobj_t *obj);
/* Drops a reference; the last one frees obj and drops its link. */
void rcobj_unref(rcobj_t *obj);
/* Makes obj hold a counted reference to target (through rcobj_ref),
 * dropping the one it held before. */
void rcobj_set_link(rcobj_t *obj, rcobj_t *target);

#endif /* RCOBJ_H */
