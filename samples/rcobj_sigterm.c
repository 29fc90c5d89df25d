/*
 * rcobj_sigterm - SIGTERM arriving while refscope's own code runs.
 *
 * Under rcobj_sigterm.profile (librcobj's hooks, with the type named by a
 * call to this program's exported rcobj_sigterm_type) the first rcobj_new
 * makes refscope call rcobj_sigterm_type from inside its hook, and that
 * function sends SIGTERM to the process: the signal arrives with
 * refscope's guard set, where its locks may be held.  refscope puts the
 * signal off until its hook is done, then analyses and lets SIGTERM end
 * the process (143 in the shell).  Without that profile (natively, or
 * without REFSCOPE_HOOKS) nobody calls the type function, and main sends
 * SIGTERM itself at the end: the process always dies by SIGTERM.
 *
 * Before that, make_leak drops a 321-byte block.  Under the profile the
 * snapshot holds it ("leaked", make_leak in its stack) and the Stream
 * object, referenced from a global.
 *
 * With the argument --hang the type function never returns after sending
 * SIGTERM: the signal stays put off, and refscope's watchdog ends the
 * process with SIGKILL 10 seconds after the signal came, where natively
 * SIGTERM would have ended it at once.  tests/integration/test_put_off.py
 * runs both.
 */
#include "rcobj.h"
#include "sample_util.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static rcobj_t *kept;
static int hang;

/* The type function named in rcobj_sigterm.profile: called by refscope,
 * inside its hook, when it first records an object. */
__attribute__((visibility("default"))) const char *rcobj_sigterm_type(void *obj);
const char *rcobj_sigterm_type(void *obj)
{
    (void)obj;
    kill(getpid(), SIGTERM);
    while (hang)
        pause();
    return "Stream";
}

SAMPLE_NOINLINE static void make_leak(void)
{
    void *p = malloc(321);
    sample_check(p != NULL, "malloc(321)");
    memset(p, 1, 321);
    sample_drop(p);
}

int main(int argc, char **argv)
{
    hang = argc > 1 && strcmp(argv[1], "--hang") == 0;
    make_leak();
    sample_say("rcobj_sigterm: leaked, creating an object\n");
    kept = rcobj_new("Stream");
    sample_say("rcobj_sigterm: no type function called; SIGTERM from main\n");
    kill(getpid(), SIGTERM);
    sample_block_forever();
}
