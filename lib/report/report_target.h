/*
 * report_target.h - naming things in a snapshot's heap graph for people:
 * which blocks a command-line TARGET means, what a block is ("Entry, 48
 * bytes, allocated in cache_put cache.c:40") and what a root is ("global
 * 'cache'+8 in cache_growth", "stack of thread 123 (main)").  Shared by
 * `refscope chain` and `refscope graph`.
 *
 * TARGET syntax:
 *   0x7f12...   the block containing that address (interior too);
 *   #N          finding number N (1-based) in `refscope report` order
 *               (leak findings of the default report);
 *   NAME        every block whose refcounted type is NAME, else every
 *               block whose allocating function (first program frame)
 *               is NAME.
 * Global roots are named from the module's ELF symbol table (.symtab,
 * else .dynsym; read with libelf): the data object containing the
 * address, and the offset in it.
 */
#ifndef RS_REPORT_TARGET_H
#define RS_REPORT_TARGET_H

#include "snapshot.h"
#include "symbolize.h"

#include <stddef.h>
#include <stdint.h>

typedef struct rs_namer rs_namer_t;

/* A namer for one snapshot (caches symbol tables and stack names).
 * Returns NULL when memory is exhausted. */
rs_namer_t *rs_namer_create(const rs_snapshot_t *snap, rs_symbolizer_t *sym);
void rs_namer_destroy(rs_namer_t *n);                 /* accepts NULL */

/*
 * Resolves target into node indices (ascending, malloc'ed into *nodes).
 * Returns the count (>= 1), 0 when nothing matches (why says so), or -1
 * when target is malformed or memory is exhausted (why says which).
 */
long rs_target_resolve(rs_namer_t *n, const char *target, uint32_t **nodes,
                       char *why, size_t why_len);

/* What a block is: "Type" or the allocating "function file:line" (no
 * type).  Owned by the namer. */
const char *rs_namer_site(rs_namer_t *n, uint32_t node);
/* The allocating function alone ("??" when unknown).  Owned by the namer. */
const char *rs_namer_function(rs_namer_t *n, uint32_t node);
/* Member name at offset in a typed block (DWARF), or NULL. */
const char *rs_namer_field(rs_namer_t *n, uint32_t node, uint64_t offset);

/* A root described: kind ("global", "stack", "registers", "tls",
 * "dynamic_tls", "user", "ignored", "mmap"), thread id, and for globals the
 * module path and the symbol containing the address with the offset in
 * it (symbol NULL when none covers it). */
typedef struct rs_root_name {
    const char *kind;
    uint32_t    tid;
    const char *module;         /* GLOBAL: module path, else NULL         */
    const char *symbol;         /* GLOBAL: data symbol, or NULL           */
    uint64_t    symbol_offset;  /* address - symbol start                 */
    uint64_t    address;        /* where the pointer is                   */
    const char *reg;            /* REGISTERS: register name, or NULL      */
    /* STACK, when the snapshot has the thread's frames (THREAD_FRAMES):
     * the frame whose part of the stack holds the pointer. */
    uint8_t     has_frame;
    uint32_t    frame;          /* frame number, 0 = innermost            */
    uint64_t    frame_offset;   /* address - the frame's sp               */
    const char *function;       /* the frame's function, or NULL          */
    const char *file;           /* its source file, or NULL               */
    uint32_t    line;           /* 0 when unknown                         */
} rs_root_name_t;

/* Names the pointer at byte `offset` of root region `root`.  A stack slot
 * is attributed to frame i of its thread when sp_i <= address < sp_{i+1}
 * (the outermost frame takes everything above its sp). */
void rs_namer_root(rs_namer_t *n, uint32_t root, uint64_t offset, rs_root_name_t *out);

/* Formats a root name in one line ("global cache+8 (cache_growth)",
 * "stack of thread 12, frame #2 worker (daemon.c:41), sp+0x18 at 0x..")
 * into buf; returns buf. */
char *rs_root_name_format(const rs_root_name_t *r, char *buf, size_t len);

#endif /* RS_REPORT_TARGET_H */
