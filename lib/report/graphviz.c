/*
 * graphviz.c - finding and running `dot` (see graphviz.h).
 *
 * The DOT text goes to dot through an unlinked temporary file on its
 * standard input and the SVG comes back through a pipe, so a graph larger
 * than a pipe buffer can never deadlock the two processes.
 */
#include "graphviz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

char *rs_graphviz_find_dot(void)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        char *cand = malloc(len + 5);
        if (!cand)
            return NULL;
        snprintf(cand, len + 5, "%.*s/dot", (int)len, len ? path : ".");
        if (access(cand, X_OK) == 0)
            return cand;
        free(cand);
        path += len + (colon != NULL);
    }
    return NULL;
}

/* Reads fd to its end into a malloc'ed NUL-terminated buffer. */
static char *read_all(int fd)
{
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 == cap) {
            char *b = realloc(buf, cap * 2);
            if (!b)
                break;
            buf = b;
            cap *= 2;
        }
        ssize_t k = read(fd, buf + n, cap - n - 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            break;
        if (k == 0) {
            buf[n] = '\0';
            return buf;
        }
        n += (size_t)k;
    }
    free(buf);
    return NULL;
}

static int wait_status(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int rs_graphviz_svg(const char *dot_path, const char *dot, size_t len, char **svg)
{
    *svg = NULL;
    FILE *in = tmpfile();
    int fds[2] = { -1, -1 };
    int rc = -1;
    if (!in || fwrite(dot, 1, len, in) != len || fflush(in) != 0 ||
        fseek(in, 0, SEEK_SET) != 0 || pipe(fds) != 0)
        goto out;
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(fileno(in), 0);
        dup2(fds[1], 1);
        if (null >= 0)
            dup2(null, 2);
        close(fds[0]);
        close(fds[1]);
        alarm(RS_GRAPHVIZ_SECONDS);        /* kept across exec: SIGALRM ends dot */
        execl(dot_path, "dot", "-Tsvg", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    fds[1] = -1;
    if (pid < 0)
        goto out;
    char *text = read_all(fds[0]);
    int status = wait_status(pid);
    char *start = text ? strstr(text, "<svg") : NULL;
    if (status == 0 && start) {
        memmove(text, start, strlen(start) + 1);
        *svg = text;
        rc = 0;
    } else {
        free(text);
    }
out:
    if (in)
        fclose(in);
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return rc;
}
