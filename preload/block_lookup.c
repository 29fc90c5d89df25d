/*
 * block_lookup.c - finding the tracked block at or around an address the
 * program gave refscope (an object pointer of a ref/unref call), without
 * trusting that address.
 *
 * A block's record is the 16 bytes before it (blockreg.h).  Given a
 * candidate block start, the record is read directly when it lies on a
 * page known to be readable; anywhere else it is read with
 * process_vm_readv() on this process, which fails cleanly (EFAULT) on
 * unmapped or unreadable memory instead of faulting.  The registry then
 * decides (under the log's lock) whether the record is a live block's, so
 * bytes that merely look like a record are never taken for one.
 *
 * Cost: a lookup on a known-readable page is a copy of 16 bytes and a
 * registry check; one elsewhere adds a system call (about a microsecond),
 * made for the rare object whose probe window crosses a page, for error
 * paths and for the graveyard check of refcount.c.
 */
#include "preload.h"

#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define PAGE 4096ull
#define RS_PROBE_MAX 4096ull     /* bytes below an object searched at most */

int rs_safe_read(uint64_t addr, void *buf, size_t len)
{
    struct iovec local = { buf, len };
    struct iovec remote = { (void *)(uintptr_t)addr, len };
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

int rs_block_lookup(uint64_t addr, rs_block_t *out)
{
    uint8_t header[RS_BLOCK_HEADER];
    if (!rs_blocks || addr < PAGE || (addr & 15) ||
        rs_safe_read(addr - RS_BLOCK_HEADER, header, sizeof header) != 0)
        return 0;
    return rs_blockreg_check(rs_blocks, addr, header, out, NULL, NULL) == RS_BLOCK_TRACKED;
}

/* Checks candidate block starts from a down to lowest (16 apart), whose
 * records are read from mem (mem_base is the address of mem[0]).  1 with
 * *out filled when the nearest tracked block below obj holds it; 0 when it
 * does not; -1 when no candidate in the range is tracked. */
static int probe_range(uint64_t obj, uint64_t a, uint64_t lowest, const uint8_t *mem,
                       uint64_t mem_base, rs_block_t *out)
{
    for (; a >= lowest; a -= 16) {
        rs_block_t b;
        if (rs_blockreg_check(rs_blocks, a, mem + (a - RS_BLOCK_HEADER - mem_base), &b,
                              NULL, NULL) == RS_BLOCK_TRACKED) {
            if (obj >= b.addr + b.size && a != obj)
                return 0;            /* the nearest block below ends first */
            if (out)
                *out = b;
            return 1;
        }
    }
    return -1;
}

int rs_block_containing(uint64_t obj, uint64_t probe, int obj_readable, rs_block_t *out)
{
    if (!rs_blocks || obj < PAGE + RS_BLOCK_HEADER)
        return 0;
    /* Candidates: the 16-byte-aligned addresses [lowest, first], nearest
     * first; candidate a's record is the 16 bytes before a.  Those on
     * obj's page are read in place (the usual case: the block starts at
     * obj, one check), the rest with one safe read. */
    uint64_t first = obj & ~15ull;
    if (probe > RS_PROBE_MAX)
        probe = RS_PROBE_MAX;
    uint64_t lowest = first > probe + PAGE + RS_BLOCK_HEADER ? first - probe
                                                             : PAGE + RS_BLOCK_HEADER;
    uint64_t page = obj & ~(PAGE - 1);
    uint64_t in_page = page + RS_BLOCK_HEADER;   /* lowest with its record on the page */
    uint64_t a = first;
    if (obj_readable && a >= in_page) {
        uint64_t stop = lowest > in_page ? lowest : in_page;
        int r = probe_range(obj, a, stop, (const uint8_t *)(uintptr_t)page, page, out);
        if (r >= 0)
            return r;
        if (stop == lowest)
            return 0;
        a = stop - 16;
    }
    if (a < lowest)
        return 0;
    /* The rest: records in [lowest - 16, a), read safely (up to a page). */
    uint8_t buf[RS_PROBE_MAX + RS_BLOCK_HEADER];
    uint64_t lo = lowest - RS_BLOCK_HEADER;
    while (lo < a && rs_safe_read(lo, buf, a - lo) != 0)
        lo = (lo & ~(PAGE - 1)) + PAGE;         /* unreadable: from the next page */
    if (lo >= a)
        return 0;
    return probe_range(obj, a, lo + RS_BLOCK_HEADER, buf, lo, out) == 1;
}
