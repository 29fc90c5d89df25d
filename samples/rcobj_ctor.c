/*
 * rcobj_ctor.c - librcobj_ctor.so, the library rcobj_lockorder.c dlopens
 * from a second thread: linked -z now against librcobj (its GOT slot for
 * rcobj_ref is bound at load time).  Its constructor, which runs inside
 * dlopen with the loader lock held, writes one byte to the pipe whose
 * write end RCOBJ_CTOR_PIPE names (the main thread then allocates, which
 * makes refscope refresh its hooks), waits 300 ms and calls
 * dl_iterate_phdr (which takes the loader's write lock, as a nested
 * dlopen would).  Not a sample program.
 */
#include "rcobj.h"

#include <link.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int count_module(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)info;
    (void)size;
    ++*(int *)arg;
    return 0;
}

__attribute__((constructor)) static void signal_and_iterate(void)
{
    const char *fd = getenv("RCOBJ_CTOR_PIPE");
    if (!fd)
        return;
    if (write(atoi(fd), "c", 1) != 1)
        return;
    struct timespec wait = { 0, 300 * 1000 * 1000 };
    nanosleep(&wait, NULL);
    int modules = 0;
    dl_iterate_phdr(count_module, &modules);
}

/* Takes a reference through this library's GOT slot for rcobj_ref. */
rcobj_t *rcobj_ctor_keep(rcobj_t *obj)
{
    return rcobj_ref(obj);
}
