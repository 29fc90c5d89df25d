/*
 * source_cache.c - source lines by file and number (see source_cache.h).
 *
 * A file is kept as its bytes plus an array of line start offsets (one
 * extra entry for the end), in a singly linked list searched by path:
 * reports name a handful of files, so a list is enough.
 */
#include "source_cache.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct source_file {
    struct source_file *next;
    char               *path;
    char               *text;     /* NULL: could not be read               */
    size_t             *starts;   /* n_lines + 1 offsets into text         */
    uint32_t            n_lines;
} source_file_t;

struct rs_source_cache {
    source_file_t *files;
};

rs_source_cache_t *rs_source_cache_create(void)
{
    return calloc(1, sizeof(rs_source_cache_t));
}

void rs_source_cache_destroy(rs_source_cache_t *c)
{
    if (!c)
        return;
    for (source_file_t *f = c->files, *next; f; f = next) {
        next = f->next;
        free(f->path);
        free(f->text);
        free(f->starts);
        free(f);
    }
    free(c);
}

/* Reads a regular file of at most RS_SOURCE_MAX_BYTES; NULL otherwise. */
static char *slurp(const char *path, size_t *size)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);   /* a FIFO: no wait */
    FILE *in = fd >= 0 ? fdopen(fd, "rb") : NULL;
    char *text = NULL;
    if (!in) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_size <= RS_SOURCE_MAX_BYTES &&
        (text = malloc((size_t)st.st_size + 1)) != NULL) {
        *size = fread(text, 1, (size_t)st.st_size, in);
        text[*size] = '\0';
    }
    fclose(in);
    return text;
}

/* Splits f->text into lines; -1 when memory is exhausted. */
static int index_lines(source_file_t *f, size_t size)
{
    uint32_t n = 0;
    for (size_t i = 0; i < size; i++)
        n += f->text[i] == '\n';
    if (size && f->text[size - 1] != '\n')
        n++;                                  /* last line without '\n' */
    f->starts = malloc(((size_t)n + 1) * sizeof *f->starts);
    if (!f->starts)
        return -1;
    uint32_t k = 0;
    f->starts[0] = 0;
    for (size_t i = 0; i < size && k < n; i++)
        if (f->text[i] == '\n')
            f->starts[++k] = i + 1;
    f->starts[n] = size + (size && f->text[size - 1] != '\n'); /* past end */
    f->n_lines = n;
    return 0;
}

static source_file_t *load(rs_source_cache_t *c, const char *path)
{
    source_file_t *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return NULL;
    }
    size_t size = 0;
    f->text = slurp(path, &size);
    if (f->text && index_lines(f, size) < 0) {
        free(f->text);
        f->text = NULL;
    }
    f->next = c->files;
    c->files = f;
    return f;
}

int rs_source_line(rs_source_cache_t *c, const char *path, uint32_t line,
                   const char **text, size_t *len)
{
    source_file_t *f = c->files;
    while (f && strcmp(f->path, path) != 0)
        f = f->next;
    if (!f && !(f = load(c, path)))
        return -1;
    if (!f->text || line == 0 || line > f->n_lines)
        return -1;
    size_t a = f->starts[line - 1], b = f->starts[line];
    size_t l = b - a;
    while (l && (f->text[a + l - 1] == '\n' || f->text[a + l - 1] == '\r' ||
                 f->text[a + l - 1] == '\0'))
        l--;
    *text = f->text + a;
    *len = l;
    return 0;
}
