/*
 * rs_lock.h - a small mutex for the hot paths of lib/model (the block
 * registry's logs, the object table's shards).
 *
 * How it works: Drepper's "mutex 2" ("Futexes Are Tricky"), a 32-bit word
 * that is 0 (free), 1 (locked) or 2 (locked, maybe with waiters).  Taking
 * a free lock is one inlined compare-and-swap, releasing an uncontended
 * one an inlined exchange; only contention goes to the kernel (futex wait
 * and wake, private to the process).  Like glibc's default mutex it does
 * not spin, so a thread never burns its time slice while the holder is
 * preempted (measured on the former block table: spinning lost with more threads
 * than cores); it only saves the call, the type checks and the owner
 * bookkeeping of pthread_mutex_lock/unlock (callgrind on bench_alloc:
 * about 50 of their 60 instructions per lock and unlock pair).
 *
 * Not recursive, no owner, no error checking; errno is never changed.  A
 * lock held across fork by the forking thread is released in the child by
 * that thread's copy (the usual lock_all/unlock_all around fork).  Linux
 * only.
 */
#ifndef RS_LOCK_H
#define RS_LOCK_H

#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct rs_lock {
    _Atomic uint32_t word;     /* 0 free, 1 locked, 2 locked + waiters */
} rs_lock_t;

#define RS_LOCK_INIT {0}

static inline void rs_lock_init(rs_lock_t *l)
{
    atomic_init(&l->word, 0);
}

/* Contended: mark the lock as having waiters and sleep until it is free.
 * errno is kept (a futex wait fails with EAGAIN or EINTR): taking or
 * releasing a lock never changes errno, so that allocator paths need
 * not save it around their locked sections. */
static __attribute__((noinline, unused)) void rs_lock_wait(rs_lock_t *l, uint32_t seen)
{
    int saved_errno = errno;
    if (seen != 2)
        seen = atomic_exchange_explicit(&l->word, 2, memory_order_acquire);
    while (seen != 0) {
        syscall(SYS_futex, &l->word, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
        seen = atomic_exchange_explicit(&l->word, 2, memory_order_acquire);
    }
    errno = saved_errno;
}

static __attribute__((noinline, unused)) void rs_lock_wake(rs_lock_t *l)
{
    int saved_errno = errno;
    syscall(SYS_futex, &l->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    errno = saved_errno;
}

/* Hot path: one locked compare-and-swap. */
static inline void rs_lock(rs_lock_t *l)
{
    uint32_t seen = 0;
    if (__builtin_expect(!atomic_compare_exchange_strong_explicit(
                             &l->word, &seen, 1, memory_order_acquire,
                             memory_order_relaxed), 0))
        rs_lock_wait(l, seen);
}

/* Takes the lock if it is free: 1, else 0 at once (no wait, no syscall).
 * For fast paths that leave the waiting to an out-of-line slow path. */
static inline int rs_trylock(rs_lock_t *l)
{
    uint32_t seen = 0;
    return atomic_compare_exchange_strong_explicit(&l->word, &seen, 1, memory_order_acquire,
                                                   memory_order_relaxed);
}

/* Hot path: one locked exchange; a wake only if somebody may wait. */
static inline void rs_unlock(rs_lock_t *l)
{
    if (__builtin_expect(atomic_exchange_explicit(&l->word, 0, memory_order_release) == 2, 0))
        rs_lock_wake(l);
}

#endif /* RS_LOCK_H */
