/*
 * cxx_names - a leak allocated in functions whose symbols are C++ mangled
 * names, as a C++ compiler emits them: make_widget is linked as
 * _ZN3app11make_widgetEi and widget_factory as
 * _ZN3app7Factory5buildEv (asm labels; the samples are C), and GCC's
 * DWARF gives each the mangled DW_AT_linkage_name beside its short
 * DW_AT_name.
 *
 * Reports show the names demangled and qualified, as Memcheck,
 * LeakSanitizer and heaptrack do: the 64-byte block's stack reads
 * app::make_widget(int), then app::Factory::build(), then main.
 * Suppressions match either spelling; fingerprints hash the short name,
 * so baselines from before are kept.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     64/1
 *   @total   reachable  0/0
 *   @finding leaked     64/1   app::make_widget(int)
 *   @lsan    direct     64/1
 */
#include "sample_util.h"

#include <stdlib.h>
#include <string.h>

void *make_widget(int size) __asm__("_ZN3app11make_widgetEi");
void *widget_factory(void) __asm__("_ZN3app7Factory5buildEv");

SAMPLE_NOINLINE void *make_widget(int size)
{
    void *p = malloc((size_t)size);
    sample_check(p != NULL, "malloc(64)");
    return memset(p, 7, (size_t)size);
}

SAMPLE_NOINLINE void *widget_factory(void)
{
    return make_widget(64);
}

int main(void)
{
    sample_drop(widget_factory());
    sample_scrub_stack();
    sample_say("cxx_names: leaked 64 bytes\n");
    return 0;
}
