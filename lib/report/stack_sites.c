/*
 * stack_sites.c - stacks of a snapshot grouped into sites (stack_sites.h).
 *
 * Each frame becomes a (file, offset) pair: the module holding its address
 * in the stack's epoch, named by the lowest module index with the same
 * path and build id (a library loaded again has a new entry), and the
 * address minus that load's bias; a frame in no module keeps its address
 * (file 0).  Stacks with equal pair lists are one site; a hash table
 * keyed by the list finds the first (lowest) id of each.
 *
 * Finding a frame's module: the modules' segments sorted by start, with
 * the largest end so far beside each; a binary search gives the last
 * segment starting at or below the address, and the scan goes down from
 * there only while some earlier segment still reaches past the address
 * (segments of modules of other epochs may overlap).  Cost: about
 * log2(segments) steps a frame, plus the hash of each stack.
 */
#include "stack_sites.h"

#include "uthash.h"

#include <stdlib.h>
#include <string.h>

typedef struct seg_entry {
    uint64_t start, end, reach;    /* reach: max end of entries [0, this] */
    uint32_t module;               /* index into snap->modules            */
} seg_entry_t;

typedef struct site_ref {
    const uint64_t *key;           /* 2 words a frame                     */
    uint32_t        id;
    UT_hash_handle  hh;
} site_ref_t;

static int cmp_seg(const void *a, const void *b)
{
    const seg_entry_t *x = a, *y = b;
    return (x->start > y->start) - (x->start < y->start);
}

static int same_file(const rs_module_t *a, const rs_module_t *b)
{
    return a->build_id_len == b->build_id_len &&
           memcmp(a->build_id, b->build_id, a->build_id_len) == 0 &&
           a->path && b->path && strcmp(a->path, b->path) == 0;
}

/* file[i]: 1 + the lowest index of a module with module i's file. */
static uint32_t *module_files(const rs_snapshot_t *snap)
{
    uint32_t *file = malloc((snap->n_modules ? snap->n_modules : 1) * sizeof *file);
    if (!file)
        return NULL;
    for (uint32_t i = 0; i < snap->n_modules; i++) {
        file[i] = i + 1;
        for (uint32_t k = 0; k < i; k++)
            if (same_file(&snap->modules[i], &snap->modules[k])) {
                file[i] = file[k];
                break;
            }
    }
    return file;
}

static seg_entry_t *segment_index(const rs_snapshot_t *snap, uint32_t *n_out)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < snap->n_modules; i++)
        n += snap->modules[i].n_segments;
    seg_entry_t *segs = malloc((n ? n : 1) * sizeof *segs);
    if (!segs)
        return NULL;
    n = 0;
    for (uint32_t i = 0; i < snap->n_modules; i++)
        for (uint32_t s = 0; s < snap->modules[i].n_segments; s++)
            segs[n++] = (seg_entry_t){ snap->modules[i].segments[s].start,
                                       snap->modules[i].segments[s].end, 0, i };
    qsort(segs, n, sizeof *segs, cmp_seg);
    uint64_t reach = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (segs[i].end > reach)
            reach = segs[i].end;
        segs[i].reach = reach;
    }
    *n_out = n;
    return segs;
}

/* The module holding pc in epoch, or -1. */
static int64_t module_at(const rs_snapshot_t *snap, const seg_entry_t *segs, uint32_t n,
                         uint64_t pc, uint32_t epoch)
{
    uint32_t lo = 0, hi = n;          /* first entry starting above pc */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (segs[mid].start <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (uint32_t i = lo; i-- > 0 && segs[i].reach > pc;) {
        const rs_module_t *m = &snap->modules[segs[i].module];
        if (pc < segs[i].end && epoch >= m->load_epoch && epoch < m->unload_epoch)
            return segs[i].module;
    }
    return -1;
}

static int any_unloaded(const rs_snapshot_t *snap)
{
    for (uint32_t i = 0; i < snap->n_modules; i++)
        if (snap->modules[i].unload_epoch != RS_EPOCH_LIVE)
            return 1;
    return 0;
}

/* Writes stack st's (file, offset) pairs into key (2 words a frame). */
static void site_key(const rs_snapshot_t *snap, const seg_entry_t *segs, uint32_t n_segs,
                     const uint32_t *file, const rs_stack_t *st, uint64_t *key)
{
    for (uint32_t f = 0; f < st->n_frames; f++) {
        uint64_t pc = st->pcs[f];
        int64_t m = module_at(snap, segs, n_segs, pc, st->epoch);
        key[2 * f] = m < 0 ? 0 : file[m];
        key[2 * f + 1] = m < 0 ? pc : pc - snap->modules[m].load_bias;
    }
}

uint32_t *rs_stack_sites(const rs_snapshot_t *snap)
{
    if (!snap || !snap->n_stacks || !any_unloaded(snap))
        return NULL;
    uint64_t words = 0;
    for (uint32_t i = 0; i < snap->n_stacks; i++)
        words += 2 * (uint64_t)snap->stacks[i].n_frames;
    uint32_t *sites = malloc(((size_t)snap->n_stacks + 1) * sizeof *sites);
    uint32_t *file = module_files(snap);
    uint32_t n_segs = 0;
    seg_entry_t *segs = segment_index(snap, &n_segs);
    uint64_t *keys = malloc((words ? words : 1) * sizeof *keys);
    site_ref_t *refs = calloc(snap->n_stacks, sizeof *refs), *table = NULL;
    int ok = sites && file && segs && keys && refs;
    uint64_t at = 0;
    for (uint32_t i = 0; ok && i < snap->n_stacks; i++) {
        const rs_stack_t *st = &snap->stacks[i];
        uint64_t *key = keys + at;
        size_t len = 2 * (size_t)st->n_frames * sizeof *key;
        at += 2 * (uint64_t)st->n_frames;
        site_key(snap, segs, n_segs, file, st, key);
        site_ref_t *found;
        HASH_FIND(hh, table, key, len, found);
        if (found) {
            sites[i + 1] = found->id;
            continue;
        }
        refs[i] = (site_ref_t){ .key = key, .id = i + 1 };
        HASH_ADD_KEYPTR(hh, table, refs[i].key, len, &refs[i]);
        sites[i + 1] = i + 1;
    }
    HASH_CLEAR(hh, table);
    free(refs);
    free(keys);
    free(segs);
    free(file);
    if (!ok) {
        free(sites);
        return NULL;
    }
    sites[0] = 0;
    return sites;
}
