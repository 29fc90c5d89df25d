/*
 * report_array.c - growing malloc'ed arrays (see report_array.h).
 */
#include "report_array.h"

#include <stdint.h>
#include <stdlib.h>

int rs_array_reserve(void *items, size_t *cap, size_t need, size_t el)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : RS_ARRAY_FIRST;
    while (c < need) {
        if (c > SIZE_MAX / 2)
            return -1;
        c *= 2;
    }
    if (el && c > SIZE_MAX / el)
        return -1;
    void *p = realloc(*(void **)items, c * el);
    if (!p)
        return -1;
    *(void **)items = p;
    *cap = c;
    return 0;
}
