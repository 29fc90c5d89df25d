/*
 * fork_refs - fork() while other threads take and drop references.
 *
 * Three worker threads each own 32 annotated objects ("Item", counter at
 * offset 0) and take and drop references to them (refscope_incref /
 * refscope_decref) as fast as they can, with 8 objects all of them share,
 * until main says stop.  Meanwhile main forks: the world is forked in
 * the middle of events, and the child, the only thread left,
 * takes and drops a reference to every object (an event on a record that
 * a parent's thread was in the middle of changing must not hang or be
 * lost), checks the counts, leaks 333 bytes (child_make_leak) and exits
 * 0.  The parent waits for the child, then stops the workers, joins
 * them, releases every object (the last reference frees it) and returns
 * 0 with nothing leaked and no refcount error.
 *
 * Expected (machine-read by tests/integration/rstest.py; ":child" selects
 * a forked process):
 *   @total               leaked     0/0
 *   @total               cycles     0/0
 *   @total               leaked_refs 0/0
 *   @total:child         leaked     333/1
 *   @finding:child       leaked     333/1  child_make_leak
 *   @lsan                direct     0/0
 *   @lsan:child          direct     333/1
 */
#include "sample_util.h"

#include <refscope.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKERS 3
#define OWN     32
#define SHARED  8

typedef struct item {
    _Atomic int refcnt;       /* offset 0: the counter refscope reads   */
    int         id;
} item_t;

static item_t *own[WORKERS][OWN], *shared[SHARED];
static atomic_int stop_workers, started;

SAMPLE_NOINLINE static item_t *item_new(int id)
{
    item_t *it = malloc(sizeof *it);
    sample_check(it != NULL, "malloc(item)");
    atomic_init(&it->refcnt, 1);
    it->id = id;
    refscope_object(it, "Item", 0, sizeof(int));
    return it;
}

SAMPLE_NOINLINE static void item_ref(item_t *it)
{
    atomic_fetch_add(&it->refcnt, 1);
    refscope_incref(it);
}

SAMPLE_NOINLINE static void item_unref(item_t *it)
{
    refscope_decref(it);
    if (atomic_fetch_sub(&it->refcnt, 1) == 1)
        free(it);
}

static void *worker(void *arg)
{
    item_t **mine = own[(long)arg];
    atomic_fetch_add(&started, 1);
    for (unsigned round = 0; !atomic_load(&stop_workers); round++) {
        item_t *a = mine[round % OWN], *s = shared[round % SHARED];
        item_ref(a);
        item_ref(s);
        item_unref(s);
        item_unref(a);
    }
    return NULL;
}

SAMPLE_NOINLINE static void child_make_leak(void)
{
    sample_drop(malloc(333));
}

/* In a child: one more reference to every object and back, then the
 * counts must be what the parent holds at rest (1 each) plus whatever its
 * workers held at the fork (at most 2 per worker, never negative). */
static void child(void)
{
    for (int w = 0; w < WORKERS; w++)
        for (int k = 0; k < OWN; k++) {
            item_ref(own[w][k]);
            item_unref(own[w][k]);
            sample_check(atomic_load(&own[w][k]->refcnt) >= 1, "count in child");
        }
    for (int k = 0; k < SHARED; k++) {
        item_ref(shared[k]);
        item_unref(shared[k]);
    }
    child_make_leak();
    sample_scrub_stack();
    sample_say("fork_refs: child leaked 333 bytes\n");
    exit(0);
}

int main(void)
{
    for (int k = 0; k < SHARED; k++)
        shared[k] = item_new(1000 + k);
    for (int w = 0; w < WORKERS; w++)
        for (int k = 0; k < OWN; k++)
            own[w][k] = item_new(w * OWN + k);
    pthread_t t[WORKERS];
    for (long w = 0; w < WORKERS; w++)
        sample_check(pthread_create(&t[w], NULL, worker, (void *)w) == 0, "pthread_create");
    while (atomic_load(&started) < WORKERS)
        usleep(1000);
    usleep(20000);                    /* events in full swing */
    pid_t pid = fork();
    sample_check(pid >= 0, "fork");
    if (pid == 0)
        child();
    int status = 0;
    sample_check(waitpid(pid, &status, 0) == pid, "waitpid");
    sample_check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child exited 0");
    atomic_store(&stop_workers, 1);
    for (int w = 0; w < WORKERS; w++)
        pthread_join(t[w], NULL);
    for (int w = 0; w < WORKERS; w++)
        for (int k = 0; k < OWN; k++)
            item_unref(own[w][k]);
    for (int k = 0; k < SHARED; k++)
        item_unref(shared[k]);
    sample_say("fork_refs: parent leaked nothing\n");
    return 0;
}
