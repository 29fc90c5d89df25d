/*
 * rs_mem.c - pluggable allocator for lib/ (see rs_mem.h).
 *
 * The backend is a plain struct copied once at start-up; every call is an
 * indirect call through it.  A failed allocation sets a sticky flag.
 */
#include "rs_mem.h"

#include <stdatomic.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

static void *libc_alloc(size_t size) { return malloc(size); }
static void *libc_calloc(size_t n, size_t size) { return calloc(n, size); }
static void *libc_realloc(void *p, size_t size) { return realloc(p, size); }
static void libc_free(void *p) { free(p); }

static const rs_mem_backend_t libc_backend = {
    libc_alloc, libc_calloc, libc_realloc, libc_free, NULL,
};

static rs_mem_backend_t backend = {
    libc_alloc, libc_calloc, libc_realloc, libc_free, NULL,
};
static atomic_int out_of_memory;

void rs_mem_set_backend(const rs_mem_backend_t *b)
{
    backend = b ? *b : libc_backend;
}

static void *note_failure(void *p)
{
    if (!p)
        atomic_store_explicit(&out_of_memory, 1, memory_order_relaxed);
    return p;
}

void *rs_mem_alloc(size_t size) { return note_failure(backend.alloc(size ? size : 1)); }

void *rs_mem_calloc(size_t n, size_t size)
{
    return note_failure(backend.calloc(n ? n : 1, size ? size : 1));
}

void *rs_mem_realloc(void *p, size_t size)
{
    return note_failure(backend.realloc(p, size ? size : 1));
}

void rs_mem_free(void *p)
{
    if (p)
        backend.free(p);
}

static size_t page_round(size_t size)
{
    return (size + 4095) & ~(size_t)4095;
}

void *rs_mem_map(size_t size)
{
    if (backend.may_map && !backend.may_map(size))
        return note_failure(NULL);
    void *p = mmap(NULL, page_round(size ? size : 1), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return note_failure(p == MAP_FAILED ? NULL : p);
}

void *rs_mem_remap(void *p, size_t old_size, size_t new_size)
{
    if (!p)
        return rs_mem_map(new_size);
    if (backend.may_map && !backend.may_map(new_size))
        return note_failure(NULL);
    void *q = mremap(p, page_round(old_size ? old_size : 1),
                     page_round(new_size ? new_size : 1), MREMAP_MAYMOVE);
    return note_failure(q == MAP_FAILED ? NULL : q);
}

void rs_mem_unmap(void *p, size_t size)
{
    if (p)
        munmap(p, page_round(size ? size : 1));
}

void rs_mem_discard(void *p, size_t size)
{
    if (p)
        madvise(p, page_round(size ? size : 1), MADV_DONTNEED);
}

char *rs_mem_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *copy = rs_mem_alloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

int rs_mem_out_of_memory(void)
{
    return atomic_load_explicit(&out_of_memory, memory_order_relaxed);
}
