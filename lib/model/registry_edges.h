/*
 * registry_edges.h - a registry keyed by identity, found in the heap graph:
 * a GLib GHashTable whose keys are objects it holds no reference to (GLib's
 * signal handler tables: an instance's address -> its handler lists, and
 * the set of every Handler), as a profile's `registry` line describes it
 * (profile.h).
 *
 * What a table's pointers mean, once it is recognised:
 *  - the keys array's pointer to a key holds no reference and confers no
 *    liveness (rs_heap_t.registry_edges, and weak_edges: it is no
 *    reference either);
 *  - with owns_values, the value of a key is the key's own block: the
 *    values array's pointer to it is a registry pointer too, and the value
 *    lives iff its key does (rs_heap_t.owned: key -> value);
 *  - with key_size, every key is a key_size-byte block whose word at
 *    key_back points back to a refcounted object (Handler.instance): that
 *    word is a registry pointer as well;
 *  - with closure and notifiers, the key's closure's notifiers array
 *    (GClosureNotifyData {data, notify} pairs) pointing to that same
 *    object: GLib's invalidate notifier (gsignal.c's
 *    add_invalid_closure_notify, data = the instance, no reference) is a
 *    registry pointer too.  Every pointer of the array to the instance is
 *    marked: a finalize notifier's data that holds a reference is also the
 *    closure's data pointer, which stays counted.
 * A table recognised by its hash function (key_size 0) marks only the keys
 * that are refcounted objects; one recognised by its keys' shape
 * (key_size) only when every key has that shape: a table of anything else
 * is left alone, so a live object never loses a pointer that owns it.
 *
 * The table's header is read by the caller (GLib's private layout: the
 * caller checks the library's version first); no allocation but the owned
 * array (rs_mem), no I/O.
 */
#ifndef RS_REGISTRY_EDGES_H
#define RS_REGISTRY_EDGES_H

#include "rs_model.h"

#include <stdint.h>

/* struct _GHashTable of GLib 2.74 to 2.86 (glib/ghash.c), 96 bytes:
 *   Offset Size Field
 *   0      8    gsize size (slots)
 *   8      4    mod; 12 mask; 16 nnodes; 20 noccupied
 *   24     4    have_big_keys : 1, have_big_values : 1
 *   32     8    keys      (gpointer array, or guint array when small)
 *   40     8    hashes    (guint per slot; >= 2: the slot is in use)
 *   48     8    values    (== keys for a set)
 *   56     8    hash_func;  64 key_equal_func
 *   72     4    ref_count;  76 version
 *   80     8    key_destroy_func;  88 value_destroy_func */
#define RS_GHASH_SIZE 96

typedef struct rs_ghash_view {
    uint64_t size;
    uint8_t  big_keys, big_values;
    uint64_t keys, hashes, values;
    uint64_t hash_func, key_equal, key_destroy, value_destroy;
} rs_ghash_view_t;

/* Decodes the 96 bytes of a table's header. */
void rs_ghash_view_read(const void *bytes, rs_ghash_view_t *v);

/* What a `registry` line says about a recognised table. */
typedef struct rs_registry_rule {
    uint8_t  owns_values;
    uint32_t key_size;   /* 0: keys are objects; else every key's size  */
    uint32_t key_back;   /* with key_size: offset of the back pointer   */
    uint32_t closure;    /* with key_size, 0 none: offset of the key's
                            owning pointer to its GClosure block        */
    uint32_t notifiers;  /* with closure: offset, in that block, of the
                            closure's pointer to its notifiers array    */
} rs_registry_rule_t;

/* Where the marks go: bit arrays of one bit per heap edge, and the owned
 * pairs (grown with rs_mem; the caller frees owned). */
typedef struct rs_registry_marks {
    uint64_t        *weak;
    uint64_t        *registry;
    rs_owned_edge_t *owned;
    uint32_t         n_owned, cap_owned;
} rs_registry_marks_t;

/* Marks edge e a registry's pointer (no reference, no liveness: both the
 * weak and the registry bit). */
void rs_registry_mark_edge(rs_registry_marks_t *m, uint64_t e);

/* Marks edge e weak only: no reference, but reachability follows it. */
void rs_registry_mark_weak(rs_registry_marks_t *m, uint64_t e);

/* The node that starts exactly at addr, or UINT32_MAX (addr 0 included). */
uint32_t rs_registry_block_at(const rs_heap_t *heap, uint64_t addr);

/* 1 when slot i of the table is in use (its hash, read by the caller). */
typedef int (*rs_registry_slot_fn)(void *ctx, uint64_t slot);

/*
 * Marks what the table t (whose keys and values arrays are blocks of heap)
 * says, by rule.  Returns the number of keys marked (0: nothing of it
 * matched, nothing changed), or -1 when memory ran out (the marks made
 * stay: they are right, only incomplete).
 */
int rs_registry_mark_table(const rs_heap_t *heap, rs_registry_marks_t *m,
                           const rs_ghash_view_t *t, const rs_registry_rule_t *rule,
                           rs_registry_slot_fn slot_used, void *ctx);

/* Sorts m->owned by owner (as rs_heap_t.owned wants). */
void rs_registry_sort_owned(rs_registry_marks_t *m);

#endif /* RS_REGISTRY_EDGES_H */
