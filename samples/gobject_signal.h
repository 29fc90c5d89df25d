/*
 * gobject_signal.h - RsKnob, the GObject of the signal samples
 * (gobject_signal_lost.c, gobject_binding_lost.c): an int property
 * "value" (so "notify::value" handlers and g_object_bind_property), a
 * 32-byte instance.  Defined here, static, in each sample that includes it.
 */
#ifndef GOBJECT_SIGNAL_H
#define GOBJECT_SIGNAL_H

#include <glib-object.h>

#define RS_TYPE_KNOB (rs_knob_get_type())
G_DECLARE_FINAL_TYPE(RsKnob, rs_knob, RS, KNOB, GObject)

struct _RsKnob {
    GObject parent_instance;
    gint    value;
};

G_DEFINE_TYPE(RsKnob, rs_knob, G_TYPE_OBJECT)

_Static_assert(sizeof(RsKnob) == 32, "the samples' numbers assume 32");

static void rs_knob_set_property(GObject *o, guint id, const GValue *v, GParamSpec *ps)
{
    (void)id;
    (void)ps;
    RS_KNOB(o)->value = g_value_get_int(v);
}

static void rs_knob_get_property(GObject *o, guint id, GValue *v, GParamSpec *ps)
{
    (void)id;
    (void)ps;
    g_value_set_int(v, RS_KNOB(o)->value);
}

static void rs_knob_class_init(RsKnobClass *klass)
{
    GObjectClass *oc = G_OBJECT_CLASS(klass);
    oc->set_property = rs_knob_set_property;
    oc->get_property = rs_knob_get_property;
    g_object_class_install_property(oc, 1, g_param_spec_int("value", "value", "value", 0, 100, 0,
                                                            G_PARAM_READWRITE));
}

static void rs_knob_init(RsKnob *self) { self->value = 0; }

G_GNUC_UNUSED static void rs_knob_on_notify(GObject *o, GParamSpec *ps, gpointer data)
{
    (void)o;
    (void)ps;
    (void)data;
}

/* A GClosureNotify that drops the reference its data holds. */
G_GNUC_UNUSED static void rs_knob_unref_notify(gpointer data, GClosure *closure)
{
    (void)closure;
    g_object_unref(data);
}

#endif /* GOBJECT_SIGNAL_H */
