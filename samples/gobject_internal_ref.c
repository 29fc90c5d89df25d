/*
 * gobject_internal_ref - a reference that libgobject takes on the
 * program's behalf, inside the library: g_value_set_object() calls
 * g_object_ref() directly (GLib links -Bsymbolic, so that call never
 * reads a GOT slot) and only refscope's entry hooks (REFSCOPE_ENTRY_HOOKS,
 * on by default) see it.  Run with REFSCOPE_HOOKS=gobject;
 * tests/integration/test_refcount.py does.
 *
 *  - forget_value() puts an RsItem (48-byte instance: GObject and three
 *    words) into a GValue on its stack with g_value_set_object and
 *    returns without g_value_unset: the reference the GValue held is
 *    never dropped.  make_value_leak() created the item and unrefs its
 *    own reference.
 *  - borrow_value() does the same and unsets its GValue (balanced: the
 *    item is freed after make_balanced()'s unref).
 *  - keep_item() keeps an RsItem in the global `kept` (reachable).
 *
 * refscope must report:
 *  - summary.leaked_refs: 1 object, 1 ref, 48 bytes, 1 block; one
 *    "leaked_ref" finding, type "RsItem", refcount 1, pointers 0, refs 1,
 *    unbalanced: one incref (count 1) whose stack's first frame is
 *    g_value_set_object (libgobject's call of g_object_ref) and that names
 *    forget_value; allocation stack through g_object_new <- make_value_leak.
 *    Without entry hooks the incref is not seen and no unbalanced incref
 *    can be named (the program's own ctor and unref balance).
 *  - no cycle, no rc_error, no leaked or indirect block; nothing about
 *    the items of make_balanced (freed) or keep_item (reachable: a
 *    --show-reachable run lists it as an "RsItem" of 48 bytes).
 */
#include "sample_util.h"

#include <glib-object.h>

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

_Static_assert(sizeof(RsItem) == 48, "the header's numbers assume 48");

static RsItem *kept;

SAMPLE_NOINLINE static void forget_value(RsItem *item)
{
    GValue v = G_VALUE_INIT;
    g_value_init(&v, RS_TYPE_ITEM);
    g_value_set_object(&v, item);       /* g_object_ref inside libgobject */
}                                       /* no g_value_unset: leaked ref  */

SAMPLE_NOINLINE static void make_value_leak(void)
{
    RsItem *item = g_object_new(RS_TYPE_ITEM, NULL);
    forget_value(item);
    g_object_unref(item);
}

SAMPLE_NOINLINE static void borrow_value(RsItem *item)
{
    GValue v = G_VALUE_INIT;
    g_value_init(&v, RS_TYPE_ITEM);
    g_value_set_object(&v, item);
    g_value_unset(&v);                  /* g_object_unref inside libgobject */
}

SAMPLE_NOINLINE static void make_balanced(void)
{
    RsItem *item = g_object_new(RS_TYPE_ITEM, NULL);
    borrow_value(item);
    g_object_unref(item);
}

SAMPLE_NOINLINE static void keep_item(void)
{
    kept = g_object_new(RS_TYPE_ITEM, NULL);
}

int main(void)
{
    make_value_leak();
    make_balanced();
    keep_item();
    sample_scrub_stack();
    sample_say("gobject_internal_ref: a reference left in a GValue\n");
    return 0;
}
