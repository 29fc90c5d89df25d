/*
 * demangle.h - readable names for C++ (and Rust legacy) symbols in
 * reports: "_ZN2os6mallocEm8MEMFLAGS" becomes "os::malloc(unsigned long,
 * MEMFLAGS)", as Memcheck, LeakSanitizer and heaptrack show them.
 *
 * The Itanium C++ ABI demangler of the C++ runtime (libstdc++'s
 * __cxa_demangle) does the work; refscope links libstdc++.so.6, which
 * every Debian system has.  C names are never touched: only names that
 * begin with "_Z" are tried.
 */
#ifndef RS_DEMANGLE_H
#define RS_DEMANGLE_H

/* The demangled form of name, malloc'ed (the caller frees it), or NULL
 * when name is NULL, not a mangled name, malformed, or memory ran out. */
char *rs_demangle(const char *name);

#endif /* RS_DEMANGLE_H */
