/*
 * alloc_edges - allocator corner cases whose results must not change
 * under the preload.
 *
 * Prints one line per case (no addresses, only facts that glibc
 * guarantees and an interposer must preserve): realloc(NULL, n),
 * realloc(p, 0), free(NULL), posix_memalign with a bad alignment (EINVAL,
 * *out untouched), aligned_alloc/memalign/valloc/pvalloc alignment, huge
 * malloc/calloc/realloc/reallocarray failing with ENOMEM (the old block
 * intact), malloc(0), malloc_usable_size (>= requested, 0 for NULL),
 * content preserved by realloc growing and shrinking.  The integration
 * test compares the output with and without librefscope.so; it must be
 * byte-identical.  Everything is freed: no findings.
 *
 * LeakSanitizer agrees on the leak numbers (none).  Its allocator reports
 * allocation failures differently (allocator_may_return_null), so only the
 * leak numbers are compared with it.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     0/0
 *   @total   reachable  0/0
 *   @lsan    direct     0/0
 */
#include "sample_util.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Sizes no allocation can satisfy, hidden from the compiler so that it
 * neither warns about them nor folds the calls away. */
static volatile size_t huge = SIZE_MAX / 2;
static volatile size_t quarter_huge = SIZE_MAX / 4;

static int aligned_to(const void *p, size_t a)
{
    return p != NULL && ((uintptr_t)p & (a - 1)) == 0;
}

static void report(const char *what, int value)
{
    sample_say("%-44s %d\n", what, value);
}

/* A failed realloc leaves the old block valid; gcc cannot know which
 * calls fail here. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuse-after-free"
static void realloc_cases(void)
{
    char *p = realloc(NULL, 24);
    report("realloc(NULL, 24) != NULL", p != NULL);
    memcpy(p, "0123456789abcdefghijklm", 24);
    p = realloc(p, 4000);
    report("realloc grow keeps content", p && !memcmp(p, "0123456789abcdefghijklm", 24));
    p = realloc(p, 5);
    report("realloc shrink keeps content", p && !memcmp(p, "01234", 5));
    errno = 0;
    char *q = realloc(p, huge);
    report("realloc(p, huge) == NULL", q == NULL);
    report("  errno == ENOMEM", errno == ENOMEM);
    report("  old block intact", !memcmp(p, "01234", 5));
    errno = 0;
    q = reallocarray(p, quarter_huge, 8);
    report("reallocarray overflow == NULL", q == NULL);
    report("  errno == ENOMEM", errno == ENOMEM);
    q = realloc(p, 0);
    report("realloc(p, 0) == NULL (block freed)", q == NULL);
    free(q);
}
#pragma GCC diagnostic pop

static void memalign_cases(void)
{
    void *p = (void *)0x1;
    report("posix_memalign(align 3) == EINVAL", posix_memalign(&p, 3, 16) == EINVAL);
    report("  *out untouched", p == (void *)0x1);
    report("posix_memalign(align 24) == EINVAL", posix_memalign(&p, 24, 16) == EINVAL);
    report("posix_memalign(align 4) == EINVAL", posix_memalign(&p, 4, 16) == EINVAL);
    int rc = posix_memalign(&p, 4096, 100);
    report("posix_memalign(4096, 100) == 0", rc == 0);
    report("  aligned to 4096", aligned_to(p, 4096));
    free(p);
    rc = posix_memalign(&p, 64, 0);
    report("posix_memalign(64, 0) == 0", rc == 0);
    free(p);
    errno = 0;
    rc = posix_memalign(&p, 64, huge);
    report("posix_memalign(64, huge) == ENOMEM", rc == ENOMEM);

    p = aligned_alloc(256, 512);
    report("aligned_alloc(256, 512) aligned", aligned_to(p, 256));
    free(p);
    p = memalign(1024, 10);
    report("memalign(1024, 10) aligned", aligned_to(p, 1024));
    free(p);
    long page = sysconf(_SC_PAGESIZE);
    p = valloc(10);
    report("valloc(10) page aligned", aligned_to(p, (size_t)page));
    free(p);
    p = pvalloc(10);
    report("pvalloc(10) page aligned", aligned_to(p, (size_t)page));
    report("  usable >= page", p && malloc_usable_size(p) >= (size_t)page);
    free(p);
}

static void malloc_cases(void)
{
    free(NULL);
    report("free(NULL) returns", 1);
    void *p = malloc(0);
    report("malloc(0) != NULL", p != NULL);
    free(p);
    errno = 0;
    p = malloc(huge);
    report("malloc(huge) == NULL", p == NULL);
    report("  errno == ENOMEM", errno == ENOMEM);
    errno = 0;
    p = calloc(huge, 4);
    report("calloc overflow == NULL", p == NULL);
    report("  errno == ENOMEM", errno == ENOMEM);
    p = calloc(3, 1000);
    int zero = p != NULL;
    for (int i = 0; zero && i < 3000; i++)
        zero = ((char *)p)[i] == 0;
    report("calloc(3, 1000) zeroed", zero);
    free(p);
    p = malloc(100);
    report("malloc_usable_size(p) >= 100", p && malloc_usable_size(p) >= 100);
    free(p);
    report("malloc_usable_size(NULL) == 0", malloc_usable_size(NULL) == 0);
    char *s = strndup("abcdef", 3);
    report("strndup(\"abcdef\", 3) == \"abc\"", s && !strcmp(s, "abc"));
    free(s);
}

int main(void)
{
    malloc_cases();
    realloc_cases();
    memalign_cases();
    return 0;
}
