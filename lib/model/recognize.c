/*
 * recognize.c - objects found by their type word (see recognize.h).
 *
 * Per recognizer, the possible header sizes are every sum of a subset of
 * its header terms (at most 2^4), tried smallest first; per block, the
 * first size that validates wins.  Validation of a candidate object at
 * block + h:
 *   1. the type word t (at h + type_word) is non-zero and 8-aligned;
 *   2. t is a type: from t, following type words (t's own type, that
 *      type's type, ...) reaches the metatype within RS_RECOGNIZE_MAX_CHAIN
 *      steps, every word read through the reader;
 *   3. the header t's flags imply equals h (a word that happens to point
 *      to a type at the wrong offset, such as a GC link, is rejected);
 *   4. with type_size, t's instance size is at least one word past the
 *      type word and fits in the block after h, unless t is the compact
 *      type (CPython's str: tp_basicsize is sizeof(PyUnicodeObject), 80
 *      bytes in 3.11, while a 6-character ASCII string is a 55-byte
 *      compact object), whose instances need only hold the count and the
 *      type word;
 *   5. the count is at least 1 and is not the address of a byte of a
 *      live block (then it is a pointer: see counts_a_block()), and the
 *      header's words are 0 or user-space addresses.
 * Verdicts on type objects (steps 2-4's reads) are cached per (type
 * address, recognizer) in an open-addressing table, so each type's chain
 * and name are read once per analysis; a word that is not a type pointer
 * is not cached (the table would grow with the heap) and costs a few
 * reads each time.
 *
 * Invariant: a node is marked at most once (REFCOUNTED or IGNORED nodes
 * are skipped: objects a hook or an annotation tracked keep their
 * history and type).
 */
#include "recognize.h"

#include "heapscan.h"
#include "rs_mem.h"

#include <string.h>

typedef struct rs_recognize_type {
    uint64_t               addr;     /* 0: empty slot                     */
    const rs_recognizer_t *spec;
    uint8_t                is_type;
    uint64_t               flags, size;
    uint32_t               name;     /* index into res->names             */
} type_t;

/* ---- reading --------------------------------------------------------- */

typedef struct reader {
    rs_recognize_read_fn fn;
    void                *ctx;
} reader_t;

static int read_word(const reader_t *r, uint64_t addr, uint64_t *out)
{
    return r->fn(r->ctx, addr, out, sizeof *out);
}

/* The counter of width bytes at addr; -1 when unreadable. */
static int read_count(const reader_t *r, uint64_t addr, const rs_counter_spec_t *c,
                      int64_t *out)
{
    uint8_t b[8];
    if (c->width > 8 || r->fn(r->ctx, addr, b, c->width) != 0)
        return -1;
    uint64_t u = 0;
    memcpy(&u, b, c->width);            /* little-endian: low bytes first */
    if (c->is_signed && c->width < 8 && (u >> (c->width * 8 - 1)) & 1)
        u |= ~0ull << (c->width * 8);
    *out = (int64_t)u;
    return 0;
}

/* ---- type names ------------------------------------------------------ */

/* Index of name in res->names, added if new; UINT32_MAX on OOM. */
static uint32_t name_index(rs_recognize_result_t *res, const char *name)
{
    for (uint32_t i = 0; i < res->n_names; i++)
        if (strcmp(res->names[i], name) == 0)
            return i;
    if (res->n_names == res->cap_names) {
        uint32_t cap = res->cap_names ? res->cap_names * 2 : 16;
        char **n = rs_mem_realloc(res->names, cap * sizeof *n);
        if (!n)
            return UINT32_MAX;
        res->names = n;
        res->cap_names = cap;
    }
    char *copy = rs_mem_strdup(name);
    if (!copy)
        return UINT32_MAX;
    res->names[res->n_names] = copy;
    return res->n_names++;
}

/* Reads the NUL-terminated string at addr (cut at RS_RECOGNIZE_MAX_NAME
 * bytes) into buf; "?" when unreadable or empty. */
static void read_name(const reader_t *r, uint64_t addr, char *buf)
{
    size_t n = 0;
    while (addr && n < RS_RECOGNIZE_MAX_NAME &&
           r->fn(r->ctx, addr + n, &buf[n], 1) == 0 && buf[n])
        n++;
    buf[n] = '\0';
    if (!n)
        memcpy(buf, "?", 2);
}

/* ---- type verdicts ----------------------------------------------------- */

static uint32_t type_home(uint64_t addr, uint32_t cap)
{
    return (uint32_t)((addr * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static int types_grow(rs_recognize_result_t *res)
{
    uint32_t cap = res->cap_types ? res->cap_types * 2 : 256;
    type_t *t = rs_mem_calloc(cap, sizeof *t);
    if (!t)
        return -1;
    for (uint32_t i = 0; i < res->cap_types; i++) {
        if (!res->types[i].addr)
            continue;
        uint32_t j = type_home(res->types[i].addr, cap);
        while (t[j].addr)
            j = (j + 1) & (cap - 1);
        t[j] = res->types[i];
    }
    rs_mem_free(res->types);
    res->types = t;
    res->cap_types = cap;
    return 0;
}

/* 1 when the chain of type words from t reaches the metatype. */
static int is_type(const reader_t *r, const rs_recognizer_t *spec, uint64_t metatype,
                   uint64_t t)
{
    for (int step = 0; step <= RS_RECOGNIZE_MAX_CHAIN; step++) {
        if (t == metatype)
            return 1;
        if (!t || (t & 7) || read_word(r, t + spec->type_word, &t) != 0)
            return 0;
    }
    return 0;
}

/* Fills the verdict on type address t (its slot already keyed). */
static int judge_type(const reader_t *r, const rs_recognizer_t *spec, uint64_t metatype,
                      type_t *v, rs_recognize_result_t *res)
{
    v->is_type = (uint8_t)is_type(r, spec, metatype, v->addr);
    if (!v->is_type)
        return 0;
    uint64_t name_ptr = 0;
    if ((spec->type_flags != RS_RECOGNIZE_NONE &&
         read_word(r, v->addr + spec->type_flags, &v->flags) != 0) ||
        (spec->type_size != RS_RECOGNIZE_NONE &&
         read_word(r, v->addr + spec->type_size, &v->size) != 0) ||
        read_word(r, v->addr + spec->type_name, &name_ptr) != 0) {
        v->is_type = 0;
        return 0;
    }
    char name[RS_RECOGNIZE_MAX_NAME + 1];
    read_name(r, name_ptr, name);
    v->name = name_index(res, name);
    return v->name == UINT32_MAX ? -1 : 0;
}

/* The verdict on t: cached for types; words that are not type pointers
 * (most of them) are judged again each time, so the cache holds only the
 * program's types.  NULL when memory ran out. */
static const type_t *type_verdict(const reader_t *r, const rs_recognizer_t *spec,
                                  uint64_t metatype, uint64_t t,
                                  rs_recognize_result_t *res)
{
    static const type_t not_a_type;          /* is_type 0 */
    if ((res->n_types + 1) * 2 > res->cap_types && types_grow(res) != 0)
        return NULL;
    uint32_t j = type_home(t, res->cap_types);
    for (; res->types[j].addr; j = (j + 1) & (res->cap_types - 1))
        if (res->types[j].addr == t && res->types[j].spec == spec)
            return &res->types[j];
    type_t v = { .addr = t, .spec = spec };
    if (judge_type(r, spec, metatype, &v, res) != 0)
        return NULL;
    if (!v.is_type)
        return &not_a_type;
    res->types[j] = v;
    res->n_types++;
    return &res->types[j];
}

/* ---- headers and nodes --------------------------------------------------- */

/* Every subset sum of spec's header sizes, ascending, without repeats. */
static uint32_t header_candidates(const rs_recognizer_t *spec,
                                  uint32_t out[1u << RS_RECOGNIZE_MAX_HEADERS])
{
    uint32_t n = 0;
    for (uint32_t set = 0; set < (1u << spec->n_headers); set++) {
        uint32_t sum = 0;
        for (uint32_t k = 0; k < spec->n_headers; k++)
            if (set & (1u << k))
                sum += spec->header_size[k];
        uint32_t i = n;
        while (i > 0 && out[i - 1] > sum)
            i--;
        if (i > 0 && out[i - 1] == sum)
            continue;
        memmove(&out[i + 1], &out[i], (n - i) * sizeof *out);
        out[i] = sum;
        n++;
    }
    return n;
}

/* The header size type flags imply. */
static uint32_t header_of(const rs_recognizer_t *spec, uint64_t flags)
{
    uint32_t h = 0;
    for (uint32_t k = 0; k < spec->n_headers; k++)
        if (flags & spec->header_mask[k])
            h += spec->header_size[k];
    return h;
}

/* Marks node n as the object at header h of type v, whose counter holds
 * count. */
static void mark_node(const rs_recognizer_t *spec, rs_node_t *n, uint32_t h,
                      const type_t *v, int64_t count, rs_recognize_result_t *res)
{
    if (spec->immortal && count >= 0 && (uint64_t)count >= spec->immortal) {
        n->flags |= RS_NODE_IGNORED;
        res->immortal++;
        return;
    }
    n->flags |= RS_NODE_REFCOUNTED | (spec->counter.is_signed ? RS_NODE_RC_SIGNED : 0);
    n->type_id = RS_RECOGNIZE_TYPE_BASE + v->name;
    n->rc_offset = h + spec->counter.offset;
    n->rc_width = spec->counter.width;
    n->refcount = count;
    n->flags |= (h / 8) << RS_NODE_HEADER_SHIFT;
    res->objects++;
}

/* A header holds pointers (CPython's PyGC_Head links, the managed dict's
 * pointers) or 0: every word is 0 or an address a process may map, from
 * 64 KiB up to the end of x86-64's user space (2^47).  The word next to
 * the object, _gc_prev, may carry flag bits in its low 3 bits (an
 * untracked, finalized object's is 1 alone).  A GType's
 * qdata array, {quark, data} pairs sorted by quark whose later data is a
 * PyGObject class, passes every other test of an object after a 16- or
 * 32-byte header: its header is quark words and pointers, a quark word
 * being a small number, or, when the 4 bytes of padding after the 32-bit
 * quark hold the allocator's fill (MALLOC_PERTURB_: 0x5a5a5a5a), a
 * number far above user space. */
#define RS_RECOGNIZE_MIN_POINTER 0x10000u
#define RS_RECOGNIZE_END_POINTER (1ull << 47)

static int header_plausible(const reader_t *r, uint64_t addr, uint64_t h)
{
    for (uint64_t off = 0; off < h; off += 8) {
        uint64_t w;
        if (read_word(r, addr + off, &w) != 0)
            return 0;
        if (off + 8 == h)               /* _gc_prev: flag bits */
            w &= ~(uint64_t)7;
        if (w != 0 && (w < RS_RECOGNIZE_MIN_POINTER || w >= RS_RECOGNIZE_END_POINTER))
            return 0;
    }
    return 1;
}

/* 1 when a count is the address of a byte of a live block: a pointer,
 * not a count.  A C module's state (CPython's multi-phase modules:
 * _sqlite3's and _ssl's) begins with pointers to heap types, so that
 * its third word, read as a count, is one and its fourth points to a GC
 * type: an object after a 16-byte PyGC_Head whose "header" swallowed
 * the pointers to the state (every pointer into a header is dropped),
 * reported as a leaked reference with 400 million references.  No real
 * count is also the address of a live block. */
static int counts_a_block(const rs_heap_t *heap, int64_t count)
{
    uint64_t v = (uint64_t)count;
    uint32_t i = rs_heapscan_find(heap, v);
    return i != UINT32_MAX && v < heap->nodes[i].addr + heap->nodes[i].size;
}

/* Tries the candidate headers on node n; -1 when memory ran out. */
static int try_node(const rs_heap_t *heap, const reader_t *r, const rs_recognizer_t *spec,
                    const rs_recognize_anchors_t *at, const uint32_t *cand,
                    uint32_t n_cand, rs_node_t *n, rs_recognize_result_t *res)
{
    uint64_t need = (uint64_t)spec->type_word + 8;     /* bytes the object needs */
    if (need < (uint64_t)spec->counter.offset + spec->counter.width)
        need = (uint64_t)spec->counter.offset + spec->counter.width;
    for (uint32_t c = 0; c < n_cand; c++) {
        uint64_t h = cand[c], t;
        if (h + need > n->size)
            return 0;
        if (read_word(r, n->addr + h + spec->type_word, &t) != 0 || !t || (t & 7))
            continue;
        const type_t *v = type_verdict(r, spec, at->metatype, t, res);
        if (!v)
            return -1;
        if (!v->is_type || header_of(spec, v->flags) != h)
            continue;
        if (spec->type_size != RS_RECOGNIZE_NONE &&
            (v->size < (uint64_t)spec->type_word + 8 ||
             (v->size > n->size - h && t != at->compact)))
            continue;
        /* A live object holds a reference at least.  A count below 1 is
         * no object's: a dict's keys table whose entry hashes an int that
         * is a type's address (CPython's tp_subclasses), read as a
         * negative count from the index bytes; or a dead object on a free
         * list.  Its type-like word is data. */
        int64_t count;
        if (read_count(r, n->addr + h + spec->counter.offset, &spec->counter, &count) != 0 ||
            count < 1 || counts_a_block(heap, count) || !header_plausible(r, n->addr, h))
            continue;
        mark_node(spec, n, (uint32_t)h, v, count, res);
        return 0;
    }
    return 0;
}

int rs_recognize_apply(rs_heap_t *heap, const rs_recognizer_t *spec,
                       const rs_recognize_anchors_t *at, rs_recognize_read_fn read,
                       void *ctx, rs_recognize_result_t *res)
{
    if (!at->metatype || !spec->counter.width)
        return 0;
    reader_t r = { read, ctx };
    uint32_t cand[1u << RS_RECOGNIZE_MAX_HEADERS];
    uint32_t n_cand = header_candidates(spec, cand);
    for (uint32_t i = 0; i < heap->n_nodes; i++) {
        rs_node_t *n = &heap->nodes[i];
        if (n->flags & (RS_NODE_REFCOUNTED | RS_NODE_IGNORED))
            continue;
        if (try_node(heap, &r, spec, at, cand, n_cand, n, res) != 0)
            return -1;
    }
    return 0;
}

void rs_recognize_remap(rs_heap_t *heap, uint32_t first_id)
{
    for (uint32_t i = 0; i < heap->n_nodes; i++) {
        rs_node_t *n = &heap->nodes[i];
        if ((n->flags & RS_NODE_REFCOUNTED) && n->type_id >= RS_RECOGNIZE_TYPE_BASE)
            n->type_id = first_id + (n->type_id - RS_RECOGNIZE_TYPE_BASE);
    }
}

void rs_recognize_result_free(rs_recognize_result_t *res)
{
    if (!res)
        return;
    for (uint32_t i = 0; i < res->n_names; i++)
        rs_mem_free(res->names[i]);
    rs_mem_free(res->names);
    rs_mem_free(res->types);
    memset(res, 0, sizeof *res);
}
