/*
 * exit_analysis.c - the analysis driver and the exit trigger.
 *
 * rs_analysis_run() turns the process's current state into a snapshot:
 *
 *   1. refresh the module table (the loader is still usable);
 *   2. switch this thread's rs_mem to scratch memory (scratch.c), take the
 *      module table lock and every block-table shard lock, stop the other
 *      threads, release the shard locks.  Taking the locks first means no
 *      thread is stopped inside a block-table critical section;
 *   3. copy the live blocks into rs_node_t's, sort them, collect the roots
 *      (module data+bss from the table, then every thread's stack,
 *      registers and TLS via rs_threadroots_collect, then refscope_root
 *      regions), mark refscope_ignore()d blocks, mark the refcounted
 *      objects' blocks with their type, counter and current count and
 *      gather their reference history (refcount.c), mark the objects the
 *      profiles' `recognize` lines find (recognized.c), scan the graph
 *      and classify it;
 *   4. resume the world, release the locks;
 *   5. assemble an rs_snapshot_t (process facts, modules, stacks, type
 *      names, history, refcount errors) and write it to
 *      $REFSCOPE_OUT/<program>.<pid>.<seq>.rsnap (program_name(); the
 *      name the refscope tool collects);
 *   6. drop all scratch memory.
 * While the world is stopped nothing here calls malloc, the loader or
 * stdio: a stopped thread may hold their locks.
 *
 * The end-of-process analysis runs once per process, from whichever of
 * these comes first: a destructor of librefscope.so, inside exit() after
 * the program's atexit handlers and the executable's destructors; the
 * _exit()/_Exit() hook (exit_hooks.c); the handler of a fatal signal
 * whose action is the default (fatal_signals.c).  The last two use the
 * final mode (run_final()), safe in a signal handler that interrupted
 * malloc.  A vfork child and a fork child whose exec failed never
 * analyse (rs_exit_process_is_ours()).  It prints one summary paragraph
 * on stderr when there is something to say: a leak, a refcount error,
 * refscope out of memory (not under REFSCOPE_QUIET), a snapshot not
 * written (always: the findings are lost).
 * A clean process is silent, as under LeakSanitizer, because parents
 * parse their children's stderr (cmake reads `uname -m 2>&1`, configure
 * scripts check that the compiler said nothing).  With
 * REFSCOPE_EXITCODE=N and a leak, an exit() or _exit() ends the process
 * with _exit(N) (stdio flushed first only when it came through exit()) -
 * unless REFSCOPE_SUPPRESSIONS hide every leak, which `refscope check`
 * decides (exit_gate.c).  A fatal signal always ends the process as it
 * would have without refscope.
 */
#include "guard.h"
#include "preload.h"
#include "refcount.h"

#include "classify.h"
#include "heapscan.h"
#include "pyloc_table.h"
#include "recognize.h"
#include "snapshot.h"
#include "snapshot_dir.h"
#include "snapshot_trigger.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t analysis_lock = PTHREAD_MUTEX_INITIALIZER;
/* 0 until the end-of-process analysis has been claimed in this process. */
static atomic_int end_claimed;
/* This thread claimed the end-of-process analysis: its run_marker.c mark
 * goes as soon as the analysis is over, before the guard is left (a
 * signal put off meanwhile, such as a pool's SIGTERM to a worker that was
 * already exiting, ends the process right then). */
static _Thread_local int ending_thread __attribute__((tls_model("initial-exec")));
static uint32_t next_seq;
/* Root memory for the analysing thread's registers: must outlive the scan. */
static rs_self_context_t self_ctx;
/* ld.so's code, found before the module lock is taken. */
static uint64_t loader_lo, loader_hi;

void rs_analysis_atfork_child(void)
{
    next_seq = 0;
    atomic_store(&end_claimed, 0);
    ending_thread = 0;
    pthread_mutex_init(&analysis_lock, NULL);
}

/* ---- step 3: the heap graph ----------------------------------------- */

typedef struct gather {
    rs_node_t *nodes;
    uint32_t   n, cap;
    int        oom;
    uint64_t   loader_lo, loader_hi;   /* ld.so's code                     */
} gather_t;

/* Blocks the dynamic linker allocated itself (a thread's DTV, dynamic TLS
 * blocks, link maps) are reachable through structures refscope does not
 * scan, e.g. the descriptors of exited threads in glibc's stack cache,
 * which live in mmap'ed stacks.  Like LeakSanitizer, treat them as roots
 * (RS_NODE_IGNORED): they are never reported and what they point to is
 * reachable. */
static int allocated_by_loader(const gather_t *g, uint32_t stack_id)
{
    rs_stack_t st;
    if (!stack_id || rs_stackdepot_get(rs_depot, stack_id, &st) != 0 || !st.n_frames)
        return 0;
    return st.pcs[0] >= g->loader_lo && st.pcs[0] < g->loader_hi;
}

static void add_block(const rs_block_t *b, void *arg)
{
    gather_t *g = arg;
    if (g->n == g->cap) {
        uint32_t cap = g->cap ? g->cap * 2 : 1024;
        rs_node_t *nodes = rs_mem_realloc(g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) {
            g->oom = 1;
            return;
        }
        g->nodes = nodes;
        g->cap = cap;
    }
    rs_node_t *n = &g->nodes[g->n++];
    memset(n, 0, sizeof *n);
    n->addr = b->addr;
    n->size = b->size;
    n->stack_id = b->stack_id;
    n->owner = UINT32_MAX;
    n->alloc_tid = b->tid_seq;
    if (allocated_by_loader(g, b->stack_id))
        n->flags |= RS_NODE_IGNORED;
}

/* World stopped, module lock held.  Fills heap, history and summary;
 * returns 0, or -1 when memory ran out (heap partially filled, classes
 * unknown). */
static int build_graph(rs_heap_t *heap, rs_rootvec_t *roots, rs_ref_history_t *hist,
                       rs_recognize_result_t *rec, rs_summary_t *summary)
{
    gather_t g = {0};
    g.loader_lo = loader_lo;
    g.loader_hi = loader_hi;
    /* Exact with the world stopped (the registry's live counts); the
     * array grows if it were not.  No slack: scratch memory is populated
     * as asked for, and zeroing it is most of the time this step takes
     * at millions of blocks (1.5 us per 4 KiB on the VM of the benchmarks:
     * 4M nodes, 224 MB, 350 ms). */
    uint64_t expect = rs_blockreg_count(rs_blocks);
    g.cap = (uint32_t)(expect + 1024);
    g.nodes = rs_mem_alloc((size_t)g.cap * sizeof *g.nodes);
    if (!g.nodes)
        return -1;
    rs_blockreg_foreach(rs_blocks, add_block, &g);
    heap->nodes = g.nodes;
    heap->n_nodes = g.n;
    rs_heapscan_sort_nodes(heap);

    int rc = g.oom ? -1 : 0;
    uint64_t outside;              /* objects in no live block: not nodes */
    if (rs_modules_global_roots(roots) != 0 ||
        rs_threadroots_collect(roots, &self_ctx) != 0 ||
        rs_mappings_roots(roots) != 0)
        rc = -1;
    rs_snapshot_trigger_drop_roots(roots);   /* refscope's helper thread */
    if (rs_annotate_apply(heap, roots) != 0 ||
        rs_refcount_apply(heap, hist, &outside) != 0 ||
        rs_recognized_apply(heap, rec) != 0)
        rc = -1;
    heap->roots = roots->items;
    heap->n_roots = roots->n;

    rs_scan_holes_find(heap);    /* pages never touched: not scanned */
    if (rs_heapscan_edges(heap) != 0 || rs_heapscan_roots(heap) != 0)
        return -1;
    rs_refcount_mark_weak(heap);
    if (rs_classify(heap, summary) != 0)
        return -1;
    return rc;
}

/* ---- step 5: the snapshot -------------------------------------------- */

/* A program that sets its process title (postgres, sshd: setproctitle)
 * writes it over its argument strings and fills the rest with NULs, which
 * /proc/self/cmdline gives back as dozens of empty arguments.  Like ps,
 * name the process by its title alone.  Empty arguments the program was
 * started with are real: a command line that still has the start's number
 * of arguments is left as it is. */
static void drop_title_padding(rs_proc_info_t *p)
{
    if (rs_start_argc <= 0 || p->argc == (uint32_t)rs_start_argc)
        return;
    while (p->argc > 1 && p->argv[p->argc - 1][0] == '\0')
        p->argc--;
}

/* No /proc/self (a /proc mounted for another PID namespace: `unshare
 * --pid --mount-proc`): the argument strings the program started with,
 * as they are now. */
static void start_argv(rs_proc_info_t *p)
{
    if (rs_start_argc <= 0 || !rs_start_argv ||
        !(p->argv = rs_mem_calloc((size_t)rs_start_argc, sizeof *p->argv)))
        return;
    for (int i = 0; i < rs_start_argc && rs_start_argv[i]; i++)
        p->argv[p->argc++] = rs_start_argv[i];
}

/* Reads /proc/self/cmdline into argv (scratch memory). */
static void read_cmdline(rs_proc_info_t *p)
{
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        start_argv(p);
        return;
    }
    size_t len = 0, cap = 4096;
    char *buf = rs_mem_alloc(cap + 1);
    while (buf) {
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len == cap) {
            char *b = rs_mem_realloc(buf, cap * 2 + 1);
            if (!b)
                break;
            buf = b;
            cap *= 2;
        }
    }
    close(fd);
    if (!buf || len == 0)
        return;
    buf[len] = '\0';
    uint32_t argc = 0;
    for (size_t i = 0; i < len; i++)
        argc += buf[i] == '\0' || i + 1 == len;
    p->argv = rs_mem_calloc(argc, sizeof *p->argv);
    if (!p->argv)
        return;
    for (size_t i = 0; i < len && p->argc < argc; i += strlen(buf + i) + 1)
        p->argv[p->argc++] = buf + i;
    drop_title_padding(p);
}

static void fill_proc(rs_proc_info_t *p, const char *label, int reason, uint32_t seq)
{
    static char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    if (n <= 0 && execfn) {              /* no /proc/self: as exec'd */
        size_t len = strnlen(execfn, sizeof exe - 1);
        memcpy(exe, execfn, len);
        exe[len] = '\0';
    }
    p->pid = getpid();
    p->ppid = getppid();
    p->has_exit_status = (uint8_t)rs_main_exit_status(&p->exit_status);
    p->reason = (uint8_t)reason;
    p->seq = seq;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    p->time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    p->exe = exe;
    p->label = (char *)label;
    read_cmdline(p);
}

/* After fill_stacks: every location a copied stack names was published
 * before the stack was interned, so the count read now covers them. */
static int fill_python_locations(rs_snapshot_t *s)
{
    return rs_pyloc_table_copy(rs_python_frames_locations(), &s->pylocs, &s->n_pylocs);
}

static int fill_stacks(rs_snapshot_t *s)
{
    uint32_t n = rs_stackdepot_count(rs_depot);
    s->stacks = rs_mem_calloc(n ? n : 1, sizeof *s->stacks);
    if (!s->stacks)
        return -1;
    for (uint32_t id = 1; id <= n; id++)
        if (rs_stackdepot_get(rs_depot, id, &s->stacks[id - 1]) != 0)
            memset(&s->stacks[id - 1], 0, sizeof s->stacks[id - 1]);
    s->n_stacks = n;
    return 0;
}

/* What a snapshot's file name starts with: the file the process was
 * started from, as exec'd (AT_EXECFN: redis-server, not the
 * redis-check-rdb it links to; sh, not dash; a script's own name, not its
 * interpreter's), else, for an exec of /proc/self/exe or /dev/fd/N, the
 * executable's name. */
static const char *program_name(const rs_proc_info_t *p)
{
    const char *path = (const char *)getauxval(AT_EXECFN);
    if (!path || !*path || strncmp(path, "/proc/", 6) == 0 ||
        strncmp(path, "/dev/fd/", 8) == 0)
        path = p->exe;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    return *base ? base : "unknown";
}

static void snapshot_path(rs_analysis_result_t *res, const rs_proc_info_t *p)
{
    rs_line_t l = {.len = 0};
    rs_line_str(&l, rs_settings.out_dir);
    rs_line_str(&l, "/");
    rs_line_str(&l, program_name(p));
    rs_line_str(&l, ".");
    rs_line_i64(&l, p->pid);
    rs_line_str(&l, ".");
    rs_line_u64(&l, p->seq);
    rs_line_str(&l, ".rsnap");
    size_t n = l.len < sizeof res->path ? l.len : sizeof res->path - 1;
    memcpy(res->path, l.buf, n);
    res->path[n] = '\0';
}

/* A process that used up its descriptors (RLIMIT_NOFILE's soft limit:
 * a server that ran out, a test of that) has none left for the snapshot,
 * which was then lost ("Too many open files"): the soft limit is raised
 * by a few for the write (fd_limit.c).  Returns 1 when *saved must be
 * restored. */
static int make_room_for_fd(struct rlimit *saved)
{
    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    struct rlimit now;
    return errno == EMFILE && getrlimit(RLIMIT_NOFILE, &now) == 0 &&
           now.rlim_cur != RLIM_INFINITY && rs_fd_limit_raise(now.rlim_cur + 4, saved);
}

static void write_snapshot(rs_snapshot_t *s, rs_analysis_result_t *res)
{
    snapshot_path(res, &s->proc);
    if (rs_snapshot_make_dir(rs_settings.out_dir, NULL) != 0) {
        int e = errno;
        rs_line_t l = {.len = 0};
        rs_line_str(&l, "cannot create directory ");
        rs_line_str(&l, rs_settings.out_dir);
        rs_line_str(&l, ": ");
        rs_line_str(&l, strerror(e));
        size_t n = l.len < sizeof res->error ? l.len : sizeof res->error - 1;
        memcpy(res->error, l.buf, n);
        res->error[n] = '\0';
        return;
    }
    rs_snapshot_error_t err;
    err.message[0] = '\0';
    /* Past `ulimit -f` the write fails with EFBIG (said like any error)
     * and raises SIGXFSZ, which must not end the program. */
    rs_held_signal_t held;
    rs_signal_hold(&held, SIGXFSZ);
    struct rlimit fd_limit;
    int raised = make_room_for_fd(&fd_limit);
    int rc = rs_snapshot_write(s, res->path, &err);
    if (raised)
        rs_fd_limit_restore(&fd_limit);
    rs_signal_release(&held);
    if (rc == 0) {
        res->written = 1;
    } else {
        memcpy(res->error, err.message, sizeof res->error);
        res->error[sizeof res->error - 1] = '\0';
    }
}

/* ---- the driver --------------------------------------------------------- */

/* The analysis lock: taken, or in final mode only tried (a fatal signal
 * may have interrupted an analysis on another thread, which a stopped
 * world cannot finish).  Returns 0 when held. */
static int lock_analysis(int final)
{
    if (!final) {
        pthread_mutex_lock(&analysis_lock);
        return 0;
    }
    if (pthread_mutex_trylock(&analysis_lock) == 0)
        return 0;
    rs_line_t l = {.len = 0};
    rs_line_str(&l, "refscope: another analysis is in progress; none at this end\n");
    rs_diag_emit(&l);
    return -1;
}

/* An analysis that ran out of memory writes no snapshot.  rs_diag_oom()
 * has usually said "out of memory" already, during the run (once, and
 * that the report would be incomplete): without this line the process's
 * findings would be lost without a word.  Said for every end-of-process
 * analysis, even under REFSCOPE_QUIET (as a snapshot that could not be
 * written), and once for the others (refscope_check(), the snapshot
 * signal or period, which may come again and again). */
static void say_analysis_lost(int reason, const char *label)
{
    static atomic_int said_during_run;
    if (reason != 0 && atomic_exchange(&said_during_run, 1))
        return;
    rs_line_t l = {.len = 0};
    rs_line_str(&l, "refscope: out of memory for the analysis");
    if (reason != 0) {
        rs_line_str(&l, " (");
        rs_line_quoted(&l, label);
        rs_line_str(&l, ")");
    }
    rs_line_str(&l, "; no snapshot written\n");
    rs_diag_emit(&l);
}

/* See rs_analysis_run() and run_final() below. */
static int analyse_now(const char *label, int reason, const rs_self_context_t *self,
                       int final, rs_analysis_result_t *res)
{
    if (!rs_active || rs_guard_active())
        return -1;
    int saved_errno = errno;
    int rc = -1;
    rs_guard_enter();
    if (lock_analysis(final) != 0) {
        rs_guard_leave();
        return -1;
    }
    memset(res, 0, sizeof *res);
    uint64_t t_start = rs_stats_now_ns(), t_stopped = 0, t_resumed = 0;

    if (self)
        self_ctx = *self;
    else
        rs_main_self_context(&self_ctx);
    if (!final)
        rs_refcount_settle();    /* held decrefs left: underflows (objtable.h) */
    if (final)
        rs_scratch_begin();      /* no malloc at all from here on */
    rs_modules_refresh();
    if (!final) {
        rs_refhooks_refresh();   /* modules dlopen'ed since the last poll */
        rs_recognized_prepare(); /* dlsym: before scratch memory, world running */
        rs_registry_tables_prepare();   /* dlsym, dl_iterate_phdr: likewise */
        rs_qdata_lines_prepare();       /* g_quark_try_string: likewise */
    }
    if (rs_modules_loader_text(&loader_lo, &loader_hi) != 0)
        loader_lo = loader_hi = 0;
    if (!final)
        rs_scratch_begin();

    rs_heap_t heap = {0};
    rs_rootvec_t roots = {0};
    rs_ref_history_t hist = {0};
    rs_recognize_result_t rec = {0};   /* objects found by `recognize` lines */
    rs_thread_frame_t *frames = NULL;   /* every thread's call stack      */
    uint32_t n_frames = 0, frames_epoch = rs_modules_epoch();
    rs_stack_frames_prepare();   /* unwind tables, world running (stack_frames.c) */
    /* No thread inside a realloc window when the world stops (refcount.h);
     * first of all locks.  Final mode: bounded wait, else go on. */
    int window_closed = rs_refcount_moves_block(final) == 0;
    rs_modules_lock();
    rs_annotate_lock();
    rs_mappings_lock();
    rs_refcount_lock_all();
    rs_blockreg_lock_all(rs_blocks);
    int stopped = rs_world_stop();
    t_stopped = rs_stats_now_ns();
    rs_blockreg_unlock_all(rs_blocks);
    rs_refcount_unlock_all();
    if (window_closed)
        rs_refcount_moves_allow();
    if (stopped < 0) {
        rs_mappings_unlock();
        rs_annotate_unlock();
        rs_modules_unlock();
        rs_line_t l = {.len = 0};
        rs_line_str(&l, "refscope: cannot stop the other threads; no analysis\n");
        rs_diag_emit(&l);
        goto out;
    }
    int graph_rc = build_graph(&heap, &roots, &hist, &rec, &res->summary);
    rs_stack_frames_collect(&self_ctx, &frames, &n_frames);  /* partial on OOM */
    rs_world_resume();
    t_resumed = rs_stats_now_ns();
    rs_mappings_unlock();
    rs_annotate_unlock();
    rs_modules_unlock();
    if (graph_rc != 0) {
        rs_diag_oom();
        say_analysis_lost(reason, label);
        goto out;
    }

    rs_snapshot_t snap;
    memset(&snap, 0, sizeof snap);
    fill_proc(&snap.proc, label, reason, next_seq++);
    if (self)                    /* a fatal signal: no exit status */
        snap.proc.has_exit_status = 0;
    uint32_t total_errors = 0;
    if (rs_modules_copy(&snap.modules, &snap.n_modules) != 0 || fill_stacks(&snap) != 0 ||
        fill_python_locations(&snap) != 0 ||
        rs_refcount_types(&snap.types, &snap.n_types) != 0 ||
        rs_recognized_types(&heap, &rec, &snap.types, &snap.n_types) != 0 ||
        rs_refcount_errors(&snap.rc_errors, &snap.n_rc_errors, &total_errors) != 0) {
        rs_diag_oom();
        say_analysis_lost(reason, label);
        goto out;
    }
    res->summary.rc_errors = total_errors;
    snap.heap = heap;
    snap.history = hist;
    snap.thread_frames = frames;
    snap.n_thread_frames = n_frames;
    snap.frames_epoch = frames_epoch;
    snap.summary = res->summary;
    write_snapshot(&snap, res);
    /* REFSCOPE_STATS=1: one line (stats.c) */
    rs_stats_report(rs_stats_now_ns() - t_start, t_resumed - t_stopped);
    rc = 0;
out:
    if (ending_thread)
        rs_run_marker_end();     /* analysed, or a line said why not; an
                                    analysis that did not start (another in
                                    progress) leaves the mark: no snapshot */
    if (!final) {
        rs_scratch_end();        /* frees heap, roots and the snapshot */
        pthread_mutex_unlock(&analysis_lock);
    }                            /* final: no other analysis may end scratch
                                    mode (its memory is shared) */
    rs_guard_leave();
    errno = saved_errno;
    return rc;
}

/* analyse_now with the thread's cancellation off: cancelled at one of
 * the analysis's cancellation points (open, read, write), a thread would
 * leave the other threads stopped and refscope's locks held for ever (a
 * refscope_check() in a thread with a cancel pending hung the process). */
static int analyse(const char *label, int reason, const rs_self_context_t *self,
                   int final, rs_analysis_result_t *res)
{
    int cancel_state;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    int rc = analyse_now(label, reason, self, final, res);
    pthread_setcancelstate(cancel_state, NULL);
    return rc;
}

int rs_analysis_run(const char *label, int reason, rs_analysis_result_t *res)
{
    return analyse(label, reason, NULL, 0, res);
}

/* The final mode, for an analysis after which the process ends (_exit, a
 * fatal signal), possibly called from a signal handler that interrupted
 * malloc or the loader: the lock is only tried; this thread allocates
 * from scratch memory from the start (so the module table's refresh does
 * too) and stays in scratch mode, keeping it all, since other threads
 * run on until the process is gone (the analysis lock stays held, so no
 * later analysis, e.g. the snapshot thread's, can end scratch mode); modules dlopen'ed since the last poll
 * get no profile hooks (dlsym may allocate).  self: the interrupted
 * thread's state for a fatal signal (the snapshot then has no exit
 * status), NULL for _exit (main_hook.c's). */
static int run_final(const char *label, const rs_self_context_t *self,
                                 rs_analysis_result_t *res)
{
    return analyse(label, 0, self, 1, res);
}

/* ---- the exit trigger ---------------------------------------------------- */

static uint64_t leaked_blocks(const rs_summary_t *s)
{
    return s->by_class[RS_CLASS_LEAKED].blocks + s->by_class[RS_CLASS_INDIRECT].blocks +
           s->by_class[RS_CLASS_CYCLE].blocks + s->by_class[RS_CLASS_LEAKED_REF].blocks;
}

/* ", 96 bytes leaked in 2 blocks" for a non-empty class. */
static void add_class(rs_line_t *l, const rs_tally_t *t, const char *what, int *first)
{
    if (!t->blocks)
        return;
    rs_line_str(l, *first ? " " : ", ");
    *first = 0;
    rs_line_count(l, t->bytes, "byte", "bytes");
    rs_line_str(l, " ");
    rs_line_str(l, what);
    rs_line_str(l, " in ");
    rs_line_count(l, t->blocks, "block", "blocks");
}

/* Whether a seccomp filter confines this process (/proc/self/status,
 * "Seccomp: 2"): a sandbox (man-db's, a container's) that may refuse
 * the snapshot's mkdir or open, with errors such as "Function not
 * implemented" that say nothing of it. */
static int under_seccomp_filter(void)
{
    char buf[2048];             /* the line is at about byte 900 */
    ssize_t n = rs_proc_file_read("/proc/self/status", buf, sizeof buf);
    if (n <= 0)
        return 0;
    const char *at = strstr(buf, "\nSeccomp:");
    if (!at)
        return 0;
    at += strlen("\nSeccomp:");
    while (*at == ' ' || *at == '\t')
        at++;
    return *at == '2';
}

static void print_summary(const rs_analysis_result_t *res)
{
    const rs_summary_t *s = &res->summary;
    uint64_t n = leaked_blocks(s);
    rs_line_t l = {.len = 0};
    rs_line_str(&l, "refscope: ");
    if (n) {
        rs_line_count(&l, n, "leak:", "leaks:");
        int first = 1;
        add_class(&l, &s->by_class[RS_CLASS_LEAKED], "leaked", &first);
        add_class(&l, &s->by_class[RS_CLASS_INDIRECT], "indirect", &first);
        add_class(&l, &s->by_class[RS_CLASS_CYCLE], "in reference cycles", &first);
        add_class(&l, &s->by_class[RS_CLASS_LEAKED_REF], "held by leaked references", &first);
    } else {
        rs_line_str(&l, "no leaks");
    }
    const rs_tally_t *r = &s->by_class[RS_CLASS_REACHABLE];
    rs_line_str(&l, "; ");
    rs_line_count(&l, r->bytes, "byte", "bytes");
    rs_line_str(&l, " in ");
    rs_line_count(&l, r->blocks, "block", "blocks");
    rs_line_str(&l, " still reachable.");
    if (s->rc_errors) {
        rs_line_str(&l, " ");
        rs_line_count(&l, s->rc_errors, "refcount error.", "refcount errors.");
    }
    if (rs_mem_out_of_memory())
        rs_line_str(&l, " Incomplete: refscope ran out of memory.");
    if (res->written) {
        rs_line_str(&l, " Snapshot: ");
        rs_line_quoted(&l, res->path);
        rs_line_str(&l, " (see `refscope report ");
        rs_line_quoted(&l, res->path);
        rs_line_str(&l, "`)\n");
    } else {
        rs_line_str(&l, " Snapshot not written: ");
        rs_line_quoted(&l, res->error);
        if (under_seccomp_filter())
            rs_line_str(&l, " (this process runs under a seccomp filter, which may "
                            "refuse it)");
        rs_line_str(&l, "\n");
    }
    rs_diag_emit(&l);
}

long rs_analysis_check(void)
{
    static rs_analysis_result_t res;     /* large; one check at a time */
    static pthread_mutex_t check_lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&check_lock);
    long n = -1;
    if (rs_analysis_run("check", 2, &res) == 0) {
        if (!rs_settings.quiet)
            print_summary(&res);
        n = (long)leaked_blocks(&res.summary);
    }
    pthread_mutex_unlock(&check_lock);
    return n;
}

/* Whether the exit summary has news: see the file comment.  A snapshot
 * that could not be written is said even under REFSCOPE_QUIET (which
 * `refscope run` sets): nothing else would tell that the process's
 * findings are lost. */
static int worth_saying(const rs_analysis_result_t *res)
{
    if (!res->written)
        return 1;
    return !rs_settings.quiet &&
           (leaked_blocks(&res->summary) > 0 || res->summary.rc_errors > 0 ||
            rs_mem_out_of_memory());
}

/* Whether the caller runs the end-of-process analysis: refscope is on,
 * the process is ours (exit_hooks.c) and nobody claimed it before. */
static int claim_end(void)
{
    int expected = 0;
    ending_thread = rs_active && rs_exit_process_is_ours() &&
                    atomic_compare_exchange_strong(&end_claimed, &expected, 1);
    return ending_thread;
}

void rs_analysis_at_exit(int final)
{
    static rs_analysis_result_t res;
    if (final && rs_active && rs_guard_active() && rs_exit_process_is_ours()) {
        /* _exit() from a signal handler that interrupted refscope, which
         * may hold its locks */
        rs_line_t l = {.len = 0};
        rs_line_str(&l, "refscope: _exit() interrupted refscope's own code; "
                        "no analysis\n");
        if (!rs_settings.quiet)
            rs_diag_emit(&l);
        return;
    }
    if (!claim_end())
        return;
    int rc = final ? run_final("exit", NULL, &res)
                   : rs_analysis_run("exit", 0, &res);
    if (rc != 0)
        return;
    if (worth_saying(&res))
        print_summary(&res);
    if (rs_settings.exitcode >= 0 && leaked_blocks(&res.summary) > 0 &&
        rs_gate_fails(&res)) {           /* REFSCOPE_SUPPRESSIONS: exit_gate.c */
        if (!final)
            fflush(NULL);                /* exit() flushes; _exit() does not */
        rs_exit_now(rs_settings.exitcode);
    }
}

void rs_analysis_at_signal(int sig, const rs_self_context_t *ctx)
{
    static rs_analysis_result_t res;
    char label[16] = "SIG";
    const char *abbrev = sigabbrev_np(sig);
    if (!claim_end())
        return;
    if (abbrev && strlen(abbrev) < sizeof label - 3)
        memcpy(label + 3, abbrev, strlen(abbrev) + 1);
    if (run_final(label, ctx, &res) == 0 && worth_saying(&res))
        print_summary(&res);
}

__attribute__((destructor)) static void rs_exit_trigger(void)
{
    rs_analysis_at_exit(0);
}
