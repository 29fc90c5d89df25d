/*
 * text_clean.h - the strings of a snapshot as the text reports print them.
 *
 * Type names, labels, argv, paths and function names come from the
 * program (a Python class may be named anything, argv is whatever it was
 * given), from the files it loaded, or from a corrupt snapshot; the text
 * reports (report, diff, trend, chain, check) send them to a terminal or
 * a CI log.  A control character there moves the cursor, recolours or
 * clears the screen (ESC), rewrites the line (CR), or starts a line that
 * a CI system reads as a command (a newline, then GitHub Actions'
 * "::error::").  So each such string is printed through rs_text_clean():
 * C0 controls, DEL, the C1 range (U+0080-U+009F: 0x9b is a CSI) and bytes
 * that are not well-formed UTF-8 (utf8.h) become "\xNN"; well-formed text
 * is printed as it is.  (JSON, HTML and the CI formats have escapes of
 * their own.)
 */
#ifndef RS_TEXT_CLEAN_H
#define RS_TEXT_CLEAN_H

#include <stddef.h>

/* Room a caller's buffer needs for most cleaned names. */
#define RS_TEXT_CLEAN_BUF 512

/* s when it has nothing to escape (the common case, no copy), else its
 * escaped form in buf, cut with "..." (between two characters or escapes)
 * when it does not fit in size bytes (size >= 8).  NULL gives NULL. */
const char *rs_text_clean(const char *s, char *buf, size_t size);

#endif /* RS_TEXT_CLEAN_H */
