/*
 * test_python_layout.c - preload/python_layout.h against the CPython
 * headers of the interpreter samples/pyext is built for (python3-dev):
 * every offset python_frames.c reads, and the str state bits, as the
 * compiler lays out the real structs.  Built only when that Python.h is
 * found and its version is one python_layout.h describes.
 */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <internal/pycore_frame.h>

#include "python_layout.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void test_version_in_range(void **state)
{
    (void)state;
    assert_true(PY_VERSION_HEX >= PY_VERSION_MIN && PY_VERSION_HEX < PY_VERSION_END);
}

static void test_offsets(void **state)
{
    (void)state;
    assert_int_equal(OFF_OB_TYPE, offsetof(PyObject, ob_type));
    assert_int_equal(OFF_OB_SIZE, offsetof(PyVarObject, ob_size));
    assert_int_equal(OFF_TSTATE_CFRAME, offsetof(PyThreadState, cframe));
    assert_int_equal(OFF_CFRAME_CURRENT, offsetof(_PyCFrame, current_frame));
    assert_int_equal(OFF_FRAME_CODE, offsetof(_PyInterpreterFrame, f_code));
    assert_int_equal(OFF_FRAME_PREVIOUS, offsetof(_PyInterpreterFrame, previous));
    assert_int_equal(OFF_FRAME_PREV_INSTR, offsetof(_PyInterpreterFrame, prev_instr));
    assert_int_equal(OFF_FRAME_IS_ENTRY, offsetof(_PyInterpreterFrame, is_entry));
    assert_int_equal(sizeof(bool), 1);
    assert_int_equal(OFF_CODE_FIRSTLINENO, offsetof(PyCodeObject, co_firstlineno));
    assert_int_equal(OFF_CODE_FILENAME, offsetof(PyCodeObject, co_filename));
    assert_int_equal(OFF_CODE_QUALNAME, offsetof(PyCodeObject, co_qualname));
    assert_int_equal(OFF_CODE_LINETABLE, offsetof(PyCodeObject, co_linetable));
    assert_int_equal(OFF_CODE_INSTRS, offsetof(PyCodeObject, co_code_adaptive));
    assert_int_equal(OFF_STR_LENGTH, offsetof(PyASCIIObject, length));
    assert_int_equal(OFF_STR_STATE, offsetof(PyASCIIObject, state));
    assert_int_equal(OFF_STR_ASCII_DATA, sizeof(PyASCIIObject));
    assert_int_equal(OFF_STR_UTF8_LENGTH, offsetof(PyCompactUnicodeObject, utf8_length));
    assert_int_equal(OFF_STR_UTF8, offsetof(PyCompactUnicodeObject, utf8));
    assert_int_equal(OFF_STR_COMPACT_DATA, sizeof(PyCompactUnicodeObject));
}

/* The state bit fields as the compiler packs them into the word. */
static void test_str_state_bits(void **state)
{
    (void)state;
    PyASCIIObject o;
    memset(&o, 0, sizeof o);
    o.state.kind = PyUnicode_2BYTE_KIND;
    o.state.compact = 1;
    uint32_t word;
    memcpy(&word, (char *)&o + OFF_STR_STATE, sizeof word);
    assert_int_equal(STR_KIND(word), PyUnicode_2BYTE_KIND);
    assert_int_equal(word & STR_COMPACT, STR_COMPACT);
    assert_int_equal(word & STR_ASCII, 0);
    o.state.ascii = 1;
    memcpy(&word, (char *)&o + OFF_STR_STATE, sizeof word);
    assert_int_equal(word & STR_ASCII, STR_ASCII);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_in_range),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_str_state_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
