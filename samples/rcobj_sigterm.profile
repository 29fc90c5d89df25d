# rcobj_sigterm.profile - librcobj's hooks (as rcobj.profile), the type
# named by a call to samples/rcobj_sigterm.c's rcobj_sigterm_type, which
# sends SIGTERM from inside refscope's hook.
profile rcobj_sigterm
ctor    rcobj_new   returns
incref  rcobj_ref   arg=0
decref  rcobj_unref arg=0
counter offset=4 width=4 signed
typename call=rcobj_sigterm_type
