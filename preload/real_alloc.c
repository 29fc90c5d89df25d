/*
 * real_alloc.c - finds the allocator refscope forwards to, and answers the
 * few allocations made before it is found.
 *
 * The real functions are the next definitions after librefscope.so in
 * symbol lookup order (dlsym(RTLD_NEXT)): glibc's malloc normally, or
 * whatever allocator the program itself links.  dlsym allocates (its error
 * buffer, via calloc), and that calloc lands in our hooks before rs_real is
 * filled: a thread-local flag marks "resolving" and such calls are served
 * from a static bootstrap pool.  Pool memory is zeroed, never reused and
 * never given back; free() ignores pool pointers, realloc() copies out of
 * them, malloc_usable_size() reads the size from the pool header.
 *
 * Shadowed.  A program that defines malloc itself (a bump allocator, a
 * statically linked tcmalloc or mimalloc) comes before librefscope.so in
 * symbol lookup: its calls never reach refscope, no block is tracked, and
 * every report would say "no leaks".  rs_real_check_shadowed says so
 * once at start-up, naming the module whose malloc or free wins.
 *
 * Invariants: rs_real's members are published together (each is written
 * once, with the same value by every thread that resolves), and the hooks
 * test rs_real.malloc before using any of them.  The pool is a bump
 * allocator over rs_real_pool_mem (global, hidden, so that the test
 * whether a pointer is in the pool is inline in preload.h); every block
 * is preceded by a 16-byte header holding its size.
 */
#include "preload.h"

#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

rs_real_alloc_t rs_real;

#define POOL_BYTES RS_REAL_POOL_BYTES
#define POOL_HDR   16u

_Alignas(4096) char rs_real_pool_mem[RS_REAL_POOL_BYTES];
static atomic_size_t pool_used;
static _Thread_local int resolving __attribute__((tls_model("initial-exec")));

void *rs_real_pool_alloc(size_t size, size_t align)
{
    if (align < POOL_HDR)
        align = POOL_HDR;
    if (size > POOL_BYTES || align > POOL_BYTES / 4 || (align & (align - 1))) {
        errno = ENOMEM;
        return NULL;
    }
    size_t need = POOL_HDR + size + align;
    size_t start = atomic_fetch_add(&pool_used, need);
    if (start + need > POOL_BYTES) {
        errno = ENOMEM;
        return NULL;
    }
    uintptr_t base = (uintptr_t)rs_real_pool_mem + start + POOL_HDR;
    uintptr_t user = (base + align - 1) & ~(uintptr_t)(align - 1);
    memcpy((char *)user - POOL_HDR, &size, sizeof size);
    return (void *)user;
}

size_t rs_real_pool_size(const void *p)
{
    size_t size;
    memcpy(&size, (const char *)p - POOL_HDR, sizeof size);
    return size;
}

static void *next_symbol(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

/* malloc's version in glibc's first ABI: what a program's references
 * name ("malloc@GLIBC_2.2.5"). */
#if defined(__x86_64__)
#define MALLOC_BASE_VERSION "GLIBC_2.2.5"
#else
#define MALLOC_BASE_VERSION "GLIBC_2.0"
#endif

/* The definition of name that the program's calls reach.  dlsym finds
 * the first default-version or unversioned one; a library that defines
 * only a non-default "malloc@GLIBC_2.2.5" (glibc's libc_malloc_debug.so)
 * takes the program's versioned references without dlsym seeing it, so
 * dlvsym is asked too, and wins when its module comes before
 * librefscope.so (dlvsym passes over refscope's unversioned definition
 * wherever it is), in the module table's load order. */
static void *program_definition(const char *name, uint64_t self_lo)
{
    void *seen = dlsym(RTLD_DEFAULT, name);
    void *versioned = dlvsym(RTLD_DEFAULT, name, MALLOC_BASE_VERSION);
    if (versioned && versioned != seen &&
        rs_modules_position((uint64_t)(uintptr_t)versioned) < rs_modules_position(self_lo))
        return versioned;
    return seen;
}

/* Says on stderr when name resolves, for the program, to a definition
 * outside librefscope.so's code [self_lo, self_hi); 1 if it did.  A
 * non-PIE executable that calls malloc exports its PLT entry as malloc's
 * canonical address (an undefined symbol with a value): that is a call
 * through the PLT, which reaches refscope, not a definition. */
static int say_if_shadowed(const char *name, uint64_t self_lo, uint64_t self_hi)
{
    void *seen = program_definition(name, self_lo);
    uint64_t at = (uint64_t)(uintptr_t)seen;
    if (!seen || (at >= self_lo && at < self_hi))
        return 0;
    Dl_info di;
    const ElfW(Sym) *sym = NULL;
    if (!dladdr1(seen, &di, (void **)&sym, RTLD_DL_SYMENT) ||
        (sym && sym->st_shndx == SHN_UNDEF))
        return 0;
    const char *where = di.dli_fname && *di.dli_fname ? di.dli_fname : "the program";
    rs_line_t l = {.len = 0};
    rs_line_str(&l, "refscope: ");
    rs_line_str(&l, name);
    rs_line_str(&l, " is defined by ");
    rs_line_str(&l, where);
    rs_line_str(&l, ", ahead of librefscope.so: the program's blocks are not "
                    "tracked and no leak can be found\n");
    rs_diag_emit(&l);
    return 1;
}

void rs_real_check_shadowed(void)
{
    uint64_t lo, hi;
    if (rs_modules_self_text(&lo, &hi) == 0 && !say_if_shadowed("malloc", lo, hi))
        say_if_shadowed("free", lo, hi);
}

int rs_real_resolve(void)
{
    if (resolving)
        return -1;
    resolving = 1;
    rs_real_alloc_t r;
    r.malloc = next_symbol("malloc");
    r.free = next_symbol("free");
    r.calloc = next_symbol("calloc");
    r.realloc = next_symbol("realloc");
    r.posix_memalign = next_symbol("posix_memalign");
    r.aligned_alloc = next_symbol("aligned_alloc");
    r.memalign = next_symbol("memalign");
    r.valloc = next_symbol("valloc");
    r.pvalloc = next_symbol("pvalloc");
    r.malloc_usable_size = next_symbol("malloc_usable_size");
    resolving = 0;
    if (!r.malloc || !r.free || !r.calloc || !r.realloc)
        return -1;
    /* Everything but malloc first, so that a thread seeing malloc set
     * sees the rest (the hooks test malloc only). */
    rs_real.free = r.free;
    rs_real.calloc = r.calloc;
    rs_real.realloc = r.realloc;
    rs_real.posix_memalign = r.posix_memalign;
    rs_real.aligned_alloc = r.aligned_alloc;
    rs_real.memalign = r.memalign;
    rs_real.valloc = r.valloc;
    rs_real.pvalloc = r.pvalloc;
    rs_real.malloc_usable_size = r.malloc_usable_size;
    atomic_thread_fence(memory_order_release);
    rs_real.malloc = r.malloc;
    return 0;
}
