/*
 * stats.c - REFSCOPE_STATS=1: what refscope's own bookkeeping costs.
 *
 * At the end of each analysis (exit_analysis.c) one line goes to stderr:
 *
 *   refscope: stats: live_blocks=N block_records_bytes=N stack_depot_bytes=N
 *   stacks=N objects=N object_table_bytes=N history_bytes=N total_bytes=N
 *   analysis_ms=N stopped_ms=N mmap_root_bytes=N threads_blocking_stop=N
 *   got_slots_patched=N; X.Y bytes per block
 *
 * (one line, wrapped here).  live_blocks is the block registry's count;
 * object_table_bytes excludes the histories, which history_bytes counts
 * (rs_objtable_bytes() is their sum); total_bytes is block records + stack
 * depot + object table + history, and "bytes per block" is total_bytes /
 * live_blocks with one decimal (0.0 when nothing is live).  analysis_ms is
 * the wall time of the analysis up to the written snapshot, stopped_ms how
 * long the program's other threads were parked (the scan and the
 * classification), mmap_root_bytes the anonymous memory the program
 * mapped itself (mappings.c; scanned as roots where readable),
 * threads_blocking_stop the threads that block the stop signal, not
 * waited for (world.c), got_slots_patched the GOT slots pointed at the
 * hooks of REFSCOPE_HOOKS' functions (got_hook.h; 0 without).  Under
 * REFSCOPE_UNWIND=check, before the ";": unwind_checked=N unwind_mismatches=N (stacks of the fast walker compared
 * with libunwind's, and those that differed) unwind_fallbacks=N (stacks
 * the fast walker left to libunwind) unwind_frames=N
 * unwind_frames_reused=N (frames those walks stored, and frames they took
 * over from the thread's past walks, see fastunwind.c).  The benchmark
 * (tests/bench/bench.py) parses this line: keep the key=value names.
 *
 * Runs on the analysing thread after the world was resumed, with the guard
 * set; takes the object table's shard locks one at a time (the same order
 * as any other table user), writes with write(2) only, allocates nothing.
 */
#include "got_hook.h"
#include "preload.h"
#include "refcount.h"

#include <time.h>

/* " key=value" */
static void add_field(rs_line_t *l, const char *key, uint64_t v)
{
    rs_line_str(l, " ");
    rs_line_str(l, key);
    rs_line_str(l, "=");
    rs_line_u64(l, v);
}

/* num / den with one decimal, rounded; "0.0" when den is 0. */
static void add_ratio(rs_line_t *l, uint64_t num, uint64_t den)
{
    uint64_t tenths = den ? (num * 10 + den / 2) / den : 0;
    rs_line_u64(l, tenths / 10);
    rs_line_str(l, ".");
    rs_line_u64(l, tenths % 10);
}

uint64_t rs_stats_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void rs_stats_report(uint64_t analysis_ns, uint64_t stopped_ns)
{
    if (!rs_settings.stats || !rs_active)
        return;
    uint64_t blocks = rs_blockreg_count(rs_blocks);
    uint64_t table = rs_blockreg_bytes(rs_blocks);
    uint64_t depot = rs_stackdepot_bytes(rs_depot);
    uint64_t objects = rs_objtable_count(rs_objects);
    uint64_t history;
    uint64_t objtab = rs_objtable_bytes(rs_objects, &history);
    objtab = objtab > history ? objtab - history : 0;
    uint64_t total = table + depot + objtab + history;

    rs_line_t l = {.len = 0};
    rs_line_str(&l, "refscope: stats:");
    add_field(&l, "live_blocks", blocks);
    add_field(&l, "block_records_bytes", table);
    add_field(&l, "stack_depot_bytes", depot);
    add_field(&l, "stacks", rs_stackdepot_count(rs_depot));
    add_field(&l, "objects", objects);
    add_field(&l, "object_table_bytes", objtab);
    add_field(&l, "history_bytes", history);
    add_field(&l, "total_bytes", total);
    add_field(&l, "analysis_ms", analysis_ns / 1000000u);
    add_field(&l, "stopped_ms", stopped_ns / 1000000u);
    add_field(&l, "mmap_root_bytes", rs_mappings_bytes());
    add_field(&l, "threads_blocking_stop", rs_world_blocking());
    add_field(&l, "threads_ptrace_stopped", rs_world_traced());
    uint64_t patched = 0;
    rs_got_hook_stats(&patched, NULL);
    add_field(&l, "got_slots_patched", patched);
    if (rs_settings.unwind == RS_UNWIND_CHECK) {
        add_field(&l, "unwind_checked", rs_fastunwind_checked());
        add_field(&l, "unwind_mismatches", rs_fastunwind_mismatches());
        add_field(&l, "unwind_fallbacks", rs_backtrace_fallbacks());
        uint64_t stored, reused;
        rs_fastunwind_frames(&stored, &reused);
        add_field(&l, "unwind_frames", stored);
        add_field(&l, "unwind_frames_reused", reused);
    }
    rs_line_str(&l, "; ");
    add_ratio(&l, total, blocks);
    rs_line_str(&l, " bytes per block\n");
    rs_diag_emit(&l);
}
