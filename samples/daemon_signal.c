/*
 * daemon_signal - a daemon-like loop whose session list grows, snapshotted
 * from outside with a signal (REFSCOPE_SNAPSHOT_SIGNAL, SIGUSR2 by
 * default, or `refscope run --snapshot-on-signal`).
 *
 * Each of three rounds adds 50 sessions (64 bytes each, make_session) to
 * the global list `sessions`; nothing is ever removed, nothing leaks.
 * With the argument --wait the program prints "round N" after each round
 * and waits for a line on stdin before going on, so a test can send
 * SIGUSR2 and wait for the snapshot in between; without it the rounds run
 * back to back and the program exits 0.  Between two signal snapshots
 * `refscope diff` shows make_session with +50 blocks / +3200 bytes per
 * round.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   reachable  >=9600/150
 */
#include "sample_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS     3
#define PER_ROUND  50

struct session {
    struct session *next;
    long            id;
    char            peer[48];
};

_Static_assert(sizeof(struct session) == 64, "the header's numbers assume 64");

static struct session *sessions;

SAMPLE_NOINLINE static struct session *make_session(long id)
{
    struct session *s = malloc(sizeof *s);
    sample_check(s != NULL, "malloc session");
    memset(s, 0, sizeof *s);
    s->id = id;
    snprintf(s->peer, sizeof s->peer, "10.0.0.%ld:%ld", id % 250, 1000 + id);
    return s;
}

SAMPLE_NOINLINE static void serve_round(int round)
{
    for (int i = 0; i < PER_ROUND; i++) {
        struct session *s = make_session((long)round * PER_ROUND + i);
        s->next = sessions;
        sessions = s;
    }
}

int main(int argc, char **argv)
{
    int wait = argc > 1 && strcmp(argv[1], "--wait") == 0;
    for (int r = 1; r <= ROUNDS; r++) {
        serve_round(r);
        sample_scrub_stack();
        if (wait) {
            sample_say("round %d\n", r);
            char line[16];
            if (!fgets(line, sizeof line, stdin))
                break;
        }
    }
    sample_say("served %d rounds\n", ROUNDS);
    return 0;
}
