/*
 * python_frames.c - Python frames in the stacks of a CPython process
 * (`refscope run --python`), interleaved with the native ones as py-spy's
 * --native mode does: each native frame of _PyEval_EvalFrameDefault in a
 * captured stack is replaced by the Python frames that C invocation of
 * the eval loop was running, innermost first.
 *
 * How.  In CPython 3.11 a thread's innermost Python frame is
 * tstate->cframe->current_frame (an _PyInterpreterFrame in the thread's
 * frame data stack); frame->previous leads outwards, and frame->is_entry
 * marks the first frame a C call of _PyEval_EvalFrameDefault pushed
 * (Python-to-Python calls run inside one C invocation).  So the chain
 * from current_frame splits into groups, each ending at an entry frame,
 * and the k-th group belongs to the k-th eval frame of the native stack
 * counted from the innermost.  A Python frame goes into the stack as a
 * pseudo pc (RS_PYFRAME_TAG, rs_model.h) naming an entry of the process's
 * location table (lib/model/pyloc_table.h: qualified name, file, line),
 * which the snapshot stores in PY_LOCATIONS; the tool symbolizes it
 * offline like any frame.
 *
 * What is read, and why it is safe from inside an allocation hook: the
 * calling thread's own thread state (PyGILState_GetThisThreadState: a
 * check and pthread_getspecific, no lock, no allocation), its own frames
 * (no other thread pushes or pops them, with or without the GIL; each
 * linked frame holds a strong reference to its code object, so the code
 * object and its name strings stay alive while we read them), and the
 * line (PyCode_Addr2Line: in 3.11 a pure walk of co_linetable, no call
 * at all).  Nothing allocates through the program's allocator, takes the
 * GIL or changes a reference count: no frame object is materialised, no
 * string converted by the interpreter (compact strings are read in
 * place, UCS-2/UCS-4 encoded here).  The process's heap is the same as
 * without refscope.
 *
 * Invariants and defences.  Python frames are only added when the python
 * profile is active (REFSCOPE_HOOKS names it) and Py_Version is 3.11.x,
 * the one frame layout implemented and tested (the offsets below, checked
 * against the real headers by tests/unit/test_python_layout.c); elsewhere
 * stacks stay native.  The innermost cframe must lie on this thread's
 * stack above the hook's frame (else the thread state is not the one
 * running these eval frames: no Python frames); a frame's code object
 * must have PyCode_Type as its type and its names PyUnicode_Type, else
 * that frame is left out; a group that yields no location keeps the
 * native eval frame.  A stack that already holds Python frames (the
 * stack of a pending hooked call appended by backtrace.c) is expanded
 * only up to them.  Frames stay within the depth asked.
 *
 * Cache.  (code object, instruction offset) -> location index, direct
 * mapped, under one lock.  A hit is validated, so a code object freed
 * and another allocated at its address never gets the old name: the
 * entry also keeps the addresses of the code's qualname, filename and
 * line table and its first line, and the names' text must equal the
 * location's.  What validation cannot tell apart is a new code object
 * with the same name, file, first line and line table address: the same
 * function compiled again, whose line at that offset is the same unless
 * its source changed between the two compilations.
 *
 * Which stacks.  Only those with a native frame outside the interpreter
 * (the module of _PyEval_EvalFrameDefault) and the C library: an
 * extension's, the only ones `--python` reports (by default: --all shows
 * the interpreter's own leaks with native frames only).  Expanding every
 * stack made pytest's run 2.2x slower: each line of Python code that
 * allocates gives a stack of its own (240,000 stacks instead of 47,000).
 *
 * Cost: two range compares per native frame in processes with the python
 * profile, then for stacks of an extension through the eval loop one
 * thread-state lookup and per Python frame about 10 loads and a cache
 * probe under a lock (README has the figures).  Others pay one load and a
 * branch.
 *
 * Locking: cache_lock, then the location table's own (never nested: the
 * table is interned with cache_lock released).  Both are taken around
 * fork (rs_python_frames_lock).
 */
#include "elf_symbols.h"
#include "guard.h"
#include "preload.h"
#include "profile.h"
#include "refcount.h"
#include "rs_lock.h"
#include "pyloc_table.h"
#include "python_layout.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <string.h>

#define TEXT_MAX        512        /* bytes of a name kept, at most        */
#define GROUP_MAX     100000       /* frames of one eval call, at most     */
#define CFRAME_REACH  (1ull << 30) /* the cframe lies this close above us  */

typedef void *(*this_tstate_fn)(void);
typedef int (*addr2line_fn)(void *code, int addr);

/* Written at start-up only. */
int rs_python_frames_on;
static uint64_t eval_lo, eval_span;
/* The code of the interpreter's module and of the C library
 * (rs_modules_text_of); lo == hi when unknown. */
#define HOME_MAX 2
static struct { uint64_t lo, hi; } home[HOME_MAX];
static this_tstate_fn this_tstate;
static addr2line_fn addr2line;
static uint64_t code_type, unicode_type;
static rs_pyloc_table_t *locations;

static inline uint64_t word(uint64_t addr)
{
    return *(const uint64_t *)(uintptr_t)addr;
}

/* ---- start-up ------------------------------------------------------------ */

static int python_profile_active(void)
{
    const rs_profile_set_t *set = rs_refhooks_profiles();
    for (uint32_t i = 0; set && i < set->n_profiles; i++)
        if (strcmp(set->profiles[i].name, "python") == 0)
            return 1;
    return 0;
}

/* [eval_lo, eval_lo + eval_span): _PyEval_EvalFrameDefault's code. */
static int find_eval_loop(void)
{
    void *fn = rs_elf_symbol("_PyEval_EvalFrameDefault");
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    if (!fn || !dladdr1(fn, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym ||
        !sym->st_size)
        return -1;
    eval_lo = (uint64_t)(uintptr_t)fn;
    eval_span = sym->st_size;
    return 0;
}

/* home[i] := the code of the module holding addr. */
static void set_home(int i, const void *addr)
{
    if (!addr || rs_modules_text_of((uint64_t)(uintptr_t)addr, &home[i].lo, &home[i].hi) != 0)
        home[i].lo = home[i].hi = 0;
}

static inline int at_home(uint64_t pc)
{
    for (uint32_t i = 0; i < HOME_MAX; i++)
        if (pc - home[i].lo < home[i].hi - home[i].lo)
            return 1;
    return 0;
}

void rs_python_frames_init(void)
{
    if (!python_profile_active())
        return;
    const unsigned long *version = rs_elf_symbol("Py_Version");
    if (!version || *version < PY_VERSION_MIN || *version >= PY_VERSION_END)
        return;                    /* README: 3.11 only */
    this_tstate = (this_tstate_fn)rs_elf_symbol("PyGILState_GetThisThreadState");
    addr2line = (addr2line_fn)rs_elf_symbol("PyCode_Addr2Line");
    code_type = (uint64_t)(uintptr_t)rs_elf_symbol("PyCode_Type");
    unicode_type = (uint64_t)(uintptr_t)rs_elf_symbol("PyUnicode_Type");
    if (!this_tstate || !addr2line || !code_type || !unicode_type || find_eval_loop() != 0)
        return;
    set_home(0, (const void *)(uintptr_t)eval_lo);
    set_home(1, rs_elf_symbol("gnu_get_libc_version"));
    locations = rs_pyloc_table_create();
    rs_python_frames_on = locations != NULL;
}

const rs_pyloc_table_t *rs_python_frames_locations(void)
{
    return locations;
}

/* ---- names ------------------------------------------------------------- */

/* Appends code point c as UTF-8 to buf[*n..cap); 0 when it does not fit. */
static int put_utf8(char *buf, size_t cap, size_t *n, uint32_t c)
{
    char u[4];
    size_t k;
    if (c < 0x80) {
        u[0] = (char)c, k = 1;
    } else if (c < 0x800) {
        u[0] = (char)(0xc0 | c >> 6), u[1] = (char)(0x80 | (c & 0x3f)), k = 2;
    } else if (c < 0x10000) {
        u[0] = (char)(0xe0 | c >> 12), u[1] = (char)(0x80 | (c >> 6 & 0x3f));
        u[2] = (char)(0x80 | (c & 0x3f)), k = 3;
    } else {
        u[0] = (char)(0xf0 | (c >> 18 & 7)), u[1] = (char)(0x80 | (c >> 12 & 0x3f));
        u[2] = (char)(0x80 | (c >> 6 & 0x3f)), u[3] = (char)(0x80 | (c & 0x3f)), k = 4;
    }
    if (*n + k > cap)
        return 0;
    memcpy(buf + *n, u, k);
    *n += k;
    return 1;
}

/* The UTF-8 text of str object s, *len bytes (at most TEXT_MAX): in place
 * when it is ASCII or its UTF-8 form is cached, else encoded into buf
 * (TEXT_MAX bytes).  NULL when s is no compact str. */
static const char *str_text(uint64_t s, char *buf, size_t *len)
{
    if (!s || word(s + OFF_OB_TYPE) != unicode_type)
        return NULL;
    uint32_t state = *(const uint32_t *)(uintptr_t)(s + OFF_STR_STATE);
    uint64_t length = word(s + OFF_STR_LENGTH);
    if (!(state & STR_COMPACT) || length > (1u << 20))
        return NULL;
    if (state & STR_ASCII) {
        *len = length < TEXT_MAX ? length : TEXT_MAX;
        return (const char *)(uintptr_t)(s + OFF_STR_ASCII_DATA);
    }
    uint64_t utf8 = word(s + OFF_STR_UTF8);
    if (utf8) {
        uint64_t n = word(s + OFF_STR_UTF8_LENGTH);
        *len = n < TEXT_MAX ? n : TEXT_MAX;
        return (const char *)(uintptr_t)utf8;
    }
    uint32_t kind = STR_KIND(state);
    const uint8_t *data = (const uint8_t *)(uintptr_t)(s + OFF_STR_COMPACT_DATA);
    size_t n = 0;
    for (uint64_t i = 0; i < length; i++) {
        uint32_t c = kind == 1 ? data[i] : kind == 2 ? ((const uint16_t *)data)[i]
                                                     : ((const uint32_t *)data)[i];
        if (!put_utf8(buf, TEXT_MAX, &n, c))
            break;
    }
    *len = n;
    return buf;
}

static int same_text(const char *stored, const char *s, size_t n)
{
    return strncmp(stored, s, n) == 0 && stored[n] == '\0';
}

/* ---- the location cache ------------------------------------------------- */

#define CACHE_SIZE 1024            /* entries, a power of two              */

typedef struct cache_entry {
    uint64_t code, qualname, filename, linetable;  /* who the code object is */
    int64_t  addr;                 /* byte offset of its prev_instr        */
    int32_t  firstlineno;
    uint32_t loc;                  /* + 1; 0 empty                          */
} cache_entry_t;

static cache_entry_t cache[CACHE_SIZE];
static rs_lock_t cache_lock = RS_LOCK_INIT;

/* What a frame's location is looked up by. */
typedef struct code_key {
    cache_entry_t e;               /* loc unused                            */
    char          qualname_buf[TEXT_MAX], filename_buf[TEXT_MAX];
    const char   *qualname, *filename;
    size_t        qualname_len, filename_len;
} code_key_t;

static uint32_t slot_of(const cache_entry_t *e)
{
    uint64_t h = (e->code ^ (uint64_t)e->addr * 0x9e3779b97f4a7c15ull) * 0xff51afd7ed558ccdull;
    return (uint32_t)(h >> 40) & (CACHE_SIZE - 1);
}

/* Fills k from the code object and instruction of a frame; -1 when they
 * do not look like a code object with str names. */
static int code_key(uint64_t code, uint64_t prev_instr, code_key_t *k)
{
    if (!code || word(code + OFF_OB_TYPE) != code_type)
        return -1;
    k->e.code = code;
    k->e.qualname = word(code + OFF_CODE_QUALNAME);
    k->e.filename = word(code + OFF_CODE_FILENAME);
    k->e.linetable = word(code + OFF_CODE_LINETABLE);
    k->e.firstlineno = *(const int32_t *)(uintptr_t)(code + OFF_CODE_FIRSTLINENO);
    k->e.addr = (int64_t)(prev_instr - (code + OFF_CODE_INSTRS));
    k->qualname = str_text(k->e.qualname, k->qualname_buf, &k->qualname_len);
    k->filename = str_text(k->e.filename, k->filename_buf, &k->filename_len);
    return k->qualname && k->filename ? 0 : -1;
}

/* The cached location of k, or UINT32_MAX. */
static uint32_t cache_find(const code_key_t *k)
{
    uint32_t s = slot_of(&k->e);
    rs_lock(&cache_lock);
    cache_entry_t e = cache[s];
    rs_unlock(&cache_lock);
    if (!e.loc || e.code != k->e.code || e.addr != k->e.addr ||
        e.qualname != k->e.qualname || e.filename != k->e.filename ||
        e.linetable != k->e.linetable || e.firstlineno != k->e.firstlineno)
        return UINT32_MAX;
    const rs_pyloc_t *l = rs_pyloc_table_get(locations, e.loc - 1);
    if (!l || !same_text(l->function, k->qualname, k->qualname_len) ||
        !same_text(l->file, k->filename, k->filename_len))
        return UINT32_MAX;          /* another code object at that address */
    return e.loc - 1;
}

static void cache_put(const code_key_t *k, uint32_t loc)
{
    cache_entry_t e = k->e;
    e.loc = loc + 1;
    uint32_t s = slot_of(&e);
    rs_lock(&cache_lock);
    cache[s] = e;
    rs_unlock(&cache_lock);
}

/* The line k's instruction runs (0 unknown): PyCode_Addr2Line, which in
 * 3.11 reads co_linetable and calls nothing; an offset before the first
 * instruction gives the first line. */
static uint32_t line_of(uint64_t code, int64_t addr)
{
    int64_t nbytes = (int64_t)word(code + OFF_OB_SIZE) * 2;
    if (addr < -2 || addr >= nbytes || nbytes > INT32_MAX)
        return 0;
    int line = addr2line((void *)(uintptr_t)code, (int)addr);
    return line > 0 ? (uint32_t)line : 0;
}

/* The location index of the Python frame at frame, or UINT32_MAX. */
static uint32_t location_of(uint64_t frame)
{
    code_key_t k;
    uint64_t code = word(frame + OFF_FRAME_CODE);
    if (code_key(code, word(frame + OFF_FRAME_PREV_INSTR), &k) != 0)
        return UINT32_MAX;
    uint32_t loc = cache_find(&k);
    if (loc != UINT32_MAX)
        return loc;
    loc = rs_pyloc_table_intern(locations, k.qualname, k.qualname_len, k.filename,
                                k.filename_len, line_of(code, k.e.addr));
    if (loc != UINT32_MAX)
        cache_put(&k, loc);
    return loc;
}

/* ---- stacks ----------------------------------------------------------------- */

/* Emits into out[*k..max) the Python frames of the eval call whose
 * innermost frame is *frame, and sets *frame to the next call's (0 when
 * none).  Returns how many were emitted. */
static uint32_t emit_group(uint64_t *frame, uint64_t *out, uint32_t *k, uint32_t max)
{
    uint32_t emitted = 0;
    uint64_t f = *frame;
    for (uint32_t i = 0; f && i < GROUP_MAX; i++) {
        uint32_t loc = *k < max ? location_of(f) : UINT32_MAX;
        if (loc != UINT32_MAX) {
            out[(*k)++] = rs_pc_python(loc);
            emitted++;
        }
        int entry = *(const uint8_t *)(uintptr_t)(f + OFF_FRAME_IS_ENTRY);
        f = word(f + OFF_FRAME_PREVIOUS);
        if (entry)
            break;
    }
    *frame = f;
    return emitted;
}

/* The calling thread's innermost Python frame, when its eval frames are
 * the ones on this stack (see the header), else 0. */
static uint64_t innermost_frame(void)
{
    uint64_t tstate = (uint64_t)(uintptr_t)this_tstate();
    if (!tstate)
        return 0;
    uint64_t cframe = word(tstate + OFF_TSTATE_CFRAME);
    uint64_t here = (uint64_t)(uintptr_t)__builtin_frame_address(0);
    if (cframe <= here || cframe - here > CFRAME_REACH)
        return 0;
    return word(cframe + OFF_CFRAME_CURRENT);
}

static inline int is_eval_frame(uint64_t pc)
{
    return pc - 1 - eval_lo < eval_span;   /* a return address: pc - 1 */
}

/* 1 when some native frame of pcs[0..n) lies outside the interpreter and
 * the C library (see "Which stacks" above). */
static int has_foreign_frame(const uint64_t *pcs, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!rs_pc_is_python(pcs[i]) && !at_home(pcs[i]))
            return 1;
    return 0;
}

uint32_t rs_python_frames_expand_slow(uint64_t *pcs, uint32_t n, uint32_t max)
{
    uint32_t first = 0;
    while (first < n && !is_eval_frame(pcs[first]) && !rs_pc_is_python(pcs[first]))
        first++;
    if (first == n || rs_pc_is_python(pcs[first]) || !has_foreign_frame(pcs, n))
        return n;                  /* no eval frame, expanded already, or
                                      the interpreter's own allocation */
    uint64_t frame = innermost_frame();
    if (!frame)
        return n;
    uint64_t out[max];
    uint32_t k = 0, i = 0;
    for (; i < n && k < max; i++) {
        uint64_t pc = pcs[i];
        if (rs_pc_is_python(pc))
            break;                 /* an appended stack, expanded when taken */
        if (frame && is_eval_frame(pc) && emit_group(&frame, out, &k, max))
            continue;
        out[k++] = pc;
    }
    for (; i < n && k < max; i++)
        out[k++] = pcs[i];
    memcpy(pcs, out, k * sizeof *pcs);
    return k;
}

void rs_python_frames_lock(void)
{
    rs_lock(&cache_lock);
    rs_pyloc_table_lock(locations);
}

void rs_python_frames_unlock(void)
{
    rs_pyloc_table_unlock(locations);
    rs_unlock(&cache_lock);
}
