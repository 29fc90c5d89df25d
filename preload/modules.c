/*
 * modules.c - the table of loaded ELF modules (executable, shared
 * libraries, vdso) with their build ids, load bias and PT_LOAD segments.
 *
 * The table is append-only: a module that disappears (dlclose) keeps its
 * entry with unload_epoch set, so stacks captured while it was loaded can
 * still be symbolized offline.  Paths and segment arrays are never freed;
 * copies of the table may share them.
 *
 * Epochs.  Every stack stores the epoch current when it was captured; a
 * module belongs to epoch e when load_epoch <= e < unload_epoch.  The epoch
 * advances only when a module vanishes: the refresh that notices it sets
 * unload_epoch = ++epoch, and modules first seen in that same refresh get
 * load_epoch = epoch.  Modules that merely appeared get the current epoch
 * without advancing it.  This way a stack captured after a library was
 * mapped but before refscope noticed (the table is refreshed at start-up,
 * before and after every dlclose and at analysis; dlopen is not hooked,
 * see dl_hooks.c) still finds the library, and an address range reused by a
 * later library never resolves to the old one.
 *
 * Locking: one mutex guards the table; it is the outermost refscope lock.
 * dl_iterate_phdr (the loader's lock) is called with it held, never the
 * other way round.  The exit analysis takes it before stopping the world
 * and reads the table without calling into the loader.
 */
#include "guard.h"
#include "preload.h"

#include <elf.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

typedef struct mod_entry {
    rs_module_t m;
    uint64_t    phdr;      /* dlpi_phdr: with load_bias, the identity      */
    uint8_t     seen;      /* found by the refresh in progress             */
    uint8_t     is_self;   /* librefscope.so itself                        */
    uint8_t     is_vdso;
    uint8_t     is_loader; /* the dynamic linker (ld.so)                   */
} mod_entry_t;

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static mod_entry_t *mods;
static uint32_t n_mods, cap_mods;
_Atomic uint32_t rs_modules_cur_epoch;   /* read inline, see preload.h */
static int oom;

void rs_modules_lock(void) { pthread_mutex_lock(&table_lock); }
void rs_modules_unlock(void) { pthread_mutex_unlock(&table_lock); }

/* ---- reading one module from the loader's view ---------------------- */

static void read_build_id(rs_module_t *m, const struct dl_phdr_info *info)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
        const char *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            const char *name = p + sizeof *nh;
            const char *desc = name + ((nh->n_namesz + 3) & ~3u);
            const char *next = desc + ((nh->n_descsz + 3) & ~3u);
            if (next > end || next <= p)
                break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
                memcmp(name, "GNU", 4) == 0 && nh->n_descsz > 0) {
                size_t len = nh->n_descsz < sizeof m->build_id ? nh->n_descsz
                                                               : sizeof m->build_id;
                memcpy(m->build_id, desc, len);
                m->build_id_len = (uint8_t)len;
                return;
            }
            p = next;
        }
    }
}

static int is_vdso(const struct dl_phdr_info *info)
{
    uint64_t ehdr = getauxval(AT_SYSINFO_EHDR);
    uint64_t ph = (uint64_t)(uintptr_t)info->dlpi_phdr;
    return ehdr && ph >= ehdr && ph < ehdr + 4096;
}

/* An absolute path for the module, or NULL when memory ran out. */
static char *module_path(const struct dl_phdr_info *info, int vdso, int first)
{
    char buf[PATH_MAX];
    const char *name = info->dlpi_name;
    if (vdso)
        return rs_mem_strdup("[vdso]");
    if ((!name || !*name) && first) {
        ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
        if (n > 0) {
            buf[n] = '\0';
            return rs_mem_strdup(buf);
        }
        return rs_mem_strdup("");
    }
    if (name && *name && name[0] != '/' && realpath(name, buf))
        return rs_mem_strdup(buf);
    return rs_mem_strdup(name ? name : "");
}

static int contains(const rs_module_t *m, uint64_t addr)
{
    for (uint32_t i = 0; i < m->n_segments; i++)
        if (addr >= m->segments[i].start && addr < m->segments[i].end)
            return 1;
    return 0;
}

/* Fills e from info.  Returns 0, or -1 when memory ran out. */
static int make_entry(mod_entry_t *e, const struct dl_phdr_info *info, int first)
{
    memset(e, 0, sizeof *e);
    e->is_vdso = (uint8_t)is_vdso(info);
    e->phdr = (uint64_t)(uintptr_t)info->dlpi_phdr;
    e->m.load_bias = info->dlpi_addr;
    e->m.unload_epoch = RS_EPOCH_LIVE;
    uint32_t n_load = 0;
    for (int i = 0; i < info->dlpi_phnum; i++)
        n_load += info->dlpi_phdr[i].p_type == PT_LOAD;
    e->m.segments = rs_mem_calloc(n_load ? n_load : 1, sizeof *e->m.segments);
    e->m.path = module_path(info, e->is_vdso, first);
    if (!e->m.segments || !e->m.path) {
        rs_mem_free(e->m.segments);
        rs_mem_free(e->m.path);
        return -1;
    }
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        rs_segment_t *s = &e->m.segments[e->m.n_segments++];
        s->start = info->dlpi_addr + ph->p_vaddr;
        s->end = s->start + ph->p_memsz;
        s->flags = ph->p_flags;
    }
    read_build_id(&e->m, info);
    e->is_self = (uint8_t)contains(&e->m, (uint64_t)(uintptr_t)&table_lock);
    e->is_loader = getauxval(AT_BASE) != 0 && info->dlpi_addr == getauxval(AT_BASE);
    e->seen = 1;
    return 0;
}

/* ---- refresh ---------------------------------------------------------- */

static mod_entry_t *find_live(uint64_t bias, uint64_t phdr)
{
    for (uint32_t i = 0; i < n_mods; i++)
        if (mods[i].m.unload_epoch == RS_EPOCH_LIVE && mods[i].m.load_bias == bias &&
            mods[i].phdr == phdr)
            return &mods[i];
    return NULL;
}

static int append(const mod_entry_t *e)
{
    if (n_mods == cap_mods) {
        uint32_t cap = cap_mods ? cap_mods * 2 : 64;
        mod_entry_t *m = rs_mem_realloc(mods, cap * sizeof *m);
        if (!m)
            return -1;
        mods = m;
        cap_mods = cap;
    }
    mods[n_mods++] = *e;
    return 0;
}

/* dl_iterate_phdr callback: marks known modules seen, appends new ones. */
static int visit(struct dl_phdr_info *info, size_t size, void *arg)
{
    int *first = arg;
    int was_first = *first;
    *first = 0;
    mod_entry_t *known = find_live(info->dlpi_addr, (uint64_t)(uintptr_t)info->dlpi_phdr);
    if (known) {
        known->seen = 1;
        return 0;
    }
    mod_entry_t e;
    if (make_entry(&e, info, was_first) != 0 || append(&e) != 0)
        oom = 1;
    return 0;
}

/* Table lock held.  Postcondition: every module the loader lists has a
 * live entry; every live entry the loader no longer lists is unloaded. */
static void refresh_locked(void)
{
    uint32_t first_new = n_mods;
    for (uint32_t i = 0; i < n_mods; i++)
        mods[i].seen = 0;
    int first = 1;
    dl_iterate_phdr(visit, &first);

    uint32_t epoch = rs_modules_epoch();
    int vanished = 0;
    for (uint32_t i = 0; i < first_new; i++)
        vanished |= mods[i].m.unload_epoch == RS_EPOCH_LIVE && !mods[i].seen;
    if (vanished) {
        epoch++;
        for (uint32_t i = 0; i < first_new; i++)
            if (mods[i].m.unload_epoch == RS_EPOCH_LIVE && !mods[i].seen)
                mods[i].m.unload_epoch = epoch;
        atomic_store_explicit(&rs_modules_cur_epoch, epoch, memory_order_relaxed);
    }
    for (uint32_t i = first_new; i < n_mods; i++)
        mods[i].m.load_epoch = epoch;
}

void rs_modules_refresh(void)
{
    rs_guard_enter();
    pthread_mutex_lock(&table_lock);
    refresh_locked();
    int said = oom;
    pthread_mutex_unlock(&table_lock);
    if (said)
        rs_diag_oom();
    rs_guard_leave();
}

int rs_modules_init(void)
{
    rs_modules_refresh();
    return oom ? -1 : 0;
}

/* ---- readers ---------------------------------------------------------- */

/* Whether live module e is the one a text_range() call asks for. */
typedef int (*module_match_t)(const mod_entry_t *e, uint64_t arg);

static int has_flag(const mod_entry_t *e, uint64_t flag_offset)
{
    return *((const uint8_t *)e + flag_offset) != 0;
}

static int holds_address(const mod_entry_t *e, uint64_t addr)
{
    return contains(&e->m, addr);
}

/* [lo, hi) spanning the executable segments of the first live module
 * that match(e, arg) picks. */
static int text_range(module_match_t match, uint64_t arg, uint64_t *lo, uint64_t *hi)
{
    int found = 0;
    pthread_mutex_lock(&table_lock);
    for (uint32_t i = 0; i < n_mods && !found; i++) {
        if (mods[i].m.unload_epoch != RS_EPOCH_LIVE || !match(&mods[i], arg))
            continue;
        *lo = UINT64_MAX;
        *hi = 0;
        for (uint32_t s = 0; s < mods[i].m.n_segments; s++) {
            const rs_segment_t *seg = &mods[i].m.segments[s];
            if (!(seg->flags & PF_X))
                continue;
            *lo = seg->start < *lo ? seg->start : *lo;
            *hi = seg->end > *hi ? seg->end : *hi;
            found = 1;
        }
    }
    pthread_mutex_unlock(&table_lock);
    return found ? 0 : -1;
}

int rs_modules_self_text(uint64_t *lo, uint64_t *hi)
{
    return text_range(has_flag, offsetof(mod_entry_t, is_self), lo, hi);
}

int rs_modules_loader_text(uint64_t *lo, uint64_t *hi)
{
    return text_range(has_flag, offsetof(mod_entry_t, is_loader), lo, hi);
}

int rs_modules_text_of(uint64_t addr, uint64_t *lo, uint64_t *hi)
{
    return text_range(holds_address, addr, lo, hi);
}

int rs_modules_position(uint64_t addr)
{
    int pos = INT_MAX;
    pthread_mutex_lock(&table_lock);
    for (uint32_t i = 0; i < n_mods && pos == INT_MAX; i++)
        if (mods[i].m.unload_epoch == RS_EPOCH_LIVE && contains(&mods[i].m, addr))
            pos = (int)i;
    pthread_mutex_unlock(&table_lock);
    return pos;
}

int rs_modules_copy(rs_module_t **out, uint32_t *n)
{
    pthread_mutex_lock(&table_lock);
    rs_module_t *copy = rs_mem_calloc(n_mods ? n_mods : 1, sizeof *copy);
    if (copy)
        for (uint32_t i = 0; i < n_mods; i++)
            copy[i] = mods[i].m;
    *n = copy ? n_mods : 0;
    pthread_mutex_unlock(&table_lock);
    *out = copy;
    return copy ? 0 : -1;
}

/* glibc's data holds the allocator's arenas; see RS_ROOT_FLAG_EXACT. */
static int is_libc(const mod_entry_t *e)
{
    const char *base = e->m.path ? strrchr(e->m.path, '/') : NULL;
    base = base ? base + 1 : e->m.path;
    return base && strncmp(base, "libc.so", 7) == 0;
}

int rs_modules_global_roots(rs_rootvec_t *out)
{
    for (uint32_t i = 0; i < n_mods; i++) {
        const mod_entry_t *e = &mods[i];
        if (e->is_self || e->is_vdso || e->m.unload_epoch != RS_EPOCH_LIVE)
            continue;
        for (uint32_t s = 0; s < e->m.n_segments; s++) {
            const rs_segment_t *seg = &e->m.segments[s];
            if (!(seg->flags & PF_W))
                continue;
            rs_root_t r = {
                .start = seg->start,
                .size = seg->end - seg->start,
                .kind = RS_ROOT_GLOBAL,
                .module = i,
                .tid = 0,
                .flags = is_libc(e) ? RS_ROOT_FLAG_EXACT : 0,
            };
            if (rs_rootvec_push(out, &r) != 0)
                return -1;
        }
    }
    return 0;
}

int rs_modules_readable(rs_segment_t **out, uint32_t *n)
{
    uint32_t total = 0, k = 0;
    for (uint32_t i = 0; i < n_mods; i++)
        if (mods[i].m.unload_epoch == RS_EPOCH_LIVE)
            total += mods[i].m.n_segments;
    rs_segment_t *segs = rs_mem_calloc(total ? total : 1, sizeof *segs);
    *out = segs;
    *n = 0;
    if (!segs)
        return -1;
    for (uint32_t i = 0; i < n_mods; i++) {
        const mod_entry_t *e = &mods[i];
        if (e->m.unload_epoch != RS_EPOCH_LIVE)
            continue;
        for (uint32_t s = 0; s < e->m.n_segments; s++)
            if (e->m.segments[s].flags & PF_R)
                segs[k++] = e->m.segments[s];
    }
    *n = k;
    return 0;
}
