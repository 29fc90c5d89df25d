/*
 * plugin_leaky - the shared object that leak_in_dlopen dlopen()s and
 * dlclose()s (built as libplugin_leaky.so next to the samples).
 *
 * plugin_make_leak() leaks 777 bytes; plugin_keep_in_global() stores 333
 * bytes in the plugin's own .bss, which stops being a root when the
 * plugin is unmapped.  See leak_in_dlopen.c for what must be reported.
 */
#include <stdlib.h>
#include <string.h>

static void *volatile plugin_sink;
static void *plugin_global;

__attribute__((noinline)) void plugin_make_leak(void)
{
    char *p = malloc(777);
    if (p)
        memset(p, 'p', 777);
    plugin_sink = p;
    plugin_sink = NULL;
}

__attribute__((noinline)) void plugin_keep_in_global(void)
{
    char *p = malloc(333);
    if (p)
        memset(p, 'g', 333);
    plugin_global = p;
}
