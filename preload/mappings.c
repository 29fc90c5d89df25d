/*
 * mappings.c - the memory the program maps itself (mmap, mremap) and may
 * keep pointers in, kept as root regions of kind RS_ROOT_MMAP.
 *
 * Why.  Programs keep pointers to heap blocks in memory they map
 * themselves: CPython's frame data stack (a function's locals, from
 * _PyObject_VirtualAlloc even with PYTHONMALLOC=malloc) and its object
 * arenas, custom arena and pool allocators, coroutine stacks.  A block
 * held only from there would be reported leaked.  Memcheck scans such
 * client mappings too; LeakSanitizer does not (it asks for
 * __lsan_register_root_region).
 *
 * What is kept.  The interposed mmap, mmap64, mremap and munmap are the
 * system calls (as pipe2 in backtrace.c); around them a set of ranges
 * (lib/model/spanset.h) follows what the program maps:
 *   mmap with MAP_ANONYMOUS    adds the range (any protection, shared or
 *                              private: what is readable is decided at
 *                              analysis time)
 *   mmap of a file with        adds the range, shared or private: the
 *   PROT_WRITE                 program's pointers may be written there
 *                              (the JVM stores pointers to malloc'ed
 *                              blocks in its class-data archive, a
 *                              private writable mapping of classes.jsa);
 *                              only the pages within the file (reading
 *                              past its end faults); /dev/zero whole;
 *                              not other character or block devices (a
 *                              device's memory is not the program's), as
 *                              Memcheck does
 *   other file mappings        are not kept: a read-only file's bytes are
 *                              the file's, not pointers the program wrote
 *                              (one mapped read-only and later made
 *                              writable with mprotect is missed); with
 *                              MAP_FIXED they remove the range replaced
 *   munmap                     removes the range
 *   mremap                     moves the range when its old start was kept
 *                              (the old one stays with MREMAP_DONTUNMAP)
 * These calls are the plain system calls and change nothing:
 *   - calls made inside refscope (the guard is set: refscope's own
 *     memory, libunwind's) or from librefscope.so's code;
 *   - calls from the code of the module that defines the allocator
 *     refscope forwards to (a libjemalloc.so or libtcmalloc.so the
 *     program links): its arenas hold the blocks themselves, freed ones
 *     with their stale pointers, and must never be roots.  The forwarded
 *     malloc runs without the guard, so the caller's address is what
 *     tells its mappings apart.
 * glibc's malloc, thread stacks and the loader call the kernel through
 * libc-internal entry points that are not interposed, so they are never
 * seen here.
 *
 * Before start-up.  A call made before refscope started must not start
 * it: the caller may be an allocator in the middle of its own
 * initialisation, holding its lock (rustc's jemalloc maps its first pages
 * from a library constructor), and start-up allocates through that
 * allocator (libunwind's calloc), which would wait for itself forever.
 * Such changes are queued, unallocated, in a fixed array (EARLY_MAX,
 * more than the few calls made before the first allocation) and
 * replayed by rs_mappings_init(), which knows by then which callers to
 * leave out.  Changes beyond the array's room are not kept.
 *
 * At analysis (rs_mappings_roots, the world stopped, lock held) every
 * range becomes roots clipped to the mappings readable then
 * (rs_threadroots_push_readable): a range the program protected with
 * PROT_NONE or unmapped by a raw system call is never read, and pages it
 * never touched are skipped like those of modules (scan_holes.c).
 *
 * A thread whose stack the program mapped (pthread_attr_setstack) has
 * that stack scanned from its stack pointer up, as any thread's: the
 * mapping's roots leave out the stacks of the threads refscope knows.
 *
 * Limits: a coroutine's stack (makecontext, no thread of its own) is
 * scanned whole, including the dead part below its stack pointer.  Memory
 * mapped with raw syscall(SYS_mmap) or shmat is not seen.
 *
 * Locking: one mutex around the set, taken with the guard set (so a
 * signal handler that maps memory on this thread meanwhile makes the
 * plain system call instead of waiting for itself); held across fork and
 * while the analysis stops the world (rs_mappings_lock).
 */
#include "guard.h"
#include "preload.h"
#include "spanset.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define PAGE_MASK_4K 4095u   /* x86_64 */

static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;
static rs_spanset_t maps;
static uint64_t self_lo, self_hi;     /* librefscope.so's code            */
static uint64_t alloc_lo, alloc_hi;   /* the forwarded allocator's module */

static uint64_t page_end(uint64_t addr, uint64_t len)
{
    uint64_t end = addr + len;
    return end < addr ? UINT64_MAX & ~(uint64_t)PAGE_MASK_4K
                      : (end + PAGE_MASK_4K) & ~(uint64_t)PAGE_MASK_4K;
}

/* What one successful call did to the memory the program keeps pointers
 * in. */
typedef struct map_change {
    uint64_t gone_lo, gone_hi;   /* no longer mapped as it was           */
    uint64_t new_lo, new_hi;     /* mapped now: kept if kept is set      */
    int      kept;
    int      is_move;            /* mremap: kept if moved_from was kept  */
    uint64_t moved_from;
    uint64_t caller;             /* return address of the call           */
} map_change_t;

/* Changes made before start-up (see the top of the file); maps_lock. */
#define EARLY_MAX 128
static map_change_t early[EARLY_MAX];
static uint32_t n_early;
static int started;                   /* rs_mappings_init() ran           */

static int in_range(uint64_t pc, uint64_t lo, uint64_t hi)
{
    return pc >= lo && pc < hi;
}

/* 0 when the caller is refscope's code or the forwarded allocator's
 * (both ranges are empty before start-up). */
static int program_caller(uint64_t pc)
{
    return !in_range(pc, self_lo, self_hi) && !in_range(pc, alloc_lo, alloc_hi);
}

/* 1 when the program itself may have made the call, and refscope is
 * active or has yet to start: not refscope's code, nor the guarded
 * calls it makes, nor the forwarded allocator.  No start-up from here
 * (see the top of the file). */
static int program_call(const void *caller)
{
    if (RS_UNLIKELY(rs_guard_active()) || !(RS_LIKELY(rs_active) || !rs_init_begun()))
        return 0;
    return program_caller((uint64_t)(uintptr_t)caller);
}

/* maps_lock held. */
static int apply_locked(const map_change_t *c)
{
    int keep = c->is_move ? rs_spanset_contains(&maps, c->moved_from) : c->kept;
    int rc = rs_spanset_remove(&maps, c->gone_lo, c->gone_hi);
    if ((keep ? rs_spanset_add(&maps, c->new_lo, c->new_hi)
              : rs_spanset_remove(&maps, c->new_lo, c->new_hi)) != 0)
        rc = -1;
    return rc;
}

static void apply(const map_change_t *c)
{
    int saved_errno = errno;
    rs_guard_enter();
    pthread_mutex_lock(&maps_lock);
    int rc = 0;
    if (RS_LIKELY(started))
        rc = apply_locked(c);
    else if (n_early < EARLY_MAX)
        early[n_early++] = *c;
    pthread_mutex_unlock(&maps_lock);
    if (rc != 0)
        rs_diag_oom();
    rs_guard_leave();
    errno = saved_errno;
}

void rs_mappings_init(void)
{
    rs_modules_self_text(&self_lo, &self_hi);
    uint64_t real_malloc = (uint64_t)(uintptr_t)rs_real.malloc;
    if (real_malloc && !in_range(real_malloc, self_lo, self_hi))
        rs_modules_text_of(real_malloc, &alloc_lo, &alloc_hi);
    pthread_mutex_lock(&maps_lock);
    int rc = 0;
    for (uint32_t i = 0; i < n_early; i++)
        if (program_caller(early[i].caller) && apply_locked(&early[i]) != 0)
            rc = -1;
    started = 1;
    pthread_mutex_unlock(&maps_lock);
    if (rc != 0)
        rs_diag_oom();
}

static int is_dev_zero(const struct stat *st)
{
    return S_ISCHR(st->st_mode) && major(st->st_rdev) == 1 && minor(st->st_rdev) == 5;
}

/* How many bytes from the start of a new mapping of len bytes may hold
 * the program's pointers (see the top of the file): all of anonymous
 * memory and of /dev/zero; of a writable regular file, the part within
 * the file (reading past its end faults: SIGBUS); none of anything
 * else. */
static uint64_t pointer_bytes(uint64_t len, int prot, int flags, int fd, off_t off)
{
    if (flags & MAP_ANONYMOUS)
        return len;
    if (!(prot & PROT_WRITE))
        return 0;
    struct stat st;
    int saved_errno = errno;
    long rc = syscall(SYS_fstat, fd, &st);
    errno = saved_errno;
    if (rc != 0)
        return 0;
    if (is_dev_zero(&st))
        return len;
    if (!S_ISREG(st.st_mode) || off < 0 || st.st_size <= off)
        return 0;
    uint64_t in_file = (uint64_t)(st.st_size - off);
    return in_file < len ? in_file : len;
}

static void *map_call(void *addr, size_t len, int prot, int flags, int fd, off_t off,
                      const void *caller)
{
    void *p = (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
    if (p == MAP_FAILED || !program_call(caller))
        return p;
    uint64_t kept = pointer_bytes(len, prot, flags, fd, off);
    /* A file mapped where nothing was kept changes nothing. */
    if (!kept && !(flags & MAP_FIXED))
        return p;
    uint64_t lo = (uint64_t)(uintptr_t)p;
    apply(&(map_change_t){.gone_lo = lo, .gone_hi = page_end(lo, len),
                          .new_lo = lo, .new_hi = page_end(lo, kept), .kept = kept != 0,
                          .caller = (uint64_t)(uintptr_t)caller});
    return p;
}

RS_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return map_call(addr, len, prot, flags, fd, off, __builtin_return_address(0));
}

RS_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return map_call(addr, len, prot, flags, fd, off, __builtin_return_address(0));
}

RS_EXPORT int munmap(void *addr, size_t len)
{
    if (syscall(SYS_munmap, addr, len) != 0)
        return -1;
    const void *caller = __builtin_return_address(0);
    if (program_call(caller)) {
        uint64_t lo = (uint64_t)(uintptr_t)addr;
        apply(&(map_change_t){.gone_lo = lo, .gone_hi = page_end(lo, len),
                              .caller = (uint64_t)(uintptr_t)caller});
    }
    return 0;
}

RS_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
    void *want = NULL;
    if (flags & MREMAP_FIXED) {
        va_list ap;
        va_start(ap, flags);
        want = va_arg(ap, void *);
        va_end(ap);
    }
    void *p = (void *)syscall(SYS_mremap, old, old_len, new_len, flags, want);
    const void *caller = __builtin_return_address(0);
    if (p == MAP_FAILED || !program_call(caller))
        return p;
    uint64_t from = (uint64_t)(uintptr_t)old, to = (uint64_t)(uintptr_t)p;
    map_change_t c = {.new_lo = to, .new_hi = page_end(to, new_len),
                      .is_move = 1, .moved_from = from,
                      .caller = (uint64_t)(uintptr_t)caller};
    if (!(flags & MREMAP_DONTUNMAP)) {
        c.gone_lo = from;
        c.gone_hi = page_end(from, old_len);
    }
    apply(&c);                  /* looks the old start up, then removes */
    return p;
}

void rs_mappings_lock(void)
{
    pthread_mutex_lock(&maps_lock);
}

void rs_mappings_unlock(void)
{
    pthread_mutex_unlock(&maps_lock);
}

int rs_mappings_roots(rs_rootvec_t *out)
{
    for (uint32_t i = 0; i < maps.n; i++)
        if (rs_threadroots_push_outside_stacks(out, RS_ROOT_MMAP, maps.items[i].start,
                                               maps.items[i].end) != 0)
            return -1;
    return 0;
}

uint64_t rs_mappings_bytes(void)
{
    rs_guard_enter();
    pthread_mutex_lock(&maps_lock);
    uint64_t bytes = rs_spanset_bytes(&maps);
    pthread_mutex_unlock(&maps_lock);
    rs_guard_leave();
    return bytes;
}
