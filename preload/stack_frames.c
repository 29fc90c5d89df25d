/*
 * stack_frames.c - every thread's call stack at analysis time, so that a
 * report can name a stack root by the frame that owns the slot ("frame #2
 * worker_loop (daemon.c:41)") instead of by address alone.
 *
 * While the world is stopped each stopped thread is unwound from the
 * registers its stop handler saved (world.c), and the analysing thread
 * from a getcontext() of its own, keeping only the frames at or above the
 * program's stack pointer (rs_self_context_t.program_sp: below it lie
 * exit()'s internals and refscope).  Each frame gives (tid, depth, pc, sp).
 *
 * The unwinder is libunwind's generic (remote-capable) library driven by
 * our own accessors, never the local address space: local unwinding finds
 * unwind tables with dl_iterate_phdr(), which takes the loader lock that a
 * stopped thread may hold (e.g. one stopped inside refscope's own
 * allocation backtrace).  Instead rs_stack_frames_prepare(), called while
 * the world still runs, records every module's executable range and
 * .eh_frame_hdr; the find_proc_info accessor searches that table with
 * libunwind's dwarf_search_unwind_table.  Every memory read of the unwinder
 * goes through access_mem, which checks the page is mapped with
 * process_vm_readv() before reading, so a corrupt stack or a module
 * unloaded meanwhile ends the walk instead of faulting.  libunwind holds
 * its own locks with all signals blocked, so no thread can be stopped
 * holding one.  Depth is bounded (RS_FRAMES_MAX per thread) and a walk
 * also stops when the stack pointer goes down.
 *
 * Memory: the address space is created once (malloc, world running) and
 * kept; the module table and the frames come from rs_mem (scratch memory
 * during an analysis) and are rebuilt by each analysis.
 */
#include "preload.h"
#include "threads.h"

#include <libunwind.h>

#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#define RS_FRAMES_MAX 64

/* Not declared by libunwind.h, exported by libunwind-generic. */
extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip,
                                             unw_dyn_info_t *di, unw_proc_info_t *pi,
                                             int need_unwind_info, void *arg);

typedef struct unwind_module {
    uint64_t lo, hi;       /* executable segments                          */
    uint64_t eh_hdr;       /* runtime address of .eh_frame_hdr, 0 if none  */
} unwind_module_t;

typedef struct frames_out {
    rs_thread_frame_t *items;
    uint32_t           n, cap;
    int                oom;
} frames_out_t;

/* Registers of the thread being unwound, in libunwind's x86_64 numbering
 * (UNW_X86_64_RAX .. UNW_X86_64_RIP). */
typedef struct unwind_regs {
    unw_word_t r[17];
} unwind_regs_t;

static unw_addr_space_t g_as;
static pthread_once_t   g_as_once = PTHREAD_ONCE_INIT;
static unwind_module_t *g_mods;        /* rebuilt by each prepare          */
static uint32_t         g_n_mods, g_cap_mods;
/* Pages found mapped during this analysis, direct-mapped by page number
 * (1: none): an unwind alternates between stack pages and a few pages of
 * .eh_frame_hdr and .eh_frame, and a single remembered page cost a
 * process_vm_readv() for most reads (74 to unwind one short stack).  The
 * world is stopped while they are used, so a page found mapped stays
 * mapped; prepare forgets them all. */
#define RS_OK_PAGES 64
static uint64_t         g_ok_pages[RS_OK_PAGES];
static pid_t            g_pid;

/* ---- memory: reads that cannot fault --------------------------------- */

static void forget_ok_pages(void)
{
    for (int i = 0; i < RS_OK_PAGES; i++)
        g_ok_pages[i] = 1;
}

static int page_mapped(uint64_t page)
{
    uint64_t *ok = &g_ok_pages[(page >> 12) % RS_OK_PAGES];
    if (page == *ok)
        return 1;
    char byte;
    struct iovec local = { &byte, 1 }, remote = { (void *)(uintptr_t)page, 1 };
    if (syscall(SYS_process_vm_readv, g_pid, &local, 1UL, &remote, 1UL, 0UL) != 1)
        return 0;
    *ok = page;
    return 1;
}

/* Reads the 8 bytes at addr; 0, or -1 when they are not all mapped. */
static int safe_read(uint64_t addr, uint64_t *val)
{
    uint64_t first = addr & ~(uint64_t)4095, last = (addr + 7) & ~(uint64_t)4095;
    if (addr + 7 < addr || !page_mapped(first) || (last != first && !page_mapped(last)))
        return -1;
    memcpy(val, (const void *)(uintptr_t)addr, sizeof *val);
    return 0;
}

/* ---- the module table (built while the world runs) ------------------- */

static int add_module(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    unwind_module_t m = { UINT64_MAX, 0, 0 };
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uint64_t start = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            if (start < m.lo)
                m.lo = start;
            if (start + ph->p_memsz > m.hi)
                m.hi = start + ph->p_memsz;
        } else if (ph->p_type == PT_GNU_EH_FRAME) {
            m.eh_hdr = start;
        }
    }
    if (!m.eh_hdr || m.lo >= m.hi)
        return 0;
    if (g_n_mods == g_cap_mods) {
        uint32_t cap = g_cap_mods ? g_cap_mods * 2 : 64;
        unwind_module_t *mods = rs_mem_realloc(g_mods, cap * sizeof *mods);
        if (!mods)
            return 1;                      /* keep what we have */
        g_mods = mods;
        g_cap_mods = cap;
    }
    g_mods[g_n_mods++] = m;
    return 0;
}

static const unwind_module_t *module_of(uint64_t ip)
{
    for (uint32_t i = 0; i < g_n_mods; i++)
        if (ip >= g_mods[i].lo && ip < g_mods[i].hi)
            return &g_mods[i];
    return NULL;
}

/* ---- libunwind accessors ------------------------------------------------ */

/* The common .eh_frame_hdr layout: version 1, a 4-byte eh_frame pointer,
 * a udata4 FDE count and a datarel sdata4 search table.  Fills di; -1 for
 * any other layout (the frame then has no unwind info). */
static int table_of(const unwind_module_t *m, unw_dyn_info_t *di)
{
    uint64_t w0, w1;
    if (safe_read(m->eh_hdr, &w0) != 0 || safe_read(m->eh_hdr + 8, &w1) != 0)
        return -1;
    unsigned version = w0 & 0xff, ptr_enc = (w0 >> 8) & 0xff;
    unsigned count_enc = (w0 >> 16) & 0xff, table_enc = (w0 >> 24) & 0xff;
    if (version != 1 || (ptr_enc & 0x0f) != 0x0b || count_enc != 0x03 ||
        table_enc != 0x3b)
        return -1;
    memset(di, 0, sizeof *di);
    di->format = UNW_INFO_FORMAT_REMOTE_TABLE;
    di->start_ip = m->lo;
    di->end_ip = m->hi;
    di->u.rti.segbase = m->eh_hdr;
    di->u.rti.table_data = m->eh_hdr + 12;
    di->u.rti.table_len = (uint32_t)w1 * 8 / sizeof(unw_word_t);
    return 0;
}

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
                          int need_unwind_info, void *arg)
{
    const unwind_module_t *m = module_of(ip);
    unw_dyn_info_t di;
    if (!m || table_of(m, &di) != 0)
        return -UNW_ENOINFO;
    return _Ux86_64_dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
    (void)as, (void)pi, (void)arg;      /* libunwind frees DWARF info itself */
}

static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
    (void)as, (void)addr, (void)arg;
    return -UNW_ENOINFO;
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val,
                      int write, void *arg)
{
    (void)as, (void)arg;
    if (write)
        return -UNW_EINVAL;            /* the stacks are never changed */
    uint64_t v;
    if (safe_read(addr, &v) != 0)
        return -UNW_EINVAL;
    *val = v;
    return 0;
}

static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val,
                      int write, void *arg)
{
    (void)as;
    unwind_regs_t *regs = arg;
    if (reg < 0 || reg > UNW_X86_64_RIP)
        return -UNW_EBADREG;
    if (write)
        regs->r[reg] = *val;
    else
        *val = regs->r[reg];
    return 0;
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val,
                        int write, void *arg)
{
    (void)as, (void)reg, (void)val, (void)write, (void)arg;
    return -UNW_EBADREG;
}

static int resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
    (void)as, (void)c, (void)arg;
    return -UNW_EINVAL;
}

static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
                         unw_word_t *off, void *arg)
{
    (void)as, (void)addr, (void)buf, (void)len, (void)off, (void)arg;
    return -UNW_ENOINFO;
}

static void create_space(void)
{
    static unw_accessors_t acc = {
        .find_proc_info = find_proc_info,
        .put_unwind_info = put_unwind_info,
        .get_dyn_info_list_addr = get_dyn_info_list_addr,
        .access_mem = access_mem,
        .access_reg = access_reg,
        .access_fpreg = access_fpreg,
        .resume = resume,
        .get_proc_name = get_proc_name,
    };
    g_as = unw_create_addr_space(&acc, 0);
    if (g_as)
        unw_set_caching_policy(g_as, UNW_CACHE_NONE);
}

void rs_stack_frames_init(void)
{
    pthread_once(&g_as_once, create_space);
}

int rs_stack_frames_prepare(void)
{
    rs_stack_frames_init();
    g_mods = NULL;                     /* the last analysis's was scratch */
    g_n_mods = g_cap_mods = 0;
    g_pid = getpid();
    forget_ok_pages();
    if (!g_as)
        return -1;
    dl_iterate_phdr(add_module, NULL);
    return g_n_mods ? 0 : -1;
}

/* ---- unwinding ---------------------------------------------------------- */

static void push(frames_out_t *o, uint32_t tid, uint32_t depth, uint64_t pc, uint64_t sp)
{
    if (o->n == o->cap) {
        uint32_t cap = o->cap ? o->cap * 2 : 256;
        rs_thread_frame_t *items = rs_mem_realloc(o->items, cap * sizeof *items);
        if (!items) {
            o->oom = 1;
            return;
        }
        o->items = items;
        o->cap = cap;
    }
    o->items[o->n++] = (rs_thread_frame_t){ .pc = pc, .sp = sp, .tid = tid, .depth = depth };
}

/* gregs[0..15] (REG_R8 .. REG_RSP) plus the pc, into libunwind order. */
static void regs_from_gregs(unwind_regs_t *u, const uint64_t g[16], uint64_t pc)
{
    static const uint8_t to_unw[16] = {
        UNW_X86_64_R8, UNW_X86_64_R9, UNW_X86_64_R10, UNW_X86_64_R11,
        UNW_X86_64_R12, UNW_X86_64_R13, UNW_X86_64_R14, UNW_X86_64_R15,
        UNW_X86_64_RDI, UNW_X86_64_RSI, UNW_X86_64_RBP, UNW_X86_64_RBX,
        UNW_X86_64_RDX, UNW_X86_64_RAX, UNW_X86_64_RCX, UNW_X86_64_RSP,
    };
    memset(u, 0, sizeof *u);
    for (int i = 0; i < 16; i++)
        u->r[to_unw[i]] = g[i];
    u->r[UNW_X86_64_RIP] = pc;
}

/* Walks one thread, keeping frames whose sp >= min_sp, at most
 * RS_FRAMES_MAX of them, stopping when sp goes down. */
static void unwind(frames_out_t *o, uint32_t tid, unwind_regs_t *regs, uint64_t min_sp)
{
    unw_cursor_t c;
    if (unw_init_remote(&c, g_as, regs) < 0)
        return;
    uint32_t depth = 0;
    uint64_t last_sp = 0;
    for (int steps = 0; steps < 4 * RS_FRAMES_MAX && depth < RS_FRAMES_MAX; steps++) {
        unw_word_t pc = 0, sp = 0;
        if (unw_get_reg(&c, UNW_REG_IP, &pc) < 0 || unw_get_reg(&c, UNW_REG_SP, &sp) < 0 ||
            pc == 0 || sp < last_sp)
            break;
        last_sp = sp;
        if (sp >= min_sp)
            push(o, tid, depth++, pc, sp);
        if (unw_step(&c) <= 0)
            break;
    }
}

static void unwind_self(frames_out_t *o, const rs_self_context_t *self)
{
    ucontext_t uc;
    if (getcontext(&uc) != 0)
        return;
    uint64_t g[16];
    for (int i = 0; i < 16; i++)
        g[i] = (uint64_t)uc.uc_mcontext.gregs[i];
    unwind_regs_t regs;
    regs_from_gregs(&regs, g, (uint64_t)uc.uc_mcontext.gregs[REG_RIP]);
    unwind(o, (uint32_t)syscall(SYS_gettid), &regs, self ? self->program_sp : 0);
}

/* Shell sort by (tid, depth): no allocation, fine for a few thousand. */
static void sort_frames(rs_thread_frame_t *f, uint32_t n)
{
    for (uint32_t gap = n / 2; gap > 0; gap /= 2)
        for (uint32_t i = gap; i < n; i++) {
            rs_thread_frame_t x = f[i];
            uint32_t j = i;
            while (j >= gap && (f[j - gap].tid > x.tid ||
                                (f[j - gap].tid == x.tid && f[j - gap].depth > x.depth))) {
                f[j] = f[j - gap];
                j -= gap;
            }
            f[j] = x;
        }
}

int rs_stack_frames_collect(const rs_self_context_t *self, rs_thread_frame_t **out,
                            uint32_t *n)
{
    frames_out_t o = {0};
    *out = NULL;
    *n = 0;
    if (!g_as || !g_n_mods)
        return 0;
    unwind_self(&o, self);
    uint32_t count = rs_world_count();
    for (uint32_t i = 0; i < count; i++) {
        rs_stopped_t *r = rs_world_record(i);
        if (rs_world_state(r) != RS_STOP_STOPPED || !r->pc)
            continue;
        unwind_regs_t regs;
        regs_from_gregs(&regs, r->regs, r->pc);
        unwind(&o, r->tid, &regs, 0);
    }
    sort_frames(o.items, o.n);
    *out = o.items;
    *n = o.n;
    return o.oom ? -1 : 0;
}
