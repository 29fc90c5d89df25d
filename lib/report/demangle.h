/*
 * demangle.h - readable names for C++ and Rust symbols in reports:
 * "_ZN2os6mallocEm8MEMFLAGS" becomes "os::malloc(unsigned long,
 * MEMFLAGS)", "_RNvNtCs1234_3std2rt19lang_start_internal" becomes
 * "std::rt::lang_start_internal", as Memcheck, LeakSanitizer and heaptrack
 * show them.
 *
 * GNU libiberty's demangler does the work (the one binutils' c++filt and
 * addr2line -C use, and Valgrind carries a copy of): the Itanium C++ ABI,
 * and Rust's legacy and v0 schemes, whose hash suffix it drops.  Only
 * names that begin with "_Z" (C++, Rust legacy) or "_R" (Rust v0) are
 * tried: a C name is never touched.
 */
#ifndef RS_DEMANGLE_H
#define RS_DEMANGLE_H

/* The demangled form of name, malloc'ed (the caller frees it), or NULL
 * when name is NULL, not a mangled name, malformed, or memory ran out. */
char *rs_demangle(const char *name);

#endif /* RS_DEMANGLE_H */
