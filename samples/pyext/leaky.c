/*
 * leaky - a CPython extension module (3.11+) with known reference leaks,
 * for `refscope run --python` (REFSCOPE_HOOKS=python).  Built by
 * samples/CMakeLists.txt as build/samples/pyext/leaky.<EXT_SUFFIX>
 * against the headers of /usr/bin/python3; run by
 * tests/integration/test_python.py and tests/integration/test_pytest.py.
 *
 * Functions:
 *  - leak_refs(n): creates n ints, each with PyLong_FromLong(1000000 + i)
 *    (values above the small-int cache: a fresh 32-byte PyLongObject
 *    each), and loses the new reference: nothing points to them, their
 *    ob_refcnt stays 1.
 *  - leak_names(n): creates n short strings "n0", "n1", ... with
 *    PyUnicode_FromFormat and loses each new reference.  They are
 *    compact ASCII objects, smaller than str's tp_basicsize (51 bytes for
 *    "n7" in 3.11, against sizeof(PyUnicodeObject), 80): n "leaked_ref"
 *    objects of type "str", of sys.getsizeof's sizes, refcount 1.
 *  - leak_recycled(n): creates n 2-tuples with Py_BuildValue("(ll)") and
 *    n floats with PyFloat_FromDouble, and loses each new reference.
 *    CPython hands both out from its free lists when they hold freed ones
 *    (a list of 5000 (int, float) pairs deleted first fills them): then no
 *    malloc runs and the memory's allocation stack is the interpreter's,
 *    unless refscope stamps the block at the call (the python profile's
 *    `newref` lines): n "leaked_ref" tuples (56-byte blocks: PyGC_Head,
 *    then 40 bytes) and n floats (24 bytes), refcount 1, with
 *    leaky_leak_recycled in the stack.
 *  - leak_sums(n): adds two floats n times with PyNumber_Add and loses
 *    each sum (a float from the free list when it holds one): n
 *    "leaked_ref" floats charged to leaky_leak_sums.
 *  - leak_results(f, n): calls f(i) for i in 0..n-1 (PyObject_CallOneArg)
 *    and loses each result.  With f = lambda i: (i, i), the tuples are
 *    built by the interpreter (from its free list): n "leaked_ref" tuples
 *    charged to leaky_leak_results.
 *  - make_cycles(n): n times, creates two leaky.Node objects (a non-GC
 *    type: struct Node = PyObject_HEAD + `other` + `id`, 32 bytes), makes
 *    each one's `other` a new reference to the other, and drops its own
 *    two references: each Node keeps ob_refcnt 1, held by the other.  The
 *    collector cannot free them (the type is not GC-tracked).
 *  - clean(n): the same work as leak_refs and make_cycles, done right: the
 *    ints are released, each pair's cycle is broken before release.
 *  - make_box_cycles(n): n times, two leaky.Box objects (a GC type, 48-byte
 *    blocks: the 16-byte PyGC_Head, then PyObject_HEAD, `item`, `id`)
 *    holding each other through `item`.  Box's tp_traverse forgets to
 *    visit `item` (the bug), so the collector sees no reference between
 *    them and keeps both: under `refscope run --python`, n "cycle" groups
 *    of 2 leaky.Box (48 bytes, refcount 1), edges at byte 32 of each block
 *    (offset 16 of the object, after the header) named "item".
 *
 * `python3 -c "import leaky; leaky.leak_refs(100); leaky.make_cycles(50)"`
 * under `refscope run --python` must report, for this process, exactly
 * (and nothing from python3's own exit state):
 *  - 100 "leaked_ref" objects of type "int", 32 bytes each (3200 bytes,
 *    100 blocks), refcount 1, pointers 0, allocated with leak_refs (the
 *    extension's C function, leaky_leak_refs) in the stack;
 *  - 50 "cycle" groups of 2 "leaky.Node" objects (100 blocks, 3200 bytes),
 *    refcount 1 each, edges Node -> Node at offset 16: field "other" (from
 *    this file's DWARF, struct Node), allocated with leaky_make_cycles in
 *    the stack.
 * `python3 -c "import leaky; leaky.clean(100)"` must report no finding.
 *
 * The same, for tests/integration/test_python.py (rstest.py's @-lines; a
 * finding's function is the first frame in this module):
 *   @total leaked_refs 3200/100
 *   @total cycles 3200/100
 *   @finding leaked_ref 3200/100 leaky_leak_refs
 *   @finding cycle 3200/100 node_new
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct Node {
    PyObject_HEAD
    PyObject *other;   /* a strong reference, or NULL */
    long      id;
} Node;

static void node_dealloc(PyObject *self)
{
    Py_CLEAR(((Node *)self)->other);
    Py_TYPE(self)->tp_free(self);
}

/* ---- Box: a GC type whose tp_traverse is wrong ------------------------- */

typedef struct Box {
    PyObject_HEAD
    PyObject *item;    /* a strong reference, or NULL */
    long      id;
} Box;

/* The bug: `item` is not visited, so cycles through it are invisible to
 * the collector. */
static int box_traverse(PyObject *self, visitproc visit, void *arg)
{
    (void)self;
    (void)visit;
    (void)arg;
    return 0;
}

static void box_dealloc(PyObject *self)
{
    PyObject_GC_UnTrack(self);
    Py_CLEAR(((Box *)self)->item);
    PyObject_GC_Del(self);
}

static PyTypeObject BoxType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "leaky.Box",
    .tp_basicsize = sizeof(Box),
    .tp_dealloc = box_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = box_traverse,
    .tp_doc = "A GC object whose tp_traverse forgets its item.",
};

static Box *box_new(long id)
{
    Box *b = PyObject_GC_New(Box, &BoxType);
    if (b) {
        b->item = NULL;
        b->id = id;
        PyObject_GC_Track((PyObject *)b);
    }
    return b;
}

static PyTypeObject NodeType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "leaky.Node",
    .tp_basicsize = sizeof(Node),
    .tp_dealloc = node_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_doc = "A node that may hold a strong reference to another node.",
};

static Node *node_new(long id)
{
    Node *n = PyObject_New(Node, &NodeType);
    if (n) {
        n->other = NULL;
        n->id = id;
    }
    return n;
}

static int parse_count(PyObject *arg, long *n)
{
    *n = PyLong_AsLong(arg);
    if (*n == -1 && PyErr_Occurred())
        return -1;
    if (*n < 0) {
        PyErr_SetString(PyExc_ValueError, "count must be >= 0");
        return -1;
    }
    return 0;
}

/* Each int's only reference is dropped on the floor. */
static PyObject *leaky_leak_refs(PyObject *module, PyObject *arg)
{
    (void)module;
    long n;
    if (parse_count(arg, &n) < 0)
        return NULL;
    for (long i = 0; i < n; i++) {
        PyObject *v = PyLong_FromLong(1000000 + i);
        if (!v)
            return NULL;
    }
    Py_RETURN_NONE;
}

/* Each short string's only reference is dropped on the floor. */
static PyObject *leaky_leak_names(PyObject *module, PyObject *arg)
{
    (void)module;
    long n;
    if (parse_count(arg, &n) < 0)
        return NULL;
    for (long i = 0; i < n; i++) {
        PyObject *name = PyUnicode_FromFormat("n%ld", i);
        if (!name)
            return NULL;
    }
    Py_RETURN_NONE;
}

/* Each tuple's and each float's only reference is dropped on the floor. */
static PyObject *leaky_leak_recycled(PyObject *module, PyObject *arg)
{
    (void)module;
    long n;
    if (parse_count(arg, &n) < 0)
        return NULL;
    for (long i = 0; i < n; i++) {
        PyObject *pair = Py_BuildValue("(ll)", i, i);
        PyObject *f = PyFloat_FromDouble((double)i + 0.5);
        if (!pair || !f)
            return NULL;
    }
    Py_RETURN_NONE;
}

/* Each sum is dropped on the floor. */
static PyObject *leaky_leak_sums(PyObject *module, PyObject *arg)
{
    (void)module;
    long n;
    if (parse_count(arg, &n) < 0)
        return NULL;
    PyObject *half = PyFloat_FromDouble(0.5);
    if (!half)
        return NULL;
    for (long i = 0; i < n; i++) {
        PyObject *sum = PyNumber_Add(half, half);
        if (!sum) {
            Py_DECREF(half);
            return NULL;
        }
    }
    Py_DECREF(half);
    Py_RETURN_NONE;
}

/* Each result of f(i) is dropped on the floor. */
static PyObject *leaky_leak_results(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *f, *count;
    long n;
    if (!PyArg_ParseTuple(args, "OO", &f, &count) || parse_count(count, &n) < 0)
        return NULL;
    for (long i = 0; i < n; i++) {
        PyObject *v = PyLong_FromLong(i);
        if (!v)
            return NULL;
        PyObject *result = PyObject_CallOneArg(f, v);
        Py_DECREF(v);
        if (!result)
            return NULL;
    }
    Py_RETURN_NONE;
}

/* Two nodes holding each other; `leak` decides whether the cycle is
 * broken before the nodes are released. */
static int make_pair(long id, int leak)
{
    Node *a = node_new(2 * id), *b = node_new(2 * id + 1);
    if (!a || !b) {
        Py_XDECREF(a);
        Py_XDECREF(b);
        return -1;
    }
    Py_INCREF(b);
    a->other = (PyObject *)b;
    Py_INCREF(a);
    b->other = (PyObject *)a;
    if (!leak)
        Py_CLEAR(a->other);
    Py_DECREF(a);
    Py_DECREF(b);
    return 0;
}

static PyObject *leaky_make_cycles(PyObject *module, PyObject *arg)
{
    (void)module;
    long n;
    if (parse_count(arg, &n) < 0)
        return NULL;
    for (long i = 0; i < n; i++)
        if (make_pair(i, 1) < 0)
            return NULL;
    Py_RETURN_NONE;
}

static PyObject *leaky_make_box_cycles(PyObject *module, PyObject *arg)
{
    (void)module;
    long n;
    if (parse_count(arg, &n) < 0)
        return NULL;
    for (long i = 0; i < n; i++) {
        Box *a = box_new(2 * i), *b = box_new(2 * i + 1);
        if (!a || !b) {
            Py_XDECREF(a);
            Py_XDECREF(b);
            return NULL;
        }
        a->item = Py_NewRef(b);
        b->item = Py_NewRef(a);
        Py_DECREF(a);
        Py_DECREF(b);
    }
    Py_RETURN_NONE;
}

static PyObject *leaky_clean(PyObject *module, PyObject *arg)
{
    (void)module;
    long n;
    if (parse_count(arg, &n) < 0)
        return NULL;
    for (long i = 0; i < n; i++) {
        PyObject *v = PyLong_FromLong(1000000 + i);
        if (!v)
            return NULL;
        Py_DECREF(v);
        if (make_pair(i, 0) < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef leaky_methods[] = {
    {"leak_refs", leaky_leak_refs, METH_O, "Leak n references to new ints."},
    {"leak_names", leaky_leak_names, METH_O, "Leak n references to new short strings."},
    {"leak_recycled", leaky_leak_recycled, METH_O,
     "Leak n new 2-tuples and n new floats (from CPython's free lists)."},
    {"leak_sums", leaky_leak_sums, METH_O, "Leak n new floats made by PyNumber_Add."},
    {"leak_results", leaky_leak_results, METH_VARARGS,
     "Leak the results of f(0), ..., f(n - 1)."},
    {"make_cycles", leaky_make_cycles, METH_O,
     "Leave n reference cycles of two leaky.Node objects."},
    {"make_box_cycles", leaky_make_box_cycles, METH_O,
     "Leave n cycles of two leaky.Box objects the collector cannot see."},
    {"clean", leaky_clean, METH_O, "The same work without leaks."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef leaky_module = {
    PyModuleDef_HEAD_INIT, .m_name = "leaky",
    .m_doc = "Reference leaks for refscope's tests.", .m_size = -1,
    .m_methods = leaky_methods,
};

PyMODINIT_FUNC PyInit_leaky(void)
{
    if (PyType_Ready(&NodeType) < 0 || PyType_Ready(&BoxType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&leaky_module);
    if (!m)
        return NULL;
    Py_INCREF(&NodeType);
    if (PyModule_AddObject(m, "Node", (PyObject *)&NodeType) < 0) {
        Py_DECREF(&NodeType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
