/*
 * alloc_hooks.c - the interposed allocator entry points.
 *
 * Every block handed out has its record in the 16 bytes before it
 * (lib/model/blockreg.h): malloc(n) asks the real allocator for n + 16
 * bytes and returns the allocation + 16; an aligned block (memalign and
 * its relatives, alignment 32 or more) starts one alignment unit into its
 * real allocation.  A block allocated while refscope records gets a
 * tracked record (stack, size, its slot in the thread's block log); any
 * other (guarded, before start-up) an untracked one, so that free,
 * realloc and malloc_usable_size can always find the real allocation.
 * Nothing here allocates through the hooks, uses stdio or changes errno
 * as the caller sees it.
 *
 * Hot path of malloc, recording on: the real malloc, the guard and
 * rs_active tests, then record_alloc(): the stack walk from the program's
 * call site (RS_CALLER_SITE, call_site.h; fastunwind.c, the dominant
 * cost), a lock-free depot lookup, the thread's log lock and the record
 * (lines the real malloc just touched).  free: the record's load, the
 * block's log lock and its slot, the real free.  No global lock anywhere.
 *
 * Rules kept (DESIGN.md "Rules of the preload layer"):
 *  - The guard is checked first; guarded, uninitialised or disabled calls
 *    are not recorded (they still get an untracked record).
 *  - The backtrace is captured before any lock is taken.
 *  - A free (and the old block of a realloc) leaves the registry BEFORE
 *    the real call, recording or not, so the registry never names freed
 *    memory.  If realloc fails the old block is registered again.
 *  - Failures behave exactly as the real allocator's: NULL/ENOMEM,
 *    posix_memalign's return codes, realloc(NULL, n); realloc(p, 0)
 *    frees p and returns NULL, as glibc's does.
 *  - A pointer whose record is not valid (a second free, a heap underflow
 *    that overwrote it, a pointer malloc never returned) is said once on
 *    stderr and passed on as the real allocator would have seen it had
 *    refscope not been there (record start = its guess), so glibc's own
 *    checks still abort a double free.
 *  - Pointers from the bootstrap pool are never passed to the real free.
 *  - The recording paths leave no block address in a caller-saved
 *    register (scrub_scratch_registers): a fatal signal's analysis takes
 *    the program's registers as roots.
 *  - free() of a block while refcounted objects are tracked also forgets
 *    the objects inside it, before the real free (refcount.c): a test of
 *    one counter when there are none.  realloc() takes them out of the
 *    object table before the real call and puts them back at the same
 *    offset in the block it returns (or the old one when it failed), and
 *    a refscope_ignore() inside it follows it; realloc(p, 0) frees p like
 *    free().  Meanwhile it holds the realloc window open (refcount.h), so
 *    that no analysis stops the world while the block and its objects are
 *    out of the tables.
 *  - realloc of an aligned block makes a plain block and copies (realloc
 *    promises only malloc's alignment, as glibc's).
 *  - With REFSCOPE_SCRUB=1 a block's bytes are zeroed before the real
 *    free (blocks of RS_SCRUB_MAX bytes or more are left: the real
 *    allocator gives those back to the system), and a realloc that grows
 *    a block past its allocation makes a new one and copies, so that the
 *    old one is zeroed too (a shrink zeroes the tail it gives back).
 *    Reused memory then holds no stale pointer to keep a leak reachable.
 */
#include "guard.h"
#include "preload.h"
#include "refcount.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

_Thread_local int rs_guard_depth __attribute__((tls_model("initial-exec")));
_Thread_local int rs_guard_deferred __attribute__((tls_model("initial-exec")));
static _Thread_local uint32_t thread_tid __attribute__((tls_model("initial-exec")));

uint32_t rs_alloc_thread_tid(void)
{
    if (RS_UNLIKELY(thread_tid == 0))
        thread_tid = (uint32_t)syscall(SYS_gettid);
    return thread_tid;
}

/* ---- block records ------------------------------------------------------ */

/* This thread's block log (blockreg.h), taken at its first tracked
 * allocation, released when the thread ends. */
static _Thread_local rs_blocklog_t *thread_log __attribute__((tls_model("initial-exec")));

void rs_alloc_atfork_child(void)
{
    thread_tid = 0;
    if (rs_blocks)
        rs_blockreg_forked(rs_blocks, thread_log);
}

void rs_alloc_thread_end(void)
{
    if (rs_blocks && thread_log) {
        rs_blockreg_release(rs_blocks, thread_log);
        thread_log = NULL;
    }
}

/* Zeroes the caller-saved general registers but rax (the return value).
 * The recording code leaves addresses of blocks in them (the one just
 * recorded, or the one in the slot it reused), and the program may keep
 * them there untouched until a fatal signal, whose analysis takes the
 * registers as roots: a leaked block would look reachable.  Free for the
 * caller (the ABI lets a call clobber them); about 8 instructions. */
static inline void scrub_scratch_registers(void)
{
#if defined(__x86_64__)
    __asm__ volatile("xor %%ecx, %%ecx\n\txor %%edx, %%edx\n\t"
                     "xor %%esi, %%esi\n\txor %%edi, %%edi\n\t"
                     "xor %%r8d, %%r8d\n\txor %%r9d, %%r9d\n\t"
                     "xor %%r10d, %%r10d\n\txor %%r11d, %%r11d"
                     ::: "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11");
#endif
}

/* True when this call must be recorded; the first allocation after libc
 * is ready starts refscope up. */
static inline int recording(void)
{
    if (RS_UNLIKELY(rs_guard_active()))
        return 0;
    return RS_LIKELY(rs_active) || rs_init_now();
}

/* Records the block [addr, addr+size), 2^shift bytes into its real
 * allocation, with the stack of the call at site, walked into pcs (room
 * for depth + RS_BACKTRACE_SLACK frames). */
static inline __attribute__((always_inline)) void
record_into(uint64_t *pcs, uint32_t depth, uint64_t addr, size_t size, rs_block_shift_t shift,
            const rs_call_site_t *site)
{
    int saved_errno = errno;
    rs_guard_enter();
    uint32_t n = rs_backtrace_capture(pcs, depth, site);
    uint32_t id = n ? rs_stackdepot_intern(rs_depot, pcs, n, rs_modules_epoch()) : 0;
    if (n)
        rs_refhooks_poll(pcs[0]);     /* a dlopen since: hook its GOT */
    if (RS_UNLIKELY(!thread_log))
        thread_log = rs_blockreg_acquire(rs_blocks, rs_alloc_thread_tid());
    if (RS_UNLIKELY(!thread_log)) {
        rs_blockreg_add_untracked(addr, size, shift);
        rs_diag_oom();
    } else if (RS_UNLIKELY(rs_blockreg_add(thread_log, addr, size, id, shift) != 0 ||
                           (n && !id))) {
        rs_diag_oom();
    }
    rs_guard_leave();
    errno = saved_errno;
    scrub_scratch_registers();
}

/* record_alloc() for a depth above the default: the frames in a VLA. */
static __attribute__((noinline)) void record_alloc_deep(uint64_t addr, size_t size,
                                                        rs_block_shift_t shift,
                                                        const rs_call_site_t *site)
{
    uint32_t depth = (uint32_t)rs_settings.depth;      /* 1..RS_STACK_MAX_FRAMES */
    uint64_t pcs[depth + RS_BACKTRACE_SLACK];
    record_into(pcs, depth, addr, size, shift, site);
}

/* Stack depths up to this one are walked into a fixed array: the frame
 * stays small (threads with tiny stacks allocate too) and needs none of
 * a VLA's arithmetic (10 instructions per allocation). */
#define RS_RECORD_FIXED_DEPTH 32

/* Records the block [addr, addr+size), 2^shift bytes into its real
 * allocation, with the stack of the call at site.  Called only when
 * recording(). */
static __attribute__((noinline)) void record_alloc(uint64_t addr, size_t size,
                                                   rs_block_shift_t shift,
                                                   const rs_call_site_t *site)
{
    uint32_t depth = (uint32_t)rs_settings.depth;
    if (RS_UNLIKELY(depth > RS_RECORD_FIXED_DEPTH)) {
        record_alloc_deep(addr, size, shift, site);
        return;
    }
    uint64_t pcs[RS_RECORD_FIXED_DEPTH + RS_BACKTRACE_SLACK];
    record_into(pcs, depth, addr, size, shift, site);
}

/* ---- frees that must wait ----------------------------------------------- */

/* While the guard is held, this thread is inside refscope and may hold a
 * block log's lock (record_alloc, release_block).  A signal handler that
 * frees or reallocs a block that names a log must then not take a log
 * lock: the lock is not recursive, the thread would wait for itself.
 * Such a free is deferred instead: the block stays allocated and
 * registered until this thread's next free or allocation outside
 * refscope removes and frees it, with signals blocked while the list is
 * drained (a handler cannot push meanwhile).  A free while the list is
 * full leaves the block allocated (said once): memory, never a crash.
 * Allocations in such a handler need nothing: guarded, they are
 * untracked and take no lock. */
#define RS_DEFERRED_MAX 16
static _Thread_local void *deferred[RS_DEFERRED_MAX] __attribute__((tls_model("initial-exec")));
static _Thread_local volatile uint32_t n_deferred __attribute__((tls_model("initial-exec")));

/* 1 when free(p) must be deferred (guarded, p names a log). */
static inline int must_defer(void *p)
{
    return RS_UNLIKELY(rs_guard_active()) && rs_blocks &&
           rs_blockreg_claims_log((uint64_t)(uintptr_t)p);
}

static __attribute__((noinline, cold)) void defer_free(void *p)
{
    uint32_t n = n_deferred;
    if (n < RS_DEFERRED_MAX) {
        deferred[n] = p;
        n_deferred = n + 1;
        return;
    }
    static atomic_int said;
    if (!atomic_exchange(&said, 1)) {
        rs_line_t l = {.len = 0};
        rs_line_str(&l, "refscope: a signal handler freed blocks while refscope was busy "
                        "on its thread, more than it can defer; some stay allocated\n");
        rs_diag_emit(&l);
    }
}

/* Frees the deferred blocks of this thread (outside the guard). */
static __attribute__((noinline, cold)) void flush_deferred(void)
{
    sigset_t all, old;
    sigfillset(&all);
    int saved_errno = errno;
    pthread_sigmask(SIG_BLOCK, &all, &old);
    /* Each slot is cleared as it is taken: this TLS is scanned as a root
     * (threadroots.c), and a freed block's address left there kept
     * whatever malloc put there next "reachable" (a lost GstPipeline's
     * bus poll, gst_bin_lost, in one environment of two). */
    while (n_deferred) {
        void *p = deferred[n_deferred - 1];
        deferred[n_deferred - 1] = NULL;
        n_deferred = n_deferred - 1;
        free(p);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved_errno;
}

static inline void flush_deferred_if_any(void)
{
    if (RS_UNLIKELY(n_deferred != 0) && !rs_guard_active())
        flush_deferred();
}

/* The real allocation real (NULL: it failed) holds a block of size bytes
 * 2^shift bytes in: writes the block's record and returns the block. */
static inline void *finish_block(void *real, size_t size, rs_block_shift_t shift,
                                 const rs_call_site_t *site)
{
    if (RS_UNLIKELY(!real))
        return NULL;
    flush_deferred_if_any();
    uint64_t addr = (uint64_t)(uintptr_t)real + (1ull << shift);
    if (recording())
        record_alloc(addr, size, shift, site);
    else
        rs_blockreg_add_untracked(addr, size, shift);
    return (void *)(uintptr_t)addr;
}

/* A pointer with no valid record reached free or realloc: a heap
 * underflow overwrote the record, the block was freed already, or the
 * pointer never came from malloc.  Said once per process (the real
 * allocator usually aborts right after, as it would without refscope). */
static __attribute__((noinline, cold)) void bad_pointer(const char *fn, const void *p)
{
    static atomic_int said;
    if (atomic_exchange(&said, 1))
        return;
    int saved_errno = errno;
    rs_line_t l = {.len = 0};
    rs_line_str(&l, "refscope: ");
    rs_line_str(&l, fn);
    rs_line_str(&l, "(");
    rs_line_hex(&l, (uint64_t)(uintptr_t)p);
    rs_line_str(&l, "): the 16 bytes before the block are not refscope's record "
                    "(overwritten by a heap underflow, a second free, or not a "
                    "pointer from malloc); passed on to the real allocator\n");
    rs_diag_emit(&l);
    errno = saved_errno;
}

/* The block p leaves (free, or the old block of a realloc): its record is
 * removed BEFORE the real call, so the address cannot be handed to
 * another thread while still registered.  Returns the real allocation;
 * *old (if not NULL) gets the record of a tracked block, *tracked says
 * whether it was, *size the recorded size. */
static inline void *release_block(void *p, const char *fn, rs_block_t *old, int *tracked,
                                  uint64_t *size)
{
    uint64_t real;
    rs_guard_enter();             /* a log lock is held: see defer_free() */
    rs_block_state_t st = rs_blockreg_remove(rs_blocks, (uint64_t)(uintptr_t)p, old,
                                             &real, size);   /* errno kept */
    rs_guard_leave();
    if (RS_UNLIKELY(st == RS_BLOCK_INVALID))
        bad_pointer(fn, p);
    *tracked = st == RS_BLOCK_TRACKED;
    scrub_scratch_registers();
    return (void *)(uintptr_t)real;
}

/* ---- reaching the real allocator -------------------------------------- */

/* Makes sure rs_real is usable; 0 when it is not (yet): use the pool. */
static inline int real_ready(void)
{
    return RS_LIKELY(rs_real.malloc != NULL) || rs_real_resolve() == 0;
}

/* Aligned allocation with glibc's memalign semantics, whichever of the
 * real functions exists. */
static void *real_memalign(size_t align, size_t size)
{
    if (rs_real.memalign)
        return rs_real.memalign(align, size);
    void *p = NULL;
    int rc = rs_real.posix_memalign ? rs_real.posix_memalign(&p, align, size) : ENOMEM;
    if (rc != 0) {
        errno = rc;
        return NULL;
    }
    return p;
}

/* size plus room for the record; 0 (errno ENOMEM) on overflow. */
static inline size_t with_header(size_t size)
{
    size_t total;
    if (RS_UNLIKELY(__builtin_add_overflow(size, (size_t)RS_BLOCK_HEADER, &total))) {
        errno = ENOMEM;
        return 0;
    }
    return total;
}

/* A plain block of size bytes (malloc's alignment, 16). */
static inline void *plain_block(size_t size, const rs_call_site_t *site)
{
    if (RS_UNLIKELY(!real_ready()))
        return rs_real_pool_alloc(size, 16);
    size_t total = with_header(size);
    return total ? finish_block(rs_real.malloc(total), size, RS_BLOCK_PLAIN_SHIFT, site)
                 : NULL;
}

/* A block of size bytes aligned to align, rounded up to a power of two as
 * glibc's memalign does: a plain block for 16 or less, else the block
 * starts one alignment unit into a real allocation so aligned (the record
 * fits in that unit). */
static void *aligned_block(size_t align, size_t size, const rs_call_site_t *site)
{
    if (align <= 16)
        return plain_block(size, site);
    if (align > (1ull << 40)) {
        errno = EINVAL;
        return NULL;
    }
    unsigned shift = 5;
    while ((1ull << shift) < align)
        shift++;
    align = (size_t)1 << shift;
    if (RS_UNLIKELY(!real_ready()))
        return rs_real_pool_alloc(size, align);
    size_t total;
    if (__builtin_add_overflow(size, align, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return finish_block(real_memalign(align, total), size, (rs_block_shift_t)shift, site);
}

/* ---- the interposed entry points -------------------------------------- */

RS_EXPORT void *malloc(size_t size)
{
    return plain_block(size, RS_CALLER_SITE());
}

RS_EXPORT void *calloc(size_t n, size_t size)
{
    size_t bytes, total;
    if (__builtin_mul_overflow(n, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    if (RS_UNLIKELY(!real_ready()))
        return rs_real_pool_alloc(bytes, 16);      /* pool memory is zeroed */
    if (!(total = with_header(bytes)))
        return NULL;
    return finish_block(rs_real.calloc(1, total), bytes, RS_BLOCK_PLAIN_SHIFT,
                        RS_CALLER_SITE());
}

/* A tracked block is being freed (still valid): objects inside it and a
 * refscope_ignore() on it are forgotten (refcount.c, annotate.c); freeing
 * an object still referenced is reported there. */
static __attribute__((noinline)) void forget_annotations(const rs_block_t *b)
{
    int saved_errno = errno;
    rs_refcount_block_freed(b);
    rs_annotate_block_freed(b);
    errno = saved_errno;
}

/* Objects and refscope_ignore() annotations are recorded on this call. */
static inline int annotations_recorded(void)
{
    return rs_active && !rs_guard_active();
}

/* Objects or refscope_ignore() annotations may lie in tracked blocks. */
static inline int annotations_possible(void)
{
    return RS_UNLIKELY(annotations_recorded() &&
                       (rs_objtable_count(rs_objects) != 0 || rs_annotate_any_ignored()));
}

#define RS_SCRUB_MAX (256u << 10)

/* REFSCOPE_SCRUB: zeroes [p, p + size) before its real free (see the top
 * of the file).  Never inlined into free(): off, it costs one test. */
static __attribute__((noinline, cold)) void scrub_bytes(void *p, uint64_t size)
{
    if (size < RS_SCRUB_MAX)
        memset(p, 0, size);
}

RS_EXPORT void free(void *p)
{
    if (RS_UNLIKELY(!p || rs_real_pool_owns(p) || !real_ready()))
        return;
    if (must_defer(p)) {
        defer_free(p);
        return;
    }
    flush_deferred_if_any();
    rs_block_t old;
    int tracked;
    uint64_t size;
    /* Asked before the block leaves the registry (objects and an ignore
     * inside p were made before this free), so that its record is
     * copied out only when something will read it. */
    int annotated = annotations_possible();
    void *real = release_block(p, "free", annotated ? &old : NULL, &tracked, &size);
    if (tracked && annotated)
        forget_annotations(&old);
    if (RS_UNLIKELY(rs_settings.scrub) && tracked)
        scrub_bytes(p, size);
    rs_real.free(real);
}

/* A tracked block is being realloc'ed (still valid).  To size 0 it is
 * freed: like free().  Otherwise its objects leave the object table
 * into *moving until the real call tells where the block went. */
static __attribute__((noinline)) void tracked_block_realloc(const rs_block_t *b, size_t size,
                                                            rs_rc_moving_t *moving)
{
    int saved_errno = errno;
    if (size == 0)
        forget_annotations(b);
    else
        rs_refcount_block_detach(b, moving);
    errno = saved_errno;
}

/* The block *old now lives in [q, q+size): the objects detached from it
 * and a refscope_ignore() inside it follow. */
static __attribute__((noinline)) void objects_follow(rs_rc_moving_t *moving, const rs_block_t *old,
                                                     void *q, size_t size)
{
    int saved_errno = errno;
    rs_block_t now = { .addr = (uint64_t)(uintptr_t)q, .size = size };
    rs_refcount_block_attach(moving, old->addr, &now);
    rs_annotate_block_moved(old, now.addr, size);
    errno = saved_errno;
}

/* realloc of a block whose real allocation cannot simply be resized (a
 * pool block, or an aligned one: realloc keeps only malloc's alignment):
 * a fresh plain block, a copy, and the old one freed. */
static void *realloc_by_copy(void *p, size_t old_size, size_t size,
                             const rs_call_site_t *site)
{
    void *q = plain_block(size, site);
    if (q) {
        memcpy(q, p, old_size < size ? old_size : size);
        free(p);
    }
    return q;
}

/* The record of p is put back after a failed realloc (p still live); a
 * tracked block gets a new slot in this thread's log. */
static void restore_block(void *p, const rs_block_t *old, int tracked, uint64_t size,
                          rs_block_shift_t shift)
{
    int saved_errno = errno;
    rs_guard_enter();
    if (!tracked || !thread_log ||
        rs_blockreg_add(thread_log, (uint64_t)(uintptr_t)p, size, old->stack_id, shift) != 0)
        rs_blockreg_add_untracked((uint64_t)(uintptr_t)p, size, shift);
    rs_guard_leave();
    errno = saved_errno;
    scrub_scratch_registers();
}

/* The size and shift of an aligned block's valid record; 0 otherwise. */
static int aligned_shape(void *p, uint64_t *size)
{
    uint64_t real = 0;
    rs_block_state_t st = rs_blockreg_check(rs_blocks, (uint64_t)(uintptr_t)p,
                                            (const char *)p - RS_BLOCK_HEADER, NULL, &real,
                                            size);
    return st != RS_BLOCK_INVALID && (uint64_t)(uintptr_t)p - real > RS_BLOCK_HEADER;
}

/* rs_real.realloc(real, total) for REFSCOPE_SCRUB, p (old_size bytes,
 * its record gone) being the plain block at real + RS_BLOCK_HEADER: in
 * place when the new size fits the allocation (a shrink's tail zeroed
 * first: the real realloc gives it back), else a new allocation, the copy
 * and the old bytes zeroed before the real free.  NULL when out of
 * memory, the old block untouched.  A block without a tracked record (its
 * size unknown, or a bad pointer) goes to the real realloc as it is. */
static __attribute__((noinline, cold)) void *scrubbing_realloc(void *real, void *p, int tracked,
                                                                uint64_t old_size,
                                                                size_t total, size_t size)
{
    if (!tracked || !rs_real.malloc_usable_size)
        return rs_real.realloc(real, total);
    size_t usable = rs_real.malloc_usable_size(real);
    if (total <= usable) {
        if (size < old_size)
            scrub_bytes((char *)p + size, old_size - size);
        return rs_real.realloc(real, total);
    }
    void *q = rs_real.malloc(total);
    if (!q)
        return NULL;
    memcpy((char *)q + RS_BLOCK_HEADER, p, old_size < size ? old_size : size);
    scrub_bytes(p, old_size);
    rs_real.free(real);
    return q;
}

static void *do_realloc(void *p, size_t size, const rs_call_site_t *site)
{
    if (!p)
        return plain_block(size, site);
    if (RS_UNLIKELY(rs_real_pool_owns(p)))
        return size ? realloc_by_copy(p, rs_real_pool_size(p), size, site) : NULL;
    if (size == 0) {              /* glibc's realloc(p, 0): frees, NULL */
        free(p);
        return NULL;
    }
    uint64_t old_size;
    if (must_defer(p))            /* the copy's free() defers p */
        return realloc_by_copy(p, malloc_usable_size(p), size, site);
    if (RS_UNLIKELY(rs_blockreg_shift_hint((uint64_t)(uintptr_t)p) != RS_BLOCK_PLAIN_SHIFT) &&
        aligned_shape(p, &old_size))
        return realloc_by_copy(p, old_size, size, site);
    size_t total = with_header(size);
    if (!total)
        return NULL;

    /* The object count and the ignore flag are read once for the whole
     * call (two calls, not five): objects and an ignore inside p were
     * made before this call, as p is the program's until it returns, so
     * a later change concerns other blocks only.  With refcounted
     * objects tracked, the realloc window (refcount.h) is held open from
     * before the block leaves the registry until it and its objects are
     * back: no analysis stops the world in between. */
    int window = RS_UNLIKELY(rs_objtable_count(rs_objects) != 0);
    int ignored = RS_UNLIKELY(rs_annotate_any_ignored());
    if (window)
        rs_refcount_move_begin();
    rs_block_t old;
    int tracked;
    void *real = release_block(p, "realloc", &old, &tracked, &old_size);
    rs_rc_moving_t moving = { 0 };
    if (tracked && RS_UNLIKELY(window || ignored) && annotations_recorded())
        tracked_block_realloc(&old, size, &moving);
    void *q_real = RS_UNLIKELY(rs_settings.scrub)
                       ? scrubbing_realloc(real, p, tracked, old_size, total, size)
                       : rs_real.realloc(real, total);
    void *q = finish_block(q_real, size, RS_BLOCK_PLAIN_SHIFT, site);
    if (q) {
        if (RS_UNLIKELY(moving.n || (tracked && ignored)))
            objects_follow(&moving, &old, q, size);
    } else {
        restore_block(p, &old, tracked, old_size, RS_BLOCK_PLAIN_SHIFT);
        if (RS_UNLIKELY(moving.n))
            objects_follow(&moving, &old, p, old.size);
    }
    if (window)
        rs_refcount_move_end();
    return q;
}

RS_EXPORT void *realloc(void *p, size_t size)
{
    return do_realloc(p, size, RS_CALLER_SITE());
}

RS_EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return do_realloc(p, total, RS_CALLER_SITE());
}

RS_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
    /* glibc's checks: a power of two multiple of sizeof(void *). */
    if (align % sizeof(void *) != 0 || (align & (align - 1)) != 0 || align == 0)
        return EINVAL;
    int saved_errno = errno;
    void *p = aligned_block(align, size, RS_CALLER_SITE());
    int rc = p ? 0 : errno;
    errno = saved_errno;
    if (p)
        *out = p;
    return rc;
}

RS_EXPORT void *aligned_alloc(size_t align, size_t size)
{
    return aligned_block(align, size, RS_CALLER_SITE());
}

RS_EXPORT void *memalign(size_t align, size_t size)
{
    return aligned_block(align, size, RS_CALLER_SITE());
}

RS_EXPORT void *valloc(size_t size)
{
    return aligned_block((size_t)sysconf(_SC_PAGESIZE), size, RS_CALLER_SITE());
}

RS_EXPORT void *pvalloc(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), rounded;
    if (__builtin_add_overflow(size, page - 1, &rounded)) {
        errno = ENOMEM;
        return NULL;
    }
    return aligned_block(page, rounded & ~(page - 1), RS_CALLER_SITE());
}

RS_EXPORT size_t malloc_usable_size(void *p)
{
    if (!p)
        return 0;
    if (rs_real_pool_owns(p))
        return rs_real_pool_size(p);
    if (!real_ready() || !rs_real.malloc_usable_size)
        return 0;
    uint64_t real = 0, size;
    if (must_defer(p))            /* no log lock: the record's shift, unchecked */
        real = (uint64_t)(uintptr_t)p - (1ull << rs_blockreg_shift_hint((uint64_t)(uintptr_t)p));
    else if (rs_blockreg_check(rs_blocks, (uint64_t)(uintptr_t)p,
                               (const char *)p - RS_BLOCK_HEADER, NULL, &real,
                               &size) == RS_BLOCK_INVALID)
        real = (uint64_t)(uintptr_t)p - RS_BLOCK_HEADER;
    size_t usable = rs_real.malloc_usable_size((void *)(uintptr_t)real);
    size_t skip = (size_t)((uint64_t)(uintptr_t)p - real);
    return usable > skip ? usable - skip : 0;
}
