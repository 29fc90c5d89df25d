/*
 * rs_likely.h - branch hints for hot paths, shared by lib/ and the
 * preload: RS_LIKELY(x) and RS_UNLIKELY(x) tell gcc which way a test
 * usually goes (the unlikely side is laid out of line).  Hints only: the
 * value of x is unchanged, 0 or 1.
 */
#ifndef RS_LIKELY_H
#define RS_LIKELY_H

#define RS_LIKELY(x)   __builtin_expect(!!(x), 1)
#define RS_UNLIKELY(x) __builtin_expect(!!(x), 0)

#endif /* RS_LIKELY_H */
