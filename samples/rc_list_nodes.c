/*
 * rc_list_nodes - refcounted objects linked by embedded list nodes, so
 * every list pointer points into the middle of an object (Linux
 * list_head style), and a cycle through them.
 *
 * fill_queue() creates a 24-byte Queue (queue_new) whose `tasks` list
 * head sits at offset 8, and three 48-byte Tasks (task_new) whose `link`
 * node sits at offset 8.  queue_push() links each task into the queue's
 * list (the list takes over the task's creation reference) and gives the
 * task a counted reference to the queue in its `queue` field (offset 24).
 * fill_queue() then drops its queue reference.  Queue: refcount 3; Tasks:
 * refcount 1.  Every next/prev pointer is an interior pointer (block + 8)
 * and counts as a pointer to the object it points into: the Queue has 5
 * pointers to it (3 `queue` fields, the first task's prev and the last
 * task's next), each Task 2; trial deletion clamps the negative
 * differences to 0, and the four objects form one cycle group.
 *
 * refscope must report one cycle group of 4 objects, 168 bytes: one
 * "cycle" finding allocated in queue_new, type "Queue"; members Queue (24
 * bytes, refcount 3) and three Tasks (48 bytes, refcount 1) in address
 * order; 11 edges: Queue +8 -> first Task, Queue +16 -> last Task, and
 * for each Task +8 (next) and +16 (prev) to its neighbours or the Queue,
 * and +24 (field "queue") -> Queue.
 *
 * LeakSanitizer: 168 bytes in 4 objects indirect, nothing direct.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   cycles     168/4
 *   @total   reachable  0/0
 *   @finding cycle      168/4  queue_new
 *   @lsan    indirect   168/4
 */
#include "sample_util.h"

#include <refscope.h>

#include <stddef.h>
#include <stdlib.h>

#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))

struct list_head {
    struct list_head *next, *prev;
};

struct queue {
    int              refcnt;
    int              n;
    struct list_head tasks;     /* offset 8 */
};

struct task {
    int              refcnt;
    int              id;
    struct list_head link;      /* offset 8 */
    struct queue    *queue;     /* offset 24: counted reference */
    char             name[16];
};

_Static_assert(sizeof(struct queue) == 24, "the header's numbers assume 24");
_Static_assert(sizeof(struct task) == 48, "the header's numbers assume 48");
_Static_assert(offsetof(struct task, queue) == 24, "the header says 24");

static void list_init(struct list_head *h)
{
    h->next = h->prev = h;
}

static void list_add_tail(struct list_head *node, struct list_head *head)
{
    node->prev = head->prev;
    node->next = head;
    head->prev->next = node;
    head->prev = node;
}

SAMPLE_NOINLINE static struct queue *queue_new(void)
{
    struct queue *q = calloc(1, sizeof *q);
    sample_check(q != NULL, "calloc(queue)");
    q->refcnt = 1;
    list_init(&q->tasks);
    refscope_object(q, "Queue", offsetof(struct queue, refcnt),
                    sizeof q->refcnt);
    return q;
}

SAMPLE_NOINLINE static struct queue *queue_ref(struct queue *q)
{
    q->refcnt++;
    refscope_incref(q);
    return q;
}

SAMPLE_NOINLINE static void task_unref(struct task *t);

SAMPLE_NOINLINE static void queue_unref(struct queue *q)
{
    refscope_decref(q);
    if (--q->refcnt == 0) {
        struct list_head *l = q->tasks.next;
        while (l != &q->tasks) {
            struct list_head *next = l->next;
            task_unref(container_of(l, struct task, link));
            l = next;
        }
        free(q);
    }
}

SAMPLE_NOINLINE static struct task *task_new(int id)
{
    struct task *t = calloc(1, sizeof *t);
    sample_check(t != NULL, "calloc(task)");
    t->refcnt = 1;
    t->id = id;
    list_init(&t->link);
    refscope_object(t, "Task", offsetof(struct task, refcnt),
                    sizeof t->refcnt);
    return t;
}

SAMPLE_NOINLINE static void task_unref(struct task *t)
{
    refscope_decref(t);
    if (--t->refcnt == 0) {
        queue_unref(t->queue);
        free(t);
    }
}

SAMPLE_NOINLINE static void queue_push(struct queue *q, struct task *t)
{
    list_add_tail(&t->link, &q->tasks);
    q->n++;
    t->queue = queue_ref(q);
}

SAMPLE_NOINLINE static void fill_queue(void)
{
    struct queue *q = queue_new();
    for (int i = 0; i < 3; i++)
        queue_push(q, task_new(i));
    queue_unref(q);
}

int main(void)
{
    fill_queue();
    sample_scrub_stack();
    sample_say("rc_list_nodes: Tasks on an embedded list hold their Queue\n");
    return 0;
}
