/*
 * snapshot_format.h - the on-disk layout of a refscope snapshot (.rsnap).
 *
 * A snapshot file is a fixed header, a section directory and the sections
 * the directory points at.  Fixed-width integers are little-endian.  Inside
 * sections numbers are LEB128 varints (7 bits a byte, low group first, high
 * bit = "more"), so a small number costs one byte whatever its C type;
 * signed numbers and deltas are zigzag-mapped first (0,-1,1,-2 -> 0,1,2,3).
 * Every byte of a valid file is covered by a CRC-32 (IEEE 802.3, the zlib
 * one): the header CRC covers the header and the directory, and each
 * directory entry holds the CRC of its section.
 *
 * Versioning: a reader refuses a file whose major version is greater than
 * its own and accepts any minor version.  A minor version may add section
 * types (readers skip types they do not know, after checking their bounds
 * and CRC) and grow the header (readers skip header bytes past the ones
 * they know).  Changing the encoding of an existing section is a major
 * change.  The required sections (types 1..RS_SNAP_SECT_REQUIRED) must be
 * present exactly once; the optional ones (RC_HISTORY, RC_ERRORS, added in
 * 1.1, THREAD_FRAMES, added in 1.2, WEAK_EDGES, added in 1.4,
 * PY_LOCATIONS, added in 1.5) at most once, and a file without them
 * (every 1.0 file) reads as "no history" and "no refcount errors" (and a
 * file without THREAD_FRAMES as "no frames known", without WEAK_EDGES as
 * "every edge a reference", without PY_LOCATIONS as "no Python frame").  Every known section present
 * must be consumed exactly, with no bytes left over.
 *
 * History: 1.0 the first format; 1.1 adds RC_HISTORY and RC_ERRORS; 1.2
 * adds THREAD_FRAMES; 1.3 adds the root kind RS_ROOT_MMAP (a 1.2 reader
 * refuses a file holding such a root, naming the root and its kind, and
 * reads every other 1.3 file); 1.4 adds WEAK_EDGES (a 1.3 reader skips it
 * and counts those pointers as references); 1.5 adds PY_LOCATIONS and
 * Python pseudo frames in STACKS (a 1.4 reader skips the section and
 * shows such a frame as an unknown address).
 *
 * Writer: snapshot_write.c.  Reader: snapshot_read.c.  Shared helpers
 * (error formatting, section names): snapshot.c; the CRC-32: crc32.c.
 *
 * ---- File header (RS_SNAP_HEADER_SIZE = 32 bytes at offset 0) ----------
 *
 *   Offset Size Description
 *   0      8    Magic "RSNAP\0\r\n" (catches text-mode mangling)
 *   8      2    Major version (RS_SNAP_VERSION_MAJOR)
 *   10     2    Minor version (RS_SNAP_VERSION_MINOR)
 *   12     4    Header size H in bytes (>= 32); the directory starts at H
 *   16     8    File size in bytes (detects truncation and appended junk)
 *   24     4    Number of directory entries N (<= RS_SNAP_MAX_SECTIONS)
 *   28     4    CRC-32 of bytes [0, 28), then [32, H + 32 * N)
 *
 * ---- Directory entry (RS_SNAP_DIRENT_SIZE = 32 bytes, N of them at H) --
 *
 *   Offset Size Description
 *   0      4    Section type (RS_SNAP_SECT_*)
 *   4      4    CRC-32 of the section's bytes
 *   8      8    Offset of the section in the file (>= H + 32 * N)
 *   16     8    Length of the section in bytes (offset + length <= size)
 *   24     8    Record count (meaning given per section below)
 *
 * Sections carry no padding and need no alignment.  The writer lays them
 * out back to back in the order of the RS_SNAP_SECT_* values below, right
 * after the directory, which has exactly one entry per section written
 * (so no byte of the file is outside the header CRC or a section CRC).
 *
 * ---- Encodings used in the section tables ------------------------------
 *
 *   v    varint (unsigned LEB128, at most 10 bytes; a u32 field must fit)
 *   s    zigzag varint (signed)
 *   e    epoch: varint of (epoch + 1) mod 2^32, so RS_EPOCH_LIVE is 0
 *   o    optional index: varint of (index + 1) mod 2^32, UINT32_MAX is 0
 *   str  string: varint L; L == 0 is NULL, else L-1 bytes follow, without
 *        terminator; a string may not contain a NUL byte
 *
 * ---- META (count 1): rs_proc_info_t -------------------------------------
 *
 *   s pid, s ppid, s exit_status, v has_exit_status (0 or 1),
 *   v reason (< 256), v seq, v time_ns, str exe, v argc, argc x str argv,
 *   str label
 *
 * ---- MODULES (count n_modules) -------------------------------------------
 *
 *   v total number of segments of all modules, then per module:
 *   str path, v build_id_len (<= 20), build_id_len raw bytes,
 *   v load_bias, e load_epoch, e unload_epoch, v n_segments,
 *   n_segments x { v start, v end - start, v flags }
 *
 * ---- STACKS (count n_stacks; stack id i + 1 is record i) -----------------
 *
 *   v total number of frames of all stacks, then per stack:
 *   e epoch, v n_frames, n_frames x s (pc - previous pc of this stack),
 *   the previous pc of the first frame being 0 (arithmetic mod 2^64)
 *
 * ---- TYPES (count n_types; type id i + 1 is record i) --------------------
 *
 *   per type: str name
 *
 * ---- NODES (count n_nodes): rs_node_t, sorted by strictly rising addr,
 *      never overlapping, ending below RS_SNAP_ADDRESS_END ----
 *
 *   Field         Enc  Check
 *   addr          v    addr - previous addr (the first: addr itself); > 0
 *                      for every node but the first, no overflow; at or
 *                      above the previous node's addr + size
 *   size          v    addr + size <= RS_SNAP_ADDRESS_END
 *   stack_id      v    <= n_stacks
 *   type_id       v    <= n_types
 *   flags         v    RS_NODE_* bits (unknown bits are kept); bits 8-19
 *                      the header size of a recognised object, in words
 *   rc_offset     v
 *   rc_width      v    0, 1, 2, 4 or 8
 *   cls           v    < RS_CLASS_COUNT
 *   owner         o    for RS_CLASS_INDIRECT: none or < n_nodes
 *   refcount      s
 *   alloc_tid     v
 *   seq           v
 *   (rs_node_t.obj_offset is not stored; it reads back as 0.)
 *
 *   Size: 12 bytes at least, 67 at most; a typical heap block (addresses
 *   under 16 KiB apart, small size, stack id < 16384, tid < 2^21, seq
 *   < 2^21) takes 17-21 bytes, against 56 bytes for rs_node_t in memory.
 *
 * ---- EDGES (count n_edges <= UINT32_MAX): the CSR edge arrays ------------
 *
 *   per node i, in node order: v degree (edge_start[i+1] - edge_start[i]),
 *   then degree x { s dst - i, s offset - previous offset }, the previous
 *   offset of a node's first edge being 0.  dst must be < n_nodes, offset
 *   must fit in 32 bits, and the degrees must add up to the count.
 *
 *   Size: 1 byte per node for the degree, plus 2 bytes at least and 10 at
 *   most per edge; an edge between blocks allocated close in time (node
 *   indices under 64 apart) with offsets rising by < 64 takes 2 bytes,
 *   against 8 bytes for rs_edge_t plus 4 per node for edge_start.
 *
 * ---- ROOTS (count n_roots) -----------------------------------------------
 *
 *   v start, v size (start + size must not overflow), v kind
 *   (RS_ROOT_GLOBAL..RS_ROOT_KIND_LAST; RS_ROOT_MMAP since 1.3), o module (none or < n_modules),
 *   v tid.  (rs_root_t.reserved is not stored.)
 *
 * ---- ROOT_EDGES (count n_root_edges) -------------------------------------
 *
 *   v root (< n_roots), v dst (< n_nodes), v offset
 *
 * ---- SUMMARY (count 1): rs_summary_t -------------------------------------
 *
 *   RS_CLASS_COUNT x { v bytes, v blocks } indexed by class,
 *   v cycle_groups, v leaked_refs, v rc_errors
 *   Check: each class's bytes and blocks are the NODES' of that class
 *   (rs_summary_count), so a report's findings and SUMMARY agree.
 *
 * ---- RC_HISTORY (optional, since 1.1; count n_events): rs_ref_history_t --
 *
 *   Written exactly when history.event_start is not NULL; absent means
 *   event_start == NULL (no history was kept).  Sparse: only nodes with at
 *   least one event have a record, in rising node order.
 *
 *   v number of records R (nodes with events, <= n_nodes), then R x
 *     v node index - previous record's node index - 1 (the first: the node
 *       index itself); the node must be < n_nodes and RS_NODE_REFCOUNTED
 *     v n, the node's number of events (>= 1, at most the events the
 *       count leaves), then n events, oldest first:
 *       Field     Enc  Check
 *       tag       v    stack_id << 3 | same_thread << 2 | op; op (the
 *                      low 2 bits) in RS_REF_CTOR..RS_REF_DECREF, stack_id
 *                      <= n_stacks
 *       seq       v    (seq - previous seq) mod 2^32, the previous seq of
 *                      a node's first event being 0; < 2^32
 *       thread    v    only when same_thread is 0 (else the thread is the
 *                      previous event's, 0 before a node's first event);
 *                      < 2^16
 *       (rs_ref_event_t.reserved is not stored; it reads back as 0.)
 *   The record sizes must add up to the count.  The reader rebuilds
 *   event_start (n_nodes + 1 entries) from the records.
 *
 *   Size: 2 bytes at least and 13 at most per event, against 12 in memory
 *   (plus 4 per node for event_start); an event with a stack id < 2048,
 *   taken < 16384 events after the previous one of its object on the same
 *   thread, takes 2-4 bytes.  Each object with events adds 2-4 bytes
 *   (gap and n); objects without events cost nothing.
 *
 * ---- RC_ERRORS (optional, since 1.1; count n_rc_errors): rs_rc_error_t --
 *
 *   Written exactly when n_rc_errors > 0; absent means no errors.  In the
 *   order they happened, per error:
 *
 *   Field           Enc  Check
 *   kind            v    RS_RC_DECREF_UNKNOWN..RS_RC_INCREF_AFTER_FINAL
 *   type_id         v    <= n_types
 *   addr            s    addr - previous error's addr (the first: from 0),
 *                        arithmetic mod 2^64
 *   count           s
 *   stack_id        v    <= n_stacks
 *   other_stack_id  v    <= n_stacks
 *   tid             v    < 2^32
 *   (rs_rc_error_t.reserved is not stored.)
 *
 *   Size: 7 bytes at least, 41 at most; 11-17 bytes for a typical error,
 *   against 40 in memory.
 *
 * ---- THREAD_FRAMES (optional, since 1.2; count n_thread_frames) ----------
 *
 *   Written exactly when n_thread_frames > 0; absent means no frames are
 *   known.  Every thread's call stack when the analysis ran, threads in
 *   strictly rising tid order, each thread's frames from depth 0 up:
 *
 *   e frames_epoch, v number of threads T (<= the count), then T x
 *     v tid - previous thread's tid - 1 (the first: the tid itself);
 *       < 2^32
 *     v n, the thread's number of frames (>= 1, at most the frames the
 *       count leaves), then n frames:
 *       Field  Enc  Check
 *       pc     s    pc - previous frame's pc (the first: from 0), mod 2^64
 *       sp     v    sp - previous frame's sp (the first: sp itself); sp
 *                   never goes down within a thread, no overflow
 *   Depths are not stored: frame k of a thread has depth k.  The frame
 *   counts must add up to the count.
 *
 *   Size: 2 bytes at least, 20 at most per frame; 4-8 bytes for a typical
 *   frame, against 24 in memory.  Each thread adds 2-6 bytes.
 *
 * ---- WEAK_EDGES (optional, since 1.4; count n): rs_heap_t.weak_edges -----
 *
 *   Written exactly when some edge holds no reference to its target (a
 *   profile's `weak offset=`, a back pointer: lib/model/profile.h); trial
 *   deletion did not count those edges.  n x v gap: the edges' indices in
 *   EDGES' order, rising, index = previous index + gap + 1 (the previous
 *   of the first being -1); each index < n_edges, so n <= n_edges.
 *
 *   Size: 1 byte per weak edge when they are under 128 edges apart.
 *
 * ---- PY_LOCATIONS (optional, since 1.5; count n): rs_snapshot_t.pylocs ---
 *
 *   Written exactly when n_pylocs > 0.  A STACKS frame with the top bit
 *   set (RS_PYFRAME_TAG, rs_model.h) is no code address but a Python
 *   frame: its low 63 bits index this table, and a reader refuses a file
 *   with this section in which a stack's Python frame has no entry (a
 *   file without it, every file before 1.5, is taken as it is: such a pc
 *   shows as an unknown Python frame).  Per location:
 *
 *   Field     Enc  Check
 *   function  str  not NULL (L > 0): the code object's co_qualname
 *   file      str  not NULL: its co_filename
 *   line      v    < 2^32; 0 when unknown
 *
 *   Size: the two names plus 1-3 bytes; a process has one per distinct
 *   (function, file, line) its stacks passed through.
 *
 * ---- Section types reserved for later minor versions ---------------------
 *
 *   12 LABELS (not written yet).
 */
#ifndef RS_SNAPSHOT_FORMAT_H
#define RS_SNAPSHOT_FORMAT_H

#include "snapshot.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define RS_SNAP_MAGIC          "RSNAP\0\r\n"
#define RS_SNAP_MAGIC_SIZE     8
#define RS_SNAP_VERSION_MAJOR  1
#define RS_SNAP_VERSION_MINOR  5

#define RS_SNAP_HEADER_SIZE    32
#define RS_SNAP_DIRENT_SIZE    32
#define RS_SNAP_MAX_SECTIONS   1024
/* Nodes lie below this address (x86-64's user space, 5-level paging, with
 * room to spare): a reader refuses a node that ends above it. */
#define RS_SNAP_ADDRESS_END    (1ull << 57)

/* Header field offsets. */
#define RS_SNAP_OFF_MAGIC      0
#define RS_SNAP_OFF_MAJOR      8
#define RS_SNAP_OFF_MINOR      10
#define RS_SNAP_OFF_HDRSIZE    12
#define RS_SNAP_OFF_FILESIZE   16
#define RS_SNAP_OFF_NSECT      24
#define RS_SNAP_OFF_HDRCRC     28

/* Directory entry field offsets. */
#define RS_SNAP_DIRENT_TYPE    0
#define RS_SNAP_DIRENT_CRC     4
#define RS_SNAP_DIRENT_OFFSET  8
#define RS_SNAP_DIRENT_LENGTH  16
#define RS_SNAP_DIRENT_COUNT   24

#define RS_SNAP_MAX_BUILD_ID   20
#define RS_SNAP_VARINT_MAX     10   /* bytes in the longest varint        */

/* RC_HISTORY event tag: stack_id << 3 | same_thread << 2 | op. */
#define RS_SNAP_EVENT_OP_MASK     3u
#define RS_SNAP_EVENT_SAME_THREAD 4u
#define RS_SNAP_EVENT_STACK_SHIFT 3

typedef enum rs_snap_section {
    RS_SNAP_SECT_META       = 1,
    RS_SNAP_SECT_MODULES    = 2,
    RS_SNAP_SECT_STACKS     = 3,
    RS_SNAP_SECT_TYPES      = 4,
    RS_SNAP_SECT_NODES      = 5,
    RS_SNAP_SECT_EDGES      = 6,
    RS_SNAP_SECT_ROOTS      = 7,
    RS_SNAP_SECT_ROOT_EDGES = 8,
    RS_SNAP_SECT_SUMMARY    = 9,
    RS_SNAP_SECT_RC_HISTORY = 10,   /* optional, since 1.1                 */
    RS_SNAP_SECT_RC_ERRORS  = 11,   /* optional, since 1.1                 */
    /* 12 is reserved for LABELS (see above); readers skip it. */
    RS_SNAP_SECT_THREAD_FRAMES = 13, /* optional, since 1.2                */
    RS_SNAP_SECT_WEAK_EDGES = 14,   /* optional, since 1.4                 */
    RS_SNAP_SECT_PY_LOCATIONS = 15, /* optional, since 1.5                 */
    RS_SNAP_SECT_REQUIRED   = 9,    /* types 1..this must be present       */
    RS_SNAP_SECT_KNOWN      = 15    /* highest type this version knows     */
} rs_snap_section_t;

/* ---- shared helpers, defined in snapshot.c and crc32.c ------------------ */

/* Continues a CRC-32 (IEEE, reflected, as zlib's crc32()): start with 0.
 * Never fails. */
uint32_t rs_snapshot_crc32(uint32_t crc, const void *data, size_t len);

/* "META", "NODES", ... for known types, "unknown" otherwise. */
const char *rs_snapshot_section_name(uint32_t type);

/* Formats into err->message like snprintf, truncating silently, without
 * stdio or allocation (safe in the target).  Supports %s %c %d %u %x with
 * the length modifiers l, ll and z, and %%.  err may be NULL (no-op). */
void rs_snapshot_errorf(rs_snapshot_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Like rs_snapshot_errorf(), but appends to the message already there. */
void rs_snapshot_vappendf(rs_snapshot_error_t *err, const char *fmt,
                          va_list ap) __attribute__((format(printf, 2, 0)));

/* Same as strerror() for known errno values, without allocating. */
const char *rs_snapshot_strerror(int errnum);

static inline uint64_t rs_snap_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t rs_snap_unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

#endif /* RS_SNAPSHOT_FORMAT_H */
