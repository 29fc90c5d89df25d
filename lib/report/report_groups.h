/*
 * report_groups.h - tally the blocks of one or more snapshots by a key
 * that means the same thing in every snapshot: allocation site, type,
 * allocating function or source file.  The base of `refscope diff` and
 * `refscope trend` (tracemalloc's Snapshot.statistics/compare_to).
 *
 * Stack ids differ between processes, so keys are built from symbolized
 * frames (refscope's own and the allocator entry points dropped):
 *   site:     every frame, "function file:line" joined by " < ";
 *   function: the summary frame's function (symbolize.h: the program's
 *             own code, not g_malloc or strdup; "??" + module offset
 *             unknown);
 *   file:     the summary frame's source file ("??" when unknown);
 *   type:     the refcounted type name; plain blocks "plain from <fn>".
 * A table has one row per key and one (count, bytes) cell per snapshot
 * slot; rows are in first-seen order.  Stacks are symbolized once each.
 */
#ifndef RS_REPORT_GROUPS_H
#define RS_REPORT_GROUPS_H

#include "rs_model.h"
#include "snapshot.h"
#include "symbolize.h"

#include <stdint.h>

typedef enum rs_group_by {
    RS_GROUP_SITE = 0,
    RS_GROUP_TYPE = 1,
    RS_GROUP_FUNCTION = 2,
    RS_GROUP_FILE = 3,
} rs_group_by_t;

/* "site", "type", "function", "file" -> *out; returns 0, or -1 if unknown. */
int rs_group_by_from_name(const char *s, rs_group_by_t *out);
const char *rs_group_by_name(rs_group_by_t by);

typedef struct rs_group_row {
    char       *key;       /* what rows are matched by                      */
    char       *label;     /* short form for display (summary frame or type) */
    char       *file;      /* summary frame's "file:line", or NULL          */
    rs_tally_t *cells;     /* n_slots cells: blocks (count) and bytes       */
} rs_group_row_t;

typedef struct rs_group_table rs_group_table_t;

/*
 * Creates a table grouping by `by` with n_slots snapshot slots.
 * class_mask selects block classes (bit 1 << rs_class_t); 0 means every
 * class.  Returns NULL when memory is exhausted.
 */
rs_group_table_t *rs_group_table_create(rs_group_by_t by, uint32_t class_mask,
                                        uint32_t n_slots);
void rs_group_table_destroy(rs_group_table_t *t);   /* accepts NULL */

/* Adds every selected block of snap into slot (< n_slots).  Returns 0, or
 * -1 when memory is exhausted (the table then holds part of snap). */
int rs_group_table_add(rs_group_table_t *t, uint32_t slot,
                       const rs_snapshot_t *snap, rs_symbolizer_t *sym);

uint32_t rs_group_table_rows(const rs_group_table_t *t);
const rs_group_row_t *rs_group_table_row(const rs_group_table_t *t, uint32_t i);

/*
 * Says whether two snapshots come from the same program: same executable
 * path and, when both recorded one, the same build id of the executable.
 * Returns 1 when they do; 0 otherwise, with why[0..why_len) saying what
 * differs, in one sentence.
 */
int rs_group_same_program(const rs_snapshot_t *a, const rs_snapshot_t *b,
                          char *why, size_t why_len);

/* Type name of type id, or NULL for 0 / out of range. */
const char *rs_group_type_name(const rs_snapshot_t *snap, uint32_t type_id);

#endif /* RS_REPORT_GROUPS_H */
