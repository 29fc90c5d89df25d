/*
 * test_symbolize.c - unit tests of lib/symbolize: the test binary
 * describes its own modules (dl_iterate_phdr) as a snapshot would, then
 * symbolizes addresses of its own functions and call sites, and checks
 * the failure paths: pc in no module, wrong epoch, changed file (build id
 * mismatch, warned once), missing file, and frame filtering for display.
 * Struct member names (rs_symbolize_field; rs_symbolize_node_field after
 * a recognised object's header; dotted CPython type names) are looked up in the DWARF of
 * structs compiled into this very binary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbolize.h"

#define MAX_MODULES 64

typedef struct self_modules {
    rs_module_t mods[MAX_MODULES];
    uint32_t n;
} self_modules_t;

static void read_build_id(const struct dl_phdr_info *info, rs_module_t *m)
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
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
                memcmp(name, "GNU", 4) == 0 && nh->n_descsz <= 20) {
                memcpy(m->build_id, desc, nh->n_descsz);
                m->build_id_len = (uint8_t)nh->n_descsz;
                return;
            }
            p = desc + ((nh->n_descsz + 3) & ~3u);
        }
    }
}

static int add_module(struct dl_phdr_info *info, size_t size, void *data)
{
    self_modules_t *sm = data;
    if (sm->n == MAX_MODULES)
        return 1;
    rs_module_t *m = &sm->mods[sm->n];
    char exe[4096];
    if (info->dlpi_name[0]) {
        m->path = strdup(info->dlpi_name);
    } else {
        ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
        assert_true(len > 0);
        exe[len] = 0;
        m->path = strdup(exe);
    }
    m->load_bias = info->dlpi_addr;
    m->segments = calloc(info->dlpi_phnum, sizeof *m->segments);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        rs_segment_t *seg = &m->segments[m->n_segments++];
        seg->start = info->dlpi_addr + ph->p_vaddr;
        seg->end = seg->start + ph->p_memsz;
        seg->flags = ph->p_flags;
    }
    read_build_id(info, m);
    m->load_epoch = 0;
    m->unload_epoch = RS_EPOCH_LIVE;
    sm->n++;
    return 0;
}

static int setup(void **state)
{
    self_modules_t *sm = calloc(1, sizeof *sm);
    dl_iterate_phdr(add_module, sm);
    *state = sm;
    return sm->n ? 0 : -1;
}

static int teardown(void **state)
{
    self_modules_t *sm = *state;
    for (uint32_t i = 0; i < sm->n; i++) {
        free(sm->mods[i].path);
        free(sm->mods[i].segments);
    }
    free(sm);
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* ---- code to symbolize ------------------------------------------------ */

static volatile int sink;
static uint64_t captured_pc;
static int call_line;

__attribute__((noinline)) static void capture_return_address(void)
{
    captured_pc = (uint64_t)(uintptr_t)__builtin_return_address(0);
    sink++;
}

__attribute__((noinline)) static void calling_function(void)
{
    call_line = __LINE__ + 1;
    capture_return_address();
    sink++; /* keeps the call from being a tail call */
}

static int inline_line, outer_line;

static inline __attribute__((always_inline)) void inlined_helper(void)
{
    inline_line = __LINE__ + 1;
    capture_return_address();
    sink++;
}

__attribute__((noinline)) static void outer_function(void)
{
    outer_line = __LINE__ + 1;
    inlined_helper();
    sink++;
}

__attribute__((noinline)) int refscope_test_target(int x)
{
    sink += x;
    return sink * 3;
}

/* A function linked under a C++ mangled name (an asm label), as a C++
 * compiler emits one: DWARF gives DW_AT_name "rs_test_cxx" and
 * DW_AT_linkage_name "_ZN2rs4test9cxx_innerEi". */
int rs_test_cxx(int x) __asm__("_ZN2rs4test9cxx_innerEi");
__attribute__((noinline)) int rs_test_cxx(int x)
{
    sink += x;
    return sink * 5;
}

/* Types whose members rs_symbolize_field must name (the globals make sure
 * their DWARF is emitted). */
struct rs_test_link {
    struct rs_test_link *next, *prev;
};

typedef struct {
    int refcnt;
    int pad;
    struct rs_test_link link;   /* offset 8  */
    void *slots[4];             /* offset 24 */
    union {                     /* offset 56, anonymous */
        void *u_ptr;
        long  u_long;
    };
    struct rs_test_link ring[2]; /* offset 64 */
} rs_test_obj_t;

rs_test_obj_t rs_test_obj_instance;

struct _RsTestUnder {
    void *first;
    void *second;
};
struct _RsTestUnder rs_test_under_instance;
struct rs_test_link rs_test_link_instance;

/* ---- tests -------------------------------------------------------------- */

/* libc's own definition of name (not a sanitizer's interceptor). */
static void *libc_symbol(const char *name)
{
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    assert_non_null(libc);
    void *sym = dlsym(libc, name);
    dlclose(libc);
    return sym;
}

static void test_function_address(void **state)
{
    self_modules_t *sm = *state;
    rs_symbolizer_t *s = rs_symbolizer_create(stderr);
    rs_frame_t f[8];
    /* +1: the symbolizer looks up pc - 1, as for return addresses */
    uint64_t pc = (uint64_t)(uintptr_t)&refscope_test_target + 1;
    int n = rs_symbolize_pc(s, sm->mods, sm->n, pc, 0, f, 8);
    assert_true(n >= 1);
    assert_int_equal(f[n - 1].address, pc);
    assert_non_null(f[n - 1].function);
    assert_string_equal(f[n - 1].function, "refscope_test_target");
    assert_non_null(f[n - 1].file);
    assert_true(ends_with(f[n - 1].file, "test_symbolize.c"));
    assert_true(f[n - 1].line > 0);
    assert_non_null(f[n - 1].module);
    assert_true(ends_with(f[n - 1].module, "test_symbolize"));
    assert_int_equal(f[n - 1].module_offset, pc - sm->mods[0].load_bias);
    rs_symbolizer_destroy(s);
}

/* The same file loaded at another address (another process, ASLR):
 * the same frames, at that process's pc and the same offset. */
static void test_same_file_other_bias(void **state)
{
    self_modules_t *sm = *state;
    rs_symbolizer_t *s = rs_symbolizer_create(stderr);
    const uint64_t shift = 0x7f0000000000ull;
    rs_module_t moved = sm->mods[0];             /* the test program itself */
    rs_segment_t segs[16];
    assert_true(moved.n_segments <= 16);
    for (uint32_t i = 0; i < moved.n_segments; i++) {
        segs[i] = moved.segments[i];
        segs[i].start += shift;
        segs[i].end += shift;
    }
    moved.segments = segs;
    moved.load_bias += shift;
    uint64_t pc = (uint64_t)(uintptr_t)&refscope_test_target + 1;
    rs_frame_t f[8], g[8];
    int n = rs_symbolize_pc(s, sm->mods, sm->n, pc, 0, f, 8);
    int m = rs_symbolize_pc(s, &moved, 1, pc + shift, 0, g, 8);
    assert_int_equal(m, n);
    assert_string_equal(g[m - 1].function, "refscope_test_target");
    assert_ptr_equal(g[m - 1].function, f[n - 1].function);   /* interned */
    assert_int_equal(g[m - 1].line, f[n - 1].line);
    assert_int_equal(g[m - 1].address, pc + shift);
    assert_int_equal(f[n - 1].address, pc);
    assert_int_equal(g[m - 1].module_offset, f[n - 1].module_offset);
    assert_int_equal(f[n - 1].module_offset, pc - sm->mods[0].load_bias);
    rs_symbolizer_destroy(s);
}

static void test_return_address_line(void **state)
{
    self_modules_t *sm = *state;
    rs_symbolizer_t *s = rs_symbolizer_create(stderr);
    rs_frame_t f[8];
    calling_function();
    int n = rs_symbolize_pc(s, sm->mods, sm->n, captured_pc, 0, f, 8);
    assert_true(n >= 1);
    assert_string_equal(f[0].function, "calling_function");
    assert_true(ends_with(f[0].file, "test_symbolize.c"));
    assert_int_equal(f[0].line, call_line);
    assert_int_equal(f[0].address, captured_pc);
    /* a second lookup comes from the cache and is identical */
    rs_frame_t g[8];
    int m = rs_symbolize_pc(s, sm->mods, sm->n, captured_pc, 0, g, 8);
    assert_int_equal(m, n);
    assert_ptr_equal(g[0].function, f[0].function);
    assert_int_equal(g[0].line, f[0].line);
    rs_symbolizer_destroy(s);
}

static void test_inlined_frames(void **state)
{
    self_modules_t *sm = *state;
    rs_symbolizer_t *s = rs_symbolizer_create(stderr);
    rs_frame_t f[8];
    outer_function();
    int n = rs_symbolize_pc(s, sm->mods, sm->n, captured_pc, 0, f, 8);
    assert_int_equal(n, 2);
    assert_string_equal(f[0].function, "inlined_helper");
    assert_int_equal(f[0].inlined, 1);
    assert_int_equal(f[0].line, inline_line);
    assert_true(ends_with(f[0].file, "test_symbolize.c"));
    assert_string_equal(f[1].function, "outer_function");
    assert_int_equal(f[1].inlined, 0);
    assert_int_equal(f[1].line, outer_line);
    assert_true(ends_with(f[1].file, "test_symbolize.c"));
    assert_int_equal(f[1].address, captured_pc);
    /* a buffer of one gets the innermost frame only */
    assert_int_equal(rs_symbolize_pc(s, sm->mods, sm->n, captured_pc, 0, f, 1), 1);
    assert_string_equal(f[0].function, "inlined_helper");
    rs_symbolizer_destroy(s);
}

static void test_symtab_fallback_in_libc(void **state)
{
    self_modules_t *sm = *state;
    rs_symbolizer_t *s = rs_symbolizer_create(stderr);
    void *qs = libc_symbol("qsort");
    assert_non_null(qs);
    rs_frame_t f[8];
    uint64_t pc = (uint64_t)(uintptr_t)qs + 1;
    int n = rs_symbolize_pc(s, sm->mods, sm->n, pc, 0, f, 8);
    assert_true(n >= 1);
    assert_non_null(f[n - 1].module);
    assert_non_null(strstr(f[n - 1].module, "libc"));
    assert_non_null(f[n - 1].function);
    assert_non_null(strstr(f[n - 1].function, "qsort"));
    rs_symbolizer_destroy(s);
}

static void test_cxx_linkage_name_demangled(void **state)
{
    self_modules_t *sm = *state;
    rs_symbolizer_t *s = rs_symbolizer_create(stderr);
    rs_frame_t f[8];
    uint64_t pc = (uint64_t)(uintptr_t)&rs_test_cxx + 1;
    int n = rs_symbolize_pc(s, sm->mods, sm->n, pc, 0, f, 8);
    assert_true(n >= 1);
    assert_string_equal(f[n - 1].function, "rs::test::cxx_inner(int)");
    assert_string_equal(f[n - 1].symbol, "rs_test_cxx");
    /* a C function: both the same name */
    pc = (uint64_t)(uintptr_t)&refscope_test_target + 1;
    n = rs_symbolize_pc(s, sm->mods, sm->n, pc, 0, f, 8);
    assert_string_equal(f[n - 1].function, "refscope_test_target");
    assert_string_equal(f[n - 1].symbol, "refscope_test_target");
    rs_symbolizer_destroy(s);
}

/* libstdc++ (every Debian system has it) has no DWARF here: its symbol
 * table's mangled names are demangled. */
static void test_cxx_symtab_demangled(void **state)
{
    (void)state;
    void *lib = dlopen("libstdc++.so.6", RTLD_NOW);
    assert_non_null(lib);
    void *terminate = dlsym(lib, "_ZSt9terminatev");
    assert_non_null(terminate);
    void *mods = NULL;
    assert_int_equal(setup(&mods), 0);       /* the modules, libstdc++ now in */
    self_modules_t *sm = mods;
    rs_symbolizer_t *s = rs_symbolizer_create(stderr);
    rs_frame_t f[8];
    uint64_t pc = (uint64_t)(uintptr_t)terminate + 1;
    int n = rs_symbolize_pc(s, sm->mods, sm->n, pc, 0, f, 8);
    assert_true(n >= 1);
    assert_non_null(strstr(f[n - 1].module, "libstdc++"));
    assert_string_equal(f[n - 1].function, "std::terminate()");
    assert_string_equal(f[n - 1].symbol, "_ZSt9terminatev");
    rs_symbolizer_destroy(s);
    teardown(&mods);
    dlclose(lib);
}

/* Summaries skip system libraries, toolchain sources and unnamed frames. */
static void test_summary_frame(void **state)
{
    (void)state;
    const char *app = "/src/app/prog", *glib = "/usr/lib/x86_64-linux-gnu/libglib-2.0.so.0";
    rs_frame_t f[6] = {
        { .function = "g_malloc", .symbol = "g_malloc", .module = glib },
        { .function = "std::vector<int>::push_back(int&&)", .module = app,
          .file = "/usr/include/c++/12/bits/stl_vector.h", .line = 1294 },
        { .function = "alloc::alloc::alloc", .module = app,
          .file = "/rustc/59807616e1fa/library/alloc/src/alloc.rs", .line = 95 },
        { .function = NULL, .module = app },
        { .function = "make_widget", .symbol = "make_widget", .module = app,
          .file = "/src/app/widget.c", .line = 12 },
        { .function = "main", .symbol = "main", .module = app },
    };
    assert_ptr_equal(rs_symbolize_summary_frame(f, 6), &f[4]);
    /* no named frame of the program: the last named one before its code */
    assert_ptr_equal(rs_symbolize_summary_frame(f, 4), &f[2]);
    assert_ptr_equal(rs_symbolize_summary_frame(f + 4, 2), &f[4]);
    assert_null(rs_symbolize_summary_frame(f, 0));
    /* a stripped program calling GObject: g_object_new, not g_malloc */
    const char *gobj = "/usr/lib/x86_64-linux-gnu/libgobject-2.0.so.0";
    rs_frame_t g[4] = {
        { .function = "g_malloc", .module = glib },
        { .function = "g_object_new", .module = gobj },
        { .function = NULL, .module = "/usr/lib/x86_64-linux-gnu/libgio-2.0.so.0" },
        { .function = NULL, .module = "/usr/bin/gio" },
    };
    assert_ptr_equal(rs_symbolize_summary_frame(g, 4), &g[1]);
    /* all in system libraries: the first frame past GLib and GObject
     * (unnamed: shown as libgio's module and offset), and with only those,
     * the first that is no allocator; with only allocators, the first */
    assert_ptr_equal(rs_symbolize_summary_frame(g, 3), &g[2]);
    assert_ptr_equal(rs_symbolize_summary_frame(g, 2), &g[1]);
    assert_ptr_equal(rs_symbolize_summary_frame(g, 1), &g[0]);
    /* a thread fontconfig's user started (pango's font loading): the
     * first named frame, after the unnamed ones */
    const char *fc = "/usr/lib/x86_64-linux-gnu/libfontconfig.so.1";
    rs_frame_t t[4] = {
        { .function = NULL, .module = fc },
        { .function = NULL, .module = fc },
        { .function = "FcFontRenderPrepare", .module = fc },
        { .function = "start_thread", .module = "/usr/lib/x86_64-linux-gnu/libc.so.6" },
    };
    assert_ptr_equal(rs_symbolize_summary_frame(t, 4), &t[2]);
    assert_ptr_equal(rs_symbolize_summary_frame(t, 2), &t[0]);
    /* a stripped library's thread: its unnamed frame, not start_thread */
    assert_ptr_equal(rs_symbolize_summary_frame(t + 1, 1), &t[1]);
    t[2].module = "/usr/lib/x86_64-linux-gnu/libpangoft2-1.0.so.0";
    assert_ptr_equal(rs_symbolize_summary_frame(t, 4), &t[0]);
    /* GDK's window, made from GTK's main loop: the library function
     * that asked the runtime (GObject, GLib) for it */
    const char *gdk = "/usr/lib/x86_64-linux-gnu/libgdk-3.so.0";
    rs_frame_t gw[7] = {
        { .function = "g_malloc", .module = glib },
        { .function = "g_slice_alloc", .module = glib },
        { .function = "g_type_create_instance", .module = gobj },
        { .function = NULL, .module = gobj },
        { .function = "g_object_new", .module = gobj },
        { .function = "gdk_window_new", .module = gdk },
        { .function = "g_main_loop_run", .module = glib },
    };
    assert_ptr_equal(rs_symbolize_summary_frame(gw, 7), &gw[5]);
    /* only the runtime: its first frame that is no allocator */
    assert_ptr_equal(rs_symbolize_summary_frame(gw, 5), &gw[1]);
    /* the program's own allocation wrappers give way to their caller */
    const char *bash = "/usr/bin/bash";
    rs_frame_t w[5] = {
        { .function = "xmalloc", .module = bash },
        { .function = "Xstrdup(char const*)", .module = bash },
        { .function = "make_if_command", .module = bash },
        { .function = "widget_alloc", .module = app },
        { .function = "main", .module = bash },
    };
    assert_ptr_equal(rs_symbolize_summary_frame(w, 5), &w[2]);
    assert_ptr_equal(rs_symbolize_summary_frame(w + 3, 2), &w[3]);
    /* Python: a Debian-packaged extension module is the program's code,
     * the installed interpreter a library; the extension has no names */
    const char *gi = "/usr/lib/python3/dist-packages/gi/_gi.cpython-311-x86_64-linux-gnu.so";
    rs_frame_t py[5] = {
        { .function = "g_malloc", .module = glib },
        { .function = "g_strdup", .module = glib },
        { .function = NULL, .module = gi },
        { .function = "_PyObject_MakeTpCall", .module = "/usr/bin/python3.11" },
        { .function = "Py_RunMain", .module = "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0" },
    };
    assert_ptr_equal(rs_symbolize_summary_frame(py, 5), &py[1]);
    py[2].function = "_wrap_g_type_set_qdata";
    assert_ptr_equal(rs_symbolize_summary_frame(py, 5), &py[2]);
    /* a python3 built by hand is the program itself */
    py[2].module = "/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so";
    py[3].module = "/home/me/cpython/python";
    assert_ptr_equal(rs_symbolize_summary_frame(py, 5), &py[3]);
    /* a wrapper with no named caller is still the program's frame */
    w[2].function = NULL;
    w[4].function = NULL;
    assert_ptr_equal(rs_symbolize_summary_frame(w, 3), &w[0]);
    assert_ptr_equal(rs_symbolize_summary_frame(w + 1, 2), &w[1]);
    assert_true(rs_symbolize_is_system_module("/lib64/ld-linux-x86-64.so.2"));
    assert_true(rs_symbolize_is_system_module(glib));
    assert_false(rs_symbolize_is_system_module(app));
    assert_false(rs_symbolize_is_system_module(NULL));
}

static void test_pc_outside_modules(void **state)
{
    self_modules_t *sm = *state;
    rs_symbolizer_t *s = rs_symbolizer_create(stderr);
    rs_frame_t f[8];
    int n = rs_symbolize_pc(s, sm->mods, sm->n, 16, 0, f, 8);
    assert_int_equal(n, 1);
    assert_null(f[0].function);
    assert_null(f[0].file);
    assert_int_equal(f[0].line, 0);
    assert_null(f[0].module);
    assert_int_equal(f[0].address, 16);
    rs_symbolizer_destroy(s);
}

static void test_epoch_outside_module_life(void **state)
{
    self_modules_t *sm = *state;
    rs_symbolizer_t *s = rs_symbolizer_create(stderr);
    rs_module_t m = sm->mods[0];
    m.load_epoch = 3;
    m.unload_epoch = 5;
    uint64_t pc = (uint64_t)(uintptr_t)&refscope_test_target + 1;
    rs_frame_t f[8];
    int n = rs_symbolize_pc(s, &m, 1, pc, 5, f, 8);
    assert_int_equal(n, 1);
    assert_null(f[0].module);
    n = rs_symbolize_pc(s, &m, 1, pc, 2, f, 8);
    assert_int_equal(n, 1);
    assert_null(f[0].module);
    n = rs_symbolize_pc(s, &m, 1, pc, 4, f, 8);
    assert_true(n >= 1);
    assert_string_equal(f[n - 1].function, "refscope_test_target");
    rs_symbolizer_destroy(s);
}

static void test_build_id_mismatch(void **state)
{
    self_modules_t *sm = *state;
    char *warn = NULL;
    size_t warn_size = 0;
    FILE *w = open_memstream(&warn, &warn_size);
    rs_symbolizer_t *s = rs_symbolizer_create(w);
    rs_module_t m = sm->mods[0];
    assert_true(m.build_id_len > 0); /* gcc on Debian always adds one */
    m.build_id[0] ^= 0xff;
    uint64_t pc = (uint64_t)(uintptr_t)&refscope_test_target + 1;
    rs_frame_t f[8];
    for (int i = 0; i < 2; i++) {
        int n = rs_symbolize_pc(s, &m, 1, pc, 0, f, 8);
        assert_int_equal(n, 1);
        assert_null(f[0].function);
        assert_null(f[0].file);
        assert_string_equal(f[0].module, m.path);
        assert_int_equal(f[0].module_offset, pc - m.load_bias);
    }
    /* a different pc in the same changed file: still no new warning */
    rs_symbolize_pc(s, &m, 1, pc + 1, 0, f, 8);
    fflush(w);
    assert_non_null(strstr(warn, "changed since the run"));
    assert_null(strstr(strstr(warn, "changed") + 1, "changed"));
    rs_symbolizer_destroy(s);
    fclose(w);
    free(warn);
}

static void test_missing_file(void **state)
{
    self_modules_t *sm = *state;
    rs_symbolizer_t *s = rs_symbolizer_create(stderr);
    rs_module_t m = sm->mods[0];
    m.path = "/nonexistent/refscope/prog";
    uint64_t pc = (uint64_t)(uintptr_t)&refscope_test_target + 1;
    rs_frame_t f[8];
    int n = rs_symbolize_pc(s, &m, 1, pc, 0, f, 8);
    assert_int_equal(n, 1);
    assert_null(f[0].function);
    assert_string_equal(f[0].module, "/nonexistent/refscope/prog");
    assert_int_equal(f[0].module_offset, pc - m.load_bias);
    rs_symbolizer_destroy(s);
}

/* A module path naming a FIFO (a corrupt or crafted snapshot): the frame
 * is unknown at once; opening it would wait for a writer for ever (the
 * test would hang). */
static void test_module_path_fifo(void **state)
{
    self_modules_t *sm = *state;
    char fifo[] = "/tmp/test_symbolize_fifo.XXXXXX";
    int fd = mkstemp(fifo);
    assert_true(fd >= 0);
    close(fd);
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    rs_symbolizer_t *s = rs_symbolizer_create(stderr);
    rs_module_t m = sm->mods[0];
    m.path = fifo;
    uint64_t pc = (uint64_t)(uintptr_t)&refscope_test_target + 1;
    rs_frame_t f[8];
    int n = rs_symbolize_pc(s, &m, 1, pc, 0, f, 8);
    assert_int_equal(n, 1);
    assert_null(f[0].function);
    assert_string_equal(f[0].module, fifo);
    rs_symbolizer_destroy(s);
    unlink(fifo);
}

/* Stands for a refscope.h wrapper inlined into a program. */
__attribute__((noinline)) void refscope_fake_incref(void *p)
{
    sink += p != NULL;
}

static void test_stack_drops_leading_annotation_wrappers(void **state)
{
    self_modules_t *sm = *state;
    rs_symbolizer_t *s = rs_symbolizer_create(stderr);
    calling_function();
    uint64_t pcs[] = { (uint64_t)(uintptr_t)&refscope_fake_incref + 1,
                       captured_pc,
                       (uint64_t)(uintptr_t)&refscope_fake_incref + 1 };
    rs_stack_t st = { .epoch = 0, .n_frames = 3, .pcs = pcs };
    rs_snapshot_t snap = { .modules = sm->mods, .n_modules = sm->n,
                           .stacks = &st, .n_stacks = 1 };
    rs_frame_t f[16];
    int n = rs_symbolize_stack(s, &snap, 1, f, 16);
    assert_int_equal(n, 2);
    assert_string_equal(f[0].function, "calling_function");
    /* only leading ones are dropped */
    assert_string_equal(f[1].function, "refscope_fake_incref");
    rs_symbolizer_destroy(s);
}

static void test_stack_filters_allocator_and_refscope(void **state)
{
    self_modules_t *sm = *state;
    rs_symbolizer_t *s = rs_symbolizer_create(stderr);
    /* a fake librefscope module over an address range nothing else uses */
    rs_module_t mods[MAX_MODULES + 1];
    memcpy(mods, sm->mods, sm->n * sizeof *mods);
    rs_segment_t fake_seg = { 0x1000, 0x2000, 5 };
    mods[sm->n] = (rs_module_t){ .path = "/opt/x/lib/librefscope.so",
                                 .segments = &fake_seg, .n_segments = 1,
                                 .unload_epoch = RS_EPOCH_LIVE };
    void *mal = libc_symbol("malloc");
    calling_function();
    uint64_t pcs[] = {
        0x1100,                                   /* refscope hook        */
        (uint64_t)(uintptr_t)mal + 1,             /* allocator entry      */
        captured_pc,                              /* the allocating code  */
        0x1200,                                   /* refscope again       */
        (uint64_t)(uintptr_t)&refscope_test_target + 1,
    };
    rs_stack_t st = { .epoch = 0, .n_frames = 5, .pcs = pcs };
    rs_snapshot_t snap = { .modules = mods, .n_modules = sm->n + 1,
                           .stacks = &st, .n_stacks = 1 };
    rs_frame_t f[16];
    int n = rs_symbolize_stack(s, &snap, 1, f, 16);
    assert_int_equal(n, 2);
    assert_string_equal(f[0].function, "calling_function");
    assert_string_equal(f[1].function, "refscope_test_target");
    /* unknown ids give no frames */
    assert_int_equal(rs_symbolize_stack(s, &snap, 0, f, 16), 0);
    assert_int_equal(rs_symbolize_stack(s, &snap, 2, f, 16), 0);
    /* the cap is honoured */
    assert_int_equal(rs_symbolize_stack(s, &snap, 1, f, 1), 1);
    rs_symbolizer_destroy(s);
}

/* Python pseudo frames (RS_PYFRAME_TAG) become the snapshot's Python
 * locations, in their place among the C frames; one the snapshot does not
 * have is an unknown Python frame.  Only frames with a module are C's. */
static void test_stack_python_frames(void **state)
{
    self_modules_t *sm = *state;
    rs_symbolizer_t *s = rs_symbolizer_create(stderr);
    calling_function();
    rs_pyloc_t locs[] = { { "make_garbage", "/src/leak.py", 7 },
                          { "<module>", "/src/leak.py", 12 } };
    uint64_t pcs[] = { captured_pc, rs_pc_python(0), rs_pc_python(1),
                       (uint64_t)(uintptr_t)&refscope_test_target + 1, rs_pc_python(2) };
    rs_stack_t st = { .epoch = 0, .n_frames = 5, .pcs = pcs };
    rs_snapshot_t snap = { .modules = sm->mods, .n_modules = sm->n,
                           .stacks = &st, .n_stacks = 1, .pylocs = locs, .n_pylocs = 2 };
    rs_frame_t f[16];
    int n = rs_symbolize_stack(s, &snap, 1, f, 16);
    assert_int_equal(n, 5);
    assert_string_equal(f[0].function, "calling_function");
    assert_false(f[0].python);
    assert_true(f[1].python && f[2].python && f[4].python);
    assert_string_equal(f[1].function, "make_garbage");
    assert_string_equal(f[1].symbol, "make_garbage");
    assert_string_equal(f[1].file, "/src/leak.py");
    assert_int_equal(f[1].line, 7);
    assert_null(f[1].module);
    assert_int_equal(f[1].address, rs_pc_python(0));
    assert_string_equal(f[2].function, "<module>");
    assert_int_equal(f[2].line, 12);
    assert_string_equal(f[3].function, "refscope_test_target");
    assert_false(f[3].python);
    assert_null(f[4].function);             /* location 2: not in the file */
    assert_null(f[4].file);
    /* for a summary, the program's Python code counts as its own; the
     * standard library's is passed over like the system's C libraries */
    rs_frame_t g[3] = { f[1], f[1], f[0] };
    g[0].file = "/usr/lib/python3.11/json/decoder.py";
    assert_ptr_equal(rs_symbolize_summary_frame(g, 3), &g[1]);
    rs_symbolizer_destroy(s);
}

/* A snapshot over this process's modules with one stack: a refscope frame
 * (skipped), then code of this binary. */
typedef struct field_fixture {
    rs_module_t   mods[MAX_MODULES + 1];
    rs_segment_t  fake_seg;
    uint64_t      pcs[2];
    rs_stack_t    st;
    rs_snapshot_t snap;
} field_fixture_t;

static void field_fixture(const self_modules_t *sm, field_fixture_t *fx)
{
    memcpy(fx->mods, sm->mods, sm->n * sizeof *fx->mods);
    fx->fake_seg = (rs_segment_t){ 0x1000, 0x2000, 5 };
    fx->mods[sm->n] = (rs_module_t){ .path = "/opt/x/lib/librefscope.so",
                                     .segments = &fx->fake_seg,
                                     .n_segments = 1,
                                     .unload_epoch = RS_EPOCH_LIVE };
    fx->pcs[0] = 0x1100;
    fx->pcs[1] = (uint64_t)(uintptr_t)&refscope_test_target + 1;
    fx->st = (rs_stack_t){ .epoch = 0, .n_frames = 2, .pcs = fx->pcs };
    fx->snap = (rs_snapshot_t){ .modules = fx->mods, .n_modules = sm->n + 1,
                                .stacks = &fx->st, .n_stacks = 1 };
}

static void expect_field(rs_symbolizer_t *s, const rs_snapshot_t *snap,
                         const char *type, uint64_t offset, const char *want)
{
    const char *got = rs_symbolize_field(s, snap, 1, type, offset);
    if (!want) {
        if (got)
            fail_msg("%s +%llu: expected no name, got %s", type,
                     (unsigned long long)offset, got);
        return;
    }
    if (!got)
        fail_msg("%s +%llu: expected %s, got NULL", type,
                 (unsigned long long)offset, want);
    assert_string_equal(got, want);
}

static void test_field_names_from_dwarf(void **state)
{
    field_fixture_t fx;
    field_fixture(*state, &fx);
    rs_symbolizer_t *s = rs_symbolizer_create(stderr);
    const char *t = "rs_test_obj_t"; /* a typedef of an anonymous struct */
    expect_field(s, &fx.snap, t, offsetof(rs_test_obj_t, refcnt), "refcnt");
    expect_field(s, &fx.snap, t, offsetof(rs_test_obj_t, link.next),
                 "link.next");
    expect_field(s, &fx.snap, t, offsetof(rs_test_obj_t, link.prev),
                 "link.prev");
    expect_field(s, &fx.snap, t, offsetof(rs_test_obj_t, slots[2]),
                 "slots[2]");
    expect_field(s, &fx.snap, t, offsetof(rs_test_obj_t, u_ptr), "u_ptr");
    expect_field(s, &fx.snap, t, offsetof(rs_test_obj_t, ring[1].prev),
                 "ring[1].prev");
    /* inside a scalar member: that member */
    expect_field(s, &fx.snap, t, offsetof(rs_test_obj_t, refcnt) + 2,
                 "refcnt");
    /* past the end of the struct: unknown */
    expect_field(s, &fx.snap, t, sizeof(rs_test_obj_t), NULL);
    /* a struct tag, with and without "struct " */
    expect_field(s, &fx.snap, "rs_test_link", 8, "prev");
    expect_field(s, &fx.snap, "struct rs_test_link", 0, "next");
    /* loose matches: case ("Pnode" for struct pnode), a leading '_'
     * (GObject's struct _GtkButton) */
    expect_field(s, &fx.snap, "RS_TEST_LINK", 8, "prev");
    expect_field(s, &fx.snap, "RsTestUnder", 8, "second");
    expect_field(s, &fx.snap, "TestUnder", 8, NULL);
    /* cached: the same pointer comes back */
    const char *a = rs_symbolize_field(s, &fx.snap, 1, t, 8);
    assert_ptr_equal(a, rs_symbolize_field(s, &fx.snap, 1, t, 8));
    /* CPython's "module.Type": the struct is the last component */
    expect_field(s, &fx.snap, "leaky.rs_test_link", 8, "prev");
    expect_field(s, &fx.snap, "a.b.rs_test_link", 0, "next");
    expect_field(s, &fx.snap, "rs_test_link.", 0, NULL);
    /* a node with a 16-byte header: offsets count from the object */
    rs_node_t n = { .stack_id = 1, .flags = (16 / 8) << RS_NODE_HEADER_SHIFT };
    assert_string_equal(rs_symbolize_node_field(s, &fx.snap, &n, "rs_test_link", 24),
                        "prev");
    assert_null(rs_symbolize_node_field(s, &fx.snap, &n, "rs_test_link", 8));
    n.flags = 0;
    assert_string_equal(rs_symbolize_node_field(s, &fx.snap, &n, "rs_test_link", 8),
                        "prev");
    /* unknown type, NULL type, unknown stacks */
    expect_field(s, &fx.snap, "rs_no_such_type_anywhere", 0, NULL);
    assert_null(rs_symbolize_field(s, &fx.snap, 1, NULL, 0));
    assert_null(rs_symbolize_field(s, &fx.snap, 0, t, 8));
    assert_null(rs_symbolize_field(s, &fx.snap, 2, t, 8));
    rs_symbolizer_destroy(s);
}

static void test_field_names_without_dwarf(void **state)
{
    self_modules_t *sm = *state;
    field_fixture_t fx;
    field_fixture(sm, &fx);
    /* the binary's module replaced by a missing file: nothing to read */
    for (uint32_t i = 0; i < sm->n; i++)
        fx.mods[i].path = "/nonexistent/refscope/prog";
    rs_symbolizer_t *s = rs_symbolizer_create(stderr);
    assert_null(rs_symbolize_field(s, &fx.snap, 1, "rs_test_obj_t", 8));
    rs_symbolizer_destroy(s);
    rs_symbolize_field(NULL, &fx.snap, 0, "x", 0); /* stack 0: no access */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_function_address),
        cmocka_unit_test(test_same_file_other_bias),
        cmocka_unit_test(test_return_address_line),
        cmocka_unit_test(test_inlined_frames),
        cmocka_unit_test(test_symtab_fallback_in_libc),
        cmocka_unit_test(test_cxx_linkage_name_demangled),
        cmocka_unit_test(test_cxx_symtab_demangled),
        cmocka_unit_test(test_summary_frame),
        cmocka_unit_test(test_pc_outside_modules),
        cmocka_unit_test(test_epoch_outside_module_life),
        cmocka_unit_test(test_build_id_mismatch),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_module_path_fifo),
        cmocka_unit_test(test_stack_filters_allocator_and_refscope),
        cmocka_unit_test(test_stack_python_frames),
        cmocka_unit_test(test_stack_drops_leading_annotation_wrappers),
        cmocka_unit_test(test_field_names_from_dwarf),
        cmocka_unit_test(test_field_names_without_dwarf),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
