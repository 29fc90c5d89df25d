/*
 * rs_mem.h - the allocator every lib/ module uses for its own memory.
 *
 * lib/ runs in two worlds: inside the target process (linked into
 * librefscope.so, where calling the interposed malloc from refscope's own
 * code would recurse into the hooks) and in the refscope tool or the unit
 * tests (where plain malloc is right).  All lib/ code therefore allocates
 * through rs_mem_*(), whose backend the preload replaces at start-up with
 * glibc's un-interposed __libc_* entry points.
 *
 * rs_mem_alloc() never aborts: it returns NULL when memory is exhausted,
 * and rs_mem_out_of_memory() tells whether that ever happened so a caller
 * can say so once.  rs_mem_free(NULL) is a no-op.
 */
#ifndef RS_MEM_H
#define RS_MEM_H

#include <stddef.h>

typedef struct rs_mem_backend {
    void *(*alloc)(size_t size);
    void *(*calloc)(size_t n, size_t size);
    void *(*realloc)(void *p, size_t size);
    void  (*free)(void *p);
    /* Optional (NULL: always): whether rs_mem_map/remap may take size
     * more bytes; the unit tests' failing backend says no. */
    int   (*may_map)(size_t size);
} rs_mem_backend_t;

/* Installs a backend; NULL restores the libc default.  Not thread safe:
 * call once before any other lib/ function. */
void rs_mem_set_backend(const rs_mem_backend_t *backend);

void *rs_mem_alloc(size_t size);
void *rs_mem_calloc(size_t n, size_t size);
/* On failure NULL is returned and p is left unchanged. */
void *rs_mem_realloc(void *p, size_t size);
void  rs_mem_free(void *p);
/* Copies s (NULL gives NULL); NULL on allocation failure. */
char *rs_mem_strdup(const char *s);

/* Zeroed memory outside the malloc heap, in whole pages (mmap): for arrays
 * that hold addresses of the program's blocks.  Freed heap memory is the
 * next program block's uninitialised content, and glibc writes free-list
 * pointers into it; where refscope frees nothing into the heap, no stale
 * word of its own can make the conservative scan see a reference.  Also
 * no allocator lock is taken (mmap, mremap and munmap are system calls),
 * so these are safe where a signal handler may allocate.  NULL on
 * failure (remap leaves p as it was).  Sizes are those passed to map. */
void *rs_mem_map(size_t size);
void *rs_mem_remap(void *p, size_t old_size, size_t new_size);
void  rs_mem_unmap(void *p, size_t size);
/* Gives the pages of [p, p + size) (from rs_mem_map) back to the system
 * but keeps them mapped: reading them gives zeros. */
void  rs_mem_discard(void *p, size_t size);

/* Non-zero once any rs_mem allocation has failed. */
int rs_mem_out_of_memory(void);

#endif /* RS_MEM_H */
