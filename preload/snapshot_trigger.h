/*
 * snapshot_trigger.h - snapshots taken while the program runs.
 *
 * Three triggers end in the same call, rs_snapshot_request():
 *   - the program itself: refscope_snapshot(label) (refscope.h), whose
 *     exported implementation calls rs_snapshot_request() on the caller's
 *     thread;
 *   - a signal, REFSCOPE_SNAPSHOT_SIGNAL (default SIGUSR2; 0 turns it off):
 *     the handler only bumps a futex word; a helper thread waiting on that
 *     word takes the snapshot, outside any signal-handler restriction;
 *   - a period, REFSCOPE_SNAPSHOT_INTERVAL (e.g. 10s, 500ms; off by
 *     default): the same helper thread's futex wait times out.
 *
 * Consistency: rs_analysis_run() (exit_analysis.c) stops every other
 * thread of the process (world.c) after taking the block-table locks, so
 * no thread is inside an allocation; the graph is copied and classified
 * while they are parked, then they resume.  Each snapshot is therefore one
 * instant of the heap, with the full graph and classification as at exit.
 * Only one analysis runs at a time (the analysis lock).
 *
 * Files: $REFSCOPE_OUT/<exe>.<pid>.<seq>-<label>.rsnap for a requested
 * snapshot (label reduced to [A-Za-z0-9_-], at most 40 characters; seq
 * counts every analysis of the process, exit included) — the
 * <exe>.<pid>.<seq> prefix is the one every snapshot file has.  The label
 * is also stored unchanged in proc.label; proc.reason is 1.
 *
 * The helper thread is refscope's, never the program's: it is created with
 * the real pthread_create (not registered as a program thread), blocks
 * every signal but the stop signal, and its stack, registers and TLS are
 * dropped from the roots (rs_snapshot_trigger_drop_roots), so it never
 * appears in a report.  It exists only when the signal or the period is
 * enabled; a fork child gets its own (created by the child fork handler);
 * at exit it stops taking snapshots (an atexit handler), so the exit
 * snapshot is the last one.
 */
#ifndef RS_SNAPSHOT_TRIGGER_H
#define RS_SNAPSHOT_TRIGGER_H

#include "rootvec.h"

#include <stdint.h>

/* Analyses the heap now, on the calling thread, and writes a snapshot
 * labelled label (NULL or "": "snapshot") with reason 1 ("snapshot
 * request").  Returns 1 when the snapshot was written, 0 when refscope is
 * inactive (or the process is exiting), -1 on error (the analysis could
 * not run, e.g. called re-entrantly, or the file could not be written;
 * said on stderr).  Never aborts; errno is preserved. */
int rs_snapshot_request(const char *label);

/* Installs the signal handler and starts the helper thread as configured
 * by rs_settings (snapshot_signal, snapshot_interval_ms).  Call once from
 * start-up after rs_active is set.  A failure (signal cannot be installed,
 * thread cannot be created) is said once on stderr; the program runs on
 * unchanged, without that trigger. */
void rs_snapshot_trigger_init(void);

/* Removes from roots every region that belongs to the helper thread
 * (its stack, registers, TLS).  Call after the thread roots are collected,
 * with the world stopped.  Never fails; a no-op without a helper. */
void rs_snapshot_trigger_drop_roots(rs_rootvec_t *roots);

#endif /* RS_SNAPSHOT_TRIGGER_H */
