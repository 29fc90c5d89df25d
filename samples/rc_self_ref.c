/*
 * rc_self_ref - a refcounted object that holds a reference to itself.
 *
 * make_session() creates a 48-byte Session with session_new() (refcount
 * 1), stores a counted reference to the session in its own `self` field
 * (session_ref: refcount 2; think of an object that keeps itself alive
 * until a "close" that never comes) and drops the creator's reference
 * (session_unref: refcount 1).  The only reference left is the session's
 * own pointer: refcount 1 minus 1 pointer = 0.
 *
 * refscope must report one cycle group of 1 object, 48 bytes: one "cycle"
 * finding, type "Session", allocated in session_new, one member (48
 * bytes, refcount 1) and one edge 0 -> 0 at offset 16 (field "self"),
 * whose reference was taken in session_keep_alive.  No leaked, indirect,
 * leaked_ref or rc_error.
 *
 * LeakSanitizer ignores pointers from a block to itself: 48 bytes direct.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   cycles     48/1
 *   @total   reachable  0/0
 *   @finding cycle      48/1  session_new
 *   @lsan    direct     48/1
 */
#include "sample_util.h"

#include <refscope.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct session {
    unsigned        refcnt;
    unsigned        flags;
    long            opened_at;
    struct session *self;    /* counted reference to itself */
    char            user[24];
};

_Static_assert(sizeof(struct session) == 48, "the header's numbers assume 48");
_Static_assert(offsetof(struct session, self) == 16, "the header says 16");

SAMPLE_NOINLINE static struct session *session_new(const char *user)
{
    struct session *s = calloc(1, sizeof *s);
    sample_check(s != NULL, "calloc(session)");
    s->refcnt = 1;
    strncpy(s->user, user, sizeof s->user - 1);
    refscope_object(s, "Session", offsetof(struct session, refcnt),
                    sizeof s->refcnt);
    return s;
}

SAMPLE_NOINLINE static struct session *session_ref(struct session *s)
{
    s->refcnt++;
    refscope_incref(s);
    return s;
}

SAMPLE_NOINLINE static void session_unref(struct session *s)
{
    refscope_decref(s);
    if (--s->refcnt == 0)
        free(s);
}

SAMPLE_NOINLINE static void session_keep_alive(struct session *s)
{
    s->self = session_ref(s);
}

SAMPLE_NOINLINE static void make_session(void)
{
    struct session *s = session_new("alice");
    session_keep_alive(s);
    session_unref(s);
}

int main(void)
{
    make_session();
    sample_scrub_stack();
    sample_say("rc_self_ref: a Session holds itself\n");
    return 0;
}
