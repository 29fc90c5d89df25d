/*
 * snapshot_dir.c - `mkdir -p` for the snapshot directory (see
 * snapshot_dir.h).  Paths up to PATH_MAX bytes; each component is tried
 * from the root down, on a copy cut at its end.
 */
#include "snapshot_dir.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

/* 1 when path names a directory (following symbolic links). */
static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* mkdir(path), owner rwx whatever the umask; 1 when made, 0 when path is
 * a directory already, -1 (errno from mkdir) otherwise. */
static int make_one(const char *path)
{
    if (mkdir(path, 0777) == 0) {
        struct stat made;
        if (stat(path, &made) == 0 && (made.st_mode & S_IRWXU) != S_IRWXU)
            chmod(path, (made.st_mode & 07777) | S_IRWXU);
        return 1;
    }
    int e = errno;
    if (is_dir(path))
        return 0;
    errno = e == EEXIST ? ENOTDIR : e;      /* there, and no directory */
    return -1;
}

int rs_snapshot_make_dir(const char *dir, int *made)
{
    char tmp[PATH_MAX];
    size_t len = strlen(dir);
    int last = 0;
    if (made)
        *made = 0;
    if (len == 0 || len >= sizeof tmp) {
        errno = len ? ENAMETOOLONG : ENOENT;
        return -1;
    }
    if (is_dir(dir))
        return 0;
    memcpy(tmp, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if ((tmp[i] != '/' && tmp[i] != '\0') || tmp[i - 1] == '/')
            continue;                 /* inside a name, or "//", or "dir/" */
        char c = tmp[i];
        tmp[i] = '\0';
        if ((last = make_one(tmp)) < 0)
            return -1;
        tmp[i] = c;
    }
    if (!is_dir(dir)) {
        errno = ENOTDIR;
        return -1;
    }
    if (made)
        *made = last == 1;
    return 0;
}
