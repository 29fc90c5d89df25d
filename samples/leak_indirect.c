/*
 * leak_indirect - a leaked struct that owns two buffers.
 *
 * make_owner() allocates a 24-byte struct owner whose fields point to a
 * 32-byte name (make_name) and a 40-byte array of ten ints (make_values,
 * calloc).  The struct's pointer is dropped.  The struct is "leaked"; the
 * two buffers are "indirect" (held only by the leaked struct, their bytes
 * charged to it).
 *
 * LeakSanitizer agrees: 24 bytes direct, 72 bytes in 2 objects indirect.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     24/1
 *   @total   indirect   72/2
 *   @total   reachable  0/0
 *   @finding leaked     24/1  make_owner
 *   @finding indirect   32/1  make_name
 *   @finding indirect   40/1  make_values
 *   @lsan    direct     24/1
 *   @lsan    indirect   72/2
 */
#include "sample_util.h"

#include <stdlib.h>
#include <string.h>

struct owner {
    char *name;
    int  *values;
    long  id;
};

_Static_assert(sizeof(struct owner) == 24, "the header's numbers assume 24");

SAMPLE_NOINLINE static char *make_name(void)
{
    char *name = malloc(32);
    sample_check(name != NULL, "malloc(32)");
    strcpy(name, "owner of ten values");
    return name;
}

SAMPLE_NOINLINE static int *make_values(void)
{
    int *v = calloc(10, sizeof *v);
    sample_check(v != NULL, "calloc(10, 4)");
    for (int i = 0; i < 10; i++)
        v[i] = i * i;
    return v;
}

SAMPLE_NOINLINE static void make_owner(void)
{
    struct owner *o = malloc(sizeof *o);
    sample_check(o != NULL, "malloc(owner)");
    o->id = 7;
    o->name = make_name();
    o->values = make_values();
    sample_drop(o);
}

int main(void)
{
    make_owner();
    sample_scrub_stack();
    sample_say("leak_indirect: leaked a 24-byte owner of 32 + 40 bytes\n");
    return 0;
}
