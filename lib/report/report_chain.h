/*
 * report_chain.h - why is this block alive?  Shortest referrer chains from
 * roots to a block (`refscope chain`, like objgraph.find_backref_chain),
 * and the referrers of a block (`--referrers`, like gc.get_referrers).
 *
 * The index does one breadth-first search from every root at once over
 * the snapshot's edges, so each reachable block gets its distance from
 * the roots and a parent (the block or root holding the pointer that
 * reached it first).  Roots enter the search in a fixed preference order
 * — globals, user regions, TLS, dynamic TLS, stacks, registers, ignored
 * blocks — so a chain starts at a global when one is as short as any
 * other.  Referrers come from the reversed edges (CSR).
 *
 * Chains to one block: the direct root pointers to it and, for every
 * reachable referrer, the shortest chain to that referrer plus the hop to
 * the block; the shortest `max` of those.  Several target blocks: the
 * shortest chain of each, the shortest `max` overall.  An unreachable
 * block: the path, through unreachable blocks only, from the leaked block
 * it is charged to (nodes[].owner) — or the block alone when it is a leak
 * itself.  Chains from roots come before such chains, then shorter first.
 */
#ifndef RS_REPORT_CHAIN_H
#define RS_REPORT_CHAIN_H

#include "json_writer.h"
#include "report_target.h"
#include "snapshot.h"

#include <stdint.h>
#include <stdio.h>

#define RS_CHAIN_NONE UINT32_MAX

typedef struct rs_chain_hop {
    uint32_t node;         /* the block reached                           */
    uint64_t offset;       /* byte offset of the pointer to it inside the
                              previous hop's block (or the root region)   */
} rs_chain_hop_t;

typedef struct rs_chain {
    uint32_t        root;      /* root index, or RS_CHAIN_NONE: the chain
                                  starts at hops[0], a leaked block        */
    rs_chain_hop_t *hops;      /* hops[n_hops - 1].node is the target      */
    uint32_t        n_hops;
} rs_chain_t;

typedef struct rs_referrer {
    uint32_t from;         /* node index, or root index when is_root      */
    int      is_root;
    uint64_t offset;       /* of the pointer inside `from`                */
} rs_referrer_t;

typedef struct rs_chain_index rs_chain_index_t;

/* Builds the index of snap.  Returns NULL when memory is exhausted. */
rs_chain_index_t *rs_chain_index_build(const rs_snapshot_t *snap);
void rs_chain_index_destroy(rs_chain_index_t *x);    /* accepts NULL */

/* Distance of node from the roots in pointers (1 = a root points at it),
 * or 0 when it is unreachable. */
uint32_t rs_chain_distance(const rs_chain_index_t *x, uint32_t node);

/*
 * The shortest chains (at most max) to targets[0..n), as described above,
 * shortest first, into a malloc'ed array *out of *n_out chains.  Returns
 * 0, or -1 when memory is exhausted (nothing returned).
 */
int rs_chain_find(const rs_chain_index_t *x, const uint32_t *targets, uint32_t n,
                  uint32_t max, rs_chain_t **out, uint32_t *n_out);
void rs_chains_free(rs_chain_t *chains, uint32_t n);  /* accepts NULL */

/* Every pointer to node: roots first, then blocks by index.  Returns 0,
 * or -1 when memory is exhausted. */
int rs_chain_referrers(const rs_chain_index_t *x, uint32_t node,
                       rs_referrer_t **out, uint32_t *n_out);

/* Renderers.  Text: per chain a header line and one line per hop
 * ("-> [+16 .next] 0x... Entry (48 bytes, leaked)").  JSON: {"target",
 * "chains":[{"root": {"kind","tid","module","symbol","offset","address",
 * "register"} or null, "hops":[{"address","size","class","type",
 * "function","site","offset","field"}]}]}; a hop's offset
 * is that of the pointer in the previous hop (null for the first: "root"
 * has it).  Return 0 or -1 on a write
 * error (JSON errors stay in j). */
int rs_chain_print_text(FILE *out, rs_namer_t *nm, const rs_snapshot_t *snap,
                        const rs_chain_t *chains, uint32_t n);
void rs_chain_print_json(rs_json_t *j, rs_namer_t *nm, const rs_snapshot_t *snap,
                         const char *target, const rs_chain_t *chains, uint32_t n);
int rs_referrers_print_text(FILE *out, rs_namer_t *nm, const rs_snapshot_t *snap,
                            uint32_t node, const rs_referrer_t *refs, uint32_t n);
void rs_referrers_print_json(rs_json_t *j, rs_namer_t *nm, const rs_snapshot_t *snap,
                             uint32_t node, const rs_referrer_t *refs, uint32_t n);

#endif /* RS_REPORT_CHAIN_H */
