/*
 * stack_sites.h - which stacks of a snapshot are one allocation site.
 *
 * The preload interns a stack per module epoch: the epoch moves when a
 * library is unloaded (dlclose), after which its addresses may hold other
 * code (preload/modules.c).  So a call path that ran before and after a
 * dlclose has one stack id per epoch, and a library loaded again at
 * another address gives its frames other addresses: a plugin that leaked
 * once per load got one finding per load, all with the same functions
 * and lines.  For grouping, such stacks are one site: stacks with as many
 * frames, each at the same offset of the same file (same path and build
 * id), or, for a frame in no module, at the same address.
 *
 * A site is named by the lowest stack id in it: findings group by site
 * (findings.h) and show that stack.  Everything else (the balancer's
 * frame comparisons, symbolization) keeps using each stack's own frames.
 */
#ifndef RS_STACK_SITES_H
#define RS_STACK_SITES_H

#include "snapshot.h"

#include <stdint.h>

/* The site of every stack of snap: sites[id] is the lowest stack id of
 * id's site, for ids 0..n_stacks (sites[0] = 0).  NULL when no module was
 * ever unloaded (every stack is then a site of its own: the same frames
 * in one epoch are one stack already) or when memory ran out (the same,
 * findings split as before).  Free with free(). */
uint32_t *rs_stack_sites(const rs_snapshot_t *snap);

/* The site of stack id (id itself when sites is NULL or id is out of
 * range). */
static inline uint32_t rs_stack_site(const uint32_t *sites, const rs_snapshot_t *snap,
                                     uint32_t id)
{
    return sites && id <= snap->n_stacks ? sites[id] : id;
}

#endif /* RS_STACK_SITES_H */
