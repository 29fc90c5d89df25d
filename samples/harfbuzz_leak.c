/*
 * harfbuzz_leak - real HarfBuzz objects (libharfbuzz0b): a blob with a
 * leaked reference, and blobs, faces, fonts and buffers that are released
 * properly.  Run with REFSCOPE_HOOKS=harfbuzz (the built-in profile:
 * counts kept from the calls seen, hb_object_header_t being private);
 * tests/integration/test_refcount.py does.
 *
 *  - make_leak() creates a blob over static bytes with hb_blob_create
 *    (one 48-byte hb_blob_t block; hb_blob_create calls the hooked
 *    hb_blob_create_or_fail through libharfbuzz's PLT, and the creation
 *    is recorded where the program called), keep_blob_ref() takes an
 *    extra reference with hb_blob_reference and never drops it,
 *    make_leak() destroys its own.
 *  - make_balanced() creates a blob, a face and a font over it (the bytes
 *    are no font: HarfBuzz uses its static empty objects, which refscope
 *    leaves alone), refs and unrefs the blob and the font, shapes a
 *    buffer with the font, and destroys everything: freed.
 *  - keep_font() keeps a font in the global `kept` (reachable).
 *
 * refscope must report:
 *  - summary.leaked_refs: 1 object, 1 ref, 48 bytes, 1 block; one
 *    "leaked_ref" finding, type "hb_blob_t", refcount 1, pointers 0,
 *    refs 1, unbalanced: one incref (count 1) whose stack names
 *    keep_blob_ref; allocation stack through make_leak.
 *  - no cycle, no rc_error (the static empty blob and face are not
 *    errors), no leaked or indirect block; nothing about the objects of
 *    make_balanced (freed) or the kept font (reachable: a
 *    --show-reachable run lists it as an "hb_font_t" of 168 bytes
 *    allocated through keep_font).
 */
#include "sample_util.h"

#include <hb.h>

static hb_font_t *kept;
static const char bytes[64] = "not a font, just bytes";

SAMPLE_NOINLINE static void keep_blob_ref(hb_blob_t *blob)
{
    hb_blob_reference(blob);
}

SAMPLE_NOINLINE static void make_leak(void)
{
    hb_blob_t *blob = hb_blob_create(bytes, sizeof bytes, HB_MEMORY_MODE_READONLY, NULL, NULL);
    keep_blob_ref(blob);
    hb_blob_destroy(blob);
}

SAMPLE_NOINLINE static void shape(hb_font_t *font)
{
    hb_buffer_t *buf = hb_buffer_create();
    hb_buffer_add_utf8(buf, "refscope", -1, 0, -1);
    hb_buffer_guess_segment_properties(buf);
    hb_shape(font, buf, NULL, 0);
    sample_check(hb_buffer_get_length(buf) == 8, "shaped 8 glyphs");
    hb_buffer_destroy(buf);
}

SAMPLE_NOINLINE static void make_balanced(void)
{
    hb_blob_t *blob = hb_blob_create(bytes, sizeof bytes, HB_MEMORY_MODE_READONLY, NULL, NULL);
    hb_face_t *face = hb_face_create(blob, 0);
    hb_font_t *font = hb_font_create(face);
    hb_blob_reference(blob);
    hb_blob_destroy(blob);
    hb_font_reference(font);
    hb_font_destroy(font);
    shape(font);
    hb_font_destroy(font);
    hb_face_destroy(face);
    hb_blob_destroy(blob);
}

SAMPLE_NOINLINE static void keep_font(void)
{
    hb_blob_t *blob = hb_blob_create(bytes, sizeof bytes, HB_MEMORY_MODE_READONLY, NULL, NULL);
    hb_face_t *face = hb_face_create(blob, 0);
    kept = hb_font_create(face);
    hb_face_destroy(face);
    hb_blob_destroy(blob);
}

int main(void)
{
    make_leak();
    make_balanced();
    keep_font();
    sample_scrub_stack();
    sample_say("harfbuzz_leak: a blob with a leaked reference, objects released\n");
    return 0;
}
