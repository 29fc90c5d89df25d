/*
 * demangle.c - see demangle.h.  __cxa_demangle is declared here by hand:
 * it is the C++ ABI's C-callable entry point (cxxabi.h is C++ only).
 */
#include "demangle.h"

#include <stddef.h>

char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

char *rs_demangle(const char *name)
{
    if (!name || name[0] != '_' || name[1] != 'Z')
        return NULL;
    int status = 0;
    char *out = __cxa_demangle(name, NULL, NULL, &status);
    return status == 0 ? out : NULL;
}
