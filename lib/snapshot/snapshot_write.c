/*
 * snapshot_write.c - rs_snapshot_write(): serialises an rs_snapshot_t in
 * the format of snapshot_format.h.
 *
 * This runs inside the target process at exit, so it uses no stdio and
 * allocates only through rs_mem (one 64 KiB output buffer and the
 * temporary file name).  The file is produced in one forward pass: a
 * zeroed header and directory (one entry per section that will be
 * written) are written first, then each section is
 * encoded into the buffer, whose contents are CRC'ed and handed to
 * write(2) whenever it fills; finally the real header and directory
 * (offsets, lengths, counts, CRCs now known) are written over the
 * placeholder with pwrite(2).  The data goes to ".<name>.tmp.<pid>.<n>" in
 * the destination directory and renamed over the final name, so a reader
 * sees either the old file or the complete new one.  Not fsync'ed: every
 * process run under refscope writes a snapshot as it exits, and an fsync
 * of the file and its directory cost 10-15 ms each time on ext4 (a test
 * suite of many short processes pays it per process); the rename is
 * atomic against any crash of the process, and a machine that goes down
 * right after may leave a truncated file, which readers reject with a
 * clear error (snapshot_read.c checks sizes and CRCs).
 *
 * Invariants: once wbuf_t.error is set no further byte is written; every
 * failure path closes the descriptor and unlinks the temporary file.
 */
#include "snapshot_format.h"

#include "rs_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>      /* rename(2) only: no FILE, no stdio buffers */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WBUF_SIZE (64 * 1024)

typedef struct wbuf {
    int       fd;
    uint8_t  *buf;
    size_t    len;
    uint64_t  flushed;      /* bytes already written to fd              */
    size_t    crc_from;     /* buf[crc_from..len) not yet in crc         */
    uint32_t  crc;          /* CRC of the current section so far        */
    int       error;        /* errno of the first failed write, or 0    */
} wbuf_t;

typedef struct writer {
    wbuf_t               w;
    const rs_snapshot_t *snap;
    const char          *path;
    rs_snapshot_error_t *err;
    uint8_t              dir[RS_SNAP_SECT_KNOWN][RS_SNAP_DIRENT_SIZE];
    uint32_t             n_dir;        /* entries filled so far             */
    uint32_t             n_planned;    /* sections this file will have     */
    uint64_t             sect_start;
} writer_t;

/* ---- little-endian fixed-width fields ----------------------------------- */

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- raw output ---------------------------------------------------------- */

/* Writes all of p[0..n) at the current position (off < 0) or at off,
 * retrying on EINTR and short writes.  Returns 0 or an errno value. */
static int write_all(int fd, const uint8_t *p, size_t n, int64_t off)
{
    while (n) {
        ssize_t k = off < 0 ? write(fd, p, n) : pwrite(fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return errno;
        if (k == 0)
            return ENOSPC;
        p += k;
        n -= (size_t)k;
        if (off >= 0)
            off += k;
    }
    return 0;
}

static void wb_flush(wbuf_t *w)
{
    w->crc = rs_snapshot_crc32(w->crc, w->buf + w->crc_from,
                               w->len - w->crc_from);
    if (!w->error)
        w->error = write_all(w->fd, w->buf, w->len, -1);
    w->flushed += w->len;
    w->len = 0;
    w->crc_from = 0;
}

static void wb_bytes(wbuf_t *w, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n) {
        if (w->len == WBUF_SIZE)
            wb_flush(w);
        size_t k = WBUF_SIZE - w->len < n ? WBUF_SIZE - w->len : n;
        memcpy(w->buf + w->len, p, k);
        w->len += k;
        p += k;
        n -= k;
    }
}

/* The encoders of numbers: each stores at p and returns the end.  A
 * record's numbers go to room its writer asked for once (wb_room()), so
 * the hot loops (NODES, EDGES: about ten numbers a block) test the
 * buffer's bounds once a record, not once a number; most numbers take one
 * byte, where the loop is not entered. */
static inline uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static inline uint8_t *put_svarint(uint8_t *p, int64_t v)
{
    return put_varint(p, rs_snap_zigzag(v));
}

/* (v + 1) mod 2^32: maps UINT32_MAX (no index, live epoch) to 0. */
static inline uint8_t *put_plus1(uint8_t *p, uint32_t v)
{
    return put_varint(p, (uint32_t)(v + 1));
}

/* Where the next n_numbers numbers go: room for each at its largest,
 * flushing first when the buffer has less (n_numbers * 10 <= WBUF_SIZE).
 * The caller stores them and hands the end to wb_done(). */
static inline __attribute__((always_inline)) uint8_t *wb_room(wbuf_t *w, size_t n_numbers)
{
    if (__builtin_expect(WBUF_SIZE - w->len < n_numbers * RS_SNAP_VARINT_MAX, 0))
        wb_flush(w);
    return w->buf + w->len;
}

static inline void wb_done(wbuf_t *w, const uint8_t *end)
{
    w->len = (size_t)(end - w->buf);
}

static inline void wb_varint(wbuf_t *w, uint64_t v)
{
    wb_done(w, put_varint(wb_room(w, 1), v));
}

static inline void wb_svarint(wbuf_t *w, int64_t v)
{
    wb_done(w, put_svarint(wb_room(w, 1), v));
}

static inline void wb_plus1(wbuf_t *w, uint32_t v)
{
    wb_done(w, put_plus1(wb_room(w, 1), v));
}

static void wb_str(wbuf_t *w, const char *s)
{
    if (!s) {
        wb_varint(w, 0);
        return;
    }
    size_t n = strlen(s);
    wb_varint(w, (uint64_t)n + 1);
    wb_bytes(w, s, n);
}

/* ---- sections ------------------------------------------------------------ */

static void section_begin(writer_t *wr)
{
    wbuf_t *w = &wr->w;
    w->crc = rs_snapshot_crc32(w->crc, w->buf + w->crc_from,
                               w->len - w->crc_from);
    w->crc_from = w->len;
    w->crc = 0;
    wr->sect_start = w->flushed + w->len;
}

static void section_end(writer_t *wr, uint32_t type, uint64_t count)
{
    wbuf_t *w = &wr->w;
    w->crc = rs_snapshot_crc32(w->crc, w->buf + w->crc_from,
                               w->len - w->crc_from);
    w->crc_from = w->len;
    uint8_t *e = wr->dir[wr->n_dir++];
    put_le(e + RS_SNAP_DIRENT_TYPE, type, 4);
    put_le(e + RS_SNAP_DIRENT_CRC, w->crc, 4);
    put_le(e + RS_SNAP_DIRENT_OFFSET, wr->sect_start, 8);
    put_le(e + RS_SNAP_DIRENT_LENGTH, w->flushed + w->len - wr->sect_start, 8);
    put_le(e + RS_SNAP_DIRENT_COUNT, count, 8);
}

static void write_meta(writer_t *wr)
{
    wbuf_t *w = &wr->w;
    const rs_proc_info_t *p = &wr->snap->proc;
    section_begin(wr);
    wb_svarint(w, p->pid);
    wb_svarint(w, p->ppid);
    wb_svarint(w, p->exit_status);
    wb_varint(w, p->has_exit_status);
    wb_varint(w, p->reason);
    wb_varint(w, p->seq);
    wb_varint(w, p->time_ns);
    wb_str(w, p->exe);
    wb_varint(w, p->argc);
    for (uint32_t i = 0; i < p->argc; i++)
        wb_str(w, p->argv[i]);
    wb_str(w, p->label);
    section_end(wr, RS_SNAP_SECT_META, 1);
}

static void write_modules(writer_t *wr)
{
    wbuf_t *w = &wr->w;
    const rs_snapshot_t *s = wr->snap;
    uint64_t total = 0;
    for (uint32_t i = 0; i < s->n_modules; i++)
        total += s->modules[i].n_segments;
    section_begin(wr);
    wb_varint(w, total);
    for (uint32_t i = 0; i < s->n_modules; i++) {
        const rs_module_t *m = &s->modules[i];
        wb_str(w, m->path);
        wb_varint(w, m->build_id_len);
        wb_bytes(w, m->build_id, m->build_id_len);
        wb_varint(w, m->load_bias);
        wb_plus1(w, m->load_epoch);
        wb_plus1(w, m->unload_epoch);
        wb_varint(w, m->n_segments);
        for (uint32_t j = 0; j < m->n_segments; j++) {
            wb_varint(w, m->segments[j].start);
            wb_varint(w, m->segments[j].end - m->segments[j].start);
            wb_varint(w, m->segments[j].flags);
        }
    }
    section_end(wr, RS_SNAP_SECT_MODULES, s->n_modules);
}

static void write_stacks(writer_t *wr)
{
    wbuf_t *w = &wr->w;
    const rs_snapshot_t *s = wr->snap;
    uint64_t total = 0;
    for (uint32_t i = 0; i < s->n_stacks; i++)
        total += s->stacks[i].n_frames;
    section_begin(wr);
    wb_varint(w, total);
    for (uint32_t i = 0; i < s->n_stacks; i++) {
        const rs_stack_t *st = &s->stacks[i];
        uint64_t prev = 0;
        wb_plus1(w, st->epoch);
        wb_varint(w, st->n_frames);
        for (uint32_t j = 0; j < st->n_frames; j++) {
            wb_svarint(w, (int64_t)(st->pcs[j] - prev));
            prev = st->pcs[j];
        }
    }
    section_end(wr, RS_SNAP_SECT_STACKS, s->n_stacks);
}

static void write_types(writer_t *wr)
{
    const rs_snapshot_t *s = wr->snap;
    section_begin(wr);
    for (uint32_t i = 0; i < s->n_types; i++)
        wb_str(&wr->w, s->types[i]);
    section_end(wr, RS_SNAP_SECT_TYPES, s->n_types);
}

static void write_nodes(writer_t *wr)
{
    wbuf_t *w = &wr->w;
    const rs_heap_t *h = &wr->snap->heap;
    uint64_t prev = 0;
    section_begin(wr);
    for (uint32_t i = 0; i < h->n_nodes; i++) {
        const rs_node_t *n = &h->nodes[i];
        uint8_t *p = wb_room(w, 12);
        p = put_varint(p, n->addr - prev);
        prev = n->addr;
        p = put_varint(p, n->size);
        p = put_varint(p, n->stack_id);
        p = put_varint(p, n->type_id);
        p = put_varint(p, n->flags);
        p = put_varint(p, n->rc_offset);
        p = put_varint(p, n->rc_width);
        p = put_varint(p, n->cls);
        p = put_plus1(p, n->owner);
        p = put_svarint(p, n->refcount);
        p = put_varint(p, n->alloc_tid);
        p = put_varint(p, n->seq);
        wb_done(w, p);
    }
    section_end(wr, RS_SNAP_SECT_NODES, h->n_nodes);
}

static void write_edges(writer_t *wr)
{
    wbuf_t *w = &wr->w;
    const rs_heap_t *h = &wr->snap->heap;
    section_begin(wr);
    for (uint32_t i = 0; i < h->n_nodes; i++) {
        uint32_t from = h->edge_start ? h->edge_start[i] : 0;
        uint32_t to = h->edge_start ? h->edge_start[i + 1] : 0;
        int64_t prev_off = 0;
        wb_varint(w, to - from);
        for (uint32_t e = from; e < to; e++) {
            uint8_t *p = wb_room(w, 2);
            p = put_svarint(p, (int64_t)h->edges[e].dst - i);
            p = put_svarint(p, (int64_t)h->edges[e].offset - prev_off);
            wb_done(w, p);
            prev_off = h->edges[e].offset;
        }
    }
    section_end(wr, RS_SNAP_SECT_EDGES, h->n_edges);
}

static void write_roots(writer_t *wr)
{
    wbuf_t *w = &wr->w;
    const rs_heap_t *h = &wr->snap->heap;
    section_begin(wr);
    for (uint32_t i = 0; i < h->n_roots; i++) {
        const rs_root_t *r = &h->roots[i];
        wb_varint(w, r->start);
        wb_varint(w, r->size);
        wb_varint(w, r->kind);
        wb_plus1(w, r->module);
        wb_varint(w, r->tid);
    }
    section_end(wr, RS_SNAP_SECT_ROOTS, h->n_roots);
    section_begin(wr);
    for (uint64_t i = 0; i < h->n_root_edges; i++) {
        wb_varint(w, h->root_edges[i].root);
        wb_varint(w, h->root_edges[i].dst);
        wb_varint(w, h->root_edges[i].offset);
    }
    section_end(wr, RS_SNAP_SECT_ROOT_EDGES, h->n_root_edges);
}

static void write_summary(writer_t *wr)
{
    wbuf_t *w = &wr->w;
    const rs_summary_t *s = &wr->snap->summary;
    section_begin(wr);
    for (int c = 0; c < RS_CLASS_COUNT; c++) {
        wb_varint(w, s->by_class[c].bytes);
        wb_varint(w, s->by_class[c].blocks);
    }
    wb_varint(w, s->cycle_groups);
    wb_varint(w, s->leaked_refs);
    wb_varint(w, s->rc_errors);
    section_end(wr, RS_SNAP_SECT_SUMMARY, 1);
}

/* RC_HISTORY: sparse records of the nodes that have events. */
static void write_history(writer_t *wr)
{
    wbuf_t *w = &wr->w;
    const rs_snapshot_t *s = wr->snap;
    const uint32_t *start = s->history.event_start;
    uint32_t n_nodes = s->heap.n_nodes, records = 0, prev_node = UINT32_MAX;
    for (uint32_t i = 0; i < n_nodes; i++)
        records += start[i + 1] != start[i];
    section_begin(wr);
    wb_varint(w, records);
    for (uint32_t i = 0; i < n_nodes; i++) {
        if (start[i + 1] == start[i])
            continue;
        uint32_t seq = 0, thread = 0;
        wb_varint(w, (uint32_t)(i - prev_node - 1));
        wb_varint(w, start[i + 1] - start[i]);
        prev_node = i;
        for (uint32_t e = start[i]; e < start[i + 1]; e++) {
            const rs_ref_event_t *ev = &s->history.events[e];
            uint32_t same = ev->thread == thread ? RS_SNAP_EVENT_SAME_THREAD : 0;
            wb_varint(w, (uint64_t)ev->stack_id << RS_SNAP_EVENT_STACK_SHIFT |
                         same | (ev->op & RS_SNAP_EVENT_OP_MASK));
            wb_varint(w, (uint32_t)(ev->seq - seq));
            if (!same)
                wb_varint(w, ev->thread);
            seq = ev->seq;
            thread = ev->thread;
        }
    }
    section_end(wr, RS_SNAP_SECT_RC_HISTORY, s->history.n_events);
}

static void write_rc_errors(writer_t *wr)
{
    wbuf_t *w = &wr->w;
    const rs_snapshot_t *s = wr->snap;
    uint64_t prev_addr = 0;
    section_begin(wr);
    for (uint32_t i = 0; i < s->n_rc_errors; i++) {
        const rs_rc_error_t *e = &s->rc_errors[i];
        wb_varint(w, e->kind);
        wb_varint(w, e->type_id);
        wb_svarint(w, (int64_t)(e->addr - prev_addr));
        wb_svarint(w, e->count);
        wb_varint(w, e->stack_id);
        wb_varint(w, e->other_stack_id);
        wb_varint(w, e->tid);
        prev_addr = e->addr;
    }
    section_end(wr, RS_SNAP_SECT_RC_ERRORS, s->n_rc_errors);
}

static void write_thread_frames(writer_t *wr)
{
    wbuf_t *w = &wr->w;
    const rs_snapshot_t *s = wr->snap;
    const rs_thread_frame_t *f = s->thread_frames;
    uint32_t n = s->n_thread_frames, threads = 0;
    for (uint32_t i = 0; i < n; i++)
        threads += f[i].depth == 0;
    section_begin(wr);
    wb_plus1(w, s->frames_epoch);
    wb_varint(w, threads);
    uint64_t prev_tid = UINT64_MAX;               /* so the first gap is tid */
    for (uint32_t i = 0; i < n;) {
        uint32_t k = i + 1;
        while (k < n && f[k].depth != 0)
            k++;
        wb_varint(w, f[i].tid - prev_tid - 1);
        wb_varint(w, k - i);
        uint64_t pc = 0, sp = 0;
        for (uint32_t j = i; j < k; j++) {
            wb_svarint(w, (int64_t)(f[j].pc - pc));
            wb_varint(w, f[j].sp - sp);
            pc = f[j].pc;
            sp = f[j].sp;
        }
        prev_tid = f[i].tid;
        i = k;
    }
    section_end(wr, RS_SNAP_SECT_THREAD_FRAMES, n);
}

/* Edges marked in heap.weak_edges. */
static uint64_t count_weak_edges(const rs_heap_t *h)
{
    uint64_t n = 0;
    for (uint64_t i = 0; h->weak_edges && i < (h->n_edges + 63) / 64; i++)
        n += (uint64_t)__builtin_popcountll(h->weak_edges[i] &
                 (i == h->n_edges / 64 ? (1ull << (h->n_edges % 64)) - 1 : ~0ull));
    return n;
}

static void write_weak_edges(writer_t *wr, uint64_t n)
{
    wbuf_t *w = &wr->w;
    const rs_heap_t *h = &wr->snap->heap;
    section_begin(wr);
    uint64_t prev = UINT64_MAX;               /* so the first gap is the index */
    for (uint64_t e = 0; e < h->n_edges; e++)
        if (rs_heap_edge_weak(h, e)) {
            wb_varint(w, e - prev - 1);
            prev = e;
        }
    section_end(wr, RS_SNAP_SECT_WEAK_EDGES, n);
}

/* Every location: its function, its file, its line. */
static void write_py_locations(writer_t *wr)
{
    const rs_snapshot_t *s = wr->snap;
    section_begin(wr);
    for (uint32_t i = 0; i < s->n_pylocs; i++) {
        wb_str(&wr->w, s->pylocs[i].function);
        wb_str(&wr->w, s->pylocs[i].file);
        wb_varint(&wr->w, s->pylocs[i].line);
    }
    section_end(wr, RS_SNAP_SECT_PY_LOCATIONS, s->n_pylocs);
}

/* ---- checks of the input ------------------------------------------------- */

/* A CSR index start[0..n] must run monotonically from 0 to total.
 * Returns NULL, why[0] (wrong ends) or why[1] (not monotone). */
static const char *check_csr(const uint32_t *start, uint32_t n, uint64_t total,
                             const char *const why[2])
{
    if (start[0] != 0 || start[n] != total)
        return why[0];
    for (uint32_t i = 0; i < n; i++)
        if (start[i + 1] < start[i])
            return why[1];
    return NULL;
}

/* History arrays the writer can walk and ops it can encode; the rest of
 * the events' contents (op 0, stack ids, the nodes they belong to) is left
 * to the reader.  NULL or what is wrong. */
static const char *check_history(const rs_snapshot_t *s)
{
    const rs_ref_history_t *hist = &s->history;
    if (!hist->event_start)
        return hist->n_events ? "history has events but no event_start" : NULL;
    if (hist->n_events && !hist->events)
        return "history has event_start but no events";
    if (hist->n_events > UINT32_MAX)
        return "more than 2^32-1 reference events";
    for (uint64_t e = 0; e < hist->n_events; e++)
        if (hist->events[e].op > RS_SNAP_EVENT_OP_MASK)
            return "a reference event has an op above 3, which the format "
                   "cannot store";
    static const char *const why[2] = {
        "event_start does not run from 0 to n_events",
        "event_start is not monotone",
    };
    return check_csr(hist->event_start, s->heap.n_nodes, hist->n_events, why);
}

/* Thread frames grouped as the format needs: threads by strictly rising
 * tid, each from depth 0 up by one, sp never going down.  NULL or what is
 * wrong. */
static const char *check_thread_frames(const rs_snapshot_t *s)
{
    const rs_thread_frame_t *f = s->thread_frames;
    if (s->n_thread_frames && !f)
        return "an array is NULL but its count is not 0";
    for (uint32_t i = 0; i < s->n_thread_frames; i++) {
        int first = i == 0 || f[i].tid != f[i - 1].tid;
        if (first && i && f[i].tid < f[i - 1].tid)
            return "thread frames are not sorted by rising thread id";
        if (first ? f[i].depth != 0 : f[i].depth != f[i - 1].depth + 1)
            return "a thread's frames do not run from depth 0 up by one";
        if (!first && f[i].sp < f[i - 1].sp)
            return "a thread's frame has a lower sp than the frame inside it";
    }
    return NULL;
}

/* Python locations: an array when counted, and names for every one (the
 * format has no NULL location strings). */
static const char *check_py_locations(const rs_snapshot_t *s)
{
    if (s->n_pylocs && !s->pylocs)
        return "an array is NULL but its count is not 0";
    for (uint32_t i = 0; i < s->n_pylocs; i++)
        if (!s->pylocs[i].function || !s->pylocs[i].file)
            return "a Python location has no function or file name";
    return NULL;
}

/* The writer refuses a snapshot it cannot encode or that would crash it
 * (a count with a NULL array, broken CSR arrays, unsorted nodes, inverted
 * segments).  Index ranges are left to the reader, which rejects them.
 * Returns 0, or -1 with err filled in. */
static int check_input(const rs_snapshot_t *s, const char *path,
                       rs_snapshot_error_t *err)
{
    const rs_heap_t *h = &s->heap;
    const char *what = NULL;

    if ((s->n_modules && !s->modules) || (s->n_stacks && !s->stacks) ||
        (s->n_types && !s->types) || (s->proc.argc && !s->proc.argv) ||
        (h->n_nodes && !h->nodes) || (h->n_edges && (!h->edges || !h->edge_start)) ||
        (h->n_roots && !h->roots) || (h->n_root_edges && !h->root_edges) ||
        (s->n_rc_errors && !s->rc_errors))
        what = "an array is NULL but its count is not 0";
    else if (h->n_edges > UINT32_MAX)
        what = "more than 2^32-1 edges";
    for (uint32_t i = 0; !what && i < s->n_modules; i++) {
        const rs_module_t *m = &s->modules[i];
        if (m->build_id_len > RS_SNAP_MAX_BUILD_ID)
            what = "a module's build id is longer than 20 bytes";
        else if (m->n_segments && !m->segments)
            what = "a module has segments but no segment array";
        for (uint32_t j = 0; !what && j < m->n_segments; j++)
            if (m->segments[j].end < m->segments[j].start)
                what = "a module segment ends before it starts";
    }
    for (uint32_t i = 0; !what && i < s->n_stacks; i++)
        if (s->stacks[i].n_frames && !s->stacks[i].pcs)
            what = "a stack has frames but no pc array";
    for (uint32_t i = 1; !what && i < h->n_nodes; i++)
        if (h->nodes[i].addr <= h->nodes[i - 1].addr)
            what = "nodes are not sorted by strictly rising address";
    static const char *const edge_why[2] = {
        "edge_start does not run from 0 to n_edges",
        "edge_start is not monotone",
    };
    if (!what && h->edge_start)
        what = check_csr(h->edge_start, h->n_nodes, h->n_edges, edge_why);
    if (!what)
        what = check_history(s);
    if (!what)
        what = check_thread_frames(s);
    if (!what)
        what = check_py_locations(s);
    if (!what)
        return 0;
    rs_snapshot_errorf(err, "%s: cannot write snapshot: %s", path, what);
    return -1;
}

/* ---- files ----------------------------------------------------------------- */

static char *put_decimal(char *p, uint64_t v)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = digits[--n];
    return p;
}

/* "<dir>/.<base>.tmp.<pid>.<n>", n counting calls so that two threads
 * writing the same path do not share a temporary.  path must not end in
 * '/'.  NULL when memory is short. */
static char *temp_name(const char *path)
{
    static atomic_uint counter;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dirlen = (size_t)(base - path), baselen = strlen(base);
    char *t = rs_mem_alloc(dirlen + baselen + 64);
    if (!t)
        return NULL;
    char *p = t;
    memcpy(p, path, dirlen);
    p += dirlen;
    *p++ = '.';
    memcpy(p, base, baselen);
    p += baselen;
    memcpy(p, ".tmp.", 5);
    p = put_decimal(p + 5, (uint64_t)getpid());
    *p++ = '.';
    p = put_decimal(p, atomic_fetch_add(&counter, 1));
    *p = '\0';
    return t;
}

static void encode_header(uint8_t *hdr, const writer_t *wr, uint64_t size)
{
    memset(hdr, 0, RS_SNAP_HEADER_SIZE);
    memcpy(hdr + RS_SNAP_OFF_MAGIC, RS_SNAP_MAGIC, RS_SNAP_MAGIC_SIZE);
    put_le(hdr + RS_SNAP_OFF_MAJOR, RS_SNAP_VERSION_MAJOR, 2);
    put_le(hdr + RS_SNAP_OFF_MINOR, RS_SNAP_VERSION_MINOR, 2);
    put_le(hdr + RS_SNAP_OFF_HDRSIZE, RS_SNAP_HEADER_SIZE, 4);
    put_le(hdr + RS_SNAP_OFF_FILESIZE, size, 8);
    put_le(hdr + RS_SNAP_OFF_NSECT, wr->n_planned, 4);
    uint32_t crc = rs_snapshot_crc32(0, hdr, RS_SNAP_OFF_HDRCRC);
    crc = rs_snapshot_crc32(crc, wr->dir,
                            (size_t)wr->n_planned * RS_SNAP_DIRENT_SIZE);
    put_le(hdr + RS_SNAP_OFF_HDRCRC, crc, 4);
}

/* Writes the whole file to wr->w.fd.  Returns 0, or an errno value and
 * sets *op to the name of the failed operation.  The optional sections are
 * written only when they have something to say, so a snapshot without
 * refcounted objects is as small as a 1.0 one; the directory placeholder
 * has exactly one entry per section written. */
static int write_file(writer_t *wr, const char **op)
{
    wbuf_t *w = &wr->w;
    static const uint8_t zeros[RS_SNAP_HEADER_SIZE +
                               RS_SNAP_SECT_KNOWN * RS_SNAP_DIRENT_SIZE];
    uint8_t hdr[RS_SNAP_HEADER_SIZE];
    int history = wr->snap->history.event_start != NULL;
    int rc_errors = wr->snap->n_rc_errors > 0;
    int frames = wr->snap->n_thread_frames > 0;
    uint64_t weak = count_weak_edges(&wr->snap->heap);
    int pylocs = wr->snap->n_pylocs > 0;

    *op = "write";
    wr->n_planned = RS_SNAP_SECT_REQUIRED + (uint32_t)history + (uint32_t)rc_errors +
                    (uint32_t)frames + (weak > 0) + (uint32_t)pylocs;
    wb_bytes(w, zeros, RS_SNAP_HEADER_SIZE +
                       (size_t)wr->n_planned * RS_SNAP_DIRENT_SIZE);
    write_meta(wr);
    write_modules(wr);
    write_stacks(wr);
    write_types(wr);
    write_nodes(wr);
    write_edges(wr);
    write_roots(wr);
    write_summary(wr);
    if (history)
        write_history(wr);
    if (rc_errors)
        write_rc_errors(wr);
    if (frames)
        write_thread_frames(wr);
    if (weak)
        write_weak_edges(wr, weak);
    if (pylocs)
        write_py_locations(wr);
    wb_flush(w);
    if (w->error)
        return w->error;
    if (wr->n_dir != wr->n_planned)
        return EPROTO;    /* cannot happen: a section was planned, not written */
    encode_header(hdr, wr, w->flushed);
    int e = write_all(w->fd, hdr, sizeof hdr, 0);
    if (!e)
        e = write_all(w->fd, wr->dir[0],
                      (size_t)wr->n_dir * RS_SNAP_DIRENT_SIZE,
                      RS_SNAP_HEADER_SIZE);
    return e;
}

int rs_snapshot_write(const rs_snapshot_t *snap, const char *path,
                      rs_snapshot_error_t *err)
{
    writer_t wr = { .w = { .fd = -1 }, .snap = snap, .path = path, .err = err };
    char *tmp = NULL;
    const char *op = "write";
    int e = 0, rc = -1;

    if (!snap || !path || !*path) {
        rs_snapshot_errorf(err, "%s: cannot write snapshot: no %s",
                           path ? path : "(null)", snap ? "path" : "snapshot");
        return -1;
    }
    if (path[strlen(path) - 1] == '/') {
        rs_snapshot_errorf(err, "%s: cannot write snapshot: the path names "
                           "a directory", path);
        return -1;
    }
    if (check_input(snap, path, err) < 0)
        return -1;
    tmp = temp_name(path);
    wr.w.buf = rs_mem_alloc(WBUF_SIZE);
    if (!tmp || !wr.w.buf) {
        rs_snapshot_errorf(err, "%s: cannot write snapshot: out of memory",
                           path);
        goto out;
    }
    wr.w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                   0644);
    if (wr.w.fd < 0) {
        rs_snapshot_errorf(err, "%s: cannot create temporary file %s: %s",
                           path, tmp, rs_snapshot_strerror(errno));
        goto out;
    }
    /* The umask stays, but the owner can always read the file back: under
     * `umask 0777` it was made mode 0000, which only root can open. */
    struct stat st;
    if (fstat(wr.w.fd, &st) == 0 && (st.st_mode & 0600) != 0600)
        fchmod(wr.w.fd, (st.st_mode & 07777) | 0600);
    e = write_file(&wr, &op);
    if (!e) {
        op = "close";
        e = close(wr.w.fd) < 0 ? errno : 0;
        wr.w.fd = -1;
    }
    if (!e) {
        op = "rename";
        e = rename(tmp, path) < 0 ? errno : 0;
    }
    if (e) {
        rs_snapshot_errorf(err, "%s: %s of temporary file %s failed: %s",
                           path, op, tmp, rs_snapshot_strerror(e));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    if (wr.w.fd >= 0)
        close(wr.w.fd);
    rs_mem_free(wr.w.buf);
    rs_mem_free(tmp);
    return rc;
}
