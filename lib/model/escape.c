/*
 * escape.c - one byte as refscope's messages quote it (escape.h).
 */
#include "escape.h"

unsigned rs_escape_byte(unsigned char c, char out[4])
{
    static const char hex[] = "0123456789abcdef";
    if (c >= 0x20 && c != 0x7f && c != '\\') {
        out[0] = (char)c;
        return 1;
    }
    out[0] = '\\';
    switch (c) {
    case '\n': out[1] = 'n'; return 2;
    case '\t': out[1] = 't'; return 2;
    case '\r': out[1] = 'r'; return 2;
    case '\\': out[1] = '\\'; return 2;
    default:
        out[1] = 'x';
        out[2] = hex[c >> 4];
        out[3] = hex[c & 15];
        return 4;
    }
}
