"""leak_in_threads.py - Python threads that release the GIL and allocate
(zlib.compress: zlib's buffers come from malloc without the GIL held)
while others run Python code, each then leaking through the extension.

Four threads run worker(i): 20 compressions of 1 MB, then
leaky.leak_refs(3).  Under `refscope run --python` the 12 ints leaked
have stacks whose first Python frame is worker (this file, the leak_refs
line), followed by threading's Thread.run; the program prints the same
line as without refscope and exits 0
(tests/integration/test_python_frames.py).
"""
import threading
import zlib

import leaky


def worker(i, sizes):
    data = bytes(range(256)) * 4096
    for _ in range(20):
        sizes[i] += len(zlib.compress(data, 1))
    leaky.leak_refs(3)          # LEAK_LINE


def main():
    sizes = [0] * 4
    threads = [threading.Thread(target=worker, args=(i, sizes)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("compressed", sum(sizes))


if __name__ == "__main__":
    main()
