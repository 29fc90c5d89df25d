/*
 * findings.h - group the blocks of an analysed snapshot into findings.
 *
 * A finding is the unit a report prints.  How blocks are grouped depends
 * on their class:
 *
 * Stacks are compared by site (stack_sites.h): stacks whose frames lie at
 * the same offsets of the same files are one, also across a dlclose and
 * a library loaded again elsewhere; a finding shows its site's lowest
 * stack id.
 *
 *  - leaked, indirect, reachable: every block of the class allocated at
 *    one site ("Leak of 96 bytes in 2 blocks (leaked), allocated at").
 *  - cycle: cycle groups (nodes of class cycle sharing nodes[].owner, the
 *    group id) with the same *shape* -- the same sorted list of (type id,
 *    allocation stack) of their members -- form one finding: `groups`
 *    counts them, bytes and blocks add up over all of them, and one
 *    representative group (the one whose lowest address is lowest) is
 *    described: its members by address and the heap edges between them.
 *    stack_id and type_id are those of the representative's first member.
 *  - leaked_ref: objects with the same type, allocation stack and set of
 *    unbalanced incref stacks (refhistory.h's balancer run over each
 *    object's events) form one finding; the unbalanced stacks are listed
 *    with their counts summed over the objects.
 *  - refcount errors (snapshot.rc_errors, not blocks) are grouped by kind,
 *    stack and other stack into rs_rc_finding_t, kept apart in errors[].
 *
 * Non-reachable classes always form findings; reachable blocks only when
 * asked.  Findings are sorted by bytes (descending), then blocks
 * (descending), then stack id, then class, then lowest address, so the
 * order is total and reproducible; then cut to a limit, with what was cut
 * counted.  Refcount error findings are sorted by occurrences (descending),
 * then by the order of their first occurrence, and cut to the same limit
 * separately.  Member, edge and unbalanced-stack details are computed only
 * for the findings that survive the cut.
 *
 * An indirect finding records the finding its blocks are charged to
 * (nodes[].owner, mapped to the owner's group) when all its blocks are
 * charged to the same one.
 *
 * The incref of a cycle edge (rs_finding_edge_t.incref_stack) is a
 * heuristic, kept simple on purpose: the unbalanced increfs (ctors
 * included) of the edge's target, most recent first, are handed out to the
 * target's in-edges within the representative group in edge order (by
 * source address, then offset); edges left over get 0 (unknown).  For the
 * common case -- one pointer per object, one reference that nothing
 * released -- this is exactly the incref that created the reference.
 */
#ifndef RS_FINDINGS_H
#define RS_FINDINGS_H

#include "refhistory.h"
#include "report_focus.h"
#include "rs_model.h"
#include "snapshot.h"

#include <stdint.h>

#define RS_FINDING_NONE UINT32_MAX

/* At most this many members of a cycle's representative group are listed
 * (n_members_total says how many it has); edges are listed between listed
 * members only. */
#define RS_FINDINGS_MAX_MEMBERS 256
/* At most this many distinct unbalanced incref stacks per leaked_ref
 * finding are listed; the rest are summed into unbalanced_cut. */
#define RS_FINDINGS_MAX_UNBALANCED 64

/* One pointer between two members of a cycle's representative group. */
typedef struct rs_finding_edge {
    uint32_t from;          /* index into members[] of the source           */
    uint32_t to;            /* index into members[] of the target           */
    uint32_t offset;        /* byte offset of the pointer inside the source */
    uint32_t incref_stack;  /* stack of the incref that created this
                               reference (see the rule above), 0 = unknown   */
} rs_finding_edge_t;

/* References taken at one stack and never released; or, `maybe`, taken
 * at one stack and released by a decref paired by guess (a release on
 * another thread, rs_refhist_balance_guesses): they may be the ones never
 * released instead. */
typedef struct rs_finding_unbalanced {
    uint32_t stack_id;      /* stack of the incref or ctor, 0 = unknown     */
    uint64_t count;         /* such references, summed over the objects     */
    uint8_t  maybe;
} rs_finding_unbalanced_t;

typedef struct rs_finding {
    rs_class_t cls;
    uint32_t   stack_id;     /* 0 = unknown stack                            */
    uint64_t   bytes;
    uint64_t   blocks;
    uint32_t   type_id;      /* CYCLE: type of the first member; else the
                                type shared by all its blocks, 0 if mixed or
                                plain                                        */
    uint32_t   first_node;   /* index of its lowest-addressed block (CYCLE:
                                the representative's first member)          */
    uint32_t   charged_to;   /* INDIRECT: index into items[] of the finding
                                its blocks are charged to; RS_FINDING_NONE
                                when unknown, mixed or cut by the limit      */
    uint32_t   cycle_group;  /* CYCLE: group id of the representative group,
                                else RS_FINDING_NONE                         */
    /* ---- CYCLE ---- (all 0/NULL for other classes) */
    uint32_t   groups;       /* cycle groups aggregated into this finding   */
    uint32_t  *members;      /* node indices of the representative group,
                                by address (n_members entries)              */
    uint32_t   n_members;
    uint32_t   n_members_total; /* members of the group, listed or not      */
    rs_finding_edge_t *edges; /* by source member, then offset             */
    uint32_t   n_edges;
    /* ---- LEAKED_REF ---- (all 0/NULL for other classes) */
    uint64_t   refs;         /* unexplained references over all objects:
                                sum of max(refcount - pointers, 0)           */
    int64_t    refcount;     /* of first_node                               */
    uint32_t   pointers;     /* heap pointers (in-edges) to first_node,
                                but for those holding no reference (weak)  */
    rs_finding_unbalanced_t *unbalanced; /* the unbalanced ones, then the
                                            maybe ones; each part by count
                                            (desc), then stack id          */
    uint32_t   n_unbalanced; /* entries, maybe ones included               */
    uint64_t   unbalanced_cut; /* references at stacks past the cap         */
} rs_finding_t;

/* Refcount errors of one kind at one stack with one other stack. */
typedef struct rs_rc_finding {
    rs_rc_error_kind_t kind;
    uint32_t stack_id;       /* where it happened, 0 = unknown              */
    uint32_t other_stack_id; /* the earlier conflicting event, 0 = none     */
    uint32_t type_id;        /* of the first occurrence, 0 = unknown        */
    uint64_t addr;           /* object of the first occurrence              */
    int64_t  count;          /* counter value after the first occurrence    */
    uint64_t occurrences;
    uint32_t first;          /* index in snapshot.rc_errors of the first    */
} rs_rc_finding_t;

typedef struct rs_findings_options {
    int      show_reachable; /* also group reachable blocks                  */
    uint32_t limit;          /* keep at most this many findings (and this
                                many refcount error findings); 0 = all      */
    rs_focus_t focus;        /* leaks outside the focus are only counted in
                                `hidden` (report_focus.h)                   */
} rs_findings_options_t;

typedef struct rs_findings {
    rs_finding_t *items;     /* n entries, sorted                            */
    uint32_t      n;
    uint32_t      n_cut;     /* findings dropped by the limit                */
    rs_tally_t    cut;       /* bytes and blocks of the dropped findings     */
    rs_tally_t    by_class[RS_CLASS_COUNT]; /* totals over every block of
                                the snapshot, whether listed or not          */
    rs_tally_t    hidden;    /* leak blocks the focus left out              */
    rs_rc_finding_t *errors; /* n_errors refcount error findings, sorted    */
    uint32_t      n_errors;
    uint32_t      n_errors_cut; /* error findings dropped by the limit      */
} rs_findings_t;

/*
 * Builds the findings of snap into *out (which is overwritten).  Nodes
 * with an out-of-range class count as unclassified and are never listed.
 * History (snap->history) and rc errors may be absent.  Returns 0, or -1
 * when memory is exhausted (*out is then empty and needs no
 * rs_findings_free()).
 */
int rs_findings_build(const rs_snapshot_t *snap,
                      const rs_findings_options_t *opt, rs_findings_t *out);

/* Frees what rs_findings_build() allocated; accepts NULL and an empty
 * result. */
void rs_findings_free(rs_findings_t *f);

/* Non-zero for the classes that are leaks of some kind. */
int rs_findings_is_leak_class(rs_class_t c);

/* The balancer's view of snap's stacks (for rs_refhist_balance()); the
 * result points at snap and is valid as long as it is.  Cannot fail. */
rs_refhist_stacks_t rs_findings_stacks(const rs_snapshot_t *snap);

/*
 * The unbalanced increfs and ctors of node `node` of snap: writes the
 * indices (into snap->history.events, absolute) of at most max of them,
 * most recent first, to out and returns how many were written; 0 when the
 * node has no history.  *total (may be NULL) receives how many there are.
 * Returns -1 when memory is exhausted.
 */
int rs_findings_unbalanced_events(const rs_snapshot_t *snap, uint32_t node,
                                  uint64_t *out, uint32_t max,
                                  uint32_t *total);

/*
 * The increfs and ctors of node `node` of snap that a decref paired with
 * by guess (rs_refhist_balance_guesses) after the oldest unbalanced incref
 * was taken: each of them may be the reference never released instead of
 * one the balancer left unbalanced.  Writes at most max event indices
 * (absolute, newest first) to out and returns how many; 0 without history
 * or unbalanced increfs; -1 when memory is exhausted.
 */
int rs_findings_guessed_events(const rs_snapshot_t *snap, uint32_t node,
                               uint64_t *out, uint32_t max);

/* The type name of type_id in snap, or NULL for 0 / unknown ids. */
const char *rs_findings_type_name(const rs_snapshot_t *snap, uint32_t type_id);

/* Where an object node lies when its block holds several objects and was
 * split into one node per object (objnodes.h, RS_NODE_PART). */
typedef struct rs_finding_block {
    uint64_t addr, size;     /* the whole block                          */
    uint32_t object;         /* the node's position in it, from 1        */
    uint32_t objects;        /* objects (nodes) in the block             */
} rs_finding_block_t;

/* Fills *out and returns 1 when node `node` of snap is one object of a
 * split block; returns 0 for a node that is a whole block. */
int rs_findings_block_of(const rs_snapshot_t *snap, uint32_t node,
                         rs_finding_block_t *out);

#endif /* RS_FINDINGS_H */
