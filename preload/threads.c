/*
 * threads.c - the registry of the program's threads, the pthread_create
 * hook that fills it, and a /proc/self/maps reader shared by the thread
 * side of the preload.
 *
 * Every thread created through pthread_create runs a trampoline that
 * registers it (kernel tid, pthread_self(), stack range) before the
 * program's start routine, and sets a pthread key whose destructor
 * unregisters it however the thread ends (return, pthread_exit,
 * cancellation).  The main thread is registered by rs_threads_init().
 * Threads the registry never saw (created before refscope loaded, or by a
 * raw clone) are still found by world.c through /proc/self/task.
 *
 * Fork: in the child only the forking thread exists, but the others'
 * stacks, descriptors and TLS stay mapped with the content they had (glibc
 * keeps them in its stack cache).  Their slots become ghosts: never found
 * by tid (the number may be reused), not stopped, but scanned as roots in
 * whole (threadroots.c), so that what only the parent's other threads held
 * is not reported as leaked by the child.  A ghost is dropped when a
 * thread registers with a stack overlapping it (glibc reused the stack).
 *
 * Invariants:
 *  - A slot is free iff its tid is 0; a ghost slot keeps its old tid.  Slots live in a static first chunk
 *    and in mmap'ed chunks that are never freed, so a slot pointer held in
 *    a thread's key value stays valid for the life of the process.
 *  - Registry memory never comes from the interposed malloc.
 *
 * Locking: g_lock protects every slot and the chunk list.  It is held for
 * a few instructions (or a mmap), never while calling program code, and by
 * world.c for the whole of a stop (see threads.h).  Never taken in a
 * signal handler.
 */
#include "guard.h"
#include "preload.h"
#include "threadroots.h"
#include "refcount.h"
#include "threads.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define RS_CHUNK_SLOTS 256

typedef struct rs_slot {
    rs_thread_info_t info;          /* info.tid == 0: free                 */
} rs_slot_t;

typedef struct rs_chunk {
    struct rs_chunk *next;
    rs_slot_t        slots[RS_CHUNK_SLOTS];
} rs_chunk_t;

typedef int (*rs_create_fn)(pthread_t *, const pthread_attr_t *,
                            void *(*)(void *), void *);

typedef struct rs_tramp {
    void *(*start)(void *);
    void  *arg;
} rs_tramp_t;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static rs_chunk_t      g_first;
static pthread_once_t  g_once = PTHREAD_ONCE_INIT;
static pthread_key_t   g_key;
static int             g_key_ok;
static rs_create_fn    g_real_create;

/* ---- locking and lookup --------------------------------------------- */

void rs_threads_lock(void)
{
    pthread_mutex_lock(&g_lock);
}

void rs_threads_unlock(void)
{
    pthread_mutex_unlock(&g_lock);
}

/* The slot of live thread tid (not a ghost), or NULL. */
static rs_slot_t *find_live(uint32_t tid)
{
    for (rs_chunk_t *c = &g_first; c; c = c->next)
        for (int i = 0; i < RS_CHUNK_SLOTS; i++)
            if (tid != 0 && c->slots[i].info.tid == tid && !c->slots[i].info.ghost)
                return &c->slots[i];
    return NULL;
}

int rs_threads_lookup(uint32_t tid, rs_thread_info_t *out)
{
    rs_slot_t *slot = find_live(tid);
    if (slot)
        *out = slot->info;
    return slot != NULL;
}

static void foreach_kind(void (*fn)(const rs_thread_info_t *t, void *ctx),
                         void *ctx, uint8_t ghost)
{
    for (rs_chunk_t *c = &g_first; c; c = c->next)
        for (int i = 0; i < RS_CHUNK_SLOTS; i++)
            if (c->slots[i].info.tid != 0 && c->slots[i].info.ghost == ghost)
                fn(&c->slots[i].info, ctx);
}

void rs_threads_foreach(void (*fn)(const rs_thread_info_t *t, void *ctx),
                        void *ctx)
{
    foreach_kind(fn, ctx, 0);
}

void rs_threads_foreach_ghost(void (*fn)(const rs_thread_info_t *t, void *ctx),
                              void *ctx)
{
    foreach_kind(fn, ctx, 1);
}

/* With the lock held: a free slot, growing the registry with mmap if
 * needed; NULL if memory ran out. */
static rs_slot_t *slot_alloc(void)
{
    rs_chunk_t *last = NULL;
    for (rs_chunk_t *c = &g_first; c; c = c->next) {
        for (int i = 0; i < RS_CHUNK_SLOTS; i++)
            if (c->slots[i].info.tid == 0)
                return &c->slots[i];
        last = c;
    }
    rs_chunk_t *c = mmap(NULL, sizeof *c, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED)
        return NULL;
    last->next = c;             /* mmap memory is zeroed: all slots free */
    return &c->slots[0];
}

/* ---- /proc/self/maps ------------------------------------------------- */

static uint64_t parse_hex(const char **s)
{
    uint64_t v = 0;
    for (;; (*s)++) {
        char ch = **s;
        if (ch >= '0' && ch <= '9')      v = v * 16 + (uint64_t)(ch - '0');
        else if (ch >= 'a' && ch <= 'f') v = v * 16 + (uint64_t)(ch - 'a' + 10);
        else return v;
    }
}

static const char *skip_field(const char *s)
{
    while (*s == ' ')
        s++;
    while (*s && *s != ' ')
        s++;
    return s;
}

/* One line "start-end perms offset dev inode   name". */
static int maps_line(const char *s, rs_maps_fn fn, void *ctx)
{
    uint64_t start = parse_hex(&s);
    if (*s++ != '-')
        return 0;
    uint64_t end = parse_hex(&s);
    if (*s++ != ' ')
        return 0;
    int readable = s[0] == 'r';
    s = skip_field(s);              /* perms  */
    s = skip_field(s);              /* offset */
    s = skip_field(s);              /* dev    */
    s = skip_field(s);              /* inode  */
    while (*s == ' ')
        s++;
    return fn(start, end, readable, s, ctx);
}

int rs_threads_maps_foreach(rs_maps_fn fn, void *ctx)
{
    char buf[8192];
    size_t head = 0, len = 0;       /* unparsed bytes are buf[head, len) */
    int eof = 0, skipping = 0, stop = 0;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    while (!stop) {
        char *nl = memchr(buf + head, '\n', len - head);
        if (!nl && !eof) {
            if (head == 0 && len == sizeof buf - 1) {
                /* A line longer than the buffer: drop it. */
                skipping = 1;
                len = 0;
            }
            memmove(buf, buf + head, len - head);
            len -= head;
            head = 0;
            ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                eof = 1;
            else
                len += (size_t)n;
            continue;
        }
        if (!nl) {
            if (head == len)
                break;
            nl = buf + len;         /* last line without a newline */
        }
        *nl = '\0';
        if (!skipping)
            stop = maps_line(buf + head, fn, ctx);
        skipping = 0;
        head = (size_t)(nl - buf) + (nl < buf + len);
    }
    close(fd);
    return 0;
}

typedef struct rs_find_map {
    uint64_t addr, start, end;
} rs_find_map_t;

static int find_map_fn(uint64_t start, uint64_t end, int readable,
                       const char *name, void *ctx)
{
    rs_find_map_t *f = ctx;
    if (f->addr >= start && f->addr < end) {
        f->start = start;
        f->end = end;
        return 1;
    }
    return 0;
}

static int stack_room_fn(uint64_t start, uint64_t end, int readable,
                         const char *name, void *ctx)
{
    uint64_t *sp_room = ctx;               /* in: sp, out: room */
    (void)readable;
    if (sp_room[0] < start || sp_room[0] >= end)
        return 0;
    uint64_t lo = start;
    struct rlimit rl;
    if (strcmp(name, "[stack]") == 0 && getrlimit(RLIMIT_STACK, &rl) == 0)
        lo = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= end ? 0 : end - rl.rlim_cur;
    sp_room[1] = sp_room[0] > lo ? sp_room[0] - lo : 0;
    return 1;
}

uint64_t rs_threads_stack_room(uint64_t sp)
{
    uint64_t sp_room[2] = { sp, UINT64_MAX };
    if (rs_threads_maps_foreach(stack_room_fn, sp_room) != 0)
        return UINT64_MAX;
    return sp_room[1];
}

/* ---- registration ---------------------------------------------------- */

static void unregister_slot(void *p)
{
    rs_slot_t *slot = p;
    rs_threads_lock();
    slot->info.tid = 0;
    rs_threads_unlock();
    rs_alt_stack_thread_end();
    rs_alloc_thread_end();
    rs_fastunwind_thread_end();
}

static void setup_once(void)
{
    g_real_create = (rs_create_fn)dlsym(RTLD_NEXT, "pthread_create");
    g_key_ok = pthread_key_create(&g_key, unregister_slot) == 0;
}

/* The calling thread's stack range: pthread_getattr_np for threads, the
 * mapping holding the current stack pointer for the main thread (whose
 * pthread_getattr_np would read /proc with stdio).  The main thread's
 * stack grows, so its lower bound is left unknown (0). */
static void own_stack(rs_thread_info_t *info)
{
    int here;
    if (info->tid == (uint32_t)getpid()) {
        rs_find_map_t f = { (uint64_t)(uintptr_t)&here, 0, 0 };
        if (rs_threads_maps_foreach(find_map_fn, &f) == 0 && f.end) {
            info->stack_hi = f.end;
            info->stack_lo = 0;
        }
        return;
    }
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
        info->stack_lo = (uint64_t)(uintptr_t)addr;
        info->stack_hi = (uint64_t)(uintptr_t)addr + size;
    }
    pthread_attr_destroy(&attr);
}

/* With the lock held: frees the ghosts whose stack overlaps t's (glibc
 * gave a ghost's cached stack to the new thread t). */
static void drop_ghosts_under(const rs_thread_info_t *t)
{
    if (!t->stack_lo || !t->stack_hi)
        return;
    for (rs_chunk_t *c = &g_first; c; c = c->next)
        for (int i = 0; i < RS_CHUNK_SLOTS; i++) {
            rs_thread_info_t *g = &c->slots[i].info;
            if (g->tid && g->ghost && g->stack_hi > t->stack_lo &&
                (g->stack_lo ? g->stack_lo : g->stack_hi - 1) < t->stack_hi)
                g->tid = 0;
        }
}

/* Registers the calling thread (replacing an entry left with its tid);
 * on failure the thread stays unregistered and is found by /proc. */
static void register_self(void)
{
    rs_thread_info_t info = { 0 };
    info.tid = (uint32_t)gettid();
    info.self = (uint64_t)pthread_self();
    rs_guard_enter();           /* pthread_getattr_np and setspecific may
                                   allocate: not the program's blocks */
    own_stack(&info);
    rs_backtrace_thread_stack(info.stack_lo, info.stack_hi);
    rs_alt_stack_thread_begin();

    rs_threads_lock();
    drop_ghosts_under(&info);
    rs_slot_t *slot = find_live(info.tid);
    if (!slot)
        slot = slot_alloc();
    if (slot)
        slot->info = info;
    rs_threads_unlock();
    if (slot && g_key_ok)
        pthread_setspecific(g_key, slot);
    rs_guard_leave();
}

void rs_threads_init(void)
{
    pthread_once(&g_once, setup_once);
    rs_threadroots_init();
    register_self();
}

void rs_threads_atfork_child(void)
{
    uint64_t self = (uint64_t)pthread_self();   /* same as in the parent */
    pthread_mutex_init(&g_lock, NULL);
    for (rs_chunk_t *c = &g_first; c; c = c->next)
        for (int i = 0; i < RS_CHUNK_SLOTS; i++) {
            rs_thread_info_t *t = &c->slots[i].info;
            if (t->tid && t->self == self)
                t->tid = 0;
            else if (t->tid)
                t->ghost = 1;
        }
    /* The caller again, under its new tid (the key value is replaced). */
    register_self();
}

/* ---- the pthread_create hook ----------------------------------------- */

static void *thread_start(void *p)
{
    rs_tramp_t t = *(rs_tramp_t *)p;
    rs_mem_free(p);
    register_self();
    rs_refcount_note_thread_start((uint64_t)(uintptr_t)__builtin_return_address(0));
    return t.start(t.arg);
}

/* Interposes glibc's pthread_create.  Behaves exactly like it; the new
 * thread registers itself first.  If refscope cannot allocate the
 * trampoline the thread is created unregistered.  Returns EAGAIN if the
 * real pthread_create cannot be found. */
RS_EXPORT
int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                   void *(*start)(void *), void *arg)
{
    pthread_once(&g_once, setup_once);
    if (!g_real_create)
        return EAGAIN;
    rs_tramp_t *t = rs_mem_alloc(sizeof *t);
    if (!t)
        return g_real_create(thread, attr, start, arg);
    t->start = start;
    t->arg = arg;
    int rc = g_real_create(thread, attr, thread_start, t);
    if (rc != 0)
        rs_mem_free(t);
    return rc;
}
