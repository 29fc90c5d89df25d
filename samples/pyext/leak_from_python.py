"""leak_from_python.py - the leaky extension called from named Python code.

Under `refscope run --python` the 5 ints leak_refs leaks have a stack
whose Python frames are make_garbage (this file, the leak_refs line),
then <module> (the make_garbage line), in that order, after the C
frames of leaky_leak_refs (tests/integration/test_python_frames.py).
"""
import leaky


def make_garbage(n):
    leaky.leak_refs(n)          # LEAK_LINE


if __name__ == "__main__":
    make_garbage(5)             # CALL_LINE
