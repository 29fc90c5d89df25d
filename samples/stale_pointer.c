/*
 * stale_pointer - a leak whose only pointer is a stale word in reused
 * memory, the way conservative leak checkers miss leaks.
 *
 * make_victim() allocates a 100-byte block and stores its address at
 * byte 24 of a 48-byte `holder`, which is then freed; the victim's
 * pointer is dropped: it is leaked.  keep_reused() allocates a 48-byte
 * block (the allocator hands back the holder's memory: same size, same
 * thread), keeps it in a global and writes only its first 16 bytes: the
 * old word at byte 24 is still there.  refscope reads it as a pointer, so
 * the victim looks reachable (LeakSanitizer's allocator does not hand the
 * freed memory back at once, and Memcheck's reuses freed memory late:
 * they find both leaks).  make_moved_victim() does the same through
 * realloc: a 48-byte array holding a 60-byte victim at byte 24 grows to
 * 4096 bytes (moved: `blocker` follows it), the copy's slot is cleared
 * and the victim dropped; keep_reused2() gets the array's old memory for
 * `kept2`.
 * With REFSCOPE_SCRUB=1 the holder is zeroed when freed, and the array's
 * old bytes when realloc moves it, and both leaks are found: 100 bytes
 * allocated in make_victim and 60 in make_moved_victim
 * (tests/integration/test_preload.py checks both ways).
 *
 * Expected (machine-read by tests/integration/rstest.py), without
 * REFSCOPE_SCRUB: kept, kept2, blocker, the table and both victims
 *   @total   reachable  >=4400/6
 *   @lsan    direct     160/2
 */
#include "sample_util.h"

#include <stdlib.h>
#include <string.h>

static char *kept, *kept2, *blocker;
static char **table;

SAMPLE_NOINLINE static void make_victim(void)
{
    char *holder = malloc(48), *victim = malloc(100);
    sample_check(holder != NULL && victim != NULL, "malloc");
    memset(victim, 1, 100);
    memset(holder, 0, 48);
    memcpy(holder + 24, &victim, sizeof victim);
    free(holder);
    sample_drop(victim);
}

SAMPLE_NOINLINE static void make_moved_victim(void)
{
    char **arr = calloc(6, sizeof *arr);
    blocker = malloc(48);             /* arr cannot grow in place */
    char *victim = malloc(60);
    sample_check(arr != NULL && blocker != NULL && victim != NULL, "malloc");
    memset(victim, 3, 60);
    arr[3] = victim;
    char **grown = realloc(arr, 4096);
    sample_check(grown != NULL && grown != arr, "realloc moves");
    grown[3] = NULL;
    table = grown;
    sample_drop(victim);
}

/* A 48-byte block that takes the memory freed last, its first 16 bytes
 * written. */
SAMPLE_NOINLINE static char *reuse(void)
{
    char *p = malloc(48);
    sample_check(p != NULL, "malloc(48)");
    memset(p, 2, 16);
    return p;
}

SAMPLE_NOINLINE static void keep_reused(void)
{
    kept = reuse();
}

SAMPLE_NOINLINE static void keep_reused2(void)
{
    kept2 = reuse();
}

int main(void)
{
    make_victim();
    keep_reused();
    make_moved_victim();
    keep_reused2();
    sample_scrub_stack();
    sample_say("stale_pointer: a leak behind a stale word\n");
    return 0;
}
