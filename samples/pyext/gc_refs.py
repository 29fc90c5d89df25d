"""gc_refs - leaked references to objects of GC types, from pure Python.

For tests/integration/test_python.py: checks that refscope's python
profile finds CPython objects that start after a header (PyGC_Head, and
the managed-dict words of a class instance in 3.11), and that the GC
lists linking them (pointers into the header) do not keep them alive.
leak() takes, through ctypes.pythonapi.Py_IncRef, one extra reference to
each of 5 lists ([i, "x"]: 16-byte PyGC_Head + 40-byte PyListObject = a
56-byte block) and 5 instances of the plain class Foo (16 bytes of
managed dict pointers + 16-byte PyGC_Head + 24-byte object = 56 bytes),
then drops its own.  Under `refscope run --python --all` (no extension
module allocates them, so --all) the report must have leaked_ref
findings for exactly 5 objects of type "list" (56 bytes each, refcount 1,
0 pointers) and 5 of type "Foo" (56 bytes each, refcount 1, 0 pointers).
"""
import ctypes


class Foo:
    pass


def leak():
    for i in range(5):
        items = [i, "x"]
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(items))
        obj = Foo()
        obj.a = i
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))


leak()
