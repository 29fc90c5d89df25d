/*
 * test_recognize.c - unit tests of lib/model/recognize.c with fake CPython
 * objects in this process's memory: static and heap type objects with
 * the built-in python profile's layout, objects without header, after a
 * PyGC_Head, after the managed-dict (3.11) and managed-weakref (3.12)
 * pre-header, a type through a metaclass, a compact string smaller than
 * its type's instance size; words that only look like type
 * pointers (wrong header, too small block, unreadable, misaligned, a type
 * loop, a count below 1: a dict's keys table, a dead object, a header of
 * small numbers: a GType's qdata array), immortal counts, nodes already tracked, names, id remapping and
 * memory exhaustion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_support.h"

#include "heapscan.h"
#include "profile.h"
#include "recognize.h"

/* PyTypeObject's words in the python profile: ob_refcnt 0, ob_type 1,
 * tp_name 3, tp_basicsize 4, tp_flags 21 (byte 168). */
enum { W_REFCNT = 0, W_TYPE = 1, W_NAME = 3, W_SIZE = 4, W_FLAGS = 21, TYPE_WORDS = 24 };
#define HAVE_GC       (1ull << 14)
#define MANAGED_DICT  (1ull << 4)
#define MANAGED_WEAK  (1ull << 3)

typedef struct fake_type {
    uint64_t w[TYPE_WORDS];
} fake_type_t;

static fake_type_t meta, metaclass, with_meta, int_type, gc_type, dict_type, weak_type, noname_type,
    loop_a, loop_b, not_a_type, str_type, big_type;

static uint64_t A(const void *p) { return (uint64_t)(uintptr_t)p; }

/* The resolved symbols: the metatype, and str as the compact type. */
#define ANCHORS(m) (&(rs_recognize_anchors_t){ A(m), A(&str_type) })

static void make_type(fake_type_t *t, const fake_type_t *type, const char *name,
                      uint64_t size, uint64_t flags)
{
    memset(t, 0, sizeof *t);
    t->w[W_REFCNT] = 1;
    t->w[W_TYPE] = A(type);
    t->w[W_NAME] = A(name);
    t->w[W_SIZE] = size;
    t->w[W_FLAGS] = flags;
}

/* ---- the reader: static types and the test's blocks --------------------- */

typedef struct region {
    uint64_t start, end;
} region_t;

static region_t regions[256];
static int n_regions;
static int reads;

static void allow(const void *p, size_t len)
{
    regions[n_regions++] = (region_t){ A(p), A(p) + len };
}

static int test_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
    (void)ctx;
    reads++;
    for (int i = 0; i < n_regions; i++)
        if (addr >= regions[i].start && addr + len <= regions[i].end) {
            memcpy(buf, (const void *)(uintptr_t)addr, len);
            return 0;
        }
    return -1;
}

/* A block of `size` bytes (allocated larger, zeroed), readable. */
static uint64_t *block(size_t size)
{
    uint64_t *b = aligned_alloc(16, 512);
    memset(b, 0, 512);
    allow(b, size);
    return b;
}

static rs_recognizer_t python_spec(void)
{
    rs_profile_set_t *s = rs_profile_set_create();
    rs_profile_error_t err;
    assert_int_equal(rs_profile_list_parse(s, "python", &err), 0);
    rs_recognizer_t r = s->recognizers[0];
    rs_profile_set_free(s);          /* r's strings are not used below */
    r.metatype = r.version = NULL;
    return r;
}

static void setup_types(void)
{
    n_regions = 0;
    make_type(&meta, &meta, "type", 8 * TYPE_WORDS, HAVE_GC);
    make_type(&int_type, &meta, "int", 24, 0);
    make_type(&metaclass, &meta, "ABCMeta", 8 * TYPE_WORDS, HAVE_GC);
    make_type(&with_meta, &metaclass, "Abstract", 24, 0);
    make_type(&gc_type, &meta, "list", 40, HAVE_GC);
    make_type(&dict_type, &meta, "Foo", 32, HAVE_GC | MANAGED_DICT);
    make_type(&weak_type, &meta, "Bar", 32, HAVE_GC | MANAGED_WEAK);
    make_type(&noname_type, &meta, NULL, 24, 0);
    make_type(&str_type, &meta, "str", 80, 0);     /* 3.11's PyUnicodeObject */
    make_type(&big_type, &meta, "big", 80, 0);
    noname_type.w[W_NAME] = 0x10;     /* unreadable name pointer */
    make_type(&loop_a, &loop_b, "A", 24, 0);
    make_type(&loop_b, &loop_a, "B", 24, 0);
    memset(&not_a_type, 0, sizeof not_a_type);
    fake_type_t *statics[] = { &meta, &metaclass, &with_meta, &int_type, &gc_type, &dict_type, &weak_type,
                               &noname_type, &loop_a, &loop_b, &not_a_type, &str_type,
                               &big_type };
    for (size_t i = 0; i < sizeof statics / sizeof statics[0]; i++)
        allow(statics[i], sizeof *statics[i]);
    static const char *names[] = { "type", "ABCMeta", "Abstract", "int", "list", "Foo", "Bar", "A", "B",
                                   "str", "big" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        allow(names[i], strlen(names[i]) + 1);
}

static rs_node_t node(const uint64_t *b, uint64_t size)
{
    return (rs_node_t){ .addr = A(b), .size = size, .owner = UINT32_MAX };
}

static const rs_node_t *find(const rs_heap_t *h, const uint64_t *b)
{
    uint32_t i = rs_heapscan_find(h, A(b));
    assert_int_not_equal(i, UINT32_MAX);
    return &h->nodes[i];
}

static const char *name_of(const rs_recognize_result_t *res, const rs_node_t *n)
{
    assert_true(n->type_id >= RS_RECOGNIZE_TYPE_BASE);
    uint32_t i = n->type_id - RS_RECOGNIZE_TYPE_BASE;
    assert_true(i < res->n_names);
    return res->names[i];
}

static void assert_object(const rs_recognize_result_t *res, const rs_node_t *n,
                          const char *type, uint32_t header, int64_t count)
{
    assert_true(n->flags & RS_NODE_REFCOUNTED);
    assert_true(n->flags & RS_NODE_RC_SIGNED);
    assert_false(n->flags & RS_NODE_IGNORED);
    assert_string_equal(name_of(res, n), type);
    assert_int_equal(n->rc_offset, header);
    assert_int_equal(n->rc_width, 8);
    assert_int_equal(rs_node_header(n), header);
    assert_int_equal(n->flags & ~(RS_NODE_HEADER_MAX << RS_NODE_HEADER_SHIFT),
                     RS_NODE_REFCOUNTED | RS_NODE_RC_SIGNED);
    assert_int_equal(n->refcount, count);
}

static void assert_plain(const rs_node_t *n)
{
    assert_int_equal(n->flags, 0);
    assert_int_equal(n->type_id, 0);
    assert_int_equal(rs_node_header(n), 0);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_objects_and_headers(void **state)
{
    setup_types();
    rs_recognizer_t spec = python_spec();
    uint64_t *b_int = block(32), *b_gc = block(64), *b_dict = block(64),
             *b_weak = block(64), *b_htype = block(16 + 8 * TYPE_WORDS + 16),
             *b_inst = block(32), *b_noname = block(32), *b_abs = block(24);
    b_abs[W_REFCNT] = 2;                    /* its type's type is ABCMeta */
    b_abs[W_TYPE] = A(&with_meta);
    b_int[W_REFCNT] = 3;
    b_int[W_TYPE] = A(&int_type);
    b_gc[0] = A(b_dict);                    /* gc_next, gc_prev       */
    b_gc[1] = A(b_weak) | 1;
    b_gc[2 + W_REFCNT] = 1;
    b_gc[2 + W_TYPE] = A(&gc_type);
    b_dict[4 + W_REFCNT] = 2;
    b_dict[4 + W_TYPE] = A(&dict_type);
    b_weak[3] = 1;                          /* _gc_prev: finalized, untracked */
    b_weak[4 + W_REFCNT] = 5;
    b_weak[4 + W_TYPE] = A(&weak_type);
    /* A heap type (GC: after a PyGC_Head) with its name in the block,
     * whose metaclass is int_type's type; and an instance of it. */
    fake_type_t *ht = (fake_type_t *)(b_htype + 2);
    char *ht_name = (char *)(b_htype + 2 + TYPE_WORDS);
    strcpy(ht_name, "leaky.Node");
    make_type(ht, &meta, ht_name, 32, 1ull << 9);   /* heap type, non-GC instances */
    ht->w[W_REFCNT] = 4;
    b_inst[W_REFCNT] = 1;
    b_inst[W_TYPE] = A(ht);
    b_noname[W_REFCNT] = 1;
    b_noname[W_TYPE] = A(&noname_type);
    rs_node_t nodes[] = { node(b_int, 32), node(b_gc, 64), node(b_dict, 64),
                          node(b_weak, 64), node(b_htype, 16 + 8 * TYPE_WORDS + 16),
                          node(b_inst, 32), node(b_noname, 32), node(b_abs, 24) };
    rs_heap_t h = { .nodes = nodes, .n_nodes = sizeof nodes / sizeof nodes[0] };
    rs_heapscan_sort_nodes(&h);
    rs_recognize_result_t res = { 0 };
    assert_int_equal(rs_recognize_apply(&h, &spec, ANCHORS(&meta), test_read, NULL, &res), 0);
    assert_int_equal(res.objects, 8);
    assert_int_equal(res.immortal, 0);
    assert_object(&res, find(&h, b_int), "int", 0, 3);
    assert_object(&res, find(&h, b_gc), "list", 16, 1);
    assert_object(&res, find(&h, b_dict), "Foo", 32, 2);
    assert_object(&res, find(&h, b_weak), "Bar", 32, 5);
    assert_object(&res, find(&h, b_htype), "type", 16, 4);
    assert_object(&res, find(&h, b_inst), "leaky.Node", 0, 1);
    assert_object(&res, find(&h, b_noname), "?", 0, 1);
    assert_object(&res, find(&h, b_abs), "Abstract", 0, 2);
    assert_int_equal(res.n_names, 8);

    /* Final ids: the snapshot's other types come first. */
    uint32_t idx = find(&h, b_inst)->type_id - RS_RECOGNIZE_TYPE_BASE;
    rs_recognize_remap(&h, 10);
    assert_int_equal(find(&h, b_inst)->type_id, 10 + idx);
    assert_string_equal(res.names[idx], "leaky.Node");
    rs_recognize_result_free(&res);
    assert_null(res.names);
    rs_recognize_result_free(NULL);
    uint64_t *all[] = { b_int, b_gc, b_dict, b_weak, b_htype, b_inst, b_noname, b_abs };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]);
}

/* Words that point to something type-like but are not objects. */
static void test_lookalikes(void **state)
{
    setup_types();
    rs_recognizer_t spec = python_spec();
    uint64_t *b_plain = block(32), *b_wrong = block(32), *b_small = block(16),
             *b_unread = block(32), *b_odd = block(32), *b_loop = block(32),
             *b_zero = block(32), *b_short = block(8), *b_keys = block(64),
             *b_dead = block(32), *b_qdata = block(64), *b_qfill = block(64),
             *b_state = block(64), *b_state2 = block(64);
    b_plain[W_TYPE] = A(&not_a_type);     /* its type word is 0         */
    /* A dict's keys table (CPython 3.11 tp_subclasses): at the managed-
     * dict header's offset, the index bytes (00 ff ff ... : -256) and the
     * first entry's hash, an int that is a type's address. */
    b_keys[4 + W_REFCNT] = (uint64_t)-256;
    b_keys[4 + W_TYPE] = A(&dict_type);
    b_dead[W_TYPE] = A(&int_type);        /* on a free list: count 0     */
    /* A GType's qdata array: {quark, data} pairs, the third one's data a
     * PyGObject class (GC, managed dict: a 32-byte header), as seen in
     * PyGObject programs: quarks 1 and 2 where the header would be. */
    b_qdata[0] = 1;
    b_qdata[1] = 0;
    b_qdata[2] = 2;
    b_qdata[3] = A(&not_a_type);
    b_qdata[4 + W_REFCNT] = 65;
    b_qdata[4 + W_TYPE] = A(&dict_type);
    /* The same array where malloc filled the 4 bytes of padding after
     * each 32-bit quark (MALLOC_PERTURB_: 0x5a), but the third entry's,
     * written over zeroed memory (REFSCOPE_SCRUB=1): its header's quark
     * words are numbers far above user space. */
    b_qfill[0] = 0x5a5a5a5a00000033ull;
    b_qfill[1] = A(&not_a_type);
    b_qfill[2] = 0x5a5a5a5a0000003aull;
    b_qfill[3] = A(&not_a_type);
    b_qfill[4 + W_REFCNT] = 65;
    b_qfill[4 + W_TYPE] = A(&dict_type);
    /* A C module's state (_sqlite3's: DataError, DatabaseError, Error,
     * IntegrityError, ... heap types): its third word, at a count's place
     * after a 16-byte header, points to a block, its fourth to a GC
     * type.  Also with the "count" pointing inside a block. */
    b_state[0] = A(b_plain);
    b_state[1] = A(b_wrong);
    b_state[2 + W_REFCNT] = A(b_keys);
    b_state[2 + W_TYPE] = A(&gc_type);
    b_state2[0] = A(b_plain);
    b_state2[1] = A(b_wrong);
    b_state2[2 + W_REFCNT] = A(b_dead) + 8;
    b_state2[2 + W_TYPE] = A(&gc_type);
    b_wrong[W_TYPE] = A(&gc_type);        /* GC type but no header       */
    b_small[W_REFCNT] = 1;
    b_small[W_TYPE] = A(&int_type);       /* 24-byte instances, 16 bytes */
    b_unread[W_TYPE] = 0x1000;            /* aligned, unreadable         */
    b_odd[W_TYPE] = A(&int_type) + 4;     /* misaligned                  */
    b_loop[W_TYPE] = A(&loop_a);          /* A -> B -> A: never the meta */
    b_short[0] = A(&int_type);
    rs_node_t nodes[] = { node(b_plain, 32), node(b_wrong, 32), node(b_small, 16),
                          node(b_unread, 32), node(b_odd, 32), node(b_loop, 32),
                          node(b_zero, 32), node(b_short, 8), node(b_keys, 64),
                          node(b_dead, 32), node(b_qdata, 64), node(b_qfill, 64),
                          node(b_state, 64), node(b_state2, 64) };
    rs_heap_t h = { .nodes = nodes, .n_nodes = sizeof nodes / sizeof nodes[0] };
    rs_heapscan_sort_nodes(&h);
    rs_recognize_result_t res = { 0 };
    assert_int_equal(rs_recognize_apply(&h, &spec, ANCHORS(&meta), test_read, NULL, &res), 0);
    assert_int_equal(res.objects, 0);
    for (uint32_t i = 0; i < h.n_nodes; i++)
        assert_plain(&h.nodes[i]);
    /* Without a resolved metatype nothing is even read. */
    reads = 0;
    assert_int_equal(rs_recognize_apply(&h, &spec, &(rs_recognize_anchors_t){ 0, 0 }, test_read, NULL, &res), 0);
    assert_int_equal(reads, 0);
    rs_recognize_result_free(&res);
    uint64_t *all[] = { b_plain, b_wrong, b_small, b_unread, b_odd, b_loop, b_zero, b_short,
                        b_keys, b_dead, b_qdata, b_qfill, b_state, b_state2 };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]);
}

/* CPython's compact strings are smaller than str's tp_basicsize (the
 * legacy 80-byte PyUnicodeObject): "n7" is a 51-byte block.  Only the
 * compact type is excused; it still needs its count and type word. */
static void test_compact_type(void **state)
{
    setup_types();
    rs_recognizer_t spec = python_spec();
    uint64_t *b_str = block(51), *b_big = block(51), *b_tiny = block(8), *b_long = block(100);
    b_str[W_REFCNT] = 1;
    b_str[W_TYPE] = A(&str_type);
    memcpy(b_str + 6, "n7", 3);
    b_big[W_REFCNT] = 1;                  /* same size, another type     */
    b_big[W_TYPE] = A(&big_type);
    b_tiny[0] = 1;
    b_long[W_REFCNT] = 2;                 /* at least the basic size     */
    b_long[W_TYPE] = A(&str_type);
    rs_node_t nodes[] = { node(b_str, 51), node(b_big, 51), node(b_tiny, 8),
                          node(b_long, 100) };
    rs_heap_t h = { .nodes = nodes, .n_nodes = 4 };
    rs_heapscan_sort_nodes(&h);
    rs_recognize_result_t res = { 0 };
    assert_int_equal(rs_recognize_apply(&h, &spec, ANCHORS(&meta), test_read, NULL, &res), 0);
    assert_int_equal(res.objects, 2);
    assert_object(&res, find(&h, b_str), "str", 0, 1);
    assert_object(&res, find(&h, b_long), "str", 0, 2);
    assert_plain(find(&h, b_big));
    assert_plain(find(&h, b_tiny));
    rs_recognize_result_free(&res);

    /* Without the compact type resolved, the short string is no object. */
    rs_node_t again[] = { node(b_str, 51) };
    rs_heap_t h2 = { .nodes = again, .n_nodes = 1 };
    rs_recognize_result_t res2 = { 0 };
    assert_int_equal(rs_recognize_apply(&h2, &spec, &(rs_recognize_anchors_t){ A(&meta), 0 },
                                        test_read, NULL, &res2), 0);
    assert_int_equal(res2.objects, 0);
    assert_plain(&again[0]);
    rs_recognize_result_free(&res2);
    free(b_str);
    free(b_big);
    free(b_tiny);
    free(b_long);
}

/* Immortal counts make roots; tracked nodes are left alone; the type's
 * chain and name are read once for many objects. */
static void test_immortal_tracked_and_cache(void **state)
{
    setup_types();
    rs_recognizer_t spec = python_spec();
    uint64_t *b_imm = block(32), *b_tracked = block(32), *b_ign = block(32);
    b_imm[W_REFCNT] = 0xFFFFFFFFull;       /* 3.12's immortal count       */
    b_imm[W_TYPE] = A(&int_type);
    b_tracked[W_REFCNT] = 9;
    b_tracked[W_TYPE] = A(&int_type);
    b_ign[W_TYPE] = A(&int_type);
    rs_node_t nodes[3] = { node(b_imm, 32), node(b_tracked, 32), node(b_ign, 32) };
    rs_heap_t h = { .nodes = nodes, .n_nodes = 3 };
    rs_heapscan_sort_nodes(&h);
    rs_node_t *tracked = (rs_node_t *)find(&h, b_tracked), *ign = (rs_node_t *)find(&h, b_ign);
    tracked->flags = RS_NODE_REFCOUNTED;
    tracked->type_id = 7;
    ign->flags = RS_NODE_IGNORED;
    rs_recognize_result_t res = { 0 };
    assert_int_equal(rs_recognize_apply(&h, &spec, ANCHORS(&meta), test_read, NULL, &res), 0);
    assert_int_equal(res.objects, 0);
    assert_int_equal(res.immortal, 1);
    assert_int_equal(find(&h, b_imm)->flags, RS_NODE_IGNORED);
    assert_int_equal(tracked->flags, RS_NODE_REFCOUNTED);
    assert_int_equal(tracked->type_id, 7);
    assert_int_equal(ign->flags, RS_NODE_IGNORED);

    /* 100 ints: the type is judged once (a bounded number of reads). */
    enum { N = 100 };
    rs_node_t many[N];
    uint64_t *blocks[N];
    for (int i = 0; i < N; i++) {
        blocks[i] = block(32);
        blocks[i][W_REFCNT] = 1;
        blocks[i][W_TYPE] = A(&int_type);
        many[i] = node(blocks[i], 32);
    }
    rs_heap_t h2 = { .nodes = many, .n_nodes = N };
    rs_heapscan_sort_nodes(&h2);
    rs_recognize_result_free(&res);
    reads = 0;
    assert_int_equal(rs_recognize_apply(&h2, &spec, ANCHORS(&meta), test_read, NULL, &res), 0);
    assert_int_equal(res.objects, N);
    assert_int_equal(res.n_names, 1);
    assert_true(reads < 3 * N + 20);
    rs_recognize_result_free(&res);
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    free(b_imm);
    free(b_tracked);
    free(b_ign);
}

/* A spec without flags or sizes: header 0 only, any size; a 4-byte
 * unsigned counter at another offset. */
static void test_other_layout(void **state)
{
    setup_types();
    rs_recognizer_t spec = { 0 };
    spec.type_word = 8;
    spec.type_name = 24;
    spec.type_size = spec.type_flags = RS_RECOGNIZE_NONE;
    spec.counter = (rs_counter_spec_t){ .offset = 16, .width = 4, .is_signed = 0 };
    uint64_t *b = block(24);
    b[1] = A(&gc_type);                    /* flags are not looked at    */
    b[2] = 0xFFFFFFFFull;                  /* unsigned: 4294967295       */
    rs_node_t nodes[1] = { node(b, 24) };
    rs_heap_t h = { .nodes = nodes, .n_nodes = 1 };
    rs_recognize_result_t res = { 0 };
    assert_int_equal(rs_recognize_apply(&h, &spec, ANCHORS(&meta), test_read, NULL, &res), 0);
    assert_int_equal(res.objects, 1);
    assert_true(nodes[0].flags & RS_NODE_REFCOUNTED);
    assert_false(nodes[0].flags & RS_NODE_RC_SIGNED);
    assert_int_equal(nodes[0].rc_offset, 16);
    assert_int_equal(nodes[0].rc_width, 4);
    assert_int_equal(nodes[0].refcount, 4294967295ll);
    assert_string_equal(res.names[0], "list");
    rs_recognize_result_free(&res);
    free(b);
}

static void test_out_of_memory(void **state)
{
    setup_types();
    rs_recognizer_t spec = python_spec();
    uint64_t *b = block(32);
    b[W_REFCNT] = 1;
    b[W_TYPE] = A(&int_type);
    for (int k = 0; k < 2; k++) {
        rs_node_t nodes[1] = { node(b, 32) };
        rs_heap_t h = { .nodes = nodes, .n_nodes = 1 };
        rs_recognize_result_t res = { 0 };
        allocs_left = k;
        rs_mem_set_backend(&failing);
        int rc = rs_recognize_apply(&h, &spec, ANCHORS(&meta), test_read, NULL, &res);
        rs_mem_set_backend(NULL);
        assert_int_equal(rc, -1);
        assert_false(nodes[0].flags & RS_NODE_REFCOUNTED);
        rs_recognize_result_free(&res);
    }
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_objects_and_headers),
        cmocka_unit_test(test_lookalikes),
        cmocka_unit_test(test_compact_type),
        cmocka_unit_test(test_immortal_tracked_and_cache),
        cmocka_unit_test(test_other_layout),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
