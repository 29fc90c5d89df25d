/*
 * gobject_private - GObjects with private data, whose instance follows
 * the private part in one block, and which keep the customary `priv`
 * pointer to it.  Run with REFSCOPE_HOOKS=gobject;
 * tests/integration/test_refcount.py does.
 *
 * RsThing: 16 bytes of private data (RsThingPrivate), then the 40-byte
 * instance (GObject, `priv`, `self_ref`): one 56-byte block whose
 * instance, the pointer g_object_ref takes, is at byte 16.  Its `priv`
 * points at the block's first byte, the private part: a pointer of the
 * object to its own block, but not a reference to the object.
 *  - make_lost() creates an RsThing and drops it: a "leaked_ref" of type
 *    RsThing, 56 bytes, refcount 1, no pointer.  (Counting `priv` as a
 *    reference made it a "cycle" of one object held by itself.)
 *  - make_self_held() creates one that takes a reference to itself in
 *    `self_ref` (g_object_ref) and drops its own: a "cycle" of one
 *    RsThing, 56 bytes, refcount 1, its edge to itself at block offset 48
 *    (`self_ref`, instance offset 32).  (Comparing self-pointers with the
 *    block's start, not the instance, missed it: a leaked reference.)
 *  - keep_thing() keeps one in the global `kept` (reachable).
 */
#include "sample_util.h"

#include <glib-object.h>

#define RS_TYPE_THING (rs_thing_get_type())
G_DECLARE_FINAL_TYPE(RsThing, rs_thing, RS, THING, GObject)

typedef struct {
    gint64   secret;
    gpointer extra;
} RsThingPrivate;

struct _RsThing {
    GObject         parent_instance;
    RsThingPrivate *priv;
    RsThing        *self_ref;
};

G_DEFINE_TYPE_WITH_PRIVATE(RsThing, rs_thing, G_TYPE_OBJECT)

static void rs_thing_class_init(RsThingClass *klass) { (void)klass; }

static void rs_thing_init(RsThing *self)
{
    self->priv = rs_thing_get_instance_private(self);
    self->priv->secret = 42;
}

_Static_assert(sizeof(RsThing) == 40, "the header's numbers assume 40");
_Static_assert(sizeof(RsThingPrivate) == 16, "the header's numbers assume 16");

static RsThing *kept;

SAMPLE_NOINLINE static void make_lost(void)
{
    sample_drop(g_object_new(RS_TYPE_THING, NULL));
}

SAMPLE_NOINLINE static void make_self_held(void)
{
    RsThing *t = g_object_new(RS_TYPE_THING, NULL);
    t->self_ref = g_object_ref(t);
    g_object_unref(t);
}

SAMPLE_NOINLINE static void keep_thing(void)
{
    kept = g_object_new(RS_TYPE_THING, NULL);
}

int main(void)
{
    make_lost();
    make_self_held();
    keep_thing();
    sample_scrub_stack();
    sample_say("gobject_private: one lost, one holding itself\n");
    return 0;
}
