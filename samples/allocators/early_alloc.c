/*
 * early_alloc.c - libearly_alloc.so, a library whose constructor
 * allocates, as libLLVM's C++ static constructors do.  The loader runs
 * it before librefscope.so's constructor, so its first malloc is the
 * first call of the process into the allocator: a program that defines
 * malloc itself (samples/own_malloc.c) maps its first pages from there,
 * with its lock held, before refscope has started.
 */
#include <stdlib.h>
#include <string.h>

static char *greeting;

__attribute__((constructor)) static void allocate_early(void)
{
    greeting = malloc(16);
    if (greeting)
        strcpy(greeting, "early");
}

/* The block the constructor allocated (the program calls this, so that
 * it links the library). */
const char *early_alloc_greeting(void)
{
    return greeting;
}
