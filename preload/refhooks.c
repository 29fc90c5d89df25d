/*
 * refhooks.c - intercepts the ref/unref/constructor functions that the
 * profiles in REFSCOPE_HOOKS name (profile.h), and turns each call into a
 * reference event for refcount.c.
 *
 * At start-up the list is parsed (built-in names and profile files; an
 * error is said once on stderr as "refscope: file:line: message" and no
 * function is hooked - the program runs as usual) and every named function
 * gets a GOT trampoline (got_hook.h) and, unless REFSCOPE_ENTRY_HOOKS=0,
 * an entry hook where its entry can be patched (entry_hook.h), so that a
 * library's calls to its own functions are seen too.  Per call:
 *   incref/decref arg=N   pre: the stack, the counter before the call,
 *                         the event; no post hook.  A decref is recorded
 *                         before the call that may free the object.
 *   sink arg=N            pre reads the counter, post compares: an
 *                         unchanged counter only sank a floating reference
 *                         (nothing recorded); with an event-kept counter it
 *                         is an incref.
 *   ctor, or `returns`    pre captures the stack into the cookie, post
 *                         records with the object (return value or arg).
 *   ctor out=N            pre keeps args[N] (a T **) in the cookie; post
 *                         reads the object through it when the call
 *                         returned an int >= 0 (see profile.h).
 *   newref                GOT hook only (no entry hook): pre defers the
 *                         caller's stack (got_hook.h: walked only when
 *                         post or a libunwind walk inside the call needs
 *                         it; with REFSCOPE_UNWIND=libunwind it is walked
 *                         in pre), post reads the returned object's
 *                         counter and may stamp its block with that stack
 *                         (newref.c); no event.
 * A ctor's event takes its sequence number when the call is entered, so
 * that references taken inside the constructor, or a nested hooked
 * constructor, come after it (rs_refhist_adopt_ctor).
 * Every call with a post hook is also tagged with its pre stack
 * (rs_got_hook_set_caller_stack): stacks captured inside the call (its
 * allocations) end at the return stub and continue with that stack.
 * Arguments, return values and errno pass through untouched; the event
 * code runs with the guard set, so allocations it causes are not recorded.
 *
 * Type names are resolved when an object is first recorded, never at
 * analysis time (other threads are stopped then and a type function could
 * wait on a lock they hold): `const` is interned once at start-up,
 * `field` reads the char * in the object, `call` calls the function named
 * in the profile (resolved with dlsym at start-up; when it is missing the
 * profile's name is used) with no refscope lock held.
 *
 * Libraries loaded later.  dlopen cannot be wrapped by a C function: glibc
 * derives the caller's RUNPATH/$ORIGIN from the return address.  dl_hooks.c
 * exports an assembly dlopen that only bumps rs_dl_open_count and jumps to
 * the real one with the caller's return address intact.  The count is
 * polled (one load and compare) at every hook event, annotation and
 * recorded allocation; when it moved, the GOT of every module is patched
 * again (idempotent) and the entries of newly loaded functions hooked.  Not from an allocation made by ld.so itself (the
 * dlopen in progress on this thread: its modules are not relocated yet);
 * the new library's constructors run after relocation, so their first
 * allocation or hooked call is where the refresh happens at the latest.
 * A refresh that meets a module ld.so is still relocating (another
 * thread's dlopen, or an IFUNC resolver of the new library that
 * allocates) leaves that module alone (got_hook.c) and marks the opens
 * unseen, so the next poll refreshes again.
 *
 * GLib before 2.76 takes objects from its slice allocator unless
 * G_SLICE=always-malloc.  GLib reads G_SLICE in its own constructor, which
 * runs before refscope's, so setting the variable at start-up is too late.
 * Instead librefscope.so exports getenv (glibc's semantics, a plain scan of
 * environ, so it works before start-up): when REFSCOPE_HOOKS names the
 * gobject or the gst profile (GStreamer 1.22 takes GstBuffer, GstEvent...
 * from g_slice too) and G_SLICE is unset, getenv("G_SLICE") answers
 * "always-malloc".  The environment itself is not changed.
 *
 * CPython takes small objects from its own arenas (pymalloc), where
 * refscope cannot see them, unless PYTHONMALLOC=malloc.  It reads the
 * variable with getenv before its first allocation, so in the same way,
 * when REFSCOPE_HOOKS names the python profile and PYTHONMALLOC is unset,
 * getenv("PYTHONMALLOC") answers "malloc".  os.environ is built from
 * environ, so the program and its children see the environment they
 * were given; a child Python under the same REFSCOPE_HOOKS gets the same
 * answer.  (python -E and -I ignore the environment: there refscope sees
 * only what pymalloc does not serve, blocks above 512 bytes.)
 */
#include "elf_symbols.h"
#include "refcount.h"

#include "entry_hook.h"
#include "got_hook.h"
#include "guard.h"
#include "preload.h"
#include "profile.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

typedef const char *(*type_fn_t)(void *);

static rs_profile_set_t *set;
static const char *names[RS_PROFILE_MAX_HOOKS];
static const char *entry_names[RS_PROFILE_MAX_HOOKS];  /* NULL: GOT only */
static uint32_t n_entry_names;                         /* not NULL      */
static uint32_t fallback_type[RS_PROFILE_MAX_HOOKS];  /* const or profile name */
static type_fn_t type_fn[RS_PROFILE_MAX_HOOKS];
static uint64_t loader_lo, loader_hi;

int rs_refhooks_installed;
unsigned long rs_refhooks_seen_opens;

/* ---- getenv -------------------------------------------------------------- */

/* glibc's getenv: the value of the first "name=value" in environ. */
static char *scan_environ(const char *name)
{
    if (!name || !environ || !*name)
        return NULL;
    size_t len = strlen(name);
    for (char **e = environ; *e; e++)
        if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
            return *e + len + 1;
    return NULL;
}

/* REFSCOPE_HOOKS lists profile a or b (b may be NULL) and refscope is
 * enabled. */
static int profile_requested(const char *a, const char *b)
{
    const char *en = scan_environ("REFSCOPE_ENABLE");
    if (en && (strcmp(en, "0") == 0 || strcmp(en, "no") == 0 ||
               strcmp(en, "false") == 0 || strcmp(en, "off") == 0))
        return 0;
    const char *v = scan_environ("REFSCOPE_HOOKS");
    while (v && *v) {
        const char *end = strchr(v, ',');
        size_t n = end ? (size_t)(end - v) : strlen(v);
        if ((n == strlen(a) && strncmp(v, a, n) == 0) ||
            (b && n == strlen(b) && strncmp(v, b, n) == 0))
            return 1;
        v = end ? end + 1 : NULL;
    }
    return 0;
}

RS_EXPORT char *getenv(const char *name)
{
    char *v = scan_environ(name);
    if (RS_LIKELY(v || !name))
        return v;
    if (RS_UNLIKELY(name[0] == 'G' && strcmp(name, "G_SLICE") == 0 &&
                    profile_requested("gobject", "gst")))
        return (char *)"always-malloc";
    if (RS_UNLIKELY(name[0] == 'P' && strcmp(name, "PYTHONMALLOC") == 0 &&
                    profile_requested("python", NULL)))
        return (char *)"malloc";
    return NULL;
}

/* ---- type names ---------------------------------------------------------- */

static uint32_t intern(const char *name)
{
    return name && *name ? rs_typetable_intern(rs_types, name) : 0;
}

/* The type of obj for hook id; no refscope lock is held. */
static uint32_t resolve_type(uint32_t id, uint64_t obj)
{
    rs_profile_check(set, id, obj);
    const rs_typename_spec_t *t = &set->hooks[id].type;
    uint32_t type = 0;
    if (t->kind == RS_TYPENAME_FIELD) {
        type = intern(*(const char *const *)(uintptr_t)(obj + t->offset));
    } else if (t->kind == RS_TYPENAME_CALL && type_fn[id]) {
        void *arg = t->call_on_word ? *(void *const *)(uintptr_t)(obj + t->offset)
                                    : (void *)(uintptr_t)obj;
        const char *name = type_fn[id](arg);
        if (rs_profile_check_name(set, id, obj, name))
            type = intern(name);
    }
    type = type ? type : fallback_type[id];
    rs_weak_fields_note(set, id, obj, type);
    return type;
}

/* ---- events -------------------------------------------------------------- */

static rs_obj_info_t info_of(uint32_t id)
{
    const rs_hook_spec_t *h = &set->hooks[id];
    return (rs_obj_info_t){
        .type_id = 0, .rc_offset = h->counter.offset, .rc_width = h->counter.width,
        .rc_signed = h->counter.is_signed, .hook = (uint16_t)id,
    };
}

/* Reads hook id's counter of obj into *v; 0 when there is a field. */
static int read_counter(uint32_t id, uint64_t obj, int64_t *v)
{
    const rs_counter_spec_t *c = &set->hooks[id].counter;
    return c->width ? rs_refcount_read(obj + c->offset, c->width, c->is_signed, v) : -1;
}

static void hook_event(uint32_t id, uint64_t obj, uint8_t op, uint32_t stack,
                       int counted, int64_t before, uint32_t seq)
{
    rs_rc_call_t c = { .obj = obj, .op = op, .counted = (uint8_t)counted,
                       .stack_id = stack, .before = before, .seq = seq,
                       .info = info_of(id) };
    if (op == RS_REF_CTOR)
        c.info.type_id = resolve_type(id, obj);
    rs_obj_t o;
    if (rs_refcount_record(&c, &o) == RS_OBJ_CREATED && op != RS_REF_CTOR) {
        c.info.type_id = resolve_type(id, obj);   /* first seen late */
        rs_refcount_declare(obj, &c.info);
    }
}

static int hook_pre(uint32_t id, const uint64_t args[6], const rs_call_site_t *site,
                    uint64_t cookie[2])
{
    if (RS_UNLIKELY(rs_guard_active()) || !rs_active)
        return 0;
    const rs_hook_spec_t *h = &set->hooks[id];
    uint64_t obj = h->arg >= 0 ? args[h->arg] : 0;
    if (h->arg >= 0 && !obj)
        return 0;
    if (h->kind == RS_HOOK_NEWREF && rs_settings.unwind != RS_UNWIND_LIBUNWIND) {
        /* Walked only if needed, by refscope's walker (libunwind cannot
         * start at the caller's frame later: then it is walked now). */
        rs_got_hook_defer_caller_stack();
        return 1;
    }
    int saved_errno = errno;
    rs_guard_enter();
    rs_refhooks_poll(0);
    if (h->arg >= 0)                       /* before any field is read */
        rs_profile_check(set, id, obj);
    if (h->arg >= 0 && h->counter.width)   /* read below, after the walk */
        __builtin_prefetch((const void *)(uintptr_t)(obj + h->counter.offset));
    uint32_t stack = rs_refcount_stack_for(obj, site);
    int64_t before = 0;
    int counted = h->arg >= 0 && !h->out && read_counter(id, obj, &before) == 0;
    int want = 0;
    if (h->kind == RS_HOOK_NEWREF) {
        rs_got_hook_set_caller_stack(stack);
        want = 1;
    } else if (h->kind == RS_HOOK_CTOR || h->arg < 0 || (h->kind == RS_HOOK_SINK && counted)) {
        /* A ctor's event takes its sequence number now, at the call's
         * entry: refs taken inside the constructor, a nested hooked
         * constructor's event, come after it (rs_refhist_adopt_ctor). */
        uint32_t high = h->kind == RS_HOOK_CTOR ? rs_refhist_ctor_seq() : (uint32_t)before;
        cookie[0] = obj;
        cookie[1] = stack | (uint64_t)high << 32;
        rs_got_hook_set_caller_stack(stack);   /* for stacks taken inside */
        want = 1;
    } else {
        hook_event(id, obj, h->kind == RS_HOOK_DECREF ? RS_REF_DECREF : RS_REF_INCREF,
                   stack, counted, before, 0);
    }
    rs_guard_leave();
    errno = saved_errno;
    return want;
}

static void hook_post(uint32_t id, uint64_t ret, const uint64_t cookie[2])
{
    if (RS_UNLIKELY(rs_guard_active()) || !rs_active)
        return;
    const rs_hook_spec_t *h = &set->hooks[id];
    uint64_t obj = h->arg >= 0 ? cookie[0] : ret;
    if (h->out)                    /* T ** kept by pre; int result < 0: failed */
        obj = (int)ret >= 0 ? *(const uint64_t *)(uintptr_t)obj : 0;
    if (!obj)
        return;
    int saved_errno = errno;
    rs_guard_enter();
    rs_profile_check(set, id, obj);        /* before any field is read */
    uint32_t stack = (uint32_t)cookie[1];
    int64_t now = 0;
    int counted = read_counter(id, obj, &now) == 0;
    if (h->kind == RS_HOOK_NEWREF) {
        if (counted)
            rs_newref_stamp(id, obj, now);
    } else if (h->kind == RS_HOOK_CTOR) {
        hook_event(id, obj, RS_REF_CTOR, stack, 0, 0, (uint32_t)(cookie[1] >> 32));
    } else if (h->kind == RS_HOOK_SINK && h->arg >= 0) {
        /* Only the low 32 bits of the value before fit in the cookie. */
        if (counted && (uint32_t)now != (uint32_t)(cookie[1] >> 32))
            hook_event(id, obj, RS_REF_INCREF, stack, 1, now - 1, 0);
    } else {
        hook_event(id, obj, RS_REF_INCREF, stack, counted, now - 1, 0);
    }
    rs_guard_leave();
    errno = saved_errno;
}

/* ---- start-up and dlopen ------------------------------------------------- */

static void say(const char *a, const char *b)
{
    rs_line_t l = {.len = 0};
    rs_line_str(&l, "refscope: ");
    rs_line_str(&l, a);
    rs_line_str(&l, b);
    rs_line_str(&l, "\n");
    rs_diag_emit(&l);
}

static void prepare_hook(uint32_t id)
{
    const rs_hook_spec_t *h = &set->hooks[id];
    names[id] = h->function;
    entry_names[id] = h->kind == RS_HOOK_NEWREF ? NULL : h->function;
    n_entry_names += entry_names[id] != NULL;
    if (h->kind == RS_HOOK_NEWREF)
        rs_got_hook_foreign_only(id);
    const rs_typename_spec_t *t = &h->type;
    fallback_type[id] = intern(t->kind == RS_TYPENAME_CONST
                                   ? t->text : set->profiles[h->profile].name);
    if (t->kind == RS_TYPENAME_CALL)
        type_fn[id] = (type_fn_t)rs_elf_symbol(t->text);
}

/* Entry hooks for the functions whose library is loaded (entry_hook.h);
 * after the GOT hooks, which they continue into.  A set of `newref`
 * functions only (the python profile) never loads the relocation helper. */
static void entry_hooks(void)
{
    if (rs_settings.entry_hooks && n_entry_names)
        rs_entry_hook_apply(entry_names, set->n_hooks, rs_settings.entry_hooks > 1);
}

const rs_profile_set_t *rs_refhooks_profiles(void) { return set; }

void rs_refhooks_init(void)
{
    const char *list = rs_settings.hooks;
    if (!*list || !rs_objects)
        return;
    rs_profile_error_t err;
    set = rs_profile_set_create();
    if (!set) {
        rs_diag_oom();
        return;
    }
    if (rs_profile_list_parse(set, list, &err) != 0) {
        say(err.message, "; no function is hooked");
        rs_profile_set_free(set);
        set = NULL;
        return;
    }
    if (!set->n_hooks)
        return;                    /* only `recognize` lines (recognized.c) */
    for (uint32_t i = 0; i < set->n_hooks; i++)
        prepare_hook(i);
    rs_profile_check_init(set);
    if (rs_modules_loader_text(&loader_lo, &loader_hi) != 0)
        loader_lo = loader_hi = 0;
    rs_refhooks_seen_opens = __atomic_load_n(&rs_dl_open_count, __ATOMIC_RELAXED);
    rs_got_hook_set_stack_maker(rs_backtrace_caller_stack);
    if (rs_got_hook_install(names, set->n_hooks, hook_pre, hook_post) < 0) {
        say("cannot hook functions on this platform; REFSCOPE_HOOKS=", list);
        return;
    }
    entry_hooks();
    rs_refhooks_installed = 1;
}

void rs_refhooks_poll_slow(uint64_t pc0)
{
    if (pc0 && pc0 >= loader_lo && pc0 < loader_hi)
        return;                    /* ld.so allocating: a dlopen in progress */
    unsigned long now = __atomic_load_n(&rs_dl_open_count, __ATOMIC_RELAXED);
    unsigned long seen = __atomic_load_n(&rs_refhooks_seen_opens, __ATOMIC_RELAXED);
    if (now == seen ||
        !__atomic_compare_exchange_n(&rs_refhooks_seen_opens, &seen, now, 0,
                                     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        return;                    /* another thread refreshes              */
    int saved_errno = errno;
    rs_guard_enter();
    rs_got_hook_refresh();
    if (rs_got_hook_relocating())  /* a module not ready: the next poll retries */
        __atomic_store_n(&rs_refhooks_seen_opens, now - 1, __ATOMIC_RELAXED);
    entry_hooks();
    rs_guard_leave();
    errno = saved_errno;
}

void rs_refhooks_forget_unloaded(void)
{
    if (!rs_refhooks_installed)
        return;
    rs_guard_enter();
    rs_entry_hook_forget_unloaded();
    rs_got_hook_forget_unloaded();
    rs_guard_leave();
}

void rs_refhooks_refresh(void)
{
    if (!rs_refhooks_installed)
        return;
    rs_guard_enter();
    rs_got_hook_refresh();
    entry_hooks();
    rs_guard_leave();
}
