/*
 * snapshot.c - helpers shared by the snapshot writer and reader: section
 * names and an allocation-free error formatter (the CRC is crc32.c's).
 *
 * Both the writer (which runs inside the target process at exit) and the
 * reader report errors as one line in rs_snapshot_error_t.  The formatter
 * here understands just the printf subset they use, so neither needs
 * stdio; every function is safe to call from any thread at any time.
 */
#include "snapshot_format.h"

#include <stdarg.h>
#include <string.h>

const char *rs_snapshot_section_name(uint32_t type)
{
    static const char *const names[RS_SNAP_SECT_KNOWN + 1] = {
        [RS_SNAP_SECT_META]       = "META",
        [RS_SNAP_SECT_MODULES]    = "MODULES",
        [RS_SNAP_SECT_STACKS]     = "STACKS",
        [RS_SNAP_SECT_TYPES]      = "TYPES",
        [RS_SNAP_SECT_NODES]      = "NODES",
        [RS_SNAP_SECT_EDGES]      = "EDGES",
        [RS_SNAP_SECT_ROOTS]      = "ROOTS",
        [RS_SNAP_SECT_ROOT_EDGES] = "ROOT_EDGES",
        [RS_SNAP_SECT_SUMMARY]    = "SUMMARY",
        [RS_SNAP_SECT_RC_HISTORY] = "RC_HISTORY",
        [RS_SNAP_SECT_RC_ERRORS]  = "RC_ERRORS",
        [RS_SNAP_SECT_THREAD_FRAMES] = "THREAD_FRAMES",
        [RS_SNAP_SECT_WEAK_EDGES] = "WEAK_EDGES",
        [RS_SNAP_SECT_PY_LOCATIONS] = "PY_LOCATIONS",
    };
    return type >= 1 && type <= RS_SNAP_SECT_KNOWN && names[type] ? names[type] : "unknown";
}

const char *rs_snapshot_strerror(int errnum)
{
    const char *s = strerrordesc_np(errnum);
    return s ? s : "unknown error";
}

/* ---- the formatter ------------------------------------------------------ */

typedef struct outbuf {
    char  *buf;
    size_t cap;   /* bytes available, the terminator included */
    size_t len;
} outbuf_t;

static void out_char(outbuf_t *o, char c)
{
    if (o->len + 1 < o->cap)
        o->buf[o->len++] = c;
}

static void out_str(outbuf_t *o, const char *s)
{
    if (!s)
        s = "(null)";
    while (*s)
        out_char(o, *s++);
}

static void out_unsigned(outbuf_t *o, unsigned long long v, unsigned base)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (n)
        out_char(o, digits[--n]);
}

static void out_signed(outbuf_t *o, long long v)
{
    if (v < 0) {
        out_char(o, '-');
        out_unsigned(o, 0ull - (unsigned long long)v, 10);
    } else {
        out_unsigned(o, (unsigned long long)v, 10);
    }
}

/* Length modifier: 0 int, 1 long, 2 long long, 3 size_t. */
static void out_conversion(outbuf_t *o, char conv, int size, va_list *ap)
{
    long long sv;
    unsigned long long uv;

    switch (conv) {
    case 's':
        out_str(o, va_arg(*ap, const char *));
        return;
    case 'c':
        out_char(o, (char)va_arg(*ap, int));
        return;
    case 'd':
        sv = size == 0 ? va_arg(*ap, int)
           : size == 1 ? va_arg(*ap, long)
           : size == 2 ? va_arg(*ap, long long)
                       : (long long)va_arg(*ap, size_t);
        out_signed(o, sv);
        return;
    case 'u':
    case 'x':
        uv = size == 0 ? va_arg(*ap, unsigned)
           : size == 1 ? va_arg(*ap, unsigned long)
           : size == 2 ? va_arg(*ap, unsigned long long)
                       : va_arg(*ap, size_t);
        out_unsigned(o, uv, conv == 'x' ? 16 : 10);
        return;
    default:
        out_char(o, '%');
        out_char(o, conv);
    }
}

void rs_snapshot_vappendf(rs_snapshot_error_t *err, const char *fmt,
                          va_list ap)
{
    if (!err)
        return;
    outbuf_t o = { err->message, sizeof err->message, 0 };
    va_list args;
    va_copy(args, ap);
    while (o.len + 1 < o.cap && o.buf[o.len])
        o.len++;
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            out_char(&o, *f);
            continue;
        }
        f++;
        if (*f == '%') {
            out_char(&o, '%');
            continue;
        }
        int size = 0;
        if (*f == 'z') {
            size = 3;
            f++;
        } else {
            while (*f == 'l' && size < 2) {
                size++;
                f++;
            }
        }
        if (!*f)
            break;
        out_conversion(&o, *f, size, &args);
    }
    va_end(args);
    o.buf[o.len] = '\0';
}

void rs_snapshot_errorf(rs_snapshot_error_t *err, const char *fmt, ...)
{
    if (!err)
        return;
    err->message[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    rs_snapshot_vappendf(err, fmt, ap);
    va_end(ap);
}

/* ---- derived facts --------------------------------------------------- */

#define START_PC_CANDIDATES 8

uint64_t rs_snapshot_thread_start_pc(const rs_snapshot_t *snap)
{
    uint64_t pc[START_PC_CANDIDATES] = { 0 }, votes[START_PC_CANDIDATES] = { 0 };
    uint16_t main_thread = (uint16_t)snap->proc.pid;
    const rs_ref_history_t *h = &snap->history;
    for (uint64_t i = 0; h->events && i < h->n_events; i++) {
        const rs_ref_event_t *e = &h->events[i];
        if (e->thread == main_thread || e->stack_id == 0 || e->stack_id > snap->n_stacks)
            continue;
        const rs_stack_t *st = &snap->stacks[e->stack_id - 1];
        if (st->n_frames < 2)
            continue;
        uint64_t at = st->pcs[st->n_frames - 2];
        for (int k = 0; k < START_PC_CANDIDATES; k++)
            if (pc[k] == at || votes[k] == 0) {
                pc[k] = at;
                votes[k]++;
                break;
            }
    }
    int best = 0;
    for (int k = 1; k < START_PC_CANDIDATES; k++)
        if (votes[k] > votes[best])
            best = k;
    return votes[best] ? pc[best] : 0;
}
