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

/* Copies len bytes at addr into buf; 0, or -1 when they are not readable. */
static int safe_read(uint64_t addr, void *buf, size_t len)
{
    struct iovec local = { buf, len };
    struct iovec remote = { (void *)(uintptr_t)addr, len };
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

int rs_block_lookup(uint64_t addr, rs_block_t *out)
{
    uint8_t header[RS_BLOCK_HEADER];
    if (!rs_blocks || addr < PAGE || (addr & 15) ||
        safe_read(addr - RS_BLOCK_HEADER, header, sizeof header) != 0)
        return 0;
    return rs_blockreg_check(rs_blocks, addr, header, out, NULL, NULL) == RS_BLOCK_TRACKED;
}

/* Probe window: the bytes [lo, obj) hold the records of every candidate
 * start in [lo + 16, obj].  Read into buf (directly from obj's page when
 * obj_readable, the rest with one safe read); returns the lowest address
 * actually read (lo, or higher when the memory below is not readable). */
static uint64_t read_window(uint64_t lo, uint64_t obj, int obj_readable, uint8_t *buf)
{
    uint64_t page = obj & ~(PAGE - 1);
    uint64_t direct = obj_readable ? (page > lo ? page : lo) : obj;
    if (direct < obj)
        memcpy(buf + (direct - lo), (const void *)(uintptr_t)direct, obj - direct);
    if (lo >= direct)
        return lo;
    if (safe_read(lo, buf, direct - lo) == 0)
        return lo;
    /* Part of it unreadable: retry from the page boundaries up. */
    for (uint64_t from = (lo & ~(PAGE - 1)) + PAGE; from < direct; from += PAGE)
        if (safe_read(from, buf + (from - lo), direct - from) == 0)
            return from;
    return direct;
}

int rs_block_containing(uint64_t obj, uint64_t probe, int obj_readable, rs_block_t *out)
{
    if (!rs_blocks || obj < PAGE + RS_BLOCK_HEADER)
        return 0;
    /* Candidates: the 16-byte-aligned addresses [lowest, first]; their
     * records fill the window [lowest - 16, first). */
    uint64_t first = obj & ~15ull;
    if (probe > RS_PROBE_MAX)
        probe = RS_PROBE_MAX;
    uint64_t lowest = first > probe + PAGE + RS_BLOCK_HEADER ? first - probe
                                                             : PAGE + RS_BLOCK_HEADER;
    uint64_t lo = lowest - RS_BLOCK_HEADER;
    uint8_t buf[RS_PROBE_MAX + RS_BLOCK_HEADER];
    uint64_t got = read_window(lo, first, obj_readable, buf);
    for (uint64_t a = first; a >= got + RS_BLOCK_HEADER; a -= 16) {
        const uint8_t *header = buf + (a - RS_BLOCK_HEADER - lo);
        rs_block_t b;
        if (rs_blockreg_check(rs_blocks, a, header, &b, NULL, NULL) == RS_BLOCK_TRACKED) {
            if (obj >= b.addr + b.size && a != obj)
                return 0;            /* the nearest block below ends first */
            if (out)
                *out = b;
            return 1;
        }
    }
    return 0;
}
