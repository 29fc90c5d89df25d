/*
 * rs_model.h - the data model shared by every layer of refscope.
 *
 * The preload gathers facts about a running process (live blocks, stacks,
 * modules, root regions) into these structures; lib/ scans and classifies
 * them, the snapshot module serialises them, and the refscope tool reads
 * them back and renders reports.  Nothing here allocates or does I/O.
 *
 * Invariants:
 *  - rs_heap_t.nodes is sorted by addr, blocks never overlap.  A node is
 *    a live block, or one object's part of a block that holds several
 *    refcounted objects (objnodes.h: RS_NODE_PART).
 *  - Edges are stored CSR style: the out-edges of node i are
 *    edges[edge_start[i] .. edge_start[i+1]) with edge_start[n_nodes] ==
 *    n_edges; every edge's dst is < n_nodes.
 *  - Stack id 0 means "no stack"; ids 1..n_stacks are dense.
 *  - Type id 0 means "plain block"; ids 1..n_types index types[id-1].
 *  - After classification every node has exactly one rs_class_t other than
 *    RS_CLASS_UNCLASSIFIED.
 */
#ifndef RS_MODEL_H
#define RS_MODEL_H

#include <stddef.h>
#include <stdint.h>

/* ---- classification ------------------------------------------------- */

typedef enum rs_class {
    RS_CLASS_UNCLASSIFIED = 0,
    RS_CLASS_REACHABLE    = 1, /* reachable from a root                      */
    RS_CLASS_LEAKED       = 2, /* unreachable, no other leaked block holds it */
    RS_CLASS_INDIRECT     = 3, /* unreachable, held by another leaked block   */
    RS_CLASS_CYCLE        = 4, /* refcounted, held only by a garbage cycle    */
    RS_CLASS_LEAKED_REF   = 5, /* refcounted, refcount > pointers found       */
    RS_CLASS_COUNT        = 6
} rs_class_t;

/* Stable lower-case names used in JSON and on the command line:
 * "reachable", "leaked", "indirect", "cycle", "leaked_ref". */
const char *rs_class_name(rs_class_t c);
/* Returns the class named by s, or RS_CLASS_UNCLASSIFIED if unknown. */
rs_class_t rs_class_from_name(const char *s);

/* ---- blocks (graph nodes) ------------------------------------------- */

enum {
    RS_NODE_REFCOUNTED = 1u << 0, /* has a reference count (type_id != 0)   */
    RS_NODE_RC_SIGNED  = 1u << 1, /* the counter field is signed            */
    RS_NODE_RC_FROM_EVENTS = 1u << 2, /* count kept from incref/decref events */
    RS_NODE_IGNORED    = 1u << 3, /* refscope_ignore(): treated as a root    */
    RS_NODE_PART       = 1u << 4, /* a later object of a block split into
                                     objects (objnodes.h); the block starts
                                     at the nearest node before without it */
};

/* Bits 8-19 of rs_node_t.flags: the size, in 8-byte words, of a header
 * before the object in the block (a recognised object after CPython's
 * PyGC_Head, recognize.h).  Pointers into the header are not references
 * (heapscan.h) and field offsets count from the object's start. */
#define RS_NODE_HEADER_SHIFT 8
#define RS_NODE_HEADER_MAX   0xfffu      /* words */

typedef struct rs_node {
    uint64_t addr;       /* user address of the block                       */
    uint64_t size;       /* requested size in bytes                         */
    uint32_t stack_id;   /* allocation stack, 0 = unknown                   */
    uint32_t type_id;    /* 0 = plain block                                  */
    uint32_t flags;      /* RS_NODE_*                                        */
    uint32_t rc_offset;  /* byte offset of the counter inside the block     */
    uint8_t  rc_width;   /* 0 (no field), 1, 2, 4 or 8 bytes                */
    uint8_t  cls;        /* rs_class_t, filled in by classification         */
    uint16_t obj_offset; /* in-process only, not stored: bytes from the
                            object's start (after any header) to the
                            refcounted object's pointer (a GObject's
                            instance after its private data), the one place
                            a pointer of the block to itself references it;
                            0 = the start (heapscan.h)                      */
    uint32_t owner;      /* for INDIRECT: index of the node it is charged to;
                            for CYCLE: cycle group id; else UINT32_MAX      */
    int64_t  refcount;   /* valid when RS_NODE_REFCOUNTED                   */
    uint32_t alloc_tid;  /* thread that allocated it (kernel tid)           */
    uint32_t seq;        /* allocation sequence number (low 32 bits)        */
} rs_node_t;

/* Header bytes before the object in node n (see RS_NODE_HEADER_SHIFT). */
static inline uint32_t rs_node_header(const rs_node_t *n)
{
    return ((n->flags >> RS_NODE_HEADER_SHIFT) & RS_NODE_HEADER_MAX) * 8u;
}

typedef struct rs_edge {
    uint32_t dst;        /* target node index                               */
    uint32_t offset;     /* byte offset of the pointer inside the source    */
} rs_edge_t;

/* ---- roots ---------------------------------------------------------- */

typedef enum rs_root_kind {
    RS_ROOT_GLOBAL      = 1, /* writable segment of a module (data, bss)   */
    RS_ROOT_STACK       = 2, /* live part of a thread's stack              */
    RS_ROOT_REGISTERS   = 3, /* saved registers of a thread                */
    RS_ROOT_TLS         = 4, /* static TLS block / thread descriptor       */
    RS_ROOT_DYNAMIC_TLS = 5, /* dynamic TLS block reached via the DTV      */
    RS_ROOT_USER        = 6, /* refscope_root() region                     */
    RS_ROOT_IGNORED     = 7, /* refscope_ignore()d block                   */
    RS_ROOT_MMAP        = 8, /* anonymous memory the program mapped itself */
} rs_root_kind_t;
#define RS_ROOT_KIND_LAST RS_ROOT_MMAP

const char *rs_root_kind_name(rs_root_kind_t k);

typedef struct rs_root {
    uint64_t start;      /* address of the region                           */
    uint64_t size;       /* bytes                                           */
    uint32_t kind;       /* rs_root_kind_t                                  */
    uint32_t module;     /* GLOBAL: module index; else UINT32_MAX           */
    uint32_t tid;        /* STACK/REGISTERS/TLS: kernel thread id, else 0   */
    uint32_t flags;      /* RS_ROOT_FLAG_*; in-process only, not stored      */
} rs_root_t;

/* Only pointers to the first byte of a block count from this root.  Set on
 * the C library's own data: glibc's main_arena holds pointers to chunk
 * headers, which fall inside or one past the end of the neighbouring user
 * block and would otherwise keep leaked blocks "reachable". */
#define RS_ROOT_FLAG_EXACT 1u

typedef struct rs_root_edge {
    uint32_t root;       /* index into roots                                */
    uint32_t dst;        /* node index                                      */
    uint64_t offset;     /* byte offset of the pointer inside the region   */
} rs_root_edge_t;

/* The heap graph: nodes, edges, roots and root edges. */
/* [start, end) of the address space. */
typedef struct rs_span {
    uint64_t start, end;
} rs_span_t;

typedef struct rs_heap {
    rs_node_t      *nodes;
    uint32_t        n_nodes;
    uint32_t       *edge_start;   /* n_nodes + 1 entries                    */
    rs_edge_t      *edges;
    uint64_t        n_edges;
    rs_root_t      *roots;
    uint32_t        n_roots;
    rs_root_edge_t *root_edges;
    uint64_t        n_root_edges;
    /* In-process only, not stored: parts of roots and blocks known to
     * hold no pointer (pages never touched), sorted and disjoint; the
     * scans skip them.  NULL: none. */
    const rs_span_t *holes;
    uint32_t        n_holes;
    /* Bit e % 64 of weak_edges[e / 64] is set when edge e is a pointer
     * that holds no reference (a profile's `weak offset=`, profile.h):
     * trial deletion does not count it, nor do the findings' pointers.
     * NULL: none.  Stored (WEAK_EDGES, snapshot_format.h). */
    const uint64_t *weak_edges;
    /* Bit e % 64 of registry_edges[e / 64] is set when edge e is a
     * registry's pointer (a profile's `registry` line, profile.h;
     * registry_edges.h): it holds no reference and confers no liveness
     * (reachability does not follow it).  Every such edge is marked weak
     * too.  NULL: none.  In-process only: stored as weak edges. */
    const uint64_t *registry_edges;
    /* Blocks a registry keeps for an object, its own (GLib's handler lists
     * of an instance): owned[k].dst lives iff owned[k].owner does, and is
     * charged to it; sorted by owner.  In-process only. */
    const struct rs_owned_edge *owned;
    uint32_t        n_owned;
} rs_heap_t;

/* A block `dst` that a registry keeps for the object of node `owner`. */
typedef struct rs_owned_edge {
    uint32_t owner, dst;
} rs_owned_edge_t;

/* 1 when edge e of h is a registry's pointer (rs_heap_t.registry_edges). */
static inline int rs_heap_edge_registry(const rs_heap_t *h, uint64_t e)
{
    return h->registry_edges && (h->registry_edges[e / 64] >> (e % 64) & 1);
}

/* 1 when edge e of h holds no reference (rs_heap_t.weak_edges). */
static inline int rs_heap_edge_weak(const rs_heap_t *h, uint64_t e)
{
    return h->weak_edges && (h->weak_edges[e / 64] >> (e % 64) & 1);
}

/* ---- modules and stacks ---------------------------------------------- */

#define RS_EPOCH_LIVE UINT32_MAX

typedef struct rs_segment {
    uint64_t start, end;          /* [start, end) in the process            */
    uint32_t flags;               /* PF_R/PF_W/PF_X                          */
} rs_segment_t;

typedef struct rs_module {
    char        *path;            /* absolute path of the ELF file           */
    uint8_t      build_id[20];
    uint8_t      build_id_len;    /* 0 when the file has none                */
    uint64_t     load_bias;       /* l_addr: runtime = file vaddr + bias     */
    rs_segment_t *segments;       /* PT_LOAD segments                        */
    uint32_t     n_segments;
    uint32_t     load_epoch;      /* module-table epoch it appeared in       */
    uint32_t     unload_epoch;    /* epoch it disappeared in, or LIVE        */
} rs_module_t;

typedef struct rs_stack {
    uint32_t        epoch;        /* module-table epoch when captured        */
    uint32_t        n_frames;
    const uint64_t *pcs;          /* innermost first, return addresses       */
} rs_stack_t;

/* A Python frame in a stack (python_frames.c in the preload): a pseudo
 * program counter with the top bit set, which no user-space code address
 * has, naming entry `index` of the process's Python locations (the
 * snapshot's PY_LOCATIONS, snapshot_format.h).  Such a frame stands where
 * the interpreter's _PyEval_EvalFrameDefault frame that ran it was. */
#define RS_PYFRAME_TAG (1ull << 63)

static inline int rs_pc_is_python(uint64_t pc)
{
    return (pc & RS_PYFRAME_TAG) != 0;
}

static inline uint64_t rs_pc_python(uint32_t index)
{
    return RS_PYFRAME_TAG | index;
}

/* The location index of a Python pseudo pc (UINT32_MAX and above: none). */
static inline uint64_t rs_pc_python_index(uint64_t pc)
{
    return pc & ~RS_PYFRAME_TAG;
}

/* Where a Python frame was: its code's qualified name, its file name and
 * the line it ran.  Strings are never NULL. */
typedef struct rs_pyloc {
    const char *function;     /* co_qualname ("Leaky.make", "<module>")   */
    const char *file;         /* co_filename as the interpreter has it     */
    uint32_t    line;         /* 0 when unknown                            */
} rs_pyloc_t;

/* One frame of a thread's call stack as unwound when the analysis ran
 * (the world stopped).  Frames of a thread are numbered from depth 0, the
 * innermost; frame d's locals lie in [sp, sp of frame d + 1) (the last
 * frame's up to the stack's top).  pc is the interrupted instruction for
 * depth 0 of a stopped thread, a return address otherwise. */
typedef struct rs_thread_frame {
    uint64_t pc;
    uint64_t sp;          /* the frame's stack pointer (callee's CFA)       */
    uint32_t tid;         /* kernel thread id                               */
    uint32_t depth;       /* 0 = innermost                                  */
} rs_thread_frame_t;

/* ---- refcounted objects: reference history and refcount errors ------- */

typedef enum rs_ref_op {
    RS_REF_CTOR   = 1,
    RS_REF_INCREF = 2,
    RS_REF_DECREF = 3,
} rs_ref_op_t;

/* One reference event: 12 bytes. */
typedef struct rs_ref_event {
    uint32_t stack_id;   /* stack depot id, 0 = unknown                    */
    uint32_t seq;        /* order against ctor entries (refhistory.h)      */
    uint16_t thread;     /* small thread index assigned by the preload     */
    uint8_t  op;         /* rs_ref_op_t                                    */
    uint8_t  reserved;
} rs_ref_event_t;

/* The history of every refcounted node, CSR style like edges: the events
 * of node i are events[event_start[i] .. event_start[i+1]), oldest first.
 * A node's history may be compacted (balanced pairs dropped). */
typedef struct rs_ref_history {
    uint32_t       *event_start;  /* n_nodes + 1 entries, or NULL (none)    */
    rs_ref_event_t *events;
    uint64_t        n_events;
} rs_ref_history_t;

typedef enum rs_rc_error_kind {
    RS_RC_DECREF_UNKNOWN     = 1, /* decref of a freed or never-seen object */
    RS_RC_UNDERFLOW          = 2, /* the count went below zero              */
    RS_RC_FREE_REFERENCED    = 3, /* free() while the count was above zero  */
    RS_RC_INCREF_AFTER_FINAL = 4, /* incref/decref after the final decref   */
    RS_RC_ERROR_KIND_COUNT   = 5
} rs_rc_error_kind_t;

/* Stable names for JSON: "decref_unknown", "underflow", "free_referenced",
 * "use_after_final". */
const char *rs_rc_error_name(rs_rc_error_kind_t k);

/* A refcount error as it happened (reported at once on stderr too). */
typedef struct rs_rc_error {
    uint32_t kind;           /* rs_rc_error_kind_t                          */
    uint32_t type_id;        /* 0 when unknown                              */
    uint64_t addr;           /* the object pointer passed to the hook       */
    int64_t  count;          /* the counter value after the faulty event    */
    uint32_t stack_id;       /* where it happened                           */
    uint32_t other_stack_id; /* the earlier event it conflicts with (the
                                final decref, the free, ...), 0 if none     */
    uint32_t tid;            /* kernel thread id                            */
    uint32_t reserved;
} rs_rc_error_t;

/* ---- process and results --------------------------------------------- */

typedef struct rs_proc_info {
    int32_t  pid, ppid;
    int32_t  exit_status;         /* valid when has_exit_status              */
    uint8_t  has_exit_status;
    uint8_t  reason;              /* 0 exit, 1 snapshot request, 2 check     */
    uint32_t seq;                 /* snapshot sequence number in the process */
    uint64_t time_ns;             /* CLOCK_REALTIME when taken               */
    char    *exe;                 /* /proc/self/exe                          */
    char   **argv;                /* argc entries                            */
    uint32_t argc;
    char    *label;               /* snapshot label, "exit", or the fatal signal ("SIGSEGV") */
} rs_proc_info_t;

typedef struct rs_tally {
    uint64_t bytes;
    uint64_t blocks;
} rs_tally_t;

typedef struct rs_summary {
    rs_tally_t by_class[RS_CLASS_COUNT];  /* indexed by rs_class_t           */
    uint32_t   cycle_groups;
    uint64_t   leaked_refs;               /* unexplained references in all   */
    uint32_t   rc_errors;
} rs_summary_t;

/* Fills summary->by_class from heap->nodes[].cls; other fields untouched. */
void rs_summary_count(const rs_heap_t *heap, rs_summary_t *summary);

#endif /* RS_MODEL_H */
