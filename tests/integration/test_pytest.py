#!/usr/bin/env python3
"""test_pytest - the pytest plugin tools/python/pytest_refscope.py.

Writes a two-test file using samples/pyext's `leaky` module (test_leaks
calls leak_refs(10), test_clean calls clean(10)) and runs it with the
interpreter the module was built for, `-m pytest -p pytest_refscope`:
  - under `refscope run --python`: pytest exits 1, test_leaks fails with
    "10 leaked references to int (320 bytes)" and leaky_leak_refs in the
    stack shown, then the Python frame of test_leaks ("#N test_leaks
    FILE:LINE (python)", its leak_refs line), test_clean passes ("1
    failed, 1 passed");
  - without refscope: the plugin says it is inactive and both pass;
  - the plugin's comparison on made-up findings (CLASS_FLIPS): a leaked
    block that changes leak class between the snapshots (a leaked
    reference another unreachable block's stale word now "holds", what
    failed test_clean on a CI machine) is not a new leak, nor is one a
    stale stack slot made reachable in the first snapshot (what failed
    test_clean on a clean clone); a site whose leaked blocks grew is,
    with the classes that grew, never the reachable ones.
The snapshots are taken while the program runs, and refscope scans thread
stacks conservatively: a stack slot the leaking call left behind may still
hold the address of the last int or two, which then look reachable; the
count is checked to be 10 or at most two fewer, 32 bytes each.
Usage:
    test_pytest.py --refscope PATH --python PATH --module-dir DIR --plugin-dir DIR
"""
import argparse
import json
import os
import re
import subprocess
import tempfile

import rstest

check = rstest.check
TESTS = """import leaky


def test_leaks():
    leaky.leak_refs(10)


def test_clean():
    leaky.clean(10)
"""


# leaks_between() on findings shaped like `refscope report --json` ones.
CLASS_FLIPS = """import json, pytest_refscope as p
stack = [{"function": "PyLong_FromLong", "module": "/usr/bin/python3.11"},
         {"function": "leaky_leak_refs", "module": "/x/leaky.so", "line": 148}]
def f(cls, blocks, typ="int"):
    return {"class": cls, "type": typ, "blocks": blocks, "bytes": 32 * blocks,
            "stack": stack}
print(json.dumps([
    p.leaks_between([f("leaked_ref", 10)], [f("leaked_ref", 9), f("indirect", 1)]),
    p.leaks_between([f("leaked_ref", 9), f("indirect", 1)], [f("leaked_ref", 10)]),
    p.leaks_between([f("leaked_ref", 10)], [f("leaked_ref", 9), f("indirect", 2)]),
    p.leaks_between([f("leaked_ref", 10)], [f("leaked_ref", 10), f("leaked", 1, "str")]),
    p.leaks_between([f("leaked_ref", 9), f("reachable", 1)], [f("leaked_ref", 10)]),
    p.leaks_between([], [f("leaked_ref", 9), f("reachable", 1)]),
]))
"""


def check_class_flips(args, env):
    p = subprocess.run([args.python, "-c", CLASS_FLIPS], env=env,
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, f"leaks_between check failed:\n{p.stderr}")
    flip, back, grew, other, slot, fresh = json.loads(p.stdout)
    check(flip == [] and back == [], f"a class change counted as a leak: "
          f"{flip} {back}")
    check(len(grew) == 1 and grew[0].startswith(
        "2 blocks held by leaks of int (64 bytes), allocated at:\n"
        "    #0 PyLong_FromLong (python3.11)\n"
        "    #1 leaky_leak_refs (leaky.so)"), f"growth of one site: {grew}")
    check(len(other) == 1 and other[0].startswith(
        "1 leaked blocks of str (32 bytes)"), f"a new site: {other}")
    check(slot == [], f"a leaked block a stack slot had kept reachable counted "
          f"as a new leak: {slot}")
    check(len(fresh) == 1 and fresh[0].startswith(
        "9 leaked references to int (288 bytes)"), f"new leaks beside a "
          f"reachable block: {fresh}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--refscope", required=True)
    ap.add_argument("--python", required=True)
    ap.add_argument("--module-dir", required=True)
    ap.add_argument("--plugin-dir", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "test_leaky_ext.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(TESTS)
        env = dict(os.environ)
        env.update(PYTHONPATH=f"{args.plugin_dir}:{args.module_dir}",
                   PYTHONHASHSEED="0", MALLOC_PERTURB_="165",
                   PYTHONDONTWRITEBYTECODE="1")
        for name in ("REFSCOPE_HOOKS", "REFSCOPE_TOOL"):   # found beside the .so
            env.pop(name, None)
        pytest = [args.python, "-m", "pytest", "-p", "pytest_refscope",
                  "-p", "no:cacheprovider", "-rA", path]
        p = subprocess.run([args.refscope, "run", "--python", "--"] + pytest + ["-q"],
                           cwd=tmp, env=env, capture_output=True, text=True,
                           timeout=300)
        out = p.stdout
        check(p.returncode == 1, f"pytest under refscope exited {p.returncode}"
              f" (want 1):\n{out}\n{p.stderr}")
        for want in ("1 failed, 1 passed", "FAILED test_leaky_ext.py::test_leaks",
                     "PASSED test_leaky_ext.py::test_clean",
                     "refscope: a C extension leaked during this test:",
                     "#0 PyLong_FromLong (python3.11)\n    #1 leaky_leak_refs "):
            check(want in out, f"pytest output lacks {want!r}:\n{out}")
        # refscope run --python: the test function that called in, by its
        # file and line, a Python frame (the stack is cut at 8 frames).
        line = TESTS.split("\n").index("    leaky.leak_refs(10)") + 1
        check(re.search(rf"^    #[2-7] test_leaks \S*test_leaky_ext\.py:{line} \(python\)$",
                        out, re.M), f"no Python frame test_leaks at line {line}:\n{out}")
        counts = re.findall(r"^(\d+) leaked references to int \((\d+) bytes\), "
                            r"allocated at:$", out, re.M)
        check(out.count("refscope: process") == 1,
              f"refscope must report the pytest process alone:\n{out}")
        check(len(counts) == 1 and out.count("leaked references to") == 1,
              f"expected one leak, of test_leaks:\n{out}")
        n, nbytes = map(int, counts[0])
        check(8 <= n <= 10 and nbytes == 32 * n,
              f"test_leaks: {n} ints in {nbytes} bytes, want 10 (or a couple "
              f"fewer, see the header) of 32 bytes:\n{out}")

        p = subprocess.run(pytest, cwd=tmp, env=env, capture_output=True,
                           text=True, timeout=300)
        check(p.returncode == 0, f"pytest without refscope exited "
              f"{p.returncode}:\n{p.stdout}\n{p.stderr}")
        check("refscope: inactive, librefscope.so is not loaded" in p.stdout
              and "2 passed" in p.stdout, f"plugin without refscope:\n{p.stdout}")
        check_class_flips(args, env)


if __name__ == "__main__":
    rstest.main_wrapper(main)
