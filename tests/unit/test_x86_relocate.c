/*
 * test_x86_relocate.c - unit tests of preload/x86_relocate.c (linked as the
 * small static library refscope_x86reloc, no LD_PRELOAD): RIP-relative
 * mov/lea and rel32 jcc re-encoded for the trampoline's address, rel8 jcc
 * and jmp widened to rel32, the jump back, endbr64 kept at the entry, a
 * call as the last copied instruction, and every refusal (short function,
 * ret, jmp or call before the patch size, loop and jrcxz, a branch into
 * the copied bytes, displacement out of range, a later branch into the
 * patched bytes, undecodable bytes) with its reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "x86_relocate.h"

#include <stdint.h>
#include <string.h>

#define FN    0x7f0000401000ull    /* where the test's "function" lives  */
#define TRAMP 0x7f0000001000ull    /* a trampoline 4 MiB below it        */

static int32_t i32_at(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The address a rel32 field at code[off] of an instruction ending at
 * code[end] reaches when code runs at TRAMP. */
static uint64_t reach(const rs_x86_reloc_t *r, uint32_t off, uint32_t end)
{
    return TRAMP + end + (int64_t)i32_at(r->code + off);
}

static void assert_refused(const uint8_t *fn, size_t size, uint32_t patch_len,
                           uint64_t tramp, const char *why)
{
    rs_x86_reloc_t r;
    assert_int_equal(rs_x86_relocate(fn, FN, size, patch_len, tramp, &r), -1);
    assert_non_null(r.why);
    if (!strstr(r.why, why))
        fail_msg("refused for \"%s\", expected \"%s\"", r.why, why);
}

static void test_rip_relative_mov_lea(void **state)
{
    static const uint8_t fn[] = {
        0x48, 0x8b, 0x05, 0x00, 0x10, 0x00, 0x00,   /* mov 0x1000(%rip),%rax */
        0x48, 0x8d, 0x3d, 0x20, 0x00, 0x00, 0x00,   /* lea 0x20(%rip),%rdi   */
        0xc3,                                       /* ret                   */
    };
    rs_x86_reloc_t r;
    assert_int_equal(rs_x86_relocate(fn, FN, sizeof fn, RS_X86_PATCH_REL32, TRAMP, &r), 0);
    assert_int_equal(r.patch_at, 0);
    assert_int_equal(r.copied, 7);                  /* the mov covers 5 bytes */
    assert_int_equal(r.code_len, 7 + 5);
    assert_memory_equal(r.code, fn, 3);             /* opcode and ModRM kept  */
    assert_int_equal(reach(&r, 3, 7), FN + 7 + 0x1000);
    assert_int_equal(r.code[7], 0xe9);              /* jmp back to fn + 7     */
    assert_int_equal(reach(&r, 8, 12), FN + 7);

    /* With the 14-byte patch both instructions move, the lea too. */
    assert_int_equal(rs_x86_relocate(fn, FN, sizeof fn, RS_X86_PATCH_ABS, TRAMP, &r), 0);
    assert_int_equal(r.copied, 14);
    assert_int_equal(reach(&r, 3, 7), FN + 7 + 0x1000);
    assert_memory_equal(r.code + 7, fn + 7, 3);
    assert_int_equal(reach(&r, 10, 14), FN + 14 + 0x20);
    assert_int_equal(reach(&r, 15, 19), FN + 14);
}

static void test_rel32_jcc_relocated(void **state)
{
    static const uint8_t fn[] = {
        0x48, 0x85, 0xff,                           /* test %rdi,%rdi        */
        0x0f, 0x84, 0x10, 0x00, 0x00, 0x00,         /* je fn+0x19            */
        0x48, 0x89, 0xf8,                           /* mov %rdi,%rax         */
        0xc3, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
        0x31, 0xc0, 0xc3,                           /* fn+0x19: xor; ret     */
    };
    rs_x86_reloc_t r;
    assert_int_equal(rs_x86_relocate(fn, FN, sizeof fn, RS_X86_PATCH_REL32, TRAMP, &r), 0);
    assert_int_equal(r.copied, 9);
    assert_memory_equal(r.code, fn, 5);
    assert_int_equal(reach(&r, 5, 9), FN + 0x19);
    assert_int_equal(reach(&r, 10, 14), FN + 9);
}

static void test_endbr64_kept(void **state)
{
    static const uint8_t fn[] = {
        0xf3, 0x0f, 0x1e, 0xfa,                     /* endbr64               */
        0x55,                                       /* push %rbp             */
        0x48, 0x89, 0xe5,                           /* mov %rsp,%rbp         */
        0x48, 0x83, 0xec, 0x10,                     /* sub $0x10,%rsp        */
        0xc9, 0xc3,                                 /* leave; ret            */
    };
    rs_x86_reloc_t r;
    assert_int_equal(rs_x86_relocate(fn, FN, sizeof fn, RS_X86_PATCH_REL32, TRAMP, &r), 0);
    assert_int_equal(r.patch_at, 4);
    assert_int_equal(r.copied, 8);                  /* push, mov, sub         */
    assert_memory_equal(r.code, fn, 12);            /* endbr64 + the copy     */
    assert_int_equal(r.code[12], 0xe9);
    assert_int_equal(reach(&r, 13, 17), FN + 12);
    assert_int_equal(r.code_len, 17);
}

static void test_far_trampoline_uses_absolute_jump_back(void **state)
{
    static const uint8_t fn[] = { 0x55, 0x48, 0x89, 0xe5, 0x5d, 0x31, 0xc0, 0xc3 };
    uint64_t far = FN + (8ull << 30);
    rs_x86_reloc_t r;
    assert_int_equal(rs_x86_relocate(fn, FN, sizeof fn, RS_X86_PATCH_REL32, far, &r), 0);
    assert_int_equal(r.copied, 5);                  /* push, mov, pop         */
    static const uint8_t jmp_rip[6] = { 0xff, 0x25, 0, 0, 0, 0 };
    assert_memory_equal(r.code + 5, jmp_rip, 6);
    uint64_t back;
    memcpy(&back, r.code + 11, 8);
    assert_int_equal(back, FN + 5);
    assert_int_equal(r.code_len, 5 + 14);
}

/* cairo_destroy's null check: test %rdi,%rdi; je (rel8) to the return. */
static void test_rel8_jcc_widened(void **state)
{
    static const uint8_t fn[] = {
        0x48, 0x85, 0xff,                           /* test %rdi,%rdi        */
        0x74, 0x1b,                                 /* je fn+0x20            */
        0x8b, 0x07,                                 /* mov (%rdi),%eax       */
        0x83, 0xf8, 0xff,                           /* cmp $-1,%eax          */
        0x74, 0x14,                                 /* je fn+0x20            */
        0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
        0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
        0xc3,                                       /* fn+0x20: ret          */
    };
    rs_x86_reloc_t r;
    assert_int_equal(rs_x86_relocate(fn, FN, sizeof fn, RS_X86_PATCH_REL32, TRAMP, &r), 0);
    assert_int_equal(r.copied, 5);                  /* test, je               */
    assert_memory_equal(r.code, fn, 3);
    assert_int_equal(r.code[3], 0x0f);              /* je rel32               */
    assert_int_equal(r.code[4], 0x84);
    assert_int_equal(reach(&r, 5, 9), FN + 0x20);
    assert_int_equal(r.code[9], 0xe9);              /* jmp back to fn + 5     */
    assert_int_equal(reach(&r, 10, 14), FN + 5);
    assert_int_equal(r.code_len, 14);

    /* The 14-byte patch moves both short jcc (and mov, cmp, two nops). */
    assert_int_equal(rs_x86_relocate(fn, FN, sizeof fn, RS_X86_PATCH_ABS, TRAMP, &r), 0);
    assert_int_equal(r.copied, 14);
    assert_int_equal(reach(&r, 5, 9), FN + 0x20);
    assert_memory_equal(r.code + 9, fn + 5, 5);     /* mov, cmp               */
    assert_int_equal(r.code[14], 0x0f);
    assert_int_equal(r.code[15], 0x84);
    assert_int_equal(reach(&r, 16, 20), FN + 0x20);
    assert_memory_equal(r.code + 20, fn + 12, 2);   /* nop, nop               */
    assert_int_equal(r.code[22], 0xe9);
    assert_int_equal(reach(&r, 23, 27), FN + 14);
    assert_int_equal(r.code_len, 27);
}

/* jmp rel8 as the last copied instruction becomes jmp rel32; loop and
 * jrcxz have no 32-bit form; a short jcc into the copied bytes is still
 * refused. */
static void test_rel8_jmp_and_refusals(void **state)
{
    static const uint8_t jmp8[] = { 0x48, 0x89, 0xf8, 0xeb, 0x10, 0x90, 0xc3 };
    rs_x86_reloc_t r;
    assert_int_equal(rs_x86_relocate(jmp8, FN, sizeof jmp8, RS_X86_PATCH_REL32, TRAMP, &r), 0);
    assert_int_equal(r.code[3], 0xe9);
    assert_int_equal(reach(&r, 4, 8), FN + 5 + 0x10);
    assert_int_equal(r.code_len, 8);                /* a tail jump: no way back */
    static const uint8_t loop[] = { 0x48, 0x89, 0xf8, 0xe2, 0x10, 0x90, 0xc3 };
    assert_refused(loop, sizeof loop, RS_X86_PATCH_REL32, TRAMP, "loop, jrcxz");
    static const uint8_t jrcxz[] = { 0x48, 0x89, 0xf8, 0xe3, 0x10, 0x90, 0xc3 };
    assert_refused(jrcxz, sizeof jrcxz, RS_X86_PATCH_REL32, TRAMP, "loop, jrcxz");
    static const uint8_t into[] = { 0x31, 0xc0, 0x74, 0xfc, 0x90, 0x90, 0xc3 };
    assert_refused(into, sizeof into, RS_X86_PATCH_REL32, TRAMP, "branch");
}

static void test_refuses_short_function(void **state)
{
    static const uint8_t fn[] = { 0x31, 0xc0, 0xc3 };   /* xor %eax,%eax; ret */
    assert_refused(fn, sizeof fn, RS_X86_PATCH_REL32, TRAMP, "shorter than the patch");
    static const uint8_t endbr[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x31, 0xc0, 0xc3 };
    assert_refused(endbr, sizeof endbr, RS_X86_PATCH_REL32, TRAMP, "shorter than the patch");
}

static void test_refuses_ret_before_patch(void **state)
{
    /* Symbol size covers padding: the ret comes before 5 bytes. */
    static const uint8_t fn[] = { 0x31, 0xc0, 0xc3, 0x90, 0x90, 0x90, 0x90, 0x90 };
    assert_refused(fn, sizeof fn, RS_X86_PATCH_REL32, TRAMP, "ret before the patch size");
}

static void test_refuses_jmp_before_patch_and_call(void **state)
{
    static const uint8_t jmp8[] = { 0xeb, 0x02, 0x90, 0x90, 0x31, 0xc0, 0xc3 };
    assert_refused(jmp8, sizeof jmp8, RS_X86_PATCH_REL32, TRAMP, "jmp before the patch size");
    static const uint8_t jmp32[] = { 0x55, 0xe9, 0x00, 0x01, 0x00, 0x00, 0x90, 0xc3 };
    rs_x86_reloc_t r;
    /* jmp rel32 as the last copied instruction (a tail jump) is moved. */
    assert_int_equal(rs_x86_relocate(jmp32, FN, sizeof jmp32, RS_X86_PATCH_REL32, TRAMP, &r), 0);
    assert_int_equal(r.code_len, 6);
    assert_int_equal(reach(&r, 2, 6), FN + 6 + 0x100);
    /* ...but with the 14-byte patch it is not the last one. */
    static const uint8_t jmp_mid[] = { 0x55, 0xe9, 0x00, 0x01, 0x00, 0x00, 0x48, 0x89,
                                       0xe5, 0x48, 0x89, 0xe5, 0x48, 0x89, 0xe5, 0xc3 };
    assert_refused(jmp_mid, sizeof jmp_mid, RS_X86_PATCH_ABS, TRAMP, "jmp before the patch size");
    /* A call before the patch size is refused (its return address would
     * lie inside the patched bytes). */
    static const uint8_t call[] = { 0xe8, 0x00, 0x01, 0x00, 0x00, 0x31, 0xc0, 0x31,
                                    0xc0, 0x31, 0xc0, 0x31, 0xc0, 0x31, 0xc0, 0xc3 };
    assert_refused(call, sizeof call, RS_X86_PATCH_ABS, TRAMP, "call in the prologue");
}

static void test_call_as_last_instruction(void **state)
{
    /* gst_caps_new_any: sub $8,%rsp; call gst_caps_new_empty; ... */
    static const uint8_t fn[] = {
        0x48, 0x83, 0xec, 0x08,                     /* sub $0x8,%rsp         */
        0xe8, 0x57, 0xff, 0xff, 0xff,               /* call fn+9-0xa9        */
        0x83, 0x48, 0x10, 0x10,                     /* orl $0x10,0x10(%rax)  */
        0x48, 0x83, 0xc4, 0x08, 0xc3,               /* add $8,%rsp; ret      */
    };
    rs_x86_reloc_t r;
    assert_int_equal(rs_x86_relocate(fn, FN, sizeof fn, RS_X86_PATCH_REL32, TRAMP, &r), 0);
    assert_int_equal(r.copied, 9);
    assert_memory_equal(r.code, fn, 4);
    static const uint8_t push_jmp[12] = { 0xff, 0x35, 6, 0, 0, 0, 0xff, 0x25, 8, 0, 0, 0 };
    assert_memory_equal(r.code + 4, push_jmp, 12);
    uint64_t ret, target;
    memcpy(&ret, r.code + 16, 8);
    memcpy(&target, r.code + 24, 8);
    assert_int_equal(ret, FN + 9);                  /* returns into the original */
    assert_int_equal(target, FN + 9 - 0xa9);
    assert_int_equal(r.code_len, 4 + 28);           /* no jump back          */
}

static void test_refuses_displacement_out_of_range(void **state)
{
    static const uint8_t fn[] = { 0x48, 0x8b, 0x05, 0x00, 0x10, 0x00, 0x00, 0xc3 };
    assert_refused(fn, sizeof fn, RS_X86_PATCH_REL32, FN + (8ull << 30),
                   "does not fit in 32 bits");
}

static void test_refuses_branch_back_into_patch(void **state)
{
    static const uint8_t fn[] = {
        0x55,                                       /* fn+0: push %rbp       */
        0x48, 0x89, 0xe5,                           /* fn+1: mov %rsp,%rbp   */
        0x48, 0xff, 0xcf,                           /* fn+4: dec %rdi        */
        0x75, 0xf8,                                 /* fn+7: jne fn+1        */
        0x5d, 0xc3,                                 /* pop %rbp; ret         */
    };
    assert_refused(fn, sizeof fn, RS_X86_PATCH_REL32, TRAMP, "targets the patched bytes");
    /* A loop to the entry itself is a real (recursive) call: accepted. */
    static const uint8_t to_entry[] = {
        0x55, 0x48, 0x89, 0xe5, 0x48, 0xff, 0xcf,
        0x75, 0xf7,                                 /* jne fn+0              */
        0x5d, 0xc3,
    };
    rs_x86_reloc_t r;
    assert_int_equal(rs_x86_relocate(to_entry, FN, sizeof to_entry, RS_X86_PATCH_REL32,
                                     TRAMP, &r), 0);
}

static void test_refuses_undecodable(void **state)
{
    static const uint8_t fn[] = { 0x55, 0x48, 0x89, 0xe5, 0x5d, 0x0f, 0x0b, 0x06, 0xc3 };
    /* 0x06 (push es) is invalid in 64-bit mode. */
    assert_refused(fn, sizeof fn, RS_X86_PATCH_REL32, TRAMP, "undecodable");
}

static void test_encode_jump(void **state)
{
    uint8_t b[14];
    assert_int_equal(rs_x86_encode_jump(b, RS_X86_PATCH_REL32, FN, FN + 0x105), 0);
    assert_int_equal(b[0], 0xe9);
    assert_int_equal(i32_at(b + 1), 0x100);
    assert_int_equal(rs_x86_encode_jump(b, RS_X86_PATCH_REL32, FN, FN + (4ull << 30)), -1);
    assert_int_equal(rs_x86_encode_jump(b, 7, FN, FN), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rip_relative_mov_lea),
        cmocka_unit_test(test_rel32_jcc_relocated),
        cmocka_unit_test(test_endbr64_kept),
        cmocka_unit_test(test_far_trampoline_uses_absolute_jump_back),
        cmocka_unit_test(test_rel8_jcc_widened),
        cmocka_unit_test(test_rel8_jmp_and_refusals),
        cmocka_unit_test(test_refuses_short_function),
        cmocka_unit_test(test_refuses_ret_before_patch),
        cmocka_unit_test(test_refuses_jmp_before_patch_and_call),
        cmocka_unit_test(test_call_as_last_instruction),
        cmocka_unit_test(test_refuses_displacement_out_of_range),
        cmocka_unit_test(test_refuses_branch_back_into_patch),
        cmocka_unit_test(test_refuses_undecodable),
        cmocka_unit_test(test_encode_jump),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
