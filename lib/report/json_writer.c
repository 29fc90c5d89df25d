/*
 * json_writer.c - streaming JSON writer (see json_writer.h).
 *
 * Separators: before every value or key the writer looks at the innermost
 * open container; if it already holds a member a comma is written, then a
 * newline and indentation when pretty-printing.  A value following a key
 * gets neither (the key wrote ": ").
 *
 * UTF-8: well-formed sequences (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF) are copied; an ill-formed one is replaced by one
 * U+FFFD per maximal subpart, the substitution Unicode recommends.
 */
#include "json_writer.h"

#include "utf8.h"

#include <inttypes.h>
#include <string.h>

void rs_json_init(rs_json_t *j, FILE *out, int indent)
{
    memset(j, 0, sizeof *j);
    j->out = out;
    j->indent = indent > 0 ? indent : 0;
}

static void put(rs_json_t *j, const char *s)
{
    if (fputs(s, j->out) == EOF)
        j->error = 1;
}

static void newline_indent(rs_json_t *j, int depth)
{
    if (!j->indent)
        return;
    if (fputc('\n', j->out) == EOF)
        j->error = 1;
    for (int i = 0; i < depth * j->indent; i++)
        if (fputc(' ', j->out) == EOF)
            j->error = 1;
}

/* Prepares for a value: checks that one is allowed here and writes the
 * separator.  Returns 0 when the value may be written. */
static int begin_value(rs_json_t *j)
{
    if (j->error)
        return -1;
    if (j->depth == 0) {
        if (j->top_values++)
            put(j, "\n");
        return 0;
    }
    int d = j->depth - 1;
    if (j->is_object[d]) {
        if (!j->have_key) {
            j->error = 1;
            return -1;
        }
        j->have_key = 0;
        return 0;
    }
    if (j->count[d]++)
        put(j, ",");
    newline_indent(j, j->depth);
    return 0;
}

void rs_json_key(rs_json_t *j, const char *key)
{
    if (j->error)
        return;
    int d = j->depth - 1;
    if (d < 0 || !j->is_object[d] || j->have_key || !key) {
        j->error = 1;
        return;
    }
    if (j->count[d]++)
        put(j, ",");
    newline_indent(j, j->depth);
    put(j, "\"");
    if (rs_json_escape(j->out, key, strlen(key)) < 0)
        j->error = 1;
    put(j, j->indent ? "\": " : "\":");
    j->have_key = 1;
}

static void open_container(rs_json_t *j, int is_object)
{
    if (begin_value(j) < 0)
        return;
    if (j->depth >= RS_JSON_MAX_DEPTH) {
        j->error = 1;
        return;
    }
    put(j, is_object ? "{" : "[");
    j->is_object[j->depth] = (uint8_t)is_object;
    j->count[j->depth] = 0;
    j->depth++;
}

static void close_container(rs_json_t *j, int is_object)
{
    if (j->error)
        return;
    if (j->depth == 0 || j->is_object[j->depth - 1] != is_object ||
        j->have_key) {
        j->error = 1;
        return;
    }
    j->depth--;
    if (j->count[j->depth])
        newline_indent(j, j->depth);
    put(j, is_object ? "}" : "]");
}

void rs_json_begin_object(rs_json_t *j) { open_container(j, 1); }
void rs_json_end_object(rs_json_t *j) { close_container(j, 1); }
void rs_json_begin_array(rs_json_t *j) { open_container(j, 0); }
void rs_json_end_array(rs_json_t *j) { close_container(j, 0); }

int rs_json_escape(FILE *out, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    int rc = 0;

    while (i < len) {
        unsigned char c = s[i];
        char buf[8];
        const char *esc = NULL;

        switch (c) {
        case '"':  esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 0x20 || c == 0x7F) {
                snprintf(buf, sizeof buf, "\\u%04x", c);
                esc = buf;
            }
        }
        if (esc) {
            if (fputs(esc, out) == EOF)
                rc = -1;
            i++;
            continue;
        }
        int n = rs_utf8_sequence(s + i, len - i);
        if (n < 0) {
            if (fputs("\\ufffd", out) == EOF)
                rc = -1;
            i += (size_t)-n;
        } else {
            if (fwrite(s + i, 1, (size_t)n, out) != (size_t)n)
                rc = -1;
            i += (size_t)n;
        }
    }
    return rc;
}

void rs_json_string_n(rs_json_t *j, const char *s, size_t len)
{
    if (!s) {
        rs_json_null(j);
        return;
    }
    if (begin_value(j) < 0)
        return;
    put(j, "\"");
    if (rs_json_escape(j->out, s, len) < 0)
        j->error = 1;
    put(j, "\"");
}

void rs_json_string(rs_json_t *j, const char *s)
{
    rs_json_string_n(j, s, s ? strlen(s) : 0);
}

static void raw_value(rs_json_t *j, const char *text)
{
    if (begin_value(j) < 0)
        return;
    put(j, text);
}

void rs_json_int(rs_json_t *j, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    raw_value(j, buf);
}

void rs_json_uint(rs_json_t *j, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    raw_value(j, buf);
}

void rs_json_hex(rs_json_t *j, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "\"0x%" PRIx64 "\"", v);
    raw_value(j, buf);
}

void rs_json_bool(rs_json_t *j, int v) { raw_value(j, v ? "true" : "false"); }
void rs_json_null(rs_json_t *j) { raw_value(j, "null"); }

/* rs_json_member_<kind>(j, key, v): the key, then rs_json_<kind>(j, v). */
#define MEMBER(kind, type)                                              \
    void rs_json_member_##kind(rs_json_t *j, const char *key, type v)   \
    {                                                                   \
        rs_json_key(j, key);                                            \
        rs_json_##kind(j, v);                                           \
    }

MEMBER(string, const char *)
MEMBER(int, int64_t)
MEMBER(uint, uint64_t)
MEMBER(bool, int)
MEMBER(hex, uint64_t)

void rs_json_member_null(rs_json_t *j, const char *key)
{
    rs_json_key(j, key);
    rs_json_null(j);
}

/* rs_json_member_<kind>_or_null(j, key, v, known). */
#define MEMBER_OR_NULL(kind, type)                                      \
    void rs_json_member_##kind##_or_null(rs_json_t *j, const char *key, \
                                         type v, int known)             \
    {                                                                   \
        if (known)                                                      \
            rs_json_member_##kind(j, key, v);                           \
        else                                                            \
            rs_json_member_null(j, key);                                \
    }

MEMBER_OR_NULL(int, int64_t)
MEMBER_OR_NULL(uint, uint64_t)

int rs_json_finish(rs_json_t *j)
{
    if (j->depth != 0 || j->have_key)
        j->error = 1;
    if (j->top_values)
        put(j, "\n");
    if (fflush(j->out) == EOF || ferror(j->out))
        j->error = 1;
    return j->error ? -1 : 0;
}
