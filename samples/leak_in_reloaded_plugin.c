/*
 * leak_in_reloaded_plugin - a plugin loaded, used and unloaded three
 * times, leaking at each load (a program that reloads its plugins).
 *
 * The program dlopen()s libplugin_leaky.so (next to its own executable),
 * calls plugin_make_leak() (777 bytes, pointer dropped) and dlclose()s
 * it, three times, from one call site.  Before the second load it maps a page where the
 * plugin was, so that the loader puts it at another address; the third
 * load may land where the second was.  Each dlclose starts a new module
 * epoch, so the three allocations have three stacks (other epochs, and
 * other addresses for the second one), whose frames all lie at the same
 * offsets of the same files: one allocation site, one finding
 * (lib/report/stack_sites.h; there were three, with the same functions).
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     2331/3
 *   @finding leaked     2331/3  plugin_make_leak
 *   @lsan    direct     2331/3
 */
#include "sample_util.h"

#include <dlfcn.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* Loads the plugin, makes it leak, unloads it; returns its load base. */
static void *load_leak_unload(const char *path)
{
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    sample_check(handle != NULL, "dlopen libplugin_leaky.so");
    void (*fn)(void) = (void (*)(void))dlsym(handle, "plugin_make_leak");
    sample_check(fn != NULL, "plugin_make_leak");
    Dl_info info;
    sample_check(dladdr((void *)fn, &info) != 0, "dladdr");
    fn();
    sample_check(dlclose(handle) == 0, "dlclose");
    sample_check(dlopen(path, RTLD_NOW | RTLD_NOLOAD) == NULL,
                 "plugin unmapped after dlclose");
    return info.dli_fbase;
}

int main(void)
{
    char path[PATH_MAX];
    sample_path_beside(path, sizeof path, "libplugin_leaky.so");
    long page = sysconf(_SC_PAGESIZE);
    void *base[3], *hold = MAP_FAILED;
    for (int i = 0; i < 3; i++) {        /* one call site: one site */
        if (i == 1) {
            hold = mmap(base[0], (size_t)page, PROT_NONE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
            sample_check(hold == base[0], "map a page where the plugin was");
        }
        base[i] = load_leak_unload(path);
    }
    sample_check(base[1] != base[0], "the second load at another address");
    munmap(hold, (size_t)page);
    sample_scrub_stack();
    sample_say("leak_in_reloaded_plugin: plugin loaded 3 times (the second "
               "elsewhere), leaked 777 bytes each time\n");
    return 0;
}
