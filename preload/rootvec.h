/*
 * rootvec.h - a growable array of root regions, filled while the world is
 * stopped at analysis time.  Memory comes from rs_mem; on exhaustion
 * rs_rootvec_push() returns -1 and the vector keeps what it had.
 */
#ifndef RS_ROOTVEC_H
#define RS_ROOTVEC_H

#include "rs_mem.h"
#include "rs_model.h"

typedef struct rs_rootvec {
    rs_root_t *items;
    uint32_t   n, cap;
} rs_rootvec_t;

static inline int rs_rootvec_push(rs_rootvec_t *v, const rs_root_t *r)
{
    if (r->size == 0)
        return 0;
    if (v->n == v->cap) {
        uint32_t cap = v->cap ? v->cap * 2 : 64;
        rs_root_t *items = rs_mem_realloc(v->items, cap * sizeof *items);
        if (!items)
            return -1;
        v->items = items;
        v->cap = cap;
    }
    v->items[v->n++] = *r;
    return 0;
}

static inline void rs_rootvec_free(rs_rootvec_t *v)
{
    rs_mem_free(v->items);
    v->items = NULL;
    v->n = v->cap = 0;
}

#endif /* RS_ROOTVEC_H */
