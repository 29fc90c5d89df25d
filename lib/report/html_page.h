/*
 * html_page.h - the frame every refscope HTML page shares: doctype, the
 * inline style sheet and script, the sticky summary bar, and the summary
 * chips (one per class, coloured as the findings of that class are).
 *
 * A page is self-contained: no external style sheet, script, font or
 * image, so it opens offline and can be attached to a CI run.  The
 * script records its own errors: <html data-js-errors="N"> counts
 * uncaught errors (window.onerror) and data-js-ready="1" says it ran to
 * the end, so a test that dumps the DOM sees both.
 *
 * Class names used by the style sheet: c-leaked, c-indirect, c-cycle,
 * c-leaked_ref, c-rc_error, c-reachable (rs_class_name() plus "c-").
 */
#ifndef RS_HTML_PAGE_H
#define RS_HTML_PAGE_H

#include <stdint.h>
#include <stdio.h>

/* From the doctype to the opening of the sticky bar: <header class="top">
 * with an <h1> of title (escaped) already written. */
void rs_html_page_begin(FILE *out, const char *title);

/* Closes the sticky bar and opens <main>. */
void rs_html_page_bar_end(FILE *out);

/* Closes <main> and the page. */
void rs_html_page_end(FILE *out);

/* A chip in the bar: "<label> <bytes> B / <blocks> blocks" in the colour
 * of css_class (e.g. "c-leaked"); a class with no blocks is drawn muted. */
void rs_html_chip(FILE *out, const char *css_class, const char *label,
                  uint64_t bytes, uint64_t blocks);

/* A chip with a plain count: "<label> <n>". */
void rs_html_chip_count(FILE *out, const char *css_class, const char *label,
                        uint64_t n);

#endif /* RS_HTML_PAGE_H */
