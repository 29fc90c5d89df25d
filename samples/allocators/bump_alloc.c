/*
 * bump_alloc.c - libbump_alloc.so, a stand-in for an allocator library a
 * program links (libjemalloc.so, libtcmalloc.so): it defines the malloc
 * family itself, so librefscope.so, first in symbol lookup, forwards to
 * it (dlsym(RTLD_NEXT)), and it maps its arenas with mmap, 64 KiB at a
 * time, from its own code.
 *
 * free() keeps the block's bytes, as real allocators do outside their
 * few link words: a freed block's stale pointers stay in the arena.  The
 * arena must therefore never be a root (samples/forwarded_alloc.c).  Like
 * jemalloc, it holds its lock while it maps memory.
 *
 * Blocks are never reused; aligned requests are served by rounding the
 * top up.  Each block is preceded by its size, for realloc.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define CHUNK ((size_t)64 << 10)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t top, end;

/* A block of n bytes aligned to align (a power of two, >= 16), or NULL. */
static void *bump(size_t n, size_t align)
{
    if (n > CHUNK / 2 || align > CHUNK / 4)
        return NULL;
    n = (n + 15) & ~(size_t)15;
    pthread_mutex_lock(&lock);
    uintptr_t p = (top + 16 + align - 1) & ~(uintptr_t)(align - 1);
    if (!top || p + n > end) {
        void *chunk = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (chunk == MAP_FAILED) {
            pthread_mutex_unlock(&lock);
            return NULL;
        }
        top = (uintptr_t)chunk;
        end = top + CHUNK;
        p = (top + 16 + align - 1) & ~(uintptr_t)(align - 1);
    }
    ((size_t *)p)[-1] = n;
    top = p + n;
    pthread_mutex_unlock(&lock);
    return (void *)p;
}

void *malloc(size_t n) { return bump(n, 16); }

void free(void *p) { (void)p; }

void *calloc(size_t n, size_t size)
{
    void *p = n && size > (size_t)-1 / n ? NULL : malloc(n * size);
    return p ? memset(p, 0, n * size) : NULL;
}

void *realloc(void *p, size_t n)
{
    void *q = malloc(n);
    if (p && q) {
        size_t old = ((size_t *)p)[-1];
        memcpy(q, p, old < n ? old : n);
    }
    return q;
}

void *memalign(size_t align, size_t n) { return bump(n, align < 16 ? 16 : align); }

void *aligned_alloc(size_t align, size_t n) { return memalign(align, n); }

int posix_memalign(void **out, size_t align, size_t n)
{
    void *p = memalign(align, n);
    if (!p)
        return 12;              /* ENOMEM */
    *out = p;
    return 0;
}

size_t malloc_usable_size(void *p) { return p ? ((size_t *)p)[-1] : 0; }
