/*
 * version_range.h - a range of library versions, "MIN-MAX" with each
 * bound "MAJOR.MINOR[.MICRO]", as a profile line gives it to say which
 * versions of a library it was written for (`weak ... versions=1.22-1.28`:
 * a field of a private struct, whose layout is no ABI).
 *
 * A bound without MICRO covers every micro release: "1.22-1.28" is
 * 1.22.0 up to every 1.28.x.  Each number is at most RS_VERSION_PART_MAX.
 * Versions are kept as one number, major * 1e6 + minor * 1e3 + micro, so
 * ranges compare with < and >.
 *
 * No stdio, no allocation (parsed inside the target at start-up).
 */
#ifndef RS_VERSION_RANGE_H
#define RS_VERSION_RANGE_H

#include <stdint.h>

#define RS_VERSION_PART_MAX 999u

typedef struct rs_version_range {
    uint32_t min, max;           /* inclusive, rs_version_make() values   */
} rs_version_range_t;

/* major.minor.micro as one comparable number; each part is clamped to
 * RS_VERSION_PART_MAX. */
uint32_t rs_version_make(uint32_t major, uint32_t minor, uint32_t micro);

/*
 * Parses "A.B[.C]-D.E[.F]" into *r.  Returns 0, or -1 when s is malformed
 * (a part missing, not a decimal number, above RS_VERSION_PART_MAX,
 * anything after the last part) or MIN is above MAX; *r is then
 * unchanged.
 */
int rs_version_range_parse(const char *s, rs_version_range_t *r);

/* 1 when major.minor.micro lies in r. */
int rs_version_range_has(const rs_version_range_t *r, uint32_t major, uint32_t minor,
                         uint32_t micro);

#endif /* RS_VERSION_RANGE_H */
