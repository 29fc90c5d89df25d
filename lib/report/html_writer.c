/*
 * html_writer.c - HTML escaping and element helpers (see html_writer.h).
 *
 * One function, escape_char(), decides what a byte becomes; the stream
 * and the buffer writers both use it, so they cannot disagree.
 */
#include "html_writer.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The replacement of byte c in *buf (room for 7), or NULL to keep c. */
static const char *escape_char(unsigned char c, char buf[8])
{
    switch (c) {
    case '&':  return "&amp;";
    case '<':  return "&lt;";
    case '>':  return "&gt;";
    case '"':  return "&quot;";
    case '\'': return "&#39;";
    case '\t':
    case '\n': return NULL;
    default:
        break;
    }
    if (c < 0x20 || c == 0x7f) {
        snprintf(buf, 8, "\\x%02x", c);
        return buf;
    }
    return NULL;
}

void rs_html_text_n(FILE *out, const char *s, size_t n)
{
    char buf[8];
    for (size_t i = 0; i < n; i++) {
        const char *r = escape_char((unsigned char)s[i], buf);
        if (r)
            fputs(r, out);
        else
            fputc(s[i], out);
    }
}

void rs_html_text(FILE *out, const char *s)
{
    if (s)
        rs_html_text_n(out, s, strlen(s));
}

void rs_html_textf(FILE *out, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        rs_html_text_n(out, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        rs_html_text_n(out, small, sizeof small - 1);  /* cut, not lost */
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    rs_html_text_n(out, big, (size_t)n);
    free(big);
}

void rs_html_open(FILE *out, const char *tag, const char *cls)
{
    if (cls)
        fprintf(out, "<%s class=\"%s\">", tag, cls);
    else
        fprintf(out, "<%s>", tag);
}

void rs_html_close(FILE *out, const char *tag)
{
    fprintf(out, "</%s>", tag);
}

void rs_html_elem(FILE *out, const char *tag, const char *cls, const char *text)
{
    rs_html_open(out, tag, cls);
    rs_html_text(out, text);
    rs_html_close(out, tag);
}

size_t rs_html_escape(char *dst, size_t cap, const char *src)
{
    char buf[8];
    size_t len = 0;
    for (const char *p = src ? src : ""; *p; p++) {
        const char *r = escape_char((unsigned char)*p, buf);
        char one[2] = { *p, 0 };
        for (const char *q = r ? r : one; *q; q++, len++)
            if (len + 1 < cap)
                dst[len] = *q;
    }
    if (cap)
        dst[len < cap ? len : cap - 1] = '\0';
    return len;
}
