/*
 * report_focus.h - which leaks a report is about: all of them, or only
 * those a Python extension module is responsible for (`refscope run
 * --python`), so that what the interpreter itself leaves at exit does not
 * drown what an extension leaked.
 *
 * The Python focus keeps a leak when a frame of its allocation stack lies
 * in a Python extension module: a shared object named NAME.so or
 * NAME.<tag>.so (leaky.cpython-311-x86_64-linux-gnu.so, foo.abi3.so)
 * whose NAME does not start with "lib" and which does not lie in a
 * "lib-dynload" directory (the interpreter's own standard library).  The
 * executable, libpython, libc, ld.so, libraries such as libssl or libffi
 * and refscope never make a leak an extension's.  Per class:
 *   leaked, leaked_ref  its own allocation stack;
 *   cycle               kept when any member of its cycle group is;
 *   indirect            kept when it is, or the leak it is charged to is;
 *   reachable           its own allocation stack (listed only on request:
 *                       what an extension keeps alive, not the thousands
 *                       of the interpreter's sites; the pytest plugin
 *                       asks for them).
 */
#ifndef RS_REPORT_FOCUS_H
#define RS_REPORT_FOCUS_H

#include "snapshot.h"

#include <stdint.h>

typedef enum rs_focus {
    RS_FOCUS_ALL = 0,
    RS_FOCUS_PYTHON = 1,      /* leaks of Python extension modules only     */
} rs_focus_t;

/* Non-zero when path names a Python extension module by the rule above. */
int rs_focus_is_python_extension(const char *path);

/*
 * Fills *hidden (malloc'ed, one byte per node of snap, 1 = not the
 * focus's leak) for focus; NULL for RS_FOCUS_ALL.  Returns 0, or -1 when
 * memory is exhausted (*hidden NULL).
 */
int rs_focus_hidden(const rs_snapshot_t *snap, rs_focus_t focus, uint8_t **hidden);

#endif /* RS_REPORT_FOCUS_H */
