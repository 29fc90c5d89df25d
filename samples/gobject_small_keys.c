/*
 * gobject_small_keys - objects whose only pointers are 32-bit entries of
 * GLib hash tables.  The program is built without PIE
 * (samples/CMakeLists.txt), so its malloc heap (brk) lies below 4 GiB,
 * as Debian's python3's does; GLib's hash tables then keep their keys and
 * values in 4-byte entries, as long as every one fits in 32 bits.  Run
 * with REFSCOPE_HOOKS=gobject; tests/integration/test_refcount.py does.
 *
 *  - keep_things(): 8 RsThing (16 bytes of private data, then the 32-byte
 *    instance: 48-byte blocks, the instance at byte 16) kept only as the
 *    keys of the set `things` (g_hash_table_add): reachable.
 *  - keep_names(): 8 strings of 39 characters (40-byte blocks,
 *    g_strdup_printf) kept only as the values of `names`, keyed by small
 *    integers: reachable.
 *  - keep_specs(): 4 GParamSpecInt (GLib type instances after their
 *    private data, which no hook tracks) kept only as the keys of the set
 *    `specs`: reachable (GObject's pool of a class's properties holds
 *    its GParamSpecs so).
 *  - make_lost(): one RsThing dropped: a "leaked_ref" of type RsThing, 48
 *    bytes, refcount 1, no pointer.
 * Reading only whole 8-byte words, refscope found most of the 8 RsThing
 * leaked references and the 8 strings leaked (those whose neighbouring
 * entry was 0 made a whole word that looked like a pointer).  The program exits 3 if a block lies above 4 GiB after all (it
 * would test nothing).
 */
#include "sample_util.h"

#include <glib-object.h>
#include <stdint.h>

#define RS_TYPE_THING (rs_thing_get_type())
G_DECLARE_FINAL_TYPE(RsThing, rs_thing, RS, THING, GObject)

typedef struct {
    gint64 serial;
    gint64 unused;
} RsThingPrivate;

struct _RsThing {
    GObject parent_instance;
    gint64  id;
};

G_DEFINE_TYPE_WITH_PRIVATE(RsThing, rs_thing, G_TYPE_OBJECT)

static void rs_thing_class_init(RsThingClass *klass) { (void)klass; }
static void rs_thing_init(RsThing *self) { (void)self; }

_Static_assert(sizeof(RsThing) == 32, "the header's numbers assume 32");
_Static_assert(sizeof(RsThingPrivate) == 16, "the header's numbers assume 16");

enum { KEPT = 8 };

static GHashTable *things, *names, *specs;
static int above_4g;

static void check_low(const void *p)
{
    if ((uintptr_t)p > UINT32_MAX)
        above_4g = 1;
}

SAMPLE_NOINLINE static void keep_things(void)
{
    things = g_hash_table_new(NULL, NULL);
    for (int i = 0; i < KEPT; i++) {
        RsThing *t = g_object_new(RS_TYPE_THING, NULL);
        t->id = i;
        check_low(t);
        g_hash_table_add(things, t);
    }
}

SAMPLE_NOINLINE static void keep_names(void)
{
    names = g_hash_table_new(NULL, NULL);
    for (int i = 0; i < KEPT; i++) {
        char *name = g_strdup_printf("name %034d", i);
        check_low(name);
        g_hash_table_insert(names, GINT_TO_POINTER(i + 1), name);
    }
}

SAMPLE_NOINLINE static void keep_specs(void)
{
    specs = g_hash_table_new(NULL, NULL);
    for (int i = 0; i < 4; i++) {
        char name[16];
        g_snprintf(name, sizeof name, "spec-%d", i);
        GParamSpec *p = g_param_spec_ref_sink(
            g_param_spec_int(name, NULL, NULL, 0, 100, i, G_PARAM_READWRITE));
        check_low(p);
        g_hash_table_add(specs, p);
    }
}

SAMPLE_NOINLINE static void make_lost(void)
{
    sample_drop(g_object_new(RS_TYPE_THING, NULL));
}

int main(void)
{
    keep_things();
    keep_names();
    keep_specs();
    make_lost();
    sample_scrub_stack();
    if (above_4g) {
        sample_say("gobject_small_keys: blocks above 4 GiB (built as PIE?)\n");
        return 3;
    }
    sample_say("gobject_small_keys: %u things, %u names, %u specs\n",
               g_hash_table_size(things), g_hash_table_size(names), g_hash_table_size(specs));
    return 0;
}
