/*
 * leak_direct - plain blocks whose only pointer is dropped.
 *
 * make_leak() is called three times and each 48-byte block is forgotten;
 * make_string_leak() strdup()s a 9-byte string ("refscope" + NUL) and
 * forgets it, so its stack goes through libc's strdup before reaching the
 * program.  Nothing points to any of them: all four are "leaked", none is
 * indirect.  The three make_leak blocks share one allocation stack and are
 * reported as one finding.
 *
 * LeakSanitizer agrees: 4 direct leaks, 153 bytes.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked     153/4
 *   @total   reachable  0/0
 *   @finding leaked     144/3  make_leak
 *   @finding leaked     9/1    make_string_leak
 *   @lsan    direct     153/4
 */
#include "sample_util.h"

#include <stdlib.h>
#include <string.h>

SAMPLE_NOINLINE static void make_leak(void)
{
    char *p = malloc(48);
    sample_check(p != NULL, "malloc(48)");
    memset(p, 0x5a, 48);
    sample_drop(p);
}

SAMPLE_NOINLINE static void make_string_leak(void)
{
    char *s = strdup("refscope");
    sample_check(s != NULL, "strdup");
    sample_drop(s);
}

SAMPLE_NOINLINE static void run(void)
{
    for (int i = 0; i < 3; i++)
        make_leak();
    make_string_leak();
}

int main(void)
{
    run();
    sample_scrub_stack();
    sample_say("leak_direct: leaked 3 x 48 bytes and 9 bytes\n");
    return 0;
}
