/*
 * rc_double_unref - a double decref: one reference released twice.
 *
 * Connections are pooled: the last conn_unref() returns a Conn to the
 * global free list instead of freeing it, so the memory stays valid and
 * the program's behaviour is defined.  serve() takes a 48-byte Conn from
 * the pool (conn_get: refcount 1), handle_request() releases that
 * reference (conn_unref: the final decref, count 0, back to the pool) and
 * cleanup_request() releases it again (the bug: count -1).
 *
 * refscope must report one refcount error, as it happens and in the
 * report: kind "underflow" (the count went below zero; the object was
 * never freed, so this is not a decref of an unknown object), type
 * "Conn", count -1, occurrences 1, stack through conn_unref called from
 * cleanup_request, other_stack (the final decref) through conn_unref
 * called from handle_request.  summary.rc_errors 1.  An rc_error finding
 * has 0 bytes in 0 blocks.  The Conn itself is on the global free list:
 * reachable, 48 bytes.  No cycle, leaked_ref, leaked or indirect.
 *
 * LeakSanitizer reports nothing.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   reachable  48/1
 *   @finding rc_error   0/0  conn_unref
 */
#include "sample_util.h"

#include <refscope.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct conn {
    int          refcnt;
    int          fd;
    struct conn *next_free;   /* free-list link while pooled */
    char         peer[32];
};

_Static_assert(sizeof(struct conn) == 48, "the header's numbers assume 48");

static struct conn *free_list;

SAMPLE_NOINLINE static struct conn *conn_get(const char *peer)
{
    struct conn *c = free_list;
    if (c) {
        free_list = c->next_free;
    } else {
        c = calloc(1, sizeof *c);
        sample_check(c != NULL, "calloc(conn)");
    }
    c->refcnt = 1;
    c->fd = 3;
    strncpy(c->peer, peer, sizeof c->peer - 1);
    refscope_object(c, "Conn", offsetof(struct conn, refcnt),
                    sizeof c->refcnt);
    return c;
}

SAMPLE_NOINLINE static void conn_unref(struct conn *c)
{
    refscope_decref(c);
    if (--c->refcnt == 0) {
        c->fd = -1;
        c->next_free = free_list;
        free_list = c;
    }
}

SAMPLE_NOINLINE static void handle_request(struct conn *c)
{
    c->fd += 0;
    conn_unref(c);
}

SAMPLE_NOINLINE static void cleanup_request(struct conn *c)
{
    conn_unref(c);           /* the bug: handle_request already did */
}

SAMPLE_NOINLINE static void serve(void)
{
    struct conn *c = conn_get("10.0.0.1:80");
    handle_request(c);
    cleanup_request(c);
}

int main(void)
{
    serve();
    sample_scrub_stack();
    sample_say("rc_double_unref: a Conn released twice\n");
    return 0;
}
