/*
 * report_array.h - growing malloc'ed arrays for the offline code (report
 * renderers, findings, the refscope CLI): one capacity rule instead of a
 * realloc-and-double block in every module.
 *
 * An array is a pointer, a count the caller keeps and a capacity.
 * rs_array_reserve() makes room; the caller then stores and counts.  The
 * capacity starts at RS_ARRAY_FIRST elements and doubles, so n appends
 * copy O(n) elements in all.  Code that runs inside the target process
 * must not use it: it allocates with realloc(), not rs_mem.
 */
#ifndef RS_REPORT_ARRAY_H
#define RS_REPORT_ARRAY_H

#include <stddef.h>

#define RS_ARRAY_FIRST 16

/*
 * Makes the array *items (elements of el bytes; items is the address of
 * the array pointer, e.g. &list->items) hold at least need elements,
 * reallocating it and updating *cap when it is smaller.  Returns 0, or
 * -1 when memory is exhausted or the size would overflow (the array and
 * *cap are then unchanged).
 */
int rs_array_reserve(void *items, size_t *cap, size_t need, size_t el);

#endif /* RS_REPORT_ARRAY_H */
