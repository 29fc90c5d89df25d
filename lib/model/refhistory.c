/*
 * refhistory.c - reference event logs and the refcount balancer (see
 * refhistory.h for the pairing rule and the memory bound).
 *
 * The balancer is a greedy pass over the log: O(decrefs x open increfs)
 * stack comparisons (the open increfs are a list threaded through the
 * caller's partner array, so it needs no memory of its own),
 * so it can run inside the target during compaction under the object
 * table's shard lock.  Stack lookups go through a callback and may not
 * call back into the object table.
 */
#include "refhistory.h"

#include "rs_mem.h"

#include <stdatomic.h>
#include <string.h>

/* Even between constructor entries; each entry makes it 2 larger and
 * takes the odd number in between.  Written only by constructor entries,
 * so the other events (most of them) read a line no thread writes: a
 * shared counter that every event incremented cost 18% of the CPU time
 * of bench_refs with 2 threads (perf), its line moving between cores at
 * each event. */
static atomic_uint seq_clock;

uint32_t rs_refhist_ctor_seq(void)
{
    return atomic_fetch_add_explicit(&seq_clock, 2, memory_order_relaxed) + 1;
}

uint32_t rs_refhist_event_seq(void)
{
    return atomic_load_explicit(&seq_clock, memory_order_relaxed);
}

uint32_t rs_refhist_common_suffix(const rs_stack_t *a, const rs_stack_t *b)
{
    uint32_t k = 0;
    while (k < a->n_frames && k < b->n_frames &&
           a->pcs[a->n_frames - 1 - k] == b->pcs[b->n_frames - 1 - k])
        k++;
    return k;
}

static int get_stack(const rs_refhist_stacks_t *s, uint32_t id, rs_stack_t *out)
{
    memset(out, 0, sizeof *out);
    if (!s || !s->fn || id == 0 || s->fn(s->ctx, id, out) != 0) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    return 0;
}

static int is_ref(uint8_t op) { return op == RS_REF_CTOR || op == RS_REF_INCREF; }

/* 1 when stacks a and b (ids) have the same number of frames, at least
 * one, and share all but the innermost: two calls made by one function
 * at one depth, maybe from two of its call sites.  One frame each (stacks
 * cut at REFSCOPE_DEPTH=1) says nothing of the caller; the rules after
 * rule 0 would pair them anyway (refhistory.h), and leaving them to
 * compaction made depth 1 slower than depth 32 (bench_refs: 2x the time,
 * 690 history bytes per object against 48). */
static int same_function(const rs_refhist_stacks_t *s, uint32_t a, uint32_t b)
{
    rs_stack_t sa, sb;
    if (get_stack(s, a, &sa) || get_stack(s, b, &sb))
        return 0;
    return sa.n_frames >= 1 && sa.n_frames == sb.n_frames &&
           memcmp(sa.pcs + 1, sb.pcs + 1, (sa.n_frames - 1) * sizeof *sa.pcs) == 0;
}

/* Rule 0 of the pairing rule (refhistory.h): decref d pairs with inc, the
 * newest unpaired incref, without looking further. */
static int pairs_at_once(const rs_ref_event_t *inc, const rs_ref_event_t *d,
                         const rs_refhist_stacks_t *stacks)
{
    return is_ref(inc->op) && inc->thread == d->thread &&
           same_function(stacks, inc->stack_id, d->stack_id);
}

/* A candidate incref as the balancer ranks it. */
typedef struct cand {
    int32_t  index;      /* -1: none                                      */
    uint32_t suffix;     /* common caller frames with the decref          */
    uint32_t extra;      /* incref frames outside the common suffix       */
} cand_t;

/* 1 if c beats best within a group: longer suffix, then fewer extra
 * frames.  Candidates come newest first, so on a full tie the one already
 * held (more recent) stays. */
static int better(const cand_t *c, const cand_t *best)
{
    if (best->index < 0 || c->suffix != best->suffix)
        return best->index < 0 || c->suffix > best->suffix;
    return c->extra < best->extra;
}

/* Open (unpaired) increfs form a list threaded through partner[]: an open
 * incref j holds -(next older open incref + 2), so -1 ends the list and
 * every negative value still reads as "unpaired". */
static int32_t next_open(const int32_t *partner, int32_t j) { return -partner[j] - 2; }

/* How many outermost frames of stack st a thread's stack has in common
 * with every other thread's: __clone3, start_thread (whose return address
 * is pc) and the start routine's frame; 0 for a stack not seen to start
 * there (the main thread's, a stack cut by the depth, pc unknown). */
static uint32_t thread_root_frames(const rs_stack_t *st, uint64_t pc)
{
    for (uint32_t k = 0; pc && k < 3 && k < st->n_frames; k++)
        if (st->pcs[st->n_frames - 1 - k] == pc)
            return k + 2 <= st->n_frames ? k + 2 : st->n_frames;
    return 0;
}

/* The open incref the pairing rule chooses for decref d, or -1; *by_stack
 * is set when rule 1 chose it (the same thread and a shared caller frame),
 * cleared when rule 2 or 3 did. */
static int32_t choose(const rs_ref_event_t *ev, uint32_t d, int32_t head,
                      const rs_refhist_stacks_t *stacks, const int32_t *partner,
                      int *by_stack)
{
    cand_t same = { -1, 0, 0 }, any = { -1, 0, 0 };
    rs_stack_t ds, is;
    *by_stack = 0;
    if (get_stack(stacks, ev[d].stack_id, &ds))
        return head;
    uint32_t root = thread_root_frames(
        &ds, __atomic_load_n(&stacks->thread_start_pc, __ATOMIC_RELAXED));
    for (int32_t j = head; j >= 0; j = next_open(partner, j)) {
        if (get_stack(stacks, ev[j].stack_id, &is))
            continue;
        cand_t c = { j, rs_refhist_common_suffix(&ds, &is), 0 };
        if (c.suffix == 0)
            continue;
        c.extra = is.n_frames - c.suffix;
        if (ev[j].thread == ev[d].thread) {
            if (better(&c, &same))
                same = c;
        } else {
            /* Another thread: the frames all threads share tell nothing. */
            c.suffix = c.suffix > root ? c.suffix - root : 0;
            if (c.suffix == 0)
                continue;
        }
        if (better(&c, &any))
            any = c;
    }
    *by_stack = same.index >= 0;
    return same.index >= 0 ? same.index : any.index >= 0 ? any.index : head;
}

/* Unlinks open incref j from the list starting at *head. */
static void unlink_open(int32_t *partner, int32_t *head, int32_t j)
{
    if (*head == j) {
        *head = next_open(partner, j);
        return;
    }
    for (int32_t k = *head; k >= 0; k = next_open(partner, k)) {
        if (next_open(partner, k) == j) {
            partner[k] = partner[j];
            return;
        }
    }
}

uint32_t rs_refhist_balance(const rs_ref_event_t *ev, uint32_t n,
                            const rs_refhist_stacks_t *stacks, int32_t *partner)
{
    return rs_refhist_balance_guesses(ev, n, stacks, partner, NULL);
}

uint32_t rs_refhist_balance_guesses(const rs_ref_event_t *ev, uint32_t n,
                                    const rs_refhist_stacks_t *stacks,
                                    int32_t *partner, uint8_t *guessed)
{
    uint32_t open = 0;
    int32_t head = -1;
    /* Invariants: before step i, every pair in partner[] is (incref,
     * later decref) among events < i; the open list holds exactly the
     * unpaired increfs < i, newest first; `open` is its length.  Cost:
     * O(open increfs) stack comparisons per decref. */
    for (uint32_t i = 0; i < n; i++) {
        partner[i] = -1;
        if (guessed)
            guessed[i] = 0;
        if (is_ref(ev[i].op)) {
            partner[i] = -(head + 2);
            head = (int32_t)i;
            open++;
            continue;
        }
        if (ev[i].op != RS_REF_DECREF || head < 0)
            continue;
        int by_stack = 1;
        int32_t j = pairs_at_once(&ev[head], &ev[i], stacks)
                        ? head : choose(ev, i, head, stacks, partner, &by_stack);
        if (guessed)
            guessed[i] = !by_stack && open > 1;
        unlink_open(partner, &head, j);
        partner[j] = (int32_t)i;
        partner[i] = j;
        open--;
    }
    for (uint32_t i = 0; i < n; i++)
        if (partner[i] < 0)
            partner[i] = -1;
    return open;
}

/* Gives *log room for cap events.  -1 on exhaustion (log unchanged). */
static int resize(rs_refhist_t *log, uint32_t cap)
{
    if (cap > (1u << 28))
        return -1;
    rs_ref_event_t *ev = rs_mem_realloc(log->events, (size_t)cap * sizeof *ev);
    if (!ev)
        return -1;
    log->events = ev;
    log->cap = cap;
    return 0;
}

/* Removes balanced pairs and unmatched decrefs from a full log.  Needs a
 * scratch partner array; on OOM the log is left as it was. */
static void compact(rs_refhist_t *log, const rs_refhist_stacks_t *stacks)
{
    int32_t *partner = rs_mem_alloc((size_t)log->n * sizeof *partner);
    if (!partner)
        return;
    rs_refhist_balance(log->events, log->n, stacks, partner);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < log->n; i++) {
        if (partner[i] < 0 && is_ref(log->events[i].op))
            log->events[kept++] = log->events[i];
        else if (partner[i] < 0 && log->events[i].op == RS_REF_DECREF)
            log->decrefs_dropped++;
        else if (partner[i] >= 0 && is_ref(log->events[i].op))
            log->pairs_dropped++;
    }
    log->n = kept;
    rs_mem_free(partner);
}

/* Full log: compact (when allowed) or grow.  -1 on exhaustion. */
static __attribute__((noinline)) int make_room(rs_refhist_t *log, uint32_t max_events,
                                               const rs_refhist_stacks_t *stacks)
{
    if (!log->cap)
        return resize(log, 4);
    if (max_events && log->n >= max_events)
        compact(log, stacks);
    /* Grow unless compaction freed at least half: amortised O(1). */
    if (log->n > log->cap / 2)
        return resize(log, log->cap * 2);
    return 0;
}

/* Rule 0 at append time: decref e pairs with the log's last event, an
 * incref that is not the first event (so that rs_refhist_adopt_ctor still
 * sees the log's first event), and both leave.  The last event of a log
 * that is an incref is unpaired and the newest unpaired one, so the
 * balancer, run later over the log with the pair kept, would pair them
 * by rule 0 too: the pair is self-contained, and leaving it out changes
 * no other pairing.  The pair is not counted in pairs_dropped: it fixes
 * no pairing early, as compaction does. */
static inline int pairs_with_last(const rs_refhist_t *log, const rs_ref_event_t *e,
                                  const rs_refhist_stacks_t *stacks)
{
    return e->op == RS_REF_DECREF && log->n >= 2 &&
           log->events[log->n - 1].op == RS_REF_INCREF &&
           pairs_at_once(&log->events[log->n - 1], e, stacks);
}

int rs_refhist_append_kept(rs_refhist_t *log, const rs_ref_event_t *e,
                           uint32_t max_events, const rs_refhist_stacks_t *stacks)
{
    if (__builtin_expect(log->n == log->cap, 0) && make_room(log, max_events, stacks))
        return -1;
    log->events[log->n++] = *e;
    return 0;
}

int rs_refhist_append(rs_refhist_t *log, const rs_ref_event_t *e,
                      uint32_t max_events, const rs_refhist_stacks_t *stacks)
{
    if (pairs_with_last(log, e, stacks)) {
        log->n--;
        return 0;
    }
    return rs_refhist_append_kept(log, e, max_events, stacks);
}

int rs_refhist_adopt_ctor(rs_refhist_t *log, const rs_ref_event_t *e)
{
    if (!log->n || log->pairs_dropped || log->decrefs_dropped ||
        (int32_t)(log->events[0].seq - e->seq) <= 0)
        return -1;
    if (log->events[0].op == RS_REF_CTOR) {
        log->events[0] = *e;
        return 0;
    }
    if (log->n == log->cap && resize(log, log->cap * 2))
        return -1;
    memmove(&log->events[1], &log->events[0], log->n * sizeof log->events[0]);
    log->events[0] = *e;
    log->n++;
    return 1;
}

void rs_refhist_free(const rs_refhist_t *log)
{
    if (log)
        rs_mem_free(log->events);
}

uint64_t rs_refhist_bytes(const rs_refhist_t *log)
{
    return log ? (uint64_t)log->cap * sizeof(rs_ref_event_t) : 0;
}

int64_t rs_refhist_net(const rs_refhist_t *log)
{
    if (!log)
        return 0;
    int64_t net = -(int64_t)log->decrefs_dropped;
    for (uint32_t i = 0; i < log->n; i++)
        net += is_ref(log->events[i].op) ? 1 : log->events[i].op == RS_REF_DECREF ? -1 : 0;
    return net;
}
