/*
 * weak_fields.c - what a profile's `weak` lines (profile.h) need to know
 * about the running program, asked of it while it runs:
 *   - is-a=TYPE: which objects the line applies to, instances of the
 *     GType named TYPE, as GLib's g_type_check_instance_is_a() says;
 *   - version-call=FUNC versions=MIN-MAX: whether the library's version,
 *     as FUNC (gst_version) reports it, lies in the range;
 *   - private: where TYPE's instance private data lies before the
 *     instance, g_type_class_get_instance_private_offset() of TYPE's
 *     class (the same for every instance of TYPE and its subtypes).
 *
 * Asked when an object's type is resolved (refhooks.c, in a hook: the
 * world runs and no refscope lock is held, so GLib may take its own), and
 * kept; the analysis, with the world stopped, only reads the answers
 * (calling into GLib there could wait for a lock a stopped thread holds):
 * rs_weak_field_where().  The is-a question is asked once per type name
 * and line; the version and the private offset once per line, for the
 * first object the line applies to (for an is-a line, the first instance
 * of TYPE: its library is loaded then and TYPE's class initialised).  So
 * a program without that library never looks FUNC up.  While TYPE is not
 * registered the answer is "no", and it is kept: a type registered
 * already never becomes a subtype of one registered later.
 *
 * Storage, for each line of the first RS_WEAK_PROFILES profiles: a table
 * of one byte per type id (0 not asked, 1 no, 2 yes), the version's
 * answer (same values) and the private offset with a flag saying it is
 * known.  Answers are written under a mutex; a table that must grow is
 * copied into a larger one, published with a release store, and the old
 * one is kept (never freed: the tables of one line add up to less than
 * twice the last); the private offset is stored before its flag, which
 * is stored with release.  So readers - a constructor's hook whose type
 * was asked already, the analysis - take no lock: a constructor pays a
 * few loads and compares.
 */
#include "elf_symbols.h"
#include "preload.h"
#include "profile.h"
#include "refcount.h"
#include "rs_mem.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#define RS_WEAK_PROFILES 16

enum { ANSWER_NONE, ANSWER_NO, ANSWER_YES };

typedef struct answers {
    uint32_t cap;
    uint8_t  by_type[];          /* by type id: ANSWER_*                   */
} answers_t;

/* What is known about one weak line. */
typedef struct line_facts {
    answers_t *is_a;             /* is-a answers by type id                */
    uint8_t    version;          /* ANSWER_*: version in range             */
    uint8_t    private_known;    /* 1 once private_offset is set           */
    int32_t    private_offset;   /* of is-a's private data, from the instance */
} line_facts_t;

static pthread_mutex_t answers_lock = PTHREAD_MUTEX_INITIALIZER;
static line_facts_t facts[RS_WEAK_PROFILES][RS_PROFILE_MAX_WEAK];

/* ---- GLib, looked up at the first question --------------------------------- */

typedef uint64_t (*type_from_name_fn)(const char *);
typedef int (*instance_is_a_fn)(void *, uint64_t);
typedef void *(*class_peek_fn)(uint64_t);
typedef int (*private_offset_fn)(void *);
typedef void (*version_fn)(unsigned *, unsigned *, unsigned *, unsigned *);

static struct {
    type_from_name_fn type_from_name;
    instance_is_a_fn  instance_is_a;
    class_peek_fn     class_peek;
    private_offset_fn private_offset;
} glib;

/* With answers_lock held: 0 when the program has no libgobject. */
static int glib_ready(void)
{
    if (!glib.type_from_name || !glib.instance_is_a) {
        glib.type_from_name = (type_from_name_fn)rs_elf_symbol("g_type_from_name");
        glib.instance_is_a = (instance_is_a_fn)rs_elf_symbol("g_type_check_instance_is_a");
        glib.class_peek = (class_peek_fn)rs_elf_symbol("g_type_class_peek");
        glib.private_offset = (private_offset_fn)rs_elf_symbol(
            "g_type_class_get_instance_private_offset");
    }
    return glib.type_from_name && glib.instance_is_a;
}

/* ---- is-a answers by type id --------------------------------------------- */

/* With answers_lock held: keeps answer a for type id in *slot's table,
 * growing it (see above); out of memory: not kept (asked again). */
static void keep_answer(answers_t **slot, uint32_t type_id, uint8_t a)
{
    answers_t *ans = *slot;
    if (!ans || type_id >= ans->cap) {
        uint32_t cap = ans ? ans->cap * 2 : 64;
        while (cap <= type_id)
            cap *= 2;
        answers_t *grown = rs_mem_calloc(1, sizeof *grown + cap);
        if (!grown)
            return;
        grown->cap = cap;
        if (ans)
            memcpy(grown->by_type, ans->by_type, ans->cap);
        __atomic_store_n(slot, grown, __ATOMIC_RELEASE);
        ans = grown;
    }
    __atomic_store_n(&ans->by_type[type_id], a, __ATOMIC_RELAXED);
}

static uint8_t answer_of(answers_t *const *slot, uint32_t type_id)
{
    const answers_t *ans = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    return ans && type_id < ans->cap
               ? __atomic_load_n(&ans->by_type[type_id], __ATOMIC_RELAXED) : ANSWER_NONE;
}

/* Whether obj, of type type_id, is a spec->is_a: asked of GLib once. */
static uint8_t ask_is_a(line_facts_t *f, const rs_weak_spec_t *spec, uint64_t obj,
                        uint32_t type_id)
{
    uint8_t a = answer_of(&f->is_a, type_id);
    if (a != ANSWER_NONE)
        return a;
    pthread_mutex_lock(&answers_lock);
    a = answer_of(&f->is_a, type_id);
    if (a == ANSWER_NONE && glib_ready()) {
        uint64_t t = glib.type_from_name(spec->is_a);
        a = t && glib.instance_is_a((void *)(uintptr_t)obj, t) ? ANSWER_YES : ANSWER_NO;
        keep_answer(&f->is_a, type_id, a);
    }
    pthread_mutex_unlock(&answers_lock);
    return a;
}

/* ---- the library's version, the private offset ------------------------------ */

/* Whether fn (spec->version_call, NULL: not found) reports a version in
 * spec->versions. */
static uint8_t version_answer(const rs_weak_spec_t *spec, version_fn fn)
{
    unsigned major = 0, minor = 0, micro = 0, nano = 0;
    if (!fn)
        return ANSWER_NO;
    fn(&major, &minor, &micro, &nano);
    return rs_version_range_has(&spec->versions, major, minor, micro) ? ANSWER_YES
                                                                     : ANSWER_NO;
}

/* The function is looked up before the lock is taken: the lookup takes
 * the loader's lock, which a thread running a library's constructor holds
 * while its hooks may wait for answers_lock. */
static void ask_version(line_facts_t *f, const rs_weak_spec_t *spec)
{
    if (!spec->version_call || __atomic_load_n(&f->version, __ATOMIC_ACQUIRE))
        return;
    version_fn fn = (version_fn)rs_elf_symbol(spec->version_call);
    pthread_mutex_lock(&answers_lock);
    if (!f->version)
        __atomic_store_n(&f->version, version_answer(spec, fn), __ATOMIC_RELEASE);
    pthread_mutex_unlock(&answers_lock);
}

/* Where spec->is_a's private data lies, once an instance of it exists
 * (its class is initialised then).  A type without private data (offset
 * 0) leaves it unknown: the line never applies. */
static void ask_private_offset(line_facts_t *f, const rs_weak_spec_t *spec)
{
    if (!spec->in_private || __atomic_load_n(&f->private_known, __ATOMIC_ACQUIRE))
        return;
    pthread_mutex_lock(&answers_lock);
    if (!f->private_known && glib_ready() && glib.class_peek && glib.private_offset) {
        void *klass = glib.class_peek(glib.type_from_name(spec->is_a));
        int off = klass ? glib.private_offset(klass) : 0;
        if (off < 0) {
            f->private_offset = off;
            __atomic_store_n(&f->private_known, 1, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&answers_lock);
}

/* ---- the interface (refcount.h) ------------------------------------------ */

void rs_weak_fields_note(const rs_profile_set_t *set, uint32_t hook, uint64_t obj,
                         uint32_t type_id)
{
    if (!set || hook >= set->n_hooks || !type_id || !obj)
        return;
    uint32_t p = set->hooks[hook].profile;
    const rs_profile_t *prof = &set->profiles[p];
    if (p >= RS_WEAK_PROFILES)
        return;
    for (uint32_t k = 0; k < prof->n_weak; k++) {
        const rs_weak_spec_t *spec = &prof->weak[k];
        line_facts_t *f = &facts[p][k];
        if (spec->is_a && ask_is_a(f, spec, obj, type_id) != ANSWER_YES)
            continue;
        ask_version(f, spec);
        ask_private_offset(f, spec);
    }
}

void rs_weak_fields_lock(void)
{
    pthread_mutex_lock(&answers_lock);
}

void rs_weak_fields_unlock(void)
{
    pthread_mutex_unlock(&answers_lock);
}

int rs_weak_field_where(const rs_profile_set_t *set, uint32_t profile, uint32_t k,
                        uint32_t type_id, int64_t *offset)
{
    const rs_weak_spec_t *spec = &set->profiles[profile].weak[k];
    if (!spec->is_a && !spec->version_call) {
        *offset = spec->offset;
        return 1;
    }
    if (profile >= RS_WEAK_PROFILES)
        return 0;
    line_facts_t *f = &facts[profile][k];
    if (spec->is_a && answer_of(&f->is_a, type_id) != ANSWER_YES)
        return 0;
    if (spec->version_call && __atomic_load_n(&f->version, __ATOMIC_ACQUIRE) != ANSWER_YES)
        return 0;
    *offset = spec->offset;
    if (spec->in_private) {
        if (!__atomic_load_n(&f->private_known, __ATOMIC_ACQUIRE))
            return 0;
        *offset += f->private_offset;
    }
    return 1;
}
