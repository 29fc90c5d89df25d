/*
 * weak_fields.c - which objects a profile's conditional `weak offset=N
 * is-a=TYPE` applies to (profile.h): instances of the GType named TYPE,
 * as GLib's g_type_check_instance_is_a() says.
 *
 * Asked once per type name and weak entry, when an object's type is
 * resolved (refhooks.c, in a hook: the world runs and no refscope lock is
 * held, so GLib may take its own), and kept; the analysis, with the world
 * stopped, only reads the answers (calling into GLib there could wait for
 * a lock a stopped thread holds).  g_type_from_name() gives TYPE's GType
 * without registering anything; while TYPE is not registered (its
 * library not loaded or not used yet) the answer is "no" and is not
 * kept, since no instance of it exists yet.
 *
 * Storage: for each weak entry of the first RS_WEAK_PROFILES profiles, a
 * table of one byte per type id (0 not asked, 1 no, 2 yes).  Answers are
 * written under a mutex; a table that must grow is copied into a larger
 * one, published with a release store, and the old one is kept (never
 * freed: the tables of one entry add up to less than twice the last), so
 * that readers - a constructor's hook whose type was asked already, the
 * analysis - take no lock: a constructor pays one load and a compare.
 */
#include "preload.h"
#include "profile.h"
#include "refcount.h"
#include "rs_mem.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#define RS_WEAK_PROFILES 16

typedef uint64_t (*type_from_name_fn)(const char *);
typedef int (*instance_is_a_fn)(void *, uint64_t);

typedef struct answers {
    uint32_t cap;
    uint8_t  by_type[];          /* by type id: 0 not asked, 1 no, 2 yes  */
} answers_t;

static pthread_mutex_t answers_lock = PTHREAD_MUTEX_INITIALIZER;
static answers_t *answers[RS_WEAK_PROFILES][RS_PROFILE_MAX_WEAK];
static type_from_name_fn type_from_name;
static instance_is_a_fn instance_is_a;

enum { ANSWER_NONE, ANSWER_NO, ANSWER_YES };

/* GLib's two functions, looked up at the first question; 0 when the
 * program has no libgobject. */
static int glib_ready(void)
{
    if (!type_from_name || !instance_is_a) {
        type_from_name = (type_from_name_fn)dlsym(RTLD_DEFAULT, "g_type_from_name");
        instance_is_a = (instance_is_a_fn)dlsym(RTLD_DEFAULT, "g_type_check_instance_is_a");
    }
    return type_from_name && instance_is_a;
}

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
        if (!prof->weak_is_a[k] || answer_of(&answers[p][k], type_id) != ANSWER_NONE)
            continue;                 /* unconditional, or asked */
        pthread_mutex_lock(&answers_lock);
        if (answer_of(&answers[p][k], type_id) == ANSWER_NONE && glib_ready()) {
            uint64_t t = type_from_name(prof->weak_is_a[k]);
            if (t)
                keep_answer(&answers[p][k], type_id,
                            instance_is_a((void *)(uintptr_t)obj, t) ? ANSWER_YES : ANSWER_NO);
        }
        pthread_mutex_unlock(&answers_lock);
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

int rs_weak_field_applies(const rs_profile_set_t *set, uint32_t profile, uint32_t k,
                          uint32_t type_id)
{
    if (!set->profiles[profile].weak_is_a[k])
        return 1;
    return profile < RS_WEAK_PROFILES && answer_of(&answers[profile][k], type_id) == ANSWER_YES;
}
