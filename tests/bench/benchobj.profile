# benchobj.profile - hook profile for libbenchobj (tests/bench/benchobj.h),
# used by bench.py's refcount benchmark:
#   REFSCOPE_HOOKS=tests/bench/benchobj.profile bench_refs
profile benchobj
ctor    bobj_new   returns
incref  bobj_ref   arg=0
decref  bobj_unref arg=0
# int32_t refcount at byte offset 0 of bobj_t
counter offset=0 width=4 signed
typename const=BenchObj
