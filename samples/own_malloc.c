/*
 * own_malloc - a program that defines malloc, calloc, realloc and free
 * itself (a bump allocator over one mapping), as one that statically
 * links tcmalloc or mimalloc does.  Its definitions come before
 * librefscope.so's in symbol lookup, so none of its allocations reaches
 * refscope: the 100 bytes it drops (drop_block) go unseen, and refscope
 * says so on stderr at start-up ("malloc is defined by ..., ahead of
 * librefscope.so"; tests/integration/test_preload.py checks the line)
 * rather than let an empty report pass for a clean program.
 *
 * Its malloc holds a lock while it maps its arena, as jemalloc's does
 * during its initialisation, and its first call comes from the
 * constructor of a library it links (allocators/early_alloc.c), before
 * refscope has started.  That mmap must not start refscope: start-up
 * allocates (libunwind's calloc, which lands in this malloc) and would
 * wait for the lock forever (it did, with rustc's jemalloc).
 *
 * LeakSanitizer's interceptors are shadowed the same way: it sees nothing.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     0/0
 *   @lsan    direct     0/0
 */
#include "sample_util.h"

#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

const char *early_alloc_greeting(void);   /* allocators/early_alloc.c */

#define ARENA ((size_t)64 << 20)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *arena, *top;

static void *bump(size_t n)
{
    if (!arena) {
        arena = top = mmap(NULL, ARENA, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (arena == MAP_FAILED)
            return arena = top = NULL;
    }
    n = (n + 15) & ~(size_t)15;
    if (!arena || (size_t)(top - arena) + n > ARENA)
        return NULL;
    void *p = top;
    top += n;
    return p;
}

void *malloc(size_t n)
{
    pthread_mutex_lock(&lock);
    void *p = bump(n);
    pthread_mutex_unlock(&lock);
    return p;
}

void free(void *p)
{
    (void)p;
}

void *calloc(size_t n, size_t size)
{
    void *p = n && size > (size_t)-1 / n ? NULL : malloc(n * size);
    return p ? memset(p, 0, n * size) : NULL;
}

void *realloc(void *p, size_t n)
{
    void *q = malloc(n);
    if (p && q)
        memcpy(q, p, n);     /* the old block is at least as long: a bump arena */
    return q;
}

SAMPLE_NOINLINE static void drop_block(void)
{
    char *p = malloc(100);
    sample_check(p != NULL, "malloc(100)");
    memset(p, 9, 100);
    sample_drop(p);
}

int main(void)
{
    const char *early = early_alloc_greeting();
    sample_check(early && strcmp(early, "early") == 0, "the constructor's block");
    drop_block();
    sample_say("own_malloc: dropped 100 bytes of its own allocator\n");
    return 0;
}
