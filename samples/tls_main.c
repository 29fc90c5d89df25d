/*
 * tls_main - a block held only by a __thread variable of the main thread.
 *
 * make_tls_block() stores a 7000-byte block in tls_held, a static-TLS
 * variable of the executable, on the main thread.  The block is
 * "reachable" (root: static TLS).  A 104-byte control block is "leaked".
 *
 * LeakSanitizer agrees (use_tls=1): 104 bytes direct.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     104/1
 *   @total   reachable  7000/1
 *   @finding leaked     104/1  sample_leak_control
 *   @lsan    direct     104/1
 */
#include "sample_util.h"

#include <stdlib.h>
#include <string.h>

static __thread void *tls_held;

SAMPLE_NOINLINE static void make_tls_block(void)
{
    char *p = malloc(7000);
    sample_check(p != NULL, "malloc(7000)");
    memset(p, 7, 7000);
    tls_held = p;
}

int main(void)
{
    make_tls_block();
    sample_leak_control(104);
    sample_scrub_stack();
    sample_say("tls_main: 7000 bytes held by the main thread's TLS\n");
    return 0;
}
