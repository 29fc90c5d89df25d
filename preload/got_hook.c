/*
 * got_hook.c - GOT-rewriting function hooks with assembly trampolines (see
 * got_hook.h for the contract).
 *
 * Trampolines.  A fixed table of 16-byte stubs, one per id, each
 * `mov $id, %r11d; jmp common`.  common saves rbp, r9..rdi, rax, r10 and
 * xmm0-7 on the stack (keeping it 16-byte aligned), calls enter(id, args,
 * &return-address), restores everything and jumps to the address enter
 * returned (the real function), so the callee sees the caller's stack.
 * enter may replace the return address with return_stub after pushing the
 * original on the thread's shadow stack; return_stub saves rax, rdx and
 * what else may hold a return value: xmm0 and xmm1 (double, __m128, a
 * struct of two doubles), or, when the x87 stack is not empty (its TOP
 * field is not 0: a long double in st0, a complex one in st0-st1), the
 * whole FPU/SSE state (fxsave, about 100 ns more: 11% of a numpy run's
 * time under the python profile when every return paid it); the other
 * vector registers are the caller's to save under the ABI.  It calls
 * leave(rax, slot), which pops the
 * entry, writes the original return address back into the slot (so stack
 * walkers see the real caller), runs the post hook and returns the address
 * and the (possibly replaced) rax; the stub restores and `ret`s there.
 *
 * Shadow stack invariants: entries are pushed in call order; an entry's
 * slot is the stack address of the return address it replaced.  leave
 * searches from the top for its slot and drops any entries above it (calls
 * abandoned by longjmp).  A trampoline entered with return_stub already in
 * its slot (a tail call from one hooked function to another) pushes an
 * entry whose `ret` is return_stub: leave pops the inner entry, "returns"
 * into the stub again, which pops the outer one - both posts run, inner
 * first.
 *
 * Patching.  dl_iterate_phdr visits every module; for each relocation in
 * DT_JMPREL and DT_RELA whose symbol name is hooked, the slot is set to the
 * trampoline when it currently holds the real function, or an unresolved
 * lazy PLT stub of the module itself.  A slot already holding a trampoline
 * is skipped, so refresh is idempotent.  RELRO pages are mprotect'ed
 * writable around the write and read-only again: a module whose RELRO
 * pages ld.so has not protected yet (still being relocated, see
 * being_relocated()) is left alone until a later refresh.  The patch mutex serialises install/refresh.
 */
#include "elf_symbols.h"
#include "got_hook.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__x86_64__) && defined(__linux__)

#define INTERNAL_DLSYM  RS_GOT_HOOK_MAX
#define INTERNAL_DLVSYM (RS_GOT_HOOK_MAX + 1)
#define N_TRAMPOLINES   258      /* literal: also used by the assembly */
_Static_assert(N_TRAMPOLINES == RS_GOT_HOOK_MAX + 2, "trampoline count");
#define STR_(x) #x
#define STR(x)  STR_(x)
#define NAME_BUCKETS    1032     /* open addressing, at most 1/4 full */
_Static_assert(NAME_BUCKETS >= 4 * N_TRAMPOLINES, "name index load");

/* ---- assembly ---------------------------------------------------------- */

/* Stack layout in common, from rsp after saving (rsp is 16-aligned):
 *   0..127 xmm0-7, 128 r10, 136 rax, 144 rdi, 152 rsi, 160 rdx, 168 rcx,
 *   176 r8, 184 r9, 192 saved rbp, 200 return address of the hooked call. */
__asm__(
    ".text\n"
    ".globl rs_got_tramp_table\n"
    ".hidden rs_got_tramp_table\n"
    ".balign 16\n"
    "rs_got_tramp_table:\n"
    ".set rs_got_i, 0\n"
    ".rept " STR(N_TRAMPOLINES) "\n"
    ".balign 16\n"
    ".cfi_startproc\n"
    "    movl $rs_got_i, %r11d\n"
    "    jmp rs_got_common\n"
    ".cfi_endproc\n"
    ".set rs_got_i, rs_got_i + 1\n"
    ".endr\n"
    ".balign 16\n"
    "rs_got_common:\n"
    ".cfi_startproc\n"
    "    pushq %rbp\n"
    ".cfi_adjust_cfa_offset 8\n"
    ".cfi_rel_offset %rbp, 0\n"
    "    movq %rsp, %rbp\n"
    ".cfi_def_cfa_register %rbp\n"
    "    pushq %r9\n"
    "    pushq %r8\n"
    "    pushq %rcx\n"
    "    pushq %rdx\n"
    "    pushq %rsi\n"
    "    pushq %rdi\n"
    "    pushq %rax\n"
    "    pushq %r10\n"
    "    subq $128, %rsp\n"
    "    movaps %xmm0, 0(%rsp)\n"
    "    movaps %xmm1, 16(%rsp)\n"
    "    movaps %xmm2, 32(%rsp)\n"
    "    movaps %xmm3, 48(%rsp)\n"
    "    movaps %xmm4, 64(%rsp)\n"
    "    movaps %xmm5, 80(%rsp)\n"
    "    movaps %xmm6, 96(%rsp)\n"
    "    movaps %xmm7, 112(%rsp)\n"
    "    movl %r11d, %edi\n"
    "    leaq 144(%rsp), %rsi\n"
    "    leaq 8(%rbp), %rdx\n"
    "    call rs_got_enter\n"
    "    movq %rax, %r11\n"
    "    movaps 0(%rsp), %xmm0\n"
    "    movaps 16(%rsp), %xmm1\n"
    "    movaps 32(%rsp), %xmm2\n"
    "    movaps 48(%rsp), %xmm3\n"
    "    movaps 64(%rsp), %xmm4\n"
    "    movaps 80(%rsp), %xmm5\n"
    "    movaps 96(%rsp), %xmm6\n"
    "    movaps 112(%rsp), %xmm7\n"
    "    addq $128, %rsp\n"
    "    popq %r10\n"
    "    popq %rax\n"
    "    popq %rdi\n"
    "    popq %rsi\n"
    "    popq %rdx\n"
    "    popq %rcx\n"
    "    popq %r8\n"
    "    popq %r9\n"
    "    popq %rbp\n"
    ".cfi_def_cfa %rsp, 8\n"
    ".cfi_restore %rbp\n"
    "    jmp *%r11\n"
    ".cfi_endproc\n"
    /* Entered by the hooked function's `ret`: rsp = slot + 8.  The nop
     * keeps return_stub - 1 inside the stub's CFI for unwinders, which
     * look up a return address's caller at address - 1: there rip is
     * undefined, so a walk from inside the hooked function ends cleanly
     * at the stub (the slot holds the stub itself, nothing to unwind
     * through) and libunwind's cached fast path stays usable; the walker
     * continues with the pending call's stack (got_hook.h).  From the
     * stub's body on (post hooks) the slot holds the real address again. */
    ".balign 16\n"
    ".cfi_startproc\n"
    ".cfi_def_cfa_offset 0\n"
    ".cfi_undefined %rip\n"
    "    nop\n"
    ".globl rs_got_return_stub\n"
    ".hidden rs_got_return_stub\n"
    "rs_got_return_stub:\n"
    "    subq $8, %rsp\n"              /* the slot: leave refills it     */
    ".cfi_def_cfa_offset 8\n"
    ".cfi_restore %rip\n"
    "    pushq %rax\n"
    ".cfi_adjust_cfa_offset 8\n"
    "    pushq %rdx\n"
    ".cfi_adjust_cfa_offset 8\n"
    "    subq $520, %rsp\n"            /* 512-byte fxsave area, aligned  */
    ".cfi_adjust_cfa_offset 520\n"
    "    fnstsw %ax\n"                 /* rax is saved at 528(%rsp)      */
    "    testw $0x3800, %ax\n"         /* x87 TOP: 0 = empty stack       */
    "    jnz 1f\n"
    "    movaps %xmm0, 0(%rsp)\n"
    "    movaps %xmm1, 16(%rsp)\n"
    "    movq 528(%rsp), %rdi\n"
    "    leaq 536(%rsp), %rsi\n"
    "    call rs_got_leave\n"
    "    movq %rax, 536(%rsp)\n"       /* original return address        */
    "    movq %rdx, 528(%rsp)\n"       /* rax to hand back               */
    "    movaps 0(%rsp), %xmm0\n"
    "    movaps 16(%rsp), %xmm1\n"
    "    jmp 2f\n"
    "1:  fxsave64 (%rsp)\n"            /* a long double returned in st0  */
    "    movq 528(%rsp), %rdi\n"
    "    leaq 536(%rsp), %rsi\n"
    "    call rs_got_leave\n"
    "    movq %rax, 536(%rsp)\n"
    "    movq %rdx, 528(%rsp)\n"
    "    fxrstor64 (%rsp)\n"
    "2:  addq $520, %rsp\n"
    ".cfi_adjust_cfa_offset -520\n"
    "    popq %rdx\n"
    ".cfi_adjust_cfa_offset -8\n"
    "    popq %rax\n"
    ".cfi_adjust_cfa_offset -8\n"
    "    ret\n"
    ".cfi_endproc\n");

extern char rs_got_tramp_table[];
extern char rs_got_return_stub[];

/* ---- state ------------------------------------------------------------- */

/* Kept small: the shadow stack is TLS, which glibc carves from each
 * thread's stack (a thread with PTHREAD_STACK_MIN has little to spare). */
typedef struct shadow_entry {
    uint64_t ret;          /* original return address                  */
    uint64_t slot;         /* where it was on the stack                */
    uint64_t cookie[2];    /* pre's; for a deferred stack, cookie[0] is
                              the caller's rbp at the call             */
    uint32_t id;
    uint32_t stack;        /* caller's stack id given by pre, 0 = none,
                              STACK_DEFERRED: made on demand           */
} shadow_entry_t;

#define STACK_DEFERRED UINT32_MAX

typedef struct shadow {
    uint32_t        depth;
    int             busy;      /* reentrancy guard                      */
    uint32_t        pre_stack; /* set by pre: set_caller_stack, or
                                  STACK_DEFERRED: defer_caller_stack    */
    shadow_entry_t *returning; /* the entry whose post runs (a copy on
                                  rs_got_leave's stack), else NULL      */
    shadow_entry_t  e[RS_GOT_HOOK_SHADOW];
} shadow_t;

static __thread shadow_t shadow __attribute__((tls_model("initial-exec")));

static pthread_mutex_t patch_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const *hook_names;
static uint32_t n_hooks;
static rs_got_pre_fn pre_hook;
static rs_got_post_fn post_hook;
static rs_got_stack_fn stack_maker;
static void *_Atomic originals[N_TRAMPOLINES];
/* Where a call continues after pre: the relocated entry of an
 * entry-hooked function (entry_hook.h), else NULL = originals[id]. */
static void *_Atomic resume[N_TRAMPOLINES];
static uint16_t name_index[NAME_BUCKETS];    /* id + 1, 0 = empty         */
static _Atomic uint64_t n_patched, n_skipped;
static uint8_t foreign_only[RS_GOT_HOOK_MAX];  /* rs_got_hook_foreign_only */
static int installed;
static int relocating;   /* the last patch_all left a module being relocated */

static void *tramp(uint32_t id) { return rs_got_tramp_table + 16 * (size_t)id; }

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static const char *id_name(uint32_t id)
{
    return id == INTERNAL_DLSYM ? "dlsym" : id == INTERNAL_DLVSYM ? "dlvsym" : hook_names[id];
}

/* The id hooked under name, or -1.  Internal ids included. */
static int find_id(const char *name)
{
    for (uint32_t i = hash_name(name) % NAME_BUCKETS, k = 0; k < NAME_BUCKETS;
         i = (i + 1) % NAME_BUCKETS, k++) {
        if (name_index[i] == 0)
            return -1;
        if (strcmp(id_name(name_index[i] - 1u), name) == 0)
            return name_index[i] - 1;
    }
    return -1;
}

static void index_name(uint32_t id)
{
    uint32_t i = hash_name(id_name(id)) % NAME_BUCKETS;
    while (name_index[i])
        i = (i + 1) % NAME_BUCKETS;
    name_index[i] = (uint16_t)(id + 1);
}

/* ---- hot path ---------------------------------------------------------- */

/* dlsym(handle, name) / dlvsym(handle, name, version): ask for a post hook
 * when name is hooked, remembering its id.  RTLD_NEXT lookups depend on
 * the caller's address, which the return stub would hide: left alone. */
static int dlsym_pre(const uint64_t *args, uint64_t cookie[2])
{
    const char *name = (const char *)args[1];
    if ((void *)args[0] == RTLD_NEXT || !name)
        return 0;
    int id = find_id(name);
    if (id < 0 || (uint32_t)id >= n_hooks)
        return 0;
    cookie[0] = (uint64_t)id;
    return 1;
}

static uint64_t dlsym_post(uint64_t ret, const uint64_t cookie[2])
{
    uint32_t id = (uint32_t)cookie[0];
    void *expected = NULL;
    if (!ret)
        return ret;
    if (atomic_compare_exchange_strong(&originals[id], &expected, (void *)ret) ||
        expected == (void *)ret)
        return (uint64_t)tramp(id);
    return ret;
}

/* Where a call of id continues.  Read after pre: pre may entry-hook the
 * function (a refresh after dlopen), and the original's entry then leads
 * back here. */
static uint64_t continue_at(uint32_t id)
{
    void *target = atomic_load_explicit(&resume[id], memory_order_acquire);
    if (!target)
        target = atomic_load_explicit(&originals[id], memory_order_relaxed);
    return (uint64_t)target;
}

/* args: the saved argument registers, then (args[6]) the caller's rbp
 * that rs_got_common pushed; slot: the return address, just above. */
__attribute__((used)) static uint64_t rs_got_enter(uint32_t id, const uint64_t *args,
                                                   uint64_t *slot)
{
    shadow_t *sh = &shadow;
    if (sh->busy)
        return continue_at(id);
    sh->busy = 1;
    uint64_t cookie[2] = { 0, 0 };
    int internal = id >= RS_GOT_HOOK_MAX;
    sh->pre_stack = 0;
    const rs_call_site_t site = { *slot, (uint64_t)(uintptr_t)(slot + 1), args[6] };
    int want = internal ? dlsym_pre(args, cookie) : pre_hook(id, args, &site, cookie);
    if (want && (internal || post_hook) && sh->depth < RS_GOT_HOOK_SHADOW) {
        if (sh->pre_stack == STACK_DEFERRED)
            cookie[0] = args[6];
        sh->e[sh->depth] = (shadow_entry_t){ *slot, (uint64_t)slot,
                                             { cookie[0], cookie[1] }, id,
                                             sh->pre_stack };
        sh->depth++;
        *slot = (uint64_t)rs_got_return_stub;
    }
    sh->busy = 0;
    return continue_at(id);
}

typedef struct leave_result {
    uint64_t ret;   /* rax: where to return                          */
    uint64_t rax;   /* rdx: the return value to hand back            */
} leave_result_t;

__attribute__((used)) static leave_result_t rs_got_leave(uint64_t rax, uint64_t *slot)
{
    shadow_t *sh = &shadow;
    int was_busy = sh->busy;
    sh->busy = 1;
    uint32_t d = sh->depth;
    while (d > 0 && sh->e[d - 1].slot != (uint64_t)slot)
        d--;                           /* entries above: abandoned frames */
    if (d == 0)
        __builtin_trap();              /* cannot know where to return    */
    shadow_entry_t e = sh->e[d - 1];
    /* Forget the popped entries (this one and abandoned ones above it): a
     * cookie holds an object pointer, and this TLS block is a root of the
     * leak analysis. */
    memset(&sh->e[d - 1], 0, (sh->depth - (d - 1)) * sizeof sh->e[0]);
    sh->depth = d - 1;
    *slot = e.ret;
    leave_result_t r = { e.ret, rax };
    if (e.id >= RS_GOT_HOOK_MAX) {
        r.rax = dlsym_post(rax, e.cookie);
    } else {
        sh->returning = &e;
        post_hook(e.id, rax, e.cookie);
        sh->returning = NULL;
    }
    sh->busy = was_busy;
    return r;
}

/* ---- patching ---------------------------------------------------------- */

typedef struct module {
    uint64_t          base;
    const ElfW(Phdr) *phdr;
    uint16_t          phnum;
    const ElfW(Sym)  *symtab;
    const char       *strtab;
    uint64_t          strsz;
    const ElfW(Rela) *rel[2];
    uint64_t          relsz[2];
    uint64_t          relro_start, relro_end;
    int               patched;
} module_t;

static uint64_t dyn_addr(const module_t *m, uint64_t v)
{
    /* ld.so relocates most d_ptr entries in place; the vdso's it does not. */
    return v < m->base ? v + m->base : v;
}

/* 1 if addr lies in one of the module's PT_LOAD segments. */
static int in_module(const module_t *m, uint64_t addr)
{
    for (uint16_t i = 0; i < m->phnum; i++) {
        const ElfW(Phdr) *p = &m->phdr[i];
        if (p->p_type == PT_LOAD && addr >= m->base + p->p_vaddr &&
            addr < m->base + p->p_vaddr + p->p_memsz)
            return 1;
    }
    return 0;
}

static int read_dynamic(module_t *m, const ElfW(Dyn) *dyn)
{
    uint64_t pltrel = DT_RELA;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_SYMTAB:   m->symtab = (const void *)dyn_addr(m, dyn->d_un.d_ptr); break;
        case DT_STRTAB:   m->strtab = (const void *)dyn_addr(m, dyn->d_un.d_ptr); break;
        case DT_STRSZ:    m->strsz = dyn->d_un.d_val; break;
        case DT_JMPREL:   m->rel[0] = (const void *)dyn_addr(m, dyn->d_un.d_ptr); break;
        case DT_PLTRELSZ: m->relsz[0] = dyn->d_un.d_val; break;
        case DT_PLTREL:   pltrel = dyn->d_un.d_val; break;
        case DT_RELA:     m->rel[1] = (const void *)dyn_addr(m, dyn->d_un.d_ptr); break;
        case DT_RELASZ:   m->relsz[1] = dyn->d_un.d_val; break;
        default: break;
        }
    }
    if (pltrel != DT_RELA)
        m->rel[0] = NULL;
    return m->symtab && m->strtab ? 0 : -1;
}

/* 1 if addr lies in a writable PT_LOAD segment of the module. */
static int in_writable_segment(const module_t *m, uint64_t addr)
{
    for (uint16_t i = 0; i < m->phnum; i++) {
        const ElfW(Phdr) *p = &m->phdr[i];
        if (p->p_type == PT_LOAD && (p->p_flags & PF_W) &&
            addr >= m->base + p->p_vaddr && addr + 8 <= m->base + p->p_vaddr + p->p_memsz)
            return 1;
    }
    return 0;
}

/* Writes v into *slot.  Inside the RELRO pages (ld.so protects
 * [page_down(start), page_down(end)), exactly as computed in patch_module)
 * the page is made writable for the write; elsewhere the slot must lie in
 * a writable segment.  -1 when it cannot be written. */
static int write_slot(const module_t *m, uint64_t *slot, uint64_t v)
{
    uint64_t a = (uint64_t)slot;
    if (a >= m->relro_start && a < m->relro_end) {
        uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
        void *page = (void *)(a & ~(pg - 1));
        if (mprotect(page, pg, PROT_READ | PROT_WRITE))
            return -1;
        __atomic_store_n(slot, v, __ATOMIC_RELEASE);
        mprotect(page, pg, PROT_READ);
        return 0;
    }
    if (!in_writable_segment(m, a))
        return -1;
    __atomic_store_n(slot, v, __ATOMIC_RELEASE);
    return 0;
}

/* (got_hook.h) dl_iterate_phdr lists a module as soon as it is mapped,
 * but glibc (2.35+) enters it in
 * _dl_find_object's tables only after relocating it and write-protecting
 * its RELRO pages, and takes it out at the start of its dlclose.
 * Lock-free: dladdr would take the loader lock (dl_load_lock) while
 * dl_iterate_phdr holds dl_load_write_lock, the reverse of dlopen's order
 * (it takes the write lock inside the loader lock to list a new module):
 * a deadlock with a dlopen on another thread.  Older glibc: dladdr, with
 * that hazard. */
int rs_got_hook_loaded(uint64_t addr)
{
#ifdef DLFO_EH_SEGMENT_TYPE
    struct dl_find_object dlfo;
    return _dl_find_object((void *)(uintptr_t)addr, &dlfo) == 0;
#else
    Dl_info info;
    return dladdr((void *)(uintptr_t)addr, &info) != 0;
#endif
}

/* Decides whether the slot of relocation r (symbol id) may be redirected,
 * learning the original if it was unknown. */
static int may_patch(const module_t *m, const ElfW(Rela) *r, const ElfW(Sym) *sym,
                     uint32_t id, uint64_t cur)
{
    uint32_t type = ELF64_R_TYPE(r->r_info);
    void *orig = atomic_load(&originals[id]);
    if (orig && cur == (uint64_t)orig)
        return 1;
    /* A lazy JUMP_SLOT not yet bound points into this module's own PLT. */
    if (type == R_X86_64_JUMP_SLOT && in_module(m, cur) &&
        (sym->st_shndx == SHN_UNDEF || cur != m->base + sym->st_value))
        return orig != NULL;
    /* cur in a loaded module: a value the loader has bound, never a
     * link-time offset of a slot not relocated yet (learning that as the
     * original would lose the function for good). */
    if (!orig && cur && !in_module(m, cur) && rs_got_hook_loaded(cur)) {
        void *expected = NULL;
        atomic_compare_exchange_strong(&originals[id], &expected, (void *)cur);
        return expected == NULL || expected == (void *)cur;
    }
    return 0;
}

static void patch_rel(module_t *m, const ElfW(Rela) *rel, uint64_t size)
{
    for (uint64_t i = 0; i < size / sizeof *rel; i++) {
        const ElfW(Rela) *r = &rel[i];
        uint32_t type = ELF64_R_TYPE(r->r_info), symi = ELF64_R_SYM(r->r_info);
        if ((type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT &&
             type != R_X86_64_64) || symi == 0 || (type == R_X86_64_64 && r->r_addend))
            continue;
        const ElfW(Sym) *sym = &m->symtab[symi];
        if (m->strsz && sym->st_name >= m->strsz)
            continue;
        int id = find_id(m->strtab + sym->st_name);
        if (id < 0 || (id < RS_GOT_HOOK_MAX && foreign_only[id] && sym->st_shndx != SHN_UNDEF))
            continue;
        uint64_t *slot = (uint64_t *)(m->base + r->r_offset);
        uint64_t cur = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
        if (cur == (uint64_t)tramp((uint32_t)id))
            continue;
        if (!may_patch(m, r, sym, (uint32_t)id, cur) ||
            write_slot(m, slot, (uint64_t)tramp((uint32_t)id))) {
            atomic_fetch_add(&n_skipped, 1);
            continue;
        }
        atomic_fetch_add(&n_patched, 1);
        m->patched++;
    }
}

/* 1 while ld.so is still relocating the module holding addr, listed by
 * dl_iterate_phdr (a dlopen in progress, on this thread - an IFUNC
 * resolver that allocates - or on another one).  Until it is
 * rs_got_hook_loaded(), its RELRO pages are ld.so's to write: making one
 * read-only after patching a slot would crash its next relocation.
 * Unknown before glibc 2.35 (0). */
static int being_relocated(uint64_t addr)
{
#ifdef DLFO_EH_SEGMENT_TYPE
    return !rs_got_hook_loaded(addr);
#else
    (void)addr;
    return 0;
#endif
}

static int patch_module(struct dl_phdr_info *info, size_t size, void *arg)
{
    int *total = arg;
    module_t m = { .base = info->dlpi_addr, .phdr = info->dlpi_phdr,
                   .phnum = info->dlpi_phnum };
    const ElfW(Dyn) *dyn = NULL;
    for (uint16_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        if (p->p_type == PT_DYNAMIC)
            dyn = (const void *)(m.base + p->p_vaddr);
        if (p->p_type == PT_GNU_RELRO && being_relocated(m.base + p->p_vaddr)) {
            relocating = 1;            /* left for a later refresh */
            return 0;
        }
        if (p->p_type == PT_GNU_RELRO) {
            uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
            m.relro_start = (m.base + p->p_vaddr) & ~(pg - 1);
            m.relro_end = (m.base + p->p_vaddr + p->p_memsz) & ~(pg - 1);
        }
    }
    if (in_module(&m, (uint64_t)rs_got_hook_install))
        return 0;                      /* never hook refscope itself */
    if (!dyn || read_dynamic(&m, dyn))
        return 0;
    for (int k = 0; k < 2; k++)
        if (m.rel[k])
            patch_rel(&m, m.rel[k], m.relsz[k]);
    *total += m.patched;
    return 0;
}

static int patch_all(void)
{
    int total = 0;
    relocating = 0;
    dl_iterate_phdr(patch_module, &total);
    return total;
}

/* ---- API --------------------------------------------------------------- */

void rs_got_hook_foreign_only(uint32_t id)
{
    if (id < RS_GOT_HOOK_MAX)
        foreign_only[id] = 1;
}

int rs_got_hook_install(const char *const *names, uint32_t n,
                        rs_got_pre_fn pre, rs_got_post_fn post)
{
    if (n > RS_GOT_HOOK_MAX || !pre || (n && !names))
        return -1;
    pthread_mutex_lock(&patch_lock);
    if (installed) {
        pthread_mutex_unlock(&patch_lock);
        return -1;
    }
    hook_names = names;
    n_hooks = n;
    pre_hook = pre;
    post_hook = post;
    /* Looked up without dlsym (elf_symbols.h).  The lookup skips undefined
     * symbols, so the "canonical PLT" entry a non-PIE executable exports
     * for a function whose address it takes (which jumps through the
     * executable's own GOT slot: a hook on that slot aiming at it would
     * loop) is never taken for the definition. */
    for (uint32_t i = 0; i < n; i++) {
        atomic_store(&originals[i], rs_elf_symbol(names[i]));
        if (find_id(names[i]) < 0)
            index_name(i);
    }
    atomic_store(&originals[INTERNAL_DLSYM], rs_elf_symbol("dlsym"));
    atomic_store(&originals[INTERNAL_DLVSYM], rs_elf_symbol("dlvsym"));
    index_name(INTERNAL_DLSYM);
    index_name(INTERNAL_DLVSYM);
    installed = 1;
    int total = patch_all();
    pthread_mutex_unlock(&patch_lock);
    return total;
}

int rs_got_hook_refresh(void)
{
    pthread_mutex_lock(&patch_lock);
    int total = installed ? patch_all() : -1;
    pthread_mutex_unlock(&patch_lock);
    return total;
}

int rs_got_hook_relocating(void)
{
    pthread_mutex_lock(&patch_lock);
    int r = relocating;
    pthread_mutex_unlock(&patch_lock);
    return r;
}

int rs_got_hook_forget_unloaded(void)
{
    int n = 0;
    pthread_mutex_lock(&patch_lock);
    for (uint32_t id = 0; installed && id < n_hooks; id++) {
        void *orig = atomic_load(&originals[id]);
        if (!orig || rs_got_hook_loaded((uint64_t)(uintptr_t)orig))
            continue;
        /* resume first: a racing call must never pair a stale resume with
         * a NULL original (the library is gone: nobody calls it anyway). */
        atomic_store(&resume[id], NULL);
        atomic_store(&originals[id], NULL);
        n++;
    }
    pthread_mutex_unlock(&patch_lock);
    return n;
}

void *rs_got_hook_original(uint32_t id)
{
    return id < RS_GOT_HOOK_MAX ? atomic_load(&originals[id]) : NULL;
}

void *rs_got_hook_trampoline(uint32_t id)
{
    return id < n_hooks ? tramp(id) : NULL;
}

int rs_got_hook_set_resume(uint32_t id, void *original, void *resume_at)
{
    if (id >= n_hooks || !original || !resume_at)
        return -1;
    void *expected = NULL;
    if (!atomic_compare_exchange_strong(&originals[id], &expected, original) &&
        expected != original)
        return -1;
    atomic_store(&resume[id], resume_at);
    return 0;
}

void *rs_got_hook_filter_dlsym(const char *name, void *result)
{
    if (!installed || !name || !result)
        return result;
    int id = find_id(name);
    if (id < 0 || (uint32_t)id >= n_hooks)
        return result;
    uint64_t cookie[2] = { (uint64_t)id, 0 };
    return (void *)dlsym_post((uint64_t)result, cookie);
}

int rs_got_hook_is_return_stub(uint64_t pc)
{
    return pc == (uint64_t)rs_got_return_stub;
}

/* The calling thread's k-th pending entry holding a real return address,
 * or NULL.  Chained entries (tail calls) share one stub occurrence on the
 * stack: only entries holding a real return address count. */
static shadow_entry_t *pending_entry(uint32_t k)
{
    shadow_t *sh = &shadow;
    for (uint32_t d = sh->depth; d > 0; d--) {
        if (sh->e[d - 1].ret != (uint64_t)rs_got_return_stub && k-- == 0)
            return &sh->e[d - 1];
    }
    return NULL;
}

/* The stack of entry e, made now if pre deferred it (outer: how many
 * pending entries lie above e's caller, for the walk from there). */
static uint32_t entry_stack(shadow_entry_t *e, uint32_t outer)
{
    if (e->stack == STACK_DEFERRED) {
        e->stack = 0;                      /* once, even when it fails */
        const rs_call_site_t site = { e->ret, e->slot + 8, e->cookie[0] };
        if (stack_maker)
            e->stack = stack_maker(&site, outer);
    }
    return e->stack;
}

uint64_t rs_got_hook_pending_return(uint32_t k)
{
    const shadow_entry_t *e = pending_entry(k);
    return e ? e->ret : 0;
}

void rs_got_hook_set_caller_stack(uint32_t stack_id)
{
    shadow.pre_stack = stack_id;
}

uint32_t rs_got_hook_pending_stack(uint32_t k)
{
    shadow_entry_t *e = pending_entry(k);
    return e ? entry_stack(e, k + 1) : 0;
}

void rs_got_hook_defer_caller_stack(void)
{
    shadow.pre_stack = STACK_DEFERRED;
}

void rs_got_hook_set_stack_maker(rs_got_stack_fn fn)
{
    stack_maker = fn;
}

uint64_t rs_got_hook_returning_address(void)
{
    return shadow.returning ? shadow.returning->ret : 0;
}

uint32_t rs_got_hook_returning_stack(void)
{
    return shadow.returning ? entry_stack(shadow.returning, 0) : 0;
}

void rs_got_hook_stats(uint64_t *patched, uint64_t *skipped)
{
    if (patched)
        *patched = atomic_load(&n_patched);
    if (skipped)
        *skipped = atomic_load(&n_skipped);
}

#else /* not x86-64 Linux */

int rs_got_hook_install(const char *const *names, uint32_t n,
                        rs_got_pre_fn pre, rs_got_post_fn post)
{
    return -1;
}
void rs_got_hook_foreign_only(uint32_t id) { (void)id; }
int rs_got_hook_refresh(void) { return -1; }
int rs_got_hook_forget_unloaded(void) { return 0; }
int rs_got_hook_relocating(void) { return 0; }
int rs_got_hook_loaded(uint64_t addr) { return 0; }
void *rs_got_hook_original(uint32_t id) { return NULL; }
void *rs_got_hook_trampoline(uint32_t id) { return NULL; }
int rs_got_hook_set_resume(uint32_t id, void *original, void *resume_at) { return -1; }
void *rs_got_hook_filter_dlsym(const char *name, void *result) { return result; }
int rs_got_hook_is_return_stub(uint64_t pc) { return 0; }
uint64_t rs_got_hook_pending_return(uint32_t k) { return 0; }
void rs_got_hook_set_caller_stack(uint32_t stack_id) { (void)stack_id; }
void rs_got_hook_defer_caller_stack(void) {}
void rs_got_hook_set_stack_maker(rs_got_stack_fn fn) { (void)fn; }
uint64_t rs_got_hook_returning_address(void) { return 0; }
uint32_t rs_got_hook_returning_stack(void) { return 0; }
uint32_t rs_got_hook_pending_stack(uint32_t k) { return 0; }
void rs_got_hook_stats(uint64_t *patched, uint64_t *skipped)
{
    if (patched)
        *patched = 0;
    if (skipped)
        *skipped = 0;
}

#endif
