/*
 * rc_return_values - hooked functions whose post hook runs return values
 * in every register the SysV ABI returns in, and each must reach the
 * caller untouched (the return stub, preload/got_hook.c, saves only those
 * registers: rax, rdx, xmm0, xmm1, and the x87 stack when it is not empty).
 *
 * rc_return_values.profile makes rv_new a ctor and rv_take_* `sink`
 * functions (post hook: the counter is compared after the call).  Each
 * rv_take_* takes one reference (so the post hook records an incref and
 * runs refscope's event code, which uses the vector registers) and
 * returns:
 *   rv_take_pair     struct of two longs        rax, rdx
 *   rv_take_point    struct of two doubles      xmm0, xmm1
 *   rv_take_ldouble  long double                st0
 *   rv_take_complex  complex long double        st0, st1
 * The program prints every value (the same output natively and under
 * refscope) and exits 1 when one differs from what the function computed;
 * it drops every reference it took, so refscope reports nothing (stdout
 * is unbuffered: no stdio buffer is left reachable either).
 *
 *   @total   leaked     0/0
 *   @total   reachable  0/0
 *   @lsan    direct     0/0
 */
#include <complex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Line-aligned: an entry hook is refused where its 5-byte jump would
 * straddle a cache line, which would leave these to the GOT hooks, never
 * reached by the executable's direct calls. */
#define EXPORT __attribute__((noinline, aligned(64), visibility("default")))

typedef struct rv {
    int32_t refcount;
    int32_t seed;
} rv_t;

typedef struct pair { long a, b; } pair_t;
typedef struct point { double x, y; } point_t;

EXPORT rv_t *rv_new(int32_t seed)
{
    rv_t *v = malloc(sizeof *v);
    if (!v)
        abort();
    v->refcount = 1;
    v->seed = seed;
    return v;
}

EXPORT void rv_unref(rv_t *v)
{
    if (--v->refcount == 0)
        free(v);
}

EXPORT pair_t rv_take_pair(rv_t *v)
{
    v->refcount++;
    return (pair_t){ 1000L * v->seed + 1, -1000L * v->seed - 2 };
}

EXPORT point_t rv_take_point(rv_t *v)
{
    v->refcount++;
    return (point_t){ v->seed + 0.25, v->seed - 0.75 };
}

EXPORT long double rv_take_ldouble(rv_t *v)
{
    v->refcount++;
    return v->seed / 3.0L;
}

EXPORT long double complex rv_take_complex(rv_t *v)
{
    v->refcount++;
    return v->seed / 7.0L + (v->seed / 9.0L) * I;
}

int main(void)
{
    int bad = 0;
    setvbuf(stdout, NULL, _IONBF, 0);
    for (int32_t seed = 1; seed <= 3; seed++) {
        rv_t *v = rv_new(seed);
        pair_t p = rv_take_pair(v);
        point_t q = rv_take_point(v);
        long double l = rv_take_ldouble(v);
        long double complex c = rv_take_complex(v);
        bad |= p.a != 1000L * seed + 1 || p.b != -1000L * seed - 2;
        bad |= q.x != seed + 0.25 || q.y != seed - 0.75;
        bad |= l != seed / 3.0L;
        bad |= creall(c) != seed / 7.0L || cimagl(c) != seed / 9.0L;
        printf("%d: %ld %ld %.17g %.17g %.21Lg %.21Lg %.21Lg refcount %d\n", seed, p.a,
               p.b, q.x, q.y, l, creall(c), cimagl(c), v->refcount);
        for (int i = 0; i < 5; i++)
            rv_unref(v);
    }
    if (bad)
        puts("a returned value changed on its way back");
    return bad;
}
