/*
 * recognize.h - finds refcounted objects in the heap by their type word,
 * for code whose refcounting is inline (CPython's Py_INCREF): the
 * `recognize` profile directive (profile.h) applied to the live blocks.
 *
 * Given the sorted nodes of a heap, a way to read memory safely and the
 * resolved address of the metatype, rs_recognize_apply() tries every
 * block not yet refcounted or ignored at each possible header size: a
 * block holds an object when the word at (header + type_word) points to a
 * type object (a chain of type words from it reaches the metatype), the
 * header the type's flags imply is exactly the one tried, (with
 * type_size) the type's instance size fits (except for the compact type,
 * whose instances may be smaller: CPython's short strings), the counter
 * holds at least 1 (a live object's) and is no address inside a live
 * block (a pointer: a C module's state starting with pointers to heap
 * types looked like a GC object) and the header's words are 0 or
 * user-space addresses, from 64 KiB to 2^47 (flag bits in the low 3 bits
 * of the word next to the object are allowed).  It marks the node
 * RS_NODE_REFCOUNTED with the counter read now (rc_offset = header +
 * counter offset), a type id and the header size in its flags
 * (rs_node_header(): pointers into the header are not references); an object whose count is at or
 * above `immortal` becomes RS_NODE_IGNORED instead (a root).
 *
 * Type ids: recognised type names are kept in the result (scratch
 * memory, in the order first seen) and nodes get type_id =
 * RS_RECOGNIZE_TYPE_BASE + index; rs_recognize_remap() turns them into
 * final ids once the caller knows where its type list ends.  Nothing is
 * interned here, so this may run with every other thread stopped.
 *
 * Memory: only through rs_mem; nothing is read except through the reader.
 * On exhaustion -1 is returned and the nodes marked so far stay marked.
 */
#ifndef RS_RECOGNIZE_H
#define RS_RECOGNIZE_H

#include "profile.h"
#include "rs_model.h"

#include <stddef.h>
#include <stdint.h>

#define RS_RECOGNIZE_TYPE_BASE 0x80000000u
#define RS_RECOGNIZE_MAX_NAME  255       /* longer type names are cut     */
#define RS_RECOGNIZE_MAX_CHAIN 8         /* type -> type -> ... steps     */

/* Copies len bytes at addr into buf when all of them are readable;
 * returns 0, or -1 (buf unspecified) when some are not. */
typedef int (*rs_recognize_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

typedef struct rs_recognize_result {
    char   **names;          /* names[i]: type id BASE + i (rs_mem)        */
    uint32_t n_names, cap_names;
    uint64_t objects;        /* nodes marked refcounted                     */
    uint64_t immortal;       /* nodes marked ignored as immortal            */
    /* private: type object address -> verdict cache */
    struct rs_recognize_type *types;
    uint32_t n_types, cap_types;
} rs_recognize_result_t;

/* The addresses of a recognizer's symbols in the running program. */
typedef struct rs_recognize_anchors {
    uint64_t metatype;       /* spec->metatype; 0: recognise nothing        */
    uint64_t compact;        /* spec->compact, or 0                         */
} rs_recognize_anchors_t;

/*
 * Marks the objects spec describes among heap->nodes (sorted); at holds
 * the resolved addresses of spec's symbols.  res accumulates across calls
 * (several recognizers share one name list); zero it before the first.
 * Returns 0, or -1 when memory ran out.
 */
int rs_recognize_apply(rs_heap_t *heap, const rs_recognizer_t *spec,
                       const rs_recognize_anchors_t *at, rs_recognize_read_fn read,
                       void *ctx, rs_recognize_result_t *res);

/* Replaces type ids BASE + i by first_id + i in every node. */
void rs_recognize_remap(rs_heap_t *heap, uint32_t first_id);

/* Frees what res holds (not the names' owners: they are res's). */
void rs_recognize_result_free(rs_recognize_result_t *res);

#endif /* RS_RECOGNIZE_H */
