/*
 * gobject_cycle - real GObjects (GLib's libgobject-2.0): a cycle through
 * object data, a leaked g_object_ref, and weak pointers that must not be
 * reported.  Run with REFSCOPE_HOOKS=gobject (the built-in profile, which
 * also makes GLib 2.74's slice allocator use malloc so every instance is
 * a heap block of its own); tests/integration/test_refcount.py does.
 *
 * Two types: RsNode (40-byte instances: GObject's 24 bytes, a pointer and
 * an int) and RsItem (48 bytes: GObject and three words).
 *  - make_cycle() creates two RsNodes and, in link_peers(), attaches to
 *    each one a reference to the other with g_object_set_data_full(obj,
 *    "peer", g_object_ref(other), g_object_unref), then unrefs both.  Each
 *    node's GData array (GLib's qdata, a 32-byte plain block: 8-byte
 *    header and one 24-byte entry) holds the other node: node -> GData ->
 *    node -> GData -> node.
 *  - make_leak() creates an RsItem, leak_a_ref() calls g_object_ref on it
 *    and never unrefs, make_leak() unrefs its own reference.
 *  - keep_model() keeps an RsItem in the global `model` (a strong
 *    reference) and registers the plain, global-rooted view struct's
 *    field as a weak pointer to it (g_object_add_weak_pointer: GLib
 *    records it in the object's qdata).  watch_temporary() adds a weak
 *    pointer to a temporary RsNode and unrefs it: the object is finalized
 *    and GLib clears the pointer (checked).
 *
 * refscope must report:
 *  - summary.cycles: 1 group, 4 blocks, 144 bytes; one "cycle" finding
 *    whose members are the two RsNodes (40 bytes, refcount 1) and their
 *    two GData blocks (32 bytes, type null); each node's edge at offset
 *    16 (field "parent_instance.qdata", from DWARF) -> its GData and each
 *    GData's edge at offset 16 (the entry's data pointer) -> the other
 *    node; the references behind the GData -> node edges were taken in
 *    link_peers.  The finding's type is its lowest-addressed member's
 *    (RsNode or null, depending on where malloc put the blocks).
 *  - summary.leaked_refs: 1 object, 1 ref, 48 bytes; one "leaked_ref"
 *    finding, type "RsItem", refcount 1, pointers 0, unbalanced: one
 *    g_object_ref called from leak_a_ref; allocation stack through
 *    g_object_new called from make_leak.
 *  - nothing about the weak pointers: the model, its view and GLib's
 *    weak-reference records are reachable, the temporary is freed; no
 *    leaked, indirect or rc_error; no finding of any other RsNode/RsItem.
 */
#include "sample_util.h"

#include <glib-object.h>

/* ---- RsNode ----------------------------------------------------------- */

#define RS_TYPE_NODE (rs_node_get_type())
G_DECLARE_FINAL_TYPE(RsNode, rs_node, RS, NODE, GObject)

struct _RsNode {
    GObject  parent_instance;
    gpointer payload;
    gint     id;
};

G_DEFINE_TYPE(RsNode, rs_node, G_TYPE_OBJECT)

static void rs_node_class_init(RsNodeClass *klass) { (void)klass; }
static void rs_node_init(RsNode *self) { self->id = 1; }

/* ---- RsItem ----------------------------------------------------------- */

#define RS_TYPE_ITEM (rs_item_get_type())
G_DECLARE_FINAL_TYPE(RsItem, rs_item, RS, ITEM, GObject)

struct _RsItem {
    GObject  parent_instance;
    gint64   serial;
    gpointer user;
    gpointer extra;
};

G_DEFINE_TYPE(RsItem, rs_item, G_TYPE_OBJECT)

static void rs_item_class_init(RsItemClass *klass) { (void)klass; }
static void rs_item_init(RsItem *self) { self->serial = 7; }

_Static_assert(sizeof(RsNode) == 40, "the header's numbers assume 40");
_Static_assert(sizeof(RsItem) == 48, "the header's numbers assume 48");

/* ---- the scenarios ------------------------------------------------------ */

struct view {
    RsItem *model_weak;      /* weak pointer, cleared by GLib */
    long    width;
};

static RsItem *model;
static struct view *view;
static RsNode *watched;

SAMPLE_NOINLINE static void link_peers(RsNode *a, RsNode *b)
{
    g_object_set_data_full(G_OBJECT(a), "peer", g_object_ref(b),
                           g_object_unref);
    g_object_set_data_full(G_OBJECT(b), "peer", g_object_ref(a),
                           g_object_unref);
}

SAMPLE_NOINLINE static void make_cycle(void)
{
    RsNode *a = g_object_new(RS_TYPE_NODE, NULL);
    RsNode *b = g_object_new(RS_TYPE_NODE, NULL);
    link_peers(a, b);
    g_object_unref(a);
    g_object_unref(b);
}

SAMPLE_NOINLINE static void leak_a_ref(RsItem *item)
{
    g_object_ref(item);
}

SAMPLE_NOINLINE static void make_leak(void)
{
    RsItem *item = g_object_new(RS_TYPE_ITEM, NULL);
    leak_a_ref(item);
    g_object_unref(item);
}

SAMPLE_NOINLINE static void keep_model(void)
{
    model = g_object_new(RS_TYPE_ITEM, NULL);
    view = g_malloc0(sizeof *view);
    view->model_weak = model;
    g_object_add_weak_pointer(G_OBJECT(model), (gpointer *)&view->model_weak);
}

SAMPLE_NOINLINE static void watch_temporary(void)
{
    RsNode *tmp = g_object_new(RS_TYPE_NODE, NULL);
    watched = tmp;
    g_object_add_weak_pointer(G_OBJECT(tmp), (gpointer *)&watched);
    g_object_unref(tmp);
    sample_check(watched == NULL, "weak pointer cleared on finalize");
}

int main(void)
{
    make_cycle();
    make_leak();
    keep_model();
    watch_temporary();
    sample_check(view->model_weak == model, "weak pointer to a live object");
    sample_scrub_stack();
    sample_say("gobject_cycle: an RsNode cycle via qdata, a leaked RsItem ref\n");
    return 0;
}
