/*
 * snapshot.h - one analysis of one process, in memory and on disk.
 *
 * An rs_snapshot_t holds everything an analysis produced: process facts,
 * modules, interned stacks, type names, the heap graph with each block's
 * class, and the summary.  The preload fills one and writes it with
 * rs_snapshot_write(); the refscope tool reads it back with
 * rs_snapshot_read().  The on-disk format is documented in snapshot_format.h
 * (offset/size/description tables) and versioned.
 *
 * Ownership: a snapshot returned by rs_snapshot_read() owns all its
 * memory; rs_snapshot_free() releases it (NULL is accepted).  A snapshot
 * assembled by the preload may point at memory it owns elsewhere; it is
 * only ever written, never freed with rs_snapshot_free().
 */
#ifndef RS_SNAPSHOT_H
#define RS_SNAPSHOT_H

#include "rs_model.h"

#include <stddef.h>

typedef struct rs_snapshot {
    rs_proc_info_t proc;
    rs_module_t   *modules;
    uint32_t       n_modules;
    rs_stack_t    *stacks;       /* stacks[i] has id i + 1                  */
    uint32_t       n_stacks;
    char         **types;        /* types[i] has type id i + 1              */
    uint32_t       n_types;
    rs_heap_t      heap;
    rs_summary_t   summary;
    rs_ref_history_t history;    /* reference events of refcounted nodes   */
    rs_rc_error_t *rc_errors;    /* in the order they happened             */
    uint32_t       n_rc_errors;
    rs_thread_frame_t *thread_frames; /* sorted by tid, then depth 0, 1, ..;
                                   NULL when none were taken             */
    uint32_t       n_thread_frames;
    uint32_t       frames_epoch;  /* module epoch the frames were taken in  */
    rs_pyloc_t    *pylocs;       /* Python locations: pseudo frame i of a
                                   stack (RS_PYFRAME_TAG) is pylocs[i]     */
    uint32_t       n_pylocs;
    uint64_t       thread_start_pc; /* derived by the reader, not stored:
                                   rs_snapshot_thread_start_pc()          */
    void          *storage;      /* reader-owned backing memory             */
} rs_snapshot_t;

/*
 * The return address into glibc's start_thread that the stacks of the
 * process's other threads end with (before __clone3): the second
 * outermost frame most common among the stacks of reference events taken
 * on a thread that is not the main one (thread index != pid), or 0 when
 * there is none.  The balancer's rule 2 discounts the frames every thread
 * shares (refhistory.h); the preload knows the address from its thread
 * wrapper, a snapshot reader finds it here.
 */
uint64_t rs_snapshot_thread_start_pc(const rs_snapshot_t *snap);

/* Error text filled by the reader and writer: one line, no newline, naming
 * the file, and for the reader the section and byte offset at fault. */
typedef struct rs_snapshot_error {
    char message[512];
} rs_snapshot_error_t;

/*
 * Writes snap to path atomically: the data goes to a temporary file in the
 * same directory which is renamed over path (not fsync'ed, see
 * snapshot_write.c).  Uses only write(2) and rs_mem, never stdio, so it
 * is safe inside the target.
 * Returns 0 on success; on error -1 is returned, err says why, and no file
 * (neither path nor the temporary) is left behind.
 */
int rs_snapshot_write(const rs_snapshot_t *snap, const char *path,
                      rs_snapshot_error_t *err);

/*
 * Reads and validates the snapshot at path.  Every count, index and
 * string is checked; a truncated or corrupt file is rejected.
 * Returns a new snapshot, or NULL with err filled in.
 */
rs_snapshot_t *rs_snapshot_read(const char *path, rs_snapshot_error_t *err);

/*
 * How far rs_snapshot_read_progress() got: fn(ctx, done, total) is called
 * after each chunk of the file read and each section decoded, with done
 * growing to total (reading is the first half of total, decoding the
 * second).  fn must not call back into the reader.
 */
typedef struct rs_snapshot_progress {
    void (*fn)(void *ctx, uint64_t done, uint64_t total);
    void *ctx;
} rs_snapshot_progress_t;

/* rs_snapshot_read() that reports its progress (progress may be NULL). */
rs_snapshot_t *rs_snapshot_read_progress(const char *path, rs_snapshot_error_t *err,
                                         const rs_snapshot_progress_t *progress);

void rs_snapshot_free(rs_snapshot_t *snap);

#endif /* RS_SNAPSHOT_H */
