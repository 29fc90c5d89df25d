/*
 * test_snapshot.c - unit tests of the snapshot writer and reader
 * (lib/snapshot*.c): field-by-field round trips (reference history and
 * refcount errors included), atomic replacement and clean write failures,
 * files of format 1.0 (without the optional sections) still read, a
 * slice-by-8 CRC checked against a bitwise one, and a reader that rejects
 * every truncation, every flipped byte and each kind of semantic
 * corruption with a message naming the file, the section and the offset,
 * and never crashes on random bytes even when their CRCs have been made to
 * match.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32.h"
#include "snapshot.h"
#include "snapshot_format.h"

static char tmpdir[64];

#define assert_contains(hay, needle)                                         \
    do {                                                                     \
        if (!strstr((hay), (needle)))                                        \
            fail_msg("expected \"%s\" in \"%s\"", (needle), (hay));          \
    } while (0)

/* ---- fixtures ----------------------------------------------------------- */

static int setup(void **state)
{
    strcpy(tmpdir, "/tmp/rs_snap_test_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *tmp_path(const char *name)
{
    static char buf[4][256];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", tmpdir, name);
    return p;
}

static int count_dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static uint8_t *load(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(*size ? *size : 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, *size, f), *size);
    fclose(f);
    return buf;
}

static void store(const char *path, const uint8_t *buf, size_t size)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, size, f), size);
    fclose(f);
}

/* ---- a hand-built snapshot with every field set ------------------------ */

static uint64_t pcs_a[] = { 0x401000, 0x401234, 0x7f0000001000, 0x10 };
static uint64_t pcs_b[] = { UINT64_MAX - 0xff, 1 };
static rs_segment_t segs[] = {
    { 0x400000, 0x401000, 5 }, { 0x600000, 0x601800, 6 },
    { 0x7f0000000000, 0x7f0000100000, 5 },
};
static rs_module_t modules[] = {
    { "/usr/bin/prog", { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
      16, 17, 18, 19, 20 }, 20, 0, segs, 2, 0, RS_EPOCH_LIVE },
    { "/lib/x86_64-linux-gnu/libc.so.6", { 0xde, 0xad, 0xbe, 0xef }, 4,
      0x7f0000000000, segs + 2, 1, 1, 3 },
    { NULL, { 0 }, 0, 0, NULL, 0, 2, RS_EPOCH_LIVE },
};
static rs_stack_t stacks[] = {
    { 0, 4, pcs_a }, { RS_EPOCH_LIVE, 2, pcs_b }, { 7, 0, NULL },
};
/* Stack 4 of the Python sample: a C frame, two Python frames (locations
 * 1 then 0), a C frame.  (pcs_b's first pc has the top bit set: in a file
 * with Python locations, a Python frame; pcs_b_py has none.) */
static uint64_t pcs_py[] = { 0x401000, RS_PYFRAME_TAG | 1, RS_PYFRAME_TAG | 0, 0x401234 };
static uint64_t pcs_b_py[] = { RS_PYFRAME_TAG - 0xff, 1 };
static rs_stack_t stacks_py[] = {
    { 0, 4, pcs_a }, { RS_EPOCH_LIVE, 2, pcs_b_py }, { 7, 0, NULL }, { 0, 4, pcs_py },
};
static rs_pyloc_t pylocs[] = {
    { "Leaky.make", "/src/t.py", 12 }, { "<module>", "t\xc3\xbc.py", 0 },
};
static char *types[] = { "GObject", "", "Foo bar/\xc3\xbc" };
static rs_node_t nodes[] = {
    { 0x1000, 24, 1, 0, 0, 0, 0, RS_CLASS_REACHABLE, 0, UINT32_MAX, 0, 100, 1 },
    { 0x1020, 64, 2, 1, RS_NODE_REFCOUNTED | RS_NODE_RC_SIGNED, 8, 4,
      RS_CLASS_CYCLE, 0, 0, -2, 101, 2 },
    { 0x1080, 0, 3, 3, RS_NODE_REFCOUNTED | RS_NODE_RC_FROM_EVENTS | 0x100,
      16, 8, RS_CLASS_LEAKED_REF, 0, UINT32_MAX, INT64_MAX, 102, 0xffffffff },
    /* the largest sizes and addresses a reader accepts: the nodes end at
     * RS_SNAP_ADDRESS_END at most (snapshot_format.h) */
    { 0x20000000, (1ull << 56) - 0x20000000, 0, 2, RS_NODE_IGNORED, 0xffffffff, 1,
      RS_CLASS_LEAKED, 0, UINT32_MAX, INT64_MIN, UINT32_MAX, 3 },
    { RS_SNAP_ADDRESS_END - 8, 8, 3, 0, 0, 0, 2, RS_CLASS_INDIRECT, 0, 3, 5, 7, 4 },
};
static uint32_t edge_start[] = { 0, 2, 2, 3, 5, 5 };
static rs_edge_t edges[] = {
    { 1, 8 }, { 4, 0 }, { 1, 16 }, { 4, 0xffffffff }, { 0, 4 },
};
/* Edges 1 and 4 hold no reference (a profile's `weak offset=`). */
static uint64_t weak_bits[] = { 1u << 1 | 1u << 4 };
static rs_root_t roots[] = {
    { 0x601000, 0x800, RS_ROOT_GLOBAL, 0, 0, 0 },
    { 0x7ffc0000, 0x2000, RS_ROOT_STACK, UINT32_MAX, 1234, 0 },
    { 0x5000, 64, RS_ROOT_USER, UINT32_MAX, 0, 0 },
    { UINT64_MAX - 1, 1, RS_ROOT_IGNORED, 2, 0, 0 },
    { 0x7f0000000000, 0x10000, RS_ROOT_MMAP, UINT32_MAX, 0, 0 },   /* 1.3 */
};
static rs_root_edge_t root_edges[] = {
    { 0, 0, 0x10 }, { 1, 1, 0x1ff8 }, { 1, 0, 8 }, { 2, 4, 0 },
};
static char *argv_sample[] = { "prog", "--flag", "", "a b" };
/* Nodes 1 and 2 are the refcounted ones: 4 and 2 events.  Node 1's seqs
 * wrap around 2^32, node 2's run backwards; threads change and repeat. */
static uint32_t event_start[] = { 0, 0, 4, 6, 6, 6 };
static rs_ref_event_t events[] = {
    { 1, 10, 0, RS_REF_CTOR, 0 },      { 2, 0xfffffff0, 3, RS_REF_INCREF, 0 },
    { 0, 5, 3, RS_REF_DECREF, 0 },     { 3, 6, 0xffff, RS_REF_INCREF, 0 },
    { 3, 100, 1, RS_REF_CTOR, 0 },     { 1, 99, 1, RS_REF_DECREF, 0 },
};
static rs_rc_error_t rc_errors[] = {
    { RS_RC_DECREF_UNKNOWN, 0, 0xdead0000, 0, 1, 0, 77, 0 },
    { RS_RC_UNDERFLOW, 1, 0x1020, -1, 2, 3, 78, 0 },
    { RS_RC_FREE_REFERENCED, 3, 0x1080, INT64_MAX, 3, 1, UINT32_MAX, 0 },
    { RS_RC_INCREF_AFTER_FINAL, 2, UINT64_MAX, INT64_MIN, 0, 2, 0, 0 },
};

/* Two threads: 77 with 3 frames (pcs falling and rising, equal sps),
 * UINT32_MAX with 2 (extreme pc and sp). */
static rs_thread_frame_t thread_frames[] = {
    { 0x401234, 0x7ffd0000, 77, 0 },
    { 0x7f0000001000, 0x7ffd0000, 77, 1 },
    { 0x400100, 0x7ffd0100, 77, 2 },
    { UINT64_MAX, 0x10, UINT32_MAX, 0 },
    { 0, UINT64_MAX, UINT32_MAX, 1 },
};

static rs_snapshot_t sample(void)
{
    rs_snapshot_t s;
    memset(&s, 0, sizeof s);
    s.proc.pid = 4242;
    s.proc.ppid = 1;
    s.proc.exit_status = -3;
    s.proc.has_exit_status = 1;
    s.proc.reason = 2;
    s.proc.seq = 7;
    s.proc.time_ns = 1763780000123456789ull;
    s.proc.exe = "/usr/bin/prog";
    s.proc.argv = argv_sample;
    s.proc.argc = 4;
    s.proc.label = "after-init";
    s.modules = modules;
    s.n_modules = 3;
    s.stacks = stacks;
    s.n_stacks = 3;
    s.types = types;
    s.n_types = 3;
    s.heap.nodes = nodes;
    s.heap.n_nodes = 5;
    s.heap.edge_start = edge_start;
    s.heap.edges = edges;
    s.heap.n_edges = 5;
    s.heap.weak_edges = weak_bits;
    s.heap.roots = roots;
    s.heap.n_roots = 5;
    s.heap.root_edges = root_edges;
    s.heap.n_root_edges = 4;
    rs_summary_count(&s.heap, &s.summary);   /* a reader checks them */
    s.summary.cycle_groups = 1;
    s.summary.leaked_refs = 9;
    s.summary.rc_errors = UINT32_MAX;
    s.history.event_start = event_start;
    s.history.events = events;
    s.history.n_events = 6;
    s.rc_errors = rc_errors;
    s.n_rc_errors = 4;
    s.thread_frames = thread_frames;
    s.n_thread_frames = 5;
    s.frames_epoch = 3;
    return s;
}

/* The sample with a stack through Python frames and their locations. */
static rs_snapshot_t sample_python(void)
{
    rs_snapshot_t s = sample();
    s.stacks = stacks_py;
    s.n_stacks = 4;
    s.pylocs = pylocs;
    s.n_pylocs = 2;
    return s;
}

/* The sample as a 1.0 writer could have produced it. */
static rs_snapshot_t sample_without_refcounting(void)
{
    rs_snapshot_t s = sample();
    memset(&s.history, 0, sizeof s.history);
    s.rc_errors = NULL;
    s.n_rc_errors = 0;
    s.thread_frames = NULL;
    s.n_thread_frames = 0;
    s.frames_epoch = 0;
    s.heap.weak_edges = NULL;
    return s;
}

/* ---- comparisons --------------------------------------------------------- */

static void assert_str_eq(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void compare_proc(const rs_proc_info_t *a, const rs_proc_info_t *b)
{
    assert_int_equal(a->pid, b->pid);
    assert_int_equal(a->ppid, b->ppid);
    assert_int_equal(a->exit_status, b->exit_status);
    assert_int_equal(a->has_exit_status, b->has_exit_status);
    assert_int_equal(a->reason, b->reason);
    assert_int_equal(a->seq, b->seq);
    assert_int_equal(a->time_ns, b->time_ns);
    assert_str_eq(a->exe, b->exe);
    assert_int_equal(a->argc, b->argc);
    for (uint32_t i = 0; i < a->argc; i++)
        assert_str_eq(a->argv[i], b->argv[i]);
    assert_str_eq(a->label, b->label);
}

static void compare_modules(const rs_snapshot_t *a, const rs_snapshot_t *b)
{
    assert_int_equal(a->n_modules, b->n_modules);
    for (uint32_t i = 0; i < a->n_modules; i++) {
        const rs_module_t *x = &a->modules[i], *y = &b->modules[i];
        assert_str_eq(x->path, y->path);
        assert_int_equal(x->build_id_len, y->build_id_len);
        assert_memory_equal(x->build_id, y->build_id, x->build_id_len);
        assert_int_equal(x->load_bias, y->load_bias);
        assert_int_equal(x->load_epoch, y->load_epoch);
        assert_int_equal(x->unload_epoch, y->unload_epoch);
        assert_int_equal(x->n_segments, y->n_segments);
        for (uint32_t j = 0; j < x->n_segments; j++) {
            assert_int_equal(x->segments[j].start, y->segments[j].start);
            assert_int_equal(x->segments[j].end, y->segments[j].end);
            assert_int_equal(x->segments[j].flags, y->segments[j].flags);
        }
    }
}

static void compare_stacks_types(const rs_snapshot_t *a, const rs_snapshot_t *b)
{
    assert_int_equal(a->n_stacks, b->n_stacks);
    for (uint32_t i = 0; i < a->n_stacks; i++) {
        assert_int_equal(a->stacks[i].epoch, b->stacks[i].epoch);
        assert_int_equal(a->stacks[i].n_frames, b->stacks[i].n_frames);
        for (uint32_t j = 0; j < a->stacks[i].n_frames; j++)
            assert_int_equal(a->stacks[i].pcs[j], b->stacks[i].pcs[j]);
    }
    assert_int_equal(a->n_types, b->n_types);
    for (uint32_t i = 0; i < a->n_types; i++)
        assert_str_eq(a->types[i], b->types[i]);
}

static void compare_heap(const rs_heap_t *a, const rs_heap_t *b)
{
    assert_int_equal(a->n_nodes, b->n_nodes);
    for (uint32_t i = 0; i < a->n_nodes; i++) {
        const rs_node_t *x = &a->nodes[i], *y = &b->nodes[i];
        assert_int_equal(x->addr, y->addr);
        assert_int_equal(x->size, y->size);
        assert_int_equal(x->stack_id, y->stack_id);
        assert_int_equal(x->type_id, y->type_id);
        assert_int_equal(x->flags, y->flags);
        assert_int_equal(x->rc_offset, y->rc_offset);
        assert_int_equal(x->rc_width, y->rc_width);
        assert_int_equal(x->cls, y->cls);
        assert_int_equal(x->owner, y->owner);
        assert_int_equal(x->refcount, y->refcount);
        assert_int_equal(x->alloc_tid, y->alloc_tid);
        assert_int_equal(x->seq, y->seq);
    }
    assert_int_equal(a->n_edges, b->n_edges);
    for (uint32_t i = 0; a->edge_start && i <= a->n_nodes; i++)
        assert_int_equal(a->edge_start[i], b->edge_start[i]);
    assert_int_equal(a->weak_edges == NULL, b->weak_edges == NULL);
    for (uint64_t e = 0; e < a->n_edges; e++) {
        assert_int_equal(a->edges[e].dst, b->edges[e].dst);
        assert_int_equal(a->edges[e].offset, b->edges[e].offset);
        assert_int_equal(rs_heap_edge_weak(a, e), rs_heap_edge_weak(b, e));
    }
    assert_int_equal(a->n_roots, b->n_roots);
    for (uint32_t i = 0; i < a->n_roots; i++) {
        assert_int_equal(a->roots[i].start, b->roots[i].start);
        assert_int_equal(a->roots[i].size, b->roots[i].size);
        assert_int_equal(a->roots[i].kind, b->roots[i].kind);
        assert_int_equal(a->roots[i].module, b->roots[i].module);
        assert_int_equal(a->roots[i].tid, b->roots[i].tid);
    }
    assert_int_equal(a->n_root_edges, b->n_root_edges);
    for (uint64_t i = 0; i < a->n_root_edges; i++) {
        assert_int_equal(a->root_edges[i].root, b->root_edges[i].root);
        assert_int_equal(a->root_edges[i].dst, b->root_edges[i].dst);
        assert_int_equal(a->root_edges[i].offset, b->root_edges[i].offset);
    }
}

static void compare_refcounting(const rs_snapshot_t *a, const rs_snapshot_t *b)
{
    const rs_ref_history_t *x = &a->history, *y = &b->history;
    assert_int_equal(x->event_start == NULL, y->event_start == NULL);
    assert_int_equal(x->n_events, y->n_events);
    for (uint32_t i = 0; x->event_start && i <= a->heap.n_nodes; i++)
        assert_int_equal(x->event_start[i], y->event_start[i]);
    for (uint64_t e = 0; e < x->n_events; e++) {
        assert_int_equal(x->events[e].stack_id, y->events[e].stack_id);
        assert_int_equal(x->events[e].seq, y->events[e].seq);
        assert_int_equal(x->events[e].thread, y->events[e].thread);
        assert_int_equal(x->events[e].op, y->events[e].op);
        assert_int_equal(y->events[e].reserved, 0);
    }
    assert_int_equal(a->n_rc_errors, b->n_rc_errors);
    assert_int_equal(a->rc_errors == NULL, b->rc_errors == NULL);
    for (uint32_t i = 0; i < a->n_rc_errors; i++) {
        const rs_rc_error_t *p = &a->rc_errors[i], *q = &b->rc_errors[i];
        assert_int_equal(p->kind, q->kind);
        assert_int_equal(p->type_id, q->type_id);
        assert_int_equal(p->addr, q->addr);
        assert_int_equal(p->count, q->count);
        assert_int_equal(p->stack_id, q->stack_id);
        assert_int_equal(p->other_stack_id, q->other_stack_id);
        assert_int_equal(p->tid, q->tid);
    }
}

static void compare_frames(const rs_snapshot_t *a, const rs_snapshot_t *b)
{
    assert_int_equal(a->n_thread_frames, b->n_thread_frames);
    assert_int_equal(a->thread_frames == NULL, b->thread_frames == NULL);
    if (a->n_thread_frames)
        assert_int_equal(a->frames_epoch, b->frames_epoch);
    for (uint32_t i = 0; i < a->n_thread_frames; i++) {
        const rs_thread_frame_t *p = &a->thread_frames[i], *q = &b->thread_frames[i];
        assert_int_equal(p->pc, q->pc);
        assert_int_equal(p->sp, q->sp);
        assert_int_equal(p->tid, q->tid);
        assert_int_equal(p->depth, q->depth);
    }
}

static void compare_pylocs(const rs_snapshot_t *a, const rs_snapshot_t *b)
{
    assert_int_equal(a->n_pylocs, b->n_pylocs);
    for (uint32_t i = 0; i < a->n_pylocs; i++) {
        assert_string_equal(a->pylocs[i].function, b->pylocs[i].function);
        assert_string_equal(a->pylocs[i].file, b->pylocs[i].file);
        assert_int_equal(a->pylocs[i].line, b->pylocs[i].line);
    }
}

static void compare_snapshots(const rs_snapshot_t *a, const rs_snapshot_t *b)
{
    compare_pylocs(a, b);
    compare_frames(a, b);
    compare_refcounting(a, b);
    compare_proc(&a->proc, &b->proc);
    compare_modules(a, b);
    compare_stacks_types(a, b);
    compare_heap(&a->heap, &b->heap);
    assert_memory_equal(&a->summary, &b->summary, sizeof a->summary);
}

/* Writes snap to name in tmpdir; returns the path. */
static char *write_ok(const rs_snapshot_t *snap, const char *name)
{
    rs_snapshot_error_t err = { "" };
    char *path = tmp_path(name);
    if (rs_snapshot_write(snap, path, &err) != 0)
        fail_msg("write failed: %s", err.message);
    return path;
}

/* Reads path and expects failure with a message containing each needle. */
static void expect_read_error(const char *path, const char *n1, const char *n2)
{
    rs_snapshot_error_t err = { "" };
    rs_snapshot_t *s = rs_snapshot_read(path, &err);
    if (s)
        fail_msg("reading %s succeeded, expected an error with \"%s\"", path, n1);
    assert_contains(err.message, path);
    if (n1)
        assert_contains(err.message, n1);
    if (n2)
        assert_contains(err.message, n2);
    assert_null(strchr(err.message, '\n'));
}

/* ---- raw file surgery ----------------------------------------------------- */

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    while (n--)
        v = v << 8 | p[n];
    return v;
}

static void put(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Directory entry of the section of type `type` (fails if absent). */
static uint8_t *dirent_of(uint8_t *buf, uint32_t type)
{
    uint32_t n = (uint32_t)le(buf + RS_SNAP_OFF_NSECT, 4);
    uint64_t h = le(buf + RS_SNAP_OFF_HDRSIZE, 4);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = buf + h + (uint64_t)i * RS_SNAP_DIRENT_SIZE;
        if (le(e + RS_SNAP_DIRENT_TYPE, 4) == type)
            return e;
    }
    fail_msg("no section %u", type);
    return NULL;
}

static uint8_t *section_of(uint8_t *buf, uint32_t type, uint64_t *len)
{
    uint8_t *e = dirent_of(buf, type);
    if (len)
        *len = le(e + RS_SNAP_DIRENT_LENGTH, 8);
    return buf + le(e + RS_SNAP_DIRENT_OFFSET, 8);
}

/* Recomputes every section CRC and the header CRC, the way a malicious or
 * buggy writer would, so that the structural checks are what is tested. */
static void fix_crcs(uint8_t *buf, size_t size)
{
    uint32_t n = (uint32_t)le(buf + RS_SNAP_OFF_NSECT, 4);
    uint64_t h = le(buf + RS_SNAP_OFF_HDRSIZE, 4);
    if (h < RS_SNAP_HEADER_SIZE || h > size ||
        (size - h) / RS_SNAP_DIRENT_SIZE < n)
        return;   /* damaged beyond repair: leave the CRCs as they are */
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = buf + h + (uint64_t)i * RS_SNAP_DIRENT_SIZE;
        uint64_t off = le(e + RS_SNAP_DIRENT_OFFSET, 8);
        uint64_t len = le(e + RS_SNAP_DIRENT_LENGTH, 8);
        if (off <= size && len <= size - off)
            put(e + RS_SNAP_DIRENT_CRC, rs_snapshot_crc32(0, buf + off, len), 4);
    }
    uint32_t crc = rs_snapshot_crc32(0, buf, RS_SNAP_OFF_HDRCRC);
    crc = rs_snapshot_crc32(crc, buf + RS_SNAP_HEADER_SIZE,
                            h - RS_SNAP_HEADER_SIZE + (uint64_t)n * RS_SNAP_DIRENT_SIZE);
    put(buf + RS_SNAP_OFF_HDRCRC, crc, 4);
}

/* Loads the sample file, lets patch() modify it, fixes the CRCs, stores
 * it under name and returns the path. */
static char *patched_from(rs_snapshot_t s, const char *name,
                          void (*patch)(uint8_t *buf, size_t size));

static char *patched(const char *name, void (*patch)(uint8_t *buf, size_t size))
{
    return patched_from(sample(), name, patch);
}

/* patched() of the snapshot s. */
static char *patched_from(rs_snapshot_t s, const char *name,
                          void (*patch)(uint8_t *buf, size_t size))
{
    size_t size;
    uint8_t *buf = load(write_ok(&s, "orig.rsnap"), &size);
    patch(buf, size);
    fix_crcs(buf, size);
    char *path = tmp_path(name);
    store(path, buf, size);
    free(buf);
    return path;
}

/* ---- round trips ------------------------------------------------------------ */

static void test_round_trip_full(void **state)
{
    rs_snapshot_t s = sample();
    rs_snapshot_error_t err = { "" };
    char *path = write_ok(&s, "full.rsnap");
    rs_snapshot_t *got = rs_snapshot_read(path, &err);
    if (!got)
        fail_msg("read failed: %s", err.message);
    compare_snapshots(&s, got);
    assert_null(got->proc.argv[got->proc.argc]);
    assert_int_equal(count_dir_entries(tmpdir), 1);
    rs_snapshot_free(got);
}

/* What rs_snapshot_read_progress() reported. */
typedef struct progress_log {
    uint64_t calls, last, total;
    int      backwards, total_changed;
} progress_log_t;

static void log_progress(void *ctx, uint64_t done, uint64_t total)
{
    progress_log_t *l = ctx;
    if (l->calls && done < l->last)
        l->backwards = 1;
    if (l->calls && total != l->total)
        l->total_changed = 1;
    l->calls++;
    l->last = done;
    l->total = total;
}

static void test_read_progress(void **state)
{
    (void)state;
    rs_snapshot_t s = sample();
    rs_snapshot_error_t err = { "" };
    char *path = write_ok(&s, "progress.rsnap");
    progress_log_t log = { 0 };
    rs_snapshot_progress_t p = { log_progress, &log };
    rs_snapshot_t *got = rs_snapshot_read_progress(path, &err, &p);
    if (!got)
        fail_msg("read failed: %s", err.message);
    compare_snapshots(&s, got);
    rs_snapshot_free(got);
    /* at least the read and every section, growing to the total */
    assert_true(log.calls >= 2);
    assert_false(log.backwards);
    assert_false(log.total_changed);
    assert_true(log.total > 0);
    assert_int_equal(log.last, log.total);
    /* a file that cannot be read reports an error, not progress to 100% */
    memset(&log, 0, sizeof log);
    assert_null(rs_snapshot_read_progress("/nonexistent.rsnap", &err, &p));
    assert_int_equal(log.calls, 0);
    /* no callback: the plain reader */
    got = rs_snapshot_read_progress(path, &err, NULL);
    assert_non_null(got);
    rs_snapshot_free(got);
}

static void test_round_trip_empty(void **state)
{
    rs_snapshot_t s;
    rs_snapshot_error_t err = { "" };
    memset(&s, 0, sizeof s);
    char *path = write_ok(&s, "empty.rsnap");
    rs_snapshot_t *got = rs_snapshot_read(path, &err);
    if (!got)
        fail_msg("read failed: %s", err.message);
    compare_snapshots(&s, got);
    assert_null(got->proc.exe);
    assert_null(got->proc.label);
    assert_non_null(got->heap.edge_start);
    assert_int_equal(got->heap.edge_start[0], 0);
    rs_snapshot_free(got);
}

/* A larger random graph: exercises buffer flushes inside records and
 * multi-byte numbers of every length. */
static void test_round_trip_random_graph(void **state)
{
    enum { N = 20000 };
    rs_snapshot_t s;
    rs_snapshot_error_t err = { "" };
    rs_node_t *nv = calloc(N, sizeof *nv);
    uint32_t *es = calloc(N + 1, sizeof *es);
    rs_edge_t *ev = calloc(N * 4, sizeof *ev);
    uint32_t *hs = calloc(N + 1, sizeof *hs);
    rs_ref_event_t *hv = calloc(N * 3, sizeof *hv);
    rs_rc_error_t *xv = calloc(N / 10, sizeof *xv);
    static uint64_t pc = 0x401000;
    rs_stack_t st[3000];
    char *ty[] = { "A", "B" };
    uint64_t addr = 0x10000;
    for (int i = 0; i < 3000; i++)
        st[i] = (rs_stack_t){ 0, 1, &pc };
    srand(7);
    memset(&s, 0, sizeof s);
    for (uint32_t i = 0; i < N; i++) {
        addr += 16 + (uint64_t)rand() % (i % 100 ? 200 : 1u << 30);
        nv[i].addr = addr;
    }
    for (uint32_t i = 0; i < N; i++) {
        /* up to the next node: nodes never overlap (snapshot_format.h) */
        uint64_t room = i + 1 < N ? nv[i + 1].addr - nv[i].addr : 1u << 20;
        nv[i].size = ((uint64_t)rand() << (i % 40)) % (room + 1);
        nv[i].cls = (uint8_t)(rand() % RS_CLASS_COUNT);
        nv[i].owner = nv[i].cls == RS_CLASS_INDIRECT ? (uint32_t)rand() % N
                                                      : UINT32_MAX;
        nv[i].refcount = (int64_t)rand() - RAND_MAX / 2;
        nv[i].rc_width = (uint8_t)(1u << (rand() % 4));
        nv[i].alloc_tid = (uint32_t)rand();
        nv[i].seq = i * 3;
        uint32_t deg = (uint32_t)rand() % 5;
        es[i + 1] = es[i] + deg;
        for (uint32_t k = es[i]; k < es[i + 1]; k++) {
            ev[k].dst = k % 2 ? (uint32_t)rand() % N
                              : (i + (uint32_t)rand() % 8) % N;
            ev[k].offset = (uint32_t)rand() % 4096 * 8;
        }
        if (rand() % 3 == 0) {
            nv[i].flags = RS_NODE_REFCOUNTED;
            nv[i].type_id = 1 + (uint32_t)rand() % 2;
        }
        uint32_t n_ev = nv[i].flags ? (uint32_t)rand() % 4 : 0;
        hs[i + 1] = hs[i] + n_ev;
        for (uint32_t k = hs[i]; k < hs[i + 1]; k++)
            hv[k] = (rs_ref_event_t){
                .stack_id = (uint32_t)rand() % 3001,
                .seq = (uint32_t)rand() << (k % 8),
                .thread = (uint16_t)(rand() % 3 ? 1 : rand()),
                .op = (uint8_t)(1 + rand() % 3) };
    }
    for (uint32_t i = 0; i < N / 10; i++)
        xv[i] = (rs_rc_error_t){
            .kind = 1 + (uint32_t)rand() % 4, .type_id = (uint32_t)rand() % 3,
            .addr = nv[rand() % N].addr + (uint64_t)rand() % 64,
            .count = (int64_t)rand() - RAND_MAX / 2,
            .stack_id = (uint32_t)rand() % 3001,
            .other_stack_id = (uint32_t)rand() % 3001, .tid = (uint32_t)rand() };
    s.stacks = st;
    s.n_stacks = 3000;
    s.types = ty;
    s.n_types = 2;
    s.history.event_start = hs;
    s.history.events = hv;
    s.history.n_events = hs[N];
    s.rc_errors = xv;
    s.n_rc_errors = N / 10;
    s.heap.nodes = nv;
    s.heap.n_nodes = N;
    s.heap.edge_start = es;
    s.heap.edges = ev;
    s.heap.n_edges = es[N];
    rs_summary_count(&s.heap, &s.summary);
    char *path = write_ok(&s, "graph.rsnap");
    rs_snapshot_t *got = rs_snapshot_read(path, &err);
    if (!got)
        fail_msg("read failed: %s", err.message);
    compare_snapshots(&s, got);
    rs_snapshot_free(got);
    free(nv);
    free(es);
    free(ev);
    free(hs);
    free(hv);
    free(xv);
}

/* ---- writing: atomicity and failures --------------------------------------- */

static void test_write_replaces_existing(void **state)
{
    rs_snapshot_t s = sample();
    rs_snapshot_error_t err = { "" };
    char *path = tmp_path("snap.rsnap");
    store(path, (const uint8_t *)"old contents", 12);
    assert_int_equal(rs_snapshot_write(&s, path, &err), 0);
    s.proc.label = "second";
    assert_int_equal(rs_snapshot_write(&s, path, &err), 0);
    assert_int_equal(count_dir_entries(tmpdir), 1);
    rs_snapshot_t *got = rs_snapshot_read(path, &err);
    assert_non_null(got);
    assert_string_equal(got->proc.label, "second");
    rs_snapshot_free(got);
}

/* A name without a directory part lands in the working directory. */
static void test_write_relative_path(void **state)
{
    rs_snapshot_t s = sample();
    rs_snapshot_error_t err = { "" };
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(tmpdir), 0);
    int rc = rs_snapshot_write(&s, "rel.rsnap", &err);
    rs_snapshot_t *got = rs_snapshot_read("rel.rsnap", &err);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, 0);
    assert_non_null(got);
    compare_snapshots(&s, got);
    rs_snapshot_free(got);
    assert_int_equal(count_dir_entries(tmpdir), 1);
}

static void test_write_missing_directory(void **state)
{
    rs_snapshot_t s = sample();
    rs_snapshot_error_t err = { "" };
    char *path = tmp_path("no/such/dir/snap.rsnap");
    assert_int_equal(rs_snapshot_write(&s, path, &err), -1);
    assert_contains(err.message, path);
    assert_contains(err.message, "No such file or directory");
    assert_int_equal(count_dir_entries(tmpdir), 0);
}

static void test_write_not_a_directory(void **state)
{
    rs_snapshot_t s = sample();
    rs_snapshot_error_t err = { "" };
    assert_int_equal(rs_snapshot_write(&s, "/etc/passwd/x.rsnap", &err), -1);
    assert_contains(err.message, "/etc/passwd/x.rsnap");
    assert_contains(err.message, "Not a directory");
}

/* The final name is an existing directory: rename fails, and the
 * temporary file must not be left behind. */
static void test_write_over_directory(void **state)
{
    rs_snapshot_t s = sample();
    rs_snapshot_error_t err = { "" };
    char *path = tmp_path("adir");
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(rs_snapshot_write(&s, path, &err), -1);
    assert_contains(err.message, path);
    assert_contains(err.message, "rename");
    assert_int_equal(count_dir_entries(tmpdir), 1);
    err.message[0] = '\0';
    assert_int_equal(rs_snapshot_write(&s, tmp_path("adir/"), &err), -1);
    assert_contains(err.message, "directory");
    assert_int_equal(count_dir_entries(path), 0);
}

static void test_write_refuses_bad_input(void **state)
{
    rs_snapshot_error_t err = { "" };
    rs_snapshot_t s = sample();
    rs_node_t unsorted[2] = { { .addr = 0x2000 }, { .addr = 0x1000 } };
    uint32_t es[3] = { 0, 0, 0 };
    s.heap.nodes = unsorted;
    s.heap.n_nodes = 2;
    s.heap.edge_start = es;
    s.heap.n_edges = 0;
    s.heap.n_root_edges = 0;
    assert_int_equal(rs_snapshot_write(&s, tmp_path("a.rsnap"), &err), -1);
    assert_contains(err.message, "sorted");

    s = sample();
    uint32_t bad_es[6] = { 0, 2, 1, 3, 5, 5 };
    s.heap.edge_start = bad_es;
    assert_int_equal(rs_snapshot_write(&s, tmp_path("b.rsnap"), &err), -1);
    assert_contains(err.message, "monotone");

    s = sample();
    s.heap.n_edges = 4;
    assert_int_equal(rs_snapshot_write(&s, tmp_path("c.rsnap"), &err), -1);
    assert_contains(err.message, "n_edges");

    s = sample();
    s.stacks = NULL;
    assert_int_equal(rs_snapshot_write(&s, tmp_path("d.rsnap"), &err), -1);
    assert_contains(err.message, "NULL");
    assert_int_equal(count_dir_entries(tmpdir), 0);
}

/* ---- reading: damaged files ------------------------------------------------ */

static void test_truncation_at_every_offset(void **state)
{
    rs_snapshot_t s = sample();
    size_t size;
    uint8_t *buf = load(write_ok(&s, "full.rsnap"), &size);
    char *path = tmp_path("cut.rsnap");
    for (size_t n = 0; n < size; n++) {
        store(path, buf, n);
        expect_read_error(path, n ? "truncated" : "empty", NULL);
    }
    free(buf);
}

/* Every byte of a valid file is covered by a CRC, so every flip must be
 * caught. */
static void test_random_flips_rejected(void **state)
{
    rs_snapshot_t s = sample();
    size_t size;
    uint8_t *buf = load(write_ok(&s, "full.rsnap"), &size);
    char *path = tmp_path("flip.rsnap");
    srand(12345);
    for (int i = 0; i < 2000; i++) {
        size_t at = (size_t)rand() % size;
        uint8_t mask = (uint8_t)(1 + rand() % 255);
        buf[at] ^= mask;
        store(path, buf, size);
        expect_read_error(path, " at offset 0x", NULL);
        buf[at] ^= mask;
    }
    free(buf);
}

/* With the CRCs recomputed, random damage inside the sections reaches the
 * decoders: they must never crash or read out of bounds (run under
 * valgrind), and each outcome is a clean error or a valid snapshot. */
static void test_random_damage_with_fixed_crcs(void **state)
{
    rs_snapshot_t s = sample();
    size_t size;
    uint8_t *orig = load(write_ok(&s, "full.rsnap"), &size);
    uint8_t *buf = malloc(size);
    char *path = tmp_path("fuzz.rsnap");
    uint64_t start = RS_SNAP_HEADER_SIZE + RS_SNAP_SECT_KNOWN * RS_SNAP_DIRENT_SIZE;
    int rejected = 0;
    srand(4242);
    for (int i = 0; i < 3000; i++) {
        memcpy(buf, orig, size);
        int flips = 1 + rand() % 4;
        for (int k = 0; k < flips; k++) {
            size_t at = (size_t)(i % 3 ? start + (uint64_t)rand() % (size - start)
                                       : (uint64_t)rand() % size);
            buf[at] = (uint8_t)(rand() % 2 ? rand() : buf[at] ^ 0x80);
        }
        fix_crcs(buf, size);
        store(path, buf, size);
        rs_snapshot_error_t err = { "" };
        rs_snapshot_t *got = rs_snapshot_read(path, &err);
        if (got) {
            rs_snapshot_free(got);
        } else {
            assert_contains(err.message, path);
            rejected++;
        }
    }
    assert_true(rejected > 0);
    free(buf);
    free(orig);
}

static void test_empty_missing_and_directory(void **state)
{
    rs_snapshot_error_t err = { "" };
    char *path = tmp_path("empty.rsnap");
    store(path, (const uint8_t *)"", 0);
    expect_read_error(path, "empty", NULL);
    expect_read_error(tmp_path("missing.rsnap"), "No such file", NULL);
    expect_read_error(tmpdir, "directory", NULL);
    char *fifo = tmp_path("fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    expect_read_error(fifo, "not a regular file", NULL);
    assert_null(rs_snapshot_read(NULL, &err));
    rs_snapshot_free(NULL);
}

static void test_bad_magic(void **state)
{
    char *path = tmp_path("text.rsnap");
    store(path, (const uint8_t *)"hello, this is not a snapshot file at all\n", 42);
    expect_read_error(path, "bad magic", NULL);
}

static void patch_future_version(uint8_t *buf, size_t size)
{
    put(buf + RS_SNAP_OFF_MAJOR, RS_SNAP_VERSION_MAJOR + 1, 2);
}

static void patch_newer_minor(uint8_t *buf, size_t size)
{
    put(buf + RS_SNAP_OFF_MINOR, 77, 2);
}

static void test_versions(void **state)
{
    char version[32];
    snprintf(version, sizeof version, "version %d.%d is newer",
             RS_SNAP_VERSION_MAJOR + 1, RS_SNAP_VERSION_MINOR);
    expect_read_error(patched("future.rsnap", patch_future_version), version,
                      "header at offset 0x8");
    rs_snapshot_error_t err = { "" };
    rs_snapshot_t *got = rs_snapshot_read(patched("minor.rsnap", patch_newer_minor), &err);
    if (!got)
        fail_msg("newer minor version refused: %s", err.message);
    rs_snapshot_t s = sample();
    compare_snapshots(&s, got);
    rs_snapshot_free(got);
}

/* Adds an unknown section (type 99) at the end, as a later minor version
 * would: the reader must skip it. */
static void test_unknown_section_skipped(void **state)
{
    rs_snapshot_t s = sample();
    size_t size;
    uint8_t *old = load(write_ok(&s, "full.rsnap"), &size);
    uint32_t n = (uint32_t)le(old + RS_SNAP_OFF_NSECT, 4);
    size_t dir_end = RS_SNAP_HEADER_SIZE + (size_t)n * RS_SNAP_DIRENT_SIZE;
    const char extra[] = "future data \x01\x02\x03";
    size_t nsize = size + RS_SNAP_DIRENT_SIZE + sizeof extra;
    uint8_t *buf = calloc(1, nsize);
    memcpy(buf, old, dir_end);
    memcpy(buf + dir_end + RS_SNAP_DIRENT_SIZE, old + dir_end, size - dir_end);
    memcpy(buf + size + RS_SNAP_DIRENT_SIZE, extra, sizeof extra);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = buf + RS_SNAP_HEADER_SIZE + i * RS_SNAP_DIRENT_SIZE;
        put(e + RS_SNAP_DIRENT_OFFSET,
            le(e + RS_SNAP_DIRENT_OFFSET, 8) + RS_SNAP_DIRENT_SIZE, 8);
    }
    uint8_t *e = buf + dir_end;
    put(e + RS_SNAP_DIRENT_TYPE, 99, 4);
    put(e + RS_SNAP_DIRENT_OFFSET, size + RS_SNAP_DIRENT_SIZE, 8);
    put(e + RS_SNAP_DIRENT_LENGTH, sizeof extra, 8);
    put(e + RS_SNAP_DIRENT_COUNT, 1, 8);
    put(buf + RS_SNAP_OFF_NSECT, n + 1, 4);
    put(buf + RS_SNAP_OFF_FILESIZE, nsize, 8);
    fix_crcs(buf, nsize);
    char *path = tmp_path("extra.rsnap");
    store(path, buf, nsize);
    rs_snapshot_error_t err = { "" };
    rs_snapshot_t *got = rs_snapshot_read(path, &err);
    if (!got)
        fail_msg("unknown section refused: %s", err.message);
    compare_snapshots(&s, got);
    rs_snapshot_free(got);

    /* ... but its bounds and CRC are still checked. */
    put(e + RS_SNAP_DIRENT_LENGTH, sizeof extra + 1, 8);
    fix_crcs(buf, nsize);
    store(path, buf, nsize);
    char entry[32];
    snprintf(entry, sizeof entry, "directory entry %u", n);
    expect_read_error(path, entry, "outside");
    put(e + RS_SNAP_DIRENT_LENGTH, sizeof extra, 8);
    fix_crcs(buf, nsize);
    buf[nsize - 2] ^= 1;
    store(path, buf, nsize);
    expect_read_error(path, "checksum mismatch", NULL);
    free(buf);
    free(old);
}

static void patch_drop_nodes(uint8_t *buf, size_t size)
{
    put(dirent_of(buf, RS_SNAP_SECT_NODES) + RS_SNAP_DIRENT_TYPE, 99, 4);
}

static void patch_duplicate_types(uint8_t *buf, size_t size)
{
    put(dirent_of(buf, RS_SNAP_SECT_STACKS) + RS_SNAP_DIRENT_TYPE,
        RS_SNAP_SECT_TYPES, 4);
}

static void patch_huge_node_count(uint8_t *buf, size_t size)
{
    put(dirent_of(buf, RS_SNAP_SECT_NODES) + RS_SNAP_DIRENT_COUNT,
        (uint64_t)1 << 31, 8);
}

static void patch_overflowing_count(uint8_t *buf, size_t size)
{
    put(dirent_of(buf, RS_SNAP_SECT_ROOT_EDGES) + RS_SNAP_DIRENT_COUNT,
        UINT64_MAX / 2, 8);
}

/* META is followed by MODULES: taking one of its bytes leaves a byte over. */
static void patch_meta_longer(uint8_t *buf, size_t size)
{
    uint8_t *e = dirent_of(buf, RS_SNAP_SECT_META);
    put(e + RS_SNAP_DIRENT_LENGTH, le(e + RS_SNAP_DIRENT_LENGTH, 8) + 1, 8);
}

/* The sample's node 0 takes 13 bytes (its address 0x1000 two, every other
 * field one), so node 1's address delta is at byte 13 of NODES; a zero
 * delta makes its address equal to node 0's. */
static void patch_unsorted_nodes(uint8_t *buf, size_t size)
{
    uint8_t *nodes = section_of(buf, RS_SNAP_SECT_NODES, NULL);
    assert_int_equal(nodes[13], 0x20);
    nodes[13] = 0;
}

/* Makes the last byte of EDGES a continuation byte: a number that runs
 * past the end of the section. */
static void patch_edges_run_off(uint8_t *buf, size_t size)
{
    uint64_t len;
    uint8_t *edges = section_of(buf, RS_SNAP_SECT_EDGES, &len);
    edges[len - 1] |= 0x80;
}

static void patch_section_crc(uint8_t *buf, size_t size)
{
    /* fix_crcs() runs after this; break the CRC in a second pass */
}

static void test_structural_corruption(void **state)
{
    expect_read_error(patched("nonodes.rsnap", patch_drop_nodes),
                      "no NODES section", NULL);
    expect_read_error(patched("duptypes.rsnap", patch_duplicate_types),
                      "second TYPES section", "directory entry");
    expect_read_error(patched("hugecount.rsnap", patch_huge_node_count),
                      "section NODES at offset 0x", "cannot fit");
    expect_read_error(patched("ovfcount.rsnap", patch_overflowing_count),
                      "section ROOT_EDGES", "cannot fit");
    expect_read_error(patched("metalong.rsnap", patch_meta_longer),
                      "section META", "1 bytes left over");
    expect_read_error(patched("unsorted.rsnap", patch_unsorted_nodes),
                      "section NODES", "node 1 is not above node 0");
    expect_read_error(patched("runoff.rsnap", patch_edges_run_off),
                      "section EDGES", "past the end of the section");

    size_t size;
    char *path = patched("crc.rsnap", patch_section_crc);
    uint8_t *buf = load(path, &size);
    uint64_t len;
    section_of(buf, RS_SNAP_SECT_STACKS, &len)[len / 2] ^= 0x10;
    store(path, buf, size);
    expect_read_error(path, "section STACKS at offset 0x", "checksum mismatch");
    free(buf);
}

/* Semantic errors are produced with the writer itself, which leaves index
 * ranges to the reader. */
static void expect_semantic_error(const rs_snapshot_t *s, const char *sect,
                                  const char *what)
{
    char *path = write_ok(s, "semantic.rsnap");
    expect_read_error(path, sect, what);
}

static void test_semantic_corruption(void **state)
{
    rs_snapshot_t s = sample();
    rs_node_t nv[5];
    rs_edge_t ev[5];
    rs_root_t rv[5];
    rs_root_edge_t rev[4];

#define RESET()                                                              \
    do {                                                                     \
        s = sample();                                                        \
        memcpy(nv, nodes, sizeof nv);                                        \
        memcpy(ev, edges, sizeof ev);                                        \
        memcpy(rv, roots, sizeof rv);                                        \
        memcpy(rev, root_edges, sizeof rev);                                 \
        s.heap.nodes = nv;                                                   \
        s.heap.edges = ev;                                                   \
        s.heap.roots = rv;                                                   \
        s.heap.root_edges = rev;                                             \
    } while (0)

    RESET();
    nv[2].stack_id = 99;
    expect_semantic_error(&s, "section NODES at offset 0x",
                          "node 2 has stack id 99 but only 3 stacks");
    RESET();
    nv[4].type_id = 4;
    expect_semantic_error(&s, "section NODES", "node 4 has type id 4 but only 3 types");
    RESET();
    nv[0].rc_width = 3;
    expect_semantic_error(&s, "section NODES", "counter width 3");
    RESET();
    nv[1].cls = RS_CLASS_COUNT;
    expect_semantic_error(&s, "section NODES", "node 1 has class 6");
    RESET();
    nv[1].size = 0x61;                        /* into node 2, at 0x1080 */
    expect_semantic_error(&s, "section NODES", "node 2 starts inside node 1");
    RESET();
    nv[4].size = 9;
    expect_semantic_error(&s, "section NODES", "node 4 ends beyond the address space");
    RESET();
    nv[3].size = UINT64_MAX;
    expect_semantic_error(&s, "section NODES", "node 3 ends beyond the address space");
    RESET();
    s.summary.by_class[RS_CLASS_LEAKED].blocks++;  /* a SUMMARY denying the nodes */
    expect_semantic_error(&s, "section SUMMARY", "the leaked total says");
    RESET();
    nv[4].owner = 5;
    expect_semantic_error(&s, "section NODES", "charged to node 5 but only 5 nodes");
    RESET();
    ev[3].dst = 5;
    expect_semantic_error(&s, "section EDGES", "edge 0 of node 3 points to node 5");
    RESET();
    rv[2].kind = 0;
    expect_semantic_error(&s, "section ROOTS", "root 2 has unknown kind 0");
    RESET();
    rv[2].kind = RS_ROOT_KIND_LAST + 1;
    expect_semantic_error(&s, "section ROOTS", "root 2 has unknown kind 9");
    RESET();
    rv[0].module = 3;
    expect_semantic_error(&s, "section ROOTS", "root 0 names module 3 but only 3");
    RESET();
    rv[3].size = 2;
    expect_semantic_error(&s, "section ROOTS", "root 3 wraps around");
    RESET();
    rev[1].root = 5;
    expect_semantic_error(&s, "section ROOT_EDGES", "root edge 1 comes from root 5");
    RESET();
    rev[3].dst = 7;
    expect_semantic_error(&s, "section ROOT_EDGES", "root edge 3 points to node 7");
#undef RESET
}

/* The error context names the exact byte: the offset printed for a bad
 * stack id is the start of that node's record. */
static void test_error_offset_is_exact(void **state)
{
    rs_snapshot_t s = sample();
    rs_node_t nv[5];
    memcpy(nv, nodes, sizeof nv);
    nv[0].stack_id = 100;
    s.heap.nodes = nv;
    char *path = write_ok(&s, "off.rsnap");
    size_t size;
    uint8_t *buf = load(path, &size);
    char want[64];
    snprintf(want, sizeof want, "at offset 0x%llx: node 0 ",
             (unsigned long long)(section_of(buf, RS_SNAP_SECT_NODES, NULL) - buf));
    expect_read_error(path, want, "stack id 100");
    free(buf);
}

/* ---- the optional sections of format 1.1 ------------------------------- */

/* history.event_start NULL and event_start with no events are different
 * facts ("not kept" and "kept, nothing happened") and both survive. */
static void test_round_trip_history_variants(void **state)
{
    rs_snapshot_error_t err = { "" };
    rs_snapshot_t s = sample_without_refcounting();
    rs_snapshot_t *got = rs_snapshot_read(write_ok(&s, "none.rsnap"), &err);
    if (!got)
        fail_msg("read failed: %s", err.message);
    assert_null(got->history.event_start);
    assert_null(got->history.events);
    assert_null(got->rc_errors);
    compare_snapshots(&s, got);
    rs_snapshot_free(got);

    uint32_t zeros[6] = { 0 };
    s.history.event_start = zeros;
    got = rs_snapshot_read(write_ok(&s, "zero.rsnap"), &err);
    if (!got)
        fail_msg("read failed: %s", err.message);
    assert_non_null(got->history.event_start);
    compare_snapshots(&s, got);
    rs_snapshot_free(got);
}

/* A file without RC_HISTORY and RC_ERRORS, as every 1.0 writer made, reads
 * with no history and no errors; so does a file whose new sections have a
 * type this reader does not know (what a 1.0 reader sees of a 1.1 file). */
static void patch_version_1_0(uint8_t *buf, size_t size)
{
    put(buf + RS_SNAP_OFF_MINOR, 0, 2);
}

static void patch_hide_refcounting(uint8_t *buf, size_t size)
{
    put(dirent_of(buf, RS_SNAP_SECT_RC_HISTORY) + RS_SNAP_DIRENT_TYPE, 98, 4);
    put(dirent_of(buf, RS_SNAP_SECT_RC_ERRORS) + RS_SNAP_DIRENT_TYPE, 99, 4);
    put(dirent_of(buf, RS_SNAP_SECT_THREAD_FRAMES) + RS_SNAP_DIRENT_TYPE, 12, 4);
    put(dirent_of(buf, RS_SNAP_SECT_WEAK_EDGES) + RS_SNAP_DIRENT_TYPE, 97, 4);
}

static void test_old_files_read(void **state)
{
    rs_snapshot_error_t err = { "" };
    rs_snapshot_t old = sample_without_refcounting();
    size_t size;
    char *path = write_ok(&old, "old.rsnap");
    uint8_t *buf = load(path, &size);
    assert_int_equal(le(buf + RS_SNAP_OFF_NSECT, 4), RS_SNAP_SECT_REQUIRED);
    patch_version_1_0(buf, size);
    fix_crcs(buf, size);
    store(path, buf, size);
    free(buf);
    rs_snapshot_t *got = rs_snapshot_read(path, &err);
    if (!got)
        fail_msg("1.0 file refused: %s", err.message);
    compare_snapshots(&old, got);
    rs_snapshot_free(got);

    got = rs_snapshot_read(patched("hidden.rsnap", patch_hide_refcounting), &err);
    if (!got)
        fail_msg("file with unknown sections refused: %s", err.message);
    compare_snapshots(&old, got);
    rs_snapshot_free(got);
}

static void patch_duplicate_history(uint8_t *buf, size_t size)
{
    put(dirent_of(buf, RS_SNAP_SECT_RC_ERRORS) + RS_SNAP_DIRENT_TYPE,
        RS_SNAP_SECT_RC_HISTORY, 4);
}

static void patch_huge_event_count(uint8_t *buf, size_t size)
{
    put(dirent_of(buf, RS_SNAP_SECT_RC_HISTORY) + RS_SNAP_DIRENT_COUNT,
        UINT32_MAX, 8);
}

static void patch_one_event_more(uint8_t *buf, size_t size)
{
    uint8_t *e = dirent_of(buf, RS_SNAP_SECT_RC_HISTORY);
    put(e + RS_SNAP_DIRENT_COUNT, le(e + RS_SNAP_DIRENT_COUNT, 8) + 1, 8);
}

/* The first byte of RC_HISTORY is the number of objects with events. */
static void patch_too_many_objects(uint8_t *buf, size_t size)
{
    uint8_t *h = section_of(buf, RS_SNAP_SECT_RC_HISTORY, NULL);
    assert_int_equal(h[0], 2);
    h[0] = 0x7f;
}

/* ... then node 1's gap (1) and its number of events (4). */
static void patch_zero_events(uint8_t *buf, size_t size)
{
    uint8_t *h = section_of(buf, RS_SNAP_SECT_RC_HISTORY, NULL);
    assert_int_equal(h[1], 1);
    assert_int_equal(h[2], 4);
    h[2] = 0;
}

static void patch_gap_past_nodes(uint8_t *buf, size_t size)
{
    uint8_t *h = section_of(buf, RS_SNAP_SECT_RC_HISTORY, NULL);
    h[1] = 5;
}

static void patch_errors_run_off(uint8_t *buf, size_t size)
{
    uint64_t len;
    uint8_t *x = section_of(buf, RS_SNAP_SECT_RC_ERRORS, &len);
    x[len - 1] |= 0x80;
}

static void patch_error_count(uint8_t *buf, size_t size)
{
    put(dirent_of(buf, RS_SNAP_SECT_RC_ERRORS) + RS_SNAP_DIRENT_COUNT, 3, 8);
}

static void test_refcount_structural_corruption(void **state)
{
    expect_read_error(patched("duphist.rsnap", patch_duplicate_history),
                      "second RC_HISTORY section", "directory entry");
    expect_read_error(patched("hugeev.rsnap", patch_huge_event_count),
                      "section RC_HISTORY at offset 0x", "cannot fit");
    expect_read_error(patched("oneev.rsnap", patch_one_event_more),
                      "section RC_HISTORY", "objects have 6 events but the "
                      "count is 7");
    expect_read_error(patched("manyobj.rsnap", patch_too_many_objects),
                      "section RC_HISTORY", "127 objects with events but only "
                      "5 nodes");
    expect_read_error(patched("zeroev.rsnap", patch_zero_events),
                      "section RC_HISTORY", "node 1 has 0 events");
    expect_read_error(patched("gap.rsnap", patch_gap_past_nodes),
                      "section RC_HISTORY", "names node 5 but only 5 nodes");
    expect_read_error(patched("erroff.rsnap", patch_errors_run_off),
                      "section RC_ERRORS", "past the end of the section");
    expect_read_error(patched("errcount.rsnap", patch_error_count),
                      "section RC_ERRORS", "bytes left over");
}

static void test_refcount_semantic_corruption(void **state)
{
    rs_snapshot_t s;
    uint32_t es[6];
    rs_ref_event_t ev[6];
    rs_rc_error_t xv[4];

#define RESET()                                                              \
    do {                                                                     \
        s = sample();                                                        \
        memcpy(es, event_start, sizeof es);                                  \
        memcpy(ev, events, sizeof ev);                                       \
        memcpy(xv, rc_errors, sizeof xv);                                    \
        s.history.event_start = es;                                          \
        s.history.events = ev;                                               \
        s.rc_errors = xv;                                                    \
    } while (0)

    RESET();
    es[1] = 1;     /* node 0, a plain block, gets node 1's first event */
    expect_semantic_error(&s, "section RC_HISTORY at offset 0x",
                          "node 0 has reference events but is not refcounted");
    RESET();
    es[3] = 5;    /* node 3 (flags IGNORED) gets node 2's last event */
    expect_semantic_error(&s, "section RC_HISTORY",
                          "node 3 has reference events but is not refcounted");
    RESET();
    ev[2].op = 0;
    expect_semantic_error(&s, "section RC_HISTORY", "event 2 of node 1 has op 0");
    RESET();
    ev[5].stack_id = 4;
    expect_semantic_error(&s, "section RC_HISTORY",
                          "event 1 of node 2 has stack id 4 but only 3 stacks");
    RESET();
    xv[1].kind = 0;
    expect_semantic_error(&s, "section RC_ERRORS",
                          "refcount error 1 has unknown kind 0");
    RESET();
    xv[3].kind = RS_RC_ERROR_KIND_COUNT;
    expect_semantic_error(&s, "section RC_ERRORS",
                          "refcount error 3 has unknown kind 5");
    RESET();
    xv[0].type_id = 4;
    expect_semantic_error(&s, "section RC_ERRORS",
                          "refcount error 0 has type id 4 but only 3 types");
    RESET();
    xv[2].stack_id = 4;
    expect_semantic_error(&s, "section RC_ERRORS",
                          "refcount error 2 has stack id 4 but only 3 stacks");
    RESET();
    xv[2].other_stack_id = 9;
    expect_semantic_error(&s, "section RC_ERRORS",
                          "refcount error 2 has other stack id 9");
#undef RESET
}

/* The offset named for a bad event is that of its tag: RC_HISTORY starts
 * with the object count, node 1's gap and its event count, one byte each. */
static void test_event_error_offset_is_exact(void **state)
{
    rs_snapshot_t s = sample();
    rs_ref_event_t ev[6];
    memcpy(ev, events, sizeof ev);
    ev[0].op = 0;
    s.history.events = ev;
    char *path = write_ok(&s, "evoff.rsnap");
    size_t size;
    uint8_t *buf = load(path, &size);
    char want[64];
    uint8_t *h = section_of(buf, RS_SNAP_SECT_RC_HISTORY, NULL);
    snprintf(want, sizeof want, "at offset 0x%llx: event 0 of node 1 ",
             (unsigned long long)(h + 3 - buf));
    expect_read_error(path, want, "op 0");
    free(buf);
}

static void test_write_refuses_bad_history(void **state)
{
    rs_snapshot_error_t err = { "" };
    rs_snapshot_t s = sample();
    uint32_t es[6] = { 0, 0, 4, 3, 6, 6 };
    s.history.event_start = es;
    assert_int_equal(rs_snapshot_write(&s, tmp_path("a.rsnap"), &err), -1);
    assert_contains(err.message, "event_start is not monotone");

    s = sample();
    s.history.n_events = 5;
    assert_int_equal(rs_snapshot_write(&s, tmp_path("b.rsnap"), &err), -1);
    assert_contains(err.message, "event_start does not run from 0 to n_events");

    s = sample();
    rs_ref_event_t ev[6];
    memcpy(ev, events, sizeof ev);
    ev[3].op = 4;
    s.history.events = ev;
    assert_int_equal(rs_snapshot_write(&s, tmp_path("c.rsnap"), &err), -1);
    assert_contains(err.message, "op above 3");

    s = sample();
    s.history.events = NULL;
    assert_int_equal(rs_snapshot_write(&s, tmp_path("d.rsnap"), &err), -1);
    assert_contains(err.message, "no events");

    s = sample();
    s.history.event_start = NULL;
    assert_int_equal(rs_snapshot_write(&s, tmp_path("e.rsnap"), &err), -1);
    assert_contains(err.message, "no event_start");

    s = sample();
    s.rc_errors = NULL;
    assert_int_equal(rs_snapshot_write(&s, tmp_path("f.rsnap"), &err), -1);
    assert_contains(err.message, "NULL");
    assert_int_equal(count_dir_entries(tmpdir), 0);
}

/* ---- helpers --------------------------------------------------------------- */

/* The textbook bitwise CRC-32, one bit at a time. */
static uint32_t crc32_bitwise(uint32_t crc, const uint8_t *p, size_t len)
{
    crc = ~crc;
    while (len--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = crc >> 1 ^ (crc & 1 ? 0xedb88320u : 0);
    }
    return ~crc;
}

/* rs_snapshot_crc32 (folded by carry-less multiplication from 64 bytes
 * where the CPU can) and the slice-by-8 tables alone, against the bitwise
 * CRC: at every alignment and length around the 8-byte stride and the
 * 16- and 64-byte folds, and continued across random splits (a split
 * hands the running value from one way to the other). */
static void test_crc32_matches_bitwise(void **state)
{
    enum { SIZE = 4096 };
    uint8_t *buf = malloc(SIZE + 16);
    srand(99);
    for (int i = 0; i < SIZE + 16; i++)
        buf[i] = (uint8_t)rand();
    for (size_t align = 0; align < 16; align++)
        for (size_t len = 0; len < 300; len++) {
            uint32_t want = crc32_bitwise(0, buf + align, len);
            assert_int_equal(rs_snapshot_crc32(0, buf + align, len), want);
            assert_int_equal(rs_crc32_tables(0, buf + align, len), want);
        }
    for (int i = 0; i < 300; i++) {
        size_t len = (size_t)rand() % SIZE, cut = len ? (size_t)rand() % len : 0;
        uint32_t seed = (uint32_t)rand();
        uint32_t want = crc32_bitwise(seed, buf + 3, len);
        uint32_t part = rs_snapshot_crc32(seed, buf + 3, cut);
        assert_int_equal(rs_snapshot_crc32(part, buf + 3 + cut, len - cut), want);
        part = rs_crc32_tables(seed, buf + 3, cut);
        assert_int_equal(rs_snapshot_crc32(part, buf + 3 + cut, len - cut), want);
        assert_int_equal(rs_crc32_tables(rs_snapshot_crc32(seed, buf + 3, cut),
                                         buf + 3 + cut, len - cut), want);
    }
    free(buf);
}

/* The folded way is the one the two above exercise on this machine (all
 * x86-64 CPUs of the last 15 years have PCLMULQDQ); elsewhere they test
 * the tables twice, which this says. */
static void test_crc32_folds_here(void **state)
{
#if defined(__x86_64__)
    assert_int_equal(rs_crc32_folds(), 1);
#else
    skip();
#endif
}

static void test_crc32_known_value(void **state)
{
    /* The standard check value of CRC-32/ISO-HDLC. */
    assert_int_equal(rs_snapshot_crc32(0, "123456789", 9), 0xcbf43926);
    uint32_t part = rs_snapshot_crc32(0, "12345", 5);
    assert_int_equal(rs_snapshot_crc32(part, "6789", 4), 0xcbf43926);
}

static void test_errorf_formats(void **state)
{
    rs_snapshot_error_t err;
    rs_snapshot_errorf(&err, "%s|%d|%u|%x|%lld|%llu|%zu|%llx|%c|%%", "a", -5,
                       7u, 255u, (long long)INT64_MIN, (unsigned long long)UINT64_MAX,
                       (size_t)12, 0xabcull, 'z');
    assert_string_equal(err.message, "a|-5|7|ff|-9223372036854775808|"
                        "18446744073709551615|12|abc|z|%");
    char longs[600];
    memset(longs, 'x', sizeof longs - 1);
    longs[sizeof longs - 1] = '\0';
    rs_snapshot_errorf(&err, "%s", longs);
    assert_int_equal(strlen(err.message), sizeof err.message - 1);
    rs_snapshot_errorf(NULL, "%s", "ignored");
}

/* ---- THREAD_FRAMES (1.2) ------------------------------------------------- */

/* A 1.1 file: the sample without frames, minor version 1. */
static void test_frames_absent_in_old_files(void **state)
{
    rs_snapshot_error_t err = { "" };
    rs_snapshot_t s = sample();
    s.thread_frames = NULL;
    s.n_thread_frames = 0;
    s.heap.weak_edges = NULL;             /* WEAK_EDGES: since 1.4 */
    size_t size;
    char *path = write_ok(&s, "v11.rsnap");
    uint8_t *buf = load(path, &size);
    assert_int_equal(le(buf + RS_SNAP_OFF_NSECT, 4), RS_SNAP_SECT_REQUIRED + 2);
    put(buf + RS_SNAP_OFF_MINOR, 1, 2);
    fix_crcs(buf, size);
    store(path, buf, size);
    free(buf);
    rs_snapshot_t *got = rs_snapshot_read(path, &err);
    if (!got)
        fail_msg("1.1 file refused: %s", err.message);
    assert_null(got->thread_frames);
    assert_int_equal(got->n_thread_frames, 0);
    compare_snapshots(&s, got);
    rs_snapshot_free(got);
}

/* WEAK_EDGES holds the gaps 1 (edge 1) and 2 (edge 4) of the 5 edges. */
static void patch_weak_edge_past_end(uint8_t *buf, size_t size)
{
    uint64_t len;
    uint8_t *w = section_of(buf, RS_SNAP_SECT_WEAK_EDGES, &len);
    assert_int_equal(len, 2);
    assert_int_equal(w[0], 1);
    assert_int_equal(w[1], 2);
    w[1] = 3;                              /* edge 5 of 0..4 */
}

static void patch_weak_edge_count(uint8_t *buf, size_t size)
{
    put(dirent_of(buf, RS_SNAP_SECT_WEAK_EDGES) + RS_SNAP_DIRENT_COUNT, 6, 8);
}

/* The return address into start_thread, derived from the stacks of the
 * reference events of threads other than the main one: the second
 * outermost frame most of them share. */
static void test_thread_start_pc(void **state)
{
    (void)state;
    const uint64_t clone = 0x7200, start = 0x7300;
    uint64_t main_pcs[] = { 0x1001, 0x1002, 0x1003 };   /* the main thread's */
    uint64_t t1[] = { 0x2001, 0x2002, start, clone };
    uint64_t t2[] = { 0x3001, start, clone };
    uint64_t cut[] = { 0x4001, 0x4002 };               /* cut by the depth  */
    rs_stack_t stacks[] = { { 0, 3, main_pcs }, { 0, 4, t1 }, { 0, 3, t2 }, { 0, 2, cut } };
    rs_ref_event_t events[] = {
        { .stack_id = 1, .thread = 100, .op = RS_REF_CTOR },
        { .stack_id = 2, .thread = 101, .op = RS_REF_INCREF },
        { .stack_id = 3, .thread = 102, .op = RS_REF_DECREF },
        { .stack_id = 4, .thread = 103, .op = RS_REF_INCREF },
        { .stack_id = 9, .thread = 104, .op = RS_REF_INCREF },   /* unknown id */
    };
    rs_snapshot_t snap;
    memset(&snap, 0, sizeof snap);
    snap.proc.pid = 100;
    snap.stacks = stacks;
    snap.n_stacks = 4;
    snap.history.events = events;
    snap.history.n_events = 5;
    assert_int_equal(rs_snapshot_thread_start_pc(&snap), start);
    /* Only the main thread: unknown. */
    snap.history.n_events = 1;
    assert_int_equal(rs_snapshot_thread_start_pc(&snap), 0);
    snap.history.events = NULL;
    snap.history.n_events = 0;
    assert_int_equal(rs_snapshot_thread_start_pc(&snap), 0);
}

static void test_weak_edges_checked(void **state)
{
    expect_read_error(patched("weak_past.rsnap", patch_weak_edge_past_end),
                      "WEAK_EDGES", "weak edge 1 lies past the 5 edges");
    expect_read_error(patched("weak_count.rsnap", patch_weak_edge_count),
                      "WEAK_EDGES", "record count 6 exceeds the limit 5");
}

static void test_python_locations_round_trip(void **state)
{
    rs_snapshot_error_t err = { "" };
    rs_snapshot_t s = sample_python();
    char *path = write_ok(&s, "py.rsnap");
    rs_snapshot_t *got = rs_snapshot_read(path, &err);
    if (!got)
        fail_msg("Python sample refused: %s", err.message);
    compare_snapshots(&s, got);
    assert_int_equal(got->n_pylocs, 2);
    assert_int_equal(got->stacks[3].pcs[1], RS_PYFRAME_TAG | 1);
    assert_string_equal(got->pylocs[1].file, "t\xc3\xbc.py");
    rs_snapshot_free(got);
    /* Without locations there is no section: the sample reads back with none. */
    rs_snapshot_t plain = sample();
    got = rs_snapshot_read(write_ok(&plain, "nopy.rsnap"), &err);
    assert_non_null(got);
    assert_int_equal(got->n_pylocs, 0);
    assert_null(got->pylocs);
    rs_snapshot_free(got);
}

/* PY_LOCATIONS: 0b "Leaky.make" 0a "/src/t.py" 0c, then location 1.
 * Function NULL, and the bytes after read as file "eaky.make", line 10. */
static void patch_py_function_null(uint8_t *buf, size_t size)
{
    uint8_t *p = section_of(buf, RS_SNAP_SECT_PY_LOCATIONS, NULL);
    assert_int_equal(p[0], 11);
    p[0] = 0;
    p[1] = 10;
}

static void patch_py_hidden(uint8_t *buf, size_t size)
{
    put(dirent_of(buf, RS_SNAP_SECT_PY_LOCATIONS) + RS_SNAP_DIRENT_TYPE, 97, 4);
}

static void patch_py_count(uint8_t *buf, size_t size)
{
    put(dirent_of(buf, RS_SNAP_SECT_PY_LOCATIONS) + RS_SNAP_DIRENT_COUNT, 3, 8);
}

static void test_python_locations_checked(void **state)
{
    rs_snapshot_t s = sample_python();
    expect_read_error(patched_from(s, "py_null.rsnap", patch_py_function_null),
                      "PY_LOCATIONS", "Python location 0 has no function name");
    /* without the section (as before 1.5) any pc is taken as it is */
    rs_snapshot_error_t err = { "" };
    rs_snapshot_t *got = rs_snapshot_read(patched_from(s, "py_hidden.rsnap",
                                                       patch_py_hidden), &err);
    if (!got)
        fail_msg("file without PY_LOCATIONS refused: %s", err.message);
    assert_int_equal(got->n_pylocs, 0);
    assert_int_equal(got->stacks[3].pcs[2], RS_PYFRAME_TAG | 0);
    rs_snapshot_free(got);
    expect_read_error(patched_from(s, "py_count.rsnap", patch_py_count),
                      "PY_LOCATIONS", "Python location 2: data runs past the end");
    /* the writer leaves index ranges to the reader */
    s.n_pylocs = 1;
    expect_read_error(write_ok(&s, "py_short.rsnap"), "section STACKS",
                      "stack 3 frame 1 is Python location 1, but the file has 1");
}

static void test_write_refuses_bad_locations(void **state)
{
    rs_snapshot_error_t err = { "" };
    rs_snapshot_t s = sample_python();
    rs_pyloc_t bad[] = { { "f", NULL, 1 }, { "g", "x.py", 2 } };
    s.pylocs = bad;
    assert_int_equal(rs_snapshot_write(&s, tmp_path("badloc.rsnap"), &err), -1);
    assert_contains(err.message, "a Python location has no function or file name");
    s.pylocs = NULL;
    assert_int_equal(rs_snapshot_write(&s, tmp_path("badloc.rsnap"), &err), -1);
    assert_contains(err.message, "an array is NULL but its count is not 0");
}

static void test_write_refuses_bad_frames(void **state)
{
    rs_snapshot_error_t err = { "" };
    rs_snapshot_t s = sample();
    rs_thread_frame_t f[3];
    memcpy(f, thread_frames, sizeof f);
    s.thread_frames = f;
    s.n_thread_frames = 3;
    f[1].depth = 2;
    assert_int_equal(rs_snapshot_write(&s, tmp_path("a.rsnap"), &err), -1);
    assert_contains(err.message, "depth 0 up by one");
    memcpy(f, thread_frames, sizeof f);
    f[2].sp = f[1].sp - 1;
    assert_int_equal(rs_snapshot_write(&s, tmp_path("b.rsnap"), &err), -1);
    assert_contains(err.message, "lower sp");
    memcpy(f, thread_frames, sizeof f);
    f[2] = (rs_thread_frame_t){ 1, 1, 76, 0 };
    assert_int_equal(rs_snapshot_write(&s, tmp_path("c.rsnap"), &err), -1);
    assert_contains(err.message, "rising thread id");
    s.thread_frames = NULL;
    assert_int_equal(rs_snapshot_write(&s, tmp_path("d.rsnap"), &err), -1);
    assert_contains(err.message, "NULL");
    assert_int_equal(count_dir_entries(tmpdir), 0);
}

/* Section bytes: epoch+1 (4), T (2), then thread 77: gap 77, n 3, ... */
static void patch_frames_threads(uint8_t *buf, size_t size)
{
    uint8_t *f = section_of(buf, RS_SNAP_SECT_THREAD_FRAMES, NULL);
    assert_int_equal(f[0], 4);
    assert_int_equal(f[1], 2);
    f[1] = 6;
}

static void patch_frames_zero(uint8_t *buf, size_t size)
{
    uint8_t *f = section_of(buf, RS_SNAP_SECT_THREAD_FRAMES, NULL);
    assert_int_equal(f[2], 77);
    assert_int_equal(f[3], 3);
    f[3] = 0;
}

static void patch_frames_too_many(uint8_t *buf, size_t size)
{
    uint8_t *f = section_of(buf, RS_SNAP_SECT_THREAD_FRAMES, NULL);
    f[3] = 6;
}

static void patch_frames_count(uint8_t *buf, size_t size)
{
    uint8_t *e = dirent_of(buf, RS_SNAP_SECT_THREAD_FRAMES);
    put(e + RS_SNAP_DIRENT_COUNT, 6, 8);
}

static void patch_frames_run_off(uint8_t *buf, size_t size)
{
    uint64_t len;
    uint8_t *f = section_of(buf, RS_SNAP_SECT_THREAD_FRAMES, &len);
    f[len - 1] |= 0x80;
}

static void patch_frames_duplicate(uint8_t *buf, size_t size)
{
    put(dirent_of(buf, RS_SNAP_SECT_RC_ERRORS) + RS_SNAP_DIRENT_TYPE,
        RS_SNAP_SECT_THREAD_FRAMES, 4);
}

static void test_frames_corruption(void **state)
{
    expect_read_error(patched("fthreads.rsnap", patch_frames_threads),
                      "section THREAD_FRAMES at offset 0x", "6 threads but only 5 "
                      "frames");
    expect_read_error(patched("fzero.rsnap", patch_frames_zero),
                      "section THREAD_FRAMES", "thread 77 has 0 frames; between 1 "
                      "and 5 expected");
    expect_read_error(patched("fmany.rsnap", patch_frames_too_many),
                      "section THREAD_FRAMES", "thread 77 has 6 frames");
    expect_read_error(patched("fcount.rsnap", patch_frames_count),
                      "section THREAD_FRAMES", "hold 5 frames but the count is 6");
    expect_read_error(patched("frunoff.rsnap", patch_frames_run_off),
                      "section THREAD_FRAMES", "thread frame 1: number longer");
    expect_read_error(patched("fdup.rsnap", patch_frames_duplicate),
                      "second THREAD_FRAMES section", "directory entry");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thread_start_pc),
        cmocka_unit_test(test_weak_edges_checked),
        cmocka_unit_test(test_crc32_folds_here),
        cmocka_unit_test(test_crc32_known_value),
        cmocka_unit_test(test_crc32_matches_bitwise),
        cmocka_unit_test(test_errorf_formats),
        cmocka_unit_test_setup_teardown(test_round_trip_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_random_graph, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_replaces_existing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_relative_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_missing_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_not_a_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_over_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_refuses_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncation_at_every_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_flips_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_damage_with_fixed_crcs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_missing_and_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_magic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_section_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_structural_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(test_semantic_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_offset_is_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_history_variants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_files_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refcount_structural_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refcount_semantic_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_error_offset_is_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_refuses_bad_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frames_absent_in_old_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_python_locations_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_python_locations_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_refuses_bad_locations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_refuses_bad_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frames_corruption, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
