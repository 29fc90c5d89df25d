/*
 * snapshot_read.c - rs_snapshot_read(): loads and validates a snapshot
 * file written in the format of snapshot_format.h; rs_snapshot_free().
 *
 * The whole file is read into one buffer (read(2), not mmap, so a file
 * truncated under our feet cannot raise SIGBUS).  Then, in order: the
 * header (magic, version, file size, header CRC), the directory (every
 * section inside the file and past the directory, its CRC right, no known
 * type twice, every required type present), and the known sections in
 * dependency order (an optional section that is absent leaves its arrays
 * NULL), each decoded straight into arrays sized from the
 * directory's counts.  No count is trusted before it has been checked
 * against the bytes that must hold it (each record needs at least a known
 * number of bytes), so a bogus count cannot cause a huge allocation, and
 * every multiplication is checked.
 *
 * Decoding uses a cursor with a sticky error: reading past the end of a
 * section or an over-long number marks the cursor bad and yields zeros;
 * callers test the mark once per record and report the first fault.
 * Strings are copied into one arena per section, so the result owns a
 * dozen allocations, never one per node.  Every error message is
 * "<file>: <header|directory entry N|section NAME> at offset 0x...: <what>".
 *
 * rs_snapshot_read_progress() reports how far it got: the file is then
 * read in chunks of READ_CHUNK bytes, each reported, and every section
 * decoded is reported too (see snapshot.h).
 */
#include "snapshot_format.h"

#include "rs_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_BLOCKS 24

/* The snapshot and the list of blocks it owns, allocated together. */
typedef struct owned_snapshot {
    rs_snapshot_t snap;
    uint32_t      n_blocks;
    void         *blocks[MAX_BLOCKS];
} owned_snapshot_t;

typedef struct section {
    uint64_t offset, length, count;
    int      present;
} section_t;

typedef enum { IN_HEADER, IN_DIRENT, IN_SECTION } where_t;

typedef struct reader {
    const char          *path;
    rs_snapshot_error_t *err;
    const uint8_t       *file;
    size_t               size;
    owned_snapshot_t    *out;
    section_t            sect[RS_SNAP_SECT_KNOWN + 1];
    where_t              where;      /* what the next error message blames   */
    uint32_t             where_id;   /* entry number or section type         */
    const rs_snapshot_progress_t *progress; /* or NULL                       */
} reader_t;

typedef enum { CUR_OK, CUR_END, CUR_LONG, CUR_WIDE, CUR_NUL } cur_fault_t;

typedef struct cursor {
    const uint8_t *p, *end;
    cur_fault_t    fault;     /* first fault, CUR_OK if none             */
    const uint8_t *fault_at;
} cursor_t;

/* ---- errors -------------------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static int fail(reader_t *r, uint64_t offset, const char *fmt, ...)
{
    if (r->where == IN_HEADER)
        rs_snapshot_errorf(r->err, "%s: header at offset 0x%llx: ", r->path,
                           (unsigned long long)offset);
    else if (r->where == IN_DIRENT)
        rs_snapshot_errorf(r->err, "%s: directory entry %u at offset 0x%llx: ",
                           r->path, r->where_id, (unsigned long long)offset);
    else
        rs_snapshot_errorf(r->err, "%s: section %s at offset 0x%llx: ", r->path,
                           rs_snapshot_section_name(r->where_id),
                           (unsigned long long)offset);
    va_list ap;
    va_start(ap, fmt);
    rs_snapshot_vappendf(r->err, fmt, ap);
    va_end(ap);
    return -1;
}

static uint64_t offset_of(const reader_t *r, const uint8_t *p)
{
    return (uint64_t)(p - r->file);
}

/* Reports the cursor's fault inside record `index` of kind `what`
 * (UINT64_MAX: the section's only record). */
static int fail_cursor(reader_t *r, const cursor_t *c, const char *what,
                       uint64_t index)
{
    static const char *const why[] = {
        [CUR_OK]   = "internal error",
        [CUR_END]  = "data runs past the end of the section",
        [CUR_LONG] = "number longer than 10 bytes",
        [CUR_WIDE] = "number too large for its field",
        [CUR_NUL]  = "string contains a NUL byte",
    };
    if (index == UINT64_MAX)
        return fail(r, offset_of(r, c->fault_at), "%s: %s", what,
                    why[c->fault]);
    return fail(r, offset_of(r, c->fault_at), "%s %llu: %s", what,
                (unsigned long long)index, why[c->fault]);
}

/* ---- the cursor ---------------------------------------------------------- */

static void cur_fault(cursor_t *c, const uint8_t *at, cur_fault_t f)
{
    if (c->fault == CUR_OK) {
        c->fault = f;
        c->fault_at = at;
    }
    c->p = c->end;
}

static __attribute__((noinline)) uint64_t rd_varint_slow(cursor_t *c)
{
    const uint8_t *p = c->p;
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (p >= c->end) {
            cur_fault(c, c->p, CUR_END);
            return 0;
        }
        uint8_t b = *p++;
        if (shift == 63 && b > 1)
            break;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            c->p = p;
            return v;
        }
    }
    cur_fault(c, c->p, CUR_LONG);
    return 0;
}

/* Hot path: one compare and one load for a one-byte number. */
static inline uint64_t rd_varint(cursor_t *c)
{
    if (__builtin_expect(c->p < c->end && *c->p < 0x80, 1))
        return *c->p++;
    return rd_varint_slow(c);
}

static inline uint64_t rd_max(cursor_t *c, uint64_t max)
{
    const uint8_t *at = c->p;
    uint64_t v = rd_varint(c);
    if (__builtin_expect(v > max, 0)) {
        cur_fault(c, at, CUR_WIDE);
        return 0;
    }
    return v;
}

static inline uint32_t rd_u32(cursor_t *c) { return (uint32_t)rd_max(c, UINT32_MAX); }

static inline int64_t rd_svarint(cursor_t *c) { return rs_snap_unzigzag(rd_varint(c)); }

static int32_t rd_s32(cursor_t *c)
{
    const uint8_t *at = c->p;
    int64_t v = rd_svarint(c);
    if (v < INT32_MIN || v > INT32_MAX) {
        cur_fault(c, at, CUR_WIDE);
        return 0;
    }
    return (int32_t)v;
}

/* Reads an epoch or optional index: stored as (v + 1) mod 2^32. */
static uint32_t rd_plus1(cursor_t *c) { return rd_u32(c) - 1u; }

static void rd_bytes(cursor_t *c, void *dst, size_t n)
{
    if ((size_t)(c->end - c->p) < n) {
        cur_fault(c, c->p, CUR_END);
        return;
    }
    memcpy(dst, c->p, n);
    c->p += n;
}

/* A string arena: strings of one section, NUL-terminated.  A string of
 * L-1 bytes costs at least L bytes of section (its length prefix is at
 * least one byte), so an arena as long as the section always suffices. */
typedef struct arena {
    char  *p;
    size_t left;
} arena_t;

static char *rd_str(cursor_t *c, arena_t *a)
{
    const uint8_t *at = c->p;
    uint64_t len = rd_varint(c);
    if (len-- == 0)
        return NULL;
    if ((uint64_t)(c->end - c->p) < len || a->left < len + 1) {
        cur_fault(c, at, CUR_END);
        return NULL;
    }
    if (memchr(c->p, 0, len)) {
        cur_fault(c, at, CUR_NUL);
        return NULL;
    }
    char *s = a->p;
    memcpy(s, c->p, len);
    s[len] = '\0';
    c->p += len;
    a->p += len + 1;
    a->left -= len + 1;
    return s;
}

/* ---- memory -------------------------------------------------------------- */

/* Allocates n elements of size bytes (at least one byte) owned by the
 * result.  NULL, with the error reported, on overflow or exhaustion. */
static void *keep(reader_t *r, uint64_t n, size_t size)
{
    owned_snapshot_t *o = r->out;
    uint64_t bytes;
    void *p = NULL;
    if (!__builtin_mul_overflow(n, (uint64_t)size, &bytes) && bytes <= SIZE_MAX &&
        o->n_blocks < MAX_BLOCKS)
        p = rs_mem_alloc((size_t)bytes);
    if (!p) {
        fail(r, r->sect[r->where_id].offset,
             "out of memory allocating %llu x %zu bytes",
             (unsigned long long)n, size);
        return NULL;
    }
    o->blocks[o->n_blocks++] = p;
    return p;
}

static int keep_arena(reader_t *r, arena_t *a, uint64_t bytes)
{
    a->p = keep(r, bytes, 1);
    a->left = (size_t)bytes;
    return a->p ? 0 : -1;
}

/* ---- sections ------------------------------------------------------------ */

/* Starts decoding section type: sets the error context and the cursor,
 * checks the count against max and against the bytes its records need
 * (min_bytes each, plus fixed bytes).  Returns 0 or -1. */
static int section_open(reader_t *r, uint32_t type, cursor_t *c, uint64_t max,
                        uint64_t min_bytes, uint64_t fixed)
{
    const section_t *s = &r->sect[type];
    uint64_t need;
    r->where = IN_SECTION;
    r->where_id = type;
    c->p = r->file + s->offset;
    c->end = c->p + s->length;
    c->fault = CUR_OK;
    c->fault_at = NULL;
    if (s->count > max)
        return fail(r, s->offset, "record count %llu exceeds the limit %llu",
                    (unsigned long long)s->count, (unsigned long long)max);
    if (__builtin_mul_overflow(s->count, min_bytes, &need) ||
        __builtin_add_overflow(need, fixed, &need) || need > s->length)
        return fail(r, s->offset, "%llu records cannot fit in %llu bytes",
                    (unsigned long long)s->count, (unsigned long long)s->length);
    return 0;
}

static int section_close(reader_t *r, const cursor_t *c)
{
    if (c->p != c->end)
        return fail(r, offset_of(r, c->p), "%llu bytes left over after the "
                    "last record", (unsigned long long)(c->end - c->p));
    return 0;
}

static int read_meta(reader_t *r)
{
    rs_proc_info_t *p = &r->out->snap.proc;
    cursor_t c;
    arena_t a;
    if (section_open(r, RS_SNAP_SECT_META, &c, 1, 0, 10) < 0)
        return -1;
    if (r->sect[RS_SNAP_SECT_META].count != 1)
        return fail(r, r->sect[RS_SNAP_SECT_META].offset, "count must be 1");
    if (keep_arena(r, &a, r->sect[RS_SNAP_SECT_META].length) < 0)
        return -1;
    p->pid = rd_s32(&c);
    p->ppid = rd_s32(&c);
    p->exit_status = rd_s32(&c);
    p->has_exit_status = (uint8_t)rd_max(&c, 1);
    p->reason = (uint8_t)rd_max(&c, UINT8_MAX);
    p->seq = rd_u32(&c);
    p->time_ns = rd_varint(&c);
    p->exe = rd_str(&c, &a);
    const uint8_t *argc_at = c.p;
    p->argc = rd_u32(&c);
    if (c.fault)
        return fail_cursor(r, &c, "process info", UINT64_MAX);
    if (p->argc > (uint64_t)(c.end - c.p))
        return fail(r, offset_of(r, argc_at), "argc %u but only %llu bytes "
                    "left", p->argc, (unsigned long long)(c.end - c.p));
    p->argv = keep(r, (uint64_t)p->argc + 1, sizeof *p->argv);
    if (!p->argv)
        return -1;
    for (uint32_t i = 0; i < p->argc; i++)
        p->argv[i] = rd_str(&c, &a);
    p->argv[p->argc] = NULL;
    p->label = rd_str(&c, &a);
    if (c.fault)
        return fail_cursor(r, &c, "argv or label", UINT64_MAX);
    return section_close(r, &c);
}

static int read_modules(reader_t *r)
{
    rs_snapshot_t *s = &r->out->snap;
    const section_t *sec = &r->sect[RS_SNAP_SECT_MODULES];
    cursor_t c;
    arena_t a;
    if (section_open(r, RS_SNAP_SECT_MODULES, &c, UINT32_MAX, 6, 1) < 0)
        return -1;
    uint64_t total = rd_varint(&c), used = 0;
    if (c.fault || total > sec->length / 3)
        return fail(r, sec->offset, "total segment count %llu cannot fit in "
                    "%llu bytes", (unsigned long long)total,
                    (unsigned long long)sec->length);
    s->n_modules = (uint32_t)sec->count;
    s->modules = keep(r, sec->count, sizeof *s->modules);
    rs_segment_t *segs = s->modules ? keep(r, total, sizeof *segs) : NULL;
    if (!segs || keep_arena(r, &a, sec->length) < 0)
        return -1;
    for (uint32_t i = 0; i < s->n_modules; i++) {
        rs_module_t *m = &s->modules[i];
        const uint8_t *rec = c.p;
        m->path = rd_str(&c, &a);
        memset(m->build_id, 0, sizeof m->build_id);
        m->build_id_len = (uint8_t)rd_max(&c, RS_SNAP_MAX_BUILD_ID);
        rd_bytes(&c, m->build_id, m->build_id_len);
        m->load_bias = rd_varint(&c);
        m->load_epoch = rd_plus1(&c);
        m->unload_epoch = rd_plus1(&c);
        m->n_segments = rd_u32(&c);
        if (c.fault)
            return fail_cursor(r, &c, "module", i);
        if (m->n_segments > total - used)
            return fail(r, offset_of(r, rec), "module %u has %u segments, more "
                        "than the %llu the section header leaves", i,
                        m->n_segments, (unsigned long long)(total - used));
        m->segments = segs + used;
        for (uint32_t j = 0; j < m->n_segments; j++) {
            rs_segment_t *g = &m->segments[j];
            const uint8_t *at = c.p;
            uint64_t len;
            g->start = rd_varint(&c);
            len = rd_varint(&c);
            g->flags = rd_u32(&c);
            if (c.fault)
                return fail_cursor(r, &c, "module", i);
            if (__builtin_add_overflow(g->start, len, &g->end))
                return fail(r, offset_of(r, at), "module %u segment %u wraps "
                            "around the address space", i, j);
        }
        used += m->n_segments;
    }
    if (used != total)
        return fail(r, sec->offset, "modules have %llu segments but the "
                    "section header says %llu", (unsigned long long)used,
                    (unsigned long long)total);
    return section_close(r, &c);
}

static int read_stacks(reader_t *r)
{
    rs_snapshot_t *s = &r->out->snap;
    const section_t *sec = &r->sect[RS_SNAP_SECT_STACKS];
    cursor_t c;
    if (section_open(r, RS_SNAP_SECT_STACKS, &c, UINT32_MAX, 2, 1) < 0)
        return -1;
    uint64_t total = rd_varint(&c), used = 0;
    if (c.fault || total > sec->length - 2 * sec->count)
        return fail(r, sec->offset, "total frame count %llu cannot fit in "
                    "%llu bytes", (unsigned long long)total,
                    (unsigned long long)sec->length);
    s->n_stacks = (uint32_t)sec->count;
    s->stacks = keep(r, sec->count, sizeof *s->stacks);
    uint64_t *pcs = s->stacks ? keep(r, total, sizeof *pcs) : NULL;
    if (!pcs)
        return -1;
    for (uint32_t i = 0; i < s->n_stacks; i++) {
        rs_stack_t *st = &s->stacks[i];
        const uint8_t *rec = c.p;
        uint64_t pc = 0;
        st->epoch = rd_plus1(&c);
        st->n_frames = rd_u32(&c);
        if (c.fault)
            return fail_cursor(r, &c, "stack", i);
        if (st->n_frames > total - used)
            return fail(r, offset_of(r, rec), "stack %u has %u frames, more "
                        "than the %llu the section header leaves", i,
                        st->n_frames, (unsigned long long)(total - used));
        uint64_t *out = pcs + used;
        for (uint32_t j = 0; j < st->n_frames; j++) {
            pc += (uint64_t)rd_svarint(&c);
            out[j] = pc;
        }
        if (c.fault)
            return fail_cursor(r, &c, "stack", i);
        st->pcs = out;
        used += st->n_frames;
    }
    if (used != total)
        return fail(r, sec->offset, "stacks have %llu frames but the section "
                    "header says %llu", (unsigned long long)used,
                    (unsigned long long)total);
    return section_close(r, &c);
}

static int read_types(reader_t *r)
{
    rs_snapshot_t *s = &r->out->snap;
    const section_t *sec = &r->sect[RS_SNAP_SECT_TYPES];
    cursor_t c;
    arena_t a;
    if (section_open(r, RS_SNAP_SECT_TYPES, &c, UINT32_MAX, 1, 0) < 0)
        return -1;
    s->n_types = (uint32_t)sec->count;
    s->types = keep(r, sec->count, sizeof *s->types);
    if (!s->types || keep_arena(r, &a, sec->length) < 0)
        return -1;
    for (uint32_t i = 0; i < s->n_types; i++) {
        s->types[i] = rd_str(&c, &a);
        if (c.fault)
            return fail_cursor(r, &c, "type", i);
    }
    return section_close(r, &c);
}

/* Semantic checks of one decoded node; rec is its offset in the file. */
static int check_node(reader_t *r, const rs_node_t *n, uint32_t i, uint64_t rec,
                      uint64_t width, uint64_t cls)
{
    const rs_snapshot_t *s = &r->out->snap;
    if (n->stack_id > s->n_stacks)
        return fail(r, rec, "node %u has stack id %u but only %u stacks", i,
                    n->stack_id, s->n_stacks);
    if (n->type_id > s->n_types)
        return fail(r, rec, "node %u has type id %u but only %u types", i,
                    n->type_id, s->n_types);
    if (width > 8 || (width & (width - 1)))
        return fail(r, rec, "node %u has counter width %llu (not 0, 1, 2, 4 "
                    "or 8)", i, (unsigned long long)width);
    if (cls >= RS_CLASS_COUNT)
        return fail(r, rec, "node %u has class %llu but there are only %d "
                    "classes", i, (unsigned long long)cls, RS_CLASS_COUNT);
    if (cls == RS_CLASS_INDIRECT && n->owner != UINT32_MAX &&
        n->owner >= s->heap.n_nodes)
        return fail(r, rec, "indirect node %u is charged to node %u but only "
                    "%u nodes", i, n->owner, s->heap.n_nodes);
    return 0;
}

static int read_nodes(reader_t *r)
{
    rs_heap_t *h = &r->out->snap.heap;
    const section_t *sec = &r->sect[RS_SNAP_SECT_NODES];
    cursor_t c;
    if (section_open(r, RS_SNAP_SECT_NODES, &c, UINT32_MAX, 12, 0) < 0)
        return -1;
    h->n_nodes = (uint32_t)sec->count;
    h->nodes = keep(r, sec->count, sizeof *h->nodes);
    if (!h->nodes)
        return -1;
    uint64_t prev = 0, prev_end = 0;
    for (uint32_t i = 0; i < h->n_nodes; i++) {
        rs_node_t *n = &h->nodes[i];
        const uint8_t *rec = c.p;
        uint64_t delta = rd_varint(&c);
        n->size = rd_varint(&c);
        n->stack_id = rd_u32(&c);
        n->type_id = rd_u32(&c);
        n->flags = rd_u32(&c);
        n->rc_offset = rd_u32(&c);
        uint64_t width = rd_varint(&c);
        uint64_t cls = rd_varint(&c);
        n->owner = rd_plus1(&c);
        n->refcount = rd_svarint(&c);
        n->alloc_tid = rd_u32(&c);
        n->seq = rd_u32(&c);
        if (__builtin_expect(c.fault != CUR_OK, 0))
            return fail_cursor(r, &c, "node", i);
        if (__builtin_add_overflow(prev, delta, &n->addr) || (i && !delta))
            return fail(r, offset_of(r, rec), "node %u is not above node %u in "
                        "address order", i, i - 1);
        /* Blocks (and the objects cut from one) never overlap and lie in
         * the user address space: so any sum of node sizes stays below
         * RS_SNAP_ADDRESS_END, and the byte arithmetic of every reader
         * (diff, trend, findings) cannot overflow. */
        if (i && n->addr < prev_end)
            return fail(r, offset_of(r, rec), "node %u starts inside node %u", i, i - 1);
        if (n->size > RS_SNAP_ADDRESS_END || n->addr > RS_SNAP_ADDRESS_END - n->size)
            return fail(r, offset_of(r, rec), "node %u ends beyond the address "
                        "space (size %llu)", i, (unsigned long long)n->size);
        prev = n->addr;
        prev_end = n->addr + n->size;
        if (check_node(r, n, i, offset_of(r, rec), width, cls) < 0)
            return -1;
        n->rc_width = (uint8_t)width;
        n->cls = (uint8_t)cls;
        n->obj_offset = 0;
    }
    return section_close(r, &c);
}

static int read_edges(reader_t *r)
{
    rs_heap_t *h = &r->out->snap.heap;
    const section_t *sec = &r->sect[RS_SNAP_SECT_EDGES];
    cursor_t c;
    if (section_open(r, RS_SNAP_SECT_EDGES, &c, UINT32_MAX, 2, h->n_nodes) < 0)
        return -1;
    h->n_edges = sec->count;
    h->edge_start = keep(r, (uint64_t)h->n_nodes + 1, sizeof *h->edge_start);
    h->edges = h->edge_start ? keep(r, sec->count, sizeof *h->edges) : NULL;
    if (!h->edges)
        return -1;
    uint64_t e = 0;
    for (uint32_t i = 0; i < h->n_nodes; i++) {
        const uint8_t *rec = c.p;
        uint64_t degree = rd_varint(&c);
        h->edge_start[i] = (uint32_t)e;
        if (c.fault)
            return fail_cursor(r, &c, "edges of node", i);
        if (degree > h->n_edges - e)
            return fail(r, offset_of(r, rec), "node %u has %llu edges, more "
                        "than the %llu the count leaves", i,
                        (unsigned long long)degree,
                        (unsigned long long)(h->n_edges - e));
        uint64_t off = 0;
        for (uint64_t k = 0; k < degree; k++, e++) {
            const uint8_t *at = c.p;
            uint64_t dst = (uint64_t)i + (uint64_t)rd_svarint(&c);
            off += (uint64_t)rd_svarint(&c);
            if (__builtin_expect(c.fault != CUR_OK, 0))
                return fail_cursor(r, &c, "edges of node", i);
            if (__builtin_expect(dst >= h->n_nodes, 0))
                return fail(r, offset_of(r, at), "edge %llu of node %u points "
                            "to node %lld but only %u nodes", (unsigned long long)k,
                            i, (long long)dst, h->n_nodes);
            if (__builtin_expect(off > UINT32_MAX, 0))
                return fail(r, offset_of(r, at), "edge %llu of node %u has "
                            "offset %llu, beyond 32 bits", (unsigned long long)k,
                            i, (unsigned long long)off);
            h->edges[e].dst = (uint32_t)dst;
            h->edges[e].offset = (uint32_t)off;
        }
    }
    h->edge_start[h->n_nodes] = (uint32_t)e;
    if (e != h->n_edges)
        return fail(r, sec->offset, "node degrees add up to %llu edges but the "
                    "count is %llu", (unsigned long long)e,
                    (unsigned long long)h->n_edges);
    return section_close(r, &c);
}

static int read_roots(reader_t *r)
{
    const rs_snapshot_t *s = &r->out->snap;
    rs_heap_t *h = &r->out->snap.heap;
    const section_t *sec = &r->sect[RS_SNAP_SECT_ROOTS];
    cursor_t c;
    if (section_open(r, RS_SNAP_SECT_ROOTS, &c, UINT32_MAX, 5, 0) < 0)
        return -1;
    h->n_roots = (uint32_t)sec->count;
    h->roots = keep(r, sec->count, sizeof *h->roots);
    if (!h->roots)
        return -1;
    for (uint32_t i = 0; i < h->n_roots; i++) {
        rs_root_t *rt = &h->roots[i];
        const uint8_t *rec = c.p;
        uint64_t end;
        rt->start = rd_varint(&c);
        rt->size = rd_varint(&c);
        rt->kind = rd_u32(&c);
        rt->module = rd_plus1(&c);
        rt->tid = rd_u32(&c);
        rt->flags = 0;
        if (c.fault)
            return fail_cursor(r, &c, "root", i);
        if (__builtin_add_overflow(rt->start, rt->size, &end))
            return fail(r, offset_of(r, rec), "root %u wraps around the "
                        "address space", i);
        if (rt->kind < RS_ROOT_GLOBAL || rt->kind > RS_ROOT_KIND_LAST)
            return fail(r, offset_of(r, rec), "root %u has unknown kind %u",
                        i, rt->kind);
        if (rt->module != UINT32_MAX && rt->module >= s->n_modules)
            return fail(r, offset_of(r, rec), "root %u names module %u but "
                        "only %u modules", i, rt->module, s->n_modules);
    }
    return section_close(r, &c);
}

static int read_root_edges(reader_t *r)
{
    rs_heap_t *h = &r->out->snap.heap;
    const section_t *sec = &r->sect[RS_SNAP_SECT_ROOT_EDGES];
    cursor_t c;
    if (section_open(r, RS_SNAP_SECT_ROOT_EDGES, &c, UINT64_MAX, 3, 0) < 0)
        return -1;
    h->n_root_edges = sec->count;
    h->root_edges = keep(r, sec->count, sizeof *h->root_edges);
    if (!h->root_edges)
        return -1;
    for (uint64_t i = 0; i < h->n_root_edges; i++) {
        rs_root_edge_t *re = &h->root_edges[i];
        const uint8_t *rec = c.p;
        re->root = rd_u32(&c);
        re->dst = rd_u32(&c);
        re->offset = rd_varint(&c);
        if (c.fault)
            return fail_cursor(r, &c, "root edge", i);
        if (re->root >= h->n_roots)
            return fail(r, offset_of(r, rec), "root edge %llu comes from root "
                        "%u but only %u roots", (unsigned long long)i,
                        re->root, h->n_roots);
        if (re->dst >= h->n_nodes)
            return fail(r, offset_of(r, rec), "root edge %llu points to node "
                        "%u but only %u nodes", (unsigned long long)i, re->dst,
                        h->n_nodes);
    }
    return section_close(r, &c);
}

static int read_summary(reader_t *r)
{
    rs_summary_t *s = &r->out->snap.summary;
    cursor_t c;
    if (section_open(r, RS_SNAP_SECT_SUMMARY, &c, 1, 0, 2 * RS_CLASS_COUNT + 3) < 0)
        return -1;
    if (r->sect[RS_SNAP_SECT_SUMMARY].count != 1)
        return fail(r, r->sect[RS_SNAP_SECT_SUMMARY].offset, "count must be 1");
    for (int k = 0; k < RS_CLASS_COUNT; k++) {
        s->by_class[k].bytes = rd_varint(&c);
        s->by_class[k].blocks = rd_varint(&c);
    }
    s->cycle_groups = rd_u32(&c);
    s->leaked_refs = rd_varint(&c);
    s->rc_errors = rd_u32(&c);
    if (c.fault)
        return fail_cursor(r, &c, "summary", UINT64_MAX);
    /* The per-class totals are the nodes' (rs_summary_count, read after
     * NODES): a report would print findings and a SUMMARY that denies
     * them. */
    rs_summary_t counted = *s;
    rs_summary_count(&r->out->snap.heap, &counted);
    for (int k = 0; k < RS_CLASS_COUNT; k++)
        if (counted.by_class[k].bytes != s->by_class[k].bytes ||
            counted.by_class[k].blocks != s->by_class[k].blocks)
            return fail(r, r->sect[RS_SNAP_SECT_SUMMARY].offset, "the %s total "
                        "says %llu bytes in %llu blocks, the nodes hold %llu in %llu",
                        rs_class_name((rs_class_t)k),
                        (unsigned long long)s->by_class[k].bytes,
                        (unsigned long long)s->by_class[k].blocks,
                        (unsigned long long)counted.by_class[k].bytes,
                        (unsigned long long)counted.by_class[k].blocks);
    return section_close(r, &c);
}

/* Decodes the n events of one node into out; the cursor is at the first
 * event's tag.  Returns 0 or -1. */
static int read_events(reader_t *r, cursor_t *c, rs_ref_event_t *out,
                       uint64_t n, uint32_t node)
{
    uint32_t n_stacks = r->out->snap.n_stacks, seq = 0, thread = 0;
    for (uint64_t k = 0; k < n; k++) {
        const uint8_t *at = c->p;
        uint64_t tag = rd_varint(c);
        seq += rd_u32(c);
        if (!(tag & RS_SNAP_EVENT_SAME_THREAD))
            thread = (uint32_t)rd_max(c, UINT16_MAX);
        if (__builtin_expect(c->fault != CUR_OK, 0))
            return fail_cursor(r, c, "reference events of node", node);
        uint64_t op = tag & RS_SNAP_EVENT_OP_MASK;
        uint64_t stack = tag >> RS_SNAP_EVENT_STACK_SHIFT;
        if (op < RS_REF_CTOR)
            return fail(r, offset_of(r, at), "event %llu of node %u has op %llu "
                        "(not ctor, incref or decref)", (unsigned long long)k,
                        node, (unsigned long long)op);
        if (stack > n_stacks)
            return fail(r, offset_of(r, at), "event %llu of node %u has stack "
                        "id %llu but only %u stacks", (unsigned long long)k,
                        node, (unsigned long long)stack, n_stacks);
        out[k] = (rs_ref_event_t){ .stack_id = (uint32_t)stack, .seq = seq,
                                   .thread = (uint16_t)thread,
                                   .op = (uint8_t)op };
    }
    return 0;
}

/* Checks RC_HISTORY's record count against the nodes, the events and the
 * bytes; each record takes 2 bytes at least, each event 2. */
static int check_history_records(reader_t *r, uint64_t records)
{
    const section_t *sec = &r->sect[RS_SNAP_SECT_RC_HISTORY];
    uint32_t n_nodes = r->out->snap.heap.n_nodes;
    if (records > n_nodes)
        return fail(r, sec->offset, "%llu objects with events but only %u "
                    "nodes", (unsigned long long)records, n_nodes);
    if (records > sec->count)
        return fail(r, sec->offset, "%llu objects with events but only %llu "
                    "events", (unsigned long long)records,
                    (unsigned long long)sec->count);
    if (2 * records + 2 * sec->count + 1 > sec->length)
        return fail(r, sec->offset, "%llu objects with %llu events cannot fit "
                    "in %llu bytes", (unsigned long long)records,
                    (unsigned long long)sec->count,
                    (unsigned long long)sec->length);
    return 0;
}

/* RC_HISTORY: sparse per-node records, expanded back into the CSR arrays.
 * Postcondition on success: event_start has n_nodes + 1 monotone entries
 * from 0 to n_events, and events sit only on refcounted nodes. */
static int read_history(reader_t *r)
{
    rs_snapshot_t *s = &r->out->snap;
    rs_ref_history_t *hist = &s->history;
    const section_t *sec = &r->sect[RS_SNAP_SECT_RC_HISTORY];
    uint32_t n_nodes = s->heap.n_nodes;
    cursor_t c;
    if (!sec->present)
        return 0;                 /* no history: event_start stays NULL */
    if (section_open(r, RS_SNAP_SECT_RC_HISTORY, &c, UINT32_MAX, 2, 1) < 0)
        return -1;
    uint64_t records = rd_varint(&c);
    if (c.fault)
        return fail_cursor(r, &c, "object count", UINT64_MAX);
    if (check_history_records(r, records) < 0)
        return -1;
    hist->n_events = sec->count;
    hist->event_start = keep(r, (uint64_t)n_nodes + 1, sizeof *hist->event_start);
    hist->events = hist->event_start ? keep(r, sec->count, sizeof *hist->events)
                                     : NULL;
    if (!hist->events)
        return -1;
    uint64_t e = 0, next = 0;     /* event_start[0..next) are filled */
    for (uint64_t k = 0; k < records; k++) {
        const uint8_t *rec = c.p;
        uint64_t gap = rd_varint(&c);
        uint64_t n = rd_varint(&c);
        if (c.fault)
            return fail_cursor(r, &c, "history record", k);
        if (gap >= n_nodes - next)
            return fail(r, offset_of(r, rec), "history record %llu names node "
                        "%llu but only %u nodes", (unsigned long long)k,
                        (unsigned long long)(next + gap), n_nodes);
        uint32_t node = (uint32_t)(next + gap);
        if (!(s->heap.nodes[node].flags & RS_NODE_REFCOUNTED))
            return fail(r, offset_of(r, rec), "node %u has reference events "
                        "but is not refcounted", node);
        if (n == 0 || n > hist->n_events - e)
            return fail(r, offset_of(r, rec), "node %u has %llu events (at "
                        "least 1 and at most the %llu the count leaves)", node,
                        (unsigned long long)n,
                        (unsigned long long)(hist->n_events - e));
        while (next <= node)
            hist->event_start[next++] = (uint32_t)e;
        if (read_events(r, &c, hist->events + e, n, node) < 0)
            return -1;
        e += n;
    }
    while (next <= n_nodes)
        hist->event_start[next++] = (uint32_t)e;
    if (e != hist->n_events)
        return fail(r, sec->offset, "objects have %llu events but the count "
                    "is %llu", (unsigned long long)e,
                    (unsigned long long)hist->n_events);
    return section_close(r, &c);
}

/* Semantic checks of one decoded refcount error at rec. */
static int check_rc_error(reader_t *r, const rs_rc_error_t *x, uint32_t i,
                          uint64_t rec)
{
    const rs_snapshot_t *s = &r->out->snap;
    if (x->kind < RS_RC_DECREF_UNKNOWN || x->kind >= RS_RC_ERROR_KIND_COUNT)
        return fail(r, rec, "refcount error %u has unknown kind %u", i, x->kind);
    if (x->type_id > s->n_types)
        return fail(r, rec, "refcount error %u has type id %u but only %u "
                    "types", i, x->type_id, s->n_types);
    if (x->stack_id > s->n_stacks || x->other_stack_id > s->n_stacks)
        return fail(r, rec, "refcount error %u has %sstack id %u but only %u "
                    "stacks", i, x->stack_id > s->n_stacks ? "" : "other ",
                    x->stack_id > s->n_stacks ? x->stack_id : x->other_stack_id,
                    s->n_stacks);
    return 0;
}

static int read_rc_errors(reader_t *r)
{
    rs_snapshot_t *s = &r->out->snap;
    const section_t *sec = &r->sect[RS_SNAP_SECT_RC_ERRORS];
    cursor_t c;
    if (!sec->present)
        return 0;                 /* no errors: rc_errors stays NULL */
    if (section_open(r, RS_SNAP_SECT_RC_ERRORS, &c, UINT32_MAX, 7, 0) < 0)
        return -1;
    s->n_rc_errors = (uint32_t)sec->count;
    s->rc_errors = keep(r, sec->count, sizeof *s->rc_errors);
    if (!s->rc_errors)
        return -1;
    uint64_t addr = 0;
    for (uint32_t i = 0; i < s->n_rc_errors; i++) {
        rs_rc_error_t *x = &s->rc_errors[i];
        const uint8_t *rec = c.p;
        x->kind = rd_u32(&c);
        x->type_id = rd_u32(&c);
        addr += (uint64_t)rd_svarint(&c);
        x->addr = addr;
        x->count = rd_svarint(&c);
        x->stack_id = rd_u32(&c);
        x->other_stack_id = rd_u32(&c);
        x->tid = rd_u32(&c);
        x->reserved = 0;
        if (c.fault)
            return fail_cursor(r, &c, "refcount error", i);
        if (check_rc_error(r, x, i, offset_of(r, rec)) < 0)
            return -1;
    }
    return section_close(r, &c);
}

/* One thread's n frames, at most left; sp never goes down. */
static int read_thread(reader_t *r, cursor_t *c, uint32_t tid, rs_thread_frame_t *out,
                       uint32_t n)
{
    uint64_t pc = 0, sp = 0;
    for (uint32_t k = 0; k < n; k++) {
        const uint8_t *rec = c->p;
        pc += (uint64_t)rd_svarint(c);
        uint64_t d = rd_varint(c);
        if (c->fault)
            return fail_cursor(r, c, "thread frame", k);
        if (sp + d < sp)
            return fail(r, offset_of(r, rec), "frame %u of thread %u: stack "
                        "pointer overflows", k, tid);
        sp += d;
        out[k] = (rs_thread_frame_t){ .pc = pc, .sp = sp, .tid = tid, .depth = k };
    }
    return 0;
}

static int read_thread_frames(reader_t *r)
{
    rs_snapshot_t *s = &r->out->snap;
    const section_t *sec = &r->sect[RS_SNAP_SECT_THREAD_FRAMES];
    cursor_t c;
    if (!sec->present)
        return 0;                 /* no frames known: thread_frames NULL */
    if (section_open(r, RS_SNAP_SECT_THREAD_FRAMES, &c, UINT32_MAX, 2, 2) < 0)
        return -1;
    s->frames_epoch = rd_plus1(&c);
    const uint8_t *at = c.p;
    uint64_t threads = rd_varint(&c);
    if (c.fault)
        return fail_cursor(r, &c, "thread count", UINT64_MAX);
    if (threads > sec->count)
        return fail(r, offset_of(r, at), "%llu threads but only %llu frames",
                    (unsigned long long)threads, (unsigned long long)sec->count);
    s->thread_frames = keep(r, sec->count, sizeof *s->thread_frames);
    if (!s->thread_frames)
        return -1;
    uint64_t tid = 0, done = 0;
    for (uint64_t t = 0; t < threads; t++) {
        const uint8_t *rec = c.p;
        uint64_t gap = rd_varint(&c), n = rd_varint(&c);
        if (c.fault)
            return fail_cursor(r, &c, "thread", t);
        if (gap <= UINT32_MAX)
            tid = t ? tid + gap + 1 : gap;
        if (gap > UINT32_MAX || tid > UINT32_MAX)
            return fail(r, offset_of(r, rec), "thread %llu has a thread id "
                        "above 2^32-1", (unsigned long long)t);
        if (n == 0 || n > sec->count - done)
            return fail(r, offset_of(r, rec), "thread %u has %llu frames; "
                        "between 1 and %llu expected", (uint32_t)tid,
                        (unsigned long long)n,
                        (unsigned long long)(sec->count - done));
        if (read_thread(r, &c, (uint32_t)tid, s->thread_frames + done, (uint32_t)n) < 0)
            return -1;
        done += n;
    }
    if (done != sec->count)
        return fail(r, sec->offset, "the threads hold %llu frames but the "
                    "count is %llu", (unsigned long long)done,
                    (unsigned long long)sec->count);
    s->n_thread_frames = (uint32_t)done;
    return section_close(r, &c);
}

static int read_weak_edges(reader_t *r)
{
    rs_snapshot_t *s = &r->out->snap;
    const section_t *sec = &r->sect[RS_SNAP_SECT_WEAK_EDGES];
    cursor_t c;
    if (!sec->present)
        return 0;                 /* every edge a reference: weak_edges NULL */
    if (section_open(r, RS_SNAP_SECT_WEAK_EDGES, &c, s->heap.n_edges, 1, 0) < 0)
        return -1;
    uint64_t *bits = keep(r, (s->heap.n_edges + 63) / 64 + 1, sizeof *bits);
    if (!bits)
        return -1;
    memset(bits, 0, ((s->heap.n_edges + 63) / 64 + 1) * sizeof *bits);
    uint64_t e = UINT64_MAX;
    for (uint64_t k = 0; k < sec->count; k++) {
        const uint8_t *at = c.p;
        uint64_t gap = rd_varint(&c);
        if (c.fault)
            return fail_cursor(r, &c, "weak edge", k);
        if (gap >= s->heap.n_edges - (e + 1))
            return fail(r, offset_of(r, at), "weak edge %llu lies past the %llu "
                        "edges", (unsigned long long)k,
                        (unsigned long long)s->heap.n_edges);
        e += gap + 1;
        bits[e / 64] |= 1ull << (e % 64);
    }
    s->heap.weak_edges = bits;
    return section_close(r, &c);
}

/* Every Python frame of every stack names one of the n_pylocs locations
 * (checked when PY_LOCATIONS is present: a file without it, every file
 * before 1.5, may hold any pc, and a symbolizer shows a tagged one it
 * cannot name as an unknown Python frame). */
static int check_python_frames(reader_t *r)
{
    const rs_snapshot_t *s = &r->out->snap;
    for (uint32_t i = 0; i < s->n_stacks; i++)
        for (uint32_t j = 0; j < s->stacks[i].n_frames; j++) {
            uint64_t pc = s->stacks[i].pcs[j];
            if (!rs_pc_is_python(pc) || rs_pc_python_index(pc) < s->n_pylocs)
                continue;
            r->where = IN_SECTION;
            r->where_id = RS_SNAP_SECT_STACKS;
            return fail(r, r->sect[RS_SNAP_SECT_STACKS].offset, "stack %u frame %u is "
                        "Python location %llu, but the file has %u", i, j,
                        (unsigned long long)rs_pc_python_index(pc), s->n_pylocs);
        }
    return 0;
}

static int read_py_locations(reader_t *r)
{
    rs_snapshot_t *s = &r->out->snap;
    const section_t *sec = &r->sect[RS_SNAP_SECT_PY_LOCATIONS];
    cursor_t c;
    arena_t a;
    if (!sec->present)
        return 0;                         /* no location known */
    if (section_open(r, RS_SNAP_SECT_PY_LOCATIONS, &c, UINT32_MAX, 3, 0) < 0)
        return -1;
    s->pylocs = keep(r, sec->count, sizeof *s->pylocs);
    if (!s->pylocs || keep_arena(r, &a, sec->length) < 0)
        return -1;
    for (uint32_t i = 0; i < (uint32_t)sec->count; i++) {
        const uint8_t *rec = c.p;
        rs_pyloc_t *l = &s->pylocs[i];
        l->function = rd_str(&c, &a);
        l->file = rd_str(&c, &a);
        l->line = rd_u32(&c);
        if (c.fault)
            return fail_cursor(r, &c, "Python location", i);
        if (!l->function || !l->file)
            return fail(r, offset_of(r, rec), "Python location %u has no %s name", i,
                        l->function ? "file" : "function");
    }
    s->n_pylocs = (uint32_t)sec->count;
    if (section_close(r, &c) < 0)
        return -1;
    return check_python_frames(r);
}

/* ---- header and directory ---------------------------------------------- */

static uint64_t get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Checks the header; on success *dir_end is where the sections may start. */
static int read_header(reader_t *r, uint64_t *dir_end)
{
    const uint8_t *f = r->file;
    r->where = IN_HEADER;
    if (r->size == 0)
        return fail(r, 0, "the file is empty");
    if (memcmp(f, RS_SNAP_MAGIC, r->size < RS_SNAP_MAGIC_SIZE
                                     ? r->size : RS_SNAP_MAGIC_SIZE) != 0)
        return fail(r, 0, "not a refscope snapshot (bad magic)");
    if (r->size < RS_SNAP_HEADER_SIZE)
        return fail(r, 0, "the file is %zu bytes, too short for the %d-byte "
                    "header: truncated", r->size, RS_SNAP_HEADER_SIZE);
    uint64_t major = get_le(f + RS_SNAP_OFF_MAJOR, 2);
    uint64_t minor = get_le(f + RS_SNAP_OFF_MINOR, 2);
    if (major > RS_SNAP_VERSION_MAJOR || major == 0)
        return fail(r, RS_SNAP_OFF_MAJOR, "format version %llu.%llu is %s this "
                    "reader (%d.%d)%s", (unsigned long long)major,
                    (unsigned long long)minor,
                    major ? "newer than" : "not supported by",
                    RS_SNAP_VERSION_MAJOR, RS_SNAP_VERSION_MINOR,
                    major ? ": a newer refscope is needed" : "");
    uint64_t size = get_le(f + RS_SNAP_OFF_FILESIZE, 8);
    if (size != r->size)
        return fail(r, RS_SNAP_OFF_FILESIZE, "the file is %zu bytes but the "
                    "header says %llu: %s", r->size, (unsigned long long)size,
                    size > r->size ? "truncated" : "corrupt or appended to");
    uint64_t hsize = get_le(f + RS_SNAP_OFF_HDRSIZE, 4);
    uint64_t nsect = get_le(f + RS_SNAP_OFF_NSECT, 4);
    if (hsize < RS_SNAP_HEADER_SIZE || hsize > r->size)
        return fail(r, RS_SNAP_OFF_HDRSIZE, "bad header size %llu",
                    (unsigned long long)hsize);
    if (nsect > RS_SNAP_MAX_SECTIONS ||
        hsize + nsect * RS_SNAP_DIRENT_SIZE > r->size)
        return fail(r, RS_SNAP_OFF_NSECT, "%llu directory entries do not fit "
                    "in the file", (unsigned long long)nsect);
    *dir_end = hsize + nsect * RS_SNAP_DIRENT_SIZE;
    uint32_t crc = rs_snapshot_crc32(0, f, RS_SNAP_OFF_HDRCRC);
    crc = rs_snapshot_crc32(crc, f + RS_SNAP_HEADER_SIZE,
                            *dir_end - RS_SNAP_HEADER_SIZE);
    uint32_t stored = (uint32_t)get_le(f + RS_SNAP_OFF_HDRCRC, 4);
    if (crc != stored)
        return fail(r, RS_SNAP_OFF_HDRCRC, "header checksum mismatch (stored "
                    "0x%08x, computed 0x%08x)", stored, crc);
    return 0;
}

static int read_directory(reader_t *r, uint64_t dir_end)
{
    uint64_t hsize = get_le(r->file + RS_SNAP_OFF_HDRSIZE, 4);
    uint32_t nsect = (uint32_t)get_le(r->file + RS_SNAP_OFF_NSECT, 4);
    r->where = IN_DIRENT;
    for (uint32_t i = 0; i < nsect; i++) {
        uint64_t at = hsize + (uint64_t)i * RS_SNAP_DIRENT_SIZE;
        const uint8_t *e = r->file + at;
        uint32_t type = (uint32_t)get_le(e + RS_SNAP_DIRENT_TYPE, 4);
        section_t s = {
            .offset = get_le(e + RS_SNAP_DIRENT_OFFSET, 8),
            .length = get_le(e + RS_SNAP_DIRENT_LENGTH, 8),
            .count = get_le(e + RS_SNAP_DIRENT_COUNT, 8),
            .present = 1,
        };
        r->where_id = i;
        if (s.offset < dir_end || s.offset > r->size ||
            s.length > r->size - s.offset)
            return fail(r, at, "section %s (type %u) at 0x%llx, %llu bytes, "
                        "lies outside the file's sections area",
                        rs_snapshot_section_name(type), type,
                        (unsigned long long)s.offset,
                        (unsigned long long)s.length);
        if (type >= 1 && type <= RS_SNAP_SECT_KNOWN && r->sect[type].present)
            return fail(r, at, "second %s section",
                        rs_snapshot_section_name(type));
        uint32_t crc = rs_snapshot_crc32(0, r->file + s.offset, s.length);
        uint32_t stored = (uint32_t)get_le(e + RS_SNAP_DIRENT_CRC, 4);
        if (crc != stored) {
            r->where = IN_SECTION;
            r->where_id = type;
            return fail(r, s.offset, "checksum mismatch (stored 0x%08x, "
                        "computed 0x%08x)", stored, crc);
        }
        if (type >= 1 && type <= RS_SNAP_SECT_KNOWN)
            r->sect[type] = s;
    }
    for (uint32_t t = 1; t <= RS_SNAP_SECT_REQUIRED; t++) {
        if (!r->sect[t].present) {
            r->where = IN_HEADER;
            return fail(r, hsize, "the directory has no %s section",
                        rs_snapshot_section_name(t));
        }
    }
    return 0;
}

/* ---- file ---------------------------------------------------------------- */

/* Reads of at most this many bytes when progress is reported. */
#define READ_CHUNK (1u << 20)

/* Progress: reading the file is the first half, decoding the second. */
static void report_progress(const reader_t *r, uint64_t done, uint64_t size)
{
    if (r->progress && r->progress->fn)
        r->progress->fn(r->progress->ctx, done, 2 * size);
}

/* Reads the whole regular file at path into *data (rs_mem).  Returns 0,
 * or -1 with the error reported. */
static int slurp(reader_t *r, uint8_t **data, size_t *size)
{
    struct stat st;
    int fd = open(r->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        rs_snapshot_errorf(r->err, "%s: cannot open: %s", r->path,
                           rs_snapshot_strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0) {
        rs_snapshot_errorf(r->err, "%s: cannot stat: %s", r->path,
                           rs_snapshot_strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        rs_snapshot_errorf(r->err, "%s: %s", r->path, S_ISDIR(st.st_mode)
                           ? "is a directory, not a snapshot file"
                           : "not a regular file");
        close(fd);
        return -1;
    }
    size_t cap = (size_t)st.st_size, n = 0;
    uint8_t *buf = rs_mem_alloc(cap);
    if (!buf) {
        rs_snapshot_errorf(r->err, "%s: out of memory reading %zu bytes",
                           r->path, cap);
        close(fd);
        return -1;
    }
    while (n < cap) {
        size_t want = cap - n;
        if (r->progress && want > READ_CHUNK)
            want = READ_CHUNK;
        ssize_t k = read(fd, buf + n, want);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rs_snapshot_errorf(r->err, "%s: read failed: %s", r->path,
                               rs_snapshot_strerror(errno));
            rs_mem_free(buf);
            close(fd);
            return -1;
        }
        if (k == 0)
            break;       /* shrank under us: the header check will say so */
        n += (size_t)k;
        report_progress(r, n, cap);
    }
    close(fd);
    *data = buf;
    *size = n;
    return 0;
}

static int decode(reader_t *r)
{
    static int (*const readers[])(reader_t *) = {
        read_meta, read_modules, read_stacks, read_types, read_nodes,
        read_edges, read_roots, read_root_edges, read_summary, read_history,
        read_rc_errors, read_thread_frames, read_weak_edges, read_py_locations,
    };
    uint64_t dir_end = 0;
    if (read_header(r, &dir_end) < 0 || read_directory(r, dir_end) < 0)
        return -1;
    size_t n = sizeof readers / sizeof readers[0];
    for (size_t i = 0; i < n; i++) {
        if (readers[i](r) < 0)
            return -1;
        report_progress(r, r->size + r->size * (i + 1) / n, r->size);
    }
    return 0;
}

rs_snapshot_t *rs_snapshot_read(const char *path, rs_snapshot_error_t *err)
{
    return rs_snapshot_read_progress(path, err, NULL);
}

rs_snapshot_t *rs_snapshot_read_progress(const char *path, rs_snapshot_error_t *err,
                                         const rs_snapshot_progress_t *progress)
{
    reader_t r = { .path = path ? path : "(null)", .err = err,
                   .where = IN_HEADER, .progress = progress };
    uint8_t *data = NULL;

    if (!path || slurp(&r, &data, &r.size) < 0)
        goto fail;
    r.file = data;
    r.out = rs_mem_calloc(1, sizeof *r.out);
    if (!r.out) {
        rs_snapshot_errorf(err, "%s: out of memory", r.path);
        goto fail;
    }
    r.out->snap.storage = r.out;
    if (decode(&r) < 0)
        goto fail;
    r.out->snap.thread_start_pc = rs_snapshot_thread_start_pc(&r.out->snap);
    rs_mem_free(data);
    return &r.out->snap;
fail:
    if (!path)
        rs_snapshot_errorf(err, "(null): no path given");
    rs_snapshot_free(r.out ? &r.out->snap : NULL);
    rs_mem_free(data);
    return NULL;
}

void rs_snapshot_free(rs_snapshot_t *snap)
{
    if (!snap || !snap->storage)
        return;
    owned_snapshot_t *o = snap->storage;
    for (uint32_t i = 0; i < o->n_blocks; i++)
        rs_mem_free(o->blocks[i]);
    rs_mem_free(o);
}
