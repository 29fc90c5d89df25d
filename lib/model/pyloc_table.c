/*
 * pyloc_table.c - the Python locations of one process (pyloc_table.h).
 *
 * Storage: entries live in chunks of CHUNK entries that never move (a
 * lock-free reader follows chunk[i / CHUNK] + i % CHUNK), so publishing
 * entry i is: write it, then store count = i + 1 with release.  The
 * deduplication index is an open-addressing hash of entry indices + 1
 * (0 empty), kept under half full and rebuilt larger under the lock;
 * only interning, which holds the lock, ever reads it.
 *
 * Invariants: entries [0, count) are complete and immutable; every one
 * of them is in the index exactly once; no two have the same text.
 */
#include "pyloc_table.h"

#include "rs_lock.h"
#include "rs_mem.h"

#include <stdatomic.h>
#include <string.h>

#define CHUNK_BITS 10
#define CHUNK      (1u << CHUNK_BITS)
#define N_CHUNKS   (RS_PYLOC_MAX / CHUNK)

struct rs_pyloc_table {
    rs_lock_t         lock;
    _Atomic uint32_t  count;
    uint32_t         *index;          /* entry + 1, 0 empty               */
    uint32_t          index_cap;      /* a power of two, or 0             */
    rs_pyloc_t *_Atomic chunk[N_CHUNKS];
};

rs_pyloc_table_t *rs_pyloc_table_create(void)
{
    rs_pyloc_table_t *t = rs_mem_calloc(1, sizeof *t);
    if (t)
        rs_lock_init(&t->lock);
    return t;
}

void rs_pyloc_table_destroy(rs_pyloc_table_t *t)
{
    if (!t)
        return;
    uint32_t n = atomic_load(&t->count);
    for (uint32_t i = 0; i < n; i++) {
        rs_pyloc_t *e = &t->chunk[i / CHUNK][i % CHUNK];
        rs_mem_free((char *)e->function);
        rs_mem_free((char *)e->file);
    }
    for (uint32_t c = 0; c < N_CHUNKS; c++)
        rs_mem_free(t->chunk[c]);
    rs_mem_free(t->index);
    rs_mem_free(t);
}

static uint64_t hash_bytes(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;     /* FNV-1a */
    return h;
}

static uint64_t hash_loc(const char *fn, size_t fn_len, const char *file, size_t file_len,
                         uint32_t line)
{
    uint64_t h = hash_bytes(0xcbf29ce484222325ull, fn, fn_len);
    h = hash_bytes(h ^ 0xff, file, file_len);
    return (h ^ line) * 0x9e3779b97f4a7c15ull;
}

static int same_text(const char *stored, const char *s, size_t n)
{
    return strncmp(stored, s, n) == 0 && stored[n] == '\0';
}

/* With the lock held: entry i. */
static rs_pyloc_t *entry(rs_pyloc_table_t *t, uint32_t i)
{
    return &t->chunk[i / CHUNK][i % CHUNK];
}

/* With the lock held: puts entry i into an index of cap slots. */
static void index_put(uint32_t *index, uint32_t cap, uint64_t hash, uint32_t i)
{
    uint32_t s = (uint32_t)(hash >> 32) & (cap - 1);
    while (index[s])
        s = (s + 1) & (cap - 1);
    index[s] = i + 1;
}

/* With the lock held: an index with room for one more entry; -1 when
 * memory ran out (the old one is kept). */
static int index_reserve(rs_pyloc_table_t *t, uint32_t n)
{
    if (t->index_cap && (uint64_t)(n + 1) * 2 <= t->index_cap)
        return 0;
    uint32_t cap = t->index_cap ? t->index_cap * 2 : 256;
    uint32_t *index = rs_mem_calloc(cap, sizeof *index);
    if (!index)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        const rs_pyloc_t *e = entry(t, i);
        index_put(index, cap, hash_loc(e->function, strlen(e->function), e->file,
                                       strlen(e->file), e->line), i);
    }
    rs_mem_free(t->index);
    t->index = index;
    t->index_cap = cap;
    return 0;
}

static char *copy_text(const char *s, size_t n)
{
    const char *nul = memchr(s, '\0', n);
    if (nul)
        n = (size_t)(nul - s);
    char *c = rs_mem_alloc(n + 1);
    if (c) {
        memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

/* With the lock held: appends a new entry as entry n and publishes it;
 * UINT32_MAX when memory ran out or the table is full. */
static uint32_t append(rs_pyloc_table_t *t, uint32_t n, uint64_t hash, const char *fn,
                       size_t fn_len, const char *file, size_t file_len, uint32_t line)
{
    if (n >= RS_PYLOC_MAX || index_reserve(t, n) != 0)
        return UINT32_MAX;
    if (!t->chunk[n / CHUNK] &&
        !(t->chunk[n / CHUNK] = rs_mem_calloc(CHUNK, sizeof(rs_pyloc_t))))
        return UINT32_MAX;
    char *f = copy_text(fn, fn_len), *p = copy_text(file, file_len);
    if (!f || !p) {
        rs_mem_free(f);
        rs_mem_free(p);
        return UINT32_MAX;
    }
    *entry(t, n) = (rs_pyloc_t){ f, p, line };
    index_put(t->index, t->index_cap, hash, n);
    atomic_store_explicit(&t->count, n + 1, memory_order_release);
    return n;
}

uint32_t rs_pyloc_table_intern(rs_pyloc_table_t *t, const char *fn, size_t fn_len,
                               const char *file, size_t file_len, uint32_t line)
{
    const char *nul = memchr(fn, '\0', fn_len);
    fn_len = nul ? (size_t)(nul - fn) : fn_len;
    nul = memchr(file, '\0', file_len);
    file_len = nul ? (size_t)(nul - file) : file_len;
    uint64_t hash = hash_loc(fn, fn_len, file, file_len, line);
    rs_lock(&t->lock);
    uint32_t n = atomic_load_explicit(&t->count, memory_order_relaxed);
    uint32_t found = UINT32_MAX;
    for (uint32_t s = (uint32_t)(hash >> 32) & (t->index_cap - 1);
         t->index_cap && t->index[s]; s = (s + 1) & (t->index_cap - 1)) {
        const rs_pyloc_t *e = entry(t, t->index[s] - 1);
        if (e->line == line && same_text(e->function, fn, fn_len) &&
            same_text(e->file, file, file_len)) {
            found = t->index[s] - 1;
            break;
        }
    }
    if (found == UINT32_MAX)
        found = append(t, n, hash, fn, fn_len, file, file_len, line);
    rs_unlock(&t->lock);
    return found;
}

uint32_t rs_pyloc_table_count(const rs_pyloc_table_t *t)
{
    return t ? atomic_load_explicit(&((rs_pyloc_table_t *)t)->count, memory_order_acquire)
             : 0;
}

const rs_pyloc_t *rs_pyloc_table_get(const rs_pyloc_table_t *t, uint32_t i)
{
    if (i >= rs_pyloc_table_count(t))
        return NULL;
    return &t->chunk[i / CHUNK][i % CHUNK];
}

int rs_pyloc_table_copy(const rs_pyloc_table_t *t, rs_pyloc_t **out, uint32_t *n)
{
    uint32_t count = rs_pyloc_table_count(t);
    *out = NULL;
    *n = 0;
    if (!count)
        return 0;
    rs_pyloc_t *copy = rs_mem_alloc((size_t)count * sizeof *copy);
    if (!copy)
        return -1;
    for (uint32_t i = 0; i < count; i++)
        copy[i] = t->chunk[i / CHUNK][i % CHUNK];
    *out = copy;
    *n = count;
    return 0;
}

void rs_pyloc_table_lock(rs_pyloc_table_t *t)
{
    if (t)
        rs_lock(&t->lock);
}

void rs_pyloc_table_unlock(rs_pyloc_table_t *t)
{
    if (t)
        rs_unlock(&t->lock);
}
