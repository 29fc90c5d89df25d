/*
 * x86_relocate.h - moves the first instructions of an x86-64 function to
 * another address (a trampoline) so that its entry can be overwritten by a
 * jump, using Capstone to decode.
 *
 * rs_x86_relocate() is given the function's bytes, the address they live
 * at, the function's size (its ELF symbol size), how many bytes the patch
 * needs (5 for `jmp rel32`, 14 for `jmp *0(%rip); .quad`), and the address
 * the relocated copy will run at.  It decodes whole instructions from the
 * patch point until they cover the patch, re-encodes every RIP-relative
 * memory operand and every relative branch for the new address (a short,
 * rel8, jcc or jmp becomes its rel32 form: 4 bytes longer), and appends
 * a jump back to the first byte after the copied instructions.  It works
 * on plain memory and addresses: nothing is written to the function, so it
 * can be tested on byte arrays (tests/unit/test_x86_relocate.c).  Built
 * with Capstone into librefscope-x86.so, which entry_hook.c dlopens only
 * when hooks are used (preload/CMakeLists.txt says why).
 *
 * Invariants of a successful result:
 *  - Executing code[0..code_len) at tramp_addr has the same effect as
 *    executing the original [fn_addr + patch_at, fn_addr + patch_at +
 *    copied) and then continuing at fn_addr + patch_at + copied.
 *  - copied >= patch_len, and patch_at + copied <= fn_size.
 *  - When the function starts with endbr64 (CET), patch_at is 4: the
 *    endbr64 stays at the entry (indirect calls still land on it) and the
 *    copy starts with an endbr64 of its own (it is an indirect-jump target).
 *  - No instruction anywhere in the function branches into
 *    [fn_addr + 1, fn_addr + patch_at + patch_len) (relative branches
 *    decoded over the whole function extent; a jump to the entry itself is
 *    a real call and fine).
 *
 * A direct call as the last copied instruction is moved as `push
 * return-address; jmp target` (absolute), so the callee returns into the
 * original function right after the copied bytes: its unwind info stays
 * right for the callee's stack walks.
 *
 * It refuses (returns -1 with a static reason in why) rather than guess:
 * a function shorter than the patch, bytes Capstone cannot decode, a ret,
 * interrupt, indirect branch, loop or jrcxz in the copied
 * instructions, a call or unconditional jmp that is not the last copied
 * instruction, a conditional branch into the copied bytes, a displacement
 * that no longer fits in 32 bits at the new address, or a branch from
 * later code into the patched bytes.
 */
#ifndef RS_X86_RELOCATE_H
#define RS_X86_RELOCATE_H

#include <stdint.h>

#define RS_X86_PATCH_REL32 5    /* jmp rel32                               */
#define RS_X86_PATCH_ABS   14   /* jmp *0(%rip); .quad target              */
#define RS_X86_RELOC_MAX   48   /* bytes of relocated code at most         */

typedef struct rs_x86_reloc {
    uint8_t     code[RS_X86_RELOC_MAX];
    uint32_t    code_len;  /* endbr64?, relocated instructions, jump back  */
    uint32_t    patch_at;  /* 0, or 4 after an endbr64 kept at the entry   */
    uint32_t    copied;    /* original bytes moved, from patch_at          */
    const char *why;       /* on refusal: what was found (static string)   */
} rs_x86_reloc_t;

/*
 * Relocates the entry of the function whose fn_size bytes are readable at
 * fn (they are the code at address fn_addr) for a patch of patch_len bytes
 * (RS_X86_PATCH_REL32 or RS_X86_PATCH_ABS), the copy to run at tramp_addr.
 * Returns 0 and fills *out, or -1 with out->why set (and nothing else
 * meaningful).  Allocates only inside Capstone, freed before returning.
 */
int rs_x86_relocate(const uint8_t *fn, uint64_t fn_addr, uint64_t fn_size,
                    uint32_t patch_len, uint64_t tramp_addr, rs_x86_reloc_t *out);

/* Encodes the patch: a jump from `at` to `to` of patch_len bytes (rel32:
 * |to - (at + 5)| must fit in 32 bits, else -1) into buf. */
int rs_x86_encode_jump(uint8_t *buf, uint32_t patch_len, uint64_t at, uint64_t to);

#endif /* RS_X86_RELOCATE_H */
