/*
 * python_layout.h - where CPython 3.11 keeps what python_frames.c reads
 * (x86-64): byte offsets into PyThreadState, _PyCFrame,
 * _PyInterpreterFrame, PyCodeObject and the compact str objects, and the
 * versions they hold for (Py_Version in [PY_VERSION_MIN, PY_VERSION_END)).
 * tests/unit/test_python_layout.c checks every value against the real
 * headers (Python.h and internal/pycore_frame.h); another version gets
 * its own block here, and its own test, before python_frames.c accepts it.
 */
#ifndef RS_PYTHON_LAYOUT_H
#define RS_PYTHON_LAYOUT_H

#define PY_VERSION_MIN 0x030b0000ul     /* 3.11.0                          */
#define PY_VERSION_END 0x030c0000ul     /* 3.12: another frame layout      */

#define OFF_OB_TYPE            8   /* PyObject.ob_type                     */
#define OFF_OB_SIZE           16   /* PyVarObject.ob_size                  */
#define OFF_TSTATE_CFRAME     56   /* PyThreadState.cframe                 */
#define OFF_CFRAME_CURRENT     8   /* _PyCFrame.current_frame              */
#define OFF_FRAME_CODE        32   /* _PyInterpreterFrame.f_code           */
#define OFF_FRAME_PREVIOUS    48   /* _PyInterpreterFrame.previous         */
#define OFF_FRAME_PREV_INSTR  56   /* _PyInterpreterFrame.prev_instr       */
#define OFF_FRAME_IS_ENTRY    68   /* _PyInterpreterFrame.is_entry (bool)  */
#define OFF_CODE_FIRSTLINENO  72   /* PyCodeObject.co_firstlineno (int)    */
#define OFF_CODE_FILENAME    112   /* PyCodeObject.co_filename             */
#define OFF_CODE_QUALNAME    128   /* PyCodeObject.co_qualname             */
#define OFF_CODE_LINETABLE   136   /* PyCodeObject.co_linetable            */
#define OFF_CODE_INSTRS      184   /* PyCodeObject.co_code_adaptive        */
#define OFF_STR_LENGTH        16   /* PyASCIIObject.length                 */
#define OFF_STR_STATE         32   /* PyASCIIObject.state (bit fields)     */
#define OFF_STR_ASCII_DATA    48   /* sizeof(PyASCIIObject)                */
#define OFF_STR_UTF8_LENGTH   48   /* PyCompactUnicodeObject.utf8_length   */
#define OFF_STR_UTF8          56   /* PyCompactUnicodeObject.utf8          */
#define OFF_STR_COMPACT_DATA  72   /* sizeof(PyCompactUnicodeObject)       */
#define STR_KIND(state)       ((state) >> 2 & 7)
#define STR_COMPACT           (1u << 5)
#define STR_ASCII             (1u << 6)

#endif /* RS_PYTHON_LAYOUT_H */
