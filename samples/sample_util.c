/*
 * sample_util.c - output, stack scrubbing and blocking helpers for the
 * samples (see sample_util.h).  Linked statically into every sample; never
 * allocates from the heap so it adds nothing to what refscope reports.
 */
#include "sample_util.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

void sample_say(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof buf)
        n = sizeof buf - 1;
    write_all(1, buf, (size_t)n);
}

void sample_check(int ok, const char *what)
{
    if (ok)
        return;
    static const char prefix[] = "sample check failed: ";
    write_all(2, prefix, sizeof prefix - 1);
    write_all(2, what, strlen(what));
    write_all(2, "\n", 1);
    _exit(70);
}

/* Never equal to a depth: the recursion has no end the compiler can see. */
static volatile long overflow_stop_at = -1;

static SAMPLE_NOINLINE long recurse(long depth)
{
    volatile char frame[256];
    frame[0] = (char)depth;
    if (depth == overflow_stop_at)
        return 0;
    return recurse(depth + 1) + frame[0];
}

long sample_overflow_stack(void)
{
    return recurse(0);
}

SAMPLE_NOINLINE void sample_scrub_stack(void)
{
    volatile char area[64 * 1024];
    memset((char *)area, 0, sizeof area);
    __asm__ volatile("" : : "r"(area) : "memory");
}

static void *volatile drop_slot;

SAMPLE_NOINLINE void sample_drop(void *p)
{
    drop_slot = p;
    drop_slot = NULL;
}

SAMPLE_NOINLINE void sample_leak_control(size_t size)
{
    char *p = malloc(size);
    sample_check(p != NULL, "malloc(control)");
    memset(p, 0, size);
    sample_drop(p);
}

void sample_block_forever(void)
{
    for (;;)
        pause();
}

void sample_wait_flag(volatile int *flag)
{
    struct timespec ms = {0, 1000 * 1000};
    while (!*flag)
        nanosleep(&ms, NULL);
}

void sample_path_beside(char *path, size_t size, const char *lib)
{
    ssize_t n = readlink("/proc/self/exe", path, size - 1);
    sample_check(n > 0, "readlink /proc/self/exe");
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    size_t len = strlen(lib);
    sample_check(slash && (size_t)(slash + 1 - path) + len < size, "path fits");
    memcpy(slash + 1, lib, len + 1);
}

void *sample_dlopen_beside(const char *lib)
{
    char path[PATH_MAX];
    sample_path_beside(path, sizeof path, lib);
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    sample_check(handle != NULL, lib);
    return handle;
}

void *sample_dlsym(void *handle, const char *name)
{
    void *p = dlsym(handle, name);
    sample_check(p != NULL, name);
    return p;
}
