/*
 * elf_symbols.h - looking symbols up in the loaded modules' dynamic symbol
 * tables directly, without dlsym.
 *
 * dlsym() goes through glibc's _dlerror_run, which frees the calling
 * thread's last dlerror() result and replaces it: a lookup refscope makes
 * while the program runs (a hook resolving a type function, the analysis
 * asking for GLib's version) would change what the program's next
 * dlerror() returns, free a string it still holds, and, when the analysis
 * does it, leave the program's dlerror blocks unreferenced but not yet
 * freed (refscope defers frees made inside it): false leaks.  A lookup
 * here reads only the modules' ELF tables.
 */
#ifndef RS_ELF_SYMBOLS_H
#define RS_ELF_SYMBOLS_H

#include <elf.h>
#include <link.h>
#include <stdint.h>

/* One loaded module's dynamic symbol tables. */
typedef struct rs_elf_module {
    uint64_t          base;       /* load bias                              */
    const char       *name;
    const ElfW(Sym)  *symtab;
    const char       *strtab;
    const uint32_t   *gnu_hash;   /* DT_GNU_HASH, or NULL                   */
    const uint32_t   *sysv_hash;  /* DT_HASH, or NULL                       */
    const uint16_t   *versym;     /* DT_VERSYM, or NULL (unversioned)       */
} rs_elf_module_t;

/* Fills m from a dl_iterate_phdr entry; 0 when the module has a symbol
 * table with a hash table to search it, else -1. */
int rs_elf_module_read(const struct dl_phdr_info *info, rs_elf_module_t *m);

/* The symbol `name` that m defines and exports in its default version
 * (what an unversioned reference binds to), or NULL. */
const ElfW(Sym) *rs_elf_module_find(const rs_elf_module_t *m, const char *name);

/* dlsym(RTLD_DEFAULT, name) without touching dlerror's state: the first
 * definition in load order (dl_iterate_phdr's), modules loaded with
 * RTLD_LOCAL included; unlike dlsym, never an undefined symbol with a
 * value (a non-PIE executable's canonical PLT entry).  An IFUNC symbol is resolved by dlsym itself (its
 * resolver must run).  NULL when no module defines it. */
void *rs_elf_symbol(const char *name);

#endif /* RS_ELF_SYMBOLS_H */
