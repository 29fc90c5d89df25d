/*
 * spanset.c - sorted disjoint address ranges (spanset.h).
 *
 * The array is searched by binary search and changed by memmove: the sets
 * it serves hold tens to thousands of ranges and change far less often
 * than an allocation happens.
 */
#include "spanset.h"

#include "rs_mem.h"

#include <string.h>

/* The index of the first item that ends after addr (n if none). */
static uint32_t first_ending_after(const rs_spanset_t *s, uint64_t addr)
{
    uint32_t lo = 0, hi = s->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->items[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Room for one more item; 0, or -1 out of memory. */
static int reserve_one(rs_spanset_t *s)
{
    if (s->n < s->cap)
        return 0;
    uint32_t cap = s->cap ? s->cap * 2 : 16;
    rs_span_t *items = rs_mem_realloc(s->items, (size_t)cap * sizeof *items);
    if (!items)
        return -1;
    s->items = items;
    s->cap = cap;
    return 0;
}

static void delete_items(rs_spanset_t *s, uint32_t from, uint32_t to)
{
    memmove(&s->items[from], &s->items[to], (size_t)(s->n - to) * sizeof *s->items);
    s->n -= to - from;
}

int rs_spanset_add(rs_spanset_t *s, uint64_t start, uint64_t end)
{
    if (start >= end)
        return 0;
    /* Items that overlap or touch [start, end) are [i, j): merged into one. */
    uint32_t i = start ? first_ending_after(s, start - 1) : 0;
    uint32_t j = i;
    while (j < s->n && s->items[j].start <= end)
        j++;
    if (i == j) {
        if (reserve_one(s) != 0)
            return -1;
        memmove(&s->items[i + 1], &s->items[i], (size_t)(s->n - i) * sizeof *s->items);
        s->items[i] = (rs_span_t){start, end};
        s->n++;
        return 0;
    }
    if (s->items[i].start < start)
        start = s->items[i].start;
    if (s->items[j - 1].end > end)
        end = s->items[j - 1].end;
    s->items[i] = (rs_span_t){start, end};
    delete_items(s, i + 1, j);
    return 0;
}

int rs_spanset_remove(rs_spanset_t *s, uint64_t start, uint64_t end)
{
    if (start >= end)
        return 0;
    uint32_t i = first_ending_after(s, start);
    if (i == s->n || s->items[i].start >= end)
        return 0;
    rs_span_t *it = &s->items[i];
    if (it->start < start && it->end > end) {
        /* Cut in two: the part after end becomes a new item. */
        rs_span_t after = {end, it->end};
        if (reserve_one(s) != 0) {
            delete_items(s, i, i + 1);
            return -1;
        }
        it = &s->items[i];
        it->end = start;
        memmove(&s->items[i + 2], &s->items[i + 1],
                (size_t)(s->n - i - 1) * sizeof *s->items);
        s->items[i + 1] = after;
        s->n++;
        return 0;
    }
    if (it->start < start) {        /* keeps its part before start */
        it->end = start;
        i++;
    }
    uint32_t j = i;
    while (j < s->n && s->items[j].end <= end)
        j++;                        /* wholly inside: removed */
    if (j < s->n && s->items[j].start < end)
        s->items[j].start = end;    /* keeps its part after end */
    delete_items(s, i, j);
    return 0;
}

int rs_spanset_contains(const rs_spanset_t *s, uint64_t addr)
{
    uint32_t i = first_ending_after(s, addr);
    return i < s->n && s->items[i].start <= addr;
}

uint64_t rs_spanset_bytes(const rs_spanset_t *s)
{
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < s->n; i++)
        bytes += s->items[i].end - s->items[i].start;
    return bytes;
}

void rs_spanset_free(rs_spanset_t *s)
{
    rs_mem_free(s->items);
    *s = (rs_spanset_t){NULL, 0, 0};
}
