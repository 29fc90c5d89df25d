/*
 * init.c - start-up of librefscope.so, its global state, and fork.
 *
 * Start-up runs once, at the first allocation made after libc is
 * initialised (environ set) or in librefscope.so's constructor, whichever
 * comes first.  Starting at the first allocation matters: the loader runs
 * the constructors of the program's own libraries (glib's, say) before
 * refscope's, and a block they allocate but refscope never saw would hide
 * everything it points to.  Allocations made before libc is initialised
 * (the loader's own) are forwarded untouched and never recorded.  Start-up
 * resolves the real allocator, reads the settings, points
 * lib/'s rs_mem at glibc's un-interposed __libc_* allocator (scratch.c),
 * creates the stack depot, the block registry and the refcounted-object
 * tables, reads the module table, registers the main thread, installs
 * fork handlers, sets rs_active, installs the fatal-signal handlers
 * (fatal_signals.c), and then installs the profile hooks of
 * REFSCOPE_HOOKS (refhooks.c), whose events need rs_active.  If anything
 * fails refscope stays inactive (pass-through) and says so once.
 *
 * Fork: prepare takes every refscope lock in the documented order (module
 * table, annotations, refcount side, depot shards, block registry logs)
 * with the guard set, so that
 * no lock is inherited held by a thread that does not exist in the child
 * and allocations by other prepare handlers pass through unrecorded;
 * parent and child release them.  The child forgets the other threads and
 * its cached thread id and restarts the snapshot sequence; it keeps the
 * blocks inherited from the parent and writes its own snapshot, under its
 * own pid, when it exits.  The other threads' stacks stay mapped in the
 * child with their content; they remain roots there (threads.c).
 */
#include "guard.h"
#include "preload.h"
#include "refcount.h"
#include "snapshot_trigger.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

int rs_active;
pid_t rs_self_pid;
int rs_forked;
rs_stackdepot_t *rs_depot;
rs_blockreg_t *rs_blocks;

static void fork_prepare(void)
{
    rs_guard_enter();
    rs_weak_fields_lock();
    rs_python_frames_lock();
    rs_modules_lock();
    rs_annotate_lock();
    rs_mappings_lock();
    rs_refcount_lock_all();
    rs_stackdepot_lock_all(rs_depot);
    rs_blockreg_lock_all(rs_blocks);
}

static void fork_release(void)
{
    rs_blockreg_unlock_all(rs_blocks);
    rs_stackdepot_unlock_all(rs_depot);
    rs_refcount_unlock_all();
    rs_mappings_unlock();
    rs_annotate_unlock();
    rs_modules_unlock();
    rs_python_frames_unlock();
    rs_weak_fields_unlock();
}

static void fork_parent(void)
{
    fork_release();
    rs_guard_leave();
}

static void fork_child(void)
{
    fork_release();
    rs_refcount_atfork_child();
    rs_alloc_atfork_child();
    rs_diag_atfork_child();
    rs_threads_atfork_child();
    rs_analysis_atfork_child();
    rs_exit_hooks_atfork_child();
    rs_fatal_signals_atfork_child();
    rs_self_pid = getpid();
    rs_forked = 1;
    rs_run_marker_begin();
    rs_guard_leave();
}

static void say_inactive(const char *why)
{
    rs_line_t l = {.len = 0};
    rs_line_str(&l, "refscope: ");
    rs_line_str(&l, why);
    rs_line_str(&l, "; refscope is inactive for this process\n");
    rs_diag_emit(&l);
}

/* Everything after the settings; leaves rs_active 0 on failure. */
static void start(void)
{
    rs_scratch_install();
    rs_diag_init();
    rs_depot = rs_stackdepot_create();
    rs_blocks = rs_blockreg_create();
    if (!rs_depot || !rs_blocks) {
        say_inactive("out of memory at start-up");
        return;
    }
    if (rs_modules_init() != 0)
        rs_diag_oom();
    rs_mappings_init();
    rs_real_check_shadowed();
    rs_backtrace_init();
    rs_stack_frames_init();
    rs_threads_init();
    if (pthread_atfork(fork_prepare, fork_parent, fork_child) != 0) {
        say_inactive("cannot install fork handlers");
        return;
    }
    if (rs_refcount_init((uint32_t)rs_settings.history) != 0)
        rs_diag_oom();            /* objects untracked, blocks still are */
    rs_self_pid = getpid();
    rs_exit_hooks_init();
    rs_active = 1;
    rs_run_marker_begin();        /* analysed from now on: run_marker.c */
    rs_fatal_signals_init();      /* after rs_active: it stands in for SIG_DFL */
    rs_snapshot_trigger_init();
    rs_refhooks_init();           /* hooks may fire from now on */
    rs_python_frames_init();      /* needs the profiles */
}

/* 0 = not tried, 1 = in progress or done. */
static atomic_int init_state;

int rs_init_now(void)
{
    int expected = 0;
    if (atomic_load_explicit(&init_state, memory_order_acquire) != 0 ||
        !environ ||                /* libc not initialised yet */
        !atomic_compare_exchange_strong(&init_state, &expected, 1))
        return rs_active;
    int saved_errno = errno;
    rs_guard_enter();
    if (rs_real_resolve() != 0 && !rs_real.malloc) {
        say_inactive("cannot find the real malloc");
    } else {
        rs_settings_load();
        rs_dl_hooks_init();
        if (rs_settings.enable)
            start();
    }
    rs_guard_leave();
    errno = saved_errno;
    return rs_active;
}

int rs_init_begun(void)
{
    return atomic_load_explicit(&init_state, memory_order_acquire) != 0;
}

int rs_start_argc;
char **rs_start_argv;

/* glibc passes constructors the program's argc, argv and environ. */
__attribute__((constructor(101))) static void rs_init(int argc, char **argv,
                                                      char **envp)
{
    (void)envp;
    rs_start_argc = argc;
    rs_start_argv = argv;
    rs_init_now();
}
