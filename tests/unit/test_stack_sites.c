/*
 * test_stack_sites.c - unit tests of lib/report/stack_sites.c: stacks
 * whose frames lie at the same offsets of the same files are one site
 * (named by the lowest id), across module epochs and load addresses; a
 * file with the same path but another build id, another offset, another
 * frame count or a frame in no module at another address is not; with no
 * module ever unloaded there is no table (every stack its own site).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "stack_sites.h"

#include <stdlib.h>
#include <string.h>

/* The program (live at 0x400000), libplugin loaded at 0x7000000 in epoch
 * 0, unloaded at epoch 1 and loaded again at 0x9000000, then a rebuilt
 * libplugin (other build id) at 0x7000000 from epoch 2. */
#define EXE_BASE    0x400000ull
#define PLUGIN_A    0x7000000ull
#define PLUGIN_B    0x9000000ull
#define NO_MODULE   0x20000000ull

static rs_segment_t exe_seg = { EXE_BASE, EXE_BASE + 0x10000, 5 };
static rs_segment_t plug_a_seg = { PLUGIN_A, PLUGIN_A + 0x4000, 5 };
static rs_segment_t plug_b_seg = { PLUGIN_B, PLUGIN_B + 0x4000, 5 };
static rs_segment_t rebuilt_seg = { PLUGIN_A, PLUGIN_A + 0x4000, 5 };

static void fill_modules(rs_module_t mods[4])
{
    memset(mods, 0, 4 * sizeof *mods);
    mods[0] = (rs_module_t){ .path = "/usr/bin/prog", .build_id = { 1, 2 }, .build_id_len = 2,
                             .load_bias = 0, .segments = &exe_seg, .n_segments = 1,
                             .load_epoch = 0, .unload_epoch = RS_EPOCH_LIVE };
    mods[1] = (rs_module_t){ .path = "/opt/libplugin.so", .build_id = { 7, 7 },
                             .build_id_len = 2, .load_bias = PLUGIN_A,
                             .segments = &plug_a_seg, .n_segments = 1,
                             .load_epoch = 0, .unload_epoch = 1 };
    mods[2] = (rs_module_t){ .path = "/opt/libplugin.so", .build_id = { 7, 7 },
                             .build_id_len = 2, .load_bias = PLUGIN_B,
                             .segments = &plug_b_seg, .n_segments = 1,
                             .load_epoch = 1, .unload_epoch = 2 };
    mods[3] = (rs_module_t){ .path = "/opt/libplugin.so", .build_id = { 8, 8 },
                             .build_id_len = 2, .load_bias = PLUGIN_A,
                             .segments = &rebuilt_seg, .n_segments = 1,
                             .load_epoch = 2, .unload_epoch = RS_EPOCH_LIVE };
}

/* Stack ids 1..9 (see each line). */
static const uint64_t s1[] = { PLUGIN_A + 0x120, EXE_BASE + 0x500 };  /* epoch 0 */
static const uint64_t s2[] = { PLUGIN_B + 0x120, EXE_BASE + 0x500 };  /* epoch 1: = 1 */
static const uint64_t s3[] = { PLUGIN_A + 0x120, EXE_BASE + 0x500 };  /* epoch 2: rebuilt */
static const uint64_t s4[] = { PLUGIN_B + 0x124, EXE_BASE + 0x500 };  /* epoch 1: offset */
static const uint64_t s5[] = { PLUGIN_B + 0x120 };                    /* epoch 1: shorter */
static const uint64_t s6[] = { NO_MODULE + 8, EXE_BASE + 0x500 };     /* epoch 0 */
static const uint64_t s7[] = { NO_MODULE + 8, EXE_BASE + 0x500 };     /* epoch 1: = 6 */
static const uint64_t s8[] = { NO_MODULE + 16, EXE_BASE + 0x500 };    /* epoch 1 */
static const uint64_t s9[] = { PLUGIN_A + 0x120, EXE_BASE + 0x500 };  /* epoch 0: = 1 */

static void fill_stacks(rs_stack_t st[9])
{
    const uint64_t *pcs[9] = { s1, s2, s3, s4, s5, s6, s7, s8, s9 };
    const uint32_t n[9] = { 2, 2, 2, 2, 1, 2, 2, 2, 2 };
    const uint32_t epoch[9] = { 0, 1, 2, 1, 1, 0, 1, 1, 0 };
    for (int i = 0; i < 9; i++)
        st[i] = (rs_stack_t){ epoch[i], n[i], pcs[i] };
}

/* A snapshot of the modules and stacks above (no heap). */
static rs_snapshot_t snapshot_of(rs_module_t mods[4], rs_stack_t stacks[9])
{
    fill_modules(mods);
    fill_stacks(stacks);
    rs_snapshot_t snap;
    memset(&snap, 0, sizeof snap);
    snap.modules = mods;
    snap.n_modules = 4;
    snap.stacks = stacks;
    snap.n_stacks = 9;
    return snap;
}

static void test_sites_across_epochs_and_addresses(void **state)
{
    (void)state;
    rs_module_t mods[4];
    rs_stack_t stacks[9];
    rs_snapshot_t snap = snapshot_of(mods, stacks);
    uint32_t *sites = rs_stack_sites(&snap);
    assert_non_null(sites);
    const uint32_t want[10] = { 0, 1, 1, 3, 4, 5, 6, 6, 8, 1 };
    for (uint32_t id = 0; id <= 9; id++)
        assert_int_equal(sites[id], want[id]);
    assert_int_equal(rs_stack_site(sites, &snap, 2), 1);
    assert_int_equal(rs_stack_site(sites, &snap, 10), 10);   /* out of range */
    assert_int_equal(rs_stack_site(NULL, &snap, 2), 2);
    free(sites);
}

static void test_no_unload_no_table(void **state)
{
    (void)state;
    rs_module_t mods[4];
    rs_stack_t stacks[9];
    rs_snapshot_t snap = snapshot_of(mods, stacks);
    mods[1].unload_epoch = RS_EPOCH_LIVE;
    mods[2].unload_epoch = RS_EPOCH_LIVE;
    assert_null(rs_stack_sites(&snap));
    snap.n_stacks = 0;
    assert_null(rs_stack_sites(&snap));
    assert_null(rs_stack_sites(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sites_across_epochs_and_addresses),
        cmocka_unit_test(test_no_unload_no_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
