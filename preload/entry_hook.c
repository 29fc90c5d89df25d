/*
 * entry_hook.c - patches hooked functions' entries to jump into their GOT
 * trampolines (see entry_hook.h for the scheme and its limits).
 *
 * Three parts: finding a definition (dl_iterate_phdr over the modules, a
 * GNU hash lookup of each pending name in a module's dynamic symbols),
 * trampoline pages (64-byte slots, pages mapped at a hint near the
 * function with MAP_FIXED_NOREPLACE, R-X except while a slot is written),
 * and the patch itself (an 8-byte window holding the jump, inside one
 * cache line, is replaced with one lock cmpxchg).
 *
 * Invariants: state[id] leaves PENDING once, to HOOKED or REFUSED, and
 * returns to PENDING only when its definition was unloaded (dlclose); a slot
 * is written completely (stub and relocated entry) and the GOT trampoline
 * told to resume there before the entry jump that leads to it is written;
 * the bytes of a function are only ever changed by that one 8-byte
 * compare-and-swap, so every thread sees either the old entry or the jump.
 * An address is entry-patched at most once: a second name defined at the
 * same address (an alias) shares the first one's slot (share_entry), so a
 * call through either name is recorded once.
 */
#include "elf_symbols.h"
#include "entry_hook.h"

#include "got_hook.h"
#include "preload.h"
#include "x86_relocate.h"

#include <dlfcn.h>
#include <elf.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__x86_64__) && defined(__linux__)

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define SLOT_SIZE    64
#define SLOT_STUB    16          /* relocated entry at slot + SLOT_STUB     */
#define PAGE         4096ull
#define MAX_PAGES    32
#define NEAR_LIMIT   (1ull << 30) /* page to function, leaves room for rel32 */
_Static_assert(SLOT_STUB + RS_X86_RELOC_MAX <= SLOT_SIZE, "slot layout");

enum { PENDING = 0, HOOKED = 1, REFUSED = 2 };

typedef struct tramp_page {
    uint64_t addr;
    uint32_t used;               /* bytes handed out                         */
} tramp_page_t;

/* x86_relocate.h's functions, from librefscope-x86.so (see helper()). */
typedef int (*relocate_fn)(const uint8_t *, uint64_t, uint64_t, uint32_t, uint64_t,
                           rs_x86_reloc_t *);
typedef int (*encode_fn)(uint8_t *, uint32_t, uint64_t, uint64_t);
static relocate_fn relocate;
static encode_fn encode;
static int helper_state;         /* 0 not tried, 1 loaded, -1 failed         */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t state[RS_GOT_HOOK_MAX];
static uint64_t tried_at[RS_GOT_HOOK_MAX];    /* entry of each id not PENDING */
static uint64_t relocated[RS_GOT_HOOK_MAX];   /* its relocated entry, if HOOKED */
static tramp_page_t pages[MAX_PAGES];
static uint32_t n_pages;

/* ---- messages ------------------------------------------------------------ */

/* One line: "refscope: " and the parts (NULL ends them). */
static void say(const char *const *parts)
{
    rs_line_t l = {.len = 0};
    rs_line_str(&l, "refscope: ");
    for (; *parts; parts++)
        rs_line_str(&l, *parts);
    rs_line_str(&l, "\n");
    rs_diag_emit(&l);
}

/* ---- the relocation helper ----------------------------------------------- */

/* Loads librefscope-x86.so (x86_relocate.c with Capstone, kept out of
 * librefscope.so: its relocation tables would cost every process about
 * 1 ms at start-up) from librefscope.so's directory, once.  On failure
 * says so once: functions are then hooked through the GOT only.  Returns
 * 0 when relocate and encode are set. */
static int helper(void)
{
    if (helper_state)
        return helper_state > 0 ? 0 : -1;
    helper_state = -1;
    Dl_info di;
    char path[PATH_MAX];
    const char *slash;
    static const char name[] = "librefscope-x86.so";
    if (!dladdr((void *)rs_entry_hook_apply, &di) || !di.dli_fname ||
        !(slash = strrchr(di.dli_fname, '/')) ||
        (size_t)(slash + 1 - di.dli_fname) + sizeof name > sizeof path) {
        say((const char *[]){ "cannot find librefscope.so's directory; "
                              "functions are hooked through the GOT only", NULL });
        return -1;
    }
    size_t dir = (size_t)(slash + 1 - di.dli_fname);
    memcpy(path, di.dli_fname, dir);
    memcpy(path + dir, name, sizeof name);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h) {
        relocate = (relocate_fn)dlsym(h, "rs_x86_relocate");
        encode = (encode_fn)dlsym(h, "rs_x86_encode_jump");
    }
    if (!relocate || !encode) {
        const char *why = h ? "it lacks rs_x86_relocate" : dlerror();
        say((const char *[]){ "cannot load ", path, " (", why ? why : "?",
                              "); functions are hooked through the GOT only", NULL });
        return -1;
    }
    helper_state = 1;
    return 0;
}

/* ---- finding definitions ------------------------------------------------- */

/* The defined function `name` of m with code (a size), or NULL. */
static const ElfW(Sym) *lookup(const rs_elf_module_t *m, const char *name)
{
    const ElfW(Sym) *s = rs_elf_module_find(m, name);
    return s && ELF64_ST_TYPE(s->st_info) == STT_FUNC && s->st_size > 0 ? s : NULL;
}

/* ---- trampoline pages ---------------------------------------------------- */

static uint64_t distance(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

/* Maps a page within NEAR_LIMIT of fn, or returns 0. */
static uint64_t map_near(uint64_t fn)
{
    uint64_t base = fn & ~(PAGE - 1);
    for (uint64_t d = 1ull << 20; d < NEAR_LIMIT; d <<= 1) {
        for (int dir = 0; dir < 2; dir++) {
            uint64_t hint = dir ? base + d : base - d;
            void *p = mmap((void *)hint, PAGE, PROT_READ | PROT_EXEC,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
            if (p == MAP_FAILED)
                continue;
            if (distance((uint64_t)p, fn) < NEAR_LIMIT)
                return (uint64_t)p;
            munmap(p, PAGE);          /* a kernel that ignored the flag */
        }
    }
    return 0;
}

/* A free slot within reach of fn, or 0. */
static uint64_t slot_near(uint64_t fn)
{
    for (uint32_t i = 0; i < n_pages; i++)
        if (pages[i].used + SLOT_SIZE <= PAGE && distance(pages[i].addr, fn) < NEAR_LIMIT)
            return pages[i].addr + (pages[i].used += SLOT_SIZE) - SLOT_SIZE;
    if (n_pages == MAX_PAGES)
        return 0;
    uint64_t p = map_near(fn);
    if (!p)
        return 0;
    pages[n_pages++] = (tramp_page_t){ p, SLOT_SIZE };
    return p;
}

/* Copies len bytes to dst in an R-X page, made RWX for the write (another
 * thread may be running the page's other slots).  -1 if mprotect fails. */
static int write_code(uint64_t dst, const void *src, size_t len)
{
    void *page = (void *)(dst & ~(PAGE - 1));
    size_t span = ((dst + len - 1) & ~(PAGE - 1)) + PAGE - (uint64_t)page;
    if (mprotect(page, span, PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
        return -1;
    memcpy((void *)dst, src, len);
    mprotect(page, span, PROT_READ | PROT_EXEC);
    return 0;
}

/* ---- the patch ----------------------------------------------------------- */

/* Replaces the 8 bytes at p (inside one cache line), which hold old, with
 * new in one locked compare-and-swap: atomic for every other thread,
 * instruction fetch included, as the bytes never straddle a cache line.
 * 0, or -1 if they no longer hold old. */
static int cas8(uint64_t p, uint64_t old, uint64_t new)
{
    uint8_t ok;
    __asm__ volatile("lock cmpxchgq %3, %1\n\tsete %0"
                     : "=q"(ok), "+m"(*(volatile uint64_t *)p), "+a"(old)
                     : "r"(new)
                     : "memory", "cc");
    return ok ? 0 : -1;
}

/* The start of an 8-byte window holding [at, at + len) inside one 64-byte
 * cache line, or 0 if there is none. */
static uint64_t cas_window(uint64_t at, uint32_t len)
{
    for (uint64_t w = at; w + 8 >= at + len && w + 3 >= at; w--)
        if ((w & 63) <= 56)
            return w;
    return 0;
}

/* Writes the len-byte jump at `at` into the text, atomically.  A reason,
 * or NULL on success. */
static const char *write_patch(uint64_t at, const uint8_t *jump, uint32_t len)
{
    uint64_t window = cas_window(at, len);
    if (!window)
        return "the patch would straddle a cache line (no atomic write)";
    uint64_t old, new;
    memcpy(&old, (const void *)window, 8);
    new = old;
    memcpy((uint8_t *)&new + (at - window), jump, len);
    void *page = (void *)(window & ~(PAGE - 1));
    if (mprotect(page, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
        return "mprotect refused to make the code writable";
    int rc = cas8(window, old, new);
    mprotect(page, PAGE, PROT_READ | PROT_EXEC);
    return rc == 0 ? NULL : "the code changed while being patched";
}

/* Hooks the function fn (size bytes) as hook id, setting relocated[id].
 * A reason, or NULL. */
static const char *hook_one(uint32_t id, uint64_t fn, uint64_t size)
{
    uint64_t slot = slot_near(fn);
    if (!slot)
        return "no trampoline page within reach";
    rs_x86_reloc_t r;
    if (relocate((const uint8_t *)fn, fn, size, RS_X86_PATCH_REL32,
                 slot + SLOT_STUB, &r) != 0)
        return r.why;
    uint8_t code[SLOT_SIZE] = {0};
    encode(code, RS_X86_PATCH_ABS, slot, (uint64_t)rs_got_hook_trampoline(id));
    memcpy(code + SLOT_STUB, r.code, r.code_len);
    uint8_t jump[RS_X86_PATCH_REL32];
    if (encode(jump, RS_X86_PATCH_REL32, fn + r.patch_at, slot) != 0)
        return "no trampoline page within reach";
    uint64_t at = fn + r.patch_at;
    if (!cas_window(at, RS_X86_PATCH_REL32))
        return "the patch would straddle a cache line (no atomic write)";
    if (write_code(slot, code, sizeof code) != 0)
        return "mprotect refused to write the trampoline";
    if (rs_got_hook_set_resume(id, (void *)fn, (void *)(slot + SLOT_STUB)) != 0)
        return "another definition is hooked";
    relocated[id] = slot + SLOT_STUB;
    return write_patch(at, jump, RS_X86_PATCH_REL32);
}

/* The id whose entry hook is at fn, or -1. */
static int hooked_id_at(uint64_t fn)
{
    for (uint32_t k = 0; k < RS_GOT_HOOK_MAX; k++)
        if (state[k] == HOOKED && tried_at[k] == fn)
            return (int)k;
    return -1;
}

/* ---- the module walk ----------------------------------------------------- */

typedef struct walk {
    const char *const *names;
    uint32_t           n;
    int                verbose, hooked;
} walk_t;

/* fn is entry-hooked as k and id is an alias (another name for fn): the
 * entry is not patched again (the relocation would copy k's jump and
 * every call would run both hooks), and id's GOT trampoline resumes at
 * k's relocated entry, past the jump (resuming at fn would run k's
 * trampoline too: every call through the alias recorded twice).  Then a
 * call is recorded once, under the name it was made through; a direct
 * call to fn under k's. */
static void share_entry(walk_t *w, const char *where, uint32_t id, uint32_t k, uint64_t fn)
{
    int ok = rs_got_hook_set_resume(id, (void *)fn, (void *)relocated[k]) == 0;
    state[id] = ok ? HOOKED : REFUSED;
    tried_at[id] = fn;
    relocated[id] = ok ? relocated[k] : 0;
    if (!w->verbose)
        return;
    if (ok)
        say((const char *[]){ w->names[id], " in ", where, ": entry hooked as ",
                              w->names[k], " (an alias at the same address)", NULL });
    else
        say((const char *[]){ w->names[id], " in ", where, ": entry not hooked (another "
                              "definition is hooked); hooked through the GOT only", NULL });
}

static void try_definition(walk_t *w, const rs_elf_module_t *m, uint32_t id, const ElfW(Sym) *s)
{
    uint64_t fn = m->base + s->st_value;
    void *orig = rs_got_hook_original(id);
    if (orig && (uint64_t)orig != fn)
        return;                         /* not the definition calls bind to */
    const char *where = m->name && *m->name ? m->name : "the executable";
    int k = hooked_id_at(fn);
    if (k >= 0) {
        share_entry(w, where, id, (uint32_t)k, fn);
        return;
    }
    const char *why = hook_one(id, fn, s->st_size);
    state[id] = why ? REFUSED : HOOKED;
    tried_at[id] = fn;
    if (why) {
        if (w->verbose)
            say((const char *[]){ w->names[id], " in ", where, ": entry not hooked (", why,
                                  "); hooked through the GOT only", NULL });
    } else {
        w->hooked++;
        if (w->verbose)
            say((const char *[]){ w->names[id], " in ", where, ": entry hooked", NULL });
    }
}

static int visit_module(struct dl_phdr_info *info, size_t size, void *arg)
{
    walk_t *w = arg;
    rs_elf_module_t m;
    if (rs_elf_module_read(info, &m) != 0)
        return 0;
    for (uint16_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        uint64_t self = (uint64_t)rs_entry_hook_apply;
        if (p->p_type == PT_LOAD && self >= m.base + p->p_vaddr &&
            self < m.base + p->p_vaddr + p->p_memsz)
            return 0;                   /* never refscope itself */
    }
    for (uint32_t id = 0; id < w->n; id++) {
        if (state[id] != PENDING || !w->names[id])
            continue;
        const ElfW(Sym) *s = lookup(&m, w->names[id]);
        if (s)
            try_definition(w, &m, id, s);
    }
    return 0;
}

/* Not dladdr, which takes the loader lock: a dlopen on another thread
 * holds it while its constructors run, and one that allocates waits for
 * `lock` in rs_entry_hook_apply. */
void rs_entry_hook_forget_unloaded(void)
{
    pthread_mutex_lock(&lock);
    for (uint32_t id = 0; id < RS_GOT_HOOK_MAX; id++) {
        if (state[id] != PENDING && !rs_got_hook_loaded(tried_at[id])) {
            state[id] = PENDING;
            tried_at[id] = relocated[id] = 0;
        }
    }
    pthread_mutex_unlock(&lock);
}

int rs_entry_hook_apply(const char *const *names, uint32_t n, int verbose)
{
    if (n > RS_GOT_HOOK_MAX)
        n = RS_GOT_HOOK_MAX;
    walk_t w = { names, n, verbose, 0 };
    pthread_mutex_lock(&lock);
    if (helper() == 0)
        dl_iterate_phdr(visit_module, &w);
    pthread_mutex_unlock(&lock);
    return w.hooked;
}

#else /* not x86-64 Linux */

int rs_entry_hook_apply(const char *const *names, uint32_t n, int verbose) { return 0; }
void rs_entry_hook_forget_unloaded(void) {}

#endif
