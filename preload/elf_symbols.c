/*
 * elf_symbols.c - symbol lookup in the loaded modules' dynamic symbol
 * tables, without dlsym (elf_symbols.h says why).
 *
 * A module's tables are found through its PT_DYNAMIC segment (DT_SYMTAB,
 * DT_STRTAB, DT_GNU_HASH or DT_HASH, DT_VERSYM), searched with its GNU
 * hash table (bloom filter, buckets, chains) or, in a module that has
 * only the old one, its SysV hash table.  A symbol counts when it is
 * defined (not SHN_UNDEF), global or weak, and in its module's default
 * version (the hidden bit of DT_VERSYM clear: memcpy@GLIBC_2.2.5 is not
 * what an unversioned lookup binds to).  Reads only; no allocation, no
 * lock but the loader's (dl_iterate_phdr).
 */
#include "elf_symbols.h"

#include <string.h>

#define VERSYM_HIDDEN 0x8000

static uint64_t dyn_ptr(const rs_elf_module_t *m, uint64_t v)
{
    return v < m->base ? v + m->base : v;   /* the vdso's are not relocated */
}

int rs_elf_module_read(const struct dl_phdr_info *info, rs_elf_module_t *m)
{
    *m = (rs_elf_module_t){ .base = info->dlpi_addr, .name = info->dlpi_name };
    const ElfW(Dyn) *dyn = NULL;
    for (uint16_t i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = (const void *)(uintptr_t)(m->base + info->dlpi_phdr[i].p_vaddr);
    for (; dyn && dyn->d_tag != DT_NULL; dyn++) {
        const void *p = (const void *)(uintptr_t)dyn_ptr(m, dyn->d_un.d_ptr);
        switch (dyn->d_tag) {
        case DT_SYMTAB:   m->symtab = p; break;
        case DT_STRTAB:   m->strtab = p; break;
        case DT_GNU_HASH: m->gnu_hash = p; break;
        case DT_HASH:     m->sysv_hash = p; break;
        case DT_VERSYM:   m->versym = p; break;
        default:          break;
        }
    }
    return m->symtab && m->strtab && (m->gnu_hash || m->sysv_hash) ? 0 : -1;
}

/* Symbol i of m is `name`, defined, exported, in its default version. */
static int is_match(const rs_elf_module_t *m, uint32_t i, const char *name)
{
    const ElfW(Sym) *s = &m->symtab[i];
    int bind = ELF64_ST_BIND(s->st_info);
    return s->st_shndx != SHN_UNDEF && (bind == STB_GLOBAL || bind == STB_WEAK) &&
           !(m->versym && (m->versym[i] & VERSYM_HIDDEN)) &&
           strcmp(m->strtab + s->st_name, name) == 0;
}

static const ElfW(Sym) *find_gnu(const rs_elf_module_t *m, const char *name)
{
    const uint32_t *h = m->gnu_hash;
    uint32_t nbuckets = h[0], symoffset = h[1], bloom_size = h[2], shift = h[3];
    if (!nbuckets || !bloom_size)
        return NULL;
    const uint64_t *bloom = (const void *)&h[4];
    const uint32_t *buckets = (const void *)&bloom[bloom_size];
    const uint32_t *chain = &buckets[nbuckets];
    uint32_t hash = 5381;
    for (const char *c = name; *c; c++)
        hash = hash * 33 + (uint8_t)*c;
    uint64_t word = bloom[(hash / 64) % bloom_size];
    uint64_t mask = (1ull << (hash % 64)) | (1ull << ((hash >> shift) % 64));
    if ((word & mask) != mask)
        return NULL;
    for (uint32_t i = buckets[hash % nbuckets]; i >= symoffset; i++) {
        uint32_t h2 = chain[i - symoffset];
        if ((h2 | 1) == (hash | 1) && is_match(m, i, name))
            return &m->symtab[i];
        if (h2 & 1)
            break;
    }
    return NULL;
}

static const ElfW(Sym) *find_sysv(const rs_elf_module_t *m, const char *name)
{
    const uint32_t *h = m->sysv_hash;
    uint32_t nbucket = h[0], nchain = h[1];
    if (!nbucket)
        return NULL;
    const uint32_t *bucket = &h[2], *chain = &h[2 + nbucket];
    uint32_t hash = 0;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
        hash = (hash << 4) + *c;
        uint32_t g = hash & 0xf0000000u;
        hash ^= g >> 24;
        hash &= ~g;
    }
    for (uint32_t i = bucket[hash % nbucket], n = 0; i && i < nchain && n < nchain;
         i = chain[i], n++)
        if (is_match(m, i, name))
            return &m->symtab[i];
    return NULL;
}

const ElfW(Sym) *rs_elf_module_find(const rs_elf_module_t *m, const char *name)
{
    return m->gnu_hash ? find_gnu(m, name) : find_sysv(m, name);
}

typedef struct search {
    const char *name;
    void       *found;
} search_t;

/* An IFUNC's address is what its resolver returns; x86_64's resolvers
 * take no argument (ld.so calls them so). */
static void *symbol_address(const rs_elf_module_t *m, const ElfW(Sym) *s)
{
    void *at = (void *)(uintptr_t)(m->base + s->st_value);
    if (ELF64_ST_TYPE(s->st_info) == STT_GNU_IFUNC)
        return ((void *(*)(void))at)();
    return at;
}

static int search_module(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    search_t *q = arg;
    rs_elf_module_t m;
    if (rs_elf_module_read(info, &m) != 0)
        return 0;
    const ElfW(Sym) *s = rs_elf_module_find(&m, q->name);
    if (!s || ELF64_ST_TYPE(s->st_info) == STT_TLS)
        return 0;
    q->found = symbol_address(&m, s);
    return 1;
}

void *rs_elf_symbol(const char *name)
{
    search_t q = { name, NULL };
    if (name && *name)
        dl_iterate_phdr(search_module, &q);
    return q.found;
}
