/*
 * text_clean.c - control characters and ill-formed UTF-8 in snapshot
 * strings escaped for the text reports (text_clean.h).
 */
#include "text_clean.h"

#include "utf8.h"

#include <stdio.h>
#include <string.h>

/* Length of the character at s (n bytes left) when it is printed as it
 * is, else 0: ASCII other than the controls and DEL, well-formed UTF-8
 * other than the C1 controls (0xc2 0x80-0x9f). */
static size_t printable_length(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return s[0] >= 0x20 && s[0] != 0x7f;
    int len = rs_utf8_sequence(s, n);
    if (len <= 0 || (s[0] == 0xc2 && s[1] < 0xa0))
        return 0;
    return (size_t)len;
}

const char *rs_text_clean(const char *s, char *buf, size_t size)
{
    if (!s)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0, len;
    while (i < n && (len = printable_length(p + i, n - i)) != 0)
        i += len;
    if (i == n)
        return s;
    /* Escaped, from the start: room is kept for "..." and the NUL. */
    size_t out = 0, keep = size - 4;
    for (i = 0; i < n;) {
        len = printable_length(p + i, n - i);
        size_t need = len ? len : 4;
        if (out + need > keep) {
            memcpy(buf + out, "...", 4);
            return buf;
        }
        if (len)
            memcpy(buf + out, s + i, len);
        else
            snprintf(buf + out, 5, "\\x%02x", p[i]);
        out += need;
        i += len ? len : 1;
    }
    buf[out] = '\0';
    return buf;
}
