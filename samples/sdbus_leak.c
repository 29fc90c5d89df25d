/*
 * sdbus_leak - real sd-bus objects (libsystemd): a method call message
 * with a leaked reference, and a bus and messages that are released
 * properly.  sd-bus constructors return an int and store the object
 * through a pointer argument (sd_bus_message_new_method_call(bus, &m,
 * ...)), which the built-in profile says with `ctor ... out=1`.  No
 * system bus is needed: the bus is given one end of a socketpair and
 * started (it then waits for the authentication reply, which never
 * comes; building messages needs nothing more).  Run with
 * REFSCOPE_HOOKS=sdbus; tests/integration/test_refcount.py does.
 *
 *  - make_leak() creates a method call with sd_bus_message_new_method_call
 *    (one 800-byte sd_bus_message block, and a 128-byte block it points
 *    to), hold_message() takes an extra reference with sd_bus_message_ref
 *    and never drops it, make_leak() unrefs its own.  Each message holds
 *    a reference to the bus (sd-bus takes it through its PLT, so the
 *    hook sees it).
 *  - keep_message() keeps a method call in the global `kept` (reachable).
 *  - make_balanced() creates a signal (sd_bus_message_new_signal, out=1),
 *    refs and unrefs it and unrefs it again: freed.
 *  - the bus is created with sd_bus_new (out=0), referenced once more by
 *    use_bus() and released twice by main; the kept message still holds
 *    it (reachable).
 *  - flush_close_bus() creates a second bus, refs and unrefs it, and
 *    releases it with sd_bus_flush_close_unref, as busctl does: that call
 *    ends in sd_bus_unref, one decref (the profile once listed both: a
 *    "count below zero" in every systemd tool): freed.
 *
 * refscope must report:
 *  - summary.leaked_refs: 1 object, 1 ref, 800 bytes, 1 block; one
 *    "leaked_ref" finding, type "sd_bus_message", refcount 1, pointers 0,
 *    refs 1, unbalanced: one incref (count 1) whose stack names
 *    hold_message; allocation stack through make_leak.
 *  - summary.indirect: 128 bytes in 1 block (charged to the message).
 *  - no cycle, no rc_error, no leaked block; the kept message is
 *    reachable (a --show-reachable run lists it as an "sd_bus_message" of
 *    800 bytes allocated through keep_message; the bus, 1800 bytes, is
 *    reachable through it).
 */
#include "sample_util.h"

#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#define SERVICE "org.example.Service"
#define PATH    "/org/example/Object"
#define IFACE   "org.example.Iface"

static sd_bus_message *kept;

SAMPLE_NOINLINE static void hold_message(sd_bus_message *m)
{
    sd_bus_message_ref(m);
}

SAMPLE_NOINLINE static void make_leak(sd_bus *bus)
{
    sd_bus_message *m = NULL;
    int r = sd_bus_message_new_method_call(bus, &m, SERVICE, PATH, IFACE, "Ping");
    sample_check(r >= 0 && m != NULL, "sd_bus_message_new_method_call");
    hold_message(m);
    sd_bus_message_unref(m);
}

SAMPLE_NOINLINE static void keep_message(sd_bus *bus)
{
    sd_bus_message_new_method_call(bus, &kept, SERVICE, PATH, IFACE, "Keep");
}

SAMPLE_NOINLINE static void make_balanced(sd_bus *bus)
{
    sd_bus_message *m = NULL;
    int r = sd_bus_message_new_signal(bus, &m, PATH, IFACE, "Changed");
    sample_check(r >= 0, "sd_bus_message_new_signal");
    sd_bus_message_ref(m);
    sd_bus_message_unref(m);
    sd_bus_message_unref(m);
}

SAMPLE_NOINLINE static sd_bus *use_bus(sd_bus *bus)
{
    return sd_bus_ref(bus);
}

/* A second bus, never started, released the way systemd's tools release
 * theirs: sd_bus_flush_close_unref, which ends in sd_bus_unref. */
SAMPLE_NOINLINE static void flush_close_bus(void)
{
    sd_bus *bus = NULL;
    sample_check(sd_bus_new(&bus) >= 0, "sd_bus_new");
    sd_bus_ref(bus);
    sd_bus_unref(bus);
    sample_check(sd_bus_flush_close_unref(bus) == NULL, "sd_bus_flush_close_unref");
}

int main(void)
{
    int sv[2];
    sample_check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0,
                 "socketpair");
    sd_bus *bus = NULL;
    sample_check(sd_bus_new(&bus) >= 0, "sd_bus_new");
    sample_check(sd_bus_set_fd(bus, sv[0], sv[0]) >= 0, "sd_bus_set_fd");
    sample_check(sd_bus_start(bus) >= 0, "sd_bus_start");
    make_leak(bus);
    keep_message(bus);
    make_balanced(bus);
    sd_bus_unref(use_bus(bus));
    sd_bus_unref(bus);
    flush_close_bus();
    close(sv[1]);
    sample_scrub_stack();
    sample_say("sdbus_leak: a message with a leaked reference, objects released\n");
    return 0;
}
