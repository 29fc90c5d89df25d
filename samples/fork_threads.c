/*
 * fork_threads - fork() in a multithreaded program: the child must not
 * report what the parent's other threads hold.
 *
 * Two worker threads each malloc a block (1000 and 2000 bytes) held only
 * in a local variable, then wait on a condition.  main forks while they
 * wait.  In the child only the forking thread exists, but the workers'
 * stacks are still mapped there with their content: refscope keeps them
 * as roots, so the workers' blocks are reachable in the child.  The child
 * leaks 333 bytes (child_make_leak) and exits 0; the parent waits for it,
 * releases the workers (each frees its block), joins them and returns 0
 * with nothing leaked.
 *
 * LeakSanitizer does not scan the parent's threads' stacks in the child:
 * it reports the workers' blocks too (3333 bytes in 3 objects there).
 *
 * Expected (machine-read by tests/integration/rstest.py; ":child" selects
 * the forked process):
 *   @total               leaked     0/0
 *   @total:child         leaked     333/1
 *   @total:child         reachable  >=3000/2
 *   @finding:child       leaked     333/1  child_make_leak
 *   @lsan:child          direct     3333/3
 */
#include "sample_util.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t  cond = PTHREAD_COND_INITIALIZER;
static int ready, released;

static void *worker(void *arg)
{
    size_t size = (size_t)(uintptr_t)arg;
    char *block = malloc(size);
    sample_check(block != NULL, "malloc in worker");
    memset(block, 0x11, size);
    pthread_mutex_lock(&lock);
    ready++;
    pthread_cond_broadcast(&cond);
    while (!released)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    free(block);
    return NULL;
}

SAMPLE_NOINLINE static void child_make_leak(void)
{
    sample_drop(malloc(333));
}

int main(void)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        sample_check(pthread_create(&t[i], NULL, worker,
                                    (void *)(uintptr_t)(1000 * (i + 1))) == 0,
                     "pthread_create");
    pthread_mutex_lock(&lock);
    while (ready < 2)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);

    pid_t pid = fork();
    sample_check(pid >= 0, "fork");
    if (pid == 0) {
        child_make_leak();
        sample_scrub_stack();
        sample_say("fork_threads: child leaked 333 bytes\n");
        exit(0);
    }
    int status = 0;
    sample_check(waitpid(pid, &status, 0) == pid, "waitpid");
    sample_check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                 "child exited 0");
    pthread_mutex_lock(&lock);
    released = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    sample_say("fork_threads: parent leaked nothing\n");
    return 0;
}
