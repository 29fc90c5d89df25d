/*
 * preload.h - private interface between the files of librefscope.so
 * (except the thread side, whose contract is threadroots.h).  Prototypes
 * are grouped under the file that defines them.  Nothing here is exported
 * from the library: the CMake target builds with hidden visibility and only
 * RS_EXPORT functions (the interposed entry points) are visible.
 *
 * Lock order (outermost first): module table lock (modules.c) -> stack
 * depot shard locks -> the block registry lock -> its log locks -> the rs_mem backend's
 * allocator locks.  No refscope lock is ever held while calling program
 * code; the hot path takes at most one lock at a time.
 */
#ifndef RS_PRELOAD_H
#define RS_PRELOAD_H

#include "blockreg.h"
#include "call_site.h"
#include "rootvec.h"
#include "rs_likely.h"
#include "rs_model.h"
#include "stackdepot.h"
#include "threadroots.h"

#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#define RS_EXPORT      __attribute__((visibility("default")))

/* ---- real_alloc.c: the real allocator and the bootstrap pool -------- */

typedef struct rs_real_alloc {
    void  *(*malloc)(size_t);
    void   (*free)(void *);
    void  *(*calloc)(size_t, size_t);
    void  *(*realloc)(void *, size_t);
    int    (*posix_memalign)(void **, size_t, size_t);
    void  *(*aligned_alloc)(size_t, size_t);
    void  *(*memalign)(size_t, size_t);
    void  *(*valloc)(size_t);
    void  *(*pvalloc)(size_t);
    size_t (*malloc_usable_size)(void *);
} rs_real_alloc_t;

/* The next definitions of the allocator functions (dlsym RTLD_NEXT);
 * all NULL until rs_real_resolve() succeeded. */
extern rs_real_alloc_t rs_real;

/* Resolves rs_real.  Returns 0, or -1 if called recursively from inside
 * the resolution on this thread or if a symbol is missing (the caller
 * then answers from the bootstrap pool). */
int rs_real_resolve(void);
/* Says once on stderr when the program's own malloc or free comes before
 * refscope's (the program defines them): nothing would be tracked.  Call
 * at start-up, after rs_modules_init(). */
void rs_real_check_shadowed(void);
/* Bootstrap pool: zeroed static memory that is never reused.  Returns
 * NULL (errno ENOMEM) when the pool is exhausted. */
void  *rs_real_pool_alloc(size_t size, size_t align);
size_t rs_real_pool_size(const void *p);
/* Whether p lies in the pool: one subtraction and compare, inline (every
 * free and realloc asks). */
#define RS_REAL_POOL_BYTES (256u * 1024u)
extern char rs_real_pool_mem[RS_REAL_POOL_BYTES] __attribute__((visibility("hidden")));
static inline int rs_real_pool_owns(const void *p)
{
    return (uintptr_t)p - (uintptr_t)rs_real_pool_mem < RS_REAL_POOL_BYTES;
}

/* ---- run_marker.c: the process's mark for `refscope run` ------------ */

/* With REFSCOPE_MARK_RUNNING: writes REFSCOPE_OUT/.running.<pid> (at
 * start-up, after an exec, in a fork child), and removes it once the
 * process's end was analysed.  Never change errno. */
void rs_run_marker_begin(void);
void rs_run_marker_end(void);
/* Before an exec with envp, and after one failed (analysed: whether the
 * process is still analysed at its end): see run_marker.c. */
void rs_run_marker_exec(char *const envp[]);
void rs_run_marker_exec_failed(int analysed);

/* ---- settings.c: REFSCOPE_* environment variables ------------------- */

#define RS_SETTINGS_LIST_MAX 4096   /* bytes of a list-valued setting     */

typedef struct rs_settings {
    int      enable;          /* REFSCOPE_ENABLE: 0 = pass-through        */
    int      quiet;           /* REFSCOPE_QUIET: no stderr summary        */
    int      depth;           /* REFSCOPE_DEPTH: frames per stack         */
    int      exitcode;        /* REFSCOPE_EXITCODE, or -1 when unset      */
    char     out_dir[PATH_MAX]; /* REFSCOPE_OUT                           */
    int      snapshot_signal; /* REFSCOPE_SNAPSHOT_SIGNAL, 0 = off         */
    int      stop_signal;     /* REFSCOPE_STOP_SIGNAL, 0 = SIGPWR (world.c) */
    int      stop_ptrace;     /* REFSCOPE_STOP_PTRACE (ptrace_stop.c)    */
    uint64_t snapshot_interval_ms; /* REFSCOPE_SNAPSHOT_INTERVAL, 0 = off  */
    char     hooks[4096];     /* REFSCOPE_HOOKS: profile list, "" = none  */
    int      history;         /* REFSCOPE_HISTORY: events kept per object
                                 before compaction, 0 = no history        */
    int      stats;           /* REFSCOPE_STATS: bookkeeping line on stderr
                                 after each analysis (stats.c)            */
    int      unwind;          /* REFSCOPE_UNWIND: RS_UNWIND_*             */
    int      scrub;           /* REFSCOPE_SCRUB: zero freed blocks
                                 (alloc_hooks.c)                          */
    char     suppressions[RS_SETTINGS_LIST_MAX]; /* REFSCOPE_SUPPRESSIONS:
                                 absolute paths separated by ':', "" = none */
    char     tool[PATH_MAX];  /* REFSCOPE_TOOL: refscope for the gate, ""
                                 = look for it (exit_gate.c)              */
    int      entry_hooks;     /* REFSCOPE_ENTRY_HOOKS: 0 GOT hooks only, 1
                                 entry hooks too, 2 and say per function
                                 (refhooks.c, entry_hook.h)               */
    int      mark_running;    /* REFSCOPE_MARK_RUNNING (run_marker.c)     */
} rs_settings_t;

enum { RS_UNWIND_FAST = 0, RS_UNWIND_LIBUNWIND = 1, RS_UNWIND_CHECK = 2 };

/* Read-only after rs_settings_load(). */
extern rs_settings_t rs_settings;

/* Reads every REFSCOPE_* variable; a malformed value is reported in one
 * line on stderr and the default is used, and so is a REFSCOPE_* name
 * that is no setting.  Never fails. */
void rs_settings_load(void);
/* dst (PATH_MAX bytes) = path, a relative one made absolute against the
 * current directory.  Returns 0, or -1 if it does not fit. */
int rs_settings_make_absolute(char *dst, const char *path);

/* ---- diag.c: messages on stderr without stdio or malloc ------------- */

typedef struct rs_line {
    char   buf[PATH_MAX + 512];
    size_t len;               /* text beyond the buffer is dropped        */
} rs_line_t;

void rs_line_str(rs_line_t *l, const char *s);
/* s as text that stays on its line: control bytes and backslashes as C
 * escapes (\n, \t, \r, \\, \x1b); for values a user gave (settings,
 * paths), which may hold a newline. */
void rs_line_quoted(rs_line_t *l, const char *s);
/* The same for the n bytes at s. */
void rs_line_quoted_mem(rs_line_t *l, const char *s, size_t n);
/* The n bytes at s. */
void rs_line_mem(rs_line_t *l, const char *s, size_t n);
void rs_line_u64(rs_line_t *l, uint64_t v);
void rs_line_i64(rs_line_t *l, int64_t v);
/* "0x1f2e". */
void rs_line_hex(rs_line_t *l, uint64_t v);
/* "1 block" / "2 blocks". */
void rs_line_count(rs_line_t *l, uint64_t n, const char *one, const char *many);
/* Keeps a spare duplicate of stderr (see diag.c); call at start-up. */
void rs_diag_init(void);
/* In a fork child: drop the spare duplicate. */
void rs_diag_atfork_child(void);
/* Writes the line to stderr with write(2), retrying on EINTR; errors are
 * ignored.  The caller includes the trailing newline; a line that filled
 * the buffer without one ends in "...\n" instead of its last 4 bytes. */
void rs_diag_emit(const rs_line_t *l);
/* Says once per process that refscope ran out of memory. */
void rs_diag_oom(void);

/* ---- held_signal.c: signals refscope's own writes would raise -------- */

/* Blocks sig (SIGPIPE, SIGXFSZ) on this thread around a system call of
 * refscope's; rs_signal_release takes back one the call raised and
 * restores the mask.  Async-signal-safe. */
typedef struct rs_held_signal {
    int      sig;
    int      was_pending;   /* the program's own, left pending          */
    sigset_t mask;          /* the thread's mask before                 */
} rs_held_signal_t;
void rs_signal_hold(rs_held_signal_t *h, int sig);
void rs_signal_release(rs_held_signal_t *h);

/* ---- fd_limit.c: room above the descriptor limit, for a moment ------- */

/* Raises the soft RLIMIT_NOFILE to soft (at most the hard limit) when it
 * is lower; returns 1 with the limits before in *saved (give them back
 * with rs_fd_limit_restore() once the descriptor is made), else 0. */
int rs_fd_limit_raise(rlim_t soft, struct rlimit *saved);
void rs_fd_limit_restore(const struct rlimit *saved);

/* A close-on-exec copy of fd at min or above; under a soft limit at or
 * below min, made with the soft limit raised for a moment when the hard
 * one allows, else at the highest free number (so that the program's own
 * open() still returns the numbers it would natively; a program that
 * opens descriptors until EMFILE gets one fewer).  -1 when all of that
 * fails.  errno is kept. */
int rs_fd_dup_high(int fd, int min);

/* ---- proc_file.c: small /proc and /sys files ------------------------- */

/* Reads up to size - 1 bytes of path into buf, NUL-terminated; returns
 * the byte count, or -1 (nothing read) when it cannot be opened or read.
 * One read(2): enough for the files it serves (a thread's status, a
 * /sys setting).  Async-signal-safe; errno kept. */
ssize_t rs_proc_file_read(const char *path, char *buf, size_t size);

/* ---- init.c: start-up, global state, fork ---------------------------- */

/* Non-zero once start-up completed with REFSCOPE_ENABLE on: the hooks
 * record.  Plain int read on the hot path; written only at start-up. */
extern int rs_active;
/* The pid of the process refscope set up: at start-up and in a fork child
 * (exit_hooks.c compares it with the kernel's); rs_forked: this process
 * is a fork child.  Written at start-up and in the fork child handler. */
extern pid_t rs_self_pid;
extern int rs_forked;
extern rs_stackdepot_t *rs_depot;
/* The registry of tracked blocks (blockreg.h); NULL before start-up. */
extern rs_blockreg_t *rs_blocks;

/* Runs start-up if it has not been tried yet and libc is ready; returns
 * rs_active.  Cheap after the first call. */
int rs_init_now(void);
/* Whether start-up has begun (it may have left refscope inactive:
 * REFSCOPE_ENABLE=0, or a failure). */
int rs_init_begun(void);
/* The program's argc and argv as librefscope.so's constructor saw them
 * (0 and NULL before; the strings are the program's, which may rewrite
 * them). */
extern int rs_start_argc;
extern char **rs_start_argv;

/* ---- alloc_hooks.c: the interposed allocator ------------------------ */

/* Kernel thread id of the caller, cached per thread. */
uint32_t rs_alloc_thread_tid(void);
/* In a fork child: forget the cached thread id; the other threads' block
 * logs are released. */
void rs_alloc_atfork_child(void);
/* The calling thread ends (threads.c): its block log is released. */
void rs_alloc_thread_end(void);
/* Copies len bytes at addr into buf with process_vm_readv: 0, or -1 when
 * they are not all readable (never faults; about a microsecond). */
int rs_safe_read(uint64_t addr, void *buf, size_t len);
/* The tracked block starting exactly at addr: 1 and *out filled, or 0.
 * Safe for any address (block_lookup.c). */
int rs_block_lookup(uint64_t addr, rs_block_t *out);
/* The tracked block holding obj, found by its start at most probe bytes
 * below obj: 1 and *out filled, or 0.  obj_readable: obj's page is known
 * to be readable (the program just used the object), so records on it
 * are read directly; others are read with a system call that fails
 * cleanly on unmapped memory. */
int rs_block_containing(uint64_t obj, uint64_t probe, int obj_readable, rs_block_t *out);
/* From post: the `newref` call of hook id (profile.h) returning returned
 * obj, whose counter now reads count: stamps obj's block with the call's
 * stack when the object was recycled (newref.c).  1 if stamped. */
int rs_newref_stamp(uint32_t id, uint64_t obj, int64_t count);

/* ---- profile_check.c: a profile's field offsets, checked on first use -- */
struct rs_profile_set;
/* Per hook: first objects still to check its fields on (0: checked). */
extern uint8_t rs_profile_checks_left[];
/* At start-up, once the profiles are parsed. */
void rs_profile_check_init(const struct rs_profile_set *set);
void rs_profile_check_slow(struct rs_profile_set *set, uint32_t id, uint64_t obj);
/* Before hook id reads a field of obj (guard held): the fields are
 * checked against obj's block until one check was made; a field that
 * lies outside is switched off for the profile, in one line. */
static inline void rs_profile_check(struct rs_profile_set *set, uint32_t id, uint64_t obj)
{
    if (RS_UNLIKELY(rs_profile_checks_left[id]))
        rs_profile_check_slow(set, id, obj);
}
/* Per hook: results of its `typename call` function still to check. */
extern uint8_t rs_profile_names_left[];
int rs_profile_check_name_slow(struct rs_profile_set *set, uint32_t id, uint64_t obj,
                               const char *name);
/* What hook id's `typename call` function returned for obj, before it is
 * read as a name: 1 when it may be (NULL or a readable name, checked on
 * the hook's first results), else 0, and the call is switched off for the
 * profile, in one line. */
static inline int rs_profile_check_name(struct rs_profile_set *set, uint32_t id, uint64_t obj,
                                        const char *name)
{
    if (RS_UNLIKELY(rs_profile_names_left[id]))
        return rs_profile_check_name_slow(set, id, obj, name);
    return 1;
}

/* ---- backtrace.c: stack capture -------------------------------------- */

/* Computes which program counters belong to refscope (call once, after
 * rs_modules_init()). */
void rs_backtrace_init(void);
/* Captures up to max (<= RS_STACK_MAX_FRAMES) return addresses of the
 * caller's stack, refscope's own innermost frames removed, into pcs, which
 * must hold max + RS_BACKTRACE_SLACK entries.  site (call_site.h), when
 * not NULL, is the call an interposed or hooked function was entered by
 * (got_hook.c's trampolines, the allocator entry points): the walk starts
 * there and does not go through refscope's own frames (a walk that cannot
 * start there starts here, with the same result).  Returns the number of
 * frames kept (0 when unwinding failed or the stack is too short for it,
 * see rs_backtrace_thread_stack()). */
#define RS_BACKTRACE_SLACK 6
uint32_t rs_backtrace_capture(uint64_t *pcs, uint32_t max, const rs_call_site_t *site);
/* Stacks rs_backtrace_capture() walked with libunwind so far (the fast
 * walker could not, or REFSCOPE_UNWIND=libunwind). */
uint64_t rs_backtrace_fallbacks(void);
/* The interned stack of a hooked call's caller, walked from its registers
 * at the call (site) by refscope's walker: a deferred caller stack
 * (got_hook.h: rs_got_hook_defer_caller_stack), made during another walk
 * or in post.  outer: pending hooked calls above that frame.  Where the
 * walker cannot walk, the stack is the return address alone (counted as
 * a fallback). */
uint32_t rs_backtrace_caller_stack(const rs_call_site_t *site, uint32_t outer);

/* ---- python_frames.c: Python frames in the stacks (--python) ---------- */
struct rs_pyloc_table;
/* At start-up, after rs_refhooks_init(): turns Python frames on when the
 * python profile is active and the interpreter is CPython 3.11. */
void rs_python_frames_init(void);
/* Non-zero when Python frames are on; written at start-up only. */
extern int rs_python_frames_on;
uint32_t rs_python_frames_expand_slow(uint64_t *pcs, uint32_t n, uint32_t max);
/* Replaces each _PyEval_EvalFrameDefault frame of the captured stack
 * pcs[0..n) by the Python frames that eval call ran (RS_PYFRAME_TAG
 * pseudo pcs), keeping at most max frames (pcs holds max); returns the
 * new count.  A stack with Python frames already is expanded only up to
 * them.  Off: one load and a branch.  Cannot fail (what cannot be read
 * stays native). */
static inline uint32_t rs_python_frames_expand(uint64_t *pcs, uint32_t n, uint32_t max)
{
    if (RS_LIKELY(!rs_python_frames_on) || !n)
        return n;
    return rs_python_frames_expand_slow(pcs, n, max);
}
/* The process's Python locations (NULL when Python frames are off);
 * pseudo frame i names entry i. */
const struct rs_pyloc_table *rs_python_frames_locations(void);
/* Fork support: the cache's and the location table's locks. */
void rs_python_frames_lock(void);
void rs_python_frames_unlock(void);

/* ---- scan_holes.c: untouched pages of roots and blocks ----------------- */
/* Sets heap->holes to the pages of its GLOBAL roots and large blocks
 * (nodes sorted by address) never touched (/proc/self/pagemap), which
 * the scans skip; none when that cannot be read.  World stopped; rs_mem
 * memory. */
void rs_scan_holes_find(rs_heap_t *heap);

/* ---- fastunwind.c: the cached DWARF walker ----------------------------- */
/* Walks up to max frames of the caller's stack (its own frame first, or
 * the call site's frame when site is not NULL), reading only [lo, hi),
 * and stores into pcs those whose address is not in [skip_lo, skip_hi),
 * plus the last frame in any case, keep of them at most.  A return
 * address that is a hooked call's return stub (got_hook.h) is replaced by
 * the call's original one, rs_got_hook_pending_return(outer_stubs + the
 * stubs met before), and the walk goes on.  Returns the number stored, or -1 when some frame
 * is not of a shape it handles: walk with libunwind instead.  Takes over
 * frames from the calling thread's past walks where the stack words they
 * were read from are unchanged (the same frames as a full walk). */
int rs_fastunwind_trace(uint64_t *pcs, int max, int keep, uint64_t lo, uint64_t hi,
                        uint64_t skip_lo, uint64_t skip_hi, const rs_call_site_t *site,
                        uint32_t outer_stubs);
/* At start-up: the dynamic loader's code, [lo, hi) (never unloaded),
 * where a frame without unwind information ends a walk (its entry frame). */
void rs_fastunwind_init(uint64_t lo, uint64_t hi);
/* The calling thread ends: frees what the walker keeps for it (its
 * later walks keep nothing).  Async-signal-safe. */
void rs_fastunwind_thread_end(void);
/* REFSCOPE_UNWIND=check: one more stack compared with libunwind's walk,
 * mismatch non-zero when they differed, frames: those the fast walk
 * stored (the calling thread's last); the counts so far. */
void rs_fastunwind_count_check(int mismatch, uint32_t frames);
uint64_t rs_fastunwind_checked(void);
uint64_t rs_fastunwind_mismatches(void);
/* Frames the fast walker stored (those kept of its stacks), and frames it
 * took over from its thread's past walks (their stack words checked),
 * counted under REFSCOPE_UNWIND=check only. */
void rs_fastunwind_frames(uint64_t *stored, uint64_t *reused);
/* Tells rs_backtrace_capture() the calling thread's stack, [lo, hi) (lo 0:
 * unknown), so that it captures nothing (returns 0) where too little of
 * the stack is left for the unwinder: a deep recursion in a small thread
 * stack, a signal handler on a small alternate stack.  Cannot fail. */
void rs_backtrace_thread_stack(uint64_t lo, uint64_t hi);

/* ---- modules.c: the module table ------------------------------------ */

/* Builds the table from the modules loaded now.  Returns 0, or -1 when
 * memory ran out (the table may be incomplete). */
int rs_modules_init(void);
/* Re-reads the loaded modules (see modules.c for the epoch rules).  Never
 * call while the world is stopped or with the table lock held. */
void rs_modules_refresh(void);
/* Epoch to store with a stack captured now: one load, inline (read on
 * every stack walk, twice). */
extern _Atomic uint32_t rs_modules_cur_epoch;
static inline uint32_t rs_modules_epoch(void)
{
    return atomic_load_explicit(&rs_modules_cur_epoch, memory_order_relaxed);
}
/* [lo, hi) spanning librefscope.so's executable segments; 0 if unknown. */
int rs_modules_self_text(uint64_t *lo, uint64_t *hi);
/* The same for the dynamic linker (ld.so). */
int rs_modules_loader_text(uint64_t *lo, uint64_t *hi);
/* The same for the live module whose segments hold addr. */
int rs_modules_text_of(uint64_t addr, uint64_t *lo, uint64_t *hi);
/* The table position of the live module holding addr, INT_MAX if none.
 * The table is in load order, which for the modules loaded at start is
 * the global symbol search order: the executable, LD_PRELOAD's in
 * order, then their dependencies. */
int rs_modules_position(uint64_t addr);
/* Copies the table (entries share paths and segment arrays with it, which
 * are never freed).  Returns 0, or -1 when memory ran out (*out NULL). */
int rs_modules_copy(rs_module_t **out, uint32_t *n);
/* Appends a RS_ROOT_GLOBAL root for every writable PT_LOAD segment of
 * every live module except librefscope.so and the vdso; root.module is
 * the module's index in the table.  Call with rs_modules_lock() held.
 * Uses only the table (no loader lock), so it is safe while the world is
 * stopped.  Returns 0, or -1 when memory ran out. */
int rs_modules_global_roots(rs_rootvec_t *out);
/* The readable PT_LOAD segments of every live module, into *out (rs_mem;
 * *n of them).  Call with rs_modules_lock() held: the segments stay
 * mapped while it is.  Safe while the world is stopped.  Returns 0, or -1
 * when memory ran out (*n 0). */
int rs_modules_readable(rs_segment_t **out, uint32_t *n);
/* Fork support. */
void rs_modules_lock(void);
void rs_modules_unlock(void);

/* ---- dl_hooks.c: dlclose -------------------------------------------- */

/* Resolves the real dlclose (call at start-up, so that the hook itself
 * never calls dlsym and disturbs a pending dlerror()). */
void rs_dl_hooks_init(void);

/* ---- main_hook.c: main() and exit() --------------------------------- */

/* The analysing thread's state as the program left it (see main_hook.c
 * for the choice of stack pointer). */
void rs_main_self_context(rs_self_context_t *ctx);
/* Returns 1 and sets *status when the exit status is known. */
int rs_main_exit_status(int32_t *status);
/* Records that the calling thread ends the process with status (exit,
 * _exit): the analysis then reports it and uses the stub's registers,
 * copied now (a later vfork child's stub cannot change the copy).  Never
 * call it in a vfork child. */
void rs_main_note_exit(int status);

/* ---- exit_hooks.c: _exit, _Exit, quick_exit, failed exec --------------- */

/* Resolves the real _exit and exec functions (call at start-up). */
void rs_exit_hooks_init(void);
void rs_exit_hooks_atfork_child(void);
/* Whether this process may analyse itself at its end: it is the process
 * refscope set up (not a vfork child sharing its parent's memory) and not
 * a fork child whose exec failed.  Async-signal-safe. */
int rs_exit_process_is_ours(void);
/* The real _exit(status). */
__attribute__((noreturn)) void rs_exit_now(int status);
/* The C half of _exit() and _Exit() (entry stub in main_hook.c). */
__attribute__((noreturn)) void rs_quick_exit_hook(int status);
/* The C half of quick_exit() (entry stub in main_hook.c). */
__attribute__((noreturn)) void rs_quick_exit_entry(int status);
/* Notes status and the registers the entry stub saved (when this process
 * may analyse itself), then calls the real exit function name, *real
 * caching it. */
__attribute__((noreturn)) void rs_exit_noted(int status, const char *name, void **real);

/* ---- alt_stack.c: an alternate signal stack per thread ----------------- */

/* Gives the calling thread refscope's alternate signal stack unless it has
 * one (call when a thread starts). */
void rs_alt_stack_thread_begin(void);
/* Removes and unmaps it (call when the thread ends). */
void rs_alt_stack_thread_end(void);
/* In a signal handler: runs fn(arg) on a stack with need bytes of room
 * (the current one, the interrupted one below interrupted_sp, or
 * refscope's alternate stack when another is in use); -1 when none has. */
int rs_alt_stack_run(uint64_t interrupted_sp, uint64_t need, void (*fn)(void *), void *arg);

/* ---- fatal_signals.c: signals that end the process ---------------------- */

/* Stands refscope's handler in for every signal that ends the process
 * (faults, SIGABRT, SIGTERM, SIGINT...) whose action is SIG_DFL now (call
 * at start-up, rs_active set). */
void rs_fatal_signals_init(void);
/* In a fork child: the interposed sigaction()'s lock starts unlocked. */
void rs_fatal_signals_atfork_child(void);

/* ---- mappings.c: anonymous memory the program maps itself -------------- */

/* Call at start-up, after rs_modules_init() and rs_real_resolve(): the code
 * ranges whose calls are not the program's, and the changes queued before. */
void rs_mappings_init(void);
/* Held across fork and while the analysis stops the world. */
void rs_mappings_lock(void);
void rs_mappings_unlock(void);
/* Appends the kept ranges as RS_ROOT_MMAP roots, clipped to what is
 * readable (after rs_threadroots_collect, world stopped, lock held).
 * 0, or -1 out of memory. */
int rs_mappings_roots(rs_rootvec_t *out);
/* Bytes kept (REFSCOPE_STATS). */
uint64_t rs_mappings_bytes(void);

/* ---- scratch.c: analysis-time allocator ----------------------------- */

/* rs_mem backend used by refscope: the __libc_* allocator, except that
 * between rs_scratch_begin() and rs_scratch_end() allocations made by the
 * calling thread come from private mmap'ed memory, so analysis never waits
 * for a malloc lock held by a stopped thread.  rs_scratch_end() releases
 * all of it: nothing allocated in between may survive. */
void rs_scratch_install(void);
void rs_scratch_begin(void);
void rs_scratch_end(void);

/* ---- exit_analysis.c: the analysis driver --------------------------- */

typedef struct rs_analysis_result {
    rs_summary_t summary;
    int          written;             /* the snapshot file exists        */
    char         path[PATH_MAX];      /* where it is (or was meant to be) */
    char         error[512];          /* why it was not written           */
} rs_analysis_result_t;

/* Analyses the heap now and writes a snapshot; reason as in
 * rs_proc_info_t.  Returns 0 when the analysis ran (res->summary valid;
 * res->written says whether the file was written, res->error why not),
 * or -1 when it could not run (refscope inactive, another analysis in
 * progress on this thread, the world could not be stopped; said on
 * stderr where useful). */
int rs_analysis_run(const char *label, int reason, rs_analysis_result_t *res);
/* refscope_check(): analyses now (label "check", reason 2), prints the
 * summary on stderr unless REFSCOPE_QUIET and returns the number of leaked
 * blocks (classes leaked, indirect, cycle, leaked_ref); -1 when the
 * analysis could not run. */
long rs_analysis_check(void);
void rs_analysis_atfork_child(void);
/* The end-of-process analysis, at most once per process and only when
 * rs_exit_process_is_ours(): the summary on stderr, REFSCOPE_EXITCODE.
 * final = 0: from refscope's destructor inside exit(); final = 1: from
 * _exit() (the process ends right after: no malloc, see rs_analysis_run
 * in exit_analysis.c).  Returns when the process goes on ending. */
void rs_analysis_at_exit(int final);
/* The same for a fatal signal sig (final mode), ctx the interrupted
 * thread's state; never changes how the process ends.  Async-signal
 * context: skips (one line on stderr) when another analysis holds the
 * lock. */
void rs_analysis_at_signal(int sig, const rs_self_context_t *ctx);

/* ---- exit_gate.c: REFSCOPE_SUPPRESSIONS at exit ------------------------ */

/* SET_FUNC parser of REFSCOPE_SUPPRESSIONS: files separated by ':' into
 * field (char[RS_SETTINGS_LIST_MAX]), each made absolute, empty entries
 * dropped.  Returns 0, or -1 (field unchanged) when the list is empty
 * or does not fit. */
int rs_gate_parse_suppressions(const char *value, void *field);
/* Whether the leaks of the exit analysis res fail REFSCOPE_EXITCODE: 1
 * without REFSCOPE_SUPPRESSIONS; with it, what `refscope check` says about
 * res's snapshot (0 passed, 1 failed).  Fails closed: when the tool cannot
 * be found, run or read its inputs, says so in one line on stderr and
 * returns 1.  Call with something leaked only: it runs a process. */
int rs_gate_fails(const rs_analysis_result_t *res);

/* ---- stack_frames.c: every thread's call stack at analysis time ------ */

/* Call before rs_world_stop(), after rs_scratch_begin(), world running:
 * records every module's unwind table (dl_iterate_phdr) for the next
 * rs_stack_frames_collect().  Returns 0, or -1 when nothing can be
 * unwound (no memory, libunwind unusable); collect then finds no frames. */
int rs_stack_frames_prepare(void);
/* Creates libunwind's address space (it mallocs): call at start-up, so
 * that an analysis in a fatal-signal handler does not. */
void rs_stack_frames_init(void);
/* World stopped: unwinds the calling thread from its current context,
 * keeping the frames at or above self->program_sp, and every stopped
 * thread from its saved registers, at most 64 frames each; never faults
 * (every read is checked).  *out (rs_mem) holds *n frames sorted by tid,
 * then depth.  Returns 0, or -1 when memory ran out (*out keeps the frames
 * found so far). */
int rs_stack_frames_collect(const rs_self_context_t *self, rs_thread_frame_t **out,
                            uint32_t *n);

/* ---- stats.c: REFSCOPE_STATS ------------------------------------------ */

/* With REFSCOPE_STATS=1, writes one line on stderr: live blocks, bytes of
 * block records, stack depot (and stack count), object table and reference
 * history, and bookkeeping bytes per live block.  Call at the end of an
 * analysis, world running, guard set.  Does nothing otherwise; cannot
 * fail (a write error is ignored). */
/* Prints the stats line when REFSCOPE_STATS=1: bookkeeping bytes, the
 * analysis' wall time and how long the other threads were stopped. */
void rs_stats_report(uint64_t analysis_ns, uint64_t stopped_ns);
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t rs_stats_now_ns(void);

#endif /* RS_PRELOAD_H */
