/*
 * html_writer.c - HTML escaping and element helpers (see html_writer.h).
 *
 * One function, next_piece(), decides what the next bytes become; the
 * stream and the buffer writers both use it, so they cannot disagree.  A
 * page is UTF-8: a byte that starts no well-formed sequence (utf8.h) is
 * shown as \xNN, as control bytes are.
 */
#include "html_writer.h"

#include "utf8.h"

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

/* What the bytes at s (n >= 1 of them) start with, as page text: *piece
 * (in buf when escaped) of *len bytes; returns how many bytes of s it
 * stands for. */
static size_t next_piece(const char *s, size_t n, char buf[8], const char **piece,
                         size_t *len)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] >= 0x80) {
        int k = rs_utf8_sequence(u, n);
        if (k > 0) {
            *piece = s;
            *len = (size_t)k;
            return (size_t)k;
        }
        snprintf(buf, 8, "\\x%02x", u[0]);
        *piece = buf;
        *len = 4;
        return 1;
    }
    const char *r = escape_char(u[0], buf);
    *piece = r ? r : s;
    *len = r ? strlen(r) : 1;
    return 1;
}

void rs_html_text_n(FILE *out, const char *s, size_t n)
{
    char buf[8];
    for (size_t i = 0; i < n;) {
        const char *piece;
        size_t len;
        i += next_piece(s + i, n - i, buf, &piece, &len);
        fwrite(piece, 1, len, out);
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
    size_t len = 0, kept = 0;       /* kept: whole pieces that fit, never cut */
    const char *p = src ? src : "";
    for (size_t left = strlen(p); left;) {
        const char *piece;
        size_t n, used = next_piece(p, left, buf, &piece, &n);
        p += used;
        left -= used;
        if (kept == len && len + n < cap) {
            memcpy(dst + len, piece, n);
            kept += n;
        }
        len += n;
    }
    if (cap)
        dst[kept] = '\0';
    return len;
}
