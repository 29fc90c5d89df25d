/*
 * json_writer.h - a small streaming JSON writer used by every JSON output
 * of refscope (report, run, check, export, diff, trend, chain).
 *
 * The writer keeps a stack of open containers and inserts commas, colons
 * and (optionally) indentation itself, so callers only say what comes
 * next.  Strings are escaped for JSON: quote, backslash and control
 * characters are escaped, and bytes that are not valid UTF-8 become
 * U+FFFD, so the output is always valid UTF-8 JSON whatever the program
 * put in its argv or file names.
 *
 * Invariants: inside an object every value is preceded by exactly one
 * rs_json_key(); misuse (a value without a key, unbalanced end, nesting
 * deeper than RS_JSON_MAX_DEPTH) sets the sticky error flag and the
 * offending call writes nothing.  Write errors of the stream set it too.
 */
#ifndef RS_JSON_WRITER_H
#define RS_JSON_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RS_JSON_MAX_DEPTH 64

typedef struct rs_json {
    FILE    *out;
    int      indent;                       /* spaces per level, 0 = compact */
    int      depth;                        /* open containers               */
    int      error;                        /* sticky: misuse or I/O error   */
    int      have_key;                     /* a key waits for its value     */
    uint8_t  is_object[RS_JSON_MAX_DEPTH]; /* per open container            */
    uint32_t count[RS_JSON_MAX_DEPTH];     /* members written so far        */
    uint32_t top_values;                   /* values written at depth 0     */
} rs_json_t;

/* Starts a writer on out.  indent > 0 pretty-prints with that many spaces
 * per level; 0 writes everything on one line. */
void rs_json_init(rs_json_t *j, FILE *out, int indent);

void rs_json_begin_object(rs_json_t *j);
void rs_json_end_object(rs_json_t *j);
void rs_json_begin_array(rs_json_t *j);
void rs_json_end_array(rs_json_t *j);

/* The key of the next member; only valid directly inside an object. */
void rs_json_key(rs_json_t *j, const char *key);

/* String values; NULL writes null.  _n takes an explicit length (the
 * bytes may contain NUL, written as \u0000). */
void rs_json_string(rs_json_t *j, const char *s);
void rs_json_string_n(rs_json_t *j, const char *s, size_t len);
void rs_json_int(rs_json_t *j, int64_t v);
void rs_json_uint(rs_json_t *j, uint64_t v);
void rs_json_bool(rs_json_t *j, int v);
void rs_json_null(rs_json_t *j);
/* An address as the string "0x..." (lower-case hex, no padding). */
void rs_json_hex(rs_json_t *j, uint64_t v);

/* Members: rs_json_key(j, key) and the value in one call (only directly
 * inside an object; misuse sets the error flag as rs_json_key() does). */
void rs_json_member_string(rs_json_t *j, const char *key, const char *s);
void rs_json_member_int(rs_json_t *j, const char *key, int64_t v);
void rs_json_member_uint(rs_json_t *j, const char *key, uint64_t v);
void rs_json_member_bool(rs_json_t *j, const char *key, int v);
void rs_json_member_null(rs_json_t *j, const char *key);
void rs_json_member_hex(rs_json_t *j, const char *key, uint64_t v);
/* The member key: v when known is non-zero, else null. */
void rs_json_member_uint_or_null(rs_json_t *j, const char *key, uint64_t v,
                                 int known);
void rs_json_member_int_or_null(rs_json_t *j, const char *key, int64_t v,
                                int known);

/* Writes the escaped form of s[0..len), without quotes, to out.  Exposed
 * for the unit test and for code that embeds JSON strings by hand.
 * Returns 0, or -1 on a write error. */
int rs_json_escape(FILE *out, const char *s, size_t len);

/* Ends the document: writes a newline after the top-level value and
 * flushes.  Returns 0 when everything was balanced and written, -1 on
 * misuse or a write error. */
int rs_json_finish(rs_json_t *j);

#endif /* RS_JSON_WRITER_H */
