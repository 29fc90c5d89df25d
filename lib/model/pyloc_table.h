/*
 * pyloc_table.h - the Python locations of one process (rs_pyloc_t), each
 * named by a dense index that a stack's pseudo frame carries
 * (RS_PYFRAME_TAG, rs_model.h).
 *
 * Interning deduplicates by text (function, file, line), so equal
 * locations have equal indices and stacks through them are one stack in
 * the depot.  Entries are never removed or changed once published: a
 * reader that loaded the count (rs_pyloc_table_count, acquire) may read
 * every entry below it without the lock, also while the world is stopped
 * and a stopped thread holds it.  Memory comes from rs_mem and is never
 * freed before rs_pyloc_table_destroy().
 *
 * Locking: one rs_lock around interning; the count is published with a
 * release store after the entry is written.  Inner to every lock of the
 * preload but the rs_mem backend's (it allocates while holding it).
 */
#ifndef RS_PYLOC_TABLE_H
#define RS_PYLOC_TABLE_H

#include "rs_model.h"

#include <stddef.h>
#include <stdint.h>

typedef struct rs_pyloc_table rs_pyloc_table_t;

/* Most locations a table holds (indices below it). */
#define RS_PYLOC_MAX (1u << 20)

/* NULL when memory is exhausted. */
rs_pyloc_table_t *rs_pyloc_table_create(void);
/* NULL is accepted. */
void rs_pyloc_table_destroy(rs_pyloc_table_t *t);

/* The index of the location (function[0..function_len), file[0..file_len),
 * line), added if new; the texts are copied (a NUL byte in them ends
 * them).  UINT32_MAX when memory is exhausted or the table is full
 * (nothing is added). */
uint32_t rs_pyloc_table_intern(rs_pyloc_table_t *t, const char *function,
                               size_t function_len, const char *file,
                               size_t file_len, uint32_t line);

/* Entries published so far (an acquire load). */
uint32_t rs_pyloc_table_count(const rs_pyloc_table_t *t);

/* Entry i (< a count read before), or NULL when i is out of range. */
const rs_pyloc_t *rs_pyloc_table_get(const rs_pyloc_table_t *t, uint32_t i);

/* The first rs_pyloc_table_count() entries, copied into *out (rs_mem;
 * the strings are shared with the table); *n of them.  Returns 0, or -1
 * when memory ran out (*out NULL, *n 0).  Takes no lock. */
int rs_pyloc_table_copy(const rs_pyloc_table_t *t, rs_pyloc_t **out, uint32_t *n);

/* Fork support: take the lock (prepare), release it (parent and child).
 * NULL is accepted. */
void rs_pyloc_table_lock(rs_pyloc_table_t *t);
void rs_pyloc_table_unlock(rs_pyloc_table_t *t);

#endif /* RS_PYLOC_TABLE_H */
