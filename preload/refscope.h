/*
 * refscope.h - annotations for programs whose reference counting is inline.
 *
 * refscope finds leaks in programs loaded with LD_PRELOAD=librefscope.so.
 * Libraries that export their ref/unref functions are hooked by profile
 * (REFSCOPE_HOOKS); code that changes counts inline (obj->refcnt++ in a
 * macro) tells refscope with one line per macro:
 *
 *     #include <refscope.h>
 *
 *     #define OBJ_NEW(o)   (refscope_object((o), "Obj", offsetof(Obj, refcnt), \
 *                                           sizeof((o)->refcnt)))
 *     #define OBJ_REF(o)   ((o)->refcnt++, refscope_incref(o))
 *     #define OBJ_UNREF(o) (refscope_decref(o), --(o)->refcnt == 0 ? obj_free(o) : (void)0)
 *
 * No extra library is needed: every function below is an inline wrapper
 * around a weak reference to the preload's implementation.  Without the
 * preload the weak symbol is NULL and the call costs one well-predicted
 * branch; with it, the dynamic linker binds the reference to
 * librefscope.so.  Define REFSCOPE_DISABLE before including this header to
 * compile every annotation to nothing.  Needs GCC or Clang (elsewhere the
 * annotations are no-ops) and position-independent code (-fPIE, Debian's
 * default, or -fPIC): in a non-PIE executable the linker resolves an
 * undefined weak function to 0 for good.
 *
 * All functions are thread safe and may be called from any thread.  obj
 * is the object's address: the block malloc (or calloc, realloc, ...)
 * returned, or a struct embedded in such a block (container_of style; the
 * counter offset is then relative to obj).  None of them ever
 * blocks for long, allocates through the program's allocator, or aborts.
 *
 * Functions:
 *
 *   refscope_object(obj, type_name, rc_offset, rc_width)
 *       Declares obj a refcounted object of type type_name (copied) whose
 *       counter is rc_width bytes (1, 2, 4 or 8; 0: refscope keeps the
 *       count from refscope_incref/decref calls) at byte offset rc_offset,
 *       read as unsigned.  Call it right after the object is created: it
 *       counts as the creation reference (a "ctor" in the object's
 *       reference history).  Declaring an object again changes its type
 *       and counter but records nothing.
 *   refscope_incref(obj)
 *       Records that a reference to obj was taken, with the caller's stack.
 *   refscope_decref(obj)
 *       Records that a reference was dropped.  Call it BEFORE the
 *       decrement that may free the object.
 *   refscope_decref_after(obj)
 *       The same, for code that annotates AFTER the decrement, while the
 *       object is still valid:
 *           if (--o->refcnt == 0) { refscope_decref_after(o); free(o); }
 *       (or `--o->refcnt; refscope_decref_after(o);` on every release).
 *       refscope_decref() in that place makes every final release look
 *       like a count going below zero; refscope notices the pattern (the
 *       object is freed right after) and says once to use this instead.
 *       At analysis time, a leaked object's report shows the increfs that
 *       no decref balanced (see the pairing rule in the README).
 *   refscope_snapshot(label)
 *       Analyses the heap now and writes a snapshot labelled `label`
 *       (for `refscope diff`).  Returns 1 when a snapshot was written, 0
 *       when refscope is not loaded or snapshots are disabled, -1 on error.
 *   refscope_check()
 *       Analyses the heap now and prints the leak summary to stderr.
 *       Returns the number of leak findings (blocks classified leaked,
 *       cycle or leaked reference), 0 when refscope is not loaded, -1 on
 *       error.
 *   refscope_ignore(ptr)
 *       Never report the block at ptr, and treat it as a root: what it
 *       points to is reachable (for intentional one-time allocations).
 *   refscope_root(ptr, len)
 *       Treats [ptr, ptr + len) as a root region for every later analysis
 *       (memory refscope cannot find by itself, e.g. an mmap'ed arena).
 *   refscope_active()
 *       Non-zero when the preload is loaded.
 *
 * ABI: the preload exports refscope_impl_<name> with the signatures below;
 * REFSCOPE_API_VERSION changes when they change incompatibly.
 */
#ifndef REFSCOPE_H
#define REFSCOPE_H

#include <stddef.h>

#define REFSCOPE_API_VERSION 1

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && !defined(REFSCOPE_DISABLE)

#define REFSCOPE_WEAK_ __attribute__((weak, visibility("default")))

extern void refscope_impl_object(const void *obj, const char *type_name,
                                 size_t rc_offset, size_t rc_width) REFSCOPE_WEAK_;
extern void refscope_impl_incref(const void *obj) REFSCOPE_WEAK_;
extern void refscope_impl_decref(const void *obj) REFSCOPE_WEAK_;
extern void refscope_impl_decref_after(const void *obj) REFSCOPE_WEAK_;
extern int  refscope_impl_snapshot(const char *label) REFSCOPE_WEAK_;
extern long refscope_impl_check(void) REFSCOPE_WEAK_;
extern void refscope_impl_ignore(const void *ptr) REFSCOPE_WEAK_;
extern void refscope_impl_root(const void *ptr, size_t len) REFSCOPE_WEAK_;

#define REFSCOPE_LIKELY_OFF_(f) __builtin_expect((f) != 0, 0)
/* Always inlined, even at -O0, so the caller's frame is the first one in
 * the recorded stack. */
#define REFSCOPE_INLINE_ static inline __attribute__((always_inline))

REFSCOPE_INLINE_ int refscope_active(void)
{
    return refscope_impl_object != 0;
}

REFSCOPE_INLINE_ void refscope_object(const void *obj, const char *type_name,
                                   size_t rc_offset, size_t rc_width)
{
    if (REFSCOPE_LIKELY_OFF_(refscope_impl_object))
        refscope_impl_object(obj, type_name, rc_offset, rc_width);
}

REFSCOPE_INLINE_ void refscope_incref(const void *obj)
{
    if (REFSCOPE_LIKELY_OFF_(refscope_impl_incref))
        refscope_impl_incref(obj);
}

REFSCOPE_INLINE_ void refscope_decref(const void *obj)
{
    if (REFSCOPE_LIKELY_OFF_(refscope_impl_decref))
        refscope_impl_decref(obj);
}

REFSCOPE_INLINE_ void refscope_decref_after(const void *obj)
{
    if (REFSCOPE_LIKELY_OFF_(refscope_impl_decref_after))
        refscope_impl_decref_after(obj);
}

REFSCOPE_INLINE_ int refscope_snapshot(const char *label)
{
    return refscope_impl_snapshot ? refscope_impl_snapshot(label) : 0;
}

REFSCOPE_INLINE_ long refscope_check(void)
{
    return refscope_impl_check ? refscope_impl_check() : 0;
}

REFSCOPE_INLINE_ void refscope_ignore(const void *ptr)
{
    if (refscope_impl_ignore)
        refscope_impl_ignore(ptr);
}

REFSCOPE_INLINE_ void refscope_root(const void *ptr, size_t len)
{
    if (refscope_impl_root)
        refscope_impl_root(ptr, len);
}

#undef REFSCOPE_WEAK_

#else /* no weak symbols, or REFSCOPE_DISABLE: annotations are no-ops */

static inline int refscope_active(void) { return 0; }
static inline void refscope_object(const void *obj, const char *type_name,
                                   size_t rc_offset, size_t rc_width)
{
    (void)obj; (void)type_name; (void)rc_offset; (void)rc_width;
}
static inline void refscope_incref(const void *obj) { (void)obj; }
static inline void refscope_decref(const void *obj) { (void)obj; }
static inline void refscope_decref_after(const void *obj) { (void)obj; }
static inline int refscope_snapshot(const char *label) { (void)label; return 0; }
static inline long refscope_check(void) { return 0; }
static inline void refscope_ignore(const void *ptr) { (void)ptr; }
static inline void refscope_root(const void *ptr, size_t len) { (void)ptr; (void)len; }

#endif

#ifdef __cplusplus
}
#endif

#endif /* REFSCOPE_H */
