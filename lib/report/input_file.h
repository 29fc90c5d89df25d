/*
 * input_file.h - opening a file the tool reads whole (suppression files,
 * check baselines) without ever waiting on it.
 *
 * Only a regular file is read: a FIFO nobody writes to would block the
 * tool forever - and with it, at exit, every program run under the
 * preload with REFSCOPE_SUPPRESSIONS and REFSCOPE_EXITCODE, whose gate
 * runs `refscope check` - and a device such as /dev/zero would be read
 * until memory ran out.  The snapshot reader and the profile reader hold
 * the same rule.  Invariant: the open itself never blocks (O_NONBLOCK,
 * cleared once the file is known to be regular).
 */
#ifndef RS_INPUT_FILE_H
#define RS_INPUT_FILE_H

#include <stdio.h>

/* The error of a path that exists but is no regular file nor directory. */
#define RS_INPUT_NOT_REGULAR (-1)

/* Opens path for reading ("rb").  Returns 0 with *out set, or an errno
 * value (EISDIR for a directory) or RS_INPUT_NOT_REGULAR. */
int rs_input_open(const char *path, FILE **out);

/* What an error of rs_input_open() means: strerror(), or "not a regular
 * file" for RS_INPUT_NOT_REGULAR. */
const char *rs_input_strerror(int err);

#endif /* RS_INPUT_FILE_H */
