#!/usr/bin/env python3
"""test_python_frames - Python frames in the stacks under `refscope run --python`.

Runs /usr/bin/python3 (the interpreter samples/pyext/leaky.c was built
for, CPython 3.11) on two scripts of samples/pyext and asserts:
  - leak_from_python.py: the leaked ints' stack holds, after the C frame
    leaky_leak_refs, exactly the Python frames make_garbage (the script,
    the line marked LEAK_LINE) then <module> (the line marked CALL_LINE),
    in that order, each marked "python": true with no module, and no
    _PyEval_EvalFrameDefault frame between them (each such native frame
    is replaced by the Python frames it ran); `refscope report` prints
    them as "#N [py] in make_garbage FILE:LINE (python)"; the program's
    output and exit status are those it has without refscope;
  - the same script under `refscope run` without --python (and
    PYTHONMALLOC=malloc, so the ints are seen, as plain leaks): no Python
    frame at all, the eval frames stay (the python profile is what turns
    Python frames on);
  - leak_in_threads.py: four threads that release the GIL in
    zlib.compress (which mallocs) while others run Python code: the 12
    ints leaked are each charged to a stack whose first Python frame is
    worker (the LEAK_LINE of that script) and whose next one is
    threading's Thread.run; the output is the native run's, exit 0;
  - a suppression naming the Python function (leak:make_garbage) makes
    `refscope check` pass the run it fails otherwise.
A stale word may keep one or two ints reachable (test_python.py says
why): the counts allow that, the stacks are checked on every finding.
Usage:
    test_python_frames.py --refscope PATH --python PATH --module-dir DIR --scripts DIR
"""
import os
import re
import subprocess
import tempfile

import rstest

check = rstest.check


def marked_line(path, marker):
    with open(path, encoding="utf-8") as f:
        lines = [i + 1 for i, text in enumerate(f) if text.rstrip().endswith("# " + marker)]
    check(len(lines) == 1, f"{path}: expected one line marked {marker}: {lines}")
    return lines[0]


def native_run(args, script):
    p = subprocess.run([args.python, script], capture_output=True, text=True,
                       env=rstest.python_env(args.module_dir), timeout=300)
    return p.returncode, p.stdout


def run(args, script, outdir, python=True, depth=16):
    extra = (["--python"] if python else []) + ["--depth", str(depth)]
    env = rstest.python_env(args.module_dir)
    if not python:
        env["PYTHONMALLOC"] = "malloc"   # the ints are malloc'ed, tracked
    rc, out, data, err = rstest.run_refscope(args.refscope, [args.python, script], outdir,
                                             env=env, extra_args=extra)
    want_rc, want_out = native_run(args, script)
    check(rc == want_rc == 0, f"refscope run exited {rc} (natively {want_rc}); "
          f"stderr:\n{err}")
    check(out == want_out, f"output under refscope {out!r}, natively {want_out!r}")
    check(len(data) == 1, f"expected one process, got {len(data)}")
    return data[0]


def leak_findings(obj):
    """The findings whose stack has leaky_leak_refs, and their blocks."""
    fs = [f for f in obj["findings"]
          if "leaky_leak_refs" in rstest.stack_functions(f.get("stack"))]
    check(fs, "no finding allocated by leaky_leak_refs:\n"
          + rstest.describe_findings(obj["findings"]))
    return fs, sum(f["blocks"] for f in fs)


def python_frames(stack):
    """(index, function, file basename, line) of the Python frames."""
    out = []
    for i, fr in enumerate(stack):
        if fr.get("python"):
            check(fr.get("module") is None, f"Python frame with a module: {fr}")
            out.append((i, fr["function"], os.path.basename(fr["file"] or ""), fr["line"]))
    return out


def check_single(args, tmp):
    script = os.path.join(args.scripts, "leak_from_python.py")
    leak, call = marked_line(script, "LEAK_LINE"), marked_line(script, "CALL_LINE")
    obj = run(args, script, os.path.join(tmp, "single"))
    fs, blocks = leak_findings(obj)
    check(3 <= blocks <= 5, f"{blocks} ints leaked by leak_refs, want 5 (at most 2 "
          "kept reachable by stale words)")
    for f in fs:
        stack = f["stack"]
        funcs = rstest.stack_functions(stack)
        c = funcs.index("leaky_leak_refs")
        py = python_frames(stack)
        check([p[1:] for p in py] == [("make_garbage", "leak_from_python.py", leak),
                                      ("<module>", "leak_from_python.py", call)],
              f"Python frames {py}, want make_garbage:{leak} then <module>:{call}; "
              f"stack {funcs}")
        check(py[0][0] > c, f"make_garbage (#{py[0][0]}) before leaky_leak_refs (#{c})")
        between = funcs[py[0][0]:py[1][0]]
        check("_PyEval_EvalFrameDefault" not in funcs[:py[1][0]],
              f"an eval frame left before the Python frames it ran: {funcs}, {between}")
    # The text report of the snapshot.
    snaps = [n for n in os.listdir(os.path.join(tmp, "single")) if n.endswith(".rsnap")]
    check(len(snaps) == 1, f"expected one snapshot: {snaps}")
    p = subprocess.run([args.refscope, "report", "--python",
                        os.path.join(tmp, "single", snaps[0])],
                       capture_output=True, text=True, timeout=300)
    check(p.returncode == 0, f"report: {p.stderr}")
    want = [rf"#\d+ \[py\] in make_garbage \S*leak_from_python\.py:{leak} \(python\)$",
            rf"#\d+ \[py\] in <module> \S*leak_from_python\.py:{call} \(python\)$"]
    for w in want:
        check(re.search(w, p.stdout, re.M), f"report text has no line /{w}/:\n{p.stdout}")
    return os.path.join(tmp, "single", snaps[0])


def check_without_python(args, tmp):
    script = os.path.join(args.scripts, "leak_from_python.py")
    obj = run(args, script, os.path.join(tmp, "plain"), python=False)
    for f in obj["findings"]:
        check(not python_frames(f.get("stack") or []),
              f"a Python frame without --python: {f['stack']}")
    fs = [f for f in obj["findings"]
          if "leaky_leak_refs" in rstest.stack_functions(f.get("stack"))]
    check(fs and all("_PyEval_EvalFrameDefault" in rstest.stack_functions(f["stack"])
                     for f in fs), "without --python the eval frames stay native:\n"
          + rstest.describe_findings(obj["findings"]))


def check_threads(args, tmp):
    script = os.path.join(args.scripts, "leak_in_threads.py")
    leak = marked_line(script, "LEAK_LINE")
    obj = run(args, script, os.path.join(tmp, "threads"), depth=24)
    fs, blocks = leak_findings(obj)
    check(10 <= blocks <= 12, f"{blocks} ints leaked by the threads, want 12 (at most "
          "2 kept reachable by stale words)")
    for f in fs:
        py = python_frames(f["stack"])
        check(len(py) >= 2 and py[0][1:] == ("worker", "leak_in_threads.py", leak) and
              py[1][1:3] == ("Thread.run", "threading.py"),
              f"thread stack's Python frames {py}, want worker:{leak} then Thread.run")


def check_suppression(args, tmp, snap):
    supp = os.path.join(tmp, "py.supp")
    gate = [args.refscope, "check", "--fail-on", "leaked_refs", snap]
    p = subprocess.run(gate, capture_output=True, text=True, timeout=300)
    check(p.returncode == 1, f"check without suppressions exited {p.returncode}:\n"
          f"{p.stdout}{p.stderr}")
    with open(supp, "w", encoding="utf-8") as f:
        f.write("leak:make_garbage\n")
    p = subprocess.run(gate[:2] + ["--suppressions", supp] + gate[2:],
                       capture_output=True, text=True, timeout=300)
    check(p.returncode == 0, f"check with leak:make_garbage exited {p.returncode}:\n"
          f"{p.stdout}{p.stderr}")


def main(args):
    with tempfile.TemporaryDirectory() as tmp:
        snap = check_single(args, tmp)
        check_suppression(args, tmp, snap)
        check_without_python(args, tmp)
        check_threads(args, tmp)


if __name__ == "__main__":
    rstest.script_main(__doc__, main, "--refscope", "--python", "--module-dir", "--scripts")
