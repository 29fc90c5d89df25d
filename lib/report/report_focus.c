/*
 * report_focus.c - the leaks a report is about (see report_focus.h).
 *
 * Three passes over the nodes: verdicts of the allocation stacks (cached
 * per stack id, each stack's modules found by its epoch), then which
 * cycle groups have a kept member (a sorted array of group ids, searched
 * by bisection), then each node's verdict by its class; an indirect
 * node follows its owner chain, bounded, to the leak it is charged to.
 */
#include "report_focus.h"

#include "classify.h"

#include <stdlib.h>
#include <string.h>

int rs_focus_is_python_extension(const char *path)
{
    if (!path || strstr(path, "/lib-dynload/"))
        return 0;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n < 4 || strcmp(base + n - 3, ".so") != 0 || strncmp(base, "lib", 3) == 0)
        return 0;
    /* NAME: an identifier up to the first '.'. */
    const char *s = base;
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return 0;
    for (; *s != '.'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static const rs_module_t *module_of(const rs_snapshot_t *snap, uint64_t pc, uint32_t epoch)
{
    for (uint32_t i = 0; i < snap->n_modules; i++) {
        const rs_module_t *m = &snap->modules[i];
        if (epoch < m->load_epoch || epoch >= m->unload_epoch)
            continue;
        for (uint32_t s = 0; s < m->n_segments; s++)
            if (pc >= m->segments[s].start && pc < m->segments[s].end)
                return m;
    }
    return NULL;
}

/* 1 when a frame of stack id lies in an extension module. */
static int stack_kept(const rs_snapshot_t *snap, uint32_t id, int8_t *cache)
{
    if (id == 0 || id > snap->n_stacks)
        return 0;
    if (cache[id] >= 0)
        return cache[id];
    const rs_stack_t *st = &snap->stacks[id - 1];
    int kept = 0;
    for (uint32_t f = 0; f < st->n_frames && !kept; f++) {
        const rs_module_t *m = module_of(snap, st->pcs[f], st->epoch);
        kept = m && rs_focus_is_python_extension(m->path);
    }
    return cache[id] = (int8_t)kept;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Sorted ids of the cycle groups with a kept member; *n of them. */
static uint32_t *kept_groups(const rs_snapshot_t *snap, int8_t *cache, uint32_t *n)
{
    const rs_heap_t *h = &snap->heap;
    uint32_t *ids = malloc((h->n_nodes ? h->n_nodes : 1) * sizeof *ids);
    *n = 0;
    if (!ids)
        return NULL;
    for (uint32_t i = 0; i < h->n_nodes; i++)
        if (h->nodes[i].cls == RS_CLASS_CYCLE && stack_kept(snap, h->nodes[i].stack_id, cache))
            ids[(*n)++] = h->nodes[i].owner;
    qsort(ids, *n, sizeof *ids, cmp_u32);
    return ids;
}

/* Whether node i (not indirect) is the focus's leak. */
static int leak_kept(const rs_snapshot_t *snap, uint32_t i, int8_t *cache,
                     const uint32_t *groups, uint32_t n_groups)
{
    const rs_node_t *n = &snap->heap.nodes[i];
    if (n->cls == RS_CLASS_CYCLE)
        return bsearch(&n->owner, groups, n_groups, sizeof *groups, cmp_u32) != NULL;
    return stack_kept(snap, n->stack_id, cache);
}

/* The verdict on indirect node i: its own stack, else its charge root's
 * (root: rs_charge_roots()'s answer for i). */
static int indirect_kept(const rs_snapshot_t *snap, uint32_t i, uint32_t root, int8_t *cache,
                         const uint32_t *groups, uint32_t n_groups)
{
    if (stack_kept(snap, snap->heap.nodes[i].stack_id, cache))
        return 1;
    return root != UINT32_MAX && leak_kept(snap, root, cache, groups, n_groups);
}

int rs_focus_hidden(const rs_snapshot_t *snap, rs_focus_t focus, uint8_t **hidden)
{
    *hidden = NULL;
    if (focus == RS_FOCUS_ALL)
        return 0;
    const rs_heap_t *h = &snap->heap;
    size_t n = h->n_nodes ? h->n_nodes : 1;
    int8_t *cache = malloc((size_t)snap->n_stacks + 1);
    uint8_t *out = calloc(n, 1);
    uint32_t *roots = malloc(n * sizeof *roots), *path = malloc(n * sizeof *path);
    uint32_t n_groups = 0;
    uint32_t *groups = cache ? (memset(cache, -1, (size_t)snap->n_stacks + 1),
                                kept_groups(snap, cache, &n_groups)) : NULL;
    if (!cache || !out || !groups || !roots || !path) {
        free(cache);
        free(out);
        free(groups);
        free(roots);
        free(path);
        return -1;
    }
    rs_charge_roots(h, roots, path);
    free(path);
    for (uint32_t i = 0; i < h->n_nodes; i++) {
        rs_class_t c = (rs_class_t)h->nodes[i].cls;
        if (c == RS_CLASS_LEAKED || c == RS_CLASS_LEAKED_REF || c == RS_CLASS_CYCLE)
            out[i] = !leak_kept(snap, i, cache, groups, n_groups);
        else if (c == RS_CLASS_INDIRECT)
            out[i] = !indirect_kept(snap, i, roots[i], cache, groups, n_groups);
        else if (c == RS_CLASS_REACHABLE)
            out[i] = !stack_kept(snap, h->nodes[i].stack_id, cache);
    }
    free(cache);
    free(groups);
    free(roots);
    *hidden = out;
    return 0;
}
