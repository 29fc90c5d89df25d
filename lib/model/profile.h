/*
 * profile.h - hook profiles: which exported functions take, drop and create
 * references, where an object's counter lives and how to name its type.
 *
 * A profile set is parsed once at start-up (REFSCOPE_HOOKS=gobject,my.prof)
 * from built-in texts and user files; the preload then hooks every function
 * it names (preload/got_hook.h) and, on each call, looks up the hook's
 * rs_hook_spec_t by its index.  Parsing never crashes on any input, never
 * uses stdio and allocates only through rs_mem, so it may run inside the
 * target.  Errors are one line, "file:line: message", no newline.
 *
 * ---- The profile file format -------------------------------------------
 *
 * A UTF-8/ASCII text file, one directive per line.  '#' starts a comment
 * that runs to the end of the line; blank lines are ignored; words are
 * separated by spaces or tabs; lines are at most 1023 bytes.  Options are
 * `key=value` words (or bare flags), in any order, each at most once.
 * Numbers are decimal or 0x-hexadecimal.  A file may hold several profiles.
 *
 *   profile NAME
 *       Starts a profile; every following line up to the next `profile`
 *       belongs to it.  NAME: letters, digits, '_' and '-'; unique in the
 *       whole set.  A profile must define at least one function
 *       or a `recognize` line.
 *
 *   incref FUNC [arg=N | returns] [FUNC-OPTIONS]
 *       FUNC adds one reference to the object.
 *   decref FUNC [arg=N] [FUNC-OPTIONS]
 *       FUNC drops one reference (and frees the object when it was the
 *       last one).  The object cannot be the return value.  A function
 *       that only hands its reference on to a listed decref
 *       (sd_bus_flush_close_unref ends in sd_bus_unref) must not be
 *       listed: the entry hook sees the inner call, and both would count.
 *   sink   FUNC [arg=N | returns] [FUNC-OPTIONS]
 *       Like incref, except that when the call leaves the counter unchanged
 *       (it only sank a floating reference, g_object_ref_sink) no reference
 *       is recorded.  Needs a counter field to tell the difference; with an
 *       event-kept counter it is treated as incref.
 *   ctor   FUNC [returns | arg=N | out=N] [FUNC-OPTIONS]
 *       FUNC creates the object with one reference.  Default: `returns`.
 *       A ctor seen for an object that is already tracked (a constructor
 *       calling another hooked constructor) is recorded once, unless the
 *       object's count is kept from events and is 0: then the library
 *       recycled a released object (cairo's pattern pool, libdbus's
 *       message cache) and the ctor starts its new life (objtable.h).
 *
 *   newref FUNC [returns] [FUNC-OPTIONS]
 *       FUNC returns a new reference to an object that may have been
 *       recycled without malloc (CPython's free lists hand out tuples,
 *       lists, dicts and floats again), so that the object's heap block
 *       still carries the stack of its first malloc.  Hooked only where
 *       another module calls FUNC through its GOT (no entry hook: the
 *       library's own calls, millions in an interpreter, are not seen).
 *       When such a call returns an object whose counter then reads 1
 *       (the caller is its only owner), and the allocation stack of the
 *       block holding it does not already pass through the call's return
 *       address (malloc'ed inside the call), the block takes the call's
 *       stack as its allocation stack; what happens to the object is
 *       then charged to that caller, as tracemalloc does through
 *       _Py_NewReference.  No reference event is recorded.  Needs a
 *       counter field (`counter offset= width=`).
 *
 *     arg=N     the object is the N-th integer/pointer argument, 0..5,
 *               counting only integer-class arguments (floating-point
 *               arguments travel in other registers and do not count).
 *               Default 0 for incref, decref and sink.
 *     returns   the object is the function's return value.
 *     out=N     (ctor only) the N-th integer/pointer argument, 0..5, is a
 *               `T **` through which FUNC stores the new object, and FUNC
 *               returns an int, negative on failure (sd-bus:
 *               int sd_bus_message_new_method_call(sd_bus *, sd_bus_message
 *               **m, ...) is `out=1`).  The object is read through the
 *               pointer when the call returns, and recorded only when the
 *               return value, as an int, is >= 0 and the object not NULL.
 *     FUNC-OPTIONS override the profile's counter and type name for this
 *     function only:
 *       offset=N width=W signed|unsigned   (as for `counter`)
 *       events                             (count from events, no field)
 *       type=NAME                          (as `typename const=NAME`)
 *
 *   counter offset=N width=W [signed|unsigned]
 *   counter events
 *       Where the reference count lives: W (1, 2, 4 or 8) bytes at byte
 *       offset N of the object, unsigned unless `signed`; or `events`: no
 *       field is read and the count is kept from the calls seen (the
 *       default when a profile has no counter line).  At most once.
 *
 *   typename const=NAME        every object of this profile is a NAME
 *   typename field=N           a `const char *` at byte offset N
 *   typename call=FUNC [word=N]
 *       `const char *FUNC(void *obj)` names the type; with word=N it is
 *       called with the pointer-sized word at byte offset N instead of the
 *       object (g_type_name(GType)).  Default: the profile name.  At most
 *       once.
 *
 *   weak offset=N [is-a=TYPE] [private] [then=M]
 *        [version-call=FUNC versions=MIN-MAX]
 *       The pointer at byte offset N (a multiple of 8) of the profile's
 *       objects holds no reference to what it points to: a back pointer
 *       (a GstMiniObject's priv_pointer, its parent buffer).  Trial
 *       deletion does not count it among the target's references, so a
 *       lost parent is a leaked reference, not a cycle with its child.
 *       With is-a=TYPE (GObject profiles), only for instances of the
 *       GType named TYPE (GLib's g_type_check_instance_is_a, asked once
 *       per type when an object's type is resolved: preload/
 *       weak_fields.c): `weak offset=40 is-a=GstObject` is the parent
 *       pointer of every GstObject.
 *     private   (needs is-a) N counts from the start of TYPE's instance
 *               private data (G_DEFINE_TYPE_WITH_PRIVATE), which GLib
 *               places before the instance, at the offset
 *               g_type_class_get_instance_private_offset() gives for
 *               TYPE's class (asked when the first instance of TYPE is
 *               seen).  A private struct's layout is no ABI: give
 *               version-call= and versions= too.
 *     then=M    (a multiple of 8) the field at N is an owning pointer to
 *               a block (a plain struct the object keeps); the pointer
 *               that holds no reference is the one at byte M of that
 *               block (GstBusPrivate.sync_handler -> SyncHandler.user_data).
 *     version-call=FUNC versions=MIN-MAX  (together) the line applies only
 *               when `void FUNC(unsigned *major, unsigned *minor, unsigned
 *               *micro, unsigned *nano)` (gst_version) reports a version
 *               in MIN-MAX ("A.B[.C]-D.E[.F]", version_range.h); FUNC is
 *               looked up and called once, when the line is first needed
 *               (an object of its profile, of its is-a type); not found:
 *               the line does not apply.
 *       Up to RS_PROFILE_MAX_WEAK per profile; two lines may not name the
 *       same field (same offset, private, then and is-a).
 *
 *   registry ghash in=MODULE (hash=FUNC [equal=FUNC|none] | key-size=N key-back=M
 *            [key-closure=C closure-notifiers=D])
 *            [owns-values] version-vars=PREFIX versions=MIN-MAX
 *       A registry keyed by identity: a GLib GHashTable (the layout of
 *       GLib 2.74 to 2.86, registry_edges.h) pointed to by a global of the
 *       library whose file name is MODULE, with no key or value destroy
 *       function, whose keys are objects it holds no reference to.  The
 *       table is named by its hash function FUNC and key_equal_func
 *       (default none: NULL); or, for one whose hash function is no
 *       exported symbol, by its keys: every key is an N-byte block whose
 *       word at byte M (a multiple of 8) points back to a refcounted
 *       object.  The table's pointers to its keys (only keys that are
 *       refcounted objects, for hash=) hold no reference and confer no
 *       liveness: an object only such a table points to is dead, a
 *       leaked reference when its count says it was not released.  So
 *       does a key's back pointer at M; with key-closure=C
 *       closure-notifiers=D (multiples of 8), so do the pointers to that
 *       object from the array the block at the key's word C (a Handler's
 *       GRealClosure) points to with its word D (GClosure.notifiers):
 *       GLib's invalidate notifier, data = the instance.  owns-values: each key's value is
 *       a block of the key's own (GLib's handler lists of an instance): the
 *       table's pointer to it confers no liveness, the value lives iff its
 *       key does and is charged to it.  The lines apply only when the
 *       exported `unsigned` variables PREFIX_major_version,
 *       PREFIX_minor_version and PREFIX_micro_version (glib_major_version
 *       ...) give a version in MIN-MAX: both are required, the layout is
 *       GLib's private.  Looked up when the first object of the profile
 *       is seen (preload/registry_tables.c); not found: no line applies.
 *       Up to RS_PROFILE_MAX_REGISTRY per profile.
 *
 *   qdata weak-locations quark=NAME field=N [except=TYPE]
 *         version-vars=PREFIX versions=MIN-MAX
 *   qdata back quark=NAME field=N offset=M version-vars=PREFIX versions=MIN-MAX
 *       GLib's weak-reference bookkeeping, kept in each object's qdata
 *       (the GData * at byte N of the object; GData's layout of GLib 2.74
 *       to 2.78, qdata_edges.h) under the quark whose string is NAME
 *       (g_quark_try_string, asked while the program runs, before the
 *       analysis stops it; a quark not yet made: the line does not
 *       apply).  weak-locations: the entry is GLib's list of the GWeakRefs
 *       pointing to the object (a GSList ** block, "GObject-weak-locations"):
 *       each GWeakRef in a heap block that points to the object, and the
 *       list's pointer to that block, hold no reference and confer no
 *       liveness (like a `registry` line's pointers); except=TYPE leaves
 *       the GWeakRefs to objects of the type named TYPE (exactly that
 *       name) counted: GBinding's one reference is owned through one.
 *       back: the entry is a block whose word at M points back to the
 *       object ("GObject-weak-references": WeakRefStack.object): no
 *       reference, like a `weak` line's pointer.  Only objects of the
 *       line's profile are looked at.  version-vars and versions as for
 *       `registry` (both required).  Up to RS_PROFILE_MAX_QDATA per
 *       profile.
 *
 *   recognize type-word=N metatype=SYMBOL type-name=N [type-size=N]
 *             [compact=SYMBOL] [type-flags=N] [header=SIZE@MASK[,SIZE@MASK...]]
 *             [immortal=N] [version=SYMBOL] [version-min=N] [version-max=N]
 *       Objects whose refcounting is inline (macros, no function to hook)
 *       are recognised in the heap at analysis time, by their type word:
 *       a block holds an object when the pointer-sized word at byte
 *       offset type-word of the object points to a type object, i.e. an
 *       object whose own type word, followed from type to type (at most 8
 *       steps), reaches the address of SYMBOL (looked up with dlsym when
 *       the analysis runs; absent: nothing is recognised).  The object
 *       may start after a header: its size is the sum of the SIZEs (each
 *       a multiple of 8, below 4096; at most 4 terms) whose MASK has a
 *       bit in common with the type's flags, the pointer-sized word at
 *       byte offset type-flags of the type object (without type-flags,
 *       the header is 0).  The header must be exactly that size: a
 *       candidate object at another offset is rejected; so is one whose
 *       count is below 1 or whose header holds a word that is neither 0
 *       nor a user-space address, from 64 KiB to 2^47 (flag bits in the
 *       low 3 bits of the word next to the object are allowed): headers
 *       hold pointers.  With type-size,
 *       the pointer-sized word at that offset of the type (the instance
 *       size) must fit in the block after the header, except for
 *       instances of the type at compact=SYMBOL (needs type-size; looked
 *       up like the metatype), which may be smaller (CPython's compact
 *       strings: PyUnicode_Type's tp_basicsize is the 80-byte legacy
 *       layout, a short ASCII str 49-60 bytes).  The type's name is
 *       the NUL-terminated `const char *` at byte offset type-name of the
 *       type object.  The count is the profile's counter (which must be a
 *       field: offset= width=), read at that offset of the object.  A
 *       count at or above immortal= marks an object that is never freed
 *       by design (CPython 3.12's immortal objects): it is treated as a
 *       root, like refscope_ignore().  Pointers into the header (CPython's
 *       GC list links) are not references: they are no edges.  With
 *       version=SYMBOL, the unsigned long at SYMBOL (Py_Version) must lie
 *       in [version-min, version-max] (each 0 = no bound); out of range,
 *       refscope says so once on stderr and recognises nothing; a missing
 *       symbol does not prevent recognition.  Numbers here may be up to
 *       2^32 - 1 (offsets below 2^20).  At most one per profile; a profile
 *       with a recognize line needs no function.
 *
 * A function may appear only once in a whole set (it has one hook).
 *
 * Built-in profiles (rs_profile_builtin()):
 *   gobject  g_object_new, _new_with_properties, _newv, _new_valist (ctor),
 *            g_object_ref (incref), g_object_ref_sink (sink),
 *            g_object_unref (decref); counter: guint ref_count at offset 8
 *            of struct _GObject (after GTypeInstance's g_class pointer);
 *            type: g_type_name_from_instance(obj).  Weak: GstObject.parent
 *            (offset 40, is-a GstObject); the user_data of the SyncHandler
 *            that GstBusPrivate.sync_handler points to (private offset
 *            16, then 8, is-a GstBus; GStreamer 1.22 to 1.28 by
 *            gst_version), a bin's child bus pointing back to the bin.
 *            Registry: GLib's signal handler tables (gsignal.c), for
 *            GLib 2.74 to 2.86 by glib_*_version: g_handler_list_bsa_ht
 *            (hash=g_direct_hash equal=none owns-values) and g_handlers
 *            (key-size=56 key-back=48: Handler.instance).
 *   gst      gst_mini_object_init (ctor, arg=0), gst_mini_object_ref,
 *            gst_mini_object_unref; counter: gint refcount at offset 8 of
 *            struct _GstMiniObject (after GType type); type:
 *            g_type_name(word at offset 0).  GstObject is a GObject:
 *            gst_object_ref calls g_object_ref, so use "gobject,gst".
 *            libgstreamer calls its own functions directly (not through
 *            its GOT): the preload's entry hooks see those calls (also
 *            gst_mini_object_init inside GStreamer's constructors).  The
 *            constructors a program calls are hooked too, as ctors
 *            returning the object, for functions whose entry cannot be
 *            patched and for REFSCOPE_ENTRY_HOOKS=0: gst_buffer_new,
 *            _new_allocate, _new_wrapped, _new_wrapped_full, _new_memdup,
 *            gst_buffer_copy_region, _copy_deep, gst_mini_object_copy
 *            (gst_buffer_copy, gst_caps_copy...), gst_caps_new_empty,
 *            _new_any, _new_empty_simple, gst_caps_from_string (variadic
 *            ones are not).  Without entry hooks, objects created inside
 *            GStreamer are first seen at their first hooked ref/unref and
 *            refs/unrefs GStreamer takes internally are missing from their
 *            histories (counts stay right: the counter is read from the
 *            object).  Like gobject, gst makes GLib's slice allocator use
 *            malloc.
 *
 *   cairo    counter events (cairo_reference_count_t lives in private
 *            structs); surfaces (cairo_image_surface_create, _for_data,
 *            _from_png, cairo_surface_create_similar, _similar_image,
 *            _for_rectangle, cairo_recording_surface_create: ctors;
 *            cairo_surface_reference, cairo_surface_destroy), contexts
 *            (cairo_create, cairo_reference, cairo_destroy), patterns
 *            (cairo_pattern_create_rgb, _rgba, _for_surface, _linear,
 *            _radial, _mesh, cairo_pop_group; cairo_pattern_reference,
 *            cairo_pattern_destroy); types cairo_surface_t, cairo_t,
 *            cairo_pattern_t.
 *   harfbuzz counter events (hb_object_header_t is private); hb_blob_*
 *            (create, create_or_fail, create_sub_blob, create_from_file,
 *            create_from_file_or_fail, copy_writable_or_fail; reference,
 *            destroy), hb_buffer_* (create, create_similar; reference,
 *            destroy), hb_face_* (create, create_for_tables,
 *            hb_face_builder_create; reference, destroy), hb_font_*
 *            (create, create_sub_font; reference, destroy), hb_set_*
 *            (create, reference, destroy); types hb_blob_t, hb_buffer_t,
 *            hb_face_t, hb_font_t, hb_set_t.
 *   dbus     libdbus-1, counter events; dbus_message_new, _new_method_call,
 *            _new_method_return, _new_signal, _new_error, _copy,
 *            _demarshal (ctors), dbus_message_ref / _unref (DBusMessage);
 *            dbus_connection_open, _open_private, dbus_bus_get,
 *            _get_private (ctors), dbus_connection_ref / _unref
 *            (DBusConnection); dbus_pending_call_ref / _unref
 *            (DBusPendingCall).
 *   openssl  OpenSSL 3, counter events; for X509 (X509_new, X509_dup),
 *            X509_CRL, X509_STORE, EVP_PKEY (EVP_PKEY_new, EVP_PKEY_dup),
 *            BIO, SSL_CTX (SSL_CTX_new, SSL_CTX_new_ex), SSL, SSL_SESSION:
 *            TYPE_new (ctor), TYPE_up_ref (incref), TYPE_free (decref);
 *            the type is the OpenSSL type name.
 *   sdbus    libsystemd's sd-bus, counter events; sd_bus_new, sd_bus_open,
 *            _open_user, _open_system (ctors, out=0), sd_bus_ref,
 *            sd_bus_unref, sd_bus_flush_close_unref, sd_bus_close_unref
 *            (sd_bus); sd_bus_message_new, _new_method_call, _new_signal,
 *            _new_method_return, _new_method_error (ctors, out=1),
 *            sd_bus_message_ref / _unref (sd_bus_message).
 *   python   CPython 3.11, 3.12 and 3.13 objects (the default, GIL build;
 *            not the free-threaded 3.13t), recognised at analysis time
 *            (Py_INCREF is inline), with PYTHONMALLOC=malloc answered by
 *            refscope's getenv (the environment is not changed, so
 *            children see what the parent saw).  Layout on x86-64, the
 *            same in the three versions (Include/object.h,
 *            Include/cpython/object.h, Include/internal/pycore_object.h):
 *              PyObject     ob_refcnt at 0 (Py_ssize_t), ob_type at 8
 *              PyTypeObject tp_name at 24, tp_basicsize at 32,
 *                           tp_flags at 168 (unsigned long)
 *              header       PyGC_Head, 16 bytes, when tp_flags has
 *                           Py_TPFLAGS_HAVE_GC (1 << 14); 2 more words
 *                           before it (managed dict and values, or weak
 *                           list) when it has Py_TPFLAGS_MANAGED_DICT
 *                           (1 << 4; 3.11+) or Py_TPFLAGS_MANAGED_WEAKREF
 *                           (1 << 3; 3.12+, unused in 3.11)
 *              immortal     3.12/3.13 set ob_refcnt to 2^32 - 1 (a
 *                           negative 32-bit count): counts >= 2^31
 *            metatype PyType_Type; version from Py_Version (3.11+), range
 *            3.11 to 3.13.  54 `newref` functions: those that make the
 *            free-listed types (PyTuple_New, Py_BuildValue, PyList_New,
 *            PyDict_New, PyFloat_FromDouble, PySlice_New...), those that
 *            call Python code (PyObject_Call*, PyObject_Vectorcall*,
 *            PyIter_Next), arithmetic (PyNumber_Add...) and lookups that
 *            may build an object (PyObject_GetAttr, PyObject_GetItem,
 *            PySequence_GetSlice, PyMapping_Keys...), so that a recycled
 *            object an extension is handed is charged to the extension.
 *            Never a function returning a borrowed reference
 *            (PyDict_GetItem, PyList_GetItem): a count of 1 there means
 *            the container is the only owner, not the caller.
 *   With `counter events` the count is the calls refscope sees: the
 *   libraries call most of their own ref/unref functions through their
 *   PLT (hooked too), but a reference a library takes by a direct
 *   internal call is not seen, nor its release.
 *
 * Invariants of a parsed set: every hook's function name is unique; hook
 * i's `profile` indexes profiles[]; counter and type name of every hook
 * are resolved (profile defaults applied).
 */
#ifndef RS_PROFILE_H
#define RS_PROFILE_H

#include "version_range.h"

#include <stddef.h>
#include <stdint.h>

#define RS_PROFILE_MAX_HOOKS 256   /* hooked functions in one set: one
                                      trampoline each (RS_GOT_HOOK_MAX)   */
#define RS_PROFILE_MAX_LINE  1023  /* bytes per line, without the newline  */
#define RS_HOOK_RETURNS      (-1)  /* rs_hook_spec_t.arg: the return value  */

typedef enum rs_hook_kind {
    RS_HOOK_INCREF = 1,
    RS_HOOK_DECREF = 2,
    RS_HOOK_SINK   = 3,
    RS_HOOK_CTOR   = 4,
    RS_HOOK_NEWREF = 5,      /* GOT only; stamps recycled blocks         */
} rs_hook_kind_t;

typedef enum rs_typename_kind {
    RS_TYPENAME_CONST = 1,   /* text is the name                          */
    RS_TYPENAME_FIELD = 2,   /* const char * at offset                    */
    RS_TYPENAME_CALL  = 3,   /* text is a function name                   */
} rs_typename_kind_t;

typedef struct rs_counter_spec {
    uint32_t offset;         /* byte offset of the counter                */
    uint8_t  width;          /* 1, 2, 4, 8; 0 = counted from events       */
    uint8_t  is_signed;
} rs_counter_spec_t;

typedef struct rs_typename_spec {
    uint8_t  kind;           /* rs_typename_kind_t                        */
    uint8_t  call_on_word;   /* CALL: pass the word at offset, not obj    */
    uint32_t offset;         /* FIELD, or CALL with call_on_word          */
    char    *text;           /* CONST: type name; CALL: function name     */
} rs_typename_spec_t;

typedef struct rs_hook_spec {
    char              *function;  /* exported symbol to hook              */
    uint8_t            kind;      /* rs_hook_kind_t                       */
    int8_t             arg;       /* 0..5 or RS_HOOK_RETURNS              */
    uint8_t            out;       /* ctor `out=arg`: args[arg] is a T **  */
    uint32_t           profile;   /* index into rs_profile_set_t.profiles */
    rs_counter_spec_t  counter;   /* effective for this function          */
    rs_typename_spec_t type;      /* effective; text shared, do not free  */
} rs_hook_spec_t;

#define RS_RECOGNIZE_MAX_HEADERS 4
#define RS_RECOGNIZE_NONE UINT32_MAX  /* an optional offset not given    */

/* A `recognize` line: how to find objects of a profile in the heap. */
typedef struct rs_recognizer {
    uint32_t          profile;      /* index into profiles[]                */
    char             *metatype;     /* symbol ending every type chain       */
    char             *compact;      /* symbol of a type whose instances may
                                       be smaller than its size, or NULL   */
    char             *version;      /* symbol of the version, or NULL       */
    uint32_t          version_min, version_max;   /* 0 = no bound         */
    uint32_t          type_word;    /* offset of the type pointer           */
    uint32_t          type_name;    /* offset of the char * in the type     */
    uint32_t          type_size;    /* offset in the type, or ..._NONE      */
    uint32_t          type_flags;   /* offset in the type, or ..._NONE      */
    uint32_t          n_headers;
    uint32_t          header_size[RS_RECOGNIZE_MAX_HEADERS];
    uint32_t          header_mask[RS_RECOGNIZE_MAX_HEADERS];
    uint64_t          immortal;     /* counts >= this are roots; 0 = none   */
    rs_counter_spec_t counter;      /* the profile's counter (a field)      */
} rs_recognizer_t;

#define RS_PROFILE_MAX_RECOGNIZERS 8

#define RS_PROFILE_MAX_WEAK 8
#define RS_WEAK_NO_THEN UINT32_MAX   /* rs_weak_spec_t.then: none          */

/* A `weak` line: where a pointer that holds no reference lives. */
typedef struct rs_weak_spec {
    uint32_t           offset;     /* of the field, from the object or from
                                      is_a's private data                 */
    uint32_t           then;       /* offset in the block the field points
                                      to, or RS_WEAK_NO_THEN               */
    uint8_t            in_private; /* offset counts from is_a's private data */
    char              *is_a;       /* GType name, or NULL: every object    */
    char              *version_call; /* gst_version-like function, or NULL */
    rs_version_range_t versions;   /* with version_call                    */
} rs_weak_spec_t;

#define RS_PROFILE_MAX_REGISTRY 4

/* A `registry` line: a GLib hash table keyed by objects it holds no
 * reference to (registry_edges.h says what its pointers mean). */
typedef struct rs_registry_spec {
    char              *module;       /* in=: library whose globals hold it */
    char              *hash;         /* hash function's symbol, or NULL    */
    char              *equal;        /* key_equal_func's symbol, or NULL   */
    uint8_t            owns_values;  /* a key's value is the key's own     */
    uint32_t           key_size;     /* 0, or every key's size (no hash)   */
    uint32_t           key_back;     /* with key_size: back pointer offset */
    uint32_t           closure;      /* with key_size: key's closure, or 0 */
    uint32_t           notifiers;    /* with closure: its notifiers array  */
    char              *version_vars; /* PREFIX of PREFIX_major_version...  */
    rs_version_range_t versions;
} rs_registry_spec_t;

#define RS_PROFILE_MAX_QDATA 4

/* A `qdata` line: GLib weak-reference bookkeeping kept in an object's
 * qdata (qdata_edges.h says what its pointers mean). */
typedef struct rs_qdata_spec {
    uint8_t            back;         /* 1: `back`, 0: `weak-locations`     */
    uint32_t           field;        /* offset of the object's GData *     */
    uint32_t           offset;       /* back: the back pointer's offset    */
    char              *quark;        /* the entry's key, a quark's string  */
    char              *except;       /* weak-locations: a type left alone  */
    char              *version_vars; /* PREFIX of PREFIX_major_version...  */
    rs_version_range_t versions;
} rs_qdata_spec_t;

typedef struct rs_profile {
    char              *name;
    char              *source;    /* file name it came from               */
    rs_counter_spec_t  counter;
    rs_typename_spec_t type;
    rs_weak_spec_t     weak[RS_PROFILE_MAX_WEAK];  /* `weak` lines        */
    uint32_t           n_weak;
    rs_registry_spec_t registry[RS_PROFILE_MAX_REGISTRY]; /* `registry`  */
    uint32_t           n_registry;
    rs_qdata_spec_t    qdata[RS_PROFILE_MAX_QDATA];       /* `qdata`     */
    uint32_t           n_qdata;
} rs_profile_t;

typedef struct rs_profile_set {
    rs_profile_t   *profiles;
    uint32_t        n_profiles;
    rs_hook_spec_t *hooks;        /* hook index = position here           */
    uint32_t        n_hooks;
    rs_recognizer_t recognizers[RS_PROFILE_MAX_RECOGNIZERS];
    uint32_t        n_recognizers;
    /* private: every string the set owns, and array capacities */
    char          **owned;
    uint32_t        n_owned, cap_owned, cap_profiles, cap_hooks;
} rs_profile_set_t;

typedef struct rs_profile_error {
    char message[512];            /* "file:line: message", no newline     */
} rs_profile_error_t;

/* An empty set; NULL on allocation failure. */
rs_profile_set_t *rs_profile_set_create(void);
/* Frees the set and every string in it; NULL is accepted. */
void rs_profile_set_free(rs_profile_set_t *set);

/*
 * Parses text[0..len) (NUL bytes are an error, not a terminator) and adds
 * its profiles to set.  filename is used in messages only.  Returns 0; on
 * any error returns -1, fills err (may be NULL) and leaves set exactly as
 * it was.  Out of memory is reported as an error too.
 */
int rs_profile_parse(rs_profile_set_t *set, const char *text, size_t len,
                     const char *filename, rs_profile_error_t *err);

/* Reads path with open/read (at most 1 MiB) and parses it.  Same result
 * convention as rs_profile_parse; an unreadable file is "path: reason",
 * and so is anything but a regular file (a FIFO, a device: refused, never
 * waited on). */
int rs_profile_load_file(rs_profile_set_t *set, const char *path,
                         rs_profile_error_t *err);

/* The text of built-in profile `name`, or NULL if there is none. */
const char *rs_profile_builtin(const char *name);
/* Comma-separated names of the built-in profiles ("gobject,gst,...").
 * Both live in profile_builtin.c. */
const char *rs_profile_builtin_names(void);

/*
 * Parses a comma-separated list such as "gobject,/path/my.profile": an
 * item that names a built-in profile is that profile, any other item is a
 * file path.  Empty items are skipped.  All or nothing: returns 0, or -1
 * with err filled and set unchanged.
 */
int rs_profile_list_parse(rs_profile_set_t *set, const char *list,
                          rs_profile_error_t *err);

/* Index of the hook for `function`, or -1. */
int rs_profile_find_hook(const rs_profile_set_t *set, const char *function);

/* "incref", "decref", "sink", "ctor"; "?" for anything else. */
const char *rs_hook_kind_name(int kind);

#endif /* RS_PROFILE_H */
