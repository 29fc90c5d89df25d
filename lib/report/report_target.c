/*
 * report_target.c - TARGET resolution and names of blocks and roots (see
 * report_target.h).
 *
 * Per snapshot the namer caches, per stack id, the block's site and
 * function strings, and per module, its data symbols sorted by address
 * (read once with libelf), so naming a million blocks symbolizes each
 * stack once.
 */
#include "report_target.h"

#include "findings.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct data_sym {
    uint64_t start, size;
    char    *name;
} data_sym_t;

typedef struct module_syms {
    int         loaded;
    data_sym_t *syms;       /* sorted by start                          */
    uint32_t    n;
} module_syms_t;

struct rs_namer {
    const rs_snapshot_t *snap;
    rs_symbolizer_t     *sym;
    char               **site;       /* per stack id (0..n_stacks)        */
    char               **function;   /* per stack id                      */
    module_syms_t       *mods;       /* per module                        */
};

rs_namer_t *rs_namer_create(const rs_snapshot_t *snap, rs_symbolizer_t *sym)
{
    rs_namer_t *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->snap = snap;
    n->sym = sym;
    n->site = calloc((size_t)snap->n_stacks + 1, sizeof *n->site);
    n->function = calloc((size_t)snap->n_stacks + 1, sizeof *n->function);
    n->mods = calloc((size_t)snap->n_modules + 1, sizeof *n->mods);
    if (!n->site || !n->function || !n->mods) {
        rs_namer_destroy(n);
        return NULL;
    }
    return n;
}

void rs_namer_destroy(rs_namer_t *n)
{
    if (!n)
        return;
    for (uint32_t i = 0; n->site && i <= n->snap->n_stacks; i++) {
        free(n->site[i]);
        free(n->function[i]);
    }
    for (uint32_t i = 0; n->mods && i < n->snap->n_modules; i++) {
        for (uint32_t k = 0; k < n->mods[i].n; k++)
            free(n->mods[i].syms[k].name);
        free(n->mods[i].syms);
    }
    free(n->site);
    free(n->function);
    free(n->mods);
    free(n);
}

/* ---- blocks ------------------------------------------------------------ */

/* Fills the caches of stack id sid; leaves them NULL on failure. */
static void name_stack(rs_namer_t *n, uint32_t sid)
{
    static rs_frame_t frames[RS_SYMBOLIZE_MAX_FRAMES];
    if (n->site[sid])
        return;
    int k = sid ? rs_symbolize_stack(n->sym, n->snap, sid, frames,
                                     RS_SYMBOLIZE_MAX_FRAMES) : 0;
    char buf[1024];
    if (k <= 0) {
        n->site[sid] = strdup("(unknown stack)");
        n->function[sid] = strdup("??");
        return;
    }
    const rs_frame_t *f = rs_symbolize_summary_frame(frames, k);
    char name[512];
    const char *fn = rs_symbolize_frame_name(f, name, sizeof name);
    if (f->file)
        snprintf(buf, sizeof buf, "%s %s:%" PRIu32, fn, f->file, f->line);
    else
        snprintf(buf, sizeof buf, "%s", fn);
    n->site[sid] = strdup(buf);
    n->function[sid] = strdup(fn);
}

static uint32_t stack_of(const rs_namer_t *n, uint32_t node)
{
    uint32_t sid = n->snap->heap.nodes[node].stack_id;
    return sid <= n->snap->n_stacks ? sid : 0;
}

const char *rs_namer_function(rs_namer_t *n, uint32_t node)
{
    uint32_t sid = stack_of(n, node);
    name_stack(n, sid);
    return n->function[sid] ? n->function[sid] : "??";
}

static const char *type_of(const rs_snapshot_t *s, uint32_t node)
{
    uint32_t t = s->heap.nodes[node].type_id;
    return t && t <= s->n_types && s->types ? s->types[t - 1] : NULL;
}

const char *rs_namer_site(rs_namer_t *n, uint32_t node)
{
    const char *type = type_of(n->snap, node);
    if (type)
        return type;
    uint32_t sid = stack_of(n, node);
    name_stack(n, sid);
    return n->site[sid] ? n->site[sid] : "??";
}

const char *rs_namer_field(rs_namer_t *n, uint32_t node, uint64_t offset)
{
    const char *type = type_of(n->snap, node);
    if (!type)
        return NULL;
    return rs_symbolize_node_field(n->sym, n->snap, &n->snap->heap.nodes[node], type,
                                   offset);
}

/* ---- targets ------------------------------------------------------------ */

/* Index of the block containing addr, or -1. */
static long node_at(const rs_heap_t *h, uint64_t addr)
{
    uint32_t lo = 0, hi = h->n_nodes;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (h->nodes[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return -1;
    const rs_node_t *nd = &h->nodes[lo - 1];
    uint64_t size = nd->size ? nd->size : 1;
    return addr - nd->addr < size ? (long)(lo - 1) : -1;
}

static long one_node(uint32_t node, uint32_t **nodes, char *why, size_t len)
{
    *nodes = malloc(sizeof **nodes);
    if (!*nodes) {
        snprintf(why, len, "out of memory");
        return -1;
    }
    (*nodes)[0] = node;
    return 1;
}

static long by_finding(rs_namer_t *n, const char *num, uint32_t **nodes,
                       char *why, size_t len)
{
    char *end;
    errno = 0;
    unsigned long k = strtoul(num, &end, 10);   /* takes "-1", " 1": digits first */
    if (*num < '0' || *num > '9' || *end || errno || k == 0) {
        snprintf(why, len, "'#%s' is not a finding number (#1, #2, ...)", num);
        return -1;
    }
    rs_findings_t f;
    rs_findings_options_t opt = { 0 };
    if (rs_findings_build(n->snap, &opt, &f) != 0) {
        snprintf(why, len, "out of memory");
        return -1;
    }
    long rc;
    if (k > f.n) {
        snprintf(why, len, "there is no finding #%lu (the report has %" PRIu32 ")",
                 k, f.n);
        rc = 0;
    } else {
        rc = one_node(f.items[k - 1].first_node, nodes, why, len);
    }
    rs_findings_free(&f);
    return rc;
}

/* Every node for which match(n, i, name) holds. */
static long collect(rs_namer_t *n, const char *name,
                    int (*match)(rs_namer_t *, uint32_t, const char *),
                    uint32_t **nodes, char *why, size_t len)
{
    uint32_t count = 0, total = n->snap->heap.n_nodes;
    for (uint32_t i = 0; i < total; i++)
        count += match(n, i, name) != 0;
    if (!count)
        return 0;
    *nodes = malloc(count * sizeof **nodes);
    if (!*nodes) {
        snprintf(why, len, "out of memory");
        return -1;
    }
    count = 0;
    for (uint32_t i = 0; i < total; i++)
        if (match(n, i, name))
            (*nodes)[count++] = i;
    return count;
}

static int match_type(rs_namer_t *n, uint32_t i, const char *name)
{
    const char *t = type_of(n->snap, i);
    return t && strcmp(t, name) == 0;
}

static int match_function(rs_namer_t *n, uint32_t i, const char *name)
{
    return strcmp(rs_namer_function(n, i), name) == 0;
}

long rs_target_resolve(rs_namer_t *n, const char *target, uint32_t **nodes,
                       char *why, size_t len)
{
    *nodes = NULL;
    if (!target || !*target) {
        snprintf(why, len, "empty target");
        return -1;
    }
    if (target[0] == '#')
        return by_finding(n, target + 1, nodes, why, len);
    if (target[0] == '0' && (target[1] == 'x' || target[1] == 'X')) {
        char *end;
        errno = 0;
        unsigned long long a = strtoull(target + 2, &end, 16);
        if (!isxdigit((unsigned char)target[2]) || *end || errno) {
            snprintf(why, len, "'%s' is not a hexadecimal address", target);
            return -1;
        }
        long i = node_at(&n->snap->heap, a);
        if (i < 0) {
            snprintf(why, len, "no live block contains address %s", target);
            return 0;
        }
        return one_node((uint32_t)i, nodes, why, len);
    }
    long k = collect(n, target, match_type, nodes, why, len);
    if (k == 0)
        k = collect(n, target, match_function, nodes, why, len);
    if (k == 0)
        snprintf(why, len, "no block has type '%s' or was allocated in a "
                 "function named '%s'", target, target);
    return k;
}

/* ---- roots --------------------------------------------------------------- */

static int cmp_syms(const void *pa, const void *pb)
{
    const data_sym_t *a = pa, *b = pb;
    return a->start < b->start ? -1 : a->start > b->start;
}

/* Appends the data symbols of one symbol table section. */
static void read_symtab(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, module_syms_t *m)
{
    Elf_Data *data = elf_getdata(scn, NULL);
    if (!data || !sh->sh_entsize)
        return;
    size_t count = sh->sh_size / sh->sh_entsize;
    data_sym_t *syms = realloc(m->syms, (m->n + count) * sizeof *syms);
    if (!syms)
        return;
    m->syms = syms;
    for (size_t i = 0; i < count; i++) {
        GElf_Sym s;
        if (!gelf_getsym(data, (int)i, &s))
            continue;
        int type = GELF_ST_TYPE(s.st_info);
        if ((type != STT_OBJECT && type != STT_NOTYPE) || s.st_shndx == SHN_UNDEF ||
            s.st_value == 0)
            continue;
        const char *name = elf_strptr(elf, sh->sh_link, s.st_name);
        if (!name || !*name)
            continue;
        char *copy = strdup(name);
        if (!copy)
            return;
        m->syms[m->n++] = (data_sym_t){ s.st_value, s.st_size, copy };
    }
}

static void load_module_syms(const char *path, module_syms_t *m)
{
    m->loaded = 1;
    if (!path || elf_version(EV_CURRENT) == EV_NONE)
        return;
    /* Non-blocking, and a regular file only: a module path of a corrupt
     * snapshot naming a FIFO must not block the report. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0)
        return;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return;
    }
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    for (int want = SHT_SYMTAB; elf && m->n == 0; want = SHT_DYNSYM) {
        Elf_Scn *scn = NULL;
        while ((scn = elf_nextscn(elf, scn))) {
            GElf_Shdr sh;
            if (gelf_getshdr(scn, &sh) && sh.sh_type == (unsigned)want)
                read_symtab(elf, scn, &sh, m);
        }
        if (want == SHT_DYNSYM)
            break;
    }
    if (elf)
        elf_end(elf);
    close(fd);
    if (m->n > 1)
        qsort(m->syms, m->n, sizeof *m->syms, cmp_syms);
}

/* The symbol covering vaddr in module mi, or NULL. */
static const data_sym_t *data_symbol(rs_namer_t *n, uint32_t mi, uint64_t vaddr)
{
    module_syms_t *m = &n->mods[mi];
    if (!m->loaded)
        load_module_syms(n->snap->modules[mi].path, m);
    const data_sym_t *best = NULL;
    uint32_t lo = 0, hi = m->n;
    while (lo < hi) {                 /* last symbol with start <= vaddr */
        uint32_t mid = lo + (hi - lo) / 2;
        if (m->syms[mid].start <= vaddr)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (uint32_t i = lo; i-- > 0 && !best;) {
        const data_sym_t *s = &m->syms[i];
        if (vaddr < s->start + (s->size ? s->size : 1))
            best = s;
        if (vaddr - s->start > (1u << 20))
            break;
    }
    return best;
}

static const char *const reg_names[16] = {
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
    "rdi", "rsi", "rbp", "rbx", "rdx", "rax", "rcx", "rsp",
};

/* The frame of thread tid whose stack part holds addr, or NULL.  Frames
 * are sorted by tid, then depth (snapshot.h). */
static const rs_thread_frame_t *owning_frame(const rs_snapshot_t *s, uint32_t tid,
                                             uint64_t addr)
{
    const rs_thread_frame_t *f = s->thread_frames;
    uint32_t lo = 0, hi = s->n_thread_frames;
    while (lo < hi) {                 /* first frame of tid */
        uint32_t mid = lo + (hi - lo) / 2;
        if (f[mid].tid < tid)
            lo = mid + 1;
        else
            hi = mid;
    }
    const rs_thread_frame_t *best = NULL;
    for (uint32_t i = lo; i < s->n_thread_frames && f[i].tid == tid && f[i].sp <= addr; i++)
        best = &f[i];
    return best;
}

/* Fills the frame part of a stack root's name. */
static void name_frame(rs_namer_t *n, const rs_root_t *r, rs_root_name_t *out)
{
    const rs_snapshot_t *s = n->snap;
    const rs_thread_frame_t *f = owning_frame(s, r->tid, out->address);
    if (!f)
        return;
    out->has_frame = 1;
    out->frame = f->depth;
    out->frame_offset = out->address - f->sp;
    rs_frame_t fr[16];
    if (!n->sym || rs_symbolize_pc(n->sym, s->modules, s->n_modules, f->pc,
                                   s->frames_epoch, fr, 16) < 1)
        return;
    out->function = fr[0].function;
    out->file = fr[0].file;
    out->line = fr[0].line;
}

void rs_namer_root(rs_namer_t *n, uint32_t root, uint64_t offset, rs_root_name_t *out)
{
    memset(out, 0, sizeof *out);
    if (root >= n->snap->heap.n_roots) {
        out->kind = "unknown";
        return;
    }
    const rs_root_t *r = &n->snap->heap.roots[root];
    out->kind = rs_root_kind_name((rs_root_kind_t)r->kind);
    out->tid = r->tid;
    out->address = r->start + offset;
    if (r->kind == RS_ROOT_REGISTERS && offset / 8 < 16)
        out->reg = reg_names[offset / 8];
    if (r->kind == RS_ROOT_STACK && r->tid)
        name_frame(n, r, out);
    if (r->kind != RS_ROOT_GLOBAL || r->module >= n->snap->n_modules)
        return;
    const rs_module_t *m = &n->snap->modules[r->module];
    out->module = m->path;
    const data_sym_t *s = data_symbol(n, r->module, out->address - m->load_bias);
    if (s) {
        out->symbol = s->name;
        out->symbol_offset = out->address - m->load_bias - s->start;
    }
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

char *rs_root_name_format(const rs_root_name_t *r, char *buf, size_t len)
{
    const char *mod = r->module ? strrchr(r->module, '/') : NULL;
    mod = mod ? mod + 1 : r->module;
    if (r->symbol)
        snprintf(buf, len, "global '%s'+%" PRIu64 " (%s) at 0x%" PRIx64, r->symbol,
                 r->symbol_offset, mod ? mod : "?", r->address);
    else if (r->module)
        snprintf(buf, len, "global data of %s at 0x%" PRIx64, mod, r->address);
    else if (r->reg)
        snprintf(buf, len, "register %s of thread %" PRIu32, r->reg, r->tid);
    else if (r->has_frame && r->file && r->line)
        snprintf(buf, len, "%s of thread %" PRIu32 ", frame #%" PRIu32 " %s (%s:%" PRIu32
                 "), sp+0x%" PRIx64 " at 0x%" PRIx64, r->kind, r->tid, r->frame,
                 r->function ? r->function : "??", base_name(r->file), r->line,
                 r->frame_offset, r->address);
    else if (r->has_frame)
        snprintf(buf, len, "%s of thread %" PRIu32 ", frame #%" PRIu32 " %s, sp+0x%" PRIx64
                 " at 0x%" PRIx64, r->kind, r->tid, r->frame,
                 r->function ? r->function : "??", r->frame_offset, r->address);
    else if (r->tid)
        snprintf(buf, len, "%s of thread %" PRIu32 " at 0x%" PRIx64, r->kind, r->tid,
                 r->address);
    else if (strcmp(r->kind, "mmap") == 0)
        snprintf(buf, len, "memory the program mapped (mmap) at 0x%" PRIx64, r->address);
    else
        snprintf(buf, len, "%s root at 0x%" PRIx64, r->kind, r->address);
    return buf;
}
