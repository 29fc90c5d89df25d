/*
 * html_writer.h - writing HTML that cannot be broken by what it shows.
 *
 * Everything the HTML pages print that comes from a snapshot (function
 * names, file names, labels, argv, type names) goes through
 * rs_html_text(), which escapes the five characters with a meaning in
 * HTML (& < > " ') and writes other control characters (below 0x20,
 * except tab and newline, and DEL) as "\xNN", so no snapshot content can
 * open a tag, close an attribute or hide text.  The result is valid both
 * as element text and inside a quoted attribute value, in HTML and in
 * inline SVG.
 *
 * The element helpers write one element per call, so the structure of a
 * page is visible in the code that builds it.  Tag and class names are
 * the caller's literals and are not escaped.  None of these functions
 * report errors: write errors stay in the stream for ferror().
 */
#ifndef RS_HTML_WRITER_H
#define RS_HTML_WRITER_H

#include <stddef.h>
#include <stdio.h>

/* Writes s escaped; NULL writes nothing. */
void rs_html_text(FILE *out, const char *s);

/* Writes the n bytes at s escaped (NUL bytes as "\x00"). */
void rs_html_text_n(FILE *out, const char *s, size_t n);

/* printf, then escaped as a whole (so "%s" arguments are escaped too). */
void rs_html_textf(FILE *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* <tag class="cls">escaped text</tag>; cls may be NULL. */
void rs_html_elem(FILE *out, const char *tag, const char *cls, const char *text);

/* <tag class="cls"> and </tag>; cls may be NULL. */
void rs_html_open(FILE *out, const char *tag, const char *cls);
void rs_html_close(FILE *out, const char *tag);

/*
 * Escapes src into dst[0..cap) NUL-terminated; returns the length the
 * whole escaped text needs (without the NUL), like snprintf, so a result
 * >= cap means it was cut (between two characters or escapes, never
 * inside one).
 */
size_t rs_html_escape(char *dst, size_t cap, const char *src);

#endif /* RS_HTML_WRITER_H */
