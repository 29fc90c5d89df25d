/*
 * report_groups.c - tallies of blocks by site, type, function or file
 * across snapshots (see report_groups.h).
 *
 * Rows live in a growable array and are found by key through a uthash
 * index.  Per snapshot, the row of each stack id (and, grouping by type,
 * of each type id) is cached in an array, so symbolization and hashing
 * happen once per distinct stack, not once per block: a snapshot of a
 * million blocks costs one pass over its nodes.
 */
#include "report_groups.h"

#include "report_array.h"
#include "text_clean.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#define NO_ROW UINT32_MAX

typedef struct row_index {
    const char    *key;       /* points at rows[row].key */
    uint32_t       row;
    UT_hash_handle hh;
} row_index_t;

struct rs_group_table {
    rs_group_by_t   by;
    uint32_t        class_mask;
    uint32_t        n_slots;
    rs_group_row_t *rows;
    uint32_t        n;
    size_t          cap;
    row_index_t    *index;
};

static const char *const by_names[] = { "site", "type", "function", "file" };

int rs_group_by_from_name(const char *s, rs_group_by_t *out)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, by_names[i]) == 0) {
            *out = (rs_group_by_t)i;
            return 0;
        }
    return -1;
}

const char *rs_group_by_name(rs_group_by_t by)
{
    return (unsigned)by < 4 ? by_names[by] : "?";
}

const char *rs_group_type_name(const rs_snapshot_t *snap, uint32_t type_id)
{
    if (type_id == 0 || type_id > snap->n_types || !snap->types)
        return NULL;
    return snap->types[type_id - 1];
}

rs_group_table_t *rs_group_table_create(rs_group_by_t by, uint32_t class_mask,
                                        uint32_t n_slots)
{
    rs_group_table_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->by = by;
    t->class_mask = class_mask;
    t->n_slots = n_slots ? n_slots : 1;
    return t;
}

void rs_group_table_destroy(rs_group_table_t *t)
{
    if (!t)
        return;
    row_index_t *e, *tmp;
    HASH_ITER(hh, t->index, e, tmp) {
        HASH_DEL(t->index, e);
        free(e);
    }
    for (uint32_t i = 0; i < t->n; i++) {
        free(t->rows[i].key);
        free(t->rows[i].label);
        free(t->rows[i].file);
        free(t->rows[i].cells);
    }
    free(t->rows);
    free(t);
}

uint32_t rs_group_table_rows(const rs_group_table_t *t)
{
    return t->n;
}

const rs_group_row_t *rs_group_table_row(const rs_group_table_t *t, uint32_t i)
{
    return i < t->n ? &t->rows[i] : NULL;
}

/* ---- building keys ------------------------------------------------------ */

/* A growable string. */
typedef struct sbuf {
    char  *s;
    size_t len, cap;
    int    oom;
} sbuf_t;

static void sb_add(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_add(sbuf_t *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap ? b->cap * 2 : 128) + (size_t)n;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

/* "function" of a frame; unknown: "??" with module and offset. */
static void add_function(sbuf_t *b, const rs_frame_t *f)
{
    char name[512];
    sb_add(b, "%s", rs_symbolize_frame_name(f, name, sizeof name));
}

/* "function" of the summary frame of frames[0..n) (symbolize.h), or
 * "(unknown stack)". */
static void add_top_function(sbuf_t *b, const rs_frame_t *frames, int n)
{
    if (n)
        add_function(b, rs_symbolize_summary_frame(frames, n));
    else
        sb_add(b, "(unknown stack)");
}

static void add_frame(sbuf_t *b, const rs_frame_t *f)
{
    add_function(b, f);
    if (f->file)
        sb_add(b, " %s:%" PRIu32, f->file, f->line);
}

typedef struct key_parts {
    char *key, *label, *file;
} key_parts_t;

static void free_parts(key_parts_t *p)
{
    free(p->key);
    free(p->label);
    free(p->file);
}

/* Key, label and file of a stack; returns -1 when memory is exhausted. */
static int stack_parts(rs_group_by_t by, const rs_snapshot_t *snap,
                       rs_symbolizer_t *sym, uint32_t stack_id,
                       const char *type, key_parts_t *out)
{
    static rs_frame_t frames[RS_SYMBOLIZE_MAX_FRAMES];
    int n = stack_id ? rs_symbolize_stack(sym, snap, stack_id, frames,
                                          RS_SYMBOLIZE_MAX_FRAMES) : 0;
    if (n < 0)
        return -1;
    sbuf_t key = { 0 }, label = { 0 }, file = { 0 };
    const rs_frame_t *top = rs_symbolize_summary_frame(frames, n);
    if (n == 0) {
        sb_add(&label, "(unknown stack)");
    } else {
        add_frame(&label, top);
        if (top->file)
            sb_add(&file, "%s:%" PRIu32, top->file, top->line);
    }
    switch (by) {
    case RS_GROUP_SITE:
        for (int i = 0; i < n; i++) {
            if (i)
                sb_add(&key, " < ");
            add_frame(&key, &frames[i]);
        }
        if (n == 0)
            sb_add(&key, "(unknown stack)");
        break;
    case RS_GROUP_FUNCTION:
        add_top_function(&key, frames, n);
        break;
    case RS_GROUP_FILE:
        sb_add(&key, "%s", n && top->file ? top->file : "??");
        break;
    case RS_GROUP_TYPE:
        if (type) {
            sb_add(&key, "%s", type);
        } else {
            sb_add(&key, "plain from ");
            add_top_function(&key, frames, n);
        }
        break;
    }
    if (by != RS_GROUP_SITE) { /* the key names the group: the label is it */
        free(label.s);
        label = (sbuf_t){ 0 };
        sb_add(&label, "%s", key.s ? key.s : "");
    }
    out->key = key.s;
    out->label = label.s;
    out->file = file.s;
    if (key.oom || label.oom || file.oom || !key.s || !label.s) {
        free_parts(out);
        memset(out, 0, sizeof *out);
        return -1;
    }
    return 0;
}

/* Row of key (taking ownership of parts), created if new; NO_ROW on OOM. */
static uint32_t find_or_add(rs_group_table_t *t, key_parts_t *parts)
{
    row_index_t *e;
    HASH_FIND_STR(t->index, parts->key, e);
    if (e) {
        free_parts(parts);
        return e->row;
    }
    if (rs_array_reserve(&t->rows, &t->cap, (size_t)t->n + 1, sizeof *t->rows) < 0)
        goto oom;
    rs_tally_t *cells = calloc(t->n_slots, sizeof *cells);
    e = malloc(sizeof *e);
    if (!cells || !e) {
        free(cells);
        free(e);
        goto oom;
    }
    rs_group_row_t *r = &t->rows[t->n];
    r->key = parts->key;
    r->label = parts->label;
    r->file = parts->file;
    r->cells = cells;
    e->key = r->key;
    e->row = t->n++;
    HASH_ADD_KEYPTR(hh, t->index, e->key, strlen(e->key), e);
    return e->row;
oom:
    free_parts(parts);
    return NO_ROW;
}

int rs_group_table_add(rs_group_table_t *t, uint32_t slot,
                       const rs_snapshot_t *snap, rs_symbolizer_t *sym)
{
    if (slot >= t->n_slots)
        return -1;
    /* by_stack[s] = row of stack id s (plain blocks when grouping by type);
     * by_type[y] = row of type id y. */
    uint32_t *by_stack = malloc(((size_t)snap->n_stacks + 1) * sizeof *by_stack);
    uint32_t *by_type = malloc(((size_t)snap->n_types + 1) * sizeof *by_type);
    int rc = 0;
    if (!by_stack || !by_type) {
        rc = -1;
        goto out;
    }
    memset(by_stack, 0xff, ((size_t)snap->n_stacks + 1) * sizeof *by_stack);
    memset(by_type, 0xff, ((size_t)snap->n_types + 1) * sizeof *by_type);
    for (uint32_t i = 0; i < snap->heap.n_nodes; i++) {
        const rs_node_t *nd = &snap->heap.nodes[i];
        if (t->class_mask && !(t->class_mask & (1u << nd->cls)))
            continue;
        uint32_t sid = nd->stack_id <= snap->n_stacks ? nd->stack_id : 0;
        const char *type = rs_group_type_name(snap, nd->type_id);
        uint32_t *cache = t->by == RS_GROUP_TYPE && type ? &by_type[nd->type_id]
                                                         : &by_stack[sid];
        if (*cache == NO_ROW) {
            key_parts_t parts;
            if (stack_parts(t->by, snap, sym, sid, t->by == RS_GROUP_TYPE ? type : NULL,
                            &parts) != 0 ||
                (*cache = find_or_add(t, &parts)) == NO_ROW) {
                rc = -1;
                goto out;
            }
        }
        rs_tally_t *cell = &t->rows[*cache].cells[slot];
        cell->blocks++;
        cell->bytes += nd->size;
    }
out:
    free(by_stack);
    free(by_type);
    return rc;
}

/* ---- same program ------------------------------------------------------- */

static const rs_module_t *exe_module(const rs_snapshot_t *s)
{
    for (uint32_t i = 0; i < s->n_modules; i++)
        if (s->modules[i].path && s->proc.exe &&
            strcmp(s->modules[i].path, s->proc.exe) == 0)
            return &s->modules[i];
    return NULL;
}

int rs_group_same_program(const rs_snapshot_t *a, const rs_snapshot_t *b,
                          char *why, size_t why_len)
{
    const char *ea = a->proc.exe ? a->proc.exe : "?";
    const char *eb = b->proc.exe ? b->proc.exe : "?";
    char ca[RS_TEXT_CLEAN_BUF], cb[RS_TEXT_CLEAN_BUF];   /* why is printed */
    if (strcmp(ea, eb) != 0) {
        snprintf(why, why_len, "the snapshots come from different programs "
                 "(%s, pid %d, and %s, pid %d), whose allocation sites are "
                 "unrelated", rs_text_clean(ea, ca, sizeof ca), (int)a->proc.pid,
                 rs_text_clean(eb, cb, sizeof cb), (int)b->proc.pid);
        return 0;
    }
    const rs_module_t *ma = exe_module(a), *mb = exe_module(b);
    if (ma && mb && ma->build_id_len && mb->build_id_len &&
        (ma->build_id_len != mb->build_id_len ||
         memcmp(ma->build_id, mb->build_id, ma->build_id_len) != 0)) {
        snprintf(why, why_len, "%s was rebuilt between the snapshots (its "
                 "build ids differ), so its allocation sites may have moved",
                 rs_text_clean(ea, ca, sizeof ca));
        return 0;
    }
    if (why_len)
        why[0] = '\0';
    return 1;
}
