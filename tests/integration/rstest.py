"""rstest - shared helpers of refscope's integration tests.

Runs samples and other programs under `refscope run --json -o FILE`, under the
bare preload, or under LeakSanitizer; reads the machine-readable
expectations from a sample's header comment (the "@"-lines); picks
processes and findings out of refscope's JSON.  Every helper raises
TestFailure with a message that says what was expected and what was seen;
test scripts turn that into exit status 1.

Expectation lines in a sample header (one per line, inside the comment):
    @total[:proc]   <class> [>=]<bytes>/<blocks>
    @finding[:proc] <class> <bytes>/<blocks> <function, as shown: no spaces>
    @lsan[:proc]    direct|indirect <bytes>/<blocks>
    @lsan-exit      <status>   (under LSan; its numbers are then not compared)
    @argv[:proc]    <JSON array> (the process's argv as reported; "{exe}"
                                  stands for the sample's path)
    @needs          ptrace     (the findings hold only where a process may
                                ptrace its own: the test is skipped, exit
                                77, where it may not)
<class> of @total is a summary key (leaked, indirect, reachable, cycles,
leaked_refs); of @finding a finding class (leaked, indirect, cycle,
leaked_ref, rc_error: its "allocating function" is the first program frame
of the error's stack).  proc is "main" (default: the process refscope started) or
"child" (the others).  A summary class without @total line must be 0/0,
except reachable, which is then not checked; findings must match the
@finding lines one to one; @lsan classes without a line must be 0/0, and
the exit status under LSan must be the native one unless @lsan-exit says
otherwise.
"""
import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

# The inline wrappers of preload/refscope.h: compiled -O0 they are real
# frames of the program, between the hook and the function that called
# refscope_incref/decref/object.
ANNOTATION_WRAPPERS = {
    "refscope_object", "refscope_incref", "refscope_decref",
    "refscope_decref_after",
    "refscope_snapshot", "refscope_check", "refscope_ignore", "refscope_root",
}
ALLOCATORS = {
    "malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign",
    "aligned_alloc", "memalign", "valloc", "pvalloc", "strdup", "strndup",
    "__libc_malloc", "__libc_calloc", "__libc_realloc", "__libc_memalign",
    "__strdup", "__strndup",
}
SUMMARY_CLASSES = ("leaked", "indirect", "reachable", "cycles", "leaked_refs")
CHECKED_ZERO = ("leaked", "indirect", "cycles", "leaked_refs")


class TestFailure(Exception):
    """An assertion of an integration test did not hold."""


def check(ok, message):
    if not ok:
        raise TestFailure(message)


# ---- expectations from sample headers ---------------------------------

_EXPECT = re.compile(
    r"^\s*\*?\s*@(total|finding|lsan)(?::(main|child))?\s+(\w+)\s+"
    r"(>=)?(\d+)/(\d+)(?:\s+(\S+))?\s*$")


# "@lsan-exit N": the sample's exit status under LeakSanitizer when it is
# not the native one (LSan's own signal handlers), which the comparison
# otherwise requires: a run LSan did not finish reports no leak, and
# would pass for agreeing with a header that expects none.
_LSAN_EXIT = re.compile(r"^\s*\*?\s*@lsan-exit\s+(\d+)\s*$")
_ARGV = re.compile(r"^\s*\*?\s*@argv(?::(main|child))?\s+(\[.*\])\s*$")
_NEEDS = re.compile(r"^\s*\*?\s*@needs\s+(ptrace)\s*$")
SKIP_STATUS = 77


def read_expectations(source_path):
    """Returns a dict: {"total": {proc: {cls: (at_least, bytes, blocks)}},
    "finding": {proc: [(cls, bytes, blocks, func)]}, "lsan": {proc: {kind:
    (bytes, blocks)}}, "lsan_exit": status or None, "argv": {proc: list}}.  Raises TestFailure
    if the header has none."""
    exp = {"total": {}, "finding": {}, "lsan": {}, "lsan_exit": None,
           "argv": {}, "needs": []}
    with open(source_path, encoding="utf-8") as f:
        header = f.read().split("*/", 1)[0]
    for line in header.splitlines():
        m = _LSAN_EXIT.match(line)
        if m:
            exp["lsan_exit"] = int(m.group(1))
            continue
        m = _NEEDS.match(line)
        if m:
            exp["needs"].append(m.group(1))
            continue
        m = _ARGV.match(line)
        if m:
            try:
                argv = json.loads(m.group(2))
            except ValueError:
                argv = None
            check(isinstance(argv, list), f"{source_path}: @argv needs a JSON"
                  f" array of strings: {line!r}")
            exp["argv"][m.group(1) or "main"] = argv
            continue
        m = _EXPECT.match(line)
        if not m:
            check("@" not in line or "@-lines" in line or "\"@\"" in line,
                  f"{source_path}: malformed expectation line: {line!r}")
            continue
        kind, proc, cls, at_least, nbytes, nblocks, func = m.groups()
        proc = proc or "main"
        nbytes, nblocks = int(nbytes), int(nblocks)
        if kind == "total":
            check(cls in SUMMARY_CLASSES, f"{source_path}: bad class {cls}")
            exp["total"].setdefault(proc, {})[cls] = (bool(at_least),
                                                      nbytes, nblocks)
        elif kind == "finding":
            check(func is not None, f"{source_path}: @finding needs a function")
            exp["finding"].setdefault(proc, []).append((cls, nbytes, nblocks,
                                                        func))
        else:
            check(cls in ("direct", "indirect"), f"{source_path}: bad {cls}")
            exp["lsan"].setdefault(proc, {})[cls] = (nbytes, nblocks)
    check(exp["total"], f"{source_path}: no @total expectations")
    return exp


def processes_of(exp):
    """The process roles ("main", "child") a sample's expectations name."""
    roles = set(exp["total"]) | set(exp["finding"]) | set(exp["lsan"])
    return sorted(roles, key=lambda r: r != "main")


# ---- running under refscope ---------------------------------------------

def open_to_dropped_privileges(d):
    """Run as root, makes directory d writable by everyone (sticky, like
    /tmp), as `refscope run` does with the directories it creates: a
    sample's child that gives up root (drop_privileges) must still write
    its snapshot or LeakSanitizer log there."""
    if os.geteuid() == 0 and os.path.isdir(d):   # else `refscope run` makes it
        os.chmod(d, 0o1777)


def run_refscope(refscope, argv, outdir, env=None, timeout=300,
                 extra_args=()):
    """Runs `refscope run --json --out outdir -o outdir/report.json
    [extra_args] -- argv`: the program's stdout stays refscope's stdout,
    the JSON goes to the file.  Returns (exit status, program stdout, JSON
    array, stderr)."""
    report = os.path.join(outdir, "report.json")
    open_to_dropped_privileges(outdir)
    cmd = ([refscope, "run", "--json", "--out", outdir, "-o", report]
           + list(extra_args) + ["--"] + list(argv))
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       env=env)
    check(os.path.exists(report), f"refscope run wrote no {report} (exit "
          f"{p.returncode}); stderr:\n{p.stderr[-2000:]}")
    with open(report, encoding="utf-8") as f:
        data = json.load(f)
    os.unlink(report)
    check(isinstance(data, list) and data, f"expected a non-empty JSON array"
          f" of processes, got {json.dumps(data)[:300]}")
    return p.returncode, p.stdout, data, p.stderr


def pick_process(data, role):
    """The object of the process refscope started ("main") or the list of
    the others' objects ("child")."""
    pids = {d["process"]["pid"] for d in data}
    roots = [d for d in data if d["process"]["ppid"] not in pids]
    check(len(roots) == 1, f"expected one root process, got {len(roots)}")
    if role == "main":
        return roots[0]
    children = [d for d in data if d is not roots[0]]
    check(len(children) == 1, f"expected one child process, got "
          f"{len(children)}")
    return children[0]


def program_frame(stack):
    """The first frame of an allocation stack that is neither an allocator
    entry point nor inside refscope or libc, nor a refscope.h annotation
    wrapper: the allocating function."""
    for frame in stack:
        fn = frame.get("function") or ""
        module = os.path.basename(frame.get("module") or "")
        if fn in ALLOCATORS or module.startswith(("librefscope", "libc.so")):
            continue
        if fn in ANNOTATION_WRAPPERS:
            continue
        return frame
    return None


def stack_functions(stack):
    """The function names of a JSON stack (None for unknown frames)."""
    return [frame.get("function") for frame in stack or []]


def describe_findings(findings):
    rows = []
    for f in findings:
        frame = program_frame(f.get("stack", [])) or {}
        rows.append(f"  {f['class']:<10} {f['bytes']:>8}/{f['blocks']:<5} "
                    f"{frame.get('function')} ({frame.get('file')}:"
                    f"{frame.get('line')})")
    return "\n".join(rows) or "  (none)"


def check_process(obj, totals, findings, where):
    """Asserts a process object's summary and findings against one role's
    expectations.  Raises TestFailure listing every mismatch."""
    errors = []
    summary = obj["summary"]
    for cls in SUMMARY_CLASSES:
        got = summary.get(cls)
        if got is None:
            errors.append(f"summary has no '{cls}'")
            continue
        if cls in totals:
            at_least, nbytes, nblocks = totals[cls]
        elif cls in CHECKED_ZERO:
            at_least, nbytes, nblocks = False, 0, 0
        else:
            continue
        if at_least:
            ok = got["bytes"] >= nbytes and got["blocks"] >= nblocks
        else:
            ok = got["bytes"] == nbytes and got["blocks"] == nblocks
        if not ok:
            errors.append(f"summary.{cls}: expected {'>=' if at_least else ''}"
                          f"{nbytes}/{nblocks}, got {got['bytes']}/"
                          f"{got['blocks']}")
    remaining = list(obj.get("findings", []))
    for cls, nbytes, nblocks, func in findings:
        match = [f for f in remaining if f["class"] == cls
                 and (program_frame(f.get("stack", [])) or {}).get("function")
                 == func]
        if len(match) != 1:
            errors.append(f"expected one '{cls}' finding allocated in {func}, "
                          f"found {len(match)}")
            continue
        f = match[0]
        remaining.remove(f)
        if (f["bytes"], f["blocks"]) != (nbytes, nblocks):
            errors.append(f"finding {cls}/{func}: expected {nbytes}/{nblocks},"
                          f" got {f['bytes']}/{f['blocks']}")
    for f in remaining:
        frame = program_frame(f.get("stack", [])) or {}
        errors.append(f"unexpected finding {f['class']} {f['bytes']}/"
                      f"{f['blocks']} in {frame.get('function')}")
    if errors:
        raise TestFailure(f"{where}:\n  " + "\n  ".join(errors)
                          + "\nfindings were:\n"
                          + describe_findings(obj.get("findings", [])))


# ---- what the machine allows ---------------------------------------------

def ptrace_allowed():
    """True when this process may ptrace a process of its own (Yama's
    ptrace_scope, seccomp and capabilities allow it): then refscope's
    tracer may stop the threads that block its stop signal."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                            ctypes.c_void_p]
    pid = os.fork()
    if pid == 0:                       # waits to be seized, then killed
        try:
            time.sleep(5)
        finally:
            os._exit(0)
    try:
        return libc.ptrace(0x4206, pid, None, None) == 0   # PTRACE_SEIZE
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


def skip(message):
    """Ends a test script as skipped (ctest's SKIP_RETURN_CODE)."""
    print(f"SKIP: {message}")
    sys.exit(SKIP_STATUS)


# ---- preload and LeakSanitizer ------------------------------------------

def python_env(module_dir):
    """Environment for running python3 on the sample extension modules
    in module_dir: fixed hashing and malloc fill (the same heap each run),
    no PYTHONMALLOC or REFSCOPE_HOOKS from the caller's environment."""
    env = dict(os.environ)
    env["PYTHONPATH"] = module_dir
    env["PYTHONHASHSEED"] = "0"
    env["MALLOC_PERTURB_"] = "165"
    for name in ("PYTHONMALLOC", "REFSCOPE_HOOKS"):
        env.pop(name, None)
    return env


def preload_env(preload, outdir, **extra):
    """Environment for running a program under the bare preload."""
    env = dict(os.environ)
    env["LD_PRELOAD"] = preload
    env["REFSCOPE_OUT"] = outdir
    env.update({k: str(v) for k, v in extra.items()})
    return env


def find_lsan():
    """Path of the standalone LeakSanitizer runtime, or None."""
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True,
                             text=True).stdout
        for line in out.splitlines():
            if "liblsan.so.0 " in line and "x86-64" in line:
                return line.split("=>")[-1].strip()
    except OSError:
        pass
    for path in ("/usr/lib/x86_64-linux-gnu/liblsan.so.0",
                 "/lib/x86_64-linux-gnu/liblsan.so.0"):
        if os.path.exists(path):
            return path
    return None


_LSAN_LEAK = re.compile(r"^(Direct|Indirect) leak of (\d+) byte\(s\) in "
                        r"(\d+) object\(s\)", re.M)


def parse_lsan_log(text):
    """{"direct": (bytes, blocks), "indirect": (bytes, blocks)} of one
    LeakSanitizer report."""
    res = {"direct": [0, 0], "indirect": [0, 0]}
    for kind, nbytes, nobj in _LSAN_LEAK.findall(text):
        res[kind.lower()][0] += int(nbytes)
        res[kind.lower()][1] += int(nobj)
    return {k: tuple(v) for k, v in res.items()}


def run_lsan(lsan, argv, timeout=300):
    """Runs argv under LD_PRELOAD=lsan with one log per process.  Returns
    (exit status, {pid: (ppid_unknown, parsed report, raw text)}) where the
    log of the process started is under key "main" and others under their
    pid."""
    with tempfile.TemporaryDirectory(prefix="rs-lsan-") as d:
        open_to_dropped_privileges(d)
        env = dict(os.environ)
        env["LD_PRELOAD"] = lsan
        env["LSAN_OPTIONS"] = (f"exitcode=0:log_path={d}/lsan:"
                               "fast_unwind_on_malloc=0:report_objects=0:"
                               "detect_leaks=1")
        p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        out, err = p.communicate(timeout=timeout)
        logs = {}
        for name in os.listdir(d):
            pid = int(name.rsplit(".", 1)[1])
            with open(os.path.join(d, name), encoding="utf-8",
                      errors="replace") as f:
                text = f.read()
            logs["main" if pid == p.pid else pid] = text
        return p.returncode, out, logs


def lsan_result(logs, role):
    """LeakSanitizer's numbers for a process role; a process without a log
    reported no leak."""
    if role == "main":
        return parse_lsan_log(logs.get("main", ""))
    others = [v for k, v in logs.items() if k != "main"]
    check(len(others) <= 1, f"expected at most one child log, got "
          f"{len(others)}")
    return parse_lsan_log(others[0] if others else "")


def profile_functions(source):
    """{profile: [function]} from the string literals of
    lib/model/profile_builtin.c (a recognize line's symbols count as its
    profile's functions)."""
    text = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', source))
    out, cur = {}, None
    for line in text.split("\\n"):
        words = line.split("#")[0].split()
        if len(words) >= 2 and words[0] == "profile":
            cur = words[1]
            out[cur] = []
        elif len(words) >= 2 and words[0] in ("ctor", "incref", "decref",
                                              "sink", "newref"):
            check(cur is not None, f"{words[1]} before any profile")
            out[cur].append(words[1])
        elif words and words[0] == "recognize":
            check(cur is not None, "recognize before any profile")
            out[cur] += [w.split("=", 1)[1] for w in words[1:]
                         if w.startswith(("metatype=", "version="))]
    return out


def script_main(doc, run, *arguments):
    """The main of a test script whose arguments are all required: each of
    `arguments` an option ("--samples-dir") or a positional ("name"); then
    run(args) under main_wrapper().  doc's first line is the --help text."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    for a in arguments:
        if a.startswith("--"):
            ap.add_argument(a, required=True)
        else:
            ap.add_argument(a)
    args = ap.parse_args()
    main_wrapper(lambda: run(args))


def main_wrapper(fn):
    """Runs fn(), printing a TestFailure and exiting 1 on failure.  Core
    dumps are off for everything the test runs (samples that die by a
    signal leave no core files behind)."""
    resource.setrlimit(resource.RLIMIT_CORE,
                       (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
    try:
        fn()
    except TestFailure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
    except subprocess.TimeoutExpired as e:
        print(f"FAIL: timed out: {e}", file=sys.stderr)
        sys.exit(1)
    print("PASS")
