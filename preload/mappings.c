/*
 * mappings.c - the anonymous memory the program maps itself (mmap,
 * mremap), kept as root regions of kind RS_ROOT_MMAP.
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
 *   mmap of a file, MAP_FIXED  removes the range it replaced
 *   munmap                     removes the range
 *   mremap                     moves the range when its old start was kept
 *                              (the old one stays with MREMAP_DONTUNMAP)
 * File mappings are not kept (a file's bytes are not the program's
 * pointers).  Calls made inside refscope (the guard is set: refscope's
 * own memory, libunwind's, and the allocator's own mappings while a
 * malloc refscope forwards runs) or from librefscope.so's code are the
 * plain system calls and change nothing: a custom malloc's arenas hold
 * the blocks themselves and must never be roots.  glibc's malloc, thread
 * stacks and the loader call the kernel through libc-internal entry
 * points that are not interposed, so they are never seen here.
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
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE_MASK_4K 4095u   /* x86_64 */

static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;
static rs_spanset_t maps;
static uint64_t self_lo, self_hi;     /* librefscope.so's code */

void rs_mappings_init(void)
{
    rs_modules_self_text(&self_lo, &self_hi);
}

static uint64_t page_end(uint64_t addr, uint64_t len)
{
    uint64_t end = addr + len;
    return end < addr ? UINT64_MAX & ~(uint64_t)PAGE_MASK_4K
                      : (end + PAGE_MASK_4K) & ~(uint64_t)PAGE_MASK_4K;
}

/* 1 when the program itself made the call: refscope is active, not
 * running on this thread, and the caller is not refscope's code. */
static int program_call(const void *caller)
{
    uint64_t pc = (uint64_t)(uintptr_t)caller;
    if (RS_UNLIKELY(rs_guard_active()) || (pc >= self_lo && pc < self_hi))
        return 0;
    return RS_LIKELY(rs_active) || rs_init_now();
}

/* What one successful call did to the program's anonymous memory. */
typedef struct map_change {
    uint64_t gone_lo, gone_hi;   /* no longer mapped as it was           */
    uint64_t new_lo, new_hi;     /* mapped now: kept if anonymous        */
    int      anonymous;
    int      is_move;            /* mremap: anonymous if moved_from was kept */
    uint64_t moved_from;
} map_change_t;

static void apply(const map_change_t *c)
{
    int saved_errno = errno;
    rs_guard_enter();
    pthread_mutex_lock(&maps_lock);
    int keep = c->is_move ? rs_spanset_contains(&maps, c->moved_from) : c->anonymous;
    int rc = rs_spanset_remove(&maps, c->gone_lo, c->gone_hi);
    if ((keep ? rs_spanset_add(&maps, c->new_lo, c->new_hi)
              : rs_spanset_remove(&maps, c->new_lo, c->new_hi)) != 0)
        rc = -1;
    pthread_mutex_unlock(&maps_lock);
    if (rc != 0)
        rs_diag_oom();
    rs_guard_leave();
    errno = saved_errno;
}

static void *map_call(void *addr, size_t len, int prot, int flags, int fd, off_t off,
                      const void *caller)
{
    void *p = (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
    /* A file mapped where nothing was kept changes nothing. */
    if (p == MAP_FAILED || !(flags & (MAP_ANONYMOUS | MAP_FIXED)) || !program_call(caller))
        return p;
    uint64_t lo = (uint64_t)(uintptr_t)p;
    apply(&(map_change_t){.new_lo = lo, .new_hi = page_end(lo, len),
                          .anonymous = (flags & MAP_ANONYMOUS) != 0});
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
    if (program_call(__builtin_return_address(0))) {
        uint64_t lo = (uint64_t)(uintptr_t)addr;
        apply(&(map_change_t){.gone_lo = lo, .gone_hi = page_end(lo, len)});
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
    if (p == MAP_FAILED || !program_call(__builtin_return_address(0)))
        return p;
    uint64_t from = (uint64_t)(uintptr_t)old, to = (uint64_t)(uintptr_t)p;
    map_change_t c = {.new_lo = to, .new_hi = page_end(to, new_len),
                      .is_move = 1, .moved_from = from};
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
