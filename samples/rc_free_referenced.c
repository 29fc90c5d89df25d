/*
 * rc_free_referenced - free() of an object whose count is still above
 * zero.
 *
 * share_blob() creates a 64-byte Blob (blob_new: refcount 1) and gives a
 * second owner a reference (blob_ref in give_to_cache: refcount 2).
 * drop_badly() then calls free() on it directly instead of blob_unref:
 * the memory is gone while two references remain.  The dangling cache
 * pointer is cleared without being used.
 *
 * refscope must report one refcount error: kind "free_referenced", type
 * "Blob", count 2, occurrences 1, stack through drop_badly (the free;
 * the allocator frames are refscope's and are dropped).  summary.rc_errors
 * 1; the rc_error finding has 0 bytes in 0 blocks.  Nothing is live at
 * exit: no leak of any class, nothing reachable.
 *
 * LeakSanitizer reports nothing.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   reachable  0/0
 *   @finding rc_error   0/0  drop_badly
 */
#include "sample_util.h"

#include <refscope.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct blob {
    int   refcnt;
    int   len;
    char *note;
    char  bytes[48];
};

_Static_assert(sizeof(struct blob) == 64, "the header's numbers assume 64");

static struct blob *cache;

SAMPLE_NOINLINE static struct blob *blob_new(void)
{
    struct blob *b = calloc(1, sizeof *b);
    sample_check(b != NULL, "calloc(blob)");
    b->refcnt = 1;
    b->len = 5;
    memcpy(b->bytes, "hello", 5);
    refscope_object(b, "Blob", offsetof(struct blob, refcnt),
                    sizeof b->refcnt);
    return b;
}

SAMPLE_NOINLINE static struct blob *blob_ref(struct blob *b)
{
    b->refcnt++;
    refscope_incref(b);
    return b;
}

SAMPLE_NOINLINE static void give_to_cache(struct blob *b)
{
    cache = blob_ref(b);
}

SAMPLE_NOINLINE static void drop_badly(struct blob *b)
{
    free(b);                 /* the bug: should be blob_unref(b) */
}

SAMPLE_NOINLINE static void share_blob(void)
{
    struct blob *b = blob_new();
    give_to_cache(b);
    drop_badly(b);
    cache = NULL;            /* dangling: never dereferenced */
}

int main(void)
{
    share_blob();
    sample_scrub_stack();
    sample_say("rc_free_referenced: a Blob freed with two references\n");
    return 0;
}
