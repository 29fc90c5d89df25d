/*
 * registry_tables.c - the tables a profile's `registry` lines describe
 * (profile.h; GLib's signal handler tables), found in the running program
 * and marked in its heap graph (lib/model/registry_edges.h).
 *
 * Two steps around the world stop of rs_analysis_run():
 *   prepare (world running, before scratch memory) resolves, once per
 *           line, the library's version (the exported unsigned variables
 *           PREFIX_major_version, _minor_ and _micro_), the hash and
 *           equal functions (dlsym) and the writable segments of the
 *           line's library (dl_iterate_phdr); a line whose version is out
 *           of range or whose library or function is missing never
 *           applies.  Kept in static memory: an analysis in final mode
 *           (no prepare: it may not call the loader) uses what an earlier
 *           one found.  Tried again while the library is not loaded.
 *   mark    (world stopped, after the weak lines' marks) looks at every
 *           pointer from such a segment to a 96-byte block, reads the
 *           block as a GHashTable header, and when its functions are the
 *           line's and it has no destroy function, marks its entries.
 * Memory read: only live blocks (the table, its hashes array), whose
 * bounds the graph gives; no lock is taken.
 */
#include "elf_symbols.h"
#include "refcount.h"

#include "heapscan.h"
#include "preload.h"
#include "profile.h"
#include "registry_edges.h"
#include "rs_mem.h"

#include <dlfcn.h>
#include <link.h>
#include <string.h>

#define RT_LINES    8     /* registry lines looked after, in all profiles */
#define RT_SEGMENTS 4     /* writable segments of a library               */
#define RT_TABLES   16    /* tables marked in one analysis                 */

enum { RT_UNKNOWN, RT_NO, RT_YES };

/* What is known about one registry line. */
typedef struct rt_line {
    const rs_registry_spec_t *spec;
    uint8_t   state;                 /* RT_*                                */
    uint64_t  hash, equal;           /* resolved functions (0: none)        */
    uint32_t  n_segs;
    rs_span_t segs[RT_SEGMENTS];     /* the library's writable segments     */
} rt_line_t;

static rt_line_t lines[RT_LINES];
static uint32_t n_lines;

/* ---- prepare --------------------------------------------------------------- */

static int version_var(const char *prefix, const char *part, unsigned *out)
{
    char name[300];
    size_t n = strlen(prefix);
    if (n + strlen(part) + 1 > sizeof name)
        return -1;
    memcpy(name, prefix, n);
    strcpy(name + n, part);
    const unsigned *v = rs_elf_symbol(name);
    if (!v)
        return -1;
    *out = *v;
    return 0;
}

int rs_registry_version_ok(const char *prefix, const rs_version_range_t *r)
{
    unsigned major, minor, micro;
    return version_var(prefix, "_major_version", &major) == 0 &&
           version_var(prefix, "_minor_version", &minor) == 0 &&
           version_var(prefix, "_micro_version", &micro) == 0 &&
           rs_version_range_has(r, major, minor, micro);
}

/* 1 when path's file name is name. */
static int file_named(const char *path, const char *name)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    return path && strcmp(slash ? slash + 1 : path, name) == 0;
}

static int collect_segments(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    rt_line_t *l = arg;
    if (!file_named(info->dlpi_name, l->spec->module))
        return 0;
    for (int i = 0; i < info->dlpi_phnum && l->n_segs < RT_SEGMENTS; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W)) {
            uint64_t start = info->dlpi_addr + ph->p_vaddr;
            l->segs[l->n_segs++] = (rs_span_t){ start, start + ph->p_memsz };
        }
    }
    return 1;
}

/* Resolves line l; leaves it RT_UNKNOWN while its library is not loaded. */
static void prepare_line(rt_line_t *l)
{
    const rs_registry_spec_t *s = l->spec;
    l->n_segs = 0;
    dl_iterate_phdr(collect_segments, l);
    if (!l->n_segs)
        return;
    void *hash = s->hash ? rs_elf_symbol(s->hash) : NULL;
    void *equal = s->equal ? rs_elf_symbol(s->equal) : NULL;
    int ok = rs_registry_version_ok(s->version_vars, &s->versions) && (!s->hash || hash) && (!s->equal || equal);
    l->hash = (uint64_t)(uintptr_t)hash;
    l->equal = (uint64_t)(uintptr_t)equal;
    l->state = ok ? RT_YES : RT_NO;
}

void rs_registry_tables_prepare(void)
{
    const rs_profile_set_t *set = rs_refhooks_profiles();
    if (!set)
        return;
    if (!n_lines)
        for (uint32_t p = 0; p < set->n_profiles; p++)
            for (uint32_t k = 0; k < set->profiles[p].n_registry && n_lines < RT_LINES; k++)
                lines[n_lines++].spec = &set->profiles[p].registry[k];
    for (uint32_t i = 0; i < n_lines; i++)
        if (lines[i].state == RT_UNKNOWN)
            prepare_line(&lines[i]);
}

int rs_registry_tables_ready(void)
{
    for (uint32_t i = 0; i < n_lines; i++)
        if (lines[i].state == RT_YES)
            return 1;
    return 0;
}

/* ---- mark ------------------------------------------------------------------ */

typedef struct rt_ctx {
    rs_heap_t          *heap;
    rs_registry_marks_t *marks;
    uint32_t            done[RT_TABLES];   /* table nodes marked already */
    uint32_t            n_done;
} rt_ctx_t;

/* 1 when line l applies and its library's writable segments hold addr. */
static int line_holds(const rt_line_t *l, uint64_t addr)
{
    for (uint32_t s = 0; l->state == RT_YES && s < l->n_segs; s++)
        if (addr >= l->segs[s].start && addr < l->segs[s].end)
            return 1;
    return 0;
}

/* 1 when the table's functions are line l's (hash= form) or, for a
 * key-size line, its hash function is set; no destroy function. */
static int table_matches(const rt_line_t *l, const rs_ghash_view_t *t)
{
    if (t->key_destroy || t->value_destroy || !t->hash_func)
        return 0;
    if (l->spec->key_size)
        return 1;
    return t->hash_func == l->hash && t->key_equal == l->equal;
}

/* hashes[slot] >= 2: in use (ghash.c's HASH_IS_REAL). */
static int slot_used(void *arg, uint64_t slot)
{
    const uint32_t *hashes = arg;
    return hashes[slot] >= 2;
}

/* 1 when the hashes array is a live block of at least `slots` entries. */
static int hashes_readable(const rs_heap_t *heap, const rs_ghash_view_t *t)
{
    uint32_t i = t->hashes ? rs_heapscan_find(heap, t->hashes) : UINT32_MAX;
    return i != UINT32_MAX && heap->nodes[i].addr == t->hashes &&
           t->size <= heap->nodes[i].size / sizeof(uint32_t);
}

/* 1 when node was marked already in this analysis (or RT_TABLES were:
 * no more is looked at); else remembers it. */
static int already_done(rt_ctx_t *c, uint32_t node)
{
    for (uint32_t i = 0; i < c->n_done; i++)
        if (c->done[i] == node)
            return 1;
    if (c->n_done == RT_TABLES)
        return 1;
    c->done[c->n_done++] = node;
    return 0;
}

/* Root edge re, from a registry line's library: marks the table it points
 * to when it is one.  -1 when memory ran out. */
static int try_table(rt_ctx_t *c, const rt_line_t *l, const rs_root_edge_t *re, uint64_t at)
{
    const rs_node_t *n = &c->heap->nodes[re->dst];
    if (n->size != RS_GHASH_SIZE || *(const uint64_t *)(uintptr_t)at != n->addr)
        return 0;
    rs_ghash_view_t t;
    rs_ghash_view_read((const void *)(uintptr_t)n->addr, &t);
    if (!table_matches(l, &t) || !hashes_readable(c->heap, &t) || already_done(c, re->dst))
        return 0;
    rs_registry_rule_t rule = { l->spec->owns_values, l->spec->key_size, l->spec->key_back,
                                l->spec->closure, l->spec->notifiers };
    return rs_registry_mark_table(c->heap, c->marks, &t, &rule, slot_used,
                                  (void *)(uintptr_t)t.hashes) < 0 ? -1 : 0;
}

void rs_registry_tables_mark(rs_heap_t *heap, rs_registry_marks_t *marks)
{
    if (!rs_registry_tables_ready())
        return;
    rt_ctx_t c = { .heap = heap, .marks = marks };
    for (uint64_t e = 0; e < heap->n_root_edges; e++) {
        const rs_root_edge_t *re = &heap->root_edges[e];
        const rs_root_t *r = &heap->roots[re->root];
        uint64_t at = r->start + re->offset;
        if (r->kind != RS_ROOT_GLOBAL || re->offset % 8)
            continue;
        for (uint32_t i = 0; i < n_lines; i++)
            if (line_holds(&lines[i], at) && try_table(&c, &lines[i], re, at) != 0) {
                rs_diag_oom();   /* the marks made are right; the rest count as before */
                return;
            }
    }
}
