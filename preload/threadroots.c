/*
 * threadroots.c - the root regions each thread contributes, computed while
 * the world is stopped: live stack, saved registers, static TLS with the
 * thread descriptor, and the DTV (which points at the dynamic TLS blocks,
 * themselves heap blocks allocated through malloc by ld.so).
 *
 * x86_64 glibc layout (TLS variant II): the thread pointer tp (%fs:0, equal
 * to pthread_self()) is the address of struct pthread, whose first field is
 * tcbhead_t { void *tcb; dtv_t *dtv; ... }.  The static TLS blocks lie just
 * below tp; ld.so's static TLS size (_dl_get_tls_static_info) counts them,
 * the surplus and struct pthread itself, so the static TLS + descriptor
 * region is [tp + sizeof(struct pthread) - static_size, tp +
 * sizeof(struct pthread)).  pthread_setspecific's first-level values live
 * inside struct pthread.  The DTV is an array of 16-byte entries {val,
 * to_free}; dtv[-1] holds the number of entries, dtv[0] the generation.
 *
 * Every region is clipped to the readable mapping that holds it (from
 * /proc/self/maps, read before anything is dereferenced), so a wrong guess
 * can cost roots but never a fault.  The stack of a thread that is not the
 * main thread contains its TLS and descriptor at the top; the stack region
 * stops where the TLS region starts so no word is scanned twice.
 *
 * refscope's own static TLS block (librefscope.so's PT_TLS segment: the
 * shadow stack of hooked calls, deferred frees, the unwinder's state) lies
 * inside that region, at the same offset from tp in every thread, and is
 * left out of it: refscope's own memory is never a root (DESIGN.md), and
 * an address it keeps there (an object a hooked call was given, a block
 * about to be freed) would keep whatever block the program has at that
 * address alive.
 *
 * Ghosts (threads of the parent process that survive a fork as memory
 * only, threads.c) contribute their whole stack and TLS, no registers.
 *
 * Not reentrant (static maps table): called by one analysing thread,
 * between rs_world_stop() and rs_world_resume().
 */
#include "threadroots.h"
#include "threads.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#define RS_RED_ZONE    128          /* x86_64 System V ABI                  */
#define RS_MAX_RUNS    8192
#define RS_MAX_STACKS  4096         /* thread stacks kept out of other roots */
#define RS_MAX_DTV     (1u << 20)   /* sanity bound on dtv[-1].counter      */
#define RS_FALLBACK_PTHREAD_SIZE 2304 /* glibc 2.3x x86_64, if not exported */

typedef struct rs_run {
    uint64_t start, end;
} rs_run_t;

/* Readable memory as runs of adjacent readable mappings, sorted. */
static rs_run_t g_runs[RS_MAX_RUNS];
static uint32_t g_n_runs;
/* The known stacks of the threads of the last collect, unsorted. */
static rs_run_t g_stacks[RS_MAX_STACKS];
static uint32_t g_n_stacks;
static uint64_t g_self_regs[16];    /* copy of rs_self_context_t.regs       */
static size_t   g_static_size;      /* 0 = unknown                          */
static size_t   g_pthread_size = RS_FALLBACK_PTHREAD_SIZE;
/* struct pthread's specific[] (pointers to pthread_setspecific's
 * second-level arrays, which may have been allocated while refscope's
 * guard was set, i.e. untracked) - 0 when libc does not describe it. */
static uint32_t g_specific_offset, g_specific_count, g_level2_size;
/* librefscope.so's static TLS block: [tp + g_own_tls_off, + g_own_tls_size)
 * in every thread; size 0 = unknown. */
static int64_t  g_own_tls_off;
static uint64_t g_own_tls_size;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* ---- ld.so / libc private facts ------------------------------------- */

static uint64_t thread_pointer(void)
{
#if defined(__x86_64__)
    uint64_t tp;
    __asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
    return tp;
#else
    return (uint64_t)pthread_self();
#endif
}

/* dl_iterate_phdr callback: in the module holding the address *ctx (one
 * of refscope's functions), its PT_TLS segment's size and this thread's
 * block of it, as an offset from the thread pointer.  Returns 1 there. */
static int find_own_tls(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    uint64_t addr = *(const uint64_t *)ctx, tls_size = 0;
    int holds = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uint64_t lo = info->dlpi_addr + ph->p_vaddr;
        holds |= ph->p_type == PT_LOAD && addr - lo < ph->p_memsz;
        if (ph->p_type == PT_TLS)
            tls_size = ph->p_memsz;
    }
    if (holds && tls_size && info->dlpi_tls_data) {
        g_own_tls_off = (int64_t)((uint64_t)(uintptr_t)info->dlpi_tls_data -
                                  thread_pointer());
        g_own_tls_size = (tls_size + 7) & ~7ull;
    }
    return holds;
}

static void resolve_once(void)
{
    uint64_t self_addr = (uint64_t)(uintptr_t)&find_own_tls;
    dl_iterate_phdr(find_own_tls, &self_addr);
    void (*info)(size_t *, size_t *) = (void (*)(size_t *, size_t *))
        dlvsym(RTLD_DEFAULT, "_dl_get_tls_static_info", "GLIBC_PRIVATE");
    const uint32_t *psize =
        dlvsym(RTLD_DEFAULT, "_thread_db_sizeof_pthread", "GLIBC_PRIVATE");
    if (psize)
        g_pthread_size = *psize;
    /* libthread_db descriptors: {bits of the field, count, offset}. */
    const uint32_t *spec =
        dlvsym(RTLD_DEFAULT, "_thread_db_pthread_specific", "GLIBC_PRIVATE");
    const uint32_t *l2size = dlvsym(RTLD_DEFAULT,
        "_thread_db_sizeof_pthread_key_data_level2", "GLIBC_PRIVATE");
    if (spec && l2size && spec[0] % 64 == 0) {
        g_specific_offset = spec[2];
        g_specific_count = spec[0] / 64 * (spec[1] ? spec[1] : 1);
        g_level2_size = *l2size;
    }
    if (info) {
        size_t size = 0, align = 0;
        info(&size, &align);
        g_static_size = size > g_pthread_size ? size : 0;
    }
}

void rs_threadroots_init(void)
{
    pthread_once(&g_once, resolve_once);
}

/* ---- readable memory ------------------------------------------------- */

static int add_run(uint64_t start, uint64_t end, int readable,
                   const char *name, void *ctx)
{
    /* [vvar] and friends can fault on read; never scan them. */
    if (!readable || (name[0] == '[' && name[1] == 'v'))
        return 0;
    if (g_n_runs && g_runs[g_n_runs - 1].end == start) {
        g_runs[g_n_runs - 1].end = end;
        return 0;
    }
    if (g_n_runs == RS_MAX_RUNS)
        return 1;
    g_runs[g_n_runs].start = start;
    g_runs[g_n_runs].end = end;
    g_n_runs++;
    return 0;
}

/* The index of the first run that ends after addr (g_n_runs if none). */
static uint32_t first_run_after(uint64_t addr)
{
    uint32_t lo = 0, hi = g_n_runs;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (g_runs[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const rs_run_t *run_of(uint64_t addr)
{
    uint32_t i = first_run_after(addr);
    return i < g_n_runs && g_runs[i].start <= addr ? &g_runs[i] : NULL;
}

/* The part of [lo, hi) inside the readable run holding anchor, appended as
 * a root; 0, or -1 if memory ran out. */
static int push_clipped(rs_rootvec_t *out, uint32_t kind, uint32_t tid,
                        uint64_t lo, uint64_t hi, uint64_t anchor)
{
    const rs_run_t *run = run_of(anchor);
    if (!run || lo >= hi)
        return 0;
    if (lo < run->start)
        lo = run->start;
    if (hi > run->end)
        hi = run->end;
    if (lo >= hi)
        return 0;
    rs_root_t r = { .start = lo, .size = hi - lo, .kind = kind,
                    .module = UINT32_MAX, .tid = tid };
    return rs_rootvec_push(out, &r);
}

int rs_threadroots_push_readable(rs_rootvec_t *out, uint32_t kind, uint64_t lo, uint64_t hi)
{
    for (uint64_t at = lo; at < hi;) {
        uint32_t i = first_run_after(at);
        if (i == g_n_runs || g_runs[i].start >= hi)
            return 0;
        uint64_t start = g_runs[i].start > at ? g_runs[i].start : at;
        if (push_clipped(out, kind, 0, start, hi, start) != 0)
            return -1;
        at = g_runs[i].end;
    }
    return 0;
}

int rs_threadroots_push_outside_stacks(rs_rootvec_t *out, uint32_t kind, uint64_t lo,
                                       uint64_t hi)
{
    while (lo < hi) {
        /* The lowest stack that [lo, hi) still reaches: [cut, resume). */
        uint64_t cut = hi, resume = hi;
        for (uint32_t i = 0; i < g_n_stacks; i++) {
            uint64_t s = g_stacks[i].start > lo ? g_stacks[i].start : lo;
            if (g_stacks[i].end > lo && s < cut) {
                cut = s;
                resume = g_stacks[i].end;
            }
        }
        if (rs_threadroots_push_readable(out, kind, lo, cut) != 0)
            return -1;
        lo = resume;
    }
    return 0;
}

/* Reads the word at addr if it is readable; 0 otherwise. */
static uint64_t peek(uint64_t addr)
{
    const rs_run_t *run = run_of(addr);
    if (!run || addr + 8 > run->end || (addr & 7))
        return 0;
    return *(const uint64_t *)(uintptr_t)addr;
}

/* ---- one thread --------------------------------------------------------- */

typedef struct rs_thread_view {
    uint32_t                tid;
    uint64_t                sp;        /* lowest live address, 0 = unknown */
    uint64_t                tp;        /* 0 = unknown                      */
    const uint64_t         *regs;
    uint32_t                n_regs;
    const rs_thread_info_t *info;      /* NULL if unregistered             */
} rs_thread_view_t;

static uint64_t tls_low(uint64_t tp)
{
    return g_static_size ? tp + g_pthread_size - g_static_size : tp;
}

/* pthread_setspecific values of keys >= 32 live in second-level arrays
 * that glibc callocs on first use.  When that first use happened inside
 * refscope (libunwind keeps a key), the array is untracked and would hide
 * the program's values, so each array is a TLS root of its own. */
static int push_key_arrays(rs_rootvec_t *out, const rs_thread_view_t *t)
{
    for (uint32_t i = 0; g_level2_size && i < g_specific_count; i++) {
        uint64_t level2 = peek(t->tp + g_specific_offset + 8 * (uint64_t)i);
        int inside_descriptor = level2 >= t->tp && level2 < t->tp + g_pthread_size;
        if (level2 && !inside_descriptor &&
            push_clipped(out, RS_ROOT_TLS, t->tid, level2,
                         level2 + g_level2_size, level2) != 0)
            return -1;
    }
    return 0;
}

/* The static TLS and descriptor region [lo, hi) of thread t, but for
 * refscope's own block (see the header). */
static int push_static_tls(rs_rootvec_t *out, const rs_thread_view_t *t,
                           uint64_t lo, uint64_t hi)
{
    uint64_t own_lo = t->tp + (uint64_t)g_own_tls_off;
    uint64_t own_hi = own_lo + g_own_tls_size;
    if (!g_own_tls_size || own_hi <= lo || own_lo >= hi)
        return push_clipped(out, RS_ROOT_TLS, t->tid, lo, hi, t->tp);
    if (push_clipped(out, RS_ROOT_TLS, t->tid, lo, own_lo, t->tp) != 0)
        return -1;
    return push_clipped(out, RS_ROOT_TLS, t->tid, own_hi, hi, t->tp);
}

static int push_tls(rs_rootvec_t *out, const rs_thread_view_t *t)
{
    if (!t->tp)
        return 0;
    if (push_static_tls(out, t, tls_low(t->tp), t->tp + g_pthread_size) != 0)
        return -1;
    if (push_key_arrays(out, t) != 0)
        return -1;
    uint64_t dtv = peek(t->tp + 8);
    if (!dtv)
        return 0;
    uint64_t count = peek(dtv - 16);
    if (count == 0 || count > RS_MAX_DTV)
        return 0;
    return push_clipped(out, RS_ROOT_DYNAMIC_TLS, t->tid, dtv - 16,
                        dtv + 16 * (count + 1), dtv - 16);
}

/* Upper end of a stack holding addr: the registered top if addr is inside
 * the registered range, else the end of its readable run; never above the
 * thread's own TLS block. */
static uint64_t stack_top(const rs_thread_view_t *t, uint64_t addr)
{
    const rs_run_t *run = run_of(addr);
    uint64_t hi = run ? run->end : addr;
    if (t->info && addr < t->info->stack_hi && addr >= t->info->stack_lo &&
        t->info->stack_hi <= hi)
        hi = t->info->stack_hi;
    uint64_t tls = t->tp ? tls_low(t->tp) : 0;
    if (tls > addr && tls < hi)
        hi = tls;
    return hi;
}

static int push_stack(rs_rootvec_t *out, const rs_thread_view_t *t)
{
    const rs_thread_info_t *info = t->info;
    int in_range = info && t->sp >= info->stack_lo && t->sp < info->stack_hi;
    if (t->sp) {
        uint64_t anchor = run_of(t->sp) ? t->sp : t->sp + RS_RED_ZONE;
        if (push_clipped(out, RS_ROOT_STACK, t->tid, t->sp,
                         stack_top(t, anchor), anchor) != 0)
            return -1;
        if (in_range || !info)
            return 0;
        /* On an alternate signal stack: keep the whole normal stack too. */
    }
    /* Not captured (or off its stack): the whole known stack.  A main
     * thread's lower bound is unknown; its mapping's start is used. */
    if (!info || !info->stack_hi)
        return 0;
    uint64_t anchor = info->stack_hi - 1;
    const rs_run_t *run = run_of(anchor);
    uint64_t lo = info->stack_lo ? info->stack_lo : run ? run->start : anchor;
    return push_clipped(out, RS_ROOT_STACK, t->tid, lo,
                        stack_top(t, anchor), anchor);
}

static void note_stack(const rs_thread_info_t *info)
{
    if (info && info->stack_lo && info->stack_hi > info->stack_lo &&
        g_n_stacks < RS_MAX_STACKS)
        g_stacks[g_n_stacks++] = (rs_run_t){info->stack_lo, info->stack_hi};
}

static int push_thread(rs_rootvec_t *out, const rs_thread_view_t *t)
{
    note_stack(t->info);
    if (push_stack(out, t) != 0 || push_tls(out, t) != 0)
        return -1;
    if (!t->n_regs)
        return 0;
    rs_root_t r = { .start = (uint64_t)(uintptr_t)t->regs,
                    .size = 8ull * t->n_regs, .kind = RS_ROOT_REGISTERS,
                    .module = UINT32_MAX, .tid = t->tid };
    return rs_rootvec_push(out, &r);
}

/* ---- all threads ---------------------------------------------------------- */

static int push_self(rs_rootvec_t *out, const rs_self_context_t *self,
                     int locked)
{
    rs_thread_info_t info;
    uint64_t tp;
#if defined(__x86_64__)
    __asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
#else
    tp = (uint64_t)pthread_self();
#endif
    rs_thread_view_t t = { .tid = (uint32_t)gettid(), .tp = tp };
    if (!locked)
        rs_threads_lock();
    if (rs_threads_lookup(t.tid, &info))
        t.info = &info;
    if (!locked)
        rs_threads_unlock();
    t.sp = self ? self->program_sp : 0;
    if (!t.sp)
        t.sp = (uint64_t)(uintptr_t)__builtin_frame_address(0);
    if (self && self->n_regs) {
        t.n_regs = self->n_regs > 16 ? 16 : self->n_regs;
        memcpy(g_self_regs, self->regs, 8u * t.n_regs);
        t.regs = g_self_regs;
    }
    return push_thread(out, &t);
}

static int push_stopped(rs_rootvec_t *out, rs_stopped_t *r)
{
    rs_thread_view_t t = { .tid = r->tid,
                           .info = r->registered ? &r->info : NULL };
    switch (rs_world_state(r)) {
    case RS_STOP_STOPPED:
        t.sp = r->sp > RS_RED_ZONE ? r->sp - RS_RED_ZONE : r->sp;
        t.tp = r->tp;
        t.regs = r->regs;
        t.n_regs = 16;
        break;
    case RS_STOP_TIMEOUT:
        /* Not captured: whole known stack, TLS found from pthread_self. */
        t.tp = r->registered ? r->info.self : 0;
        break;
    default:
        return 0;                   /* exited */
    }
    return push_thread(out, &t);
}

typedef struct ghost_ctx {
    rs_rootvec_t *out;
    int           rc;
} ghost_ctx_t;

/* A thread of a parent process (threads.c): its whole stack and its TLS,
 * like a thread that did not answer the stop. */
static void push_ghost(const rs_thread_info_t *info, void *arg)
{
    ghost_ctx_t *g = arg;
    rs_thread_view_t t = { .tid = info->tid, .tp = info->self, .info = info };
    if (g->rc == 0 && push_thread(g->out, &t) != 0)
        g->rc = -1;
}

int rs_threadroots_collect(rs_rootvec_t *out, const rs_self_context_t *self)
{
    rs_threadroots_init();
    g_n_runs = 0;
    g_n_stacks = 0;
    if (rs_threads_maps_foreach(add_run, NULL) != 0)
        return 0;                   /* nothing known readable: no roots */
    uint32_t n = rs_world_count();
    if (push_self(out, self, rs_world_active()) != 0)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        if (push_stopped(out, rs_world_record(i)) != 0)
            return -1;
    ghost_ctx_t g = { out, 0 };
    int locked = rs_world_active();    /* the stopper holds the registry */
    if (!locked)
        rs_threads_lock();
    rs_threads_foreach_ghost(push_ghost, &g);
    if (!locked)
        rs_threads_unlock();
    return g.rc;
}
