/*
 * sample_util.h - helpers shared by the samples in this directory.
 *
 * The samples exist to be run under refscope (and LeakSanitizer) and must
 * leave no accidental pointers behind: they print with write(2) instead of
 * stdio (stdio buffers are heap blocks that would show up as "reachable"),
 * and they scrub the dead part of the stack before exiting so that a stale
 * copy of a "lost" pointer cannot make a leak look reachable.
 *
 * Nothing here allocates from the heap.
 */
#ifndef SAMPLE_UTIL_H
#define SAMPLE_UTIL_H

#include <stddef.h>

#define SAMPLE_NOINLINE __attribute__((noinline, noclone))

/* printf-like output to stdout through a fixed stack buffer and write(2);
 * output longer than 1 KiB is truncated. */
void sample_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* If !ok, prints "sample check failed: what" on stderr and exits 70. */
void sample_check(int ok, const char *what);

/* Zeroes 64 KiB of the stack below the caller's frame, erasing stale
 * pointers left by functions that have already returned. */
void sample_scrub_stack(void);

/* Stores p where the optimiser cannot see it being dropped, then forgets it:
 * the block's address is used, yet no copy survives. */
void sample_drop(void *p);

/* Allocates size bytes with malloc and drops the pointer: the "control"
 * leak of the root samples, proving that an unrooted block in the same
 * program is still reported.  Exits 70 if malloc fails. */
void sample_leak_control(size_t size);

/* Recurses without end (256 bytes of frame a level) until the calling
 * thread's stack overflows: the kernel's SIGSEGV ends it.  Never returns. */
long sample_overflow_stack(void);

/* Blocks the calling thread forever (pause() in a loop). */
void sample_block_forever(void) __attribute__((noreturn));

/* Waits (sleeping 1 ms at a time) until *flag becomes non-zero. */
void sample_wait_flag(volatile int *flag);

/* Fills path (size bytes) with "<directory of this executable>/lib".
 * Exits 70 when it does not fit. */
void sample_path_beside(char *path, size_t size, const char *lib);

/* dlopen(RTLD_NOW | RTLD_LOCAL) of the library named lib (e.g.
 * "librcobj_symbolic.so") in the executable's own directory; exits 70
 * with a message when it cannot be loaded. */
void *sample_dlopen_beside(const char *lib);

/* dlsym(handle, name); exits 70 with a message when it is missing. */
void *sample_dlsym(void *handle, const char *name);

#endif /* SAMPLE_UTIL_H */
