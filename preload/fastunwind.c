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
 * address.  The walk ends where the return address is undefined (the
 * outermost frames, _start and clone, and refscope's return stub of a
 * hooked call, see got_hook.h), like libunwind's.
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
 * The cache.  FU_SLOTS 64-bit words, each written and read with one
 * atomic access, so threads share it without locks: the full return
 * address (47 bits; user space is below 2^47) and the packed rule (17
 * bits, see pack(); a frame whose rule does not fit - a CFA more than
 * 8 KiB above the stack pointer, rbp saved outside CFA-64..CFA-8 - is
 * left to libunwind with the rest of its stack).  A collision replaces the older entry.  When a module
 * is unloaded (rs_modules_epoch() moves) the cache is cleared before the
 * next walk, so no rule outlives its code; a walk racing with the
 * dlclose itself can use a stale rule for as long as libunwind's own
 * caches would.
 */
#include "preload.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

/* libgcc_s: the FDE covering pc (bases->func = its first address). */
struct dwarf_eh_bases {
    void *tbase, *dbase, *func;
};
extern const void *_Unwind_Find_FDE(void *pc, struct dwarf_eh_bases *bases);

#define FU_SLOT_BITS 15
#define FU_SLOTS     (1u << FU_SLOT_BITS)
#define FU_IP_BITS   47
#define FU_IP_MASK   ((1ull << FU_IP_BITS) - 1)

#define DW_RBP 6
#define DW_RSP 7
#define DW_RA  16

static _Atomic uint64_t cache[FU_SLOTS];
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
 *   bits 3-12 CFA offset / 8 (0..8184)
 *   bits 13-16 rbp offset / 8 + 8 (-64..-8: below the CFA)
 * Returns 0 when the rule does not fit (the walk is left to libunwind). */
#define FU_CFA_RBP   1u
#define FU_RA_UNDEF  2u
#define FU_RBP_SAVED 4u
#define FU_NO_RULE   (~0ull)

static int pack(const fu_rule_t *r, uint64_t *out)
{
    if (r->cfa_off < 0 || r->cfa_off > 8184 || (r->cfa_off & 7) ||
        (r->rbp_saved && (r->rbp_off < -64 || r->rbp_off > -8 || (r->rbp_off & 7))))
        return 0;
    uint64_t rbp = r->rbp_saved ? (uint64_t)(r->rbp_off / 8 + 8) : 0;
    *out = (r->cfa_rbp ? FU_CFA_RBP : 0) | (r->ra_undef ? FU_RA_UNDEF : 0) |
           (r->rbp_saved ? FU_RBP_SAVED : 0) | (uint64_t)(r->cfa_off / 8) << 3 | rbp << 13;
    return 1;
}

static inline int64_t cfa_off_of(uint64_t v) { return (int64_t)((v >> 3) & 1023) * 8; }
static inline int64_t rbp_off_of(uint64_t v) { return ((int64_t)((v >> 13) & 15) - 8) * 8; }

static inline uint32_t slot_of(uint64_t ip)
{
    return (uint32_t)((ip * 0x9E3779B97F4A7C15ull) >> (64 - FU_SLOT_BITS));
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
    atomic_store_explicit(slot, pc | packed << FU_IP_BITS, memory_order_relaxed);
    return packed;
}

/* Hot path: one hash, one load, one compare (about 7 instructions) when
 * the rule is cached; an entry never matches pc 0 or pc >= 2^47, since
 * none is stored for them.  Returns the packed rule or FU_NO_RULE. */
static inline uint64_t rule_for(uint64_t pc)
{
    _Atomic uint64_t *slot = &cache[slot_of(pc)];
    uint64_t v = atomic_load_explicit(slot, memory_order_relaxed);
    if (RS_LIKELY((v & FU_IP_MASK) == pc && v != 0))
        return v >> FU_IP_BITS;
    return rule_slow(pc, slot);
}

static void flush_if_unloaded(void)
{
    uint32_t now = rs_modules_epoch();
    if (RS_LIKELY(atomic_load_explicit(&cache_epoch, memory_order_relaxed) == now))
        return;
    for (uint32_t i = 0; i < FU_SLOTS; i++)
        atomic_store_explicit(&cache[i], 0, memory_order_relaxed);
    atomic_store_explicit(&cache_epoch, now, memory_order_relaxed);
}

__attribute__((noinline)) int rs_fastunwind_trace(uint64_t *pcs, int max, int keep,
                                                  uint64_t lo, uint64_t hi,
                                                  uint64_t skip_lo, uint64_t skip_hi,
                                                  const rs_call_site_t *site)
{
    uint64_t skip_span = skip_hi - skip_lo;
    if (!lo || hi < lo + 8 || max <= 0 || keep <= 0)
        return -1;
    flush_if_unloaded();
    uint64_t ip, rsp, rbp, pc;
    __asm__ volatile("leaq 0(%%rip), %0\n\t"
                     "movq %%rsp, %1\n\t"
                     "movq %%rbp, %2"
                     : "=r"(ip), "=r"(rsp), "=r"(rbp));
    pc = ip;                          /* exact: this frame is executing */
    if (site) {
        /* The call site's frame: a caller's, below this one on the stack
         * (so the bounds below keep every read at or above this frame). */
        if (site->rsp < rsp || !site->ip)
            return -1;
        ip = site->ip;
        rsp = site->rsp;
        rbp = site->rbp;
        pc = ip - 1;                  /* a return address, as DWARF asks */
    }
    if (rsp < lo || rsp > hi - 8)
        return -1;
    /* Bounds.  Every slot a correct walk reads lies between the frame's
     * stack pointer and the top of the stack: the return address at
     * CFA - 8 with rsp + 8 <= CFA <= hi (so the CFA grows with every
     * frame: no loop), the saved rbp below the CFA (pack() keeps only
     * negative offsets) and at or above rsp.  Nothing below this
     * function's own stack pointer is read, so a wrong rbp cannot touch
     * the unmapped part of the main thread's stack area.
     * Per frame, rule cached: the lookup, the CFA, one or two loads and
     * the bound checks (about 50 instructions measured with callgrind,
     * stores and loop included; libunwind's unw_backtrace about 90).
     * Frames in [skip_lo, skip_hi) are walked but not stored, except the
     * last one (a return stub ends a walk); all count toward max, and the
     * walk stops once keep frames are stored. */
    int n = 0;
    for (uint64_t left = (uint64_t)max; left; left--) {
        uint64_t r = rule_for(pc);     /* pc: exact in this function only */
        if (RS_UNLIKELY(r == FU_NO_RULE))
            return -1;
        if (ip - skip_lo >= skip_span || (r & FU_RA_UNDEF))
            pcs[n++] = ip;
        if ((r & FU_RA_UNDEF) || n == keep)
            break;
        uint64_t cfa = ((r & FU_CFA_RBP) ? rbp : rsp) + (uint64_t)cfa_off_of(r);
        if (cfa < rsp + 8 || cfa > hi)     /* rsp <= hi - 8: no wrap */
            return -1;
        if (r & FU_RBP_SAVED) {
            uint64_t at = cfa + (uint64_t)rbp_off_of(r);
            if (at < rsp)
                return -1;
            rbp = *(const uint64_t *)(uintptr_t)at;
        }
        ip = *(const uint64_t *)(uintptr_t)(cfa - 8);
        rsp = cfa;
        if (!ip)
            break;
        pc = ip - 1;
    }
    return n;
}

void rs_fastunwind_count_check(int mismatch)
{
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
