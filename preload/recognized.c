/*
 * recognized.c - objects found in the heap at analysis time by the
 * `recognize` lines of the profiles in REFSCOPE_HOOKS (profile.h; the
 * built-in `python`), for programs whose refcounting is inline.
 *
 * Three steps around the world stop of rs_analysis_run():
 *   prepare  (world running) resolves each recognizer's metatype,
 *            compact type and version symbols with dlsym (libpython may
 *            have been loaded since start-up) and checks the version
 *            range, saying once on stderr when it is out of range;
 *   apply    (world stopped, module table lock held, after the hooks'
 *            objects are marked) runs rs_recognize_apply over the nodes
 *            with a reader that only copies bytes lying inside a live
 *            block or a readable segment of a loaded module, so a stray
 *            type word never faults;
 *   types    (world running again) appends the recognised type names to
 *            the snapshot's type list and renumbers the nodes' type ids.
 * Nothing is interned in the type table: apply may not take its lock (a
 * stopped thread may hold it) and scratch memory dies with the analysis.
 * All memory is scratch memory (rs_scratch_begin) except the resolved
 * addresses, which are static.
 */
#include "elf_symbols.h"
#include "refcount.h"

#include "guard.h"
#include "heapscan.h"
#include "preload.h"
#include "profile.h"
#include "recognize.h"

#include <dlfcn.h>
#include <string.h>

static rs_recognize_anchors_t anchors[RS_PROFILE_MAX_RECOGNIZERS]; /* metatype 0: skip */
static int version_said[RS_PROFILE_MAX_RECOGNIZERS];

static void say_version(const rs_recognizer_t *r, unsigned long v, const char *profile)
{
    rs_line_t l = {.len = 0};
    rs_line_str(&l, "refscope: ");
    rs_line_str(&l, profile);
    rs_line_str(&l, ": ");
    rs_line_str(&l, r->version);
    rs_line_str(&l, " is 0x");
    char hex[17];
    int n = 0;
    do {
        hex[16 - ++n] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v && n < 16);
    hex[16] = '\0';
    rs_line_str(&l, hex + 16 - n);
    rs_line_str(&l, ", outside the range this profile knows; its objects are not recognised\n");
    rs_diag_emit(&l);
}

void rs_recognized_prepare(void)
{
    const rs_profile_set_t *set = rs_refhooks_profiles();
    for (uint32_t i = 0; set && i < set->n_recognizers; i++) {
        const rs_recognizer_t *r = &set->recognizers[i];
        anchors[i].metatype = (uint64_t)(uintptr_t)rs_elf_symbol(r->metatype);
        anchors[i].compact = r->compact ? (uint64_t)(uintptr_t)rs_elf_symbol(r->compact) : 0;
        const unsigned long *ver = r->version ? rs_elf_symbol(r->version) : NULL;
        if (!anchors[i].metatype || !ver)
            continue;
        if ((r->version_min && *ver < r->version_min) ||
            (r->version_max && *ver > r->version_max)) {
            if (!version_said[i]++)
                say_version(r, *ver, set->profiles[r->profile].name);
            anchors[i].metatype = 0;
        }
    }
}

/* What the reader may read: the sorted nodes and the modules' segments. */
typedef struct readable {
    const rs_heap_t    *heap;
    const rs_segment_t *segs;
    uint32_t            n_segs;
} readable_t;

static int read_mem(void *ctx, uint64_t addr, void *buf, size_t len)
{
    const readable_t *r = ctx;
    if (addr + len < addr)
        return -1;
    uint32_t i = rs_heapscan_find(r->heap, addr);
    int ok = i != UINT32_MAX &&
             addr + len <= r->heap->nodes[i].addr + r->heap->nodes[i].size;
    for (uint32_t s = 0; !ok && s < r->n_segs; s++)
        ok = addr >= r->segs[s].start && addr + len <= r->segs[s].end;
    if (!ok)
        return -1;
    memcpy(buf, (const void *)(uintptr_t)addr, len);
    return 0;
}

int rs_recognized_apply(rs_heap_t *heap, rs_recognize_result_t *res)
{
    memset(res, 0, sizeof *res);
    const rs_profile_set_t *set = rs_refhooks_profiles();
    if (!set || !set->n_recognizers)
        return 0;
    readable_t r = { heap, NULL, 0 };
    if (rs_modules_readable((rs_segment_t **)&r.segs, &r.n_segs) != 0)
        return -1;
    for (uint32_t i = 0; i < set->n_recognizers; i++)
        if (rs_recognize_apply(heap, &set->recognizers[i], &anchors[i], read_mem, &r,
                               res) != 0)
            return -1;
    return 0;
}

int rs_recognized_types(rs_heap_t *heap, const rs_recognize_result_t *res, char ***types,
                        uint32_t *n)
{
    if (!res->n_names)
        return 0;
    char **t = rs_mem_realloc(*types, (size_t)(*n + res->n_names) * sizeof *t);
    if (!t)
        return -1;
    memcpy(t + *n, res->names, res->n_names * sizeof *t);
    rs_recognize_remap(heap, *n + 1);
    *types = t;
    *n += res->n_names;
    return 0;
}
