/*
 * json_parse.h - a small, strict JSON reader for the files refscope reads
 * back (check baselines): text in, a tree of values out.
 *
 * The parser accepts RFC 8259 JSON and nothing else (no comments, no
 * trailing commas, no NaN), checks that strings are valid UTF-8, decodes
 * \u escapes (surrogate pairs included; a lone surrogate is an error) and
 * limits nesting to RS_JSON_PARSE_MAX_DEPTH, so no input can make it
 * crash or recurse without bound.  On error it returns NULL and says what
 * was wrong and where, as 1-based line and column (columns count bytes).
 *
 * Every value remembers the line and column it started at, so callers
 * checking the shape of a document can point at the faulty value too.
 * A tree is one allocation per value; rs_json_value_free() releases it.
 */
#ifndef RS_JSON_PARSE_H
#define RS_JSON_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define RS_JSON_PARSE_MAX_DEPTH 200

typedef enum rs_json_kind {
    RS_JSON_NULL = 0,
    RS_JSON_BOOL,
    RS_JSON_NUMBER,
    RS_JSON_STRING,
    RS_JSON_ARRAY,
    RS_JSON_OBJECT,
} rs_json_kind_t;

typedef struct rs_json_value rs_json_value_t;

struct rs_json_value {
    rs_json_kind_t    kind;
    uint32_t          line, column;  /* where the value starts, 1-based    */
    int               boolean;       /* BOOL                                */
    double            number;        /* NUMBER                              */
    int               is_uint;       /* NUMBER: a non-negative integer that
                                        fits uint64_t exactly (no fraction,
                                        no exponent)                        */
    uint64_t          uint;          /* NUMBER when is_uint                 */
    char             *string;        /* STRING: NUL-terminated (may also
                                        contain NUL, see length)            */
    size_t            length;        /* STRING: bytes; ARRAY/OBJECT: items  */
    rs_json_value_t **items;         /* ARRAY/OBJECT: the values            */
    char            **keys;          /* OBJECT: the keys, NUL-terminated    */
};

typedef struct rs_json_parse_error {
    uint32_t line, column;           /* 0 when not about a position         */
    char     message[200];           /* "line 3, column 7: expected ':'"   */
} rs_json_parse_error_t;

/*
 * Parses text[0..len) as one JSON document (surrounding white space
 * allowed).  Returns the root value, or NULL with err filled in (syntax
 * error, too deep, or memory exhausted).
 */
rs_json_value_t *rs_json_parse(const char *text, size_t len,
                               rs_json_parse_error_t *err);

/*
 * Reads and parses the file at path.  Returns the root value, or NULL with
 * err filled in; the message then starts with the path ("base.json: line
 * 3, column 7: ..." or "base.json: No such file or directory").  Only a
 * regular file is read (input_file.h): a FIFO or device is refused, not
 * waited on.
 */
rs_json_value_t *rs_json_parse_file(const char *path,
                                    rs_json_parse_error_t *err);

/* Frees a tree; accepts NULL. */
void rs_json_value_free(rs_json_value_t *v);

/* The member named key of object v (the last one if repeated), or NULL
 * when v is not an object or has no such member. */
const rs_json_value_t *rs_json_value_get(const rs_json_value_t *v,
                                         const char *key);

/* The string of v, or NULL when v is not a string. */
const char *rs_json_value_string(const rs_json_value_t *v);

#endif /* RS_JSON_PARSE_H */
