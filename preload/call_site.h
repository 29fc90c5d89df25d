/*
 * call_site.h - a caller's registers at the moment it made a call, which
 * is where an interposed or hooked function's stack walk starts (see
 * rs_backtrace_capture_from() in preload.h): the same frames as a walk
 * from inside refscope, without walking refscope's own.
 *
 * ip is the return address, rsp the caller's stack pointer once the call
 * returns (the return address slot + 8), rbp the caller's rbp, which the
 * call's entry has not changed (callee-saved).
 */
#ifndef RS_CALL_SITE_H
#define RS_CALL_SITE_H

#include <stdint.h>

typedef struct rs_call_site {
    uint64_t ip, rsp, rbp;
} rs_call_site_t;

#endif
