/*
 * alloc_hooks.c - the interposed allocator entry points.
 *
 * Every entry point forwards to the real allocator (real_alloc.c) and then
 * takes one of two shared paths: record_alloc() after a successful
 * allocation, record_free() before a block is released.  Nothing here
 * allocates through the hooks, uses stdio or changes errno as the caller
 * sees it.
 *
 * Hot path of malloc, recording on: the guard and rs_active tests (two
 * loads), the real malloc, then record_alloc(): the stack walk from the
 * program's call site (RS_CALLER_SITE, call_site.h; fastunwind.c, the
 * dominant cost), a lock-free depot lookup, one shard lock + 16-byte
 * store in the block table.  free: the same tests, one shard lock +
 * remove, the real free.  No global lock anywhere.
 *
 * Rules kept (DESIGN.md "Rules of the preload layer"):
 *  - The guard is checked first; guarded, uninitialised or disabled calls
 *    go straight to the real function and are not recorded.
 *  - The backtrace is captured before any lock is taken.
 *  - A free (and the old block of a realloc) is removed from the table
 *    BEFORE the real call, so another thread cannot be handed the same
 *    address and record it before our removal.  If realloc fails the old
 *    record is put back.
 *  - Failures behave exactly as the real allocator's: NULL/ENOMEM,
 *    posix_memalign's return codes, realloc(p, 0) and realloc(NULL, n).
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
 */
#include "guard.h"
#include "preload.h"
#include "refcount.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

_Thread_local int rs_guard_depth __attribute__((tls_model("initial-exec")));
static _Thread_local uint32_t thread_tid __attribute__((tls_model("initial-exec")));

uint32_t rs_alloc_thread_tid(void)
{
    if (RS_UNLIKELY(thread_tid == 0))
        thread_tid = (uint32_t)syscall(SYS_gettid);
    return thread_tid;
}

void rs_alloc_atfork_child(void)
{
    thread_tid = 0;
}

/* ---- the two shared recording paths --------------------------------- */

/* Zeroes the caller-saved general registers but rax (the return value).
 * The recording code leaves addresses of blocks in them (the one just
 * recorded, or one its table slot shifted), and the program may keep
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

/* Records the live block [p, p+size) with the stack of the call at site.
 * Returns p.  Called only when recording() and after the real
 * allocation. */
static __attribute__((noinline)) void *record_alloc(void *p, size_t size,
                                                    const rs_call_site_t *site)
{
    if (RS_UNLIKELY(!p))
        return p;
    int saved_errno = errno;
    rs_guard_enter();
    /* The insert below misses the cache (a random slot of a table of
     * megabytes); start that load now, the stack walk hides it. */
    rs_blocktable_prefetch(rs_table, (uint64_t)(uintptr_t)p);
    /* A VLA keeps the frame small at the default depth (threads with tiny
     * stacks allocate too); depth is 1..RS_STACK_MAX_FRAMES. */
    uint64_t pcs[rs_settings.depth + RS_BACKTRACE_SLACK];
    uint32_t n = rs_backtrace_capture(pcs, (uint32_t)rs_settings.depth, site);
    uint32_t id = n ? rs_stackdepot_intern(rs_depot, pcs, n, rs_modules_epoch()) : 0;
    if (n)
        rs_refhooks_poll(pcs[0]);     /* a dlopen since: hook its GOT */
    rs_block_t b = {
        .addr = (uint64_t)(uintptr_t)p,
        .size = size,
        .stack_id = id,
        .tid_seq = rs_alloc_thread_tid(),   /* the kernel tid (< 2^22) */
    };
    if (RS_UNLIKELY(rs_blocktable_insert(rs_table, &b) != 0 ||
                    (n && !id)))
        rs_diag_oom();
    rs_guard_leave();
    errno = saved_errno;
    scrub_scratch_registers();
    return p;
}

/* Forgets the block at p.  Returns 1 and fills *old when it was tracked.
 * Called only when recording() and before the real free/realloc. */
static inline int record_free(void *p, rs_block_t *old)
{
    int saved_errno = errno;
    rs_guard_enter();
    int had = rs_blocktable_remove(rs_table, (uint64_t)(uintptr_t)p, old);
    rs_guard_leave();
    errno = saved_errno;
    scrub_scratch_registers();
    return had;
}

/* Puts back a record removed by record_free() (a failed realloc). */
static void record_restore(const rs_block_t *old)
{
    int saved_errno = errno;
    rs_guard_enter();
    if (rs_blocktable_insert(rs_table, old) != 0)
        rs_diag_oom();
    rs_guard_leave();
    errno = saved_errno;
    scrub_scratch_registers();
}

/* ---- reaching the real allocator -------------------------------------- */

/* Makes sure rs_real is usable; 0 when it is not (yet): use the pool. */
static inline int real_ready(void)
{
    return RS_LIKELY(rs_real.malloc != NULL) || rs_real_resolve() == 0;
}

static inline void *real_malloc(size_t size)
{
    return real_ready() ? rs_real.malloc(size) : rs_real_pool_alloc(size, 16);
}

static inline void *real_calloc(size_t n, size_t size)
{
    if (real_ready())
        return rs_real.calloc(n, size);
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return rs_real_pool_alloc(total, 16);   /* pool memory is zeroed */
}

/* Aligned allocation with glibc's memalign semantics, whichever of the
 * real functions exists. */
static void *real_memalign(size_t align, size_t size)
{
    if (!real_ready())
        return rs_real_pool_alloc(size, align);
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

static inline void real_free(void *p)
{
    if (real_ready())
        rs_real.free(p);
}

/* realloc of a pool block: a fresh block through the hooks plus a copy;
 * the pool block itself is never released. */
static void *realloc_from_pool(void *p, size_t size);

/* ---- the interposed entry points -------------------------------------- */

RS_EXPORT void *malloc(size_t size)
{
    void *p = real_malloc(size);
    return recording() ? record_alloc(p, size, RS_CALLER_SITE()) : p;
}

RS_EXPORT void *calloc(size_t n, size_t size)
{
    void *p = real_calloc(n, size);
    return recording() ? record_alloc(p, n * size, RS_CALLER_SITE()) : p;
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

RS_EXPORT void free(void *p)
{
    if (RS_UNLIKELY(!p || rs_real_pool_owns(p)))
        return;
    rs_block_t old;
    if (recording() && record_free(p, &old) &&
        RS_UNLIKELY(rs_objtable_count(rs_objects) != 0 || rs_annotate_any_ignored()))
        forget_annotations(&old);
    real_free(p);
}

/* A tracked block is being realloc'ed (still valid).  To size 0 glibc
 * frees it: like free().  Otherwise its objects leave the object table
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

static void *do_realloc(void *p, size_t size, const rs_call_site_t *site)
{
    if (RS_UNLIKELY(p && rs_real_pool_owns(p)))
        return realloc_from_pool(p, size);
    if (!real_ready())
        return p ? NULL : rs_real_pool_alloc(size, 16);
    if (!recording())
        return rs_real.realloc(p, size);

    /* With refcounted objects tracked, the realloc window (refcount.h) is
     * held open from before the block leaves the table until it and its
     * objects are back: no analysis stops the world in between. */
    int window = p && RS_UNLIKELY(rs_objects && rs_objtable_count(rs_objects) != 0);
    if (window)
        rs_refcount_move_begin();
    rs_block_t old;
    int had = p ? record_free(p, &old) : 0;
    rs_rc_moving_t moving = { 0 };
    if (had && RS_UNLIKELY(rs_objtable_count(rs_objects) != 0 || rs_annotate_any_ignored()))
        tracked_block_realloc(&old, size, &moving);
    void *q = rs_real.realloc(p, size);
    if (q) {
        record_alloc(q, size, site);
        if (RS_UNLIKELY(moving.n || (had && rs_annotate_any_ignored())))
            objects_follow(&moving, &old, q, size);
    } else if (had && size != 0) {
        /* NULL: either p was freed (size 0, glibc) or the call failed and
         * p is still live. */
        record_restore(&old);
        if (RS_UNLIKELY(moving.n))
            objects_follow(&moving, &old, p, old.size);
    }
    if (window)
        rs_refcount_move_end();
    return q;
}

static void *realloc_from_pool(void *p, size_t size)
{
    if (size == 0)
        return NULL;
    void *q = malloc(size);
    if (q) {
        size_t old = rs_real_pool_size(p);
        memcpy(q, p, old < size ? old : size);
    }
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
    int rc;
    if (real_ready() && rs_real.posix_memalign) {
        rc = rs_real.posix_memalign(out, align, size);
    } else {
        /* Same checks as glibc: a power of two multiple of sizeof(void*). */
        if (align % sizeof(void *) != 0 || (align & (align - 1)) != 0 || align == 0)
            return EINVAL;
        int saved_errno = errno;
        void *p = real_memalign(align, size);
        rc = p ? 0 : ENOMEM;
        errno = saved_errno;
        if (p)
            *out = p;
    }
    if (rc == 0 && recording())
        record_alloc(*out, size, RS_CALLER_SITE());
    return rc;
}

RS_EXPORT void *aligned_alloc(size_t align, size_t size)
{
    void *p = real_ready() && rs_real.aligned_alloc
                  ? rs_real.aligned_alloc(align, size)
                  : real_memalign(align, size);
    return recording() ? record_alloc(p, size, RS_CALLER_SITE()) : p;
}

RS_EXPORT void *memalign(size_t align, size_t size)
{
    void *p = real_memalign(align, size);
    return recording() ? record_alloc(p, size, RS_CALLER_SITE()) : p;
}

RS_EXPORT void *valloc(size_t size)
{
    void *p = real_ready() && rs_real.valloc
                  ? rs_real.valloc(size)
                  : real_memalign((size_t)sysconf(_SC_PAGESIZE), size);
    return recording() ? record_alloc(p, size, RS_CALLER_SITE()) : p;
}

RS_EXPORT void *pvalloc(size_t size)
{
    void *p;
    if (real_ready() && rs_real.pvalloc) {
        p = rs_real.pvalloc(size);
    } else {
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        size_t rounded;
        if (__builtin_add_overflow(size, page - 1, &rounded)) {
            errno = ENOMEM;
            return NULL;
        }
        p = real_memalign(page, rounded & ~(page - 1));
    }
    return recording() ? record_alloc(p, size, RS_CALLER_SITE()) : p;
}

RS_EXPORT size_t malloc_usable_size(void *p)
{
    if (!p)
        return 0;
    if (rs_real_pool_owns(p))
        return rs_real_pool_size(p);
    return real_ready() && rs_real.malloc_usable_size ? rs_real.malloc_usable_size(p) : 0;
}
