/*
 * call_site.h - a caller's registers at the moment it made a call, which
 * is where an interposed or hooked function's stack walk starts (see
 * rs_backtrace_capture() in preload.h): the same frames as a walk
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

/* The call site of the function this expands in, as a pointer to a
 * compound literal that lives until the end of the enclosing block.
 * __builtin_frame_address(0) makes gcc give the function a frame
 * pointer: rbp points at the caller's saved rbp, with the return address
 * above it and the caller's stack pointer after the return 16 bytes up.
 * Cost: the frame setup (3 instructions) in every call of the function. */
#define RS_CALLER_SITE()                                                       \
    (&(rs_call_site_t){                                                        \
        .ip = (uint64_t)(uintptr_t)__builtin_return_address(0),               \
        .rsp = (uint64_t)(uintptr_t)__builtin_frame_address(0) + 16,          \
        .rbp = *(const uint64_t *)__builtin_frame_address(0) })

#endif
