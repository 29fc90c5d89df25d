/*
 * rs_model.c - names of classes and root kinds, and the class tally.
 *
 * The names are part of the JSON contract and the command line; never
 * rename one without bumping the snapshot and JSON versions.
 */
#include "rs_model.h"

#include <string.h>

static const char *const class_names[RS_CLASS_COUNT] = {
    [RS_CLASS_UNCLASSIFIED] = "unclassified",
    [RS_CLASS_REACHABLE]    = "reachable",
    [RS_CLASS_LEAKED]       = "leaked",
    [RS_CLASS_INDIRECT]     = "indirect",
    [RS_CLASS_CYCLE]        = "cycle",
    [RS_CLASS_LEAKED_REF]   = "leaked_ref",
};

const char *rs_class_name(rs_class_t c)
{
    return (unsigned)c < RS_CLASS_COUNT ? class_names[c] : "invalid";
}

rs_class_t rs_class_from_name(const char *s)
{
    for (int c = RS_CLASS_REACHABLE; c < RS_CLASS_COUNT; c++)
        if (s && strcmp(s, class_names[c]) == 0)
            return (rs_class_t)c;
    return RS_CLASS_UNCLASSIFIED;
}

const char *rs_root_kind_name(rs_root_kind_t k)
{
    switch (k) {
    case RS_ROOT_GLOBAL:      return "global";
    case RS_ROOT_STACK:       return "stack";
    case RS_ROOT_REGISTERS:   return "registers";
    case RS_ROOT_TLS:         return "tls";
    case RS_ROOT_DYNAMIC_TLS: return "dynamic_tls";
    case RS_ROOT_USER:        return "user";
    case RS_ROOT_IGNORED:     return "ignored";
    case RS_ROOT_MMAP:        return "mmap";
    }
    return "invalid";
}

void rs_summary_count(const rs_heap_t *heap, rs_summary_t *summary)
{
    memset(summary->by_class, 0, sizeof summary->by_class);
    for (uint32_t i = 0; i < heap->n_nodes; i++) {
        const rs_node_t *n = &heap->nodes[i];
        unsigned c = n->cls < RS_CLASS_COUNT ? n->cls : RS_CLASS_UNCLASSIFIED;
        summary->by_class[c].bytes += n->size;
        summary->by_class[c].blocks++;
    }
}

const char *rs_rc_error_name(rs_rc_error_kind_t k)
{
    switch (k) {
    case RS_RC_DECREF_UNKNOWN:     return "decref_unknown";
    case RS_RC_UNDERFLOW:          return "underflow";
    case RS_RC_FREE_REFERENCED:    return "free_referenced";
    case RS_RC_INCREF_AFTER_FINAL: return "use_after_final";
    case RS_RC_ERROR_KIND_COUNT:   break;
    }
    return "invalid";
}
