/*
 * json_parse.c - strict recursive-descent JSON reader (see json_parse.h).
 *
 * One parser state walks the text once.  Each parse_* function consumes
 * one value and returns it, or returns NULL after recording the first
 * error (later errors never overwrite it).  Recursion depth is bounded by
 * RS_JSON_PARSE_MAX_DEPTH, checked before descending into a container.
 *
 * Invariants: p->pos <= p->len; p->line/p->col describe p->pos.
 */
#include "json_parse.h"

#include "input_file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char            *text;
    size_t                 len, pos;
    uint32_t               line, col;
    int                    depth;
    rs_json_parse_error_t *err;
    int                    failed;
} parser_t;

/* A growable byte buffer for decoded strings. */
typedef struct buf {
    char  *data;
    size_t len, cap;
} buf_t;

static void fail_at(parser_t *p, uint32_t line, uint32_t col,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void fail_at(parser_t *p, uint32_t line, uint32_t col,
                    const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = 1;
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    p->err->line = line;
    p->err->column = col;
    snprintf(p->err->message, sizeof p->err->message,
             "line %u, column %u: %s", line, col, what);
}

#define FAIL(p, ...) fail_at((p), (p)->line, (p)->col, __VA_ARGS__)

static int peek(const parser_t *p)
{
    return p->pos < p->len ? (unsigned char)p->text[p->pos] : -1;
}

static void advance(parser_t *p)
{
    if (p->pos >= p->len)
        return;
    if (p->text[p->pos] == '\n') {
        p->line++;
        p->col = 1;
    } else {
        p->col++;
    }
    p->pos++;
}

static void skip_space(parser_t *p)
{
    for (int c = peek(p); c == ' ' || c == '\t' || c == '\n' || c == '\r';
         c = peek(p))
        advance(p);
}

/* Describes the character at the current position for messages. */
static const char *here(const parser_t *p, char *tmp, size_t n)
{
    int c = peek(p);
    if (c < 0)
        return "end of input";
    if (c >= 0x20 && c < 0x7f)
        snprintf(tmp, n, "'%c'", c);
    else
        snprintf(tmp, n, "byte 0x%02x", (unsigned)c);
    return tmp;
}

static rs_json_value_t *new_value(parser_t *p, rs_json_kind_t kind,
                                  uint32_t line, uint32_t col)
{
    rs_json_value_t *v = calloc(1, sizeof *v);
    if (!v) {
        FAIL(p, "out of memory");
        return NULL;
    }
    v->kind = kind;
    v->line = line;
    v->column = col;
    return v;
}

static int buf_put(buf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 32;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

static size_t utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if invalid. */
static size_t utf8_valid(const unsigned char *s, size_t n)
{
    size_t need;
    uint32_t cp;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        need = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        need = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        need = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return need;
}

/* Reads 4 hex digits after "\u"; returns the value or -1 (error set). */
static long read_hex4(parser_t *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int c = peek(p), d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else {
            char tmp[16];
            FAIL(p, "expected a hex digit in \\u escape, found %s",
                 here(p, tmp, sizeof tmp));
            return -1;
        }
        v = v * 16 + d;
        advance(p);
    }
    return v;
}

/* After the backslash of "\u": decodes one code point (a surrogate pair
 * counts as one).  Returns it, or -1 with the error set. */
static long read_unicode_escape(parser_t *p)
{
    uint32_t line = p->line, col = p->col - 1;
    advance(p); /* 'u' */
    long hi = read_hex4(p);
    if (hi < 0)
        return -1;
    if (hi >= 0xdc00 && hi <= 0xdfff) {
        fail_at(p, line, col, "lone low surrogate \\u%04lx", hi);
        return -1;
    }
    if (hi < 0xd800 || hi > 0xdbff)
        return hi;
    if (peek(p) != '\\' || p->pos + 1 >= p->len || p->text[p->pos + 1] != 'u') {
        fail_at(p, line, col, "high surrogate \\u%04lx without its low half",
                hi);
        return -1;
    }
    advance(p);
    advance(p);
    long lo = read_hex4(p);
    if (lo < 0)
        return -1;
    if (lo < 0xdc00 || lo > 0xdfff) {
        fail_at(p, line, col, "high surrogate \\u%04lx followed by \\u%04lx",
                hi, lo);
        return -1;
    }
    return 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
}

/* After a backslash: appends the escaped character.  Returns 0 or -1. */
static int read_escape(parser_t *p, buf_t *b)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    int c = peek(p);
    const char *hit = c > 0 ? strchr(from, c) : NULL;
    if (hit) {
        advance(p);
        return buf_put(b, &to[hit - from], 1);
    }
    if (c != 'u') {
        char tmp[16];
        FAIL(p, "invalid escape \\%s", c < 0 ? "at end of input"
                                              : here(p, tmp, sizeof tmp));
        return -1;
    }
    long cp = read_unicode_escape(p);
    if (cp < 0)
        return -1;
    char enc[4];
    return buf_put(b, enc, utf8_encode((uint32_t)cp, enc));
}

/* Parses a string at '"' into *out (malloc'ed) and *len.  Returns 0/-1. */
static int read_string(parser_t *p, char **out, size_t *len)
{
    uint32_t line = p->line, col = p->col;
    buf_t b = { 0 };
    advance(p); /* opening quote */
    if (buf_put(&b, "", 0) < 0)
        goto oom;
    for (;;) {
        int c = peek(p);
        if (c < 0) {
            fail_at(p, line, col, "unterminated string");
            goto fail;
        }
        if (c == '"') {
            advance(p);
            break;
        }
        if (c < 0x20) {
            FAIL(p, "control character 0x%02x in a string (escape it)", c);
            goto fail;
        }
        if (c == '\\') {
            advance(p);
            if (read_escape(p, &b) < 0) {
                if (!p->failed)
                    goto oom;
                goto fail;
            }
            continue;
        }
        size_t n = utf8_valid((const unsigned char *)p->text + p->pos,
                              p->len - p->pos);
        if (!n) {
            FAIL(p, "invalid UTF-8 byte 0x%02x in a string", c);
            goto fail;
        }
        if (buf_put(&b, p->text + p->pos, n) < 0)
            goto oom;
        for (size_t i = 0; i < n; i++)
            advance(p);
    }
    *out = b.data;
    *len = b.len;
    return 0;
oom:
    FAIL(p, "out of memory");
fail:
    free(b.data);
    return -1;
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* Consumes one or more digits; returns how many, 0 with the error set. */
static size_t digits(parser_t *p, const char *what)
{
    size_t n = 0;
    while (is_digit(peek(p))) {
        advance(p);
        n++;
    }
    if (!n) {
        char tmp[16];
        FAIL(p, "expected a digit %s, found %s", what, here(p, tmp, sizeof tmp));
    }
    return n;
}

static rs_json_value_t *parse_number(parser_t *p)
{
    uint32_t line = p->line, col = p->col;
    size_t start = p->pos;
    int integral = 1, negative = 0;
    if (peek(p) == '-') {
        negative = 1;
        advance(p);
    }
    if (peek(p) == '0') {
        advance(p);
        if (is_digit(peek(p))) {
            FAIL(p, "leading zero in a number");
            return NULL;
        }
    } else if (!digits(p, "in a number")) {
        return NULL;
    }
    if (peek(p) == '.') {
        integral = 0;
        advance(p);
        if (!digits(p, "after '.'"))
            return NULL;
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        integral = 0;
        advance(p);
        if (peek(p) == '+' || peek(p) == '-')
            advance(p);
        if (!digits(p, "in the exponent"))
            return NULL;
    }
    char tmp[64];
    size_t n = p->pos - start;
    rs_json_value_t *v = new_value(p, RS_JSON_NUMBER, line, col);
    if (!v)
        return NULL;
    if (n >= sizeof tmp)
        n = sizeof tmp - 1; /* only precision of huge literals is lost */
    memcpy(tmp, p->text + start, n);
    tmp[n] = 0;
    v->number = strtod(tmp, NULL);
    if (integral && !negative) {
        errno = 0;
        unsigned long long u = strtoull(tmp, NULL, 10);
        if (errno == 0 && p->pos - start < sizeof tmp) {
            v->is_uint = 1;
            v->uint = u;
        }
    }
    return v;
}

static rs_json_value_t *parse_literal(parser_t *p)
{
    static const struct { const char *word; rs_json_kind_t kind; int b; }
    words[] = { { "true", RS_JSON_BOOL, 1 }, { "false", RS_JSON_BOOL, 0 },
                { "null", RS_JSON_NULL, 0 } };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i].word);
        if (p->len - p->pos >= n &&
            memcmp(p->text + p->pos, words[i].word, n) == 0) {
            rs_json_value_t *v = new_value(p, words[i].kind, p->line, p->col);
            if (v)
                v->boolean = words[i].b;
            for (size_t k = 0; k < n; k++)
                advance(p);
            return v;
        }
    }
    char tmp[16];
    FAIL(p, "expected a value, found %s", here(p, tmp, sizeof tmp));
    return NULL;
}

static rs_json_value_t *parse_value(parser_t *p);

/* Appends item (and key) to container v.  Returns 0 or -1 (error set;
 * item and key are freed). */
static int append(parser_t *p, rs_json_value_t *v, char *key,
                  rs_json_value_t *item)
{
    size_t n = v->length + 1;
    /* Grow by powers of two: reallocate when n is one. */
    if ((n & (n - 1)) == 0) {
        rs_json_value_t **items = realloc(v->items, 2 * n * sizeof *items);
        if (items)
            v->items = items;
        if (items && v->kind == RS_JSON_OBJECT) {
            char **keys = realloc(v->keys, 2 * n * sizeof *keys);
            if (keys)
                v->keys = keys;
            else
                items = NULL;
        }
        if (!items) {
            FAIL(p, "out of memory");
            free(key);
            rs_json_value_free(item);
            return -1;
        }
    }
    v->items[v->length] = item;
    if (v->kind == RS_JSON_OBJECT)
        v->keys[v->length] = key;
    v->length = n;
    return 0;
}

/* Consumes c (after white space) or fails with what was expected. */
static int expect(parser_t *p, int c, const char *what)
{
    skip_space(p);
    if (peek(p) == c) {
        advance(p);
        return 0;
    }
    char tmp[16];
    FAIL(p, "expected %s, found %s", what, here(p, tmp, sizeof tmp));
    return -1;
}

/* One member of an object: "key": value.  Returns 0 or -1. */
static int parse_member(parser_t *p, rs_json_value_t *obj)
{
    char *key;
    size_t klen;
    skip_space(p);
    if (peek(p) != '"') {
        char tmp[16];
        FAIL(p, "expected a string key, found %s", here(p, tmp, sizeof tmp));
        return -1;
    }
    if (read_string(p, &key, &klen) < 0)
        return -1;
    if (expect(p, ':', "':' after the key") < 0) {
        free(key);
        return -1;
    }
    rs_json_value_t *item = parse_value(p);
    if (!item) {
        free(key);
        return -1;
    }
    return append(p, obj, key, item);
}

/* An array or object at '[' or '{'. */
static rs_json_value_t *parse_container(parser_t *p, rs_json_kind_t kind)
{
    int close = kind == RS_JSON_ARRAY ? ']' : '}';
    if (p->depth >= RS_JSON_PARSE_MAX_DEPTH) {
        FAIL(p, "nesting deeper than %d levels", RS_JSON_PARSE_MAX_DEPTH);
        return NULL;
    }
    rs_json_value_t *v = new_value(p, kind, p->line, p->col);
    if (!v)
        return NULL;
    p->depth++;
    advance(p);
    skip_space(p);
    if (peek(p) == close) {
        advance(p);
        p->depth--;
        return v;
    }
    for (;;) {
        int rc;
        if (kind == RS_JSON_OBJECT) {
            rc = parse_member(p, v);
        } else {
            rs_json_value_t *item = parse_value(p);
            rc = item ? append(p, v, NULL, item) : -1;
        }
        if (rc < 0)
            break;
        skip_space(p);
        if (peek(p) == ',') {
            advance(p);
            continue;
        }
        if (expect(p, close, kind == RS_JSON_ARRAY ? "',' or ']'"
                                                   : "',' or '}'") == 0) {
            p->depth--;
            return v;
        }
        break;
    }
    p->depth--;
    rs_json_value_free(v);
    return NULL;
}

static rs_json_value_t *parse_value(parser_t *p)
{
    skip_space(p);
    int c = peek(p);
    if (c == '{')
        return parse_container(p, RS_JSON_OBJECT);
    if (c == '[')
        return parse_container(p, RS_JSON_ARRAY);
    if (c == '"') {
        rs_json_value_t *v = new_value(p, RS_JSON_STRING, p->line, p->col);
        if (v && read_string(p, &v->string, &v->length) < 0) {
            free(v);
            return NULL;
        }
        return v;
    }
    if (c == '-' || is_digit(c))
        return parse_number(p);
    return parse_literal(p);
}

rs_json_value_t *rs_json_parse(const char *text, size_t len,
                               rs_json_parse_error_t *err)
{
    parser_t p = { .text = text, .len = len, .line = 1, .col = 1, .err = err };
    memset(err, 0, sizeof *err);
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        p.pos = 3; /* a UTF-8 byte order mark */
    rs_json_value_t *v = parse_value(&p);
    if (!v)
        return NULL;
    skip_space(&p);
    if (p.pos < p.len) {
        char tmp[16];
        FAIL(&p, "unexpected %s after the end of the document",
             here(&p, tmp, sizeof tmp));
        rs_json_value_free(v);
        return NULL;
    }
    return v;
}

/* Reads a whole file into a malloc'ed buffer.  Returns 0 or an errno. */
static int slurp(const char *path, char **data, size_t *len)
{
    FILE *f = NULL;
    buf_t b = { 0 };
    char chunk[65536];
    size_t n;
    int oe = rs_input_open(path, &f);
    if (oe)
        return oe;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (buf_put(&b, chunk, n) < 0) {
            fclose(f);
            free(b.data);
            return ENOMEM;
        }
    int e = ferror(f) ? (errno ? errno : EIO) : 0;   /* EISDIR for a directory */
    fclose(f);
    if (e) {
        free(b.data);
        return e;
    }
    *data = b.data;
    *len = b.len;
    return 0;
}

/* Puts "path: " in front of err->message, cutting the end if needed. */
static void prefix_path(rs_json_parse_error_t *err, const char *path)
{
    size_t cap = sizeof err->message, plen = strlen(path) + 2;
    if (plen >= cap)
        plen = cap - 1;
    size_t mlen = strlen(err->message);
    if (plen + mlen >= cap)
        mlen = cap - 1 - plen;
    memmove(err->message + plen, err->message, mlen);
    err->message[plen + mlen] = 0;
    memcpy(err->message, path, plen - 2 < strlen(path) ? plen - 2 : strlen(path));
    if (plen >= 2) {
        err->message[plen - 2] = ':';
        err->message[plen - 1] = ' ';
    }
}

rs_json_value_t *rs_json_parse_file(const char *path,
                                    rs_json_parse_error_t *err)
{
    char *data = NULL;
    size_t len = 0;
    memset(err, 0, sizeof *err);
    int e = slurp(path, &data, &len);
    if (e) {
        snprintf(err->message, sizeof err->message, "%s: %s", path,
                 rs_input_strerror(e));
        return NULL;
    }
    rs_json_value_t *v = rs_json_parse(data ? data : "", len, err);
    free(data);
    if (!v)
        prefix_path(err, path);
    return v;
}

void rs_json_value_free(rs_json_value_t *v)
{
    if (!v)
        return;
    for (size_t i = 0; (v->kind == RS_JSON_ARRAY || v->kind == RS_JSON_OBJECT)
                       && i < v->length; i++) {
        rs_json_value_free(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->string);
    free(v);
}

const rs_json_value_t *rs_json_value_get(const rs_json_value_t *v,
                                         const char *key)
{
    if (!v || v->kind != RS_JSON_OBJECT)
        return NULL;
    for (size_t i = v->length; i-- > 0;)
        if (strcmp(v->keys[i], key) == 0)
            return v->items[i];
    return NULL;
}

const char *rs_json_value_string(const rs_json_value_t *v)
{
    return v && v->kind == RS_JSON_STRING ? v->string : NULL;
}
