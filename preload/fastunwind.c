/*
 * fastunwind.c - a DWARF stack walker for the common frame shapes, with a
 * cache of unwind rules keyed by return address; libunwind for the rest.
 *
 * Why.  unw_backtrace() costs about 1,400 instructions per stack on
 * bench_alloc (16 frames on average; callgrind: 37% of all instructions
 * under refscope).  Almost every frame of compiled C has the same shape: the
 * CFA (the caller's stack pointer) is rsp or rbp plus a constant, the
 * return address is stored at CFA - 8, and the caller's rbp is either
 * untouched or saved at CFA + a small negative offset.  For such a frame
 * the rule depends only on the instruction address, so it is computed
 * once from the DWARF CFI (.eh_frame) and kept in a cache; walking a
 * frame is then a cache probe and one or two loads.
 *
 * How.  rs_fastunwind_trace() starts in its own frame (registers read by
 * inline assembly), or at a call site its caller knows (the registers of
 * the program's frame that called an interposed or hooked function, so
 * refscope's own frames are not walked at all), leaves out the frames of
 * a given range (refscope's own) and for each frame looks up the rule of
 * the address
 * being executed (a return address minus 1 for callers, as DWARF asks),
 * computes the CFA, reads the return address and, when saved, rbp.  A
 * rule comes from the cache, or from _Unwind_Find_FDE (libgcc) and an
 * interpreter of the CIE and FDE call frame instructions up to that
 * address.  A return address that is refscope's return stub of a hooked
 * call (got_hook.h) is the call's original one, kept on the thread's
 * shadow stack: the walk goes on into the caller (libunwind's ends at the
 * stub, whose rip is undefined, and the pending call's stack is appended
 * instead).  The walk ends where the return address is undefined (the
 * outermost frames, _start and clone), like libunwind's, and at code of the
 * dynamic loader that has no FDE: its entry frame (_dl_start_user, which
 * runs every library's constructors with rbp zeroed), where libunwind's
 * walk ends too.  Before, every allocation made by a constructor went to
 * libunwind (cmake --version: 1,293 stacks).
 *
 * Correctness first: whenever anything is not understood - no FDE, a
 * CFA on another register or given by an expression, an augmentation
 * other than z, R, P, L (S marks a signal frame), a return address not at
 * CFA - 8, a saved rbp given by an expression or register, a stack slot
 * outside the thread's stack - the function returns -1 and the caller
 * walks the whole stack with libunwind instead, so a stack is either
 * walked fully here or fully by libunwind.  REFSCOPE_UNWIND=check walks
 * every stack both ways and counts the stacks compared and those that
 * differ (the stats line prints unwind_checked and unwind_mismatches),
 * which integration.fastunwind (tests/integration/test_fastunwind.py)
 * checks on every sample, python3 and perl.
 *
 * Reuse.  A thread's walks share frames: the outer ones of the thread,
 * those of a loop calling from the same place.  The walker keeps states
 * of the thread's past walks and takes over the frames after a state it
 * reaches again, after checking that the stack words they were read from
 * are unchanged (see "reusing the thread's previous walks" below).
 *
 * The cache.  FU_SLOTS 64-bit words, each written and read with one
 * atomic access, so threads share it without locks: the full return
 * address (47 bits; user space is below 2^47) and the packed rule (17
 * bits, see pack(); a frame whose rule does not fit - rbp saved outside
 * CFA-64..CFA-8, more than 1,024 distinct CFA offsets past 8 KiB - is
 * left to libunwind with the rest of its stack).  A collision replaces
 * the older entry.  The cache starts with its first FU_START_SLOTS
 * words (32 KiB, 8 pages) and uses all of them once it was filled half
 * that many times: each first touch of a page is a fault (10 us on the
 * VM of the benchmarks), and a short program's few hundred rules spread
 * over all 64 pages cost 0.5 ms (bash -c true: 63 faults).  A rule is
 * found by its full address, so an entry a smaller cache placed is
 * simply not found after it grew (or found where it still fits).  When a
 * module is unloaded (rs_modules_epoch() moves) the cache is cleared
 * before the next walk, so no rule outlives its code; a walk racing with
 * the dlclose itself can use a stale rule for as long as libunwind's own
 * caches would.
 */
#include "got_hook.h"
#include "preload.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

/* A hooked call's swapped return address (got_hook.c). */
extern char rs_got_return_stub[];

/* libgcc_s: the FDE covering pc (bases->func = its first address). */
struct dwarf_eh_bases {
    void *tbase, *dbase, *func;
};
extern const void *_Unwind_Find_FDE(void *pc, struct dwarf_eh_bases *bases);

#define FU_SLOT_BITS 15
#define FU_SLOTS     (1u << FU_SLOT_BITS)
#define FU_START_BITS 12
#define FU_START_SLOTS (1u << FU_START_BITS)
#define FU_IP_BITS   47
#define FU_IP_MASK   ((1ull << FU_IP_BITS) - 1)

#define DW_RBP 6
#define DW_RSP 7
#define DW_RA  16

static _Atomic uint64_t cache[FU_SLOTS];
/* 64 - the bits of a slot index in use: FU_START_BITS, then FU_SLOT_BITS
 * once `fills` reached FU_START_SLOTS / 2 (never back). */
static _Atomic uint32_t cache_shift = 64 - FU_START_BITS;
static _Atomic uint32_t fills;
static uint64_t loader_lo, loader_hi;   /* ld.so's code (rs_fastunwind_init) */
static _Atomic uint32_t cache_epoch;
static _Atomic uint64_t checked, mismatches;  /* REFSCOPE_UNWIND=check */

/* ---- rules ------------------------------------------------------------- */

typedef struct fu_rule {
    uint8_t cfa_rbp;     /* CFA = rbp + cfa_off, else rsp + cfa_off        */
    uint8_t ra_undef;    /* no caller: the walk ends                        */
    uint8_t rbp_saved;   /* caller's rbp at CFA + rbp_off, else unchanged   */
    int64_t cfa_off, rbp_off;
} fu_rule_t;

/* Packed rule (17 bits; the cache keeps it above the 47-bit address):
 *   bit 0     CFA = rbp + offset (else rsp + offset)
 *   bit 1     return address undefined: the walk ends
 *   bit 2     caller's rbp saved at CFA + rbp offset (else unchanged)
 *   bits 3-12 CFA offset / 8 (0..8184), or with bit 16 the index of a
 *             larger one in large_cfa[]
 *   bits 13-15 rbp offset / 8 + 8 (-64..-8: below the CFA)
 *   bit 16    the CFA offset is large_cfa[bits 3-12]
 * Returns 0 when the rule does not fit (the walk is left to libunwind). */
#define FU_CFA_RBP   1u
#define FU_RA_UNDEF  2u
#define FU_RBP_SAVED 4u
#define FU_CFA_LARGE (1u << 16)
#define FU_NO_RULE   (~0ull)

/* CFA offsets past 8184: frames with large local arrays (python3's path
 * functions keep 16 KiB on the stack, and every allocation under them
 * went to libunwind).  Each distinct one is kept once; a packed rule
 * names it by index.  An entry is written before any rule naming it is
 * stored in the cache (a release store) and never changes, so readers
 * take no lock; appending is lock-free (a walk may run in a signal
 * handler), and two threads adding the same offset at once just use two
 * entries.  Past FU_LARGE_MAX offsets such frames go to libunwind. */
#define FU_LARGE_MAX 1024u
static _Atomic uint64_t large_cfa[FU_LARGE_MAX];
static _Atomic uint32_t n_large;

/* The index of CFA offset off in large_cfa[], added if new; -1 when full. */
static int large_index(uint64_t off)
{
    uint32_t n = atomic_load_explicit(&n_large, memory_order_acquire);
    for (uint32_t i = 0; i < n; i++)
        if (atomic_load_explicit(&large_cfa[i], memory_order_relaxed) == off)
            return (int)i;
    while (n < FU_LARGE_MAX) {
        if (atomic_compare_exchange_weak_explicit(&n_large, &n, n + 1, memory_order_acq_rel,
                                                  memory_order_acquire)) {
            atomic_store_explicit(&large_cfa[n], off, memory_order_relaxed);
            return (int)n;
        }
    }
    return -1;
}

static int pack(const fu_rule_t *r, uint64_t *out)
{
    if (r->cfa_off < 0 || (r->cfa_off & 7) ||
        (r->rbp_saved && (r->rbp_off < -64 || r->rbp_off > -8 || (r->rbp_off & 7))))
        return 0;
    uint64_t cfa = (uint64_t)r->cfa_off / 8, large = 0;
    if (r->cfa_off > 8184) {
        int i = large_index((uint64_t)r->cfa_off);
        if (i < 0)
            return 0;
        cfa = (uint64_t)i;
        large = FU_CFA_LARGE;
    }
    uint64_t rbp = r->rbp_saved ? (uint64_t)(r->rbp_off / 8 + 8) : 0;
    *out = (r->cfa_rbp ? FU_CFA_RBP : 0) | (r->ra_undef ? FU_RA_UNDEF : 0) |
           (r->rbp_saved ? FU_RBP_SAVED : 0) | cfa << 3 | rbp << 13 | large;
    return 1;
}

static inline int64_t cfa_off_of(uint64_t v)
{
    if (RS_UNLIKELY(v & FU_CFA_LARGE))
        return (int64_t)atomic_load_explicit(&large_cfa[(v >> 3) & 1023], memory_order_relaxed);
    return (int64_t)((v >> 3) & 1023) * 8;
}

static inline int64_t rbp_off_of(uint64_t v) { return ((int64_t)((v >> 13) & 7) - 8) * 8; }

static inline uint32_t slot_of(uint64_t ip)
{
    uint32_t shift = atomic_load_explicit(&cache_shift, memory_order_relaxed);
    return (uint32_t)((ip * 0x9E3779B97F4A7C15ull) >> shift);
}

/* ---- reading .eh_frame --------------------------------------------------- */

typedef struct fu_reader {
    const uint8_t *p, *end;
    int bad;
} fu_reader_t;

static uint64_t rd_uleb(fu_reader_t *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; r->p < r->end && shift < 64; shift += 7) {
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->bad = 1;
    return 0;
}

static int64_t rd_sleb(fu_reader_t *r)
{
    uint64_t v = 0;
    unsigned shift = 0;
    while (r->p < r->end && shift < 64) {
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) {
            if (shift < 64 && (b & 0x40))
                v |= ~0ull << shift;
            return (int64_t)v;
        }
    }
    r->bad = 1;
    return 0;
}

static uint64_t rd_fixed(fu_reader_t *r, unsigned size)
{
    if ((size_t)(r->end - r->p) < size) {
        r->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    memcpy(&v, r->p, size);      /* little endian */
    r->p += size;
    return v;
}

/* Skips a pointer of DW_EH_PE encoding enc (its value is not needed:
 * _Unwind_Find_FDE gives the function start). */
static void skip_encoded(fu_reader_t *r, uint8_t enc)
{
    if (enc == 0xff)               /* DW_EH_PE_omit */
        return;
    switch (enc & 0x0f) {
    case 0x00: rd_fixed(r, 8); break;          /* absptr  */
    case 0x01: rd_uleb(r); break;              /* uleb128 */
    case 0x02: case 0x0a: rd_fixed(r, 2); break;
    case 0x03: case 0x0b: rd_fixed(r, 4); break;
    case 0x04: case 0x0c: rd_fixed(r, 8); break;
    case 0x09: rd_sleb(r); break;              /* sleb128 */
    default: r->bad = 1; break;
    }
}

/* The state of the registers refscope follows while the call frame
 * instructions run.  how: 0 same value, 1 saved at CFA + off, 2
 * undefined, 3 anything else (unsupported). */
typedef struct fu_regs {
    int64_t cfa_reg, cfa_off;
    uint8_t rbp_how, ra_how;
    int64_t rbp_off, ra_off;
} fu_regs_t;

#define FU_STATE_DEPTH 8

typedef struct fu_cie {
    uint64_t code_align;
    int64_t  data_align;
    uint64_t ra_reg;
    uint8_t  fde_enc;
    int      has_z;
    fu_reader_t insns;        /* initial instructions                    */
} fu_cie_t;

static void set_reg(fu_regs_t *s, uint64_t reg, uint8_t how, int64_t off, uint64_t ra_reg)
{
    if (reg == DW_RBP) {
        s->rbp_how = how;
        s->rbp_off = off;
    } else if (reg == ra_reg) {
        s->ra_how = how;
        s->ra_off = off;
    } else if (reg == DW_RSP && how != 0) {
        s->cfa_reg = -1;          /* rsp restored from memory: unsupported */
    }
}

/* Runs instructions until the location passes target.  Returns 0, or -1
 * on anything unsupported. */
static int run_cfi(fu_reader_t *r, const fu_cie_t *cie, uint64_t *loc, uint64_t target,
                   fu_regs_t *s, const fu_regs_t *init)
{
    fu_regs_t stack[FU_STATE_DEPTH];
    unsigned depth = 0;
    while (r->p < r->end && !r->bad) {
        uint8_t op = *r->p++;
        uint64_t reg, delta = 0;
        int64_t off;
        switch (op >> 6) {
        case 1: delta = op & 0x3f; goto advance;                 /* advance_loc */
        case 2:                                                   /* offset      */
            off = (int64_t)rd_uleb(r) * cie->data_align;
            set_reg(s, op & 0x3f, 1, off, cie->ra_reg);
            continue;
        case 3:                                                   /* restore     */
            reg = op & 0x3f;
            if (reg == DW_RBP) { s->rbp_how = init->rbp_how; s->rbp_off = init->rbp_off; }
            if (reg == cie->ra_reg) { s->ra_how = init->ra_how; s->ra_off = init->ra_off; }
            continue;
        default: break;
        }
        switch (op) {
        case 0x00: break;                                         /* nop         */
        case 0x02: delta = rd_fixed(r, 1); goto advance;
        case 0x03: delta = rd_fixed(r, 2); goto advance;
        case 0x04: delta = rd_fixed(r, 4); goto advance;
        case 0x05:                                                /* offset_extended */
            reg = rd_uleb(r);
            set_reg(s, reg, 1, (int64_t)rd_uleb(r) * cie->data_align, cie->ra_reg);
            break;
        case 0x11:                                                /* offset_extended_sf */
            reg = rd_uleb(r);
            set_reg(s, reg, 1, rd_sleb(r) * cie->data_align, cie->ra_reg);
            break;
        case 0x06:                                                /* restore_extended */
            reg = rd_uleb(r);
            if (reg == DW_RBP) { s->rbp_how = init->rbp_how; s->rbp_off = init->rbp_off; }
            if (reg == cie->ra_reg) { s->ra_how = init->ra_how; s->ra_off = init->ra_off; }
            break;
        case 0x07: set_reg(s, rd_uleb(r), 2, 0, cie->ra_reg); break;   /* undefined  */
        case 0x08: set_reg(s, rd_uleb(r), 0, 0, cie->ra_reg); break;   /* same_value */
        case 0x09:                                                /* register    */
            reg = rd_uleb(r);
            rd_uleb(r);
            set_reg(s, reg, 3, 0, cie->ra_reg);
            break;
        case 0x0a:                                                /* remember_state */
            if (depth == FU_STATE_DEPTH)
                return -1;
            stack[depth++] = *s;
            break;
        case 0x0b:                                                /* restore_state */
            if (depth == 0)
                return -1;
            *s = stack[--depth];       /* the CFA rule included, as in libgcc */
            break;
        case 0x0c:                                                /* def_cfa     */
            s->cfa_reg = (int64_t)rd_uleb(r);
            s->cfa_off = (int64_t)rd_uleb(r);
            break;
        case 0x12:                                                /* def_cfa_sf  */
            s->cfa_reg = (int64_t)rd_uleb(r);
            s->cfa_off = rd_sleb(r) * cie->data_align;
            break;
        case 0x0d: s->cfa_reg = (int64_t)rd_uleb(r); break;      /* def_cfa_register */
        case 0x0e: s->cfa_off = (int64_t)rd_uleb(r); break;      /* def_cfa_offset */
        case 0x13: s->cfa_off = rd_sleb(r) * cie->data_align; break;
        case 0x2e: rd_uleb(r); break;                             /* GNU_args_size */
        case 0x10:                                                /* expression  */
        case 0x16:                                                /* val_expression */
            reg = rd_uleb(r);
            off = (int64_t)rd_uleb(r);
            if (off < 0 || off > r->end - r->p)
                return -1;
            r->p += off;
            set_reg(s, reg, 3, 0, cie->ra_reg);
            break;
        case 0x14:                                                /* val_offset  */
            reg = rd_uleb(r);
            rd_uleb(r);
            set_reg(s, reg, 3, 0, cie->ra_reg);
            break;
        case 0x15:                                                /* val_offset_sf */
            reg = rd_uleb(r);
            rd_sleb(r);
            set_reg(s, reg, 3, 0, cie->ra_reg);
            break;
        default:
            return -1;          /* def_cfa_expression, set_loc, vendor ops */
        }
        continue;
advance:
        *loc += delta * cie->code_align;
        if (*loc > target)
            return 0;
    }
    return r->bad ? -1 : 0;
}

/* Parses the CIE at p (its length field).  Returns 0 or -1. */
static int parse_cie(const uint8_t *p, fu_cie_t *cie)
{
    uint32_t len32;
    memcpy(&len32, p, 4);
    if (len32 == 0 || len32 == 0xffffffffu)
        return -1;                /* no 64-bit .eh_frame on x86-64 Linux    */
    fu_reader_t r = {p + 8, p + 4 + len32, 0};
    uint8_t version = (uint8_t)rd_fixed(&r, 1);
    const char *aug = (const char *)r.p;
    size_t aug_len = strnlen(aug, (size_t)(r.end - r.p));
    if (aug_len == (size_t)(r.end - r.p))
        return -1;                /* no NUL: a malformed CIE                */
    r.p += aug_len + 1;
    if (version != 1 && version != 3)
        return -1;
    cie->code_align = rd_uleb(&r);
    cie->data_align = rd_sleb(&r);
    cie->ra_reg = version == 1 ? rd_fixed(&r, 1) : rd_uleb(&r);
    cie->fde_enc = 0;             /* absptr */
    cie->has_z = aug[0] == 'z';
    if (cie->has_z) {
        uint64_t n = rd_uleb(&r);
        fu_reader_t a = {r.p, r.p + n, 0};
        if (n > (uint64_t)(r.end - r.p))
            return -1;
        for (size_t i = 1; i < aug_len; i++) {
            switch (aug[i]) {
            case 'R': cie->fde_enc = (uint8_t)rd_fixed(&a, 1); break;
            case 'L': rd_fixed(&a, 1); break;
            case 'P': skip_encoded(&a, (uint8_t)rd_fixed(&a, 1)); break;
            default: return -1;   /* 'S' (signal frame) and unknown ones    */
            }
        }
        if (a.bad)
            return -1;
        r.p += n;
    } else if (aug_len) {
        return -1;
    }
    cie->insns = r;
    return r.bad || cie->ra_reg != DW_RA || cie->code_align == 0 ? -1 : 0;
}

/* The rule for code address pc (an exact address: callers' return
 * addresses minus 1).  Returns 0 or -1. */
static int compute_rule(uint64_t pc, fu_rule_t *rule)
{
    struct dwarf_eh_bases bases;
    const uint8_t *fde = _Unwind_Find_FDE((void *)(uintptr_t)pc, &bases);
    if (!fde && pc - loader_lo < loader_hi - loader_lo) {
        *rule = (fu_rule_t){.ra_undef = 1};   /* the loader's entry: the end */
        return 0;
    }
    if (!fde)
        return -1;
    uint32_t len32, cie_off;
    memcpy(&len32, fde, 4);
    memcpy(&cie_off, fde + 4, 4);
    if (len32 == 0 || len32 == 0xffffffffu || cie_off == 0)
        return -1;
    fu_cie_t cie;
    if (parse_cie(fde + 4 - cie_off, &cie) != 0)
        return -1;
    fu_reader_t r = {fde + 8, fde + 4 + len32, 0};
    skip_encoded(&r, cie.fde_enc);                 /* pc_begin */
    skip_encoded(&r, cie.fde_enc & 0x0f);          /* pc_range */
    if (cie.has_z) {
        uint64_t n = rd_uleb(&r);
        if (n > (uint64_t)(r.end - r.p))
            return -1;
        r.p += n;
    }
    if (r.bad)
        return -1;
    fu_regs_t init = {.cfa_reg = -1}, s;
    uint64_t loc = (uint64_t)(uintptr_t)bases.func;
    fu_reader_t ci = cie.insns;
    if (run_cfi(&ci, &cie, &loc, UINT64_MAX, &init, &init) != 0)
        return -1;
    s = init;
    if (run_cfi(&r, &cie, &loc, pc, &s, &init) != 0)
        return -1;
    if ((s.cfa_reg != DW_RSP && s.cfa_reg != DW_RBP) || s.rbp_how > 1 ||
        (s.ra_how == 1 && s.ra_off != -8) || (s.ra_how != 1 && s.ra_how != 2))
        return -1;
    *rule = (fu_rule_t){
        .cfa_rbp = s.cfa_reg == DW_RBP, .ra_undef = s.ra_how == 2,
        .rbp_saved = s.rbp_how == 1, .cfa_off = s.cfa_off, .rbp_off = s.rbp_off,
    };
    return 0;
}

/* A rule not in the cache: computed from the CFI and cached.  Returns
 * the packed rule, or FU_NO_RULE. */
static __attribute__((noinline)) uint64_t rule_slow(uint64_t pc, _Atomic uint64_t *slot)
{
    fu_rule_t rule;
    uint64_t packed;
    if (pc == 0 || pc > FU_IP_MASK || compute_rule(pc, &rule) != 0 || !pack(&rule, &packed))
        return FU_NO_RULE;
    /* Release: a large CFA offset's entry is visible before the rule. */
    atomic_store_explicit(slot, pc | packed << FU_IP_BITS, memory_order_release);
    if (atomic_fetch_add_explicit(&fills, 1, memory_order_relaxed) == FU_START_SLOTS / 2)
        atomic_store_explicit(&cache_shift, 64 - FU_SLOT_BITS, memory_order_relaxed);
    return packed;
}

/* Hot path: one hash, one load, one compare (about 7 instructions) when
 * the rule is cached; an entry never matches pc 0 or pc >= 2^47, since
 * none is stored for them.  Returns the packed rule or FU_NO_RULE. */
static inline uint64_t rule_for(uint64_t pc)
{
    _Atomic uint64_t *slot = &cache[slot_of(pc)];
    uint64_t v = atomic_load_explicit(slot, memory_order_acquire);   /* a plain load on x86 */
    if (RS_LIKELY((v & FU_IP_MASK) == pc && v != 0))
        return v >> FU_IP_BITS;
    return rule_slow(pc, slot);
}

void rs_fastunwind_init(uint64_t ld_lo, uint64_t ld_hi)
{
    loader_lo = ld_lo;
    loader_hi = ld_hi;
}

/* Clears the cache when a module was unloaded since the last walk.
 * Returns the module epoch the walk runs in. */
static uint32_t flush_if_unloaded(void)
{
    uint32_t now = rs_modules_epoch();
    if (RS_LIKELY(atomic_load_explicit(&cache_epoch, memory_order_relaxed) == now))
        return now;
    /* The slots in use (more cannot have been filled). */
    uint32_t used = 1u << (64 - atomic_load_explicit(&cache_shift, memory_order_relaxed));
    for (uint32_t i = 0; i < used; i++)
        atomic_store_explicit(&cache[i], 0, memory_order_relaxed);
    atomic_store_explicit(&cache_epoch, now, memory_order_relaxed);
    return now;
}

/* ---- reusing the thread's previous walks -------------------------------
 *
 * A walk is a function of its start state (ip, rsp, rbp) and of the stack
 * words it reads: from a state, the rule of its address (fixed while no
 * module is unloaded) gives the CFA, and the next state is (the word at
 * CFA - 8, the CFA, the word at CFA + rbp offset or rbp unchanged).  So
 * each thread keeps states of its past walks, each with its rule and the
 * offset its rbp was read at.  When a walk reaches a state equal to a
 * kept one, the kept states after it are the walk's next ones for as long
 * as the slots they were read from still hold the words read: the walk
 * follows them checking that with one or two loads per frame (fu_follow();
 * 13 instructions a frame with the store of the frame, against about 70
 * for a rule, a step and a new state), and walks with rules from the first
 * state whose successor changed, or where the kept states end.  Exact,
 * not a guess: every word the frames depend on is compared.
 *
 * Dead rbp.  Compiled code often uses rbp as an ordinary callee-saved
 * register (an object pointer, a loop counter): the states of consecutive
 * walks then differ in rbp where the frames do not.  A state whose rule
 * saves rbp without computing its CFA from it (dead) never uses the rbp it
 * has: it is not compared when joining such a state, nor checked when it
 * was read from the stack, and the value kept for it may be another
 * walk's.  Every other state's rbp is the walk's own: compared at a join,
 * checked when read, or carried over from the state before, which then
 * saved nothing and so was not dead (by induction, its rbp is exact).
 *
 * The kept states form a chain: each the successor of the one before by
 * its rule, with the words read then (any stretch of a walk is such a
 * chain; its first state is only joined, never followed into).  They sit
 * at the end of st[], sorted by stack pointer (the CFA is above the stack
 * pointer), so a cursor moves up them with a walk, from the first at or
 * above the walk's start (fu_first_at()), to a sentinel of rsp
 * UINT64_MAX: a compare per frame walked.  One stretch is followed per
 * walk.  After a walk:
 *  - followed to the end of the walk or of the chain, joined at its first
 *    or second state, with kept states below its start: nothing changes.
 *    Those states are a deeper walk's, and the program often goes that
 *    deep again the same way (a recursion, a loop calling at varying
 *    depths): its own call rewrites the same words in those slots.  The
 *    first state of a walk, the call of the allocator or hooked function,
 *    is the one that changes most; it is not kept then.
 *  - else, followed to the end: its new states before the join go before
 *    the stretch (the states after the stretch stay: each still its
 *    predecessor's successor by rule, with words later walks check);
 *  - else (no join, or new states after the stretch): keep_walk() makes a
 *    chain of its new states and the stretch, moved.
 * Chains of bench_alloc (random depths) and bench_refs (a loop at depths
 * 1-8) are followed for 90% and 75% of their frames.
 *
 * Bounds: a kept state's slots were read under the same stack top hi
 * (kept with the states) and lie between its own stack pointer and hi;
 * a state is only joined at or above the walk's start, so no read leaves
 * what the walker may read anyway.
 *
 * Validity: the states are dropped when rs_modules_epoch() moved (the
 * cache is flushed then too, see flush_if_unloaded()) or the thread's
 * stack top changed.  A signal handler's walk interrupting this thread's
 * walk (busy set), and a walk without call site (its start is an exact
 * address, not a return address: rare), use and keep nothing.  A fork
 * child keeps the forking thread's states, which describe its stack as
 * well.
 *
 * Memory: one page per thread that walks, mapped on its first walk and
 * unmapped when it ends (threads.c; a thread refscope did not see start
 * keeps its page to the end), holding FU_KEPT states and the FU_NEW new
 * states of the walk running: a default walk (REFSCOPE_DEPTH 32) has at
 * most 33 states; a longer chain keeps FU_KEPT of them (the rest is
 * walked with rules), a walk with more new states keeps its first FU_NEW.
 * Not in TLS, which glibc carves from each thread's stack (a thread with
 * PTHREAD_STACK_MIN would lose its room) and which the analysis scans
 * as a root.  rbp values are kept inverted all the same, so that no word
 * in that page looks like a pointer to the program's blocks. */

#define FU_KEPT 72               /* states kept                            */
#define FU_NEW  48               /* new states of one walk kept            */
#define FU_HINTS 64              /* start positions remembered             */

typedef struct fu_state {
    uint64_t ip;         /* a return address                                */
    uint64_t rsp;
    uint64_t nrbp;       /* ~rbp: no program pointer in refscope's memory
                            (which a conservative scan could come across) */
    int32_t  link;       /* the step into this state: rbp was read at rsp +
                            (link & FU_LINK_OFF) (< 0) and is checked there
                            (0: not read, or dead); FU_FROM_OUT: the frame
                            stepped from is left out of walks.  0 for most
                            states: following them is a single test     */
    uint32_t rule;       /* its packed rule; FU_UNWALKED: the walk ended
                            before looking it up                            */
} fu_state_t;

/* Not a packed rule (those have 17 bits); has FU_CFA_RBP set, so that
 * fu_dead() is 0, and FU_RA_UNDEF clear (the walk may go on from it). */
#define FU_UNWALKED (~(uint32_t)FU_RA_UNDEF)
/* A link's rbp offset (a multiple of 8), and its mark that the frame
 * stepped from is in the range left out of walks (refscope's own, see
 * rs_fastunwind_trace()). */
#define FU_LINK_OFF ((int32_t)-8)
#define FU_FROM_OUT 1

/* 1 when a state of rule r never uses its rbp: the rule saves rbp and
 * computes the CFA from rsp. */
static inline int fu_dead(uint64_t r)
{
    return (r & (FU_RBP_SAVED | FU_CFA_RBP)) == FU_RBP_SAVED;
}

typedef struct fu_last {
    fu_state_t st[FU_KEPT + 1];   /* the chain at st[FU_KEPT - n, FU_KEPT);
                                     st[FU_KEPT]: the sentinel (n > 0)  */
    fu_state_t buf[FU_NEW];       /* a walk's new states                 */
    uint32_t n;          /* states kept; 0: none                           */
    uint32_t epoch;      /* rs_modules_epoch() they were walked in          */
    uint64_t hi;         /* the stack top their reads were bounded by       */
    uint64_t skip_lo, skip_span;  /* the frames their FU_FROM_OUT marks     */
    uint32_t reused;     /* frames the last walk followed                   */
    uint8_t hints[FU_HINTS];  /* by a start's stack pointer: the index of
                                 st[] a search from there found last      */
    int busy;            /* a walk of this thread runs                      */
} fu_last_t;

/* The thread's page (see above); NULL: none yet, FU_ENDED: none to be. */
static _Thread_local fu_last_t *fu_page __attribute__((tls_model("initial-exec")));
#define FU_PAGE  4096
#define FU_ENDED ((fu_last_t *)1)
_Static_assert(sizeof(fu_last_t) <= FU_PAGE, "fu_last_t fits a page");
static _Atomic uint64_t frames_stored, frames_reused;     /* REFSCOPE_UNWIND=check */
/* The cursor of a walk without kept states. */
static const fu_state_t fu_sentinel = {.rsp = UINT64_MAX};

/* The first kept state at or above rsp, a walk's start (the sentinel:
 * none), in the chain from first.  The kept states may reach far below
 * the start (see above), and starts vary (a call at varying depths): the
 * answer for a start is remembered by its stack pointer (aligned to 16
 * at a call) and checked, about 12 instructions; else a binary search
 * (about 50). */
static inline const fu_state_t *fu_first_at(fu_last_t *w, const fu_state_t *first,
                                            uint64_t rsp)
{
    const fu_state_t *st = w->st;
    uint8_t *hint = &w->hints[(rsp >> 4) % FU_HINTS];
    uint32_t lo = (uint32_t)(first - st), h = *hint, hi = FU_KEPT;
    if (RS_LIKELY(h >= lo && st[h].rsp >= rsp && (h == lo || st[h - 1].rsp < rsp)))
        return st + h;
    while (lo != hi) {
        uint32_t mid = (lo + hi) >> 1;
        if (st[mid].rsp < rsp)
            lo = mid + 1;
        else
            hi = mid;
    }
    *hint = (uint8_t)lo;
    return st + lo;
}

/* The calling thread's page, mapped on its first walk (mmap: also from a
 * signal handler); FU_ENDED when its thread ended or mapping failed (its
 * walks then keep nothing).  A signal handler walking meanwhile sees
 * FU_ENDED and keeps nothing. */
static __attribute__((noinline)) fu_last_t *page_for_thread(void)
{
    fu_last_t *w = fu_page;
    if (w)
        return w;
    fu_page = FU_ENDED;
    atomic_signal_fence(memory_order_seq_cst);
    void *m = mmap(NULL, FU_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    w = m == MAP_FAILED ? FU_ENDED : m;
    atomic_signal_fence(memory_order_seq_cst);
    fu_page = w;
    return w;
}

void rs_fastunwind_thread_end(void)
{
    fu_last_t *w = fu_page;
    fu_page = FU_ENDED;
    atomic_signal_fence(memory_order_seq_cst);
    if ((uintptr_t)w > (uintptr_t)FU_ENDED)
        munmap(w, FU_PAGE);
}

/* A walk's states for keep_walk(): its own in buf[0, nb) (buf[0, npre)
 * before the join, the rest after the followed stretch [join, last] of
 * the kept chain; join NULL: nothing followed). */
typedef struct fu_chain {
    const fu_state_t *buf;
    uint32_t nb, npre;
    int32_t jlink;               /* the new link into join                 */
    fu_state_t *join, *last;
    fu_state_t *inner;           /* not NULL: the kept states from inner to
                                    the join stay (the new ones before the
                                    join are dropped, the link is the old) */
    uint64_t skip_lo, skip_span;  /* the range of FU_FROM_OUT              */
} fu_chain_t;

/* Makes the walk's states the kept chain, placed from the end of st[]:
 * its states after the stretch, the stretch (to the old end when nothing
 * comes after it, so that it stays in place), its states before, as many
 * as fit (any stretch of a walk is a chain).  Cost: the new states
 * copied (memcpy), the stretch moved when the walk went on after it. */
static __attribute__((noinline)) void keep_walk(fu_last_t *w, const fu_chain_t *ch,
                                                uint32_t epoch, uint64_t hi)
{
    fu_state_t *st = w->st;
    uint32_t npre = ch->join ? ch->npre : ch->nb, nsuf = ch->nb - npre;
    uint32_t top = FU_KEPT - nsuf;
    if (ch->inner)
        npre = 0;                         /* dropped */
    else if (ch->join)
        ch->join->link = ch->jlink;
    if (ch->join) {
        /* Moved first: the new outer states may go where it is now. */
        fu_state_t *from = ch->inner ? ch->inner : ch->join;
        fu_state_t *to = nsuf ? ch->last + 1 : st + FU_KEPT;
        uint32_t len = (uint32_t)(to - from);
        if (len > top) {
            from += len - top;            /* keep its outer part */
            len = top;
        }
        if (st + top != to)
            memmove(st + top - len, from, len * sizeof *st);
        top -= len;
    }
    memcpy(st + FU_KEPT - nsuf, ch->buf + ch->nb - nsuf, nsuf * sizeof *st);
    uint32_t fit = npre < top ? npre : top;
    memcpy(st + top - fit, ch->buf + npre - fit, fit * sizeof *st);
    top -= fit;
    w->n = FU_KEPT - top;
    st[FU_KEPT].rsp = UINT64_MAX;
    w->epoch = epoch;
    w->hi = hi;
    w->skip_lo = ch->skip_lo;
    w->skip_span = ch->skip_span;
}

/* A walk in progress: the state reached (ip, rsp, rbp; link: the step
 * into it, as fu_state_t.link), where frames go, and what bounds it. */
typedef struct fu_walk {
    uint64_t ip, rsp, rbp;
    int32_t  link;
    uint32_t stubs;                  /* return stubs passed (got_hook.h)    */
    uint64_t *out, *out_end;         /* stored frames; keep of them at most */
    uint64_t left;                   /* frames it may still walk (max)      */
    uint64_t skip_lo, skip_span, hi;
} fu_walk_t;

enum { FU_GO, FU_END, FU_LAST, FU_FAIL };

/* Walks the frame of state k with rule r: stores it and steps to its
 * caller.  Frames in [skip_lo, skip_hi) are walked but not stored, except
 * the last one (a return stub ends a walk); all count toward max, and the
 * walk stops once keep frames are stored.  Returns FU_GO (a state
 * reached, to walk), FU_END (the walk is over), FU_LAST (over, with a
 * state reached: a null return address, or max frames walked) or FU_FAIL
 * (left to libunwind).
 * Bounds.  Every slot a correct walk reads lies between the frame's
 * stack pointer and the top of the stack: the return address at CFA - 8
 * with rsp + 8 <= CFA <= hi (so the CFA grows with every frame: no
 * loop), the saved rbp below the CFA (pack() keeps only negative offsets)
 * and at or above rsp.  Nothing below the walker's own stack pointer is
 * read, so a wrong rbp cannot touch the unmapped part of the main
 * thread's stack area. */
static inline __attribute__((always_inline)) int fu_frame(fu_walk_t *k, uint64_t r)
{
    int32_t from_out = k->ip - k->skip_lo < k->skip_span ? FU_FROM_OUT : 0;
    if (!from_out || (r & FU_RA_UNDEF))
        *k->out++ = k->ip;
    if ((r & FU_RA_UNDEF) || k->out == k->out_end)
        return FU_END;
    uint64_t cfa = ((r & FU_CFA_RBP) ? k->rbp : k->rsp) + (uint64_t)cfa_off_of(r);
    if (cfa < k->rsp + 8 || cfa > k->hi)     /* rsp <= hi - 8: no wrap */
        return FU_FAIL;
    k->link = from_out;
    if (r & FU_RBP_SAVED) {
        int64_t off = rbp_off_of(r);
        uint64_t at = cfa + (uint64_t)off;
        if (at < k->rsp)
            return FU_FAIL;
        k->rbp = *(const uint64_t *)(uintptr_t)at;
        k->link |= (int32_t)off;
    }
    k->ip = *(const uint64_t *)(uintptr_t)(cfa - 8);
    if (RS_UNLIKELY(k->ip == (uint64_t)(uintptr_t)rs_got_return_stub))
        k->ip = rs_got_hook_pending_return(k->stubs++);   /* 0: the walk ends */
    k->rsp = cfa;
    return !k->ip || --k->left == 0 ? FU_LAST : FU_GO;
}

/* The link into a state of rule r that the step link reached: its rbp
 * is not checked when the state is dead. */
static inline int32_t fu_link_into(int32_t link, uint64_t r)
{
    return fu_dead(r) ? link & FU_FROM_OUT : link;
}

/* The state of k, of rule r, as kept: rbp inverted, the link into it. */
static inline fu_state_t fu_new_state(const fu_walk_t *k, uint64_t r)
{
    return (fu_state_t){k->ip, k->rsp, ~k->rbp, fu_link_into(k->link, r), (uint32_t)r};
}

/* The walk without the kept states, for a walk nested in another of the
 * same thread (a signal handler's).  Returns the frames stored or -1. */
static __attribute__((noinline)) int walk_rules(fu_walk_t k, uint64_t pc, uint64_t *pcs)
{
    for (;;) {
        uint64_t r = rule_for(pc);
        if (RS_UNLIKELY(r == FU_NO_RULE))
            return -1;
        int e = fu_frame(&k, r);
        if (e == FU_FAIL)
            return -1;
        if (e != FU_GO)
            return (int)(k.out - pcs);
        pc = k.ip - 1;
    }
}

/* Follows kept state f, equal to the walk's, to its successor t when t
 * is still what the stack gives - its return address, and its rbp where
 * read and not dead, still in their slots - and stores f's frame unless
 * it is left out.  Returns 0 when t changed.  For a link 0 (most): five
 * loads (one in the compare), a test and the store, 10 instructions. */
static inline __attribute__((always_inline)) int fu_follow(const fu_state_t *f, uint64_t **out)
{
    const fu_state_t *t = f + 1;
    if (*(const uint64_t *)(uintptr_t)(t->rsp - 8) != t->ip)
        return 0;
    if (RS_UNLIKELY(t->link)) {
        int64_t off = t->link & FU_LINK_OFF;
        if (off && ~*(const uint64_t *)(uintptr_t)(t->rsp + (uint64_t)off) != t->nrbp)
            return 0;
        if (t->link & FU_FROM_OUT)
            return 1;
    }
    *(*out)++ = f->ip;
    return 1;
}

/* The end of a followed stretch at f, the last kept state: 1 when the
 * walk ends there - a null return address, or a frame whose rule ends the
 * walk (stored, as fu_frame() does) - else 0 (a frame still to walk). */
static inline int fu_end_at(const fu_state_t *f, fu_walk_t *k)
{
    if (!f->ip)
        return 1;
    if (f->rule & FU_RA_UNDEF) {
        *k->out++ = f->ip;
        return 1;
    }
    return 0;
}

/* What following the kept states came to: the last state reached, the
 * walk's frames stored, and whether the walk is over (the frames walked
 * are those followed, f - the state followed from). */
typedef struct fu_followed {
    fu_state_t *f;
    uint64_t *out;
    int done;
} fu_followed_t;

/* Follows the kept states from f (equal to the state of k) up to end
 * while their slots still hold what was read, storing their frames as
 * fu_frame() would, within max and keep.  The walker follows inline when
 * max and keep cannot end the walk before end; this is the rest (k by
 * value: the walker's own stays in registers). */
static __attribute__((noinline)) fu_followed_t follow_slow(fu_state_t *f, fu_state_t *end,
                                                           fu_walk_t k)
{
    fu_followed_t res = {f, k.out, 0};
    for (;;) {
        /* Frames that may be walked before max or keep ends the walk
         * (each stores one at most). */
        uint64_t room = (uint64_t)(k.out_end - k.out), can = room < k.left ? room : k.left;
        fu_state_t *stop = (uint64_t)(end - f) < can ? end : f + can, *from = f;
        while (f != stop && fu_follow(f, &k.out))
            f++;                      /* f's return address was defined */
        k.left -= (uint64_t)(f - from);
        if (f != stop)
            break;                    /* its successor changed */
        if (k.out == k.out_end || !k.left) {
            res.done = 1;
            break;
        }
        if (f == end) {
            res.done = fu_end_at(f, &k);
            break;
        }
    }
    res.f = f;
    res.out = k.out;
    return res;
}

/* Cost (callgrind, bench_alloc): about 200 instructions a walk besides
 * its frames - the checks, the page, the start's position, the join and
 * the finish - then 13 a frame followed and about 70 a frame walked. */
__attribute__((noinline)) int rs_fastunwind_trace(uint64_t *pcs, int max, int keep,
                                                  uint64_t lo, uint64_t hi,
                                                  uint64_t skip_lo, uint64_t skip_hi,
                                                  const rs_call_site_t *site,
                                                  uint32_t outer_stubs)
{
    if (!lo || hi < lo + 8 || max <= 0 || keep <= 0)
        return -1;
    uint32_t epoch = flush_if_unloaded();
    uint64_t ip, rsp, rbp, pc;
    __asm__ volatile("leaq 0(%%rip), %0\n\t"
                     "movq %%rsp, %1\n\t"
                     "movq %%rbp, %2"
                     : "=r"(ip), "=r"(rsp), "=r"(rbp));
    pc = ip;                          /* exact: this frame is executing */
    if (site) {
        /* The call site's frame: a caller's, below this one on the stack
         * (so the bounds keep every read at or above this frame). */
        if (site->rsp < rsp || !site->ip)
            return -1;
        ip = site->ip;
        rsp = site->rsp;
        rbp = site->rbp;
        pc = ip - 1;                  /* a return address, as DWARF asks */
    }
    if (rsp < lo || rsp > hi - 8)
        return -1;
    fu_walk_t k = {ip, rsp, rbp, 0, outer_stubs, pcs, pcs + keep, (uint64_t)max, skip_lo,
                   skip_hi - skip_lo, hi};
    fu_last_t *w = fu_page;
    if (RS_UNLIKELY((uintptr_t)w <= (uintptr_t)FU_ENDED || w->busy || !site)) {
        /* A walk nested in another of this thread (a signal handler's),
         * one from its own frame (no call site: rare), and one without a
         * page keep nothing; a thread's first walk maps its page. */
        w = page_for_thread();
        if (w == FU_ENDED || w->busy || !site) {
            if (w != FU_ENDED)
                w->reused = 0;
            return walk_rules(k, pc, pcs);
        }
    }
    w->busy = 1;
    atomic_signal_fence(memory_order_seq_cst);
    /* The kept states: cur moves up them to the sentinel (its rsp in a
     * register), end is the last one. */
    fu_state_t *end = w->st + FU_KEPT - 1;
    const fu_state_t *cur = &fu_sentinel, *first = &fu_sentinel;
    /* Set by keep_walk() only, with the sentinel (a fresh page has hi 0):
     * n 0 then gives the sentinel as first. */
    if (RS_LIKELY(w->epoch == epoch && w->hi == hi && w->skip_lo == k.skip_lo &&
                  w->skip_span == k.skip_span)) {
        first = w->st + FU_KEPT - w->n;
        cur = fu_first_at(w, first, k.rsp);
    }
    int below = first != cur;         /* kept states below the start */
    uint64_t cur_rsp = cur->rsp;
    /* The new states in buf; the followed stretch [j, f] of the kept
     * ones, which came after the new states [buf, bj). */
    fu_state_t *buf = w->buf, *bp = buf, *bend = buf + FU_NEW, *bj = NULL;
    fu_state_t *j = NULL, *f = NULL;
    int32_t jlink = 0;
    uint64_t r;
    int e;
    /* Per frame walked, rule cached: the lookup, the CFA, one or two loads
     * and the bound checks (about 50 instructions measured with callgrind,
     * stores and loop included; libunwind's unw_backtrace about 90), the
     * state kept and the cursor (about 20 more). */
    for (;;) {
        /* The inner states, new: k's state is reached, not walked yet. */
        if (RS_UNLIKELY(k.rsp >= cur_rsp)) {
            while (cur->rsp < k.rsp)
                cur++;
            cur_rsp = cur->rsp;
            if (cur_rsp == k.rsp && cur->ip == k.ip &&
                (cur->nrbp == ~k.rbp || fu_dead(cur->rule)) && cur != end)
                goto join;
        }
walk_new:
        r = rule_for(pc);
        if (RS_UNLIKELY(r == FU_NO_RULE))
            goto fail;
        if (RS_LIKELY(bp != bend))
            *bp++ = fu_new_state(&k, r);
        else
            cur_rsp = UINT64_MAX;     /* a state lost: nothing joins after it */
        e = fu_frame(&k, r);
        if (e != FU_GO)
            goto finish;
        pc = k.ip - 1;
    }
join: {
        /* Follow the kept states from cur. */
        int done = 0;
        f = (fu_state_t *)cur;
        uint64_t span = (uint64_t)(end - f);
        if (RS_LIKELY(span < (uint64_t)(k.out_end - k.out) && span < k.left)) {
            /* Neither max nor keep can end the walk before end.  Per
             * frame: fu_follow() and the loop, 13 instructions measured
             * (gcc 12 -O2), 7 more when the link checks an rbp. */
            uint64_t *out = k.out;
            while (f != end && fu_follow(f, &out))
                f++;
            k.out = out;
            if (f == end)
                done = fu_end_at(f, &k);
        } else {
            fu_followed_t res = follow_slow(f, end, k);
            f = res.f;
            k.out = res.out;
            done = res.done;
        }
        if (f == cur)
            goto walk_new;            /* its successor changed: walk it */
        j = (fu_state_t *)cur;
        bj = bp;
        jlink = k.link;               /* the step into j, if linked anew */
        if (done) {
            e = FU_END;
            goto finish;
        }
        k.left -= (uint64_t)(f - j);
        /* Walk on from f, which is kept already (rbp: exact unless f is
         * dead). */
        k.ip = f->ip;
        k.rsp = f->rsp;
        k.rbp = ~f->nrbp;
        pc = k.ip - 1;
        r = f->rule;
        if (r == FU_UNWALKED) {
            r = rule_for(pc);
            if (RS_UNLIKELY(r == FU_NO_RULE))
                goto fail;
        }
    }
    for (;;) {
        /* The outer states, new. */
        e = fu_frame(&k, r);
        if (e != FU_GO)
            break;
        pc = k.ip - 1;
        r = rule_for(pc);
        if (RS_UNLIKELY(r == FU_NO_RULE))
            goto fail;
        if (RS_LIKELY(bp != bend))
            *bp++ = fu_new_state(&k, r);
    }
finish:
    if (RS_UNLIKELY(e == FU_FAIL))
        goto fail;
    if (e == FU_LAST && bp != bend)   /* reached, not walked */
        *bp++ = (fu_state_t){k.ip, k.rsp, ~k.rbp, k.link, FU_UNWALKED};
    /* A walk that joined at its first state or the next one leaves the
     * kept states below it (its own first state goes): they may be
     * followed again once the program is that deep again (a recursion),
     * where a walk's first state is the most changing one (the call of
     * the allocator or hooked function).  A walk with more new states
     * before the join found the stack changed there: they replace the
     * kept ones. */
    fu_state_t *inner = NULL;
    if (j && bj - buf <= 1 && below)
        inner = (fu_state_t *)first;
    if (RS_LIKELY(j && bp == bj && inner)) {
        /* Followed to its end or the end of the walk: nothing changes. */
    } else if (RS_LIKELY(j && bp == bj && j - w->st >= bj - buf)) {
        /* Followed to its end, the new states fit before the stretch,
         * the rest of the chain stays: about 6 instructions a state. */
        fu_state_t *dst = j - (bj - buf);
        w->n = (uint32_t)(end + 1 - dst);
        j->link = fu_link_into(jlink, j->rule);
        for (const fu_state_t *from = buf; from != bj; from++, dst++) {
            *dst = *from;
            __asm__ volatile("");     /* a short loop, not a memcpy call */
        }
    } else {
        fu_chain_t ch = {buf, (uint32_t)(bp - buf), (uint32_t)(bj - buf),
                         j ? fu_link_into(jlink, j->rule) : 0, j, f, inner,
                         k.skip_lo, k.skip_span};
        keep_walk(w, &ch, epoch, hi);
    }
    w->reused = (uint32_t)(f - j);
    atomic_signal_fence(memory_order_seq_cst);
    w->busy = 0;
    return (int)(k.out - pcs);
fail:
    atomic_signal_fence(memory_order_seq_cst);
    w->busy = 0;
    return -1;
}

void rs_fastunwind_count_check(int mismatch, uint32_t frames)
{
    atomic_fetch_add_explicit(&frames_stored, frames, memory_order_relaxed);
    fu_last_t *w = fu_page;
    if ((uintptr_t)w > (uintptr_t)FU_ENDED)
        atomic_fetch_add_explicit(&frames_reused, w->reused, memory_order_relaxed);
    atomic_fetch_add_explicit(&checked, 1, memory_order_relaxed);
    if (mismatch)
        atomic_fetch_add_explicit(&mismatches, 1, memory_order_relaxed);
}

uint64_t rs_fastunwind_checked(void)
{
    return atomic_load_explicit(&checked, memory_order_relaxed);
}

uint64_t rs_fastunwind_mismatches(void)
{
    return atomic_load_explicit(&mismatches, memory_order_relaxed);
}

void rs_fastunwind_frames(uint64_t *stored, uint64_t *reused)
{
    *stored = atomic_load_explicit(&frames_stored, memory_order_relaxed);
    *reused = atomic_load_explicit(&frames_reused, memory_order_relaxed);
}
