/*
 * symbolize.c - offline symbolization with elfutils libdw (see
 * symbolize.h for the rules).
 *
 * Five caches, all uthash tables owned by the symbolizer:
 *  - files:   one entry per (path, recorded build id), holding a Dwfl
 *             with that single module reported at bias 0, or no Dwfl when
 *             the file is missing, unreadable or changed; a pc is looked
 *             up at its offset in the file (pc - the process's load
 *             bias), so one entry serves every process that loaded the
 *             file, wherever ASLR put it (`refscope run -- make`: 300
 *             processes, each cc1 and as opened once, not 46 times);
 *  - entries: one per (file entry, offset): the resolved frames (their
 *             address is set to the caller's pc on the way out);
 *  - strings: interned function and file names, so frames can point at
 *             them for the symbolizer's lifetime;
 *  - types:   struct types looked up by name in a file (for field names);
 *  - fields:  one per (type, offset): the member name there.
 * Invariants: a files entry never changes once created (a changed file
 * stays unusable for the whole run, so the warning is printed once), and
 * every cached frame's strings point into `strings` or a files entry.
 */
#include "symbolize.h"

#include "demangle.h"
#include "text_clean.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "uthash.h"

#define MAX_INLINE 16

typedef struct sym_file {
    char          *key;      /* "build id/path", the hash key            */
    char          *path;
    Dwfl          *dwfl;     /* NULL when the file cannot be used        */
    Dwfl_Module   *mod;
    UT_hash_handle hh;
} sym_file_t;

typedef struct sym_key {
    const sym_file_t *file;  /* NULL for pcs outside every module        */
    uint64_t          pc;    /* offset in the file (pc - load bias)      */
} sym_key_t;

typedef struct sym_entry {
    sym_key_t      key;
    uint32_t       n;
    rs_frame_t    *frames;
    UT_hash_handle hh;
} sym_entry_t;

typedef struct sym_string {
    char          *s;
    UT_hash_handle hh;
} sym_string_t;

/* A struct type looked up by name in one module file. */
typedef struct sym_type {
    char          *key;      /* "<file key>\n<type name>"                 */
    int            found;
    Dwarf_Die      die;      /* the struct/union, valid while file's Dwfl */
    UT_hash_handle hh;
} sym_type_t;

typedef struct sym_field_key {
    const sym_type_t *type;
    uint64_t          offset;
} sym_field_key_t;

typedef struct sym_field {
    sym_field_key_t key;
    const char     *name;    /* interned, NULL when unknown               */
    UT_hash_handle  hh;
} sym_field_t;

struct rs_symbolizer {
    FILE         *warnings;
    sym_file_t   *files;
    sym_entry_t  *entries;
    sym_string_t *strings;
    sym_type_t   *types;
    sym_field_t  *fields;
};

static char *debuginfo_path;

static const Dwfl_Callbacks offline_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

rs_symbolizer_t *rs_symbolizer_create(FILE *warnings)
{
    rs_symbolizer_t *s = calloc(1, sizeof *s);
    if (s)
        s->warnings = warnings;
    return s;
}

/* Deletes and frees every element (of type type) of the uthash table
 * head, after release(element) has freed what the element owns. */
#define FREE_TABLE(type, head, release)           \
    do {                                          \
        type *elt_, *tmp_;                        \
        HASH_ITER(hh, head, elt_, tmp_) {         \
            HASH_DEL(head, elt_);                 \
            release(elt_);                        \
            free(elt_);                           \
        }                                         \
    } while (0)

static void release_entry(sym_entry_t *e)
{
    free(e->frames);
}

static void release_file(sym_file_t *f)
{
    if (f->dwfl)
        dwfl_end(f->dwfl);
    free(f->key);
    free(f->path);
}

static void release_field(sym_field_t *f)
{
    (void)f; /* the name is interned in strings */
}

static void release_type(sym_type_t *t)
{
    free(t->key);
}

static void release_string(sym_string_t *s)
{
    free(s->s);
}

void rs_symbolizer_destroy(rs_symbolizer_t *s)
{
    if (!s)
        return;
    FREE_TABLE(sym_entry_t, s->entries, release_entry);
    FREE_TABLE(sym_file_t, s->files, release_file);
    FREE_TABLE(sym_field_t, s->fields, release_field);
    FREE_TABLE(sym_type_t, s->types, release_type);
    FREE_TABLE(sym_string_t, s->strings, release_string);
    free(s);
}

/* Returns the interned copy of str (NULL stays NULL), or NULL when memory
 * is exhausted (*oom is then set). */
static const char *intern(rs_symbolizer_t *s, const char *str, int *oom)
{
    if (!str)
        return NULL;
    sym_string_t *e;
    HASH_FIND_STR(s->strings, str, e);
    if (e)
        return e->s;
    e = calloc(1, sizeof *e);
    if (!e || !(e->s = strdup(str))) {
        free(e);
        *oom = 1;
        return NULL;
    }
    HASH_ADD_KEYPTR(hh, s->strings, e->s, strlen(e->s), e);
    return e->s;
}

/* ---- modules ---------------------------------------------------------- */

static int module_contains(const rs_module_t *m, uint64_t pc, uint32_t epoch)
{
    if (epoch < m->load_epoch || epoch >= m->unload_epoch)
        return 0;
    for (uint32_t i = 0; i < m->n_segments; i++)
        if (pc >= m->segments[i].start && pc < m->segments[i].end)
            return 1;
    return 0;
}

static const rs_module_t *find_module(const rs_module_t *mods, uint32_t n,
                                      uint64_t pc, uint32_t epoch)
{
    for (uint32_t i = 0; i < n; i++)
        if (module_contains(&mods[i], pc, epoch))
            return &mods[i];
    return NULL;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Opens m's file in a private Dwfl and checks its build id.  On any
 * problem f->dwfl stays NULL (frames will be unknown). */
static void open_module_file(rs_symbolizer_t *s, sym_file_t *f,
                             const rs_module_t *m)
{
    if (!m->path || m->path[0] != '/')
        return; /* [vdso] and the like: nothing on disk */
    struct stat st;
    if (stat(m->path, &st) != 0 || !S_ISREG(st.st_mode))
        return; /* a FIFO would block the open for ever (a corrupt snapshot) */
    Dwfl *dwfl = dwfl_begin(&offline_callbacks);
    if (!dwfl)
        return;
    dwfl_report_begin(dwfl);
    Dwfl_Module *mod = dwfl_report_elf(dwfl, base_name(m->path), m->path,
                                       -1, 0, true);
    dwfl_report_end(dwfl, NULL, NULL);
    if (!mod) {
        dwfl_end(dwfl);
        return;
    }
    const unsigned char *bits;
    GElf_Addr vaddr;
    int len = dwfl_module_build_id(mod, &bits, &vaddr);
    if (m->build_id_len && len > 0 &&
        (len != m->build_id_len || memcmp(bits, m->build_id, (size_t)len))) {
        char clean[RS_TEXT_CLEAN_BUF];
        if (s->warnings)
            fprintf(s->warnings, "refscope: warning: %s changed since the "
                    "run (build id differs); its frames are shown as ??\n",
                    rs_text_clean(m->path, clean, sizeof clean));
        dwfl_end(dwfl);
        return;
    }
    f->dwfl = dwfl;
    f->mod = mod;
}

/* Returns the file entry for m, creating (and opening) it on first use;
 * NULL when memory is exhausted. */
static sym_file_t *get_file(rs_symbolizer_t *s, const rs_module_t *m)
{
    char idhex[2 * sizeof m->build_id + 1] = "";
    for (unsigned i = 0; i < m->build_id_len && i < sizeof m->build_id; i++)
        snprintf(idhex + 2 * i, 3, "%02x", m->build_id[i]);
    const char *path = m->path ? m->path : "";
    size_t keylen = strlen(path) + sizeof idhex + 2;
    char *key = malloc(keylen);
    if (!key)
        return NULL;
    snprintf(key, keylen, "%s/%s", idhex, path);

    sym_file_t *f;
    HASH_FIND_STR(s->files, key, f);
    if (f) {
        free(key);
        return f;
    }
    f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        free(key);
        return NULL;
    }
    f->key = key;
    open_module_file(s, f, m);
    HASH_ADD_KEYPTR(hh, s->files, f->key, strlen(f->key), f);
    return f;
}

/* ---- DWARF ------------------------------------------------------------ */

static const char *die_string(Dwarf_Die *die, int attr)
{
    Dwarf_Attribute mem;
    Dwarf_Attribute *a = dwarf_attr_integrate(die, attr, &mem);
    return a ? dwarf_formstring(a) : NULL;
}

static const char *die_name(Dwarf_Die *die)
{
    return die_string(die, DW_AT_name);
}

/* A C++ function's mangled name (NULL for C): it says the namespace,
 * class and parameters that DW_AT_name leaves out. */
static const char *die_linkage_name(Dwarf_Die *die)
{
    const char *n = die_string(die, DW_AT_linkage_name);
    return n ? n : die_string(die, DW_AT_MIPS_linkage_name);
}

/* The call site (file, line) of an inlined subroutine DIE. */
static void call_site(Dwarf_Die *cudie, Dwarf_Die *inl, const char **file,
                      uint32_t *line)
{
    Dwarf_Attribute mem;
    Dwarf_Word v;
    *file = NULL;
    *line = 0;
    if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &mem), &v) == 0)
        *line = (uint32_t)v;
    Dwarf_Files *files;
    size_t nfiles;
    if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &mem), &v) == 0 &&
        dwarf_getsrcfiles(cudie, &files, &nfiles) == 0 && v < nfiles)
        *file = dwarf_filesrc(files, v, NULL, NULL);
}

static int is_function_tag(int tag)
{
    return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine;
}

/* Fills out[0..MAX_INLINE) from the DWARF scopes containing addr, the
 * innermost inlined function first.  Returns the number of frames (0
 * when the module has no DWARF for addr).  Strings are not interned yet. */
static uint32_t dwarf_frames(Dwfl_Module *mod, Dwarf_Addr addr,
                             rs_frame_t *out)
{
    const char *file = NULL;
    uint32_t line = 0;
    Dwfl_Line *l = dwfl_module_getsrc(mod, addr);
    if (l) {
        int lineno = 0;
        file = dwfl_lineinfo(l, NULL, &lineno, NULL, NULL, NULL);
        line = lineno > 0 ? (uint32_t)lineno : 0;
    }

    /* dwarf_getscopes() continues from an inlined subroutine into its
     * abstract definition; the concrete nesting (inlined subroutine inside
     * its caller) comes from dwarf_getscopes_die() on the innermost one. */
    uint32_t n = 0;
    Dwarf_Addr bias;
    Dwarf_Die *cudie = dwfl_module_addrdie(mod, addr, &bias);
    Dwarf_Die *scopes = NULL, *chain = NULL;
    int nscopes = cudie ? dwarf_getscopes(cudie, addr - bias, &scopes) : 0;
    int nchain = 0;
    for (int i = 0; i < nscopes; i++)
        if (is_function_tag(dwarf_tag(&scopes[i]))) {
            nchain = dwarf_getscopes_die(&scopes[i], &chain);
            break;
        }
    for (int i = 0; i < nchain && n < MAX_INLINE; i++) {
        int tag = dwarf_tag(&chain[i]);
        if (!is_function_tag(tag))
            continue;
        /* .function holds the linkage name until new_entry(). */
        out[n] = (rs_frame_t){ .symbol = die_name(&chain[i]),
                               .function = die_linkage_name(&chain[i]),
                               .file = file, .line = line,
                               .inlined = tag == DW_TAG_inlined_subroutine };
        n++;
        if (tag == DW_TAG_subprogram)
            break;
        call_site(cudie, &chain[i], &file, &line);
    }
    free(scopes);
    free(chain);
    if (n == 0 && file) {
        /* line table but no scope: keep the location, name from symtab */
        out[0] = (rs_frame_t){ .file = file, .line = line };
        n = 1;
    }
    return n;
}

/* Resolves pc, an offset in file f, into out[0..MAX_INLINE); returns the
 * count (>= 1).  Strings are not interned yet. */
static uint32_t resolve(const sym_file_t *f, uint64_t pc, rs_frame_t *out)
{
    if (!f || !f->mod) {
        out[0] = (rs_frame_t){ 0 };
        return 1;
    }
    Dwarf_Addr addr = pc ? pc - 1 : 0;
    uint32_t n = dwarf_frames(f->mod, addr, out);
    if (n == 0)
        out[n++] = (rs_frame_t){ 0 };
    if (!out[n - 1].symbol) {
        GElf_Off off;
        GElf_Sym sym;
        out[n - 1].symbol = dwfl_module_addrinfo(f->mod, addr, &off, &sym,
                                                 NULL, NULL, NULL);
        out[n - 1].function = NULL;
    }
    return n;
}

/* The name shown for frame t from resolve(): its linkage name or symbol
 * demangled, else its symbol; interned. */
static const char *shown_name(rs_symbolizer_t *s, const rs_frame_t *t, int *oom)
{
    char *readable = rs_demangle(t->function ? t->function : t->symbol);
    if (!readable)
        return intern(s, t->symbol ? t->symbol : t->function, oom);
    const char *name = intern(s, readable, oom);
    free(readable);
    return name;
}

/* Creates the cache entry for (f, pc), pc an offset in f when f is not
 * NULL.  NULL when memory is exhausted. */
static sym_entry_t *new_entry(rs_symbolizer_t *s, const sym_file_t *f, uint64_t pc)
{
    rs_frame_t tmp[MAX_INLINE];
    uint32_t n = resolve(f, pc, tmp);
    sym_entry_t *e = calloc(1, sizeof *e);
    rs_frame_t *frames = calloc(n, sizeof *frames);
    int oom = !e || !frames;
    for (uint32_t i = 0; i < n && !oom; i++) {
        frames[i] = tmp[i];
        frames[i].address = 0;     /* rs_symbolize_pc puts the caller's pc */
        frames[i].symbol = intern(s, tmp[i].symbol ? tmp[i].symbol : tmp[i].function, &oom);
        frames[i].function = shown_name(s, &tmp[i], &oom);
        frames[i].file = intern(s, tmp[i].file, &oom);
        frames[i].module = f ? f->path : NULL;
        frames[i].module_offset = f ? pc : 0;
    }
    if (oom) {
        free(frames);
        free(e);
        return NULL;
    }
    e->key.file = f;
    e->key.pc = pc;
    e->n = n;
    e->frames = frames;
    HASH_ADD(hh, s->entries, key, sizeof e->key, e);
    return e;
}

int rs_symbolize_pc(rs_symbolizer_t *s, const rs_module_t *mods,
                    uint32_t n_mods, uint64_t pc, uint32_t epoch,
                    rs_frame_t *out, uint32_t max)
{
    const rs_module_t *m = find_module(mods, n_mods, pc, epoch);
    sym_file_t *f = NULL;
    if (m && !(f = get_file(s, m)))
        return -1;

    sym_key_t key;
    memset(&key, 0, sizeof key);
    key.file = f;
    key.pc = f ? pc - m->load_bias : pc;
    sym_entry_t *e;
    HASH_FIND(hh, s->entries, &key, sizeof key, e);
    if (!e && !(e = new_entry(s, f, key.pc)))
        return -1;
    uint32_t n = e->n < max ? e->n : max;
    memcpy(out, e->frames, n * sizeof *out);
    for (uint32_t i = 0; i < n; i++)
        out[i].address = pc;
    return (int)n;
}

int rs_symbolize_snapshot_pc(rs_symbolizer_t *s, const rs_snapshot_t *snap, uint64_t pc,
                             uint32_t epoch, rs_frame_t *out, uint32_t max)
{
    if (!rs_pc_is_python(pc))
        return rs_symbolize_pc(s, snap->modules, snap->n_modules, pc, epoch, out, max);
    if (max == 0)
        return 0;
    uint64_t i = rs_pc_python_index(pc);
    const rs_pyloc_t *l = i < snap->n_pylocs ? &snap->pylocs[i] : NULL;
    memset(out, 0, sizeof *out);
    out->address = pc;
    out->python = 1;
    if (l) {
        out->function = out->symbol = l->function;
        out->file = l->file;
        out->line = l->line;
    }
    return 1;
}

/* ---- stacks for display ------------------------------------------------ */

int rs_symbolize_is_refscope(const rs_frame_t *f)
{
    return f->module && strncmp(base_name(f->module), "librefscope", 11) == 0;
}

int rs_symbolize_is_system_module(const char *path)
{
    static const char *const dirs[] = { "/lib/", "/lib64/", "/usr/lib/",
                                        "/usr/lib64/", "/usr/libexec/",
                                        "/lib32/", "/usr/lib32/" };
    if (!path)
        return 0;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (strncmp(path, dirs[i], strlen(dirs[i])) == 0)
            return 1;
    return strncmp(base_name(path), "ld-linux", 8) == 0;
}

/* Code a toolchain's headers or library sources put into the program. */
static int from_toolchain_sources(const char *file)
{
    return file && (strncmp(file, "/usr/include/", 13) == 0 ||
                    strncmp(file, "/rustc/", 7) == 0);
}

/* An installed CPython interpreter (/usr/bin/python3.11, libpython3.11.so
 * anywhere under /usr): for a summary, a library like the others.  Its
 * PyObject_Vectorcall says nothing of what allocated. */
static int is_installed_python(const char *path)
{
    if (!path || strncmp(path, "/usr/", 5) != 0)
        return 0;
    const char *b = base_name(path);
    if (strncmp(b, "lib", 3) == 0)
        b += 3;
    if (strncmp(b, "python3", 7) != 0)
        return 0;
    b += 7;
    if (*b == '.')
        b += 1 + strspn(b + 1, "0123456789");
    return *b == '\0' || strncmp(b, ".so", 3) == 0;
}

/* Python packages installed with the system (/usr/lib/python3/dist-
 * packages/gi/_gi...so): for a summary, code of the program's, as
 * `refscope run --python` counts them (an extension module's). */
static int in_python_packages(const char *path)
{
    return path && (strstr(path, "/dist-packages/") || strstr(path, "/site-packages/"));
}

/* Frames a summary passes over: system libraries (not Python packages),
 * the installed interpreter, code from a toolchain's headers; of Python
 * frames, those of modules installed under a system directory outside
 * dist-packages and site-packages (/usr/lib/python3.11/...). */
static int summary_passes_over(const rs_frame_t *f)
{
    if (f->python)     /* the standard library's Python code, not a package's */
        return rs_symbolize_is_system_module(f->file) && !in_python_packages(f->file);
    if (from_toolchain_sources(f->file) || is_installed_python(f->module))
        return 1;
    return rs_symbolize_is_system_module(f->module) && !in_python_packages(f->module);
}

/* A program's own generic allocation wrapper (xmalloc, xstrdup,
 * safe_calloc, my_realloc, PyMem_Malloc): its name, less any parameter
 * list, ends in a C allocator's name.  Typed allocators (widget_alloc)
 * say what was allocated and are not wrappers in this sense. */
static int is_allocation_wrapper(const char *function)
{
    static const char *const ends[] = { "malloc", "malloc0", "calloc",
                                        "realloc", "zalloc", "strdup",
                                        "strndup", "memdup" };
    const char *paren = strchr(function, '(');
    size_t len = paren ? (size_t)(paren - function) : strlen(function);
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        size_t k = strlen(ends[i]);
        if (len >= k && strncasecmp(function + len - k, ends[i], k) == 0)
            return 1;
    }
    return 0;
}

/* The runtime every library allocates through: the C and C++ libraries,
 * the loader, GLib and GObject (g_slice_alloc, g_hash_table_new_full,
 * g_type_create_instance, g_object_new).  A frame there says how, not
 * what, a library allocated. */
static int in_runtime_library(const char *path)
{
    static const char *const names[] = { "libc.so", "libstdc++.so", "libgcc_s.so",
                                          "ld-linux", "libglib-2.0.so",
                                          "libgobject-2.0.so" };
    const char *b = base_name(path);
    for (size_t i = 0; b && i < sizeof names / sizeof names[0]; i++)
        if (strncmp(b, names[i], strlen(names[i])) == 0)
            return 1;
    return 0;
}

/* The first frame of frames[0..n) that is no allocator or allocation
 * wrapper (and, with skip_runtime, outside the runtime libraries); when
 * unnamed, the first named frame of its module after it (a stripped
 * library's exported function), else itself.  NULL when there is none. */
static const rs_frame_t *first_library_frame(const rs_frame_t *frames, int n,
                                             int skip_runtime)
{
    int i = 0;
    while (i < n && ((skip_runtime && in_runtime_library(frames[i].module)) ||
                     (frames[i].function && (rs_symbolize_is_allocator(&frames[i]) ||
                                             is_allocation_wrapper(frames[i].function)))))
        i++;
    if (i == n)
        return NULL;
    for (int j = i; !frames[i].function && j < n; j++)
        if (frames[j].function && frames[j].module && frames[i].module &&
            strcmp(frames[j].module, frames[i].module) == 0)
            return &frames[j];
    return &frames[i];
}

/* rs_symbolize_summary_frame() for a stack without a frame of the
 * program (a thread a library started, a main loop's callback): the
 * first library frame outside the runtime (gdk_window_new, not
 * g_type_create_instance; FcFontRenderPrepare, not an unnamed fontconfig
 * frame), else the first frame that is no allocator (g_hash_table_new_full
 * for a table GLib made for itself), else frames[0]. */
static const rs_frame_t *library_summary_frame(const rs_frame_t *frames, int n)
{
    const rs_frame_t *f = first_library_frame(frames, n, 1);
    if (!f)
        f = first_library_frame(frames, n, 0);
    return f ? f : n > 0 ? &frames[0] : NULL;
}

const rs_frame_t *rs_symbolize_summary_frame(const rs_frame_t *frames, int n)
{
    int first_own = -1;       /* the program's first frame, named or not */
    int first_wrapper = -1;   /* its first allocation wrapper (xmalloc) */
    for (int i = 0; i < n; i++) {
        if (summary_passes_over(&frames[i]))
            continue;
        if (first_own < 0)
            first_own = i;
        if (!frames[i].function)
            continue;
        if (!is_allocation_wrapper(frames[i].function))
            return &frames[i];
        if (first_wrapper < 0)
            first_wrapper = i;
    }
    if (first_wrapper >= 0)
        return &frames[first_wrapper];
    if (first_own < 0)
        return library_summary_frame(frames, n);
    /* The program has no names (stripped): the library function it
     * called, the last named frame before its code. */
    for (int i = first_own - 1; i >= 0; i--)
        if (frames[i].function)
            return &frames[i];
    return &frames[0];
}

const char *rs_symbolize_frame_name(const rs_frame_t *f, char *buf, size_t len)
{
    if (f->function)
        snprintf(buf, len, "%s", f->function);
    else if (f->module)
        snprintf(buf, len, "?" "?(%s+0x%" PRIx64 ")", base_name(f->module), f->module_offset);
    else
        snprintf(buf, len, "?" "?(0x%" PRIx64 ")", f->address);
    return buf;
}

int rs_symbolize_is_allocator(const rs_frame_t *f)
{
    static const char *const names[] = {
        "malloc", "calloc", "realloc", "reallocarray", "free", "cfree",
        "posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc",
        "__libc_malloc", "__libc_calloc", "__libc_realloc", "__libc_free",
        "__libc_memalign", "__libc_valloc", "__libc_pvalloc",
    };
    if (!f->function)
        return 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(f->function, names[i]) == 0)
            return 1;
    return 0;
}

/* A refscope.h annotation wrapper (refscope_incref, ...) inlined into the
 * program: not the program's own code. */
static int is_annotation(const rs_frame_t *f)
{
    return f->function && strncmp(f->function, "refscope_", 9) == 0;
}

int rs_symbolize_stack(rs_symbolizer_t *s, const rs_snapshot_t *snap,
                       uint32_t stack_id, rs_frame_t *out, uint32_t max)
{
    if (stack_id == 0 || stack_id > snap->n_stacks)
        return 0;
    const rs_stack_t *st = &snap->stacks[stack_id - 1];
    uint32_t n = 0;
    for (uint32_t i = 0; i < st->n_frames && n < max; i++) {
        rs_frame_t tmp[MAX_INLINE];
        int k = rs_symbolize_snapshot_pc(s, snap, st->pcs[i], st->epoch, tmp, MAX_INLINE);
        if (k < 0)
            return -1;
        for (int j = 0; j < k && n < max; j++) {
            if (rs_symbolize_is_refscope(&tmp[j]))
                continue;
            if (n == 0 && (rs_symbolize_is_allocator(&tmp[j]) ||
                           is_annotation(&tmp[j])))
                continue;
            out[n++] = tmp[j];
        }
    }
    return (int)n;
}

/* ---- struct member names ------------------------------------------------ */

#define FIELD_MAX_DEPTH 8
#define FIELD_MAX_NAME  256

/* die's DW_AT_type, with typedefs and qualifiers peeled; 0 or -1. */
static int peeled_type(Dwarf_Die *die, Dwarf_Die *out)
{
    Dwarf_Attribute mem;
    Dwarf_Die cur;
    if (!dwarf_formref_die(dwarf_attr_integrate(die, DW_AT_type, &mem), &cur))
        return -1;
    return dwarf_peel_type(&cur, out) == 0 ? 0 : -1;
}

static int is_record(int tag)
{
    return tag == DW_TAG_structure_type || tag == DW_TAG_union_type;
}

/* How well a DIE name matches the type name: 2 exactly, 1 loosely
 * ("Pnode" for struct pnode, "GtkButton" for struct _GtkButton), else 0. */
static int name_match(const char *name, const char *type_name)
{
    if (!name)
        return 0;
    if (strcmp(name, type_name) == 0)
        return 2;
    if (strcasecmp(name, type_name) == 0 ||
        (name[0] == '_' && strcmp(name + 1, type_name) == 0))
        return 1;
    return 0;
}

/* How well the top-level DIE d names type_name (name_match) when it leads
 * to a defined struct or union, stored in *out; 0 when it does not. */
static int matches_type(Dwarf_Die *d, const char *type_name, Dwarf_Die *out)
{
    int tag = dwarf_tag(d);
    if (!is_record(tag) && tag != DW_TAG_typedef)
        return 0;
    int how = name_match(dwarf_diename(d), type_name);
    if (!how)
        return 0;
    if (tag == DW_TAG_typedef) {
        if (peeled_type(d, out) < 0)
            return 0;
    } else {
        *out = *d;
    }
    if (!is_record(dwarf_tag(out)) || dwarf_hasattr(out, DW_AT_declaration))
        return 0;
    return how;
}

/* Searches the top level of every CU of mod for type_name: the first
 * exact match, else the first loose one.  1 when found. */
static int find_type_die(Dwfl_Module *mod, const char *type_name,
                         Dwarf_Die *out)
{
    if (strncmp(type_name, "struct ", 7) == 0)
        type_name += 7;
    Dwarf_Addr bias;
    Dwarf_Die *cu = NULL, cand;
    int loose = 0;
    while ((cu = dwfl_module_nextcu(mod, cu, &bias))) {
        Dwarf_Die child;
        if (dwarf_child(cu, &child) != 0)
            continue;
        do {
            int how = matches_type(&child, type_name, &cand);
            if (how == 2) {
                *out = cand;
                return 1;
            }
            if (how == 1 && !loose) {
                *out = cand;
                loose = 1;
            }
        } while (dwarf_siblingof(&child, &child) == 0);
    }
    return loose;
}

/* The cached lookup of type_name in file f; NULL when memory is
 * exhausted. */
static sym_type_t *get_type(rs_symbolizer_t *s, sym_file_t *f,
                            const char *type_name)
{
    size_t len = strlen(f->key) + strlen(type_name) + 2;
    char *key = malloc(len);
    if (!key)
        return NULL;
    snprintf(key, len, "%s\n%s", f->key, type_name);
    sym_type_t *t;
    HASH_FIND_STR(s->types, key, t);
    if (t) {
        free(key);
        return t;
    }
    if (!(t = calloc(1, sizeof *t))) {
        free(key);
        return NULL;
    }
    t->key = key;
    t->found = f->mod && find_type_die(f->mod, type_name, &t->die);
    HASH_ADD_KEYPTR(hh, s->types, t->key, strlen(t->key), t);
    return t;
}

/* Appends text to buf (bounded); 0, or -1 when it does not fit. */
static int append(char *buf, size_t *len, const char *text)
{
    size_t n = strlen(text);
    if (*len + n + 1 > FIELD_MAX_NAME)
        return -1;
    memcpy(buf + *len, text, n + 1);
    *len += n;
    return 0;
}

static int member_at(Dwarf_Die *rec, uint64_t offset, char *buf, size_t *len,
                     int depth);

/* Continues a member name into the member's type t at offset rel: a
 * nested record adds ".x", an array "[i]" (and then its element). */
static int descend(Dwarf_Die *t, uint64_t rel, char *buf, size_t *len,
                   int depth)
{
    int tag = dwarf_tag(t);
    if (is_record(tag)) {
        size_t before = *len;
        if (append(buf, len, ".") < 0)
            return -1;
        if (member_at(t, rel, buf, len, depth + 1) == 0)
            return 0;
        buf[*len = before] = 0; /* e.g. padding: the outer name stays */
        return 0;
    }
    if (tag != DW_TAG_array_type)
        return 0;
    Dwarf_Die elem;
    Dwarf_Word esize;
    if (peeled_type(t, &elem) < 0 || dwarf_aggregate_size(&elem, &esize) != 0
        || esize == 0)
        return 0;
    char idx[32];
    snprintf(idx, sizeof idx, "[%" PRIu64 "]", rel / esize);
    if (append(buf, len, idx) < 0)
        return -1;
    return descend(&elem, rel % esize, buf, len, depth);
}

/* Appends the name of the member of record rec covering offset; 0, or -1
 * when no member covers it (or the name is too long or too deep). */
static int member_at(Dwarf_Die *rec, uint64_t offset, char *buf, size_t *len,
                     int depth)
{
    Dwarf_Die m;
    if (depth > FIELD_MAX_DEPTH || dwarf_child(rec, &m) != 0)
        return -1;
    do {
        if (dwarf_tag(&m) != DW_TAG_member)
            continue;
        Dwarf_Attribute mem;
        Dwarf_Word loc = 0, size;
        Dwarf_Attribute *a = dwarf_attr(&m, DW_AT_data_member_location, &mem);
        if (a && dwarf_formudata(a, &loc) != 0)
            continue; /* a location expression: not a plain offset */
        Dwarf_Die t;
        if (peeled_type(&m, &t) < 0 || dwarf_aggregate_size(&t, &size) != 0)
            continue;
        if (offset < loc || offset - loc >= size)
            continue;
        const char *name = dwarf_diename(&m);
        if (!name && is_record(dwarf_tag(&t))) /* anonymous struct/union */
            return member_at(&t, offset - loc, buf, len, depth + 1);
        if (append(buf, len, name ? name : "?") < 0)
            return -1;
        return descend(&t, offset - loc, buf, len, depth);
    } while (dwarf_siblingof(&m, &m) == 0);
    return -1;
}

/* The cached name of the member at offset of t; *oom set on failure. */
static const char *field_of(rs_symbolizer_t *s, const sym_type_t *t,
                            uint64_t offset, int *oom)
{
    sym_field_key_t key;
    memset(&key, 0, sizeof key);
    key.type = t;
    key.offset = offset;
    sym_field_t *fd;
    HASH_FIND(hh, s->fields, &key, sizeof key, fd);
    if (fd)
        return fd->name;
    char buf[FIELD_MAX_NAME] = "";
    size_t len = 0;
    Dwarf_Die die = t->die;
    const char *name = NULL;
    if (member_at(&die, offset, buf, &len, 0) == 0 && len)
        name = intern(s, buf, oom);
    if (*oom || !(fd = calloc(1, sizeof *fd))) {
        *oom = 1;
        return NULL;
    }
    fd->key = key;
    fd->name = name;
    HASH_ADD(hh, s->fields, key, sizeof key, fd);
    return name;
}

const char *rs_symbolize_field(rs_symbolizer_t *s, const rs_snapshot_t *snap,
                               uint32_t stack_id, const char *type_name,
                               uint64_t offset)
{
    if (!type_name || stack_id == 0 || stack_id > snap->n_stacks)
        return NULL;
    const rs_stack_t *st = &snap->stacks[stack_id - 1];
    const rs_module_t *tried[16];
    uint32_t n_tried = 0;
    for (uint32_t i = 0; i < st->n_frames; i++) {
        const rs_module_t *m = find_module(snap->modules, snap->n_modules,
                                           st->pcs[i], st->epoch);
        if (!m || !m->path ||
            strncmp(base_name(m->path), "librefscope", 11) == 0)
            continue;
        uint32_t k = 0;
        while (k < n_tried && tried[k] != m)
            k++;
        if (k < n_tried)
            continue;
        if (n_tried < sizeof tried / sizeof tried[0])
            tried[n_tried++] = m;
        sym_file_t *f = get_file(s, m);
        sym_type_t *t = f ? get_type(s, f, type_name) : NULL;
        /* "module.Type" (CPython's tp_name): the C struct is "Type". */
        const char *dot = strrchr(type_name, '.');
        if (t && !t->found && dot && dot[1])
            t = get_type(s, f, dot + 1);
        if (!t)
            return NULL; /* memory exhausted */
        if (!t->found)
            continue;
        int oom = 0;
        return field_of(s, t, offset, &oom);
    }
    return NULL;
}

const char *rs_symbolize_node_field(rs_symbolizer_t *s, const rs_snapshot_t *snap,
                                    const rs_node_t *n, const char *type_name,
                                    uint64_t offset)
{
    uint32_t header = rs_node_header(n);
    if (offset < header)
        return NULL;
    return rs_symbolize_field(s, snap, n->stack_id, type_name, offset - header);
}
