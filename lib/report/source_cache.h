/*
 * source_cache.h - lines of source files, read from disk at report time,
 * so the HTML report can show the line a frame points at.
 *
 * Each file is read once (at most RS_SOURCE_MAX_BYTES; a longer file, a
 * missing or unreadable one, or a directory yields no lines) and kept
 * until the cache is destroyed; a file that could not be read is
 * remembered as such and not tried again.  Lines are returned without
 * their newline (and without a trailing '\r').  Not thread safe.
 */
#ifndef RS_SOURCE_CACHE_H
#define RS_SOURCE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define RS_SOURCE_MAX_BYTES (16u << 20)

typedef struct rs_source_cache rs_source_cache_t;

/* Returns NULL when memory is exhausted. */
rs_source_cache_t *rs_source_cache_create(void);
void rs_source_cache_destroy(rs_source_cache_t *c);   /* accepts NULL */

/*
 * Line `line` (1-based) of file `path`: *text points at it (owned by the
 * cache), *len is its length.  Returns 0, or -1 when the file cannot be
 * read, the line does not exist, or memory is exhausted.
 */
int rs_source_line(rs_source_cache_t *c, const char *path, uint32_t line,
                   const char **text, size_t *len);

#endif /* RS_SOURCE_CACHE_H */
