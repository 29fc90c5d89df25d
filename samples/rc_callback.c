/*
 * rc_callback - a callback object that holds a counted reference to the
 * emitter it is connected to: the emitter owns the handler, the handler
 * owns the emitter, a cycle (the C shape of a closure capturing `self`).
 *
 * run_app() creates a 48-byte Emitter (emitter_new) and connects a
 * 32-byte Handler to it (emitter_connect -> handler_new, which takes a
 * reference to the emitter so the callback can use it; the emitter's
 * handler slot takes over the handler's creation reference).  It emits
 * once and drops its reference to the emitter.  Emitter: refcount 1, held
 * by the handler; Handler: refcount 1, held by the emitter.
 *
 * refscope must report one cycle group of 2 objects, 80 bytes: one
 * "cycle" finding allocated in emitter_new (member 0, allocated first),
 * type "Emitter"; members Emitter (48 bytes, refcount 1) and Handler (32
 * bytes, refcount 1); edges Emitter -> Handler at offset 8 (field
 * "handler") and Handler -> Emitter at offset 16 (field "emitter"); the
 * references behind both edges were taken in handler_new (the handler's
 * creation, and its reference to the emitter).
 *
 * LeakSanitizer: 80 bytes in 2 objects indirect, nothing direct.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   cycles     80/2
 *   @total   reachable  0/0
 *   @finding cycle      80/2  emitter_new
 *   @lsan    indirect   80/2
 */
#include "sample_util.h"

#include <refscope.h>

#include <stddef.h>
#include <stdlib.h>

struct handler;

struct emitter {
    int             refcnt;
    int             n_emitted;
    struct handler *handler;   /* counted reference */
    const char     *signal;
    char            pad[24];
};

struct handler {
    int              refcnt;
    int              calls;
    void           (*fn)(struct handler *h, int value);
    struct emitter  *emitter;  /* counted reference: closes the cycle */
    void            *user_data;
};

_Static_assert(sizeof(struct emitter) == 48, "the header's numbers assume 48");
_Static_assert(sizeof(struct handler) == 32, "the header's numbers assume 32");
_Static_assert(offsetof(struct emitter, handler) == 8, "header: offset 8");
_Static_assert(offsetof(struct handler, emitter) == 16, "header: offset 16");

SAMPLE_NOINLINE static struct emitter *emitter_new(const char *signal)
{
    struct emitter *e = calloc(1, sizeof *e);
    sample_check(e != NULL, "calloc(emitter)");
    e->refcnt = 1;
    e->signal = signal;
    refscope_object(e, "Emitter", offsetof(struct emitter, refcnt),
                    sizeof e->refcnt);
    return e;
}

SAMPLE_NOINLINE static struct emitter *emitter_ref(struct emitter *e)
{
    e->refcnt++;
    refscope_incref(e);
    return e;
}

SAMPLE_NOINLINE static void handler_unref(struct handler *h);

SAMPLE_NOINLINE static void emitter_unref(struct emitter *e)
{
    refscope_decref(e);
    if (--e->refcnt == 0) {
        if (e->handler)
            handler_unref(e->handler);
        free(e);
    }
}

SAMPLE_NOINLINE static struct handler *handler_new(struct emitter *e,
                                                   void (*fn)(struct handler *, int))
{
    struct handler *h = calloc(1, sizeof *h);
    sample_check(h != NULL, "calloc(handler)");
    h->refcnt = 1;
    h->fn = fn;
    refscope_object(h, "Handler", offsetof(struct handler, refcnt),
                    sizeof h->refcnt);
    h->emitter = emitter_ref(e);
    return h;
}

SAMPLE_NOINLINE static void handler_unref(struct handler *h)
{
    refscope_decref(h);
    if (--h->refcnt == 0) {
        emitter_unref(h->emitter);
        free(h);
    }
}

SAMPLE_NOINLINE static void emitter_connect(struct emitter *e,
                                            void (*fn)(struct handler *, int))
{
    e->handler = handler_new(e, fn);
}

SAMPLE_NOINLINE static void emitter_emit(struct emitter *e, int value)
{
    e->n_emitted++;
    if (e->handler)
        e->handler->fn(e->handler, value);
}

static void on_value(struct handler *h, int value)
{
    h->calls += value;
    h->emitter->n_emitted += 0;
}

SAMPLE_NOINLINE static void run_app(void)
{
    struct emitter *e = emitter_new("changed");
    emitter_connect(e, on_value);
    emitter_emit(e, 42);
    emitter_unref(e);
}

int main(void)
{
    run_app();
    sample_scrub_stack();
    sample_say("rc_callback: a handler holds its emitter\n");
    return 0;
}
