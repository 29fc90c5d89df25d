/*
 * rc_leaked_ref - a reference taken and never released, on an object
 * nobody can reach any more.
 *
 * use_widget() creates a 40-byte Widget (widget_new, refcount 1) that owns
 * a 16-byte plain label (make_label).  borrow_ok() takes a reference and
 * gives it back; borrow_wrong() takes one and forgets it (the bug).
 * use_widget() then drops its own reference: refcount 1, but no pointer
 * to the widget exists.
 *
 * refscope must report one "leaked_ref" finding: type "Widget", 40 bytes
 * in 1 block, allocated in widget_new, refcount 1, pointers 0, 1
 * unexplained reference, and one unbalanced incref (count 1) taken in
 * borrow_wrong ("1 reference taken in borrow_wrong was never released";
 * borrow_ok's pair and the ctor/final-unref pair are balanced: see the
 * pairing rule in lib/model/refhistory.h).  The label is "indirect", 16 bytes,
 * allocated in make_label, charged to the widget.  summary.leaked_refs:
 * 1 object, 1 ref, 40 bytes.  No cycle, leaked or rc_error.
 *
 * LeakSanitizer: 40 bytes direct (the widget), 16 bytes indirect.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked_refs 40/1
 *   @total   indirect    16/1
 *   @total   reachable   0/0
 *   @finding leaked_ref  40/1  widget_new
 *   @finding indirect    16/1  make_label
 *   @lsan    direct      40/1
 *   @lsan    indirect    16/1
 */
#include "sample_util.h"

#include <refscope.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct widget {
    int   refcnt;
    int   id;
    char *label;             /* owned plain block */
    char  pad[24];
};

_Static_assert(sizeof(struct widget) == 40, "the header's numbers assume 40");

SAMPLE_NOINLINE static char *make_label(const char *text)
{
    char *s = malloc(16);
    sample_check(s != NULL, "malloc(16)");
    strncpy(s, text, 15);
    s[15] = '\0';
    return s;
}

SAMPLE_NOINLINE static struct widget *widget_new(const char *label)
{
    struct widget *w = calloc(1, sizeof *w);
    sample_check(w != NULL, "calloc(widget)");
    w->refcnt = 1;
    w->label = make_label(label);
    refscope_object(w, "Widget", offsetof(struct widget, refcnt),
                    sizeof w->refcnt);
    return w;
}

SAMPLE_NOINLINE static struct widget *widget_ref(struct widget *w)
{
    w->refcnt++;
    refscope_incref(w);
    return w;
}

SAMPLE_NOINLINE static void widget_unref(struct widget *w)
{
    refscope_decref(w);
    if (--w->refcnt == 0) {
        free(w->label);
        free(w);
    }
}

SAMPLE_NOINLINE static void borrow_ok(struct widget *w)
{
    struct widget *mine = widget_ref(w);
    mine->id++;
    widget_unref(mine);
}

SAMPLE_NOINLINE static void borrow_wrong(struct widget *w)
{
    struct widget *mine = widget_ref(w);
    mine->id++;
    /* forgot widget_unref(mine) */
}

SAMPLE_NOINLINE static void use_widget(void)
{
    struct widget *w = widget_new("ok button");
    borrow_ok(w);
    borrow_wrong(w);
    widget_unref(w);
}

int main(void)
{
    use_widget();
    sample_scrub_stack();
    sample_say("rc_leaked_ref: one Widget reference never released\n");
    return 0;
}
