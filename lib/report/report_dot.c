/*
 * report_dot.c - DOT output of the heap graph (see report_dot.h).
 *
 * A selection byte per block (0 = not drawn, 1 = drawn, 2 = drawn as a
 * target) is filled by the mode, then blocks, roots and edges between
 * drawn blocks are printed in index order, so the output is deterministic.
 */
#include "report_dot.h"

#include "utf8.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Prints s as the inside of a DOT string: quotes and backslashes
 * escaped, control bytes and ill-formed UTF-8 as '?', cut after
 * RS_DOT_LABEL_MAX bytes (between characters) with "...". */
static void dot_escape(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s), done = 0;
    while (left) {
        int n = rs_utf8_sequence(p, left);
        size_t used = n > 0 ? (size_t)n : (size_t)-n;
        if (done + used > RS_DOT_LABEL_MAX) {
            fputs("...", out);
            return;
        }
        if (n < 0 || *p < 0x20 || *p == 0x7f) {
            fputc(*p == '\n' ? ' ' : '?', out);
        } else {
            if (*p == '"' || *p == '\\')
                fputc('\\', out);
            fwrite(p, 1, used, out);
        }
        p += used;
        left -= used;
        done += used;
    }
}

static int leak_class(uint8_t cls)
{
    return cls != RS_CLASS_REACHABLE && cls != RS_CLASS_UNCLASSIFIED &&
           cls < RS_CLASS_COUNT;
}

/* Reversed BFS from the targets, depth levels back; respects max. */
static int select_around(const rs_chain_index_t *x, const rs_dot_options_t *opt,
                         uint8_t *sel, uint32_t n_nodes, uint32_t *drawn)
{
    uint32_t *level = malloc((size_t)n_nodes * sizeof *level);
    uint32_t *queue = malloc((size_t)n_nodes * sizeof *queue);
    int rc = -1;
    if (!level || !queue)
        goto out;
    uint32_t head = 0, tail = 0;
    for (uint32_t i = 0; i < opt->n_targets; i++) {
        uint32_t t = opt->targets[i];
        if (t >= n_nodes || sel[t] || (opt->max_nodes && *drawn >= opt->max_nodes))
            continue;
        sel[t] = 2;
        level[t] = 0;
        queue[tail++] = t;
        (*drawn)++;
    }
    while (head < tail) {
        uint32_t v = queue[head++];
        if (level[v] >= opt->depth)
            continue;
        rs_referrer_t *refs;
        uint32_t n;
        if (rs_chain_referrers(x, v, &refs, &n) != 0)
            goto out;
        for (uint32_t k = 0; k < n; k++) {
            uint32_t r = refs[k].from;
            if (refs[k].is_root || sel[r])
                continue;
            if (opt->max_nodes && *drawn >= opt->max_nodes)
                break;
            sel[r] = 1;
            level[r] = level[v] + 1;
            queue[tail++] = r;
            (*drawn)++;
        }
        free(refs);
    }
    rc = 0;
out:
    free(level);
    free(queue);
    return rc;
}

static void print_block(FILE *out, rs_namer_t *nm, const rs_snapshot_t *snap,
                        uint32_t i, uint8_t how)
{
    const rs_node_t *nd = &snap->heap.nodes[i];
    fprintf(out, "  b%" PRIu32 " [label=\"", i);
    dot_escape(out, rs_namer_site(nm, i));
    fprintf(out, "\\n%" PRIu64 " bytes, %s", nd->size, rs_class_name((rs_class_t)nd->cls));
    if (nd->flags & RS_NODE_REFCOUNTED)
        fprintf(out, "\\nrefcount %" PRId64, nd->refcount);
    fprintf(out, "\\n0x%" PRIx64 "\"", nd->addr);
    if (leak_class(nd->cls))
        fputs(", color=red", out);
    if (how == 2)
        fputs(", style=bold", out);
    fputs("];\n", out);
}

static void print_edge_label(FILE *out, rs_namer_t *nm, uint32_t holder, uint64_t off)
{
    const char *field = rs_namer_field(nm, holder, off);
    /* Padded: dot puts the labels of a pair of opposite edges (a cycle of
     * two) side by side, where "+16 .next+16 .prev" read as one. */
    fprintf(out, " [label=\" +%" PRIu64, off);
    if (field) {
        fputs(" .", out);
        dot_escape(out, field);
    }
    fputs(" \"];\n", out);
}

/* Roots pointing at drawn blocks, one ellipse per root pointer. */
static void print_roots(FILE *out, const rs_snapshot_t *snap, rs_namer_t *nm,
                        const uint8_t *sel, rs_dot_stats_t *st)
{
    char buf[1024];
    const rs_heap_t *h = &snap->heap;
    for (uint64_t e = 0; e < h->n_root_edges; e++) {
        const rs_root_edge_t *re = &h->root_edges[e];
        if (re->dst >= h->n_nodes || !sel[re->dst])
            continue;
        rs_root_name_t rn;
        rs_namer_root(nm, re->root, re->offset, &rn);
        fprintf(out, "  r%" PRIu64 " [label=\"", e);
        dot_escape(out, rs_root_name_format(&rn, buf, sizeof buf));
        fputs("\", shape=ellipse];\n", out);
        fprintf(out, "  r%" PRIu64 " -> b%" PRIu32 ";\n", e, re->dst);
        st->roots++;
        st->edges++;
    }
}

int rs_dot_write(FILE *out, const rs_snapshot_t *snap, rs_namer_t *nm,
                 const rs_chain_index_t *x, const rs_dot_options_t *opt,
                 rs_dot_stats_t *stats)
{
    const rs_heap_t *h = &snap->heap;
    rs_dot_stats_t st = { 0 };
    uint8_t *sel = calloc((size_t)h->n_nodes + 1, 1);
    if (!sel)
        return -1;
    uint32_t drawn = 0;
    if (opt->mode == RS_DOT_AROUND) {
        if (select_around(x, opt, sel, h->n_nodes, &drawn) != 0) {
            free(sel);
            return -1;
        }
    } else {
        for (uint32_t i = 0; i < h->n_nodes; i++) {
            uint8_t c = h->nodes[i].cls;
            if (opt->mode == RS_DOT_CYCLES ? c != RS_CLASS_CYCLE : !leak_class(c))
                continue;
            if (opt->max_nodes && drawn >= opt->max_nodes) {
                st.cut++;
                continue;
            }
            sel[i] = 1;
            drawn++;
        }
    }
    fputs("digraph refscope {\n  node [shape=box, fontname=\"monospace\"];\n"
          "  edge [fontname=\"monospace\", fontsize=11];\n", out);
    for (uint32_t i = 0; i < h->n_nodes; i++)
        if (sel[i]) {
            print_block(out, nm, snap, i, sel[i]);
            st.nodes++;
        }
    for (uint32_t i = 0; i < h->n_nodes; i++) {
        if (!sel[i])
            continue;
        for (uint64_t e = h->edge_start[i]; e < h->edge_start[i + 1]; e++) {
            uint32_t d = h->edges[e].dst;
            if (!sel[d] || (opt->mode == RS_DOT_CYCLES && h->nodes[d].owner != h->nodes[i].owner))
                continue;
            if (opt->max_edges && st.edges >= opt->max_edges) {
                st.edges_cut++;
                continue;
            }
            fprintf(out, "  b%" PRIu32 " -> b%" PRIu32, i, d);
            print_edge_label(out, nm, i, h->edges[e].offset);
            st.edges++;
        }
    }
    if (opt->mode == RS_DOT_AROUND)
        print_roots(out, snap, nm, sel, &st);
    if (st.cut)
        fprintf(out, "  // %" PRIu32 " more blocks not drawn (--max-nodes)\n", st.cut);
    if (st.edges_cut)
        fprintf(out, "  // %" PRIu32 " more pointers not drawn\n", st.edges_cut);
    fputs("}\n", out);
    free(sel);
    if (stats)
        *stats = st;
    fflush(out);
    return ferror(out) ? -1 : 0;
}
