/*
 * run_process.h - the program `refscope run` runs: started with the
 * environment the caller prepared (the preload, REFSCOPE_OUT), SIGINT,
 * SIGTERM, SIGHUP and SIGQUIT forwarded to it (unless ignored: then they
 * stay ignored, in it too), killed if refscope run
 * dies, and waited for with every descendant (refscope run is their
 * subreaper) except, once the program has ended, those that left its
 * session (daemons, which may never end) and, past --wait or a Ctrl-C,
 * the others still running.
 */
#ifndef RS_RUN_PROCESS_H
#define RS_RUN_PROCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Pids of every process waited for; a growable set. */
typedef struct rs_pid_set {
    pid_t  *pids;
    size_t  n, cap;
} rs_pid_set_t;

/* Non-zero when pid was waited for. */
int rs_pid_set_has(const rs_pid_set_t *s, long pid);

#define RS_NOT_WAITED_NAMED 8

/* Why the wait ended with processes still running. */
typedef enum rs_wait_end {
    RS_WAIT_DAEMONS,    /* those left have all left the session (setsid)   */
    RS_WAIT_TIMEOUT,    /* the --wait period after the program ran out     */
    RS_WAIT_SIGNAL,     /* a forwarded signal came after the program ended  */
} rs_wait_end_t;

/* The processes not waited for: how many, the first RS_NOT_WAITED_NAMED
 * pids, and why (n 0: every process was waited for). */
typedef struct rs_not_waited {
    pid_t         pids[RS_NOT_WAITED_NAMED];
    long          n;
    rs_wait_end_t why;
    int           signal;     /* RS_WAIT_SIGNAL: which                    */
} rs_not_waited_t;

/* No limit to the wait for the program's other processes. */
#define RS_WAIT_FOREVER UINT64_MAX

/* Starts the program (its stdout on our stderr with stdout_to_stderr).
 * Returns its pid, or -1 with *exec_errno set when it could not be started
 * (0 when fork itself failed, message printed). */
pid_t rs_run_start(char **program, int stdout_to_stderr, int *exec_errno);

/* Waits for every descendant, adding each pid to *seen; returns the
 * direct child's exit code (128 + signal when killed; *killed_by gets the
 * signal, else 0).  Once the direct child has ended, descendants that
 * left our session (setsid) are not waited for, and the others for at
 * most wait_ms (RS_WAIT_FOREVER: no limit) or until a forwarded signal
 * (Ctrl-C) comes: those still running go to *left.  After a second of
 * that wait one line names what it waits for. */
int rs_run_wait(pid_t child, rs_pid_set_t *seen, uint64_t wait_ms, rs_not_waited_t *left,
                int *killed_by);

/* Ends refscope run as the program ended: killed by signal sig (its
 * default action, without a core dump of ours), after flushing stdio.
 * Returns only when sig does not end a process (then exit 128 + sig). */
void rs_run_die_by(int sig);

/* Says on stderr which processes were not waited for and why, and that
 * their snapshots will be written to dir (which the caller keeps). */
void rs_run_note_not_waited(const rs_not_waited_t *left, const char *dir);

/* The processes that ended without a snapshot: those whose mark
 * (REFSCOPE_MARK_RUNNING: dir/.running.<pid>, which the preload removes
 * once a process's end was analysed) is left while the process is gone,
 * killed by SIGKILL or gone on as a program the loader does not preload
 * (or analysed, but confined by a seccomp filter that refused it both
 * its snapshot and the removal of its mark: man-db's children, whose
 * own line says so).
 * Says so in one line naming them (all but skip: the program itself,
 * which a line of its own names) and removes their marks; the marks of
 * processes still running stay.  Returns how many were named. */
int rs_run_note_no_snapshot(const char *dir, pid_t skip);

#endif /* RS_RUN_PROCESS_H */
