/*
 * version_range.c - "A.B[.C]-D.E[.F]" version ranges (version_range.h).
 *
 * A bound is read part by part (parse_part: decimal digits, at most
 * RS_VERSION_PART_MAX); a lower bound without its micro part starts at
 * micro 0, an upper bound without it ends at micro RS_VERSION_PART_MAX.
 */
#include "version_range.h"

#include <stddef.h>

#define PART_SCALE (RS_VERSION_PART_MAX + 1)

uint32_t rs_version_make(uint32_t major, uint32_t minor, uint32_t micro)
{
    major = major > RS_VERSION_PART_MAX ? RS_VERSION_PART_MAX : major;
    minor = minor > RS_VERSION_PART_MAX ? RS_VERSION_PART_MAX : minor;
    micro = micro > RS_VERSION_PART_MAX ? RS_VERSION_PART_MAX : micro;
    return (major * PART_SCALE + minor) * PART_SCALE + micro;
}

/* Reads one decimal part at *s into *out and moves *s past it; -1 when
 * there is no digit or the number is above RS_VERSION_PART_MAX. */
static int parse_part(const char **s, uint32_t *out)
{
    const char *p = *s;
    uint32_t v = 0;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (uint32_t)(*p - '0');
        if (v > RS_VERSION_PART_MAX)
            return -1;
    }
    *s = p;
    *out = v;
    return 0;
}

/* Reads "A.B[.C]" at *s, stopping at `end` (a byte that must follow it),
 * into *out; a missing micro part is `micro_default`.  -1 if malformed. */
static int parse_bound(const char **s, char end, uint32_t micro_default, uint32_t *out)
{
    uint32_t major, minor, micro = micro_default;
    if (parse_part(s, &major) || **s != '.')
        return -1;
    (*s)++;
    if (parse_part(s, &minor))
        return -1;
    if (**s == '.') {
        (*s)++;
        if (parse_part(s, &micro))
            return -1;
    }
    if (**s != end)
        return -1;
    *out = rs_version_make(major, minor, micro);
    return 0;
}

int rs_version_range_parse(const char *s, rs_version_range_t *r)
{
    uint32_t min, max;
    if (!s || parse_bound(&s, '-', 0, &min))
        return -1;
    s++;
    if (parse_bound(&s, '\0', RS_VERSION_PART_MAX, &max) || min > max)
        return -1;
    r->min = min;
    r->max = max;
    return 0;
}

int rs_version_range_has(const rs_version_range_t *r, uint32_t major, uint32_t minor,
                         uint32_t micro)
{
    uint32_t v = rs_version_make(major, minor, micro);
    return v >= r->min && v <= r->max;
}
