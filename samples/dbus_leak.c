/*
 * dbus_leak - real libdbus-1 messages: a method call with a leaked
 * reference, and messages that are released properly.  No bus is needed
 * (messages are built, never sent).  Run with REFSCOPE_HOOKS=dbus (the
 * built-in profile: counts kept from the calls seen, DBusMessage's
 * refcount being private); tests/integration/test_refcount.py does.
 *
 *  - make_leak() creates a method call with dbus_message_new_method_call
 *    (one 184-byte DBusMessage block, plus its 40-byte header string and
 *    160-byte header data), queue_message() takes an extra reference
 *    with dbus_message_ref and never drops it, make_leak() unrefs its own.
 *  - keep_message() keeps a method call in the global `kept` (reachable).
 *  - make_balanced() three times creates a signal, copies it
 *    (dbus_message_copy), refs and unrefs it, and unrefs both.  libdbus
 *    puts released messages in its cache (reachable from a static) and
 *    hands them out again from its constructors: from the second round
 *    on the ctors return recycled messages, a new life each time, never
 *    an error.
 *
 * refscope must report:
 *  - summary.leaked_refs: 1 object, 1 ref, 184 bytes, 1 block; one
 *    "leaked_ref" finding, type "DBusMessage", refcount 1, pointers 0,
 *    refs 1, unbalanced: one incref (count 1) whose stack names
 *    queue_message; allocation stack through make_leak.
 *  - summary.indirect: 200 bytes in 2 blocks (the message's strings).
 *  - no cycle, no rc_error, no leaked block; the kept message is
 *    reachable (a --show-reachable run lists it as a "DBusMessage" of 184
 *    bytes allocated through keep_message), the cached ones too.
 */
#include "sample_util.h"

#include <dbus/dbus.h>

#define SERVICE "org.example.Service"
#define PATH    "/org/example/Object"
#define IFACE   "org.example.Iface"

static DBusMessage *kept;

SAMPLE_NOINLINE static void queue_message(DBusMessage *m)
{
    dbus_message_ref(m);
}

SAMPLE_NOINLINE static void make_leak(void)
{
    DBusMessage *m = dbus_message_new_method_call(SERVICE, PATH, IFACE, "Ping");
    sample_check(m != NULL, "dbus_message_new_method_call");
    queue_message(m);
    dbus_message_unref(m);
}

SAMPLE_NOINLINE static void keep_message(void)
{
    kept = dbus_message_new_method_call(SERVICE, PATH, IFACE, "Keep");
}

SAMPLE_NOINLINE static void make_balanced(void)
{
    for (int i = 0; i < 3; i++) {
        DBusMessage *m = dbus_message_new_signal(PATH, IFACE, "Changed");
        DBusMessage *copy = dbus_message_copy(m);
        dbus_message_ref(m);
        dbus_message_unref(m);
        dbus_message_unref(copy);
        dbus_message_unref(m);
    }
}

int main(void)
{
    make_leak();
    keep_message();
    make_balanced();
    sample_scrub_stack();
    sample_say("dbus_leak: a message with a leaked reference, messages released\n");
    return 0;
}
