/*
 * utf8.h - where the text refscope writes for other programs (JSON, HTML,
 * JUnit XML) must be valid UTF-8: names from a snapshot (types, functions
 * symbolized from the program's files, paths) are bytes, which a corrupt
 * snapshot or an odd binary makes anything.  One decision of what is
 * well-formed, shared by the writers, so they cannot disagree.
 */
#ifndef RS_UTF8_H
#define RS_UTF8_H

#include <stddef.h>

/* Length (1-4) of the well-formed UTF-8 sequence at s (at most n bytes,
 * n >= 1), or the negated length of its maximal ill-formed subpart (at
 * least 1), which a writer replaces as one unit (Unicode's "substitution
 * of maximal subparts").  Overlong forms, UTF-16 surrogates and code
 * points above U+10FFFF are ill-formed. */
int rs_utf8_sequence(const unsigned char *s, size_t n);

#endif /* RS_UTF8_H */
