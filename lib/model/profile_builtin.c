/*
 * profile_builtin.c - the texts of the built-in hook profiles
 * (REFSCOPE_HOOKS=gobject,cairo,...), in the profile format of profile.h,
 * and the lookup by name.  profile.h's "Built-in profiles" list documents
 * each one; keep the two in step.
 *
 * Every function named here was checked against the exported symbols of
 * the Debian bookworm library (`nm -D`): GLib 2.74, GStreamer 1.22,
 * cairo 1.16, HarfBuzz 6.0, libdbus 1.14, OpenSSL 3.0, libsystemd 252.
 * A function a library does not export is harmless (nothing is hooked).
 *
 * Counters.  gobject and gst read the counter from the object: its offset
 * is part of the library's public ABI (struct _GObject, _GstMiniObject).
 * The others keep it private (cairo_reference_count_t inside struct
 * _cairo_surface, hb_object_header_t, DBusAtomic, OpenSSL's CRYPTO_REF,
 * sd-bus's n_ref), so they use `counter events`: the count is the calls
 * seen.  These libraries call most of their own ref/unref functions
 * through their PLT, so those calls are hooked too; a reference taken by
 * a direct internal call is invisible, and its release is too.
 *
 * Invariant: names[] lists exactly the profiles of builtins[], in order,
 * comma-separated (test_profile checks it).
 */
#include "profile.h"

#include <string.h>

static const char builtin_gobject[] =
    "# GLib's GObject (libgobject-2.0).\n"
    "# struct _GObject { GTypeInstance g_type_instance; /* GTypeClass *g_class */\n"
    "#                   guint ref_count; GData *qdata; }\n"
    "profile gobject\n"
    "# GstObject.parent (offset 40: after GObject's 24 bytes, the lock and\n"
    "# the name) points to the object's parent (a bin, an element): no\n"
    "# reference; the parent holds one to the child.\n"
    "weak offset=40 is-a=GstObject\n"
    "# GstBusPrivate.sync_handler (offset 16 of GstBus's private data: after\n"
    "# the queue and its GMutex) owns a SyncHandler block { handler,\n"
    "# user_data, destroy_notify, ref_count }; a bin's child bus has the bin\n"
    "# as user_data (offset 8), without a reference (gst_bin_init).  Private\n"
    "# layout, no ABI: read in 1.22 (measured) and in the 1.29 source.\n"
    "weak offset=16 private is-a=GstBus then=8 version-call=gst_version versions=1.22-1.28\n"
    "# GLib's signal handlers (gsignal.c, private: measured in 2.74.6, read in\n"
    "# the 2.86 source).  g_handler_list_bsa_ht maps an instance's address to\n"
    "# its handler lists; g_handlers is the set of every 56-byte Handler,\n"
    "# whose instance (offset 48) points back to it.  Neither holds a\n"
    "# reference: an object only they point to was lost.\n"
    "registry ghash in=libgobject-2.0.so.0 hash=g_direct_hash equal=none owns-values version-vars=glib versions=2.74-2.86\n"
    "# A Handler's closure (offset 40: a GRealClosure block, whose GClosure\n"
    "# at 32 has its notifiers at 24) has an invalidate notifier whose data\n"
    "# is the instance (add_invalid_closure_notify, g_signal_connect_closure*).\n"
    "registry ghash in=libgobject-2.0.so.0 key-size=56 key-back=48 key-closure=40 closure-notifiers=56 version-vars=glib versions=2.74-2.86\n"
    "# GLib's weak references (gobject.c, gdataset.c, private: measured in\n"
    "# 2.74.6, read in the 2.76.6 and 2.78.6 sources; 2.80 changed the\n"
    "# weak locations).  An object's qdata (offset 16) lists, under\n"
    "# \"GObject-weak-locations\", the GWeakRefs pointing to it: no reference.\n"
    "# A GBinding's one reference is owned by its BindingContext through\n"
    "# its GWeakRef to the binding (gbinding.c): that one stays counted.\n"
    "qdata weak-locations quark=GObject-weak-locations field=16 except=GBinding version-vars=glib versions=2.74-2.78\n"
    "# g_object_weak_ref's WeakRefStack (\"GObject-weak-references\") points\n"
    "# back to its object at offset 0.\n"
    "qdata back quark=GObject-weak-references field=16 offset=0 version-vars=glib versions=2.74-2.78\n"
    "counter  offset=8 width=4 unsigned\n"
    "typename call=g_type_name_from_instance\n"
    "ctor   g_object_new                 returns\n"
    "ctor   g_object_new_with_properties returns\n"
    "ctor   g_object_newv                returns\n"
    "ctor   g_object_new_valist          returns\n"
    "incref g_object_ref                 arg=0\n"
    "sink   g_object_ref_sink            arg=0\n"
    "decref g_object_unref               arg=0\n";

static const char builtin_gst[] =
    "# GStreamer mini objects (libgstreamer-1.0): buffers, events, caps...\n"
    "# struct _GstMiniObject { GType type; gint refcount; gint lockstate; ... }\n"
    "# GstObject is a GObject: its refs go through g_object_ref (gobject).\n"
    "profile gst\n"
    "# GstMiniObject.priv_pointer (offset 56) points to the object's parent\n"
    "# (a GstMemory's buffer) or to its private data: no reference.\n"
    "weak offset=56\n"
    "counter  offset=8 width=4 signed\n"
    "typename call=g_type_name word=0\n"
    "ctor   gst_mini_object_init  arg=0\n"
    "incref gst_mini_object_ref   arg=0\n"
    "decref gst_mini_object_unref arg=0\n"
    "# libgstreamer calls gst_mini_object_init directly, never through its\n"
    "# GOT: seen by entry hooks; the public constructors a program calls are\n"
    "# hooked too, for when an entry cannot be patched.\n"
    "ctor   gst_buffer_new              returns\n"
    "ctor   gst_buffer_new_allocate     returns\n"
    "ctor   gst_buffer_new_wrapped      returns\n"
    "ctor   gst_buffer_new_wrapped_full returns\n"
    "ctor   gst_buffer_new_memdup       returns\n"
    "ctor   gst_buffer_copy_region      returns\n"
    "ctor   gst_buffer_copy_deep        returns\n"
    "ctor   gst_mini_object_copy        returns\n"
    "ctor   gst_caps_new_empty          returns\n"
    "ctor   gst_caps_new_any            returns\n"
    "ctor   gst_caps_new_empty_simple   returns\n"
    "ctor   gst_caps_from_string        returns\n";

static const char builtin_cairo[] =
    "# cairo (libcairo2): surfaces, contexts, patterns.  The counter is a\n"
    "# cairo_reference_count_t inside private structs (offset 24 in\n"
    "# struct _cairo_surface, 0 in _cairo and _cairo_pattern in 1.16): not\n"
    "# an ABI, so counted from events.  cairo recycles freed contexts and\n"
    "# patterns through its own pools: a ctor returning a released object\n"
    "# starts a new life (objtable.h).\n"
    "profile cairo\n"
    "counter events\n"
    "ctor   cairo_image_surface_create          type=cairo_surface_t\n"
    "ctor   cairo_image_surface_create_for_data type=cairo_surface_t\n"
    "ctor   cairo_image_surface_create_from_png type=cairo_surface_t\n"
    "ctor   cairo_surface_create_similar        type=cairo_surface_t\n"
    "ctor   cairo_surface_create_similar_image  type=cairo_surface_t\n"
    "ctor   cairo_surface_create_for_rectangle  type=cairo_surface_t\n"
    "ctor   cairo_recording_surface_create      type=cairo_surface_t\n"
    "incref cairo_surface_reference             type=cairo_surface_t\n"
    "decref cairo_surface_destroy\n"
    "ctor   cairo_create                        type=cairo_t\n"
    "incref cairo_reference                     type=cairo_t\n"
    "decref cairo_destroy\n"
    "ctor   cairo_pattern_create_rgb            type=cairo_pattern_t\n"
    "ctor   cairo_pattern_create_rgba           type=cairo_pattern_t\n"
    "ctor   cairo_pattern_create_for_surface    type=cairo_pattern_t\n"
    "ctor   cairo_pattern_create_linear         type=cairo_pattern_t\n"
    "ctor   cairo_pattern_create_radial         type=cairo_pattern_t\n"
    "ctor   cairo_pattern_create_mesh           type=cairo_pattern_t\n"
    "ctor   cairo_pop_group                     type=cairo_pattern_t\n"
    "incref cairo_pattern_reference             type=cairo_pattern_t\n"
    "decref cairo_pattern_destroy\n";

static const char builtin_harfbuzz[] =
    "# HarfBuzz (libharfbuzz0b): blobs, buffers, faces, fonts, sets.  The\n"
    "# counter lives in the private hb_object_header_t: counted from events.\n"
    "# The static empty objects (hb_blob_get_empty...) are outside the heap.\n"
    "profile harfbuzz\n"
    "counter events\n"
    "ctor   hb_blob_create                    type=hb_blob_t\n"
    "ctor   hb_blob_create_or_fail            type=hb_blob_t\n"
    "ctor   hb_blob_create_sub_blob           type=hb_blob_t\n"
    "ctor   hb_blob_create_from_file          type=hb_blob_t\n"
    "ctor   hb_blob_create_from_file_or_fail  type=hb_blob_t\n"
    "ctor   hb_blob_copy_writable_or_fail     type=hb_blob_t\n"
    "incref hb_blob_reference                 type=hb_blob_t\n"
    "decref hb_blob_destroy\n"
    "ctor   hb_buffer_create                  type=hb_buffer_t\n"
    "ctor   hb_buffer_create_similar          type=hb_buffer_t\n"
    "incref hb_buffer_reference               type=hb_buffer_t\n"
    "decref hb_buffer_destroy\n"
    "ctor   hb_face_create                    type=hb_face_t\n"
    "ctor   hb_face_create_for_tables         type=hb_face_t\n"
    "ctor   hb_face_builder_create            type=hb_face_t\n"
    "incref hb_face_reference                 type=hb_face_t\n"
    "decref hb_face_destroy\n"
    "ctor   hb_font_create                    type=hb_font_t\n"
    "ctor   hb_font_create_sub_font           type=hb_font_t\n"
    "incref hb_font_reference                 type=hb_font_t\n"
    "decref hb_font_destroy\n"
    "ctor   hb_set_create                     type=hb_set_t\n"
    "incref hb_set_reference                  type=hb_set_t\n"
    "decref hb_set_destroy\n";

static const char builtin_dbus[] =
    "# libdbus-1: messages, connections, pending calls.  Each struct opens\n"
    "# with its DBusAtomic refcount (an int32, private but first in all of\n"
    "# libdbus 1.x): read from there, since libdbus takes references on\n"
    "# itself with hidden functions (_dbus_connection_ref_unlocked) that no\n"
    "# hook sees.  libdbus caches a few released messages and hands them\n"
    "# out again (a new life, objtable.h).\n"
    "profile dbus\n"
    "counter offset=0 width=4 signed\n"
    "ctor   dbus_message_new               type=DBusMessage\n"
    "ctor   dbus_message_new_method_call   type=DBusMessage\n"
    "ctor   dbus_message_new_method_return type=DBusMessage\n"
    "ctor   dbus_message_new_signal        type=DBusMessage\n"
    "ctor   dbus_message_new_error         type=DBusMessage\n"
    "ctor   dbus_message_copy              type=DBusMessage\n"
    "ctor   dbus_message_demarshal         type=DBusMessage\n"
    "incref dbus_message_ref               type=DBusMessage\n"
    "decref dbus_message_unref\n"
    "ctor   dbus_connection_open           type=DBusConnection\n"
    "ctor   dbus_connection_open_private   type=DBusConnection\n"
    "ctor   dbus_bus_get                   type=DBusConnection\n"
    "ctor   dbus_bus_get_private           type=DBusConnection\n"
    "incref dbus_connection_ref            type=DBusConnection\n"
    "decref dbus_connection_unref\n"
    "incref dbus_pending_call_ref          type=DBusPendingCall\n"
    "decref dbus_pending_call_unref\n";

static const char builtin_openssl[] =
    "# OpenSSL 3 (libcrypto, libssl): *_new / *_up_ref / *_free.  The\n"
    "# CRYPTO_REF_COUNT fields are private: counted from events.  Objects\n"
    "# decoded from DER or PEM come from ASN.1 templates, through no\n"
    "# constructor named here: they are seen from their first up_ref.\n"
    "profile openssl\n"
    "counter events\n"
    "ctor   X509_new          type=X509\n"
    "ctor   X509_new_ex       type=X509\n"
    "ctor   X509_dup          type=X509\n"
    "incref X509_up_ref       type=X509\n"
    "decref X509_free\n"
    "ctor   X509_CRL_new      type=X509_CRL\n"
    "ctor   X509_CRL_new_ex   type=X509_CRL\n"
    "ctor   X509_CRL_dup      type=X509_CRL\n"
    "incref X509_CRL_up_ref   type=X509_CRL\n"
    "decref X509_CRL_free\n"
    "ctor   X509_STORE_new    type=X509_STORE\n"
    "incref X509_STORE_up_ref type=X509_STORE\n"
    "decref X509_STORE_free\n"
    "ctor   EVP_PKEY_new      type=EVP_PKEY\n"
    "ctor   EVP_PKEY_dup      type=EVP_PKEY\n"
    "incref EVP_PKEY_up_ref   type=EVP_PKEY\n"
    "decref EVP_PKEY_free\n"
    "ctor   BIO_new           type=BIO\n"
    "ctor   BIO_new_ex        type=BIO\n"
    "incref BIO_up_ref        type=BIO\n"
    "decref BIO_free\n"
    "ctor   SSL_CTX_new       type=SSL_CTX\n"
    "ctor   SSL_CTX_new_ex    type=SSL_CTX\n"
    "incref SSL_CTX_up_ref    type=SSL_CTX\n"
    "decref SSL_CTX_free\n"
    "ctor   SSL_new           type=SSL\n"
    "incref SSL_up_ref        type=SSL\n"
    "decref SSL_free\n"
    "ctor   SSL_SESSION_new   type=SSL_SESSION\n"
    "incref SSL_SESSION_up_ref type=SSL_SESSION\n"
    "decref SSL_SESSION_free\n";

static const char builtin_sdbus[] =
    "# sd-bus (libsystemd): buses and messages.  Constructors return an int\n"
    "# (negative errno on failure) and store the object through a pointer\n"
    "# argument: `out=N`.  n_ref is private: counted from events.\n"
    "# sd_bus_flush_close_unref and sd_bus_close_unref end in sd_bus_unref,\n"
    "# whose entry hook sees that call: listed too, they counted twice.\n"
    "profile sdbus\n"
    "counter events\n"
    "ctor   sd_bus_new                       out=0 type=sd_bus\n"
    "ctor   sd_bus_open                      out=0 type=sd_bus\n"
    "ctor   sd_bus_open_user                 out=0 type=sd_bus\n"
    "ctor   sd_bus_open_system               out=0 type=sd_bus\n"
    "incref sd_bus_ref                       type=sd_bus\n"
    "decref sd_bus_unref\n"
    "ctor   sd_bus_message_new               out=1 type=sd_bus_message\n"
    "ctor   sd_bus_message_new_method_call   out=1 type=sd_bus_message\n"
    "ctor   sd_bus_message_new_signal        out=1 type=sd_bus_message\n"
    "ctor   sd_bus_message_new_method_return out=1 type=sd_bus_message\n"
    "ctor   sd_bus_message_new_method_error  out=1 type=sd_bus_message\n"
    "incref sd_bus_message_ref               type=sd_bus_message\n"
    "decref sd_bus_message_unref\n";

/* profile.h documents the layout and where each figure comes from. */
static const char builtin_python[] =
    "# CPython 3.11-3.13 objects, recognised in the heap (Py_INCREF is inline).\n"
    "# PyObject { Py_ssize_t ob_refcnt; PyTypeObject *ob_type; }\n"
    "# PyTypeObject: tp_name at 24, tp_basicsize at 32, tp_flags at 168.\n"
    "# Header: PyGC_Head (16) if Py_TPFLAGS_HAVE_GC, 16 more if\n"
    "# Py_TPFLAGS_MANAGED_DICT or (3.12+) Py_TPFLAGS_MANAGED_WEAKREF.\n"
    "# str's tp_basicsize is the legacy layout; compact strings are smaller.\n"
    "profile python\n"
    "counter offset=0 width=8 signed\n"
    "recognize type-word=8 metatype=PyType_Type type-name=24 type-size=32"
    " compact=PyUnicode_Type"
    " type-flags=168 header=16@0x4000,16@0x18 immortal=0x80000000"
    " version=Py_Version version-min=0x030b0000 version-max=0x030dffff\n"
    "# Free lists hand tuples, lists, dicts, floats and slices out again\n"
    "# without malloc: when an extension calls these and becomes the only\n"
    "# owner of the result, its block takes the extension's stack.\n"
    "newref PyTuple_New\n"
    "newref PyTuple_Pack\n"
    "newref PyTuple_GetSlice\n"
    "newref PySequence_Tuple\n"
    "newref PyList_AsTuple\n"
    "newref Py_BuildValue\n"
    "newref _Py_BuildValue_SizeT\n"
    "newref Py_VaBuildValue\n"
    "newref _Py_VaBuildValue_SizeT\n"
    "newref PyList_New\n"
    "newref PyList_GetSlice\n"
    "newref PySequence_List\n"
    "newref PyDict_New\n"
    "newref PyDict_Copy\n"
    "newref PyDict_Keys\n"
    "newref PyDict_Values\n"
    "newref PyDict_Items\n"
    "newref PyFloat_FromDouble\n"
    "newref PyFloat_FromString\n"
    "newref PyNumber_Float\n"
    "newref PySlice_New\n"
    "# Results of Python code called by an extension.\n"
    "newref PyObject_Call\n"
    "newref PyObject_CallObject\n"
    "newref PyObject_CallNoArgs\n"
    "newref PyObject_CallOneArg\n"
    "newref PyObject_CallFunction\n"
    "newref _PyObject_CallFunction_SizeT\n"
    "newref PyObject_CallMethod\n"
    "newref _PyObject_CallMethod_SizeT\n"
    "newref PyObject_CallFunctionObjArgs\n"
    "newref PyObject_CallMethodObjArgs\n"
    "newref PyObject_Vectorcall\n"
    "newref PyObject_VectorcallDict\n"
    "newref PyObject_VectorcallMethod\n"
    "newref PyIter_Next\n"
    "# Arithmetic (floats) and lookups that may build a new object.\n"
    "newref PyNumber_Add\n"
    "newref PyNumber_Subtract\n"
    "newref PyNumber_Multiply\n"
    "newref PyNumber_TrueDivide\n"
    "newref PyNumber_FloorDivide\n"
    "newref PyNumber_Remainder\n"
    "newref PyNumber_Power\n"
    "newref PyNumber_Negative\n"
    "newref PyNumber_Absolute\n"
    "newref PyObject_GetAttr\n"
    "newref PyObject_GetAttrString\n"
    "newref PyObject_GetItem\n"
    "newref PySequence_GetItem\n"
    "newref PySequence_GetSlice\n"
    "newref PySequence_Fast\n"
    "newref PyObject_Dir\n"
    "newref PyMapping_Keys\n"
    "newref PyMapping_Values\n"
    "newref PyMapping_Items\n";

static const struct {
    const char *name;
    const char *text;
} builtins[] = {
    { "gobject", builtin_gobject },   { "gst", builtin_gst },
    { "cairo", builtin_cairo },       { "harfbuzz", builtin_harfbuzz },
    { "dbus", builtin_dbus },         { "openssl", builtin_openssl },
    { "sdbus", builtin_sdbus },       { "python", builtin_python },
};

const char *rs_profile_builtin(const char *name)
{
    for (size_t i = 0; name && i < sizeof builtins / sizeof builtins[0]; i++)
        if (strcmp(builtins[i].name, name) == 0)
            return builtins[i].text;
    return NULL;
}

const char *rs_profile_builtin_names(void)
{
    return "gobject,gst,cairo,harfbuzz,dbus,openssl,sdbus,python";
}
