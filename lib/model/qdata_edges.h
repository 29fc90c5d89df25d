/*
 * qdata_edges.h - GLib's weak-reference bookkeeping, found through an
 * object's qdata (its GData list) and marked in the heap graph, as a
 * profile's `qdata` lines (profile.h) describe it.
 *
 * Two kinds of entry, each under its own quark:
 *  - weak locations ("GObject-weak-locations", GLib 2.74-2.78): the data
 *    is a GSList ** block; the list's nodes hold the addresses of the
 *    GWeakRefs that point to the object (g_weak_ref_set).  A GWeakRef
 *    holds no reference and confers no liveness: its word, when it lies
 *    in a heap block and points to the object, is a registry pointer
 *    (registry_edges.h), and so is the list node's pointer to the block
 *    holding the GWeakRef (GLib's list of locations owns none of them).
 *    With keep_refs (a type whose GWeakRefs stand for a reference:
 *    GBinding, whose one reference its BindingContext owns through its
 *    GWeakRef, gbinding.c) the GWeakRefs are left counted.
 *  - a back pointer (g_object_weak_ref's WeakRefStack,
 *    "GObject-weak-references"): the data is a block whose word at `back`
 *    points back to the object; that word is weak (no reference;
 *    reachability still follows it, it leads to its own owner).
 * Only words GLib's own lists name, and that point to the object, are
 * marked: a live object never loses a pointer that owns it.
 *
 * Memory is read through the caller's reader, only inside blocks of the
 * graph, within their bounds (the caller runs with the world stopped, or
 * is a test with a fake memory).  No allocation, no I/O.
 */
#ifndef RS_QDATA_EDGES_H
#define RS_QDATA_EDGES_H

#include "registry_edges.h"
#include "rs_model.h"

#include <stdint.h>

/* struct _GData of GLib 2.74 to 2.78 (glib/gdataset.c); the object's
 * GData * carries flag bits in its low 3 bits (G_DATALIST_FLAGS_MASK_INTERNAL):
 *   Offset Size Field
 *   0      4    guint32 len    (elements in use)
 *   4      4    guint32 alloc  (elements allocated)
 *   8      24n  GDataElt data[alloc]:
 *                 0  4  GQuark key (then 4 bytes of padding)
 *                 8  8  gpointer data
 *                 16 8  GDestroyNotify destroy */
#define RS_GDATA_FLAGS_MASK 7u
#define RS_GDATA_HEADER     8u
#define RS_GDATA_ELT        24u

/* GSList: { gpointer data; GSList *next; }, 16 bytes. */
#define RS_GSLIST_SIZE 16u

/* Reads the 8-byte word at addr into *out (inside a live block); 0 on
 * success. */
typedef int (*rs_qdata_read_fn)(void *ctx, uint64_t addr, uint64_t *out);

typedef struct rs_qdata_reader {
    rs_qdata_read_fn read;
    void            *ctx;
} rs_qdata_reader_t;

enum { RS_QDATA_WEAK_LOCATIONS = 1, RS_QDATA_BACK = 2 };

/* What one `qdata` line says, resolved for one object. */
typedef struct rs_qdata_rule {
    uint32_t field;      /* offset of the object's GData * (GObject: 16)  */
    uint32_t quark;      /* the entry's key; 0: the line does not apply   */
    uint8_t  kind;       /* RS_QDATA_*                                    */
    uint8_t  keep_refs;  /* weak locations: leave the GWeakRefs counted   */
    uint32_t back;       /* RS_QDATA_BACK: offset of the back pointer     */
} rs_qdata_rule_t;

/*
 * The data of the entry keyed quark in the GData at gdata (the object's
 * GData * word, flag bits included), or 0 when there is none, or the
 * GData is no block of the graph large enough for the len it says.
 */
uint64_t rs_gdata_lookup(const rs_heap_t *heap, const rs_qdata_reader_t *r,
                         uint64_t gdata, uint32_t quark);

/*
 * Marks what rule says about the object at addr, in node obj (a GObject
 * with private data starts inside its block).  Returns the number of
 * edges marked (0: the object has no such entry, or it names nothing of
 * the graph that points to the object).
 */
int rs_qdata_mark(const rs_heap_t *heap, rs_registry_marks_t *m, uint32_t obj,
                  uint64_t addr, const rs_qdata_rule_t *rule, const rs_qdata_reader_t *r);

#endif /* RS_QDATA_EDGES_H */
