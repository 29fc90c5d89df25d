# rcobj_alias.profile - rcobj.profile plus rcobj_retain, an alias of
# rcobj_ref (the same address under two hooked names): used by
# rcobj_alias.c, whose calls through either name must each count once.
profile rcobj
ctor    rcobj_new    returns
incref  rcobj_ref    arg=0
incref  rcobj_retain arg=0
decref  rcobj_unref  arg=0
# int32_t refcount at byte offset 4 of rcobj_t
counter offset=4 width=4 signed
# const char *kind at byte offset 8 names the type ("Buffer")
typename field=8
