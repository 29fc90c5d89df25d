# rc_return_values.profile - for rc_return_values.c: a ctor and four
# `sink` functions, each with a post hook, returning values in rax/rdx,
# xmm0/xmm1, st0 and st0-st1.
profile rv
ctor   rv_new          returns
decref rv_unref        arg=0
sink   rv_take_pair    arg=0
sink   rv_take_point   arg=0
sink   rv_take_ldouble arg=0
sink   rv_take_complex arg=0
counter offset=0 width=4 signed
typename const=Value
