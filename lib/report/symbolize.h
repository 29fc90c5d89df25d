/*
 * symbolize.h - turn captured program counters into function, file:line
 * and module, offline, in the refscope tool (never in the target).
 *
 * A pc is first placed in a module of the snapshot: the module one of
 * whose PT_LOAD segments contains it and that was loaded at the stack's
 * epoch (load_epoch <= epoch < unload_epoch).  The module's file is then
 * opened with elfutils (one Dwfl per file and build id, whatever address
 * each process loaded it at) and the pc's offset in it (pc - load bias)
 * resolved from DWARF (with inlined functions expanded into extra
 * frames), else from the ELF symbol table, else left unknown ("??") with
 * the module and offset.  C++ and Rust names are shown demangled and
 * qualified (demangle.h): a DWARF function's linkage name, else the
 * symbol.  Stack pcs are return addresses, so pc - 1 is looked up while
 * the original pc is shown.
 *
 * When the snapshot recorded a build id and the file on disk has another
 * one, the file changed since the run: a warning is printed once per file
 * and its frames stay unknown rather than wrong.
 *
 * Results are cached per (module file, offset); every string in an rs_frame_t
 * belongs to the symbolizer and stays valid until rs_symbolizer_destroy().
 * Struct member names for cycle edges come from the same DWARF
 * (rs_symbolize_field).
 *
 * The symbolizer can serve several snapshots (the cache is keyed by file
 * and load bias, not by snapshot).  Not thread safe.
 */
#ifndef RS_SYMBOLIZE_H
#define RS_SYMBOLIZE_H

#include "rs_model.h"
#include "snapshot.h"

#include <stdint.h>
#include <stdio.h>

typedef struct rs_frame {
    uint64_t    address;       /* the pc as captured (a return address)      */
    const char *function;      /* for people: the C++ linkage name or symbol
                                  demangled ("os::malloc(unsigned long)"),
                                  else the plain name; NULL when unknown     */
    const char *symbol;        /* the name as the module spells it: DWARF's
                                  DW_AT_name ("malloc"), else the symbol
                                  table's, mangled; what fingerprints hash
                                  (stable across refscope versions); NULL
                                  exactly when function is                  */
    const char *file;          /* source file, NULL when unknown             */
    uint32_t    line;          /* 0 when unknown                             */
    const char *module;        /* path of the module, NULL if in none        */
    uint64_t    module_offset; /* pc - load bias, valid when module != NULL  */
    uint8_t     inlined;       /* inlined into the frame that follows it     */
    uint8_t     python;        /* a Python frame (RS_PYFRAME_TAG): function
                                  is its code's qualified name, file and line
                                  where it ran; module NULL                  */
} rs_frame_t;

typedef struct rs_symbolizer rs_symbolizer_t;

/* Creates a symbolizer.  Warnings (changed files) go to `warnings`, which
 * may be NULL to suppress them.  Returns NULL when memory is exhausted. */
rs_symbolizer_t *rs_symbolizer_create(FILE *warnings);
void rs_symbolizer_destroy(rs_symbolizer_t *s);

/*
 * Resolves pc, captured at module epoch `epoch`, against mods[0..n_mods).
 * Writes the frames of pc into out[0..max), innermost (inlined) first;
 * the last one is the real function.  Returns how many were written
 * (at least 1 when max >= 1: an unknown pc still yields one frame with
 * function == NULL), or -1 when memory is exhausted (nothing written).
 */
int rs_symbolize_pc(rs_symbolizer_t *s, const rs_module_t *mods,
                    uint32_t n_mods, uint64_t pc, uint32_t epoch,
                    rs_frame_t *out, uint32_t max);

/*
 * rs_symbolize_pc() for a pc of a stack of snap: a Python pseudo frame
 * (rs_pc_is_python) is snap's Python location (one frame, python set;
 * function NULL when snap has no such location), any other pc as
 * rs_symbolize_pc() resolves it.  Same results and errors.
 */
int rs_symbolize_snapshot_pc(rs_symbolizer_t *s, const rs_snapshot_t *snap, uint64_t pc,
                             uint32_t epoch, rs_frame_t *out, uint32_t max);

/* Largest useful buffer for rs_symbolize_stack(). */
#define RS_SYMBOLIZE_MAX_FRAMES 1024

/*
 * Symbolizes stack `stack_id` of snap into out[0..max) for display:
 * inlined frames expanded, frames inside librefscope dropped everywhere,
 * and leading allocator entry points (malloc, calloc, realloc, free, ...)
 * and refscope.h annotation wrappers inlined into the program (functions
 * named refscope_*) dropped so the first frame is the code that allocated
 * or took the reference.  Returns the
 * number of frames written (0 for stack id 0 or an unknown id), or -1
 * when memory is exhausted.
 */
int rs_symbolize_stack(rs_symbolizer_t *s, const rs_snapshot_t *snap,
                       uint32_t stack_id, rs_frame_t *out, uint32_t max);

/*
 * The name of the member at byte `offset` of the struct called type_name
 * ("Node", a typedef of a struct, or "struct node"), from the DWARF of
 * the modules that stack `stack_id` of snap runs through: tried frame by
 * frame, innermost (the allocating code) first, refscope's own module
 * skipped, the first module that describes the type wins; a dotted name
 * with no struct of that name ("leaky.Node", as CPython names types) is
 * looked up by its last component ("Node").  Nested structs
 * and arrays are spelled "link.next", "slots[3]", "slots[1].obj"; an
 * offset inside a scalar member gives that member's name.  Type lookups
 * are cached per (module file, type name), results per (type, offset).
 * Returns a string owned by the symbolizer (valid until it is destroyed),
 * or NULL when unknown (no DWARF, no such struct, offset outside it) or
 * when memory is exhausted.
 */
const char *rs_symbolize_field(rs_symbolizer_t *s, const rs_snapshot_t *snap,
                               uint32_t stack_id, const char *type_name,
                               uint64_t offset);

/*
 * rs_symbolize_field for the pointer at byte `offset` of node n (of
 * type type_name): a recognised object's field offsets count from its
 * start, after the block's header (rs_node_header()); an offset inside
 * the header has no name (NULL).
 */
const char *rs_symbolize_node_field(rs_symbolizer_t *s, const rs_snapshot_t *snap,
                                    const rs_node_t *n, const char *type_name,
                                    uint64_t offset);

/* Non-zero if path is a system library's (under /lib, /usr/lib, ...,
 * or the dynamic loader). */
int rs_symbolize_is_system_module(const char *path);

/*
 * The frame that names where a stack allocated, for one-line summaries
 * ("charged to the leak allocated in ...", group labels, chains): the
 * first of frames[0..n) with a name, outside system libraries and not
 * compiled from a toolchain's library sources (/usr/include/..., a C++
 * template; /rustc/..., Rust's standard library), so that a leak is
 * named by the program's make_widget rather than by g_malloc,
 * operator new or alloc::alloc::alloc.  An installed CPython interpreter
 * (/usr/bin/python3.11, libpython3.11.so) counts as a system library and
 * Python packages under a system directory (dist-packages, site-packages)
 * as the program's code: an extension module's frame, not the
 * interpreter's PyObject_Vectorcall.  The program's own generic
 * allocation wrappers (xmalloc, xstrdup: a name ending in a C allocator's)
 * are passed over for their caller when one is named.  When the
 * program's frames have no names (a stripped program), the last named
 * frame before them: the library function it called (g_object_new).
 * When no frame is the program's (a thread a library started, a main
 * loop's callback), the first frame outside the runtime libraries (libc,
 * libstdc++, GLib, GObject) that is not an allocator or an allocation
 * wrapper, or when that one has no name, the first named frame of its
 * module after it (gdk_window_new, not g_type_create_instance;
 * FcFontRenderPrepare, not an unnamed fontconfig frame or start_thread);
 * without one, the same inside the runtime (g_object_new, not g_malloc).
 * frames[0] when there is none; NULL when n is 0.
 */
const rs_frame_t *rs_symbolize_summary_frame(const rs_frame_t *frames, int n);

/* A frame's name for a one-line label, in buf (len bytes, truncated):
 * its function, else "??(module+0xoffset)" (module's base name), else
 * "??(0xaddress)".  Returns buf. */
const char *rs_symbolize_frame_name(const rs_frame_t *f, char *buf, size_t len);

/* Non-zero if a frame belongs to refscope itself (module librefscope*). */
int rs_symbolize_is_refscope(const rs_frame_t *f);
/* Non-zero if a frame is an allocator entry point (malloc family). */
int rs_symbolize_is_allocator(const rs_frame_t *f);

#endif /* RS_SYMBOLIZE_H */
