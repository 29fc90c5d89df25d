/*
 * x86_relocate.c - relocation of a function's first instructions for an
 * entry patch (see x86_relocate.h for the contract and its invariants).
 *
 * Two passes with one Capstone handle (detail on, x86-64):
 *   1. copy: from the patch point, decode one instruction at a time until
 *      patch_len bytes are covered; each is checked (copy_one) and copied,
 *      its RIP-relative displacement or rel32 branch offset re-computed for
 *      its new address (the instruction keeps its length, so `new = old +
 *      (old address - new address)`; a short branch grows to its rel32
 *      form, copy_jump).  Then the jump back.
 *   2. scan: decode the whole function [fn_addr, fn_addr + fn_size); every
 *      relative branch or call whose target lies in [fn_addr + 1, fn_addr +
 *      patch_at + patch_len) refuses the patch (a loop back into the
 *      prologue would run the middle of the jump).  Undecodable bytes
 *      refuse too: the check must see every instruction.
 * Capstone allocates with the process's malloc; in the preload this runs
 * with the reentrancy guard set, so those blocks are not recorded.
 */
#include "x86_relocate.h"

#include <capstone/capstone.h>
#include <string.h>

static const uint8_t endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };

static int fits_i32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

static void put_i32(uint8_t *p, int32_t v) { memcpy(p, &v, 4); }

int rs_x86_encode_jump(uint8_t *buf, uint32_t patch_len, uint64_t at, uint64_t to)
{
    if (patch_len == RS_X86_PATCH_ABS) {
        static const uint8_t jmp_rip[6] = { 0xff, 0x25, 0, 0, 0, 0 };
        memcpy(buf, jmp_rip, 6);
        memcpy(buf + 6, &to, 8);
        return 0;
    }
    int64_t rel = (int64_t)(to - (at + RS_X86_PATCH_REL32));
    if (patch_len != RS_X86_PATCH_REL32 || !fits_i32(rel))
        return -1;
    buf[0] = 0xe9;
    put_i32(buf + 1, (int32_t)rel);
    return 0;
}

static int refuse(rs_x86_reloc_t *out, const char *why)
{
    out->why = why;
    return -1;
}

/* The memory operand of insn that is RIP-relative, or NULL. */
static const cs_x86_op *rip_operand(const cs_x86 *x)
{
    for (uint8_t i = 0; i < x->op_count; i++)
        if (x->operands[i].type == X86_OP_MEM && x->operands[i].mem.base == X86_REG_RIP)
            return &x->operands[i];
    return NULL;
}

/* The target of a relative branch or call, 1 when insn is one. */
static int branch_target(csh cs, const cs_insn *insn, uint64_t *target)
{
    const cs_x86 *x = &insn->detail->x86;
    if (!cs_insn_group(cs, insn, CS_GRP_BRANCH_RELATIVE) || x->op_count != 1 ||
        x->operands[0].type != X86_OP_IMM)
        return 0;
    *target = (uint64_t)x->operands[0].imm;
    return 1;
}

/* Writes into field the 32-bit offset from next (the address after the
 * relocated instruction) to target; refuses when it does not fit. */
static int put_rel32(uint8_t *field, uint64_t next, uint64_t target, rs_x86_reloc_t *out)
{
    int64_t rel = (int64_t)(target - next);
    if (!fits_i32(rel))
        return refuse(out, "a displacement does not fit in 32 bits at the trampoline");
    put_i32(field, (int32_t)rel);
    return 0;
}

/* A call as the last copied instruction, at the code's end: `push
 * ret(%rip); jmp *target(%rip)` and the two addresses.  The callee returns
 * straight into the original function, after the copied bytes, where the
 * function's own unwind info describes the frame (the copied
 * instructions changed the stack exactly as the originals do). */
static int emit_call(const cs_insn *insn, uint64_t target, rs_x86_reloc_t *out)
{
    static const uint8_t push_jmp[12] = { 0xff, 0x35, 6, 0, 0, 0,    /* push 6(%rip) */
                                          0xff, 0x25, 8, 0, 0, 0 };  /* jmp *8(%rip) */
    uint64_t ret = insn->address + insn->size;
    if (out->code_len + sizeof push_jmp + 16 > RS_X86_RELOC_MAX)
        return refuse(out, "prologue instructions too long");
    uint8_t *p = out->code + out->code_len;
    memcpy(p, push_jmp, sizeof push_jmp);
    memcpy(p + 12, &ret, 8);
    memcpy(p + 20, &target, 8);
    out->code_len += sizeof push_jmp + 16;
    return 0;
}

/* Copies a relative jump (jcc or jmp) to out->code + out->code_len, its
 * offset re-computed to reach target from there.  A short (rel8) jcc or
 * jmp is widened to its rel32 form (0f 8x / e9): `test %rdi,%rdi; je out`,
 * the null check that opens most release functions (cairo_destroy), is
 * too far from its target once moved.  loop, loopcc and jrcxz have no
 * rel32 form; a short branch with a prefix is not expected. */
static int copy_jump(const cs_insn *insn, uint64_t tramp_addr, uint64_t target,
                     rs_x86_reloc_t *out)
{
    const cs_x86 *x = &insn->detail->x86;
    uint8_t code[16];
    uint32_t len, off;
    if (x->encoding.imm_size == 4 && x->encoding.imm_offset != 0) {
        memcpy(code, insn->bytes, insn->size);
        len = insn->size;
        off = x->encoding.imm_offset;
    } else if (insn->size == 2 && insn->bytes[0] >= 0x70 && insn->bytes[0] <= 0x7f) {
        code[0] = 0x0f;
        code[1] = (uint8_t)(0x80 | (insn->bytes[0] & 0x0f));
        len = 6;
        off = 2;
    } else if (insn->size == 2 && insn->bytes[0] == 0xeb) {
        code[0] = 0xe9;
        len = 5;
        off = 1;
    } else {
        return refuse(out, "a loop, jrcxz or prefixed short branch in the prologue");
    }
    if (out->code_len + len > RS_X86_RELOC_MAX - RS_X86_PATCH_ABS)
        return refuse(out, "prologue instructions too long");
    if (put_rel32(code + off, tramp_addr + out->code_len + len, target, out) != 0)
        return -1;
    memcpy(out->code + out->code_len, code, len);
    out->code_len += len;
    return 0;
}

/* Checks and copies one prologue instruction to out->code + out->code_len.
 * last: no instruction follows it in the copy.  *target: a relative
 * branch's target (else left alone), checked by the caller once the copied
 * range is known. */
static int copy_one(csh cs, const cs_insn *insn, uint64_t tramp_addr, int last,
                    uint64_t *target, rs_x86_reloc_t *out)
{
    const cs_x86 *x = &insn->detail->x86;
    if (cs_insn_group(cs, insn, CS_GRP_CALL)) {
        if (!last)
            return refuse(out, "a call in the prologue before the patch size");
        if (!branch_target(cs, insn, target))
            return refuse(out, "an indirect call in the prologue");
        return emit_call(insn, *target, out);
    }
    if (cs_insn_group(cs, insn, CS_GRP_RET) || cs_insn_group(cs, insn, CS_GRP_IRET))
        return refuse(out, "a ret before the patch size (function too short)");
    if (cs_insn_group(cs, insn, CS_GRP_INT))
        return refuse(out, "an interrupt or syscall in the prologue");
    /* Capstone 4 puts loop/loope/loopne in no jump group, only in the
     * relative-branch one: both are asked. */
    if (cs_insn_group(cs, insn, CS_GRP_JUMP) ||
        cs_insn_group(cs, insn, CS_GRP_BRANCH_RELATIVE)) {
        if (!branch_target(cs, insn, target))
            return refuse(out, "an indirect jump in the prologue");
        if (insn->id == X86_INS_JMP && !last)
            return refuse(out, "a jmp before the patch size");
        return copy_jump(insn, tramp_addr, *target, out);
    }
    if (out->code_len + insn->size > RS_X86_RELOC_MAX - RS_X86_PATCH_ABS)
        return refuse(out, "prologue instructions too long");
    uint8_t *copy = out->code + out->code_len;
    uint64_t new_addr = tramp_addr + out->code_len;
    memcpy(copy, insn->bytes, insn->size);
    out->code_len += insn->size;
    const cs_x86_op *rip = rip_operand(x);
    if (rip) {
        if (x->encoding.disp_size != 4 || x->encoding.disp_offset == 0)
            return refuse(out, "a RIP-relative operand Capstone cannot locate");
        uint64_t target = insn->address + insn->size + (uint64_t)rip->mem.disp;
        return put_rel32(copy + x->encoding.disp_offset, new_addr + insn->size, target, out);
    }
    return 0;
}

/* Pass 1: the copy and the jump back. */
static int copy_prologue(csh cs, cs_insn *insn, const uint8_t *fn, uint64_t fn_addr,
                         uint64_t fn_size, uint32_t patch_len, uint64_t tramp_addr,
                         rs_x86_reloc_t *out)
{
    const uint8_t *p = fn + out->patch_at;
    size_t left = fn_size - out->patch_at;
    uint64_t addr = fn_addr + out->patch_at;
    uint64_t targets[RS_X86_PATCH_ABS];   /* at most one per copied byte */
    uint32_t n_targets = 0;
    int tail_jump = 0;
    while (out->copied < patch_len && !tail_jump) {
        if (!cs_disasm_iter(cs, &p, &left, &addr, insn))
            return refuse(out, left ? "undecodable prologue" : "function shorter than the patch");
        int last = out->copied + insn->size >= patch_len;
        uint64_t target = 0;
        if (copy_one(cs, insn, tramp_addr, last, &target, out) != 0)
            return -1;
        if (target)
            targets[n_targets++] = target;
        out->copied += insn->size;
        /* Nothing to go back to after a tail jump; a call returns there. */
        tail_jump = insn->id == X86_INS_JMP || insn->id == X86_INS_CALL;
    }
    uint64_t lo = fn_addr + out->patch_at, back = lo + out->copied;
    for (uint32_t i = 0; i < n_targets; i++)
        if (targets[i] >= lo && targets[i] < back)
            return refuse(out, "a branch into the relocated prologue");
    if (tail_jump)
        return 0;
    uint8_t *end = out->code + out->code_len;
    uint64_t at = tramp_addr + out->code_len;
    if (rs_x86_encode_jump(end, RS_X86_PATCH_REL32, at, back) == 0) {
        out->code_len += RS_X86_PATCH_REL32;
    } else {
        rs_x86_encode_jump(end, RS_X86_PATCH_ABS, at, back);
        out->code_len += RS_X86_PATCH_ABS;
    }
    return 0;
}

/* Pass 2: no relative branch of the function lands inside the patch. */
static int scan_function(csh cs, cs_insn *insn, const uint8_t *fn, uint64_t fn_addr,
                         uint64_t fn_size, uint64_t patch_end, rs_x86_reloc_t *out)
{
    const uint8_t *p = fn;
    size_t left = fn_size;
    uint64_t addr = fn_addr;
    while (left) {
        if (!cs_disasm_iter(cs, &p, &left, &addr, insn))
            return refuse(out, "undecodable bytes in the function");
        uint64_t target;
        if (branch_target(cs, insn, &target) && target > fn_addr && target < patch_end)
            return refuse(out, "a branch inside the function targets the patched bytes");
    }
    return 0;
}

int rs_x86_relocate(const uint8_t *fn, uint64_t fn_addr, uint64_t fn_size,
                    uint32_t patch_len, uint64_t tramp_addr, rs_x86_reloc_t *out)
{
    memset(out, 0, sizeof *out);
    if (patch_len != RS_X86_PATCH_REL32 && patch_len != RS_X86_PATCH_ABS)
        return refuse(out, "bad patch length");
    if (fn_size >= sizeof endbr64 && memcmp(fn, endbr64, sizeof endbr64) == 0) {
        out->patch_at = sizeof endbr64;
        memcpy(out->code, endbr64, sizeof endbr64);
        out->code_len = sizeof endbr64;
    }
    if (fn_size < out->patch_at + patch_len)
        return refuse(out, "function shorter than the patch");
    csh cs;
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
        return refuse(out, "Capstone cannot be opened");
    int rc = -1;
    cs_insn *insn = NULL;
    if (cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK || !(insn = cs_malloc(cs))) {
        refuse(out, "Capstone out of memory");
        goto out;
    }
    if (copy_prologue(cs, insn, fn, fn_addr, fn_size, patch_len, tramp_addr, out) != 0)
        goto out;
    if (out->patch_at + out->copied > fn_size) {
        refuse(out, "function shorter than the patch");
        goto out;
    }
    rc = scan_function(cs, insn, fn, fn_addr, fn_size,
                       fn_addr + out->patch_at + patch_len, out);
out:
    if (insn)
        cs_free(insn, 1);
    cs_close(&cs);
    return rc;
}
