/*
 * findings.h - group the blocks of an analysed snapshot into findings.
 *
 * A finding is every block of one class allocated at one stack: the unit
 * a report prints ("Leak of 96 bytes in 2 blocks (leaked), allocated
 * at: ...").  Non-reachable classes (leaked, indirect, cycle, leaked_ref)
 * always form findings; reachable blocks only when asked.  Findings are
 * sorted by bytes (descending), then blocks (descending), then stack id,
 * then class, so the order is total and reproducible; then cut to a
 * limit, with what was cut counted.
 *
 * An indirect finding records the finding its blocks are charged to
 * (nodes[].owner, mapped to the owner's group) when all its blocks are
 * charged to the same one.
 */
#ifndef RS_FINDINGS_H
#define RS_FINDINGS_H

#include "rs_model.h"
#include "snapshot.h"

#include <stdint.h>

#define RS_FINDING_NONE UINT32_MAX

typedef struct rs_finding {
    rs_class_t cls;
    uint32_t   stack_id;     /* 0 = unknown stack                            */
    uint64_t   bytes;
    uint64_t   blocks;
    uint32_t   type_id;      /* type shared by all its blocks, 0 if mixed or
                                plain                                        */
    uint32_t   first_node;   /* index of its lowest-addressed block          */
    uint32_t   charged_to;   /* INDIRECT: index into items[] of the finding
                                its blocks are charged to; RS_FINDING_NONE
                                when unknown, mixed or cut by the limit      */
    uint32_t   cycle_group;  /* CYCLE: group id shared by all its blocks, or
                                RS_FINDING_NONE                              */
} rs_finding_t;

typedef struct rs_findings_options {
    int      show_reachable; /* also group reachable blocks                  */
    uint32_t limit;          /* keep at most this many findings; 0 = all     */
} rs_findings_options_t;

typedef struct rs_findings {
    rs_finding_t *items;     /* n entries, sorted                            */
    uint32_t      n;
    uint32_t      n_cut;     /* findings dropped by the limit                */
    rs_tally_t    cut;       /* bytes and blocks of the dropped findings     */
    rs_tally_t    by_class[RS_CLASS_COUNT]; /* totals over every block of
                                the snapshot, whether listed or not          */
} rs_findings_t;

/*
 * Builds the findings of snap into *out (which is overwritten).  Nodes
 * with an out-of-range class count as unclassified and are never listed.
 * Returns 0, or -1 when memory is exhausted (*out is then empty and
 * needs no rs_findings_free()).
 */
int rs_findings_build(const rs_snapshot_t *snap,
                      const rs_findings_options_t *opt, rs_findings_t *out);

/* Frees what rs_findings_build() allocated; accepts NULL and an empty
 * result. */
void rs_findings_free(rs_findings_t *f);

/* Non-zero for the classes that are leaks of some kind. */
int rs_findings_is_leak_class(rs_class_t c);

#endif /* RS_FINDINGS_H */
