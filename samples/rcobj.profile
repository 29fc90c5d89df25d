# rcobj.profile - the example user profile: librcobj (samples/rcobj.h).
# Use it with  REFSCOPE_HOOKS=/path/to/rcobj.profile  (the build copies it
# next to the samples).  The file format is documented in lib/model/profile.h
# and the README.
profile rcobj
ctor    rcobj_new   returns
incref  rcobj_ref   arg=0
decref  rcobj_unref arg=0
# int32_t refcount at byte offset 4 of rcobj_t
counter offset=4 width=4 signed
# const char *kind at byte offset 8 names the type ("Stream", "Buffer")
typename field=8
