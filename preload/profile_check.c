/*
 * profile_check.c - a hook profile's field offsets checked on the first
 * objects its hooks see.
 *
 * A profile says where an object's counter and type name lie (`counter
 * offset=N width=W`, `typename field=N`, `typename call=F word=N`).  A
 * wrong offset (a field past the object's end, the counter's word taken
 * for a string pointer) made refscope read wild addresses at the first
 * call: the program died of SIGSEGV in refscope, its output lost, for a
 * profile that parsed cleanly.  So before a hook reads a field of an
 * object for the first time, the block holding the object is looked up
 * (rs_block_containing) and each field must lie inside it; a type name
 * field must be NULL (no name yet) or point at memory that can be read
 * (process_vm_readv, which fails cleanly) and holds a NUL within
 * RS_NAME_PROBE bytes.  A field that fails is switched off in every hook
 * of the profile that uses the same offset, said in one line: the counter
 * then counts from the calls (as `counter events`), the type name falls
 * back to the profile's own name.
 *
 * An object in no tracked block (a library's static object) proves
 * nothing: the hook's next object is checked, RS_CHECK_TRIES at most.
 * What is checked is the profile's shape, on its first objects; a later,
 * smaller object of a hook is not checked again.
 *
 * A `typename call` function is called as the profile says; refscope
 * cannot check its arguments.  What it returns is read as the type's
 * name: on a hook's first RS_NAME_CHECKS objects it must be NULL or a
 * readable name, as a name field must (a function that returns something
 * else, `call=g_object_get_data` for `call=G_OBJECT_TYPE_NAME`, which is
 * a macro, made refscope read a wild address).  A function that fails is
 * switched off in every hook of the profile that calls it, said in one
 * line; its objects are then named after the profile.
 *
 * Cost: one block lookup per hook until a check was made, then one byte
 * test per call (rs_profile_check, preload.h); RS_NAME_CHECKS reads of a
 * name per `typename call` hook (rs_profile_check_name).  A hook's first
 * calls on two threads at once may both check; a field being switched
 * off while another thread reads it is read once more at the bad offset.
 */
#include "preload.h"
#include "profile.h"

#include <string.h>

#define RS_CHECK_TRIES 16
#define RS_NAME_CHECKS 16
#define RS_NAME_PROBE  256
/* How far below an object the block holding it is looked for. */
#define RS_CHECK_PROBE 4096

uint8_t rs_profile_checks_left[RS_PROFILE_MAX_HOOKS];
uint8_t rs_profile_names_left[RS_PROFILE_MAX_HOOKS];

/* 1 when hook h reads a field of its objects. */
static int reads_fields(const rs_hook_spec_t *h)
{
    return h->counter.width || h->type.kind == RS_TYPENAME_FIELD ||
           (h->type.kind == RS_TYPENAME_CALL && h->type.call_on_word);
}

void rs_profile_check_init(const rs_profile_set_t *set)
{
    for (uint32_t i = 0; i < set->n_hooks && i < RS_PROFILE_MAX_HOOKS; i++) {
        rs_profile_checks_left[i] = reads_fields(&set->hooks[i]) ? RS_CHECK_TRIES : 0;
        rs_profile_names_left[i] = set->hooks[i].type.kind == RS_TYPENAME_CALL ? RS_NAME_CHECKS
                                                                              : 0;
    }
}

static int inside(const rs_block_t *b, uint64_t at, uint64_t len)
{
    return at >= b->addr && at + len >= at && at + len <= b->addr + b->size;
}

/* "refscope: profile PROFILE (SOURCE): " */
static void say_profile(rs_line_t *l, const rs_profile_set_t *set, const rs_hook_spec_t *h)
{
    const rs_profile_t *p = &set->profiles[h->profile];
    rs_line_str(l, "refscope: profile ");
    rs_line_quoted(l, p->name);
    rs_line_str(l, " (");
    rs_line_quoted(l, p->source);
    rs_line_str(l, "): ");
}

/* "the object FUNCTION was given (ADDR)" */
static void say_object(rs_line_t *l, const rs_hook_spec_t *h, uint64_t obj)
{
    rs_line_str(l, "the object ");
    rs_line_str(l, h->function);
    rs_line_str(l, h->kind == RS_HOOK_CTOR || h->arg == RS_HOOK_RETURNS ? " returned ("
                                                                        : " was given (");
    rs_line_hex(l, obj);
    rs_line_str(l, ")");
}

/* "refscope: profile PROFILE (SOURCE): WHAT of the object FUNCTION was
 * given (ADDR) WHY; INSTEAD". */
static void say(const rs_profile_set_t *set, const rs_hook_spec_t *h, const char *what,
                uint32_t offset, uint64_t obj, const char *why, const char *instead)
{
    rs_line_t l = {.len = 0};
    say_profile(&l, set, h);
    rs_line_str(&l, what);
    rs_line_u64(&l, offset);
    rs_line_str(&l, " of ");
    say_object(&l, h, obj);
    rs_line_str(&l, " ");
    rs_line_str(&l, why);
    rs_line_str(&l, "; ");
    rs_line_str(&l, instead);
    rs_line_str(&l, "\n");
    rs_diag_emit(&l);
}

/* A NUL-terminated string can be read at p (within RS_NAME_PROBE bytes,
 * or up to the end of p's page when the next is not readable), or p is
 * NULL: no name yet, which the type lookup takes as none. */
static int readable_name(uint64_t p)
{
    char buf[RS_NAME_PROBE];
    uint64_t to_page_end = 4096 - (p & 4095);
    size_t first = to_page_end < sizeof buf ? (size_t)to_page_end : sizeof buf;
    if (!p)
        return 1;
    if (rs_safe_read(p, buf, first) != 0)
        return 0;
    if (memchr(buf, 0, first))
        return 1;
    return first < sizeof buf && rs_safe_read(p + first, buf + first, sizeof buf - first) == 0 &&
           memchr(buf + first, 0, sizeof buf - first) != NULL;
}

static void counter_off(rs_profile_set_t *set, const rs_hook_spec_t *bad)
{
    rs_counter_spec_t was = bad->counter;
    for (uint32_t i = 0; i < set->n_hooks; i++) {
        rs_hook_spec_t *h = &set->hooks[i];
        if (h->profile == bad->profile && h->counter.width &&
            h->counter.offset == was.offset && h->counter.width == was.width)
            __atomic_store_n(&h->counter.width, 0, __ATOMIC_RELAXED);
    }
}

/* Switches off the type name of every hook of bad's profile that reads
 * it the same way: the same kind, offset and word, and with same_call the
 * same `typename call` function. */
static void type_off(rs_profile_set_t *set, const rs_hook_spec_t *bad, int same_call)
{
    rs_typename_spec_t was = bad->type;
    for (uint32_t i = 0; i < set->n_hooks; i++) {
        rs_hook_spec_t *h = &set->hooks[i];
        if (h->profile == bad->profile && h->type.kind == was.kind &&
            h->type.offset == was.offset && h->type.call_on_word == was.call_on_word &&
            (!same_call || strcmp(h->type.text, was.text) == 0))
            __atomic_store_n(&h->type.kind, 0, __ATOMIC_RELAXED);   /* the fallback */
    }
}

void rs_profile_check_slow(rs_profile_set_t *set, uint32_t id, uint64_t obj)
{
    rs_hook_spec_t *h = &set->hooks[id];
    rs_block_t b;
    if (!rs_block_containing(obj, RS_CHECK_PROBE, 1, &b)) {
        /* A static object: the next one.  Two threads may both count one
         * down; never below 0. */
        uint8_t left = __atomic_load_n(&rs_profile_checks_left[id], __ATOMIC_RELAXED);
        if (left)
            __atomic_store_n(&rs_profile_checks_left[id], (uint8_t)(left - 1), __ATOMIC_RELAXED);
        return;
    }
    __atomic_store_n(&rs_profile_checks_left[id], 0, __ATOMIC_RELAXED);
    if (h->counter.width && !inside(&b, obj + h->counter.offset, h->counter.width)) {
        say(set, h, "counter offset=", h->counter.offset, obj, "lies outside its block",
            "its references are counted from the calls instead");
        counter_off(set, h);
    }
    int word = h->type.kind == RS_TYPENAME_FIELD ||
               (h->type.kind == RS_TYPENAME_CALL && h->type.call_on_word);
    if (!word)
        return;
    uint64_t at = obj + h->type.offset;
    if (!inside(&b, at, sizeof(uint64_t))) {
        say(set, h, h->type.kind == RS_TYPENAME_FIELD ? "typename field=" : "typename word=",
            h->type.offset, obj, "lies outside its block", "its objects are named after the profile");
        type_off(set, h, 0);
    } else if (h->type.kind == RS_TYPENAME_FIELD &&
               !readable_name(*(const uint64_t *)(uintptr_t)at)) {
        say(set, h, "typename field=", h->type.offset, obj, "is no pointer to a readable name",
            "its objects are named after the profile");
        type_off(set, h, 0);
    }
}

int rs_profile_check_name_slow(rs_profile_set_t *set, uint32_t id, uint64_t obj,
                               const char *name)
{
    uint8_t left = __atomic_load_n(&rs_profile_names_left[id], __ATOMIC_RELAXED);
    if (left)
        __atomic_store_n(&rs_profile_names_left[id], (uint8_t)(left - 1), __ATOMIC_RELAXED);
    if (readable_name((uint64_t)(uintptr_t)name))
        return 1;
    rs_hook_spec_t *h = &set->hooks[id];
    rs_line_t l = {.len = 0};
    say_profile(&l, set, h);
    rs_line_str(&l, "typename call=");
    rs_line_quoted(&l, h->type.text);
    rs_line_str(&l, " returned ");
    rs_line_hex(&l, (uint64_t)(uintptr_t)name);
    rs_line_str(&l, " for ");
    say_object(&l, h, obj);
    rs_line_str(&l, ", no pointer to a readable name; its objects are named after the "
                    "profile\n");
    rs_diag_emit(&l);
    type_off(set, h, 1);
    __atomic_store_n(&rs_profile_names_left[id], 0, __ATOMIC_RELAXED);
    return 0;
}
