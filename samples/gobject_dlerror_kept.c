/*
 * gobject_dlerror_kept - the program's pending dlerror() result survives
 * an analysis refscope runs while the program is between its failed
 * dlsym() and its dlerror().
 *
 * main makes a GObject (so libgobject's tables exist), looks up a symbol
 * that does not exist (dlsym fails: glibc keeps the error for this
 * thread), calls refscope_check() (natively a no-op), then asks dlerror()
 * and prints whether it got the message.  refscope's analysis looks up
 * GLib's version and hash functions for the gobject profile's `registry`
 * lines; done with dlsym, that cleared the pending error (dlerror()
 * returned NULL under refscope only) and left glibc's dlerror blocks
 * freed-to-be but still live, reported as leaks.  refscope reads the
 * modules' symbol tables instead (preload/elf_symbols.c).  The object is
 * released: nothing leaks.
 *
 * Run with REFSCOPE_HOOKS=gobject (tests/integration/test_refcount.py).
 */
#include "refscope.h"
#include "sample_util.h"

#include <dlfcn.h>
#include <glib-object.h>

int main(void)
{
    GObject *o = g_object_new(G_TYPE_OBJECT, NULL);
    void *missing = dlsym(RTLD_DEFAULT, "rs_no_such_symbol");
    refscope_check();
    const char *error = dlerror();
    sample_say("gobject_dlerror_kept: dlsym %s, dlerror %s\n",
               missing ? "found it" : "failed",
               error ? "says why" : "says nothing");
    g_object_unref(o);
    return 0;
}
