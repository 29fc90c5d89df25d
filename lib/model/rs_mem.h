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

/* Non-zero once any rs_mem allocation has failed. */
int rs_mem_out_of_memory(void);

#endif /* RS_MEM_H */
