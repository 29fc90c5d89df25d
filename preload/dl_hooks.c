/*
 * dl_hooks.c - dlclose, interposed so that the module table records a
 * library's unloading (and the epoch advances) before its address range
 * can be reused by another library.
 *
 * dlopen and dlmopen are deliberately NOT interposed: glibc resolves a
 * relative name against the DT_RUNPATH (and $ORIGIN) of the *calling*
 * object, found from the return address, so a wrapper in librefscope.so
 * would make the program's own dlopen("libplugin.so") search refscope's
 * paths instead and fail where it works natively.  New modules need no
 * hook: the epoch rules in modules.c let a module noticed late (at the next
 * refresh: before and after every dlclose, and at analysis) still cover
 * the stacks captured since it was loaded.
 *
 * The real dlclose runs unguarded (library destructors are program code);
 * the refreshes run only once refscope is initialised and never change
 * the result, errno or the dlerror() state.
 */
#include "preload.h"

#include <dlfcn.h>
#include <errno.h>

static int (*real_dlclose)(void *);

void rs_dl_hooks_init(void)
{
    if (!real_dlclose)
        real_dlclose = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
}

static void refresh(void)
{
    if (!rs_active)
        return;
    int saved_errno = errno;
    rs_modules_refresh();
    errno = saved_errno;
}

RS_EXPORT int dlclose(void *handle)
{
    rs_dl_hooks_init();
    if (!real_dlclose)
        return -1;
    refresh();          /* modules loaded since the last refresh: epoch now */
    int rc = real_dlclose(handle);
    refresh();          /* modules gone: epoch advances                     */
    return rc;
}
