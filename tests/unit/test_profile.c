/*
 * test_profile.c - unit tests of lib/model/profile.c: the built-in profiles, the
 * accepted syntax, every error message (exact text, file and line), the
 * all-or-nothing rule, files and lists, and robustness on random bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "profile.h"
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static rs_profile_set_t *parse_ok(const char *text)
{
    rs_profile_set_t *s = rs_profile_set_create();
    rs_profile_error_t err = { "" };
    assert_non_null(s);
    int rc = rs_profile_parse(s, text, strlen(text), "t.prof", &err);
    if (rc)
        fail_msg("unexpected error: %s", err.message);
    return s;
}

static void test_builtin_gobject(void **state)
{
    rs_profile_set_t *s = rs_profile_set_create();
    rs_profile_error_t err;
    assert_int_equal(rs_profile_list_parse(s, "gobject", &err), 0);
    assert_int_equal(s->n_profiles, 1);
    assert_string_equal(s->profiles[0].name, "gobject");
    assert_string_equal(s->profiles[0].source, "built-in:gobject");
    int i = rs_profile_find_hook(s, "g_object_ref");
    assert_true(i >= 0);
    assert_int_equal(s->hooks[i].kind, RS_HOOK_INCREF);
    assert_int_equal(s->hooks[i].arg, 0);
    assert_int_equal(s->hooks[i].counter.offset, 8);
    assert_int_equal(s->hooks[i].counter.width, 4);
    assert_int_equal(s->hooks[i].counter.is_signed, 0);
    assert_int_equal(s->hooks[i].type.kind, RS_TYPENAME_CALL);
    assert_string_equal(s->hooks[i].type.text, "g_type_name_from_instance");
    i = rs_profile_find_hook(s, "g_object_new");
    assert_true(i >= 0);
    assert_int_equal(s->hooks[i].kind, RS_HOOK_CTOR);
    assert_int_equal(s->hooks[i].arg, RS_HOOK_RETURNS);
    i = rs_profile_find_hook(s, "g_object_ref_sink");
    assert_int_equal(s->hooks[i].kind, RS_HOOK_SINK);
    i = rs_profile_find_hook(s, "g_object_unref");
    assert_int_equal(s->hooks[i].kind, RS_HOOK_DECREF);
    assert_true(rs_profile_find_hook(s, "g_object_new_with_properties") >= 0);
    assert_true(rs_profile_find_hook(s, "g_object_newv") >= 0);
    assert_int_equal(rs_profile_find_hook(s, "g_object_frob"), -1);
    /* GLib's weak locations and weak-ref stacks, the Handler's closure */
    const rs_profile_t *prof = &s->profiles[0];
    assert_int_equal(prof->n_qdata, 2);
    assert_string_equal(prof->qdata[0].quark, "GObject-weak-locations");
    assert_string_equal(prof->qdata[0].except, "GBinding");
    assert_int_equal(prof->qdata[1].back, 1);
    assert_int_equal(prof->registry[1].closure, 40);
    rs_profile_set_free(s);
}

static void test_builtin_gst_and_list(void **state)
{
    rs_profile_set_t *s = rs_profile_set_create();
    rs_profile_error_t err;
    assert_int_equal(rs_profile_list_parse(s, " gobject , ,gst,", &err), 0);
    assert_int_equal(s->n_profiles, 2);
    int i = rs_profile_find_hook(s, "gst_mini_object_unref");
    assert_true(i >= 0);
    assert_int_equal(s->hooks[i].profile, 1);
    assert_int_equal(s->hooks[i].counter.offset, 8);
    assert_int_equal(s->hooks[i].counter.width, 4);
    assert_int_equal(s->hooks[i].counter.is_signed, 1);
    assert_int_equal(s->hooks[i].type.kind, RS_TYPENAME_CALL);
    assert_int_equal(s->hooks[i].type.call_on_word, 1);
    assert_int_equal(s->hooks[i].type.offset, 0);
    assert_string_equal(s->hooks[i].type.text, "g_type_name");
    i = rs_profile_find_hook(s, "gst_mini_object_init");
    assert_int_equal(s->hooks[i].kind, RS_HOOK_CTOR);
    assert_int_equal(s->hooks[i].arg, 0);
    /* GstMiniObject.priv_pointer: the parent, no reference. */
    const rs_weak_spec_t *wk = s->profiles[1].weak;
    assert_int_equal(s->profiles[1].n_weak, 1);
    assert_int_equal(wk[0].offset, 56);
    assert_null(wk[0].is_a);
    assert_int_equal(wk[0].then, RS_WEAK_NO_THEN);
    assert_int_equal(wk[0].in_private, 0);
    assert_null(wk[0].version_call);
    /* gobject: GstObject.parent, for GstObject instances only; the
     * user_data of the sync handler in GstBus's private data, for
     * GStreamer 1.22 to 1.28. */
    wk = s->profiles[0].weak;
    assert_int_equal(s->profiles[0].n_weak, 2);
    assert_int_equal(wk[0].offset, 40);
    assert_string_equal(wk[0].is_a, "GstObject");
    assert_int_equal(wk[0].in_private, 0);
    assert_int_equal(wk[1].offset, 16);
    assert_int_equal(wk[1].in_private, 1);
    assert_string_equal(wk[1].is_a, "GstBus");
    assert_int_equal(wk[1].then, 8);
    assert_string_equal(wk[1].version_call, "gst_version");
    assert_true(rs_version_range_has(&wk[1].versions, 1, 22, 0));
    assert_true(rs_version_range_has(&wk[1].versions, 1, 28, 5));
    assert_false(rs_version_range_has(&wk[1].versions, 1, 20, 7));
    assert_false(rs_version_range_has(&wk[1].versions, 1, 30, 0));
    assert_non_null(rs_profile_builtin("gst"));
    assert_null(rs_profile_builtin("pango"));
    assert_null(rs_profile_builtin(NULL));
    assert_string_equal(rs_profile_builtin_names(),
                        "gobject,gst,cairo,harfbuzz,dbus,openssl,sdbus,python");
    /* The same built-in twice is a duplicate profile, and nothing is added. */
    assert_int_equal(rs_profile_list_parse(s, "gst", &err), -1);
    assert_string_equal(err.message, "built-in:gst:4: profile 'gst' defined twice");
    assert_int_equal(s->n_profiles, 2);
    rs_profile_set_free(s);
}

/* Every built-in profile parses alone and all of them together (every
 * name in rs_profile_builtin_names() has a text); the set fits in one
 * hook table. */
static void test_builtin_all(void **state)
{
    char names[256];
    strcpy(names, rs_profile_builtin_names());
    uint32_t n = 0;
    for (char *save, *tok = strtok_r(names, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save), n++) {
        rs_profile_set_t *one = rs_profile_set_create();
        rs_profile_error_t err = { "" };
        assert_non_null(rs_profile_builtin(tok));
        if (rs_profile_list_parse(one, tok, &err) != 0)
            fail_msg("built-in %s: %s", tok, err.message);
        assert_int_equal(one->n_profiles, 1);
        assert_string_equal(one->profiles[0].name, tok);
        rs_profile_set_free(one);
    }
    assert_int_equal(n, 8);
    rs_profile_set_t *s = rs_profile_set_create();
    rs_profile_error_t err = { "" };
    assert_int_equal(rs_profile_list_parse(s, "cairo,harfbuzz,dbus,openssl,sdbus",
                                           &err), 0);
    assert_int_equal(s->n_profiles, 5);
    rs_profile_set_free(s);
}

/* The new built-ins: events-kept counters (dbus: a field), per-function
 * types, out=. */
static void test_builtin_library_profiles(void **state)
{
    static const struct {
        const char *profile, *function, *type;
        uint8_t     kind;
        int8_t      arg;
        uint8_t     out;
    } cases[] = {
        { "cairo", "cairo_image_surface_create", "cairo_surface_t", RS_HOOK_CTOR,
          RS_HOOK_RETURNS, 0 },
        { "cairo", "cairo_surface_reference", "cairo_surface_t", RS_HOOK_INCREF, 0, 0 },
        { "cairo", "cairo_pattern_destroy", "cairo", RS_HOOK_DECREF, 0, 0 },
        { "cairo", "cairo_create", "cairo_t", RS_HOOK_CTOR, RS_HOOK_RETURNS, 0 },
        { "harfbuzz", "hb_blob_reference", "hb_blob_t", RS_HOOK_INCREF, 0, 0 },
        { "harfbuzz", "hb_font_create", "hb_font_t", RS_HOOK_CTOR, RS_HOOK_RETURNS, 0 },
        { "dbus", "dbus_message_ref", "DBusMessage", RS_HOOK_INCREF, 0, 0 },
        { "dbus", "dbus_connection_unref", "dbus", RS_HOOK_DECREF, 0, 0 },
        { "openssl", "X509_up_ref", "X509", RS_HOOK_INCREF, 0, 0 },
        { "openssl", "EVP_PKEY_new", "EVP_PKEY", RS_HOOK_CTOR, RS_HOOK_RETURNS, 0 },
        { "openssl", "SSL_CTX_free", "openssl", RS_HOOK_DECREF, 0, 0 },
        { "sdbus", "sd_bus_new", "sd_bus", RS_HOOK_CTOR, 0, 1 },
        { "sdbus", "sd_bus_message_new_method_call", "sd_bus_message", RS_HOOK_CTOR, 1, 1 },
        { "sdbus", "sd_bus_message_unref", "sdbus", RS_HOOK_DECREF, 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rs_profile_set_t *s = rs_profile_set_create();
        rs_profile_error_t err;
        assert_int_equal(rs_profile_list_parse(s, cases[i].profile, &err), 0);
        int h = rs_profile_find_hook(s, cases[i].function);
        if (h < 0)
            fail_msg("%s: no hook %s", cases[i].profile, cases[i].function);
        assert_int_equal(s->hooks[h].kind, cases[i].kind);
        assert_int_equal(s->hooks[h].arg, cases[i].arg);
        assert_int_equal(s->hooks[h].out, cases[i].out);
        /* events, but libdbus's structs open with their int32 count */
        int dbus = strcmp(cases[i].profile, "dbus") == 0;
        assert_int_equal(s->hooks[h].counter.width, dbus ? 4 : 0);
        assert_int_equal(s->hooks[h].counter.offset, 0);
        assert_int_equal(s->hooks[h].counter.is_signed, dbus);
        assert_int_equal(s->hooks[h].type.kind, RS_TYPENAME_CONST);
        assert_string_equal(s->hooks[h].type.text, cases[i].type);
        rs_profile_set_free(s);
    }
}

/* ctor out=N: the object is stored through argument N. */
static void test_out_parameter(void **state)
{
    rs_profile_set_t *s = parse_ok("profile p\n"
                                   "ctor  p_new  out=1 type=P\n"
                                   "ctor  p_make out=0x0\n"
                                   "ctor  p_dup\n"
                                   "ctor  p_init arg=2\n");
    int i = rs_profile_find_hook(s, "p_new");
    assert_int_equal(s->hooks[i].arg, 1);
    assert_int_equal(s->hooks[i].out, 1);
    i = rs_profile_find_hook(s, "p_make");
    assert_int_equal(s->hooks[i].arg, 0);
    assert_int_equal(s->hooks[i].out, 1);
    i = rs_profile_find_hook(s, "p_dup");
    assert_int_equal(s->hooks[i].arg, RS_HOOK_RETURNS);
    assert_int_equal(s->hooks[i].out, 0);
    i = rs_profile_find_hook(s, "p_init");
    assert_int_equal(s->hooks[i].arg, 2);
    assert_int_equal(s->hooks[i].out, 0);
    rs_profile_set_free(s);
}

/* The python profile: one recognizer with CPython's layout (profile.h
 * documents the offsets and flags), and `newref` functions only, each
 * returning its object, with the recognizer's counter (ob_refcnt). */
static void test_builtin_python(void **state)
{
    rs_profile_set_t *s = rs_profile_set_create();
    rs_profile_error_t err;
    assert_int_equal(rs_profile_list_parse(s, "python", &err), 0);
    assert_int_equal(s->n_profiles, 1);
    assert_true(s->n_hooks >= 30);
    for (uint32_t i = 0; i < s->n_hooks; i++) {
        assert_int_equal(s->hooks[i].kind, RS_HOOK_NEWREF);
        assert_int_equal(s->hooks[i].arg, RS_HOOK_RETURNS);
        assert_int_equal(s->hooks[i].counter.offset, 0);
        assert_int_equal(s->hooks[i].counter.width, 8);
    }
    static const char *const recycling[] = {
        "PyTuple_New", "Py_BuildValue", "_Py_BuildValue_SizeT", "PyList_New",
        "PyDict_New", "PyFloat_FromDouble", "PyObject_CallOneArg", "PyObject_Call",
    };
    for (size_t i = 0; i < sizeof recycling / sizeof recycling[0]; i++)
        if (rs_profile_find_hook(s, recycling[i]) < 0)
            fail_msg("python profile lacks newref %s", recycling[i]);
    assert_string_equal(rs_hook_kind_name(RS_HOOK_NEWREF), "newref");
    assert_int_equal(s->n_recognizers, 1);
    const rs_recognizer_t *r = &s->recognizers[0];
    assert_int_equal(r->profile, 0);
    assert_string_equal(r->metatype, "PyType_Type");
    assert_string_equal(r->version, "Py_Version");
    assert_string_equal(r->compact, "PyUnicode_Type");
    assert_int_equal(r->version_min, 0x030b0000);
    assert_int_equal(r->version_max, 0x030dffff);
    assert_int_equal(r->type_word, 8);
    assert_int_equal(r->type_name, 24);
    assert_int_equal(r->type_size, 32);
    assert_int_equal(r->type_flags, 168);
    assert_int_equal(r->n_headers, 2);
    assert_int_equal(r->header_size[0], 16);
    assert_int_equal(r->header_mask[0], 1u << 14);   /* Py_TPFLAGS_HAVE_GC */
    assert_int_equal(r->header_size[1], 16);
    assert_int_equal(r->header_mask[1], 0x18);       /* MANAGED_DICT|_WEAKREF */
    assert_int_equal(r->immortal, 0x80000000u);
    assert_int_equal(r->counter.offset, 0);
    assert_int_equal(r->counter.width, 8);
    assert_int_equal(r->counter.is_signed, 1);
    /* With gobject: hooks and a recognizer side by side. */
    assert_int_equal(rs_profile_list_parse(s, "gobject", &err), 0);
    assert_int_equal(s->n_recognizers, 1);
    assert_true(s->n_hooks > 0);
    rs_profile_set_free(s);
}

/* Every recognize option, defaults of the optional ones, and a failing
 * parse leaving the recognizers as they were. */
static void test_recognize_syntax(void **state)
{
    rs_profile_set_t *s = parse_ok(
        "profile min\n"
        "counter offset=4 width=4\n"
        "recognize type-word=0 metatype=Meta type-name=0x10\n"
        "profile full  # with a function too\n"
        "counter offset=8 width=2 signed\n"
        "incref full_ref\n"
        "recognize metatype=M2 type-word=16 type-name=8 type-size=24 type-flags=32"
        " header=8@1,16@0x6,24@8,32@0x10 immortal=1000 version=V"
        " version-min=3 version-max=0x0\n");
    assert_int_equal(s->n_recognizers, 2);
    const rs_recognizer_t *a = &s->recognizers[0], *b = &s->recognizers[1];
    assert_int_equal(a->profile, 0);
    assert_string_equal(a->metatype, "Meta");
    assert_null(a->version);
    assert_int_equal(a->type_word, 0);
    assert_int_equal(a->type_name, 16);
    assert_int_equal(a->type_size, RS_RECOGNIZE_NONE);
    assert_int_equal(a->type_flags, RS_RECOGNIZE_NONE);
    assert_int_equal(a->n_headers, 0);
    assert_int_equal(a->immortal, 0);
    assert_int_equal(a->counter.offset, 4);
    assert_int_equal(a->counter.width, 4);
    assert_int_equal(a->counter.is_signed, 0);
    assert_int_equal(b->profile, 1);
    assert_string_equal(b->metatype, "M2");
    assert_string_equal(b->version, "V");
    assert_int_equal(b->version_min, 3);
    assert_int_equal(b->version_max, 0);
    assert_int_equal(b->type_word, 16);
    assert_int_equal(b->type_name, 8);
    assert_int_equal(b->type_size, 24);
    assert_int_equal(b->type_flags, 32);
    assert_int_equal(b->n_headers, 4);
    assert_int_equal(b->header_size[3], 32);
    assert_int_equal(b->header_mask[3], 0x10);
    assert_int_equal(b->header_size[1], 16);
    assert_int_equal(b->header_mask[1], 6);
    assert_int_equal(b->immortal, 1000);
    assert_int_equal(b->counter.width, 2);
    assert_int_equal(b->counter.is_signed, 1);
    assert_int_equal(s->n_hooks, 1);

    rs_profile_error_t err;
    const char *bad = "profile c\ncounter offset=0 width=8\n"
                      "recognize type-word=8 metatype=X type-name=24\nprofile c\n";
    assert_int_equal(rs_profile_parse(s, bad, strlen(bad), "c.prof", &err), -1);
    assert_string_equal(err.message, "c.prof:4: profile 'c' defined twice");
    assert_int_equal(s->n_recognizers, 2);
    assert_int_equal(s->n_profiles, 2);

    /* RS_PROFILE_MAX_RECOGNIZERS in a set, then one too many. */
    char text[256];
    for (int i = 2; i <= RS_PROFILE_MAX_RECOGNIZERS; i++) {
        int n = snprintf(text, sizeof text, "profile p%d\ncounter offset=0 width=8\n"
                         "recognize type-word=8 metatype=X type-name=24\n", i);
        rs_profile_error_t e2 = { "" };
        int rc = rs_profile_parse(s, text, (size_t)n, "m.prof", &e2);
        if (i < RS_PROFILE_MAX_RECOGNIZERS)
            assert_int_equal(rc, 0);
        else
            assert_string_equal(e2.message, "m.prof:3: too many recognize lines (at most 8)");
    }
    assert_int_equal(s->n_recognizers, RS_PROFILE_MAX_RECOGNIZERS);
    rs_profile_set_free(s);
}

/* Memory running out at every allocation of a parse with a recognize
 * line: "out of memory", and the set stays empty; then it succeeds. */
static void test_out_of_memory(void **state)
{
    const char *text = rs_profile_builtin("python");
    int ok = 0;
    for (int k = 0; k < 512 && !ok; k++) {   /* every allocation the parse makes */
        rs_profile_set_t *s = rs_profile_set_create();
        rs_profile_error_t err = { "" };
        allocs_left = k;
        rs_mem_set_backend(&failing);
        int rc = rs_profile_parse(s, text, strlen(text), "p", &err);
        rs_mem_set_backend(NULL);
        if (rc == 0) {
            ok = 1;
            assert_int_equal(s->n_recognizers, 1);
        } else {
            if (!strstr(err.message, "out of memory"))
                fail_msg("allocation %d: '%s'", k, err.message);
            assert_int_equal(s->n_profiles, 0);
            assert_int_equal(s->n_recognizers, 0);
        }
        rs_profile_set_free(s);
    }
    assert_true(ok);
}

static void test_full_syntax(void **state)
{
    rs_profile_set_t *s = parse_ok(
        "# a comment\n"
        "\n"
        "profile my-lib   # trailing comment\r\n"
        "incref  obj_ref   arg=0\n"
        "incref  obj_get   returns type=ObjGot\n"
        "decref  obj_unref\n"
        "ctor    obj_new\n"
        "ctor    obj_init  arg=2 offset=0x10 width=8 signed\n"
        "sink    obj_sink  events\n"
        "\tcounter offset=4 width=2\n"
        "typename field=24\n"
        "profile other\n"
        "decref other_free arg=5\n"
        "typename const=Other\n"
        "counter events");
    assert_int_equal(s->n_profiles, 2);
    assert_int_equal(s->n_hooks, 7);
    const rs_hook_spec_t *h = s->hooks;
    assert_string_equal(h[0].function, "obj_ref");
    assert_int_equal(h[0].counter.offset, 4);
    assert_int_equal(h[0].counter.width, 2);
    assert_int_equal(h[0].type.kind, RS_TYPENAME_FIELD);
    assert_int_equal(h[0].type.offset, 24);
    assert_int_equal(h[1].arg, RS_HOOK_RETURNS);
    assert_int_equal(h[1].kind, RS_HOOK_INCREF);
    assert_int_equal(h[1].type.kind, RS_TYPENAME_CONST);
    assert_string_equal(h[1].type.text, "ObjGot");
    assert_int_equal(h[2].arg, 0);
    assert_int_equal(h[3].arg, RS_HOOK_RETURNS);
    assert_int_equal(h[4].arg, 2);
    assert_int_equal(h[4].counter.offset, 16);
    assert_int_equal(h[4].counter.width, 8);
    assert_int_equal(h[4].counter.is_signed, 1);
    assert_int_equal(h[5].kind, RS_HOOK_SINK);
    assert_int_equal(h[5].counter.width, 0);
    assert_int_equal(h[6].profile, 1);
    assert_int_equal(h[6].arg, 5);
    assert_int_equal(h[6].counter.width, 0);
    assert_string_equal(h[6].type.text, "Other");
    assert_string_equal(rs_hook_kind_name(h[6].kind), "decref");
    assert_string_equal(rs_hook_kind_name(99), "?");
    rs_profile_set_free(s);

    /* Without typename the type is the profile name; without counter the
     * count comes from events. */
    s = parse_ok("profile Bare\nincref bare_ref\n");
    assert_int_equal(s->hooks[0].type.kind, RS_TYPENAME_CONST);
    assert_string_equal(s->hooks[0].type.text, "Bare");
    assert_int_equal(s->hooks[0].counter.width, 0);
    rs_profile_set_free(s);
}

/* Each case: text and the exact message it must produce. */
static const struct {
    const char *text;
    const char *message;
} error_cases[] = {
    { "", "t.prof: no profile defined" },
    { "# only a comment\n", "t.prof:1: no profile defined" },
    { "frobnicate x\n", "t.prof:1: unknown directive 'frobnicate'" },
    /* quoted words stay one line and cannot drive a terminal (tests/fuzz) */
    { "fr\x1b[31mob x\n", "t.prof:1: unknown directive 'fr\\x1b[31mob'" },
    { "profile a\nincref f b\x7fogus\\\n",
      "t.prof:2: unknown option 'b\\x7fogus\\\\' for 'incref'" },
    { "profile a\nincref 9" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
      "t.prof:2: invalid function name '9" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'" },
    { "incref f\n", "t.prof:1: 'incref' before any 'profile' line" },
    { "counter events\n", "t.prof:1: 'counter' before any 'profile' line" },
    { "profile\n", "t.prof:1: profile: missing name" },
    { "profile a b\n", "t.prof:1: profile: unexpected 'b' after the name" },
    { "profile a/b\n", "t.prof:1: invalid profile name 'a/b'" },
    { "profile a\nincref f\nprofile a\n", "t.prof:3: profile 'a' defined twice" },
    { "profile a\nprofile b\nincref f\n", "t.prof:1: profile 'a' defines no functions" },
    { "profile a\n", "t.prof:1: profile 'a' defines no functions" },
    { "profile a\nincref\n", "t.prof:2: incref: missing function name" },
    { "profile a\ndecref arg=0\n", "t.prof:2: decref: missing function name" },
    { "profile a\nincref 9f\n", "t.prof:2: invalid function name '9f'" },
    { "profile a\nincref f\nincref f\n",
      "t.prof:3: function 'f' is already hooked by profile 'a'" },
    { "profile a\nincref f bogus\n", "t.prof:2: unknown option 'bogus' for 'incref'" },
    { "profile a\nincref f const=x\n", "t.prof:2: unknown option 'const' for 'incref'" },
    { "profile a\nincref f arg=1 arg=2\n", "t.prof:2: option 'arg' given twice" },
    { "profile a\nincref f arg\n", "t.prof:2: option 'arg' needs a value" },
    { "profile a\nincref f arg=\n", "t.prof:2: option 'arg' needs a value" },
    { "profile a\nincref f returns=1\n", "t.prof:2: option 'returns' takes no value" },
    { "profile a\nincref f arg=6\n", "t.prof:2: arg must be 0..5, not '6'" },
    { "profile a\nincref f arg=x\n", "t.prof:2: arg must be 0..5, not 'x'" },
    { "profile a\nincref f arg=1 returns\n",
      "t.prof:2: 'arg' and 'returns' exclude each other" },
    { "profile a\ndecref f returns\n",
      "t.prof:2: decref: the object cannot be the return value" },
    { "profile a\nincref f offset=1\n", "t.prof:2: a counter needs both offset= and width=" },
    { "profile a\nincref f width=4 signed\n",
      "t.prof:2: a counter needs both offset= and width=" },
    { "profile a\nincref f offset=0 width=3\n",
      "t.prof:2: width must be 1, 2, 4 or 8, not '3'" },
    { "profile a\nincref f offset=0 width=4 signed unsigned\n",
      "t.prof:2: 'signed' and 'unsigned' exclude each other" },
    { "profile a\nincref f events width=4\n",
      "t.prof:2: 'events' excludes offset, width and signed" },
    { "profile a\nincref f offset=0x width=4\n", "t.prof:2: bad number '0x' for 'offset'" },
    { "profile a\nincref f offset=99999999999 width=4\n",
      "t.prof:2: bad number '99999999999' for 'offset'" },
    { "profile a\nincref f offset=0x100000 width=4\n",
      "t.prof:2: offset must be below 1048576" },
    { "profile a\nincref f type=a/b\n", "t.prof:2: invalid type name 'a/b'" },
    { "profile a\ncounter\n", "t.prof:2: counter: expected offset= and width=, or events" },
    { "profile a\ncounter events\ncounter events\n",
      "t.prof:3: counter given twice in profile 'a'" },
    { "profile a\ncounter arg=1\n", "t.prof:2: unknown option 'arg' for 'counter'" },
    { "profile a\ntypename\n",
      "t.prof:2: typename: expected exactly one of const=, field=, call=" },
    { "profile a\ntypename const=A field=1\n",
      "t.prof:2: typename: expected exactly one of const=, field=, call=" },
    { "profile a\ntypename const=A word=0\n", "t.prof:2: 'word' only goes with 'call'" },
    { "profile a\ntypename call=1x\n", "t.prof:2: invalid function name '1x'" },
    { "profile a\ntypename field=abc\n", "t.prof:2: bad number 'abc' for 'field'" },
    { "profile a\ntypename const=A\ntypename const=B\n",
      "t.prof:3: typename given twice in profile 'a'" },
    { "profile a\nincref f out=1\n", "t.prof:2: 'out' only goes with 'ctor'" },
    { "profile a\nctor f out=1 returns\n",
      "t.prof:2: 'out' excludes 'arg' and 'returns'" },
    { "profile a\nctor f out=1 arg=0\n", "t.prof:2: 'out' excludes 'arg' and 'returns'" },
    { "profile a\nctor f out=6\n", "t.prof:2: out must be 0..5, not '6'" },
    { "profile a\nctor f out\n", "t.prof:2: option 'out' needs a value" },
    { "profile a\nincref f a b c d e f g h i j k l m n o\n",
      "t.prof:2: too many words (at most 16)" },
    /* newref */
    { "profile a\ncounter offset=0 width=8\nnewref f arg=0\n",
      "t.prof:3: newref: the object is the return value ('arg' does not apply)" },
    { "profile a\ncounter offset=0 width=8\nnewref f events\n",
      "t.prof:3: newref needs a counter field, not 'events'" },
    { "profile a\nnewref f\n",
      "t.prof:2: profile 'a': newref f needs a counter field (counter offset=N width=W)" },
    { "profile a\ncounter events\nnewref f\nprofile b\nincref g\n",
      "t.prof:4: profile 'a': newref f needs a counter field (counter offset=N width=W)" },
    { "profile a\ncounter offset=0 width=8\nnewref f out=0\n",
      "t.prof:3: 'out' only goes with 'ctor'" },
    /* recognize */
    { "recognize type-word=8\n", "t.prof:1: 'recognize' before any 'profile' line" },
    { "profile a\nrecognize type-word=8 metatype=M type-name=24\n",
      "t.prof:2: profile 'a': recognize needs a counter field (counter offset=N width=W)" },
    { "profile a\ncounter events\nrecognize type-word=8 metatype=M type-name=24\nprofile b\n",
      "t.prof:4: profile 'a': recognize needs a counter field (counter offset=N width=W)" },
    { "profile a\nrecognize metatype=M type-name=24\n",
      "t.prof:2: recognize: missing type-word=" },
    { "profile a\nrecognize type-word=8 type-name=24\n",
      "t.prof:2: recognize: missing metatype=" },
    { "profile a\nrecognize type-word=8 metatype=M\n",
      "t.prof:2: recognize: missing type-name=" },
    { "profile a\nrecognize type-word=8 metatype=M type-name=24 header=16@1\n",
      "t.prof:2: recognize: header= needs type-flags=" },
    { "profile a\nrecognize type-word=8 metatype=M type-name=24 version-min=1\n",
      "t.prof:2: recognize: version-min= and version-max= need version=" },
    { "profile a\nrecognize type-word=8 metatype=M type-name=24 version-max=1\n",
      "t.prof:2: recognize: version-min= and version-max= need version=" },
    { "profile a\nrecognize type-word=8 metatype=M type-name=24 compact=S\n",
      "t.prof:2: recognize: compact= needs type-size=" },
    { "profile a\nrecognize type-word=8 metatype=M type-name=24 type-size=32 compact=9S\n",
      "t.prof:2: invalid symbol name '9S'" },
    { "profile a\nrecognize type-word=8 metatype=9M type-name=24\n",
      "t.prof:2: invalid symbol name '9M'" },
    { "profile a\nrecognize type-word=8 metatype=M type-name=24 version=a-b\n",
      "t.prof:2: invalid symbol name 'a-b'" },
    { "profile a\nrecognize type-word=x metatype=M type-name=24\n",
      "t.prof:2: bad number 'x' for 'type-word'" },
    { "profile a\nrecognize type-word=8 metatype=M type-name=0x100000\n",
      "t.prof:2: type-name must be below 1048576" },
    { "profile a\nrecognize type-word=8 metatype=M type-name=1 type-size=-1\n",
      "t.prof:2: bad number '-1' for 'type-size'" },
    { "profile a\nrecognize type-word=8 metatype=M type-name=1 type-flags=z\n",
      "t.prof:2: bad number 'z' for 'type-flags'" },
    { "profile a\nrecognize type-word=8 metatype=M type-name=1 immortal=0x1g\n",
      "t.prof:2: bad number '0x1g' for 'immortal'" },
    { "profile a\nrecognize type-word=8 metatype=M type-name=1 version=V version-min=q\n",
      "t.prof:2: bad number 'q' for 'version-min'" },
    { "profile a\nrecognize type-word=8 metatype=M type-name=1 version=V version-max=\n",
      "t.prof:2: option 'version-max' needs a value" },
    { "profile a\nrecognize type-word=8 metatype=M type-name=1 arg=0\n",
      "t.prof:2: unknown option 'arg' for 'recognize'" },
    { "profile a\nincref f type-word=8\n",
      "t.prof:2: unknown option 'type-word' for 'incref'" },
    { "profile a\nrecognize type-word=8 type-word=0 metatype=M type-name=1\n",
      "t.prof:2: option 'type-word' given twice" },
    { "profile a\ncounter offset=0 width=8\nrecognize type-word=8 metatype=M type-name=1\n"
      "recognize type-word=8 metatype=M type-name=1\n",
      "t.prof:4: recognize given twice in profile 'a'" },
    { "profile a\nrecognize type-word=8 metatype=M type-name=1 type-flags=0 header=16\n",
      "t.prof:2: header terms are SIZE@MASK (SIZE a multiple of 8 below 4096, MASK not 0), not '16'" },
    { "profile a\nrecognize type-word=8 metatype=M type-name=1 type-flags=0 header=12@1\n",
      "t.prof:2: header terms are SIZE@MASK (SIZE a multiple of 8 below 4096, MASK not 0), not '12@1'" },
    { "profile a\nrecognize type-word=8 metatype=M type-name=1 type-flags=0 header=16@1,0@1\n",
      "t.prof:2: header terms are SIZE@MASK (SIZE a multiple of 8 below 4096, MASK not 0), not '0@1'" },
    { "profile a\nrecognize type-word=8 metatype=M type-name=1 type-flags=0 header=4096@1\n",
      "t.prof:2: header terms are SIZE@MASK (SIZE a multiple of 8 below 4096, MASK not 0), not '4096@1'" },
    { "profile a\nrecognize type-word=8 metatype=M type-name=1 type-flags=0 header=16@0\n",
      "t.prof:2: header terms are SIZE@MASK (SIZE a multiple of 8 below 4096, MASK not 0), not '16@0'" },
    { "profile a\nrecognize type-word=8 metatype=M type-name=1 type-flags=0 header=16@x\n",
      "t.prof:2: header terms are SIZE@MASK (SIZE a multiple of 8 below 4096, MASK not 0), not '16@x'" },
    { "profile a\nrecognize type-word=8 metatype=M type-name=1 type-flags=0 header=16@1,\n",
      "t.prof:2: header terms are SIZE@MASK (SIZE a multiple of 8 below 4096, MASK not 0), not ''" },
    { "profile a\nrecognize type-word=8 metatype=M type-name=1 type-flags=0"
      " header=8@1,8@1,8@1,8@1,8@1\n",
      "t.prof:2: at most 4 header terms" },
    { "profile a\nincref f\nweak\n", "t.prof:3: weak: expected offset=" },
    { "profile a\nincref f\nweak offset=12\n",
      "t.prof:3: weak: offset=12 is no pointer-aligned offset (a multiple of 8)" },
    { "profile a\nincref f\nweak offset=8 width=4\n",
      "t.prof:3: unknown option 'width' for 'weak'" },
    { "profile a\nincref f\nweak offset=8\nweak offset=0x8\n",
      "t.prof:4: weak offset=8 given twice in profile 'a'" },
    { "profile a\nincref f\nweak offset=0\nweak offset=8\nweak offset=16\n"
      "weak offset=24\nweak offset=32\nweak offset=40\nweak offset=48\n"
      "weak offset=56\nweak offset=64\n",
      "t.prof:11: more than 8 weak offsets in profile 'a'" },
    { "profile a\nincref f\nweak offset=8 then=12\n",
      "t.prof:3: weak: then=12 is no pointer-aligned offset (a multiple of 8)" },
    { "profile a\nincref f\nweak offset=8 then=0x100000\n",
      "t.prof:3: then must be below 1048576" },
    { "profile a\nincref f\nweak offset=8 private\n",
      "t.prof:3: weak: 'private' needs is-a=TYPE (the type whose private data)" },
    { "profile a\nincref f\nweak offset=8 private=1 is-a=T\n",
      "t.prof:3: option 'private' takes no value" },
    { "profile a\nincref f\nweak offset=8 is-a=T version-call=v\n",
      "t.prof:3: weak: version-call= needs versions=MIN-MAX" },
    { "profile a\nincref f\nweak offset=8 versions=1.0-1.2\n",
      "t.prof:3: weak: versions= needs version-call=FUNC" },
    { "profile a\nincref f\nweak offset=8 version-call=v versions=1.22\n",
      "t.prof:3: bad version range '1.22' for 'versions' "
      "(expected MIN-MAX, each A.B or A.B.C, MIN first)" },
    { "profile a\nincref f\nweak offset=8 version-call=v versions=1.28-1.22\n",
      "t.prof:3: bad version range '1.28-1.22' for 'versions' "
      "(expected MIN-MAX, each A.B or A.B.C, MIN first)" },
    { "profile a\nincref f\nweak offset=8 version-call=gst-version versions=1.0-1.2\n",
      "t.prof:3: invalid function name 'gst-version'" },
    { "profile a\nincref f\nweak offset=16 private is-a=T then=8\n"
      "weak offset=16 then=8 is-a=T private versions=1.0-2.0 version-call=v\n",
      "t.prof:4: weak offset=16 given twice in profile 'a'" },
    { "weak offset=8\n", "t.prof:1: 'weak' before any 'profile' line" },
    { "profile a\nincref f\nweak offset=8 is-a=Gst/Object\n",
      "t.prof:3: invalid symbol name 'Gst/Object'" },
    { "profile a\nincref f\nregistry hash=h in=m version-vars=glib versions=2.74-2.86\n",
      "t.prof:3: registry: expected the table kind 'ghash' first" },
    { "profile a\nincref f\nregistry ghash hash=h version-vars=glib versions=2.74-2.86\n",
      "t.prof:3: registry: expected in=MODULE (the library whose globals hold the table)" },
    { "profile a\nincref f\nregistry ghash in=m version-vars=glib versions=2.74-2.86\n",
      "t.prof:3: registry: expected hash=FUNC, or key-size= and key-back=" },
    { "profile a\nincref f\nregistry ghash in=m hash=h key-size=56 key-back=48 version-vars=glib versions=2.74-2.86\n",
      "t.prof:3: registry: hash= and key-size= do not go together" },
    { "profile a\nincref f\nregistry ghash in=m key-size=56 version-vars=glib versions=2.74-2.86\n",
      "t.prof:3: registry: key-size= and key-back= go together" },
    { "profile a\nincref f\nregistry ghash in=m key-size=56 key-back=52 version-vars=glib versions=2.74-2.86\n",
      "t.prof:3: registry: key-back=52 is no pointer-aligned offset inside key-size=56" },
    { "profile a\nincref f\nregistry ghash in=m key-size=56 key-back=56 version-vars=glib versions=2.74-2.86\n",
      "t.prof:3: registry: key-back=56 is no pointer-aligned offset inside key-size=56" },
    { "profile a\nincref f\nregistry ghash in=m key-size=56 key-back=48 equal=e version-vars=glib versions=2.74-2.86\n",
      "t.prof:3: registry: equal= needs hash=" },
    { "profile a\nincref f\nregistry ghash in=m hash=h\n",
      "t.prof:3: registry: needs version-vars=PREFIX and versions=MIN-MAX "
      "(a GHashTable's layout is GLib's private)" },
    { "profile a\nincref f\nregistry ghash in=m hash=h versions=2.74-2.86\n",
      "t.prof:3: registry: needs version-vars=PREFIX and versions=MIN-MAX "
      "(a GHashTable's layout is GLib's private)" },
    { "profile a\nincref f\nregistry ghash in=lib/x.so hash=h version-vars=glib versions=2.74-2.86\n",
      "t.prof:3: invalid module name 'lib/x.so'" },
    { "profile a\nincref f\nregistry ghash in=m hash=h equal=a-b version-vars=glib versions=2.74-2.86\n",
      "t.prof:3: invalid symbol name 'a-b' (or 'none')" },
    { "profile a\nincref f\nregistry ghash in=m hash=h owns-values=1 version-vars=glib versions=2.74-2.86\n",
      "t.prof:3: option 'owns-values' takes no value" },
    { "profile a\nincref f\nregistry ghash in=m hash=h then=8 version-vars=glib versions=2.74-2.86\n",
      "t.prof:3: unknown option 'then' for 'registry'" },
    { "registry ghash in=m hash=h version-vars=glib versions=2.74-2.86\n",
      "t.prof:1: 'registry' before any 'profile' line" },
    { "profile a\nincref f\nregistry ghash in=m key-size=56 key-back=48 key-closure=40 version-vars=glib versions=2.74-2.86\n",
      "t.prof:3: registry: key-closure= and closure-notifiers= go together, with key-size=" },
    { "profile a\nincref f\nregistry ghash in=m hash=h key-closure=40 closure-notifiers=56 version-vars=glib versions=2.74-2.86\n",
      "t.prof:3: registry: key-closure= and closure-notifiers= go together, with key-size=" },
    { "profile a\nincref f\nregistry ghash in=m key-size=56 key-back=48 key-closure=56 closure-notifiers=56 version-vars=glib versions=2.74-2.86\n",
      "t.prof:3: registry: key-closure= and closure-notifiers= must be pointer-aligned, key-closure= inside key-size=" },
    { "profile a\nincref f\nqdata weak quark=q field=16 version-vars=glib versions=2.74-2.78\n",
      "t.prof:3: qdata: expected the kind 'weak-locations' or 'back' first" },
    { "profile a\nincref f\nqdata weak-locations field=16 version-vars=glib versions=2.74-2.78\n",
      "t.prof:3: qdata: expected quark=NAME and field=N (the object's GData *)" },
    { "profile a\nincref f\nqdata weak-locations quark=q field=12 version-vars=glib versions=2.74-2.78\n",
      "t.prof:3: qdata: field=12 is not pointer-aligned" },
    { "profile a\nincref f\nqdata back quark=q field=16 version-vars=glib versions=2.74-2.78\n",
      "t.prof:3: qdata back: expected offset=M, a multiple of 8 (the back pointer)" },
    { "profile a\nincref f\nqdata back quark=q field=16 offset=0 except=T version-vars=glib versions=2.74-2.78\n",
      "t.prof:3: qdata back: except= is for weak-locations" },
    { "profile a\nincref f\nqdata weak-locations quark=q field=16 offset=0 version-vars=glib versions=2.74-2.78\n",
      "t.prof:3: qdata weak-locations: offset= is for back" },
    { "profile a\nincref f\nqdata weak-locations quark=q field=16\n",
      "t.prof:3: qdata: needs version-vars=PREFIX and versions=MIN-MAX (GData's layout is GLib's private)" },
    { "profile a\nincref f\nqdata weak-locations quark=a/b field=16 version-vars=glib versions=2.74-2.78\n",
      "t.prof:3: invalid type name 'a/b'" },
};

/* A weak line names one field: by offset, in the object or in its
 * type's private data, then maybe one block further; the same offset
 * in another place is another field. */
static void test_weak_syntax(void **state)
{
    (void)state;
    rs_profile_set_t *s = parse_ok(
        "profile a\n"
        "incref f\n"
        "weak offset=8\n"
        "weak offset=8 is-a=Foo\n"
        "weak offset=8 is-a=Foo private\n"
        "weak offset=8 is-a=Foo private then=0x18\n"
        "weak offset=0x10 then=0 version-call=lib_version versions=2.4.1-3.0\n");
    const rs_profile_t *prof = &s->profiles[0];
    const rs_weak_spec_t *wk = prof->weak;
    assert_int_equal(prof->n_weak, 5);
    assert_int_equal(wk[0].offset, 8);
    assert_null(wk[0].is_a);
    assert_int_equal(wk[0].then, RS_WEAK_NO_THEN);
    assert_string_equal(wk[1].is_a, "Foo");
    assert_int_equal(wk[1].in_private, 0);
    assert_int_equal(wk[2].in_private, 1);
    assert_int_equal(wk[2].then, RS_WEAK_NO_THEN);
    assert_int_equal(wk[3].then, 24);
    assert_int_equal(wk[4].offset, 16);
    assert_int_equal(wk[4].then, 0);
    assert_null(wk[4].is_a);
    assert_string_equal(wk[4].version_call, "lib_version");
    assert_int_equal(wk[4].versions.min, rs_version_make(2, 4, 1));
    assert_int_equal(wk[4].versions.max, rs_version_make(3, 0, RS_VERSION_PART_MAX));
    for (int k = 0; k < 4; k++)
        assert_null(wk[k].version_call);
    rs_profile_set_free(s);
}

/* Both forms of a registry line: by hash function, by the keys' shape. */
static void test_registry_syntax(void **state)
{
    (void)state;
    rs_profile_set_t *s = parse_ok(
        "profile a\n"
        "incref f\n"
        "registry ghash in=libgobject-2.0.so.0 hash=g_direct_hash equal=none owns-values "
        "version-vars=glib versions=2.74-2.86\n"
        "registry ghash in=libgobject-2.0.so.0 key-size=56 key-back=48 "
        "version-vars=glib versions=2.74.6-2.86\n"
        "registry ghash in=m hash=h equal=eq version-vars=v versions=1.0-1.0\n");
    const rs_profile_t *prof = &s->profiles[0];
    const rs_registry_spec_t *r = prof->registry;
    assert_int_equal(prof->n_registry, 3);
    assert_string_equal(r[0].module, "libgobject-2.0.so.0");
    assert_string_equal(r[0].hash, "g_direct_hash");
    assert_null(r[0].equal);
    assert_int_equal(r[0].owns_values, 1);
    assert_int_equal(r[0].key_size, 0);
    assert_string_equal(r[0].version_vars, "glib");
    assert_int_equal(r[0].versions.min, rs_version_make(2, 74, 0));
    assert_int_equal(r[0].versions.max, rs_version_make(2, 86, RS_VERSION_PART_MAX));
    assert_null(r[1].hash);
    assert_int_equal(r[1].owns_values, 0);
    assert_int_equal(r[1].key_size, 56);
    assert_int_equal(r[1].key_back, 48);
    assert_int_equal(r[1].versions.min, rs_version_make(2, 74, 6));
    assert_string_equal(r[2].equal, "eq");
    rs_profile_set_free(s);
}

/* Both kinds of qdata line, and a registry line's closure options. */
static void test_qdata_syntax(void **state)
{
    (void)state;
    rs_profile_set_t *s = parse_ok(
        "profile a\n"
        "incref f\n"
        "qdata weak-locations quark=GObject-weak-locations field=16 except=GBinding "
        "version-vars=glib versions=2.74-2.78\n"
        "qdata back quark=GObject-weak-references field=16 offset=8 "
        "version-vars=glib versions=2.74-2.78\n"
        "registry ghash in=m key-size=56 key-back=48 key-closure=40 closure-notifiers=56 "
        "version-vars=glib versions=2.74-2.86\n");
    const rs_profile_t *prof = &s->profiles[0];
    const rs_qdata_spec_t *q = prof->qdata;
    assert_int_equal(prof->n_qdata, 2);
    assert_int_equal(q[0].back, 0);
    assert_int_equal(q[0].field, 16);
    assert_string_equal(q[0].quark, "GObject-weak-locations");
    assert_string_equal(q[0].except, "GBinding");
    assert_string_equal(q[0].version_vars, "glib");
    assert_int_equal(q[0].versions.max, rs_version_make(2, 78, RS_VERSION_PART_MAX));
    assert_int_equal(q[1].back, 1);
    assert_int_equal(q[1].offset, 8);
    assert_null(q[1].except);
    assert_string_equal(q[1].quark, "GObject-weak-references");
    assert_int_equal(prof->registry[0].closure, 40);
    assert_int_equal(prof->registry[0].notifiers, 56);
    rs_profile_set_free(s);
}

static void test_error_messages(void **state)
{
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        rs_profile_set_t *s = rs_profile_set_create();
        rs_profile_error_t err = { "" };
        const char *t = error_cases[i].text;
        int rc = rs_profile_parse(s, t, strlen(t), "t.prof", &err);
        if (rc != -1 || strcmp(err.message, error_cases[i].message) != 0)
            fail_msg("case %zu: rc %d, got '%s', want '%s'", i, rc, err.message,
                     error_cases[i].message);
        assert_int_equal(s->n_profiles, 0);
        assert_int_equal(s->n_hooks, 0);
        rs_profile_set_free(s);
    }
}

static void test_nul_long_line_and_limit(void **state)
{
    rs_profile_set_t *s = rs_profile_set_create();
    rs_profile_error_t err;
    static const char nul[] = "profile a\nincref f\0x\n";
    assert_int_equal(rs_profile_parse(s, nul, sizeof nul - 1, "n", &err), -1);
    assert_string_equal(err.message, "n:2: NUL byte in line");
    /* A UTF-8 byte order mark before the first line is skipped. */
    static const char bom[] = "\xEF\xBB\xBFprofile bom\nincref bom_ref\n";
    rs_profile_set_t *b = rs_profile_set_create();
    assert_int_equal(rs_profile_parse(b, bom, sizeof bom - 1, "b", &err), 0);
    assert_true(rs_profile_find_hook(b, "bom_ref") >= 0);
    rs_profile_set_free(b);

    char *big = malloc(4000);
    memset(big, ' ', 4000);
    memcpy(big, "profile a\n", 10);
    assert_int_equal(rs_profile_parse(s, big, 4000, "n", &err), -1);
    assert_string_equal(err.message, "n:2: line longer than 1023 bytes");
    free(big);

    /* RS_PROFILE_MAX_HOOKS functions are fine, one more is not. */
    size_t cap = 64 * (RS_PROFILE_MAX_HOOKS + 2), len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text, cap, "profile many\n");
    for (int i = 0; i <= RS_PROFILE_MAX_HOOKS; i++)
        len += (size_t)snprintf(text + len, cap - len, "incref f%d\n", i);
    assert_int_equal(rs_profile_parse(s, text, len, "n", &err), -1);
    char want[128], last[32];
    snprintf(want, sizeof want, "n:%d: too many functions (at most %d)",
             RS_PROFILE_MAX_HOOKS + 2, RS_PROFILE_MAX_HOOKS);
    assert_string_equal(err.message, want);
    snprintf(last, sizeof last, "incref f%d\n", RS_PROFILE_MAX_HOOKS);
    assert_int_equal(rs_profile_parse(s, text, len - strlen(last), "n", &err), 0);
    assert_int_equal(s->n_hooks, RS_PROFILE_MAX_HOOKS);
    free(text);
    rs_profile_set_free(s);
    rs_profile_set_free(NULL);
}

/* A failing parse leaves an existing set exactly as it was, across files. */
static void test_all_or_nothing(void **state)
{
    rs_profile_set_t *s = parse_ok("profile a\nincref a_ref\n");
    rs_profile_error_t err;
    const char *bad = "profile b\ndecref b_unref\nprofile c\nincref a_ref\n";
    assert_int_equal(rs_profile_parse(s, bad, strlen(bad), "b.prof", &err), -1);
    assert_string_equal(err.message, "b.prof:4: function 'a_ref' is already hooked by profile 'a'");
    assert_int_equal(s->n_profiles, 1);
    assert_int_equal(s->n_hooks, 1);
    assert_int_equal(rs_profile_find_hook(s, "b_unref"), -1);
    assert_int_equal(rs_profile_list_parse(s, "gobject,/nonexistent/x.prof", &err), -1);
    assert_string_equal(err.message, "/nonexistent/x.prof: no such file");
    assert_int_equal(s->n_profiles, 1);
    assert_int_equal(rs_profile_find_hook(s, "g_object_ref"), -1);
    /* A NULL error pointer is allowed. */
    assert_int_equal(rs_profile_parse(s, bad, strlen(bad), "b.prof", NULL), -1);
    assert_int_equal(rs_profile_parse(NULL, bad, 3, "x", &err), -1);
    assert_string_equal(err.message, "x: invalid arguments");
    assert_int_equal(rs_profile_list_parse(s, NULL, &err), -1);
    rs_profile_set_free(s);
}

static void test_files(void **state)
{
    char path[] = "/tmp/rs_test_profile_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "profile filed\nincref filed_ref\ndecref filed_unref arg=1\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    rs_profile_set_t *s = rs_profile_set_create();
    rs_profile_error_t err;
    char list[128];
    snprintf(list, sizeof list, "%s,gst", path);
    assert_int_equal(rs_profile_list_parse(s, list, &err), 0);
    assert_int_equal(s->n_profiles, 2);
    assert_string_equal(s->profiles[0].source, path);
    assert_int_equal(s->hooks[rs_profile_find_hook(s, "filed_unref")].arg, 1);

    /* Errors inside a file name the file and line. */
    const char *bad = "profile q\nincref q_ref arg=9\n";
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
    close(fd);
    rs_profile_set_t *s2 = rs_profile_set_create();
    assert_int_equal(rs_profile_load_file(s2, path, &err), -1);
    char want[256];
    snprintf(want, sizeof want, "%s:2: arg must be 0..5, not '9'", path);
    assert_string_equal(err.message, want);
    assert_int_equal(rs_profile_load_file(s2, "/tmp", &err), -1);
    assert_string_equal(err.message, "/tmp: is a directory");
    assert_int_equal(rs_profile_load_file(s2, "", &err), -1);
    assert_string_equal(err.message, "<profile>: empty file name");
    /* A FIFO nobody writes: refused at once, not waited on (every process
     * of the program would block in its start-up); a device likewise. */
    char fifo[64];
    snprintf(fifo, sizeof fifo, "%s.fifo", path);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(rs_profile_load_file(s2, fifo, &err), -1);
    snprintf(want, sizeof want, "%s: not a regular file (every process of the "
             "program reads it)", fifo);
    assert_string_equal(err.message, want);
    unlink(fifo);
    assert_int_equal(rs_profile_load_file(s2, "/dev/null", &err), -1);
    assert_string_equal(err.message, "/dev/null: not a regular file (every "
                        "process of the program reads it)");
    unlink(path);
    rs_profile_set_free(s);
    rs_profile_set_free(s2);
}

/* Random and mutated inputs never crash and keep the set's invariants. */
static void test_fuzz(void **state)
{
    static const char *words[] = {
        "profile", "incref", "decref", "sink", "ctor", "counter", "typename",
        "f", "g", "arg=1", "arg=7", "returns", "offset=8", "width=4", "signed",
        "events", "type=T", "const=C", "field=3", "call=h", "word=0", "#", "=",
        "p", "\n", "\n", "\n", "\t", "x=", "0x",
    };
    unsigned seed = 12345;
    int ok = 0;
    for (int iter = 0; iter < 3000; iter++) {
        char text[512];
        size_t len = 0;
        int n = 1 + (int)((seed = seed * 1103515245 + 12345) >> 16) % 40;
        for (int i = 0; i < n; i++) {
            seed = seed * 1103515245 + 12345;
            const char *w = words[(seed >> 16) % (sizeof words / sizeof words[0])];
            if (((seed >> 8) & 31) == 0) {
                text[len++] = (char)(seed >> 20);     /* a random byte */
                continue;
            }
            size_t wl = strlen(w);
            if (len + wl + 1 >= sizeof text)
                break;
            memcpy(text + len, w, wl);
            len += wl;
            text[len++] = ' ';
        }
        rs_profile_set_t *s = rs_profile_set_create();
        rs_profile_error_t err;
        /* Half the inputs start with a valid profile so the noise hits
         * deeper states; in half of those the noise is commented out. */
        const char *head = iter % 4 == 1 ? "profile p\nincref base\n#"
                                         : "profile p\nincref base\n";
        size_t hl = strlen(head);
        if (iter % 2 && len + hl < sizeof text) {
            memmove(text + hl, text, len);
            memcpy(text, head, hl);
            len += hl;
        }
        int rc = rs_profile_parse(s, text, len, "fuzz", &err);
        ok += rc == 0;
        if (rc == 0) {
            assert_true(s->n_profiles > 0);
            for (uint32_t h = 0; h < s->n_hooks; h++) {
                assert_true(s->hooks[h].profile < s->n_profiles);
                assert_int_equal(rs_profile_find_hook(s, s->hooks[h].function), (int)h);
            }
        } else {
            assert_int_equal(strncmp(err.message, "fuzz", 4), 0);
            assert_null(strchr(err.message, '\n'));
            assert_int_equal(s->n_hooks, 0);
        }
        rs_profile_set_free(s);
    }
    assert_true(ok > 0);    /* the success path was exercised too */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_gobject),
        cmocka_unit_test(test_qdata_syntax),
        cmocka_unit_test(test_builtin_gst_and_list),
        cmocka_unit_test(test_builtin_all),
        cmocka_unit_test(test_builtin_library_profiles),
        cmocka_unit_test(test_out_parameter),
        cmocka_unit_test(test_builtin_python),
        cmocka_unit_test(test_recognize_syntax),
        cmocka_unit_test(test_full_syntax),
        cmocka_unit_test(test_weak_syntax),
        cmocka_unit_test(test_registry_syntax),
        cmocka_unit_test(test_error_messages),
        cmocka_unit_test(test_nul_long_line_and_limit),
        cmocka_unit_test(test_all_or_nothing),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_fuzz),
        /* Last: rs_mem's out-of-memory flag stays set afterwards. */
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
