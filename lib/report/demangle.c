/*
 * demangle.c - see demangle.h.
 */
#include "demangle.h"

#include <libiberty/demangle.h>

char *rs_demangle(const char *name)
{
    if (!name || name[0] != '_' || (name[1] != 'Z' && name[1] != 'R'))
        return NULL;
    /* DMGL_AUTO tries Rust first (its legacy names are C++-shaped), then
     * the C++ ABI; parameters are shown, as the other tools show them. */
    return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
}
