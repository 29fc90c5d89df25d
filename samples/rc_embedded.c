/*
 * rc_embedded - a reference count embedded in the middle of a struct,
 * kernel kref style: the ref/unref helpers see only a pointer to the
 * embedded `struct kref`, and the release function finds the Device with
 * container_of.
 *
 * A 40-byte struct device has its struct kref at byte offset 24.  The
 * annotations pass the kref's address (an interior pointer: block + 24)
 * to refscope_object/incref/decref, with rc_offset 0 relative to it.
 * register_device() creates a Device (device_new), probe_ok() gets and
 * puts a reference, probe_wrong() gets one and never puts it, and
 * register_device() puts its own: refcount 1, no pointer to it.
 * register_loopback() creates a second Device and puts it: freed through
 * container_of, nothing to report.
 *
 * refscope must report one "leaked_ref" finding: type "Device", 40 bytes
 * in 1 block (the whole struct, not the kref), allocated in device_new,
 * refcount 1 (read at block offset 24), pointers 0, one unbalanced incref
 * (count 1) taken in probe_wrong.  summary.leaked_refs: 1 object, 1 ref,
 * 40 bytes.  No cycle, leaked, indirect or rc_error.
 *
 * LeakSanitizer: 40 bytes direct.
 *
 * Expected (machine-read by tests/integration/rstest.py):
 *   @total   leaked_refs 40/1
 *   @total   reachable   0/0
 *   @finding leaked_ref  40/1  device_new
 *   @lsan    direct      40/1
 */
#include "sample_util.h"

#include <refscope.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))

struct kref {
    int refcount;
};

struct device {
    char        name[24];
    struct kref kref;        /* offset 24 */
    int         id;
    void       *priv;
};

_Static_assert(sizeof(struct device) == 40, "the header's numbers assume 40");
_Static_assert(offsetof(struct device, kref) == 24, "the header says 24");

SAMPLE_NOINLINE static void kref_get(struct kref *k)
{
    k->refcount++;
    refscope_incref(k);
}

SAMPLE_NOINLINE static void kref_put(struct kref *k,
                                     void (*release)(struct kref *k))
{
    refscope_decref(k);
    if (--k->refcount == 0)
        release(k);
}

static void device_release(struct kref *k)
{
    free(container_of(k, struct device, kref));
}

SAMPLE_NOINLINE static struct device *device_new(const char *name, int id)
{
    struct device *d = calloc(1, sizeof *d);
    sample_check(d != NULL, "calloc(device)");
    strncpy(d->name, name, sizeof d->name - 1);
    d->id = id;
    d->kref.refcount = 1;
    refscope_object(&d->kref, "Device", offsetof(struct kref, refcount),
                    sizeof d->kref.refcount);
    return d;
}

SAMPLE_NOINLINE static void probe_ok(struct device *d)
{
    kref_get(&d->kref);
    d->priv = NULL;
    kref_put(&d->kref, device_release);
}

SAMPLE_NOINLINE static void probe_wrong(struct device *d)
{
    kref_get(&d->kref);
    d->priv = NULL;
    /* forgot kref_put(&d->kref, device_release) */
}

SAMPLE_NOINLINE static void register_device(void)
{
    struct device *d = device_new("eth0", 1);
    probe_ok(d);
    probe_wrong(d);
    kref_put(&d->kref, device_release);
}

SAMPLE_NOINLINE static void register_loopback(void)
{
    struct device *d = device_new("lo", 2);
    probe_ok(d);
    kref_put(&d->kref, device_release);
}

int main(void)
{
    register_device();
    register_loopback();
    sample_scrub_stack();
    sample_say("rc_embedded: one Device reference never put\n");
    return 0;
}
