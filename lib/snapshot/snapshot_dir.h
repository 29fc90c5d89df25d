/*
 * snapshot_dir.h - making the directory snapshots go to: REFSCOPE_OUT in
 * the preload, `refscope run --out DIR` in the tool, both `mkdir -p`.
 */
#ifndef RS_SNAPSHOT_DIR_H
#define RS_SNAPSHOT_DIR_H

/*
 * Makes dir and its missing parents.  Returns 0 when dir is a directory
 * afterwards (*made, if not NULL, is 1 when its last component was made
 * here), else -1 with errno from the mkdir that failed (ENOTDIR when dir
 * or a parent exists but is something else).  Directories that exist are not made
 * again: a process under a seccomp filter may be refused mkdir itself
 * (man-db's sandboxed children get ENOSYS, not EEXIST, for
 * mkdir("/tmp")) and can still write into a directory that is there.  A
 * directory made here keeps the umask but is always searchable and
 * writable by its owner (under `umask 0777` it was made d---------, and a
 * process not running as root could then write nothing into it).  No
 * allocation, no stdio: the preload calls it at exit.
 */
int rs_snapshot_make_dir(const char *dir, int *made);

#endif /* RS_SNAPSHOT_DIR_H */
