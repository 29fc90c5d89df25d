/*
 * test_blockreg.c - unit tests of lib/model/blockreg.c: the 16-byte record
 * in front of each block and the registry of tracked blocks.
 *
 * Covered: add/check/remove round trips (plain and aligned blocks, the
 * fields handed back, a second remove), untracked records, every
 * single-byte damage of an untracked and of a tracked record (which bytes
 * the record can tell are damaged, and that damage never removes a block),
 * foreach skipping overwritten records, slot reuse in LIFO order and the
 * byte accounting, a differential test against a plain array under random
 * adds and removes over three logs, the limits of the record's fields,
 * allocation failure, log acquire/release/reuse, a real fork with
 * lock_all/unlock_all/forked, lock_all holding off an add, a remove and
 * an add through their slow paths (log locked; errno kept), count and bytes
 * read while a thread adds, and four threads adding and removing with
 * cross-thread frees and a concurrent reader.
 *
 * Every block lives in a buffer with room for its record: 2^shift bytes
 * into a buffer aligned to 2^shift (at least 16).  The record is decoded
 * here from the layout documented at the top of blockreg.c (w0: size 0..45,
 * shift 46..51, log low bits 52..63; w1: slot 0..31, stack 32..59, log high
 * bits 60..63) to observe slots and to damage chosen fields.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_support.h"

#include "blockreg.h"

#define FIRST RS_BLOCKREG_FIRST_SLOTS   /* a log's first slot array */
#include "rs_mem.h"

/* ---- helpers ------------------------------------------------------------ */

#define SIZE_MAX46  ((1ull << RS_BLOCK_SIZE_BITS) - 1)
#define STACK_MAX28 ((1u << RS_BLOCK_STACK_BITS) - 1)

/* A block 2^shift bytes into a fresh zeroed buffer aligned to 2^shift
 * (shift >= 4): its record fits right before it.  A zeroed header reads
 * as shift 0, i.e. an invalid record. */
static uint64_t block_new(unsigned shift, size_t size)
{
    size_t align = (size_t)1 << shift;
    size_t n = (align + size + align - 1) & ~(align - 1);
    char *p = aligned_alloc(align, n);
    assert_non_null(p);
    memset(p, 0, n);
    return (uint64_t)(uintptr_t)(p + align);
}

static void block_free(uint64_t addr, unsigned shift)
{
    free((char *)(uintptr_t)addr - ((size_t)1 << shift));
}

typedef struct rec {
    uint64_t w0, w1;
} rec_t;

static rec_t rec_read(uint64_t addr)
{
    rec_t r;
    memcpy(&r, (const char *)(uintptr_t)addr - RS_BLOCK_HEADER, sizeof r);
    return r;
}

static void rec_write(uint64_t addr, rec_t r)
{
    memcpy((char *)(uintptr_t)addr - RS_BLOCK_HEADER, &r, sizeof r);
}

static uint64_t rec_size(rec_t r) { return r.w0 & SIZE_MAX46; }
static unsigned rec_shift(rec_t r) { return (unsigned)(r.w0 >> 46) & 63; }
static uint32_t rec_slot(rec_t r) { return (uint32_t)r.w1; }
static uint32_t rec_stack(rec_t r) { return (uint32_t)(r.w1 >> 32) & STACK_MAX28; }
static uint32_t rec_log(rec_t r)
{
    return (uint32_t)(r.w0 >> 52) | (uint32_t)(r.w1 >> 60) << 12;
}

static uint32_t slot_of(uint64_t addr) { return rec_slot(rec_read(addr)); }

static const rs_block_t SENTINEL = {0xdead, 0xbeef, 0x5a5a, 0xa5a5};

/* remove/check of addr must say TRACKED with exactly these fields. */
static void expect_tracked(rs_blockreg_t *r, uint64_t addr, int remove, uint64_t size,
                           uint32_t stack, uint32_t tid, uint64_t real)
{
    rs_block_t out = SENTINEL, want = {addr, size, stack, tid};
    uint64_t got_real = 1, got_size = 1;
    rs_block_state_t st =
        remove ? rs_blockreg_remove(r, addr, &out, &got_real, &got_size)
               : rs_blockreg_check(r, addr, (const char *)(uintptr_t)addr - RS_BLOCK_HEADER,
                                   &out, &got_real, &got_size);
    assert_int_equal(st, RS_BLOCK_TRACKED);
    assert_memory_equal(&out, &want, sizeof out);
    assert_int_equal(got_real, real);
    assert_int_equal(got_size, size);
}

/* remove of addr must say INVALID, guess addr - 16, size 0, leave *out. */
static void expect_remove_invalid(rs_blockreg_t *r, uint64_t addr)
{
    rs_block_t out = SENTINEL;
    uint64_t real = 1, size = 1;
    assert_int_equal(rs_blockreg_remove(r, addr, &out, &real, &size), RS_BLOCK_INVALID);
    assert_int_equal(real, addr - RS_BLOCK_HEADER);
    assert_int_equal(size, 0);
    assert_memory_equal(&out, &SENTINEL, sizeof out);
}

/* remove of addr must say UNTRACKED with this real allocation and size,
 * leaving *out. */
static void expect_remove_untracked(rs_blockreg_t *r, uint64_t addr, uint64_t real,
                                    uint64_t size)
{
    rs_block_t out = SENTINEL;
    uint64_t got_real = 1, got_size = 1;
    assert_int_equal(rs_blockreg_remove(r, addr, &out, &got_real, &got_size),
                     RS_BLOCK_UNTRACKED);
    assert_int_equal(got_real, real);
    assert_int_equal(got_size, size);
    assert_memory_equal(&out, &SENTINEL, sizeof out);
}

typedef struct collect {
    rs_block_t *b;
    size_t n, cap;
} collect_t;

static void collect_one(const rs_block_t *b, void *arg)
{
    collect_t *c = arg;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->b = realloc(c->b, c->cap * sizeof *c->b);
        assert_non_null(c->b);
    }
    c->b[c->n++] = *b;
}

static int by_addr(const void *a, const void *b)
{
    uint64_t x = ((const rs_block_t *)a)->addr, y = ((const rs_block_t *)b)->addr;
    return (x > y) - (x < y);
}

/* The blocks foreach visits, sorted by address (caller frees .b). */
static collect_t visit_sorted(rs_blockreg_t *r)
{
    collect_t c = {0};
    rs_blockreg_foreach(r, collect_one, &c);
    if (c.n)
        qsort(c.b, c.n, sizeof *c.b, by_addr);
    return c;
}

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void) { return rs_test_xorshift(&rng_state); }

/* ---- round trips -------------------------------------------------------- */

static void test_round_trip(void **state)
{
    rs_blockreg_t *r = rs_blockreg_create();
    assert_non_null(r);
    rs_blocklog_t *log = rs_blockreg_acquire(r, 4242);
    assert_non_null(log);
    uint64_t bytes0 = rs_blockreg_bytes(r);
    assert_int_equal(rs_blockreg_count(r), 0);

    /* Plain block: the first add maps the first slot array. */
    uint64_t a = block_new(RS_BLOCK_PLAIN_SHIFT, 24);
    assert_int_equal(rs_blockreg_add(log, a, 24, 7, RS_BLOCK_PLAIN_SHIFT), 0);
    assert_int_equal(rs_blockreg_count(r), 1);
    assert_int_equal(rs_blockreg_bytes(r), bytes0 + FIRST * sizeof(uint64_t) + RS_BLOCK_HEADER);
    expect_tracked(r, a, 0, 24, 7, 4242, a - 16);
    assert_int_equal(rs_blockreg_count(r), 1);          /* check keeps it */

    /* check with a copy of the header, and with NULL outputs. */
    rec_t copy = rec_read(a);
    assert_int_equal(rs_blockreg_check(r, a, &copy, NULL, NULL, NULL), RS_BLOCK_TRACKED);
    /* Not a block address: misaligned, or a header of zeroes. */
    assert_int_equal(rs_blockreg_check(r, a + 8, &copy, NULL, NULL, NULL), RS_BLOCK_INVALID);
    rec_t zero = {0, 0};
    assert_int_equal(rs_blockreg_check(r, a, &zero, NULL, NULL, NULL), RS_BLOCK_INVALID);

    /* Aligned block, 64 bytes into its buffer. */
    uint64_t b = block_new(6, 100);
    assert_int_equal(rs_blockreg_add(log, b, 100, 9, 6), 0);
    assert_int_equal(rs_blockreg_count(r), 2);
    expect_tracked(r, b, 0, 100, 9, 4242, b - 64);
    expect_tracked(r, b, 1, 100, 9, 4242, b - 64);
    assert_int_equal(rs_blockreg_count(r), 1);

    /* Remove clears w1; a second remove (double free) finds nothing. */
    expect_tracked(r, a, 1, 24, 7, 4242, a - 16);
    assert_int_equal(rs_blockreg_count(r), 0);
    assert_int_equal(rec_read(a).w1, 0);
    expect_remove_invalid(r, a);
    expect_remove_invalid(r, b);
    assert_int_equal(rs_blockreg_count(r), 0);
    uint64_t real = 1, size = 1;
    rs_block_t out = SENTINEL;
    assert_int_equal(rs_blockreg_check(r, a, (const char *)(uintptr_t)a - 16, &out, &real,
                                       &size),
                     RS_BLOCK_INVALID);
    assert_int_equal(real, 1);                   /* untouched for INVALID */
    assert_int_equal(size, 1);
    assert_memory_equal(&out, &SENTINEL, sizeof out);
    /* Slots freed, array kept. */
    assert_int_equal(rs_blockreg_bytes(r), bytes0 + FIRST * sizeof(uint64_t));

    /* The same address registered again is a new live block. */
    assert_int_equal(rs_blockreg_add(log, a, 32, 8, RS_BLOCK_PLAIN_SHIFT), 0);
    expect_tracked(r, a, 1, 32, 8, 4242, a - 16);

    block_free(a, RS_BLOCK_PLAIN_SHIFT);
    block_free(b, 6);
    rs_blockreg_destroy(r);
    rs_blockreg_destroy(NULL);
}

/* ---- untracked records --------------------------------------------------- */

static void test_untracked(void **state)
{
    rs_blockreg_t *r = rs_blockreg_create();
    assert_non_null(r);
    assert_non_null(rs_blockreg_acquire(r, 1));

    uint64_t a = block_new(RS_BLOCK_PLAIN_SHIFT, 40);
    rs_blockreg_add_untracked(a, 40, RS_BLOCK_PLAIN_SHIFT);
    assert_int_equal(rec_log(rec_read(a)), 0xffff);
    assert_int_equal(rs_blockreg_count(r), 0);
    uint64_t real = 1, size = 1;
    rs_block_t out = SENTINEL;
    assert_int_equal(rs_blockreg_check(r, a, (const char *)(uintptr_t)a - 16, &out, &real,
                                       &size),
                     RS_BLOCK_UNTRACKED);
    assert_int_equal(real, a - 16);
    assert_int_equal(size, 40);
    assert_memory_equal(&out, &SENTINEL, sizeof out);
    /* Without a registry (before start-up) it reads the same. */
    assert_int_equal(rs_blockreg_check(NULL, a, (const char *)(uintptr_t)a - 16, NULL, NULL,
                                       NULL),
                     RS_BLOCK_UNTRACKED);
    expect_remove_untracked(r, a, a - 16, 40);
    expect_remove_invalid(r, a);                 /* cleared */

    /* Aligned, removed without a registry. */
    uint64_t b = block_new(7, 1000);
    rs_blockreg_add_untracked(b, 1000, 7);
    expect_remove_untracked(NULL, b, b - 128, 1000);
    expect_remove_invalid(NULL, b);

    /* The check word depends on the address: the record copied in front
     * of another block is no record. */
    uint64_t c = block_new(RS_BLOCK_PLAIN_SHIFT, 40), d = block_new(RS_BLOCK_PLAIN_SHIFT, 40);
    rs_blockreg_add_untracked(c, 40, RS_BLOCK_PLAIN_SHIFT);
    rec_write(d, rec_read(c));
    expect_remove_invalid(r, d);
    expect_remove_untracked(r, c, c - 16, 40);

    /* A tracked block's record is never taken for an untracked one. */
    assert_int_equal(rs_blockreg_count(r), 0);
    block_free(a, RS_BLOCK_PLAIN_SHIFT);
    block_free(b, 7);
    block_free(c, RS_BLOCK_PLAIN_SHIFT);
    block_free(d, RS_BLOCK_PLAIN_SHIFT);
    rs_blockreg_destroy(r);
}

/* Every single-byte damage (each of the 16 bytes xor each of 1..255) of an
 * untracked record: the check word covers w0 (size, shift, log bits) and
 * w1's low 32 bits, the log bits of w1 make it a (nonexistent) tracked
 * record; only the stack bits (w1 bits 32..59: bytes 12..14 and the low
 * nibble of byte 15), unused and zero in an untracked record, are not
 * covered.  Damage there changes neither real nor size, so it is harmless. */
static void test_untracked_damage(void **state)
{
    rs_blockreg_t *r = rs_blockreg_create();
    rs_blocklog_t *log = rs_blockreg_acquire(r, 1);
    uint64_t keep = block_new(RS_BLOCK_PLAIN_SHIFT, 8);
    assert_int_equal(rs_blockreg_add(log, keep, 8, 1, RS_BLOCK_PLAIN_SHIFT), 0);
    static const int untracked_per_byte[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                               0, 0, 0, 0, 255, 255, 255, 15};
    const unsigned shifts[] = {RS_BLOCK_PLAIN_SHIFT, 9};
    for (int k = 0; k < 2; k++) {
        unsigned shift = shifts[k];
        uint64_t a = block_new(shift, 300);
        rs_blockreg_add_untracked(a, 300, shift);
        rec_t orig = rec_read(a);
        for (int byte = 0; byte < 16; byte++) {
            int untracked = 0;
            for (unsigned x = 1; x < 256; x++) {
                rec_t d = orig;
                ((unsigned char *)&d)[byte] ^= (unsigned char)x;
                uint64_t real = 1, size = 1;
                rs_block_state_t st = rs_blockreg_check(r, a, &d, NULL, &real, &size);
                assert_int_not_equal(st, RS_BLOCK_TRACKED);
                if (st == RS_BLOCK_UNTRACKED) {
                    untracked++;
                    assert_int_equal(real, a - ((uint64_t)1 << shift));
                    assert_int_equal(size, 300);
                }
            }
            assert_int_equal(untracked, untracked_per_byte[byte]);
        }
        /* The same in memory, through remove: damaged, nothing happens. */
        for (int byte = 0; byte < 12; byte++) {
            rec_t d = orig;
            ((unsigned char *)&d)[byte] ^= 0x10;
            rec_write(a, d);
            expect_remove_invalid(r, a);
        }
        rec_write(a, orig);
        expect_remove_untracked(r, a, a - ((uint64_t)1 << shift), 300);
        block_free(a, shift);
    }
    assert_int_equal(rs_blockreg_count(r), 1);
    expect_tracked(r, keep, 1, 8, 1, 1, keep - 16);
    block_free(keep, RS_BLOCK_PLAIN_SHIFT);
    rs_blockreg_destroy(r);
}

/* ---- damaged tracked records ---------------------------------------------- */

/* Every single-byte damage of a tracked record, read through check on a
 * copy: a record is valid exactly when its shift is in 4..40 and its log
 * and slot still name the slot holding the block.  Damage to the size,
 * the stack id, or the shift (to another valid one) cannot be told: the
 * damaged values are handed back. */
static void test_tracked_damage(void **state)
{
    rs_blockreg_t *r = rs_blockreg_create();
    rs_blocklog_t *l0 = rs_blockreg_acquire(r, 100), *l1 = rs_blockreg_acquire(r, 101);
    assert_ptr_not_equal(l0, l1);
    /* Both logs hold blocks, so a log or slot number damaged into an
     * existing one meets a slot holding another block: other[0..7] in l0
     * (slots 0..7), other[8..11] in l1 (slots 0..3), a in l1 slot 4. */
    enum { OTHERS = 12 };
    uint64_t other[OTHERS], a = block_new(RS_BLOCK_PLAIN_SHIFT, 77);
    for (int i = 0; i < OTHERS; i++) {
        other[i] = block_new(RS_BLOCK_PLAIN_SHIFT, 16);
        assert_int_equal(rs_blockreg_add(i < 8 ? l0 : l1, other[i], 16, 5, 4), 0);
    }
    assert_int_equal(rs_blockreg_add(l1, a, 77, 12345, RS_BLOCK_PLAIN_SHIFT), 0);
    rec_t orig = rec_read(a);
    assert_int_equal(rec_log(orig), 1);
    assert_int_equal(rec_slot(orig), 4);
    assert_int_equal(rec_shift(orig), 4);

    /* For shift 4 (0b000100), byte 6 holds shift bits 2..5 and log bits
     * 0..3: valid only with the log nibble intact and the shift nibble
     * xor 2,3,4,5,6,7,8,9,11 (shifts 12,8,20,16,28,24,36,32,40). */
    static const int tracked_per_byte[16] = {255, 255, 255, 255, 255, 255, 9, 0,
                                             0, 0, 0, 0, 255, 255, 255, 15};
    for (int byte = 0; byte < 16; byte++) {
        int tracked = 0;
        for (unsigned x = 1; x < 256; x++) {
            rec_t d = orig;
            ((unsigned char *)&d)[byte] ^= (unsigned char)x;
            unsigned sh = rec_shift(d);
            int valid = sh >= 4 && sh <= 40 && rec_log(d) == rec_log(orig) &&
                        rec_slot(d) == rec_slot(orig);
            rs_block_t out = SENTINEL, want = {a, rec_size(d), rec_stack(d), 101};
            uint64_t real = 1, size = 1;
            rs_block_state_t st = rs_blockreg_check(r, a, &d, &out, &real, &size);
            assert_int_equal(st, valid ? RS_BLOCK_TRACKED : RS_BLOCK_INVALID);
            if (valid) {
                tracked++;
                assert_memory_equal(&out, &want, sizeof out);
                assert_int_equal(real, a - ((uint64_t)1 << sh));
                assert_int_equal(size, rec_size(d));
            } else {
                assert_memory_equal(&out, &SENTINEL, sizeof out);
                assert_int_equal(real, 1);
            }
        }
        assert_int_equal(tracked, tracked_per_byte[byte]);
    }

    /* Shifts named explicitly: 0..3 and 41..63 are no record. */
    const unsigned bad[] = {0, 1, 3, 41, 47, 63}, good[] = {4, 5, 17, 40};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rec_t d = orig;
        d.w0 = (d.w0 & ~(63ull << 46)) | (uint64_t)bad[i] << 46;
        assert_int_equal(rs_blockreg_check(r, a, &d, NULL, NULL, NULL), RS_BLOCK_INVALID);
    }
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        rec_t d = orig;
        d.w0 = (d.w0 & ~(63ull << 46)) | (uint64_t)good[i] << 46;
        uint64_t real = 0;
        assert_int_equal(rs_blockreg_check(r, a, &d, NULL, &real, NULL), RS_BLOCK_TRACKED);
        assert_int_equal(real, a - ((uint64_t)1 << good[i]));
    }

    /* In memory, through remove: a damaged slot, log or shift is INVALID and
     * removes nothing; the repaired record removes normally. */
    const uint64_t count = OTHERS + 1;
    rec_t damage[] = {
        {orig.w0, orig.w1 ^ 4},                        /* slot 4 -> 0 (other[8]) */
        {orig.w0, orig.w1 ^ 1},                        /* slot 5, past the end   */
        {orig.w0, orig.w1 ^ 0x100},                    /* slot 260               */
        {orig.w0 ^ (1ull << 52), orig.w1},             /* log 1 -> 0 (other[4])  */
        {orig.w0 ^ (1ull << 55), orig.w1},             /* log 1 -> 9, no such log */
        {orig.w0, orig.w1 ^ (1ull << 60)},             /* log 1 -> 4097           */
        {orig.w0 ^ (4ull << 46), orig.w1},             /* shift 4 -> 0            */
        {orig.w0, 0},                                  /* what a remove leaves    */
    };
    for (size_t i = 0; i < sizeof damage / sizeof damage[0]; i++) {
        rec_write(a, damage[i]);
        expect_remove_invalid(r, a);
        assert_int_equal(rs_blockreg_count(r), count);
    }
    rec_write(a, orig);
    /* Every other block is intact, including the one whose slot was named. */
    for (int i = 0; i < OTHERS; i++)
        expect_tracked(r, other[i], 0, 16, 5, i < 8 ? 100 : 101, other[i] - 16);
    expect_tracked(r, a, 1, 77, 12345, 101, a - 16);
    assert_int_equal(rs_blockreg_count(r), count - 1);
    for (int i = 0; i < OTHERS; i++) {
        expect_tracked(r, other[i], 1, 16, 5, i < 8 ? 100 : 101, other[i] - 16);
        block_free(other[i], RS_BLOCK_PLAIN_SHIFT);
    }
    assert_int_equal(rs_blockreg_count(r), 0);
    block_free(a, RS_BLOCK_PLAIN_SHIFT);
    rs_blockreg_destroy(r);
}

/* foreach visits a block only while its record names its slot and log; the
 * block still counts (count is the registry's, not the records'). */
static void test_foreach_skips_damaged(void **state)
{
    rs_blockreg_t *r = rs_blockreg_create();
    rs_blocklog_t *log = rs_blockreg_acquire(r, 7);
    collect_t c = visit_sorted(r);
    assert_int_equal(c.n, 0);
    uint64_t b[4];
    for (int i = 0; i < 4; i++) {
        b[i] = block_new(RS_BLOCK_PLAIN_SHIFT, 10 + i);
        assert_int_equal(rs_blockreg_add(log, b[i], 10 + i, 20 + i, 4), 0);
    }
    rec_t o1 = rec_read(b[1]), o2 = rec_read(b[2]), o3 = rec_read(b[3]);
    rec_write(b[1], (rec_t){o1.w0, o1.w1 ^ 3});             /* slot 1 -> 2 */
    rec_write(b[2], (rec_t){o2.w0 ^ (1ull << 60), o2.w1});  /* log 0 -> 256 */
    rec_write(b[3], (rec_t){o3.w0, o3.w1 ^ (2ull << 60)});  /* log 0 -> 8192 */
    assert_int_equal(rs_blockreg_count(r), 4);
    c = visit_sorted(r);
    assert_int_equal(c.n, 1);
    rs_block_t want = {b[0], 10, 20, 7};
    assert_memory_equal(&c.b[0], &want, sizeof want);
    free(c.b);

    /* Repaired, all four are visited again. */
    rec_write(b[1], o1);
    rec_write(b[2], o2);
    rec_write(b[3], o3);
    c = visit_sorted(r);
    assert_int_equal(c.n, 4);
    rs_block_t all[4];
    for (int i = 0; i < 4; i++)
        all[i] = (rs_block_t){b[i], 10 + i, 20 + i, 7};
    qsort(all, 4, sizeof all[0], by_addr);
    assert_memory_equal(c.b, all, sizeof all);
    free(c.b);
    for (int i = 0; i < 4; i++)
        block_free(b[i], RS_BLOCK_PLAIN_SHIFT);
    rs_blockreg_destroy(r);
}

/* ---- slots ---------------------------------------------------------------- */

/* A free takes its slot back; the next adds take the freed slots last
 * freed first, then append.  bytes: 16 per live block, 8 per slot of
 * capacity (FIRST, doubling). */
static void test_slot_reuse(void **state)
{
    rs_blockreg_t *r = rs_blockreg_create();
    rs_blocklog_t *log = rs_blockreg_acquire(r, 3), *other = rs_blockreg_acquire(r, 4);
    uint64_t bytes0 = rs_blockreg_bytes(r);
    enum { N = 2 * FIRST + 200 };
    static uint64_t b[N];
    for (int i = 0; i < 10; i++) {
        b[i] = block_new(RS_BLOCK_PLAIN_SHIFT, 16);
        assert_int_equal(rs_blockreg_add(log, b[i], 16, 1, 4), 0);
        assert_int_equal(slot_of(b[i]), i);
        assert_int_equal(rec_log(rec_read(b[i])), 0);
    }
    uint64_t bytes10 = rs_blockreg_bytes(r);
    assert_int_equal(bytes10, bytes0 + FIRST * 8 + 10 * 16);

    uint64_t x[4];
    for (int i = 0; i < 4; i++)
        x[i] = block_new(RS_BLOCK_PLAIN_SHIFT, 16);
    /* A block of log freed: another log does not take its slot. */
    expect_tracked(r, b[3], 1, 16, 1, 3, b[3] - 16);
    assert_int_equal(rs_blockreg_add(other, x[3], 16, 1, 4), 0);
    assert_int_equal(slot_of(x[3]), 0);
    assert_int_equal(rec_log(rec_read(x[3])), 1);
    expect_tracked(r, x[3], 1, 16, 1, 4, x[3] - 16);

    expect_tracked(r, b[7], 1, 16, 1, 3, b[7] - 16);
    expect_tracked(r, b[5], 1, 16, 1, 3, b[5] - 16);
    assert_int_equal(rs_blockreg_count(r), 7);
    uint64_t bytes7 = rs_blockreg_bytes(r);
    /* other's first slot array stays: + FIRST * 8 over bytes10 - 3 blocks. */
    assert_int_equal(bytes7, bytes10 + FIRST * 8 - 3 * 16);
    const uint32_t lifo[3] = {5, 7, 3};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rs_blockreg_add(log, x[i], 16, 2, 4), 0);
        assert_int_equal(slot_of(x[i]), lifo[i]);
        assert_int_equal(rs_blockreg_bytes(r), bytes7 + (uint64_t)(i + 1) * 16);
    }
    assert_int_equal(rs_blockreg_count(r), 10);
    uint64_t y = block_new(RS_BLOCK_PLAIN_SHIFT, 16);
    assert_int_equal(rs_blockreg_add(log, y, 16, 2, 4), 0);
    assert_int_equal(slot_of(y), 10);                     /* appended */

    /* Past FIRST slots the array doubles: FIRST -> 2 FIRST -> 4 FIRST. */
    for (int i = 10; i < N; i++) {
        b[i] = block_new(RS_BLOCK_PLAIN_SHIFT, 16);
        uint64_t before = rs_blockreg_bytes(r);
        assert_int_equal(rs_blockreg_add(log, b[i], 16, (uint32_t)i, 4), 0);
        uint32_t slot = (uint32_t)i + 1;                  /* after y */
        assert_int_equal(slot_of(b[i]), slot);
        uint64_t grow = slot == FIRST ? FIRST * 8 : slot == 2 * FIRST ? 2 * FIRST * 8 : 0;
        assert_int_equal(rs_blockreg_bytes(r), before + 16 + grow);
    }
    assert_int_equal(rs_blockreg_count(r), N + 1);
    /* Free list across the grown array: free slots 150, 2, 100 -> reused
     * 100, 2, 150. */
    expect_tracked(r, b[149], 1, 16, 149, 3, b[149] - 16);    /* slot 150 */
    expect_tracked(r, b[2], 1, 16, 1, 3, b[2] - 16);          /* slot 2   */
    expect_tracked(r, b[99], 1, 16, 99, 3, b[99] - 16);       /* slot 100 */
    const uint32_t again[3] = {100, 2, 150};
    const int which[3] = {99, 2, 149};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rs_blockreg_add(log, b[which[i]], 16, 9, 4), 0);
        assert_int_equal(slot_of(b[which[i]]), again[i]);
    }
    assert_int_equal(rs_blockreg_count(r), N + 1);

    collect_t c = visit_sorted(r);
    assert_int_equal(c.n, N + 1);
    free(c.b);
    for (int i = 0; i < N; i++)
        block_free(b[i], RS_BLOCK_PLAIN_SHIFT);
    for (int i = 0; i < 4; i++)
        block_free(x[i], RS_BLOCK_PLAIN_SHIFT);
    block_free(y, RS_BLOCK_PLAIN_SHIFT);
    rs_blockreg_destroy(r);
}

/* ---- differential test ------------------------------------------------------ */

/* Random adds and removes over three logs, checked against a plain array
 * indexed by position: remove hands back exactly the model's record,
 * check agrees, and foreach visits exactly the live set. */
#define MODEL_POS 3000
#define MODEL_LOGS 3
static void compare_with_model(rs_blockreg_t *r, const rs_block_t *model, uint64_t live)
{
    assert_int_equal(rs_blockreg_count(r), live);
    collect_t c = visit_sorted(r);
    assert_int_equal(c.n, live);
    size_t j = 0;
    for (uint32_t k = 0; k < MODEL_POS; k++) {
        if (!model[k].addr)
            continue;
        assert_true(j < c.n);
        assert_memory_equal(&c.b[j], &model[k], sizeof model[k]);
        j++;
    }
    assert_int_equal(j, c.n);
    free(c.b);
}

static void test_model(void **state)
{
    rs_blockreg_t *r = rs_blockreg_create();
    rs_blocklog_t *logs[MODEL_LOGS];
    for (uint32_t i = 0; i < MODEL_LOGS; i++)
        logs[i] = rs_blockreg_acquire(r, 500 + i);
    /* Positions 32 bytes apart: addresses increase with the index. */
    char *arena = aligned_alloc(16, (size_t)MODEL_POS * 32);
    assert_non_null(arena);
    memset(arena, 0, (size_t)MODEL_POS * 32);
    static rs_block_t model[MODEL_POS];
    memset(model, 0, sizeof model);
    uint64_t live = 0, bytes0 = rs_blockreg_bytes(r), max_live = 0;

    for (int op = 0; op < 300000; op++) {
        uint32_t k = (uint32_t)(rnd() % MODEL_POS);
        uint64_t addr = (uint64_t)(uintptr_t)arena + (uint64_t)k * 32 + 16;
        /* Adds win 2:1 for the first half (the logs grow well past
         * FIRST slots), 1:2 after (they drain). */
        int add_bias = op < 150000 ? (rnd() % 3 != 0) : (rnd() % 3 == 0);
        if (!model[k].addr && add_bias) {
            uint32_t l = (uint32_t)(rnd() % MODEL_LOGS);
            uint64_t size = rnd() % 5000;
            uint32_t stack = (uint32_t)(rnd() % 100000);
            switch (rnd() % 16) {
            case 0: size = SIZE_MAX46 - rnd() % 1000; break;
            case 1: stack = STACK_MAX28 - (uint32_t)(rnd() % 2); break;
            case 2: stack = (STACK_MAX28 + 1) + (uint32_t)(rnd() % 1000); break;
            default: break;
            }
            assert_int_equal(rs_blockreg_add(logs[l], addr, size, stack, 4), 0);
            model[k] = (rs_block_t){addr, size, stack > STACK_MAX28 ? 0 : stack, 500 + l};
            live++;
            if (live > max_live)
                max_live = live;
        } else if (model[k].addr && !add_bias) {
            const rs_block_t *m = &model[k];
            if (rnd() % 4 == 0)
                expect_tracked(r, addr, 0, m->size, m->stack_id, m->tid_seq, addr - 16);
            expect_tracked(r, addr, 1, m->size, m->stack_id, m->tid_seq, addr - 16);
            model[k].addr = 0;
            live--;
        } else if (!model[k].addr) {
            /* Never added (zeroes) or removed (w1 cleared): no record. */
            assert_int_equal(rs_blockreg_check(r, addr, (char *)(uintptr_t)addr - 16, NULL,
                                               NULL, NULL),
                             RS_BLOCK_INVALID);
        }
        if (op % 20000 == 0)
            compare_with_model(r, model, live);
        /* Every byte is accounted: 16 per live block plus slot arrays of
         * FIRST * 2^k slots of 8 bytes. */
        if (op % 997 == 0) {
            uint64_t b = rs_blockreg_bytes(r);
            assert_true(b >= bytes0 + live * 16);
            assert_int_equal((b - bytes0 - live * 16) % (FIRST * 8), 0);
        }
    }
    assert_true(max_live > MODEL_LOGS * FIRST);  /* so some log grew */
    compare_with_model(r, model, live);
    /* Remove everything, in random order of positions. */
    for (uint32_t k = 0; k < MODEL_POS; k++)
        if (model[k].addr) {
            const rs_block_t *m = &model[k];
            expect_tracked(r, m->addr, 1, m->size, m->stack_id, m->tid_seq, m->addr - 16);
            model[k].addr = 0;
        }
    compare_with_model(r, model, 0);
    free(arena);
    rs_blockreg_destroy(r);
}

/* ---- limits --------------------------------------------------------------- */

static void test_limits(void **state)
{
    rs_blockreg_t *r = rs_blockreg_create();
    rs_blocklog_t *log = rs_blockreg_acquire(r, UINT32_MAX);
    uint64_t a = block_new(RS_BLOCK_PLAIN_SHIFT, 16);

    /* Size: every bit of 46, and 0. */
    const uint64_t sizes[] = {SIZE_MAX46, SIZE_MAX46 - 1, 1ull << 45, 1ull << 32, 0};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        assert_int_equal(rs_blockreg_add(log, a, sizes[i], 3, 4), 0);
        expect_tracked(r, a, 1, sizes[i], 3, UINT32_MAX, a - 16);
        rs_blockreg_add_untracked(a, sizes[i], 4);
        expect_remove_untracked(r, a, a - 16, sizes[i]);
    }
    /* Stack ids below 2^28 kept, larger ones recorded as 0. */
    const uint32_t stacks[][2] = {{STACK_MAX28, STACK_MAX28}, {1u << 27, 1u << 27},
                                  {1u << 28, 0}, {(1u << 28) + 5, 0}, {UINT32_MAX, 0},
                                  {0, 0}};
    for (size_t i = 0; i < sizeof stacks / sizeof stacks[0]; i++) {
        assert_int_equal(rs_blockreg_add(log, a, 8, stacks[i][0], 4), 0);
        expect_tracked(r, a, 0, 8, stacks[i][1], UINT32_MAX, a - 16);
        expect_tracked(r, a, 1, 8, stacks[i][1], UINT32_MAX, a - 16);
    }
    /* Shifts 4..40: the real allocation is 2^shift before the block.  For
     * shifts up to 12 the block really is 2^shift into its buffer; beyond,
     * only the record's 16 bytes exist (neither add nor remove touches the
     * real allocation, they only compute its address). */
    for (unsigned shift = RS_BLOCK_PLAIN_SHIFT; shift <= 40; shift++) {
        unsigned room = shift <= 12 ? shift : RS_BLOCK_PLAIN_SHIFT;
        uint64_t b = block_new(room, 64);
        uint64_t real = b - ((uint64_t)1 << shift);
        assert_int_equal(rs_blockreg_add(log, b, 64, shift, (rs_block_shift_t)shift), 0);
        assert_int_equal(rec_shift(rec_read(b)), shift);
        expect_tracked(r, b, 0, 64, shift, UINT32_MAX, real);
        expect_tracked(r, b, 1, 64, shift, UINT32_MAX, real);
        rs_blockreg_add_untracked(b, 64, (rs_block_shift_t)shift);
        expect_remove_untracked(r, b, real, 64);
        block_free(b, room);
    }
    /* An untracked record with a shift outside 4..40 is no record. */
    const unsigned bad[] = {0, 3, 41, 63};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rs_blockreg_add_untracked(a, 64, (rs_block_shift_t)bad[i]);
        expect_remove_invalid(r, a);
    }
    assert_int_equal(rs_blockreg_count(r), 0);
    block_free(a, RS_BLOCK_PLAIN_SHIFT);
    rs_blockreg_destroy(r);
}

/* ---- allocation failure --------------------------------------------------- */

static void test_out_of_memory(void **state)
{
    rs_mem_set_backend(&failing);
    allocs_left = 0;
    assert_null(rs_blockreg_create());
    allocs_left = 1;                         /* the registry, not its log table */
    assert_null(rs_blockreg_create());
    allocs_left = 2;
    rs_blockreg_t *r = rs_blockreg_create();
    assert_non_null(r);
    allocs_left = 0;
    assert_null(rs_blockreg_acquire(r, 1));
    allocs_left = 1;
    rs_blocklog_t *log = rs_blockreg_acquire(r, 1);
    assert_non_null(log);

    /* No slot array: the add fails and leaves an untracked record. */
    allocs_left = 0;
    uint64_t a = block_new(RS_BLOCK_PLAIN_SHIFT, 48);
    assert_int_equal(rs_blockreg_add(log, a, 48, 5, RS_BLOCK_PLAIN_SHIFT), -1);
    assert_int_equal(rec_log(rec_read(a)), 0xffff);
    assert_int_equal(rs_blockreg_count(r), 0);
    expect_remove_untracked(r, a, a - 16, 48);
    uint64_t al = block_new(8, 48);                        /* aligned too */
    assert_int_equal(rs_blockreg_add(log, al, 48, 5, 8), -1);
    expect_remove_untracked(r, al, al - 256, 48);

    /* Memory for the first FIRST slots only: the next add fails. */
    allocs_left = 1;
    enum { N = FIRST + 2 };
    uint64_t b[N];
    for (int i = 0; i < N; i++) {
        b[i] = block_new(RS_BLOCK_PLAIN_SHIFT, 16);
        assert_int_equal(rs_blockreg_add(log, b[i], 16, 1, 4), i < (int)FIRST ? 0 : -1);
    }
    assert_int_equal(rs_blockreg_count(r), FIRST);
    expect_remove_untracked(r, b[FIRST], b[FIRST] - 16, 16);
    /* A freed slot is taken again without memory. */
    expect_tracked(r, b[10], 1, 16, 1, 1, b[10] - 16);
    assert_int_equal(rs_blockreg_add(log, b[FIRST], 16, 2, 4), 0);
    assert_int_equal(slot_of(b[FIRST]), 10);
    assert_int_equal(rs_blockreg_add(log, b[10], 16, 2, 4), -1);
    expect_remove_untracked(r, b[10], b[10] - 16, 16);
    /* Logs after the first take lines of its page: no memory until the
     * page is full.  A released empty log is reused. */
    allocs_left = 0;
    rs_blocklog_t *l2 = rs_blockreg_acquire(r, 2);
    assert_non_null(l2);
    assert_ptr_equal((char *)l2, (char *)log + 64);
    rs_blockreg_release(r, l2);
    assert_ptr_equal(rs_blockreg_acquire(r, 3), l2);
    for (uint32_t id = 2; id < RS_BLOCKREG_LOGS_PER_PAGE; id++)
        assert_non_null(rs_blockreg_acquire(r, 100 + id));
    assert_null(rs_blockreg_acquire(r, 4));   /* a new page: none */
    allocs_left = 1;
    rs_blocklog_t *l65 = rs_blockreg_acquire(r, 5);
    assert_non_null(l65);
    assert_int_equal((uintptr_t)l65 % 4096, 0);

    /* Memory back: the array grows and everything is removable. */
    rs_mem_set_backend(NULL);
    assert_int_equal(rs_blockreg_add(log, b[10], 16, 3, 4), 0);
    assert_int_equal(rs_blockreg_add(log, b[FIRST + 1], 16, 3, 4), 0);
    assert_int_equal(rs_blockreg_count(r), FIRST + 2);
    for (int i = 0; i < N; i++) {
        rs_block_t out;
        uint64_t real, size;
        assert_int_equal(rs_blockreg_remove(r, b[i], &out, &real, &size), RS_BLOCK_TRACKED);
        assert_int_equal(real, b[i] - 16);
        block_free(b[i], RS_BLOCK_PLAIN_SHIFT);
    }
    assert_int_equal(rs_blockreg_count(r), 0);
    block_free(a, RS_BLOCK_PLAIN_SHIFT);
    block_free(al, 8);
    rs_blockreg_destroy(r);
}

/* ---- logs ------------------------------------------------------------------ */

typedef struct acquirer {
    rs_blockreg_t *r;
    uint32_t tid;
    rs_blocklog_t *log;
} acquirer_t;

static void *acquire_in_thread(void *arg)
{
    acquirer_t *a = arg;
    a->log = rs_blockreg_acquire(a->r, a->tid);
    return NULL;
}

static rs_blocklog_t *acquire_from_thread(rs_blockreg_t *r, uint32_t tid)
{
    acquirer_t a = {r, tid, NULL};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, acquire_in_thread, &a), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_non_null(a.log);
    return a.log;
}

static void test_logs(void **state)
{
    rs_blockreg_t *r = rs_blockreg_create();
    rs_blocklog_t *a = rs_blockreg_acquire(r, 111);
    rs_blocklog_t *b = acquire_from_thread(r, 222);
    assert_non_null(a);
    assert_ptr_not_equal(a, b);
    uint64_t x = block_new(4, 16), y = block_new(4, 16);
    assert_int_equal(rs_blockreg_add(a, x, 1, 1, 4), 0);
    assert_int_equal(rs_blockreg_add(b, y, 2, 2, 4), 0);
    expect_tracked(r, x, 0, 1, 1, 111, x - 16);
    expect_tracked(r, y, 0, 2, 2, 222, y - 16);

    /* a released empty: reused, with the new tid; released twice, it is
     * still taken once. */
    expect_tracked(r, x, 1, 1, 1, 111, x - 16);
    rs_blockreg_release(r, a);
    rs_blockreg_release(r, a);
    rs_blockreg_release(r, NULL);
    assert_ptr_equal(rs_blockreg_acquire(r, 333), a);
    assert_int_equal(rs_blockreg_add(a, x, 3, 3, 4), 0);
    expect_tracked(r, x, 0, 3, 3, 333, x - 16);
    rs_blocklog_t *c = rs_blockreg_acquire(r, 334);
    assert_ptr_not_equal(c, a);
    assert_ptr_not_equal(c, b);

    /* b released holding y: not reused while log numbers remain; its
     * block is still freed through it, with its old tid; once empty it is
     * reused. */
    rs_blockreg_release(r, b);
    rs_blocklog_t *d = rs_blockreg_acquire(r, 444);
    assert_ptr_not_equal(d, a);
    assert_ptr_not_equal(d, b);
    assert_ptr_not_equal(d, c);
    expect_tracked(r, y, 0, 2, 2, 222, y - 16);
    collect_t v = visit_sorted(r);
    assert_int_equal(v.n, 2);                   /* x (in a) and y (in b) */
    free(v.b);
    expect_tracked(r, y, 1, 2, 2, 222, y - 16);
    assert_ptr_equal(rs_blockreg_acquire(r, 555), b);
    assert_int_equal(rs_blockreg_add(b, y, 5, 5, 4), 0);
    expect_tracked(r, y, 1, 5, 5, 555, y - 16);
    expect_tracked(r, x, 1, 3, 3, 333, x - 16);

    /* forked(own): every other log is released; empty ones are reused,
     * lowest number first; own and non-empty ones are not. */
    assert_int_equal(rs_blockreg_add(c, y, 6, 6, 4), 0);     /* c holds y */
    rs_blockreg_forked(r, d);
    assert_ptr_equal(rs_blockreg_acquire(r, 600), a);
    assert_ptr_equal(rs_blockreg_acquire(r, 601), b);
    rs_blocklog_t *e = rs_blockreg_acquire(r, 602);
    assert_ptr_not_equal(e, c);
    assert_ptr_not_equal(e, d);
    expect_tracked(r, y, 1, 6, 6, 334, y - 16);
    assert_ptr_equal(rs_blockreg_acquire(r, 603), c);
    /* forked(NULL): every log released. */
    rs_blockreg_forked(r, NULL);
    assert_ptr_equal(rs_blockreg_acquire(r, 700), a);
    block_free(x, 4);
    block_free(y, 4);
    rs_blockreg_destroy(r);
}

/* ---- fork ------------------------------------------------------------------ */

/* A check in the fork child: exits with the line number on failure. */
#define CHILD_CHECK(cond)                                                                  \
    do {                                                                                   \
        if (!(cond))                                                                       \
            _exit(__LINE__ & 0x7f ? __LINE__ & 0x7f : 1);                                  \
    } while (0)

static void test_fork(void **state)
{
    rs_blockreg_t *r = rs_blockreg_create();
    rs_blocklog_t *own = rs_blockreg_acquire(r, 10);
    rs_blocklog_t *busy = acquire_from_thread(r, 20);      /* threads still running */
    rs_blocklog_t *idle = acquire_from_thread(r, 30);
    uint64_t x = block_new(4, 16), y = block_new(4, 16), z = block_new(4, 16);
    assert_int_equal(rs_blockreg_add(own, x, 1, 1, 4), 0);
    assert_int_equal(rs_blockreg_add(busy, y, 2, 2, 4), 0);
    assert_int_equal(rs_blockreg_add(idle, z, 3, 3, 4), 0);
    expect_tracked(r, z, 1, 3, 3, 30, z - 16);

    rs_blockreg_lock_all(r);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        rs_blockreg_unlock_all(r);
        rs_blockreg_forked(r, own);
        CHILD_CHECK(rs_blockreg_acquire(r, 40) == idle);
        rs_blocklog_t *fresh = rs_blockreg_acquire(r, 50);
        CHILD_CHECK(fresh != own && fresh != busy && fresh != idle);
        CHILD_CHECK(rs_blockreg_count(r) == 2);
        rs_block_t out;
        uint64_t real, size;
        CHILD_CHECK(rs_blockreg_remove(r, y, &out, &real, &size) == RS_BLOCK_TRACKED);
        CHILD_CHECK(out.tid_seq == 20 && real == y - 16 && size == 2);
        CHILD_CHECK(rs_blockreg_acquire(r, 60) == busy);     /* now empty */
        CHILD_CHECK(rs_blockreg_add(own, z, 4, 4, 4) == 0);
        CHILD_CHECK(rs_blockreg_remove(r, x, &out, &real, &size) == RS_BLOCK_TRACKED);
        CHILD_CHECK(out.tid_seq == 10 && out.size == 1);
        CHILD_CHECK(rs_blockreg_count(r) == 1);
        _exit(0);
    }
    rs_blockreg_unlock_all(r);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* The parent's registry is its own: nothing released, both blocks. */
    assert_int_equal(rs_blockreg_count(r), 2);
    rs_blocklog_t *fresh = rs_blockreg_acquire(r, 70);
    assert_true(fresh != own && fresh != busy && fresh != idle);
    expect_tracked(r, x, 1, 1, 1, 10, x - 16);
    expect_tracked(r, y, 1, 2, 2, 20, y - 16);
    block_free(x, 4);
    block_free(y, 4);
    block_free(z, 4);
    rs_blockreg_destroy(r);
}

/* ---- lock_all ---------------------------------------------------------------- */

typedef struct locked_add {
    rs_blocklog_t *log;
    uint64_t addr;
    atomic_int done;
} locked_add_t;

static void *add_in_thread(void *arg)
{
    locked_add_t *a = arg;
    int rc = rs_blockreg_add(a->log, a->addr, 33, 4, 4);
    atomic_store(&a->done, rc == 0 ? 1 : -1);
    return NULL;
}

/* Runs fn(arg) in a thread while r is locked (lock_all): after 50 ms the
 * thread must still wait (*progress still 0); after unlock_all it ends. */
static void run_blocked_by_lock_all(rs_blockreg_t *r, void *(*fn)(void *), void *arg,
                                    atomic_int *progress)
{
    rs_blockreg_lock_all(r);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, fn, arg), 0);
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
    assert_int_equal(atomic_load(progress), 0);
    rs_blockreg_unlock_all(r);
    assert_int_equal(pthread_join(th, NULL), 0);
}

static void test_lock_all(void **state)
{
    rs_blockreg_t *r = rs_blockreg_create();
    rs_blockreg_lock_all(r);                     /* no logs yet */
    rs_blockreg_unlock_all(r);
    rs_blocklog_t *log = rs_blockreg_acquire(r, 8), *l2 = rs_blockreg_acquire(r, 9);
    uint64_t a = block_new(4, 16), b = block_new(4, 16);
    assert_int_equal(rs_blockreg_add(l2, b, 1, 1, 4), 0);

    /* An add waits for unlock_all. */
    locked_add_t job = {log, a, 0};
    run_blocked_by_lock_all(r, add_in_thread, &job, &job.done);
    assert_int_equal(atomic_load(&job.done), 1);

    /* Everything works afterwards. */
    assert_int_equal(rs_blockreg_count(r), 2);
    expect_tracked(r, a, 1, 33, 4, 8, a - 16);
    expect_tracked(r, b, 1, 1, 1, 9, b - 16);
    rs_blockreg_release(r, l2);
    assert_ptr_equal(rs_blockreg_acquire(r, 10), l2);
    assert_int_equal(rs_blockreg_count(r), 0);
    block_free(a, 4);
    block_free(b, 4);
    rs_blockreg_destroy(r);
}

typedef struct locked_remove {
    rs_blockreg_t *r;
    uint64_t addr;
    rs_block_t out;
    uint64_t real, size;
    int errno_after;
    atomic_int state;                       /* 0 running, else state + 2 */
} locked_remove_t;

static void *remove_in_thread(void *arg)
{
    locked_remove_t *a = arg;
    errno = 1234;
    rs_block_state_t st = rs_blockreg_remove(a->r, a->addr, &a->out, &a->real, &a->size);
    a->errno_after = errno;
    atomic_store(&a->state, (int)st + 2);
    return NULL;
}

/* A remove (and an add) whose log is locked by another thread takes the
 * slow path: it waits for the lock (a futex wait, which may fail with
 * EAGAIN), then does exactly what the fast path does, and errno is as
 * before the call (the free path no longer saves it). */
static void test_locked_log_slow_paths(void **state)
{
    rs_blockreg_t *r = rs_blockreg_create();
    rs_blocklog_t *log = rs_blockreg_acquire(r, 8);
    uint64_t a = block_new(5, 48), b = block_new(4, 16);
    assert_int_equal(rs_blockreg_add(log, a, 48, 77, 5), 0);

    locked_remove_t job = {.r = r, .addr = a};
    run_blocked_by_lock_all(r, remove_in_thread, &job, &job.state);
    assert_int_equal(atomic_load(&job.state), RS_BLOCK_TRACKED + 2);
    rs_block_t want = {a, 48, 77, 8};
    assert_memory_equal(&job.out, &want, sizeof want);
    assert_int_equal(job.real, a - 32);
    assert_int_equal(job.size, 48);
    assert_int_equal(job.errno_after, 1234);
    assert_int_equal(rs_blockreg_count(r), 0);
    expect_remove_invalid(r, a);              /* a second remove */

    /* The freed slot is reused by the next add (fast path), and an add
     * with an empty free list appends (slow path, same record). */
    assert_int_equal(rs_blockreg_add(log, b, 16, 5, 4), 0);
    assert_int_equal(slot_of(b), 0);
    assert_int_equal(rs_blockreg_add(log, a, 48, 6, 5), 0);
    assert_int_equal(slot_of(a), 1);
    errno = 4321;
    expect_tracked(r, b, 1, 16, 5, 8, b - 16);
    expect_tracked(r, a, 1, 48, 6, 8, a - 32);
    assert_int_equal(errno, 4321);
    block_free(a, 5);
    block_free(b, 4);
    rs_blockreg_destroy(r);
}

/* count and bytes are read while another thread adds (stats at exit run
 * with the world resumed): with adds only, both only grow, and at the end
 * they are exact.  (Compiled by hand with -fsanitize=thread together with
 * lib/model/blockreg.c and rs_mem.c, which REFSCOPE_SANITIZE leaves alone
 * since the preload links them, this also checks that they read nothing
 * the adding thread writes without atomics or the log's lock.) */
#define GROW_BLOCKS 100000

typedef struct grower {
    rs_blockreg_t *r;
    char *arena;
    atomic_int done;
    int errors;
} grower_t;

static void *grow_log(void *arg)
{
    grower_t *g = arg;
    rs_blocklog_t *log = rs_blockreg_acquire(g->r, 77);
    for (uint64_t i = 0; i < GROW_BLOCKS; i++)
        g->errors += rs_blockreg_add(log, (uint64_t)(uintptr_t)g->arena + i * 32 + 16, i, 1,
                                     4) != 0;
    atomic_store(&g->done, 1);
    return NULL;
}

static void test_stats_while_adding(void **state)
{
    grower_t g = {rs_blockreg_create(), aligned_alloc(16, (size_t)GROW_BLOCKS * 32), 0, 0};
    assert_non_null(g.arena);
    uint64_t bytes0 = rs_blockreg_bytes(g.r), last_bytes = bytes0, last_count = 0;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, grow_log, &g), 0);
    while (!atomic_load(&g.done)) {
        uint64_t n = rs_blockreg_count(g.r), b = rs_blockreg_bytes(g.r);
        assert_true(n >= last_count);
        assert_true(b >= last_bytes);
        last_count = n;
        last_bytes = b;
    }
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(g.errors, 0);
    assert_int_equal(rs_blockreg_count(g.r), GROW_BLOCKS);
    /* One log (counted in bytes0 only once it exists: compare deltas of
     * slot arrays): 131072 slots of 8 bytes, 16 bytes per block. */
    uint64_t b = rs_blockreg_bytes(g.r);
    assert_true(b > bytes0);
    rs_blockreg_t *empty = rs_blockreg_create();
    rs_blockreg_acquire(empty, 1);
    assert_int_equal(b, rs_blockreg_bytes(empty) + 131072 * 8 + (uint64_t)GROW_BLOCKS * 16);
    rs_blockreg_destroy(empty);
    rs_blockreg_destroy(g.r);
    free(g.arena);
}

/* ---- contention ---------------------------------------------------------- */

/* Four threads, each with its own log, add PER_THREAD blocks (size i,
 * stack t+1).  Block i with i % 4 == 1 is removed by its own thread eight
 * adds later; block i with i % 4 == 0 is handed to the next thread, which
 * removes it (cross-thread free: the remove takes the producer's log
 * lock).  Blocks with i % 4 in {2, 3} stay.  A reader thread runs count
 * and foreach meanwhile, checking every record it is shown. */
#define THREADS 4
#define PER_THREAD 40000
#define HANDED (PER_THREAD / 4)

typedef struct shared {
    rs_blockreg_t *r;
    char *arena;
    _Atomic uint64_t mailbox[THREADS][HANDED];  /* 0 until handed (release) */
    atomic_int done;
} shared_t;

typedef struct worker {
    shared_t *sh;
    uint32_t id;
    uint64_t errors, removed;
} worker_t;

static uint32_t worker_tid(uint32_t t) { return 9000 + t; }

static uint64_t worker_addr(shared_t *sh, uint32_t t, uint64_t i)
{
    return (uint64_t)(uintptr_t)sh->arena + ((uint64_t)t * PER_THREAD + i) * 32 + 16;
}

/* The index (t * PER_THREAD + i) of a block of the test whose record is
 * the one its address implies (size i, stack t + 1, thread t's tid), or
 * -1. */
static int64_t block_index(shared_t *sh, const rs_block_t *b)
{
    uint64_t off = b->addr - (uint64_t)(uintptr_t)sh->arena - 16;
    if (off % 32 || off / 32 >= (uint64_t)THREADS * PER_THREAD)
        return -1;
    uint32_t t = (uint32_t)(off / 32 / PER_THREAD);
    uint64_t i = off / 32 % PER_THREAD;
    if (b->size != i || b->stack_id != t + 1 || b->tid_seq != worker_tid(t))
        return -1;
    return (int64_t)(off / 32);
}

static void remove_checked(worker_t *w, uint32_t t, uint64_t i)
{
    shared_t *sh = w->sh;
    uint64_t addr = worker_addr(sh, t, i), real, size;
    rs_block_t out = SENTINEL;
    w->errors += rs_blockreg_remove(sh->r, addr, &out, &real, &size) != RS_BLOCK_TRACKED;
    w->errors += block_index(sh, &out) != (int64_t)(t * PER_THREAD + i) ||
                 real != addr - 16 || size != i;
    w->removed++;
}

/* Removes the next blocks handed over by the previous thread; wait: until
 * all of them are. */
static void take_handed(worker_t *w, uint64_t *cursor, int wait)
{
    uint32_t from = (w->id + THREADS - 1) % THREADS;
    while (*cursor < HANDED) {
        uint64_t addr = atomic_load_explicit(&w->sh->mailbox[from][*cursor],
                                             memory_order_acquire);
        if (!addr) {
            if (!wait)
                return;
            sched_yield();
            continue;
        }
        w->errors += addr != worker_addr(w->sh, from, *cursor * 4);
        remove_checked(w, from, *cursor * 4);
        (*cursor)++;
    }
}

static void *churn(void *arg)
{
    worker_t *w = arg;
    shared_t *sh = w->sh;
    rs_blocklog_t *log = rs_blockreg_acquire(sh->r, worker_tid(w->id));
    if (!log) {
        w->errors++;
        return NULL;
    }
    uint64_t cursor = 0;
    for (uint64_t i = 0; i < PER_THREAD; i++) {
        uint64_t addr = worker_addr(sh, w->id, i);
        w->errors += rs_blockreg_add(log, addr, i, w->id + 1, 4) != 0;
        if (i % 4 == 0)
            atomic_store_explicit(&sh->mailbox[w->id][i / 4], addr, memory_order_release);
        if (i >= 8 && (i - 8) % 4 == 1)
            remove_checked(w, w->id, i - 8);
        take_handed(w, &cursor, 0);
    }
    for (uint64_t j = PER_THREAD - 8; j < PER_THREAD; j++)
        if (j % 4 == 1)
            remove_checked(w, w->id, j);
    take_handed(w, &cursor, 1);
    return NULL;
}

/* foreach while the workers run, or once after: every block shown must
 * carry its own record; seen (if not NULL) counts visits per block. */
typedef struct visitor {
    shared_t *sh;
    unsigned char *seen;
    uint64_t errors, blocks, passes;
} visitor_t;

static void visit_one(const rs_block_t *b, void *arg)
{
    visitor_t *v = arg;
    int64_t k = block_index(v->sh, b);
    v->blocks++;
    v->errors += k < 0;
    if (k >= 0 && v->seen)
        v->errors += v->seen[k]++ != 0;
}

static void *reader(void *arg)
{
    visitor_t *v = arg;
    while (!atomic_load(&v->sh->done)) {
        uint64_t n = rs_blockreg_count(v->sh->r);
        v->errors += n > (uint64_t)THREADS * PER_THREAD;
        v->errors += rs_blockreg_bytes(v->sh->r) < n * RS_BLOCK_HEADER;
        rs_blockreg_foreach(v->sh->r, visit_one, v);
        v->passes++;
    }
    return NULL;
}

static void test_contention(void **state)
{
    shared_t *sh = calloc(1, sizeof *sh);
    assert_non_null(sh);
    sh->r = rs_blockreg_create();
    size_t arena_bytes = (size_t)THREADS * PER_THREAD * 32;
    sh->arena = aligned_alloc(16, arena_bytes);
    assert_non_null(sh->arena);
    memset(sh->arena, 0, arena_bytes);

    worker_t w[THREADS];
    visitor_t rd = {sh, NULL, 0, 0, 0};
    pthread_t th[THREADS], rth;
    assert_int_equal(pthread_create(&rth, NULL, reader, &rd), 0);
    for (uint32_t t = 0; t < THREADS; t++) {
        w[t] = (worker_t){sh, t, 0, 0};
        assert_int_equal(pthread_create(&th[t], NULL, churn, &w[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_join(th[t], NULL), 0);
    atomic_store(&sh->done, 1);
    assert_int_equal(pthread_join(rth, NULL), 0);
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(w[t].errors, 0);
        assert_int_equal(w[t].removed, PER_THREAD / 2);   /* own + handed */
    }
    assert_int_equal(rd.errors, 0);
    assert_true(rd.passes > 0);

    /* Left: i % 4 in {2, 3} of every thread, each visited once. */
    assert_int_equal(rs_blockreg_count(sh->r), THREADS * PER_THREAD / 2);
    visitor_t v = {sh, calloc((size_t)THREADS * PER_THREAD, 1), 0, 0, 0};
    assert_non_null(v.seen);
    rs_blockreg_foreach(sh->r, visit_one, &v);
    assert_int_equal(v.errors, 0);
    assert_int_equal(v.blocks, THREADS * PER_THREAD / 2);
    for (uint32_t t = 0; t < THREADS; t++)
        for (uint64_t i = 0; i < PER_THREAD; i++)
            assert_int_equal(v.seen[(uint64_t)t * PER_THREAD + i], i % 4 >= 2);
    /* Four logs, one per thread: each block in its thread's log. */
    int log_of_thread[THREADS];
    for (uint32_t t = 0; t < THREADS; t++) {
        log_of_thread[t] = (int)rec_log(rec_read(worker_addr(sh, t, 2)));
        assert_true(log_of_thread[t] < THREADS);
        for (uint32_t u = 0; u < t; u++)
            assert_int_not_equal(log_of_thread[t], log_of_thread[u]);
        for (uint64_t i = 2; i < PER_THREAD; i += 4)
            assert_int_equal(rec_log(rec_read(worker_addr(sh, t, i))), log_of_thread[t]);
    }
    free(v.seen);
    rs_blockreg_destroy(sh->r);
    free(sh->arena);
    free(sh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_untracked),
        cmocka_unit_test(test_untracked_damage),
        cmocka_unit_test(test_tracked_damage),
        cmocka_unit_test(test_foreach_skips_damaged),
        cmocka_unit_test(test_slot_reuse),
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_logs),
        cmocka_unit_test(test_fork),
        cmocka_unit_test(test_lock_all),
        cmocka_unit_test(test_locked_log_slow_paths),
        cmocka_unit_test(test_stats_while_adding),
        cmocka_unit_test(test_contention),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
