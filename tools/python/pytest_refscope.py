"""pytest_refscope - fail the pytest tests whose C extension modules leaked.

A pytest plugin for programs run under refscope's preload with the python
profile (`refscope run --python -- python3 -m pytest -p pytest_refscope`).
Around each test's call phase it collects Python garbage (gc.collect())
and asks librefscope.so for a snapshot, through the exported
refscope_impl_snapshot() (what refscope.h's refscope_snapshot() calls),
found with ctypes in the process's global scope; then it compares the two
with `refscope report --json --python` (leaks allocated through an
extension module only): when the leaked blocks of one type and allocation
stack grew in number between the two snapshots, whatever their leak class,
the test fails, and the failure shows each class that grew with its type,
size and allocation stack.  The classes are added up because a block
already leaked may change class between two snapshots without the test
leaking anything: a stale word in another unreachable block makes a leaked
reference "held by a leak" (indirect), and conservative scanning of the
live program sees such words come and go.  For the same reason a site
counts only when its live blocks (the leaked ones and the reachable ones
together) grew too: a leaked block that a stale stack slot made look
reachable in the first snapshot is no new leak when the slot is
overwritten before the second (what failed test_clean on a CI machine).
The reachable blocks are asked for only when the leaked ones grew: even
with --python, which lists only the extensions' reachable blocks, they
make a report of a numpy process 24 MB of JSON instead of 0.5 MB (0.73 s
against 0.23 s, before the plugin parses it).
The price: a test in which one allocation site both frees objects it had
kept reachable and leaks as many new ones is not failed.  A site is a type
and a stack, so the free lists do not count here: an object waiting on
CPython's free list is no object (count 0, recognize.h) and so no longer
of its type; one taken from it and leaked grows its type's live blocks.

Inactive (one line in the pytest header) when librefscope.so is not
loaded.  The refscope tool is $REFSCOPE_TOOL, else ../bin/refscope beside
the directory of the loaded librefscope.so, else `refscope` on PATH;
snapshots are written to $REFSCOPE_OUT (refscope run sets both
REFSCOPE_OUT and removes it afterwards unless --out DIR is given).
Costs two heap analyses per test.

Installed as <prefix>/share/refscope/python/pytest_refscope.py: put that
directory on PYTHONPATH, or copy the file next to your conftest.py.
"""
import ctypes
import gc
import glob
import json
import os
import shutil
import subprocess

import pytest

LEAK_CLASSES = ("leaked", "indirect", "cycle", "leaked_ref")
MAX_FRAMES = 8          # frames of each allocation stack in a failure


def _snapshot_function():
    try:
        fn = ctypes.CDLL(None).refscope_impl_snapshot
    except (AttributeError, OSError):
        return None
    fn.argtypes = [ctypes.c_char_p]
    fn.restype = ctypes.c_int
    return fn


def _find_tool():
    """$REFSCOPE_TOOL, else ../bin/refscope next to the loaded
    librefscope.so's directory (build and install trees), else PATH."""
    tool = os.environ.get("REFSCOPE_TOOL")
    if tool:
        return tool
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            libs = [line.split(None, 5)[-1].strip() for line in maps
                    if line.rstrip().endswith("/librefscope.so")]
    except OSError:
        libs = []
    for lib in libs[:1]:
        candidate = os.path.join(os.path.dirname(os.path.dirname(lib)), "bin", "refscope")
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("refscope")


class RefscopeLeaks:
    """The plugin's state: the snapshot function and a test counter."""

    def __init__(self):
        self.snap = _snapshot_function()
        self.tool = _find_tool()
        self.out = os.environ.get("REFSCOPE_OUT") or os.path.join(
            os.environ.get("TMPDIR", "/tmp"), "refscope")
        self.count = 0

    def active(self):
        return self.snap is not None and self.tool is not None

    def take(self, label):
        """Writes a snapshot labelled label; returns its path or None."""
        gc.collect()
        if self.snap(label.encode()) != 1:
            return None
        paths = glob.glob(os.path.join(
            glob.escape(self.out), f"*.{os.getpid()}.*-{label}.rsnap"))
        return max(paths, key=os.path.getmtime) if paths else None

    def findings(self, path, reachable=False):
        """Leak findings of an extension module in snapshot path, and with
        reachable its reachable blocks' too."""
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)          # the tool is not to be profiled
        show = ["--show-reachable"] if reachable else []
        p = subprocess.run([self.tool, "report", "--json", "--python"] + show + [path],
                           capture_output=True, text=True, timeout=300, env=env)
        if p.returncode != 0:
            raise RuntimeError(f"refscope report failed: {p.stderr.strip()}")
        return [f for f in json.loads(p.stdout)["findings"]
                if f["class"] in LEAK_CLASSES + ("reachable",)]


def _where(fr):
    """A frame's module for people: its base name, "python" for a Python
    frame (refscope run --python: the Python code that called in)."""
    return "python" if fr.get("python") else os.path.basename(fr.get("module") or "")


def _key(f):
    """A finding's allocation site: its type and allocation stack (a
    Python frame by its function, file and line)."""
    frames = tuple((fr.get("function"), _where(fr),
                    fr.get("file") if fr.get("python") else None,
                    fr.get("line")) for fr in f.get("stack", []))
    return (f.get("type"), frames)


def _describe(f, blocks, nbytes):
    what = {"leaked_ref": "leaked references to", "cycle": "blocks in reference "
            "cycles of", "leaked": "leaked blocks of", "indirect": "blocks held by "
            "leaks of"}[f["class"]]
    lines = [f"{blocks} {what} {f.get('type') or 'plain memory'} "
             f"({nbytes} bytes), allocated at:"]
    stack = f.get("stack", [])
    for i, fr in enumerate(stack[:MAX_FRAMES]):
        where = f" {fr['file']}:{fr['line']}" if fr.get("file") and fr.get("line") else ""
        lines.append(f"    #{i} {fr.get('function') or '??'}{where} ({_where(fr) or '?'})")
    if len(stack) > MAX_FRAMES:
        lines.append(f"    ... {len(stack) - MAX_FRAMES} more frames")
    return "\n".join(lines)


def _tally(findings):
    """{site: {class: [blocks, bytes]}} of a snapshot's findings."""
    sites = {}
    for f in findings:
        b = sites.setdefault(_key(f), {}).setdefault(f["class"], [0, 0])
        b[0] += f["blocks"]
        b[1] += f["bytes"]
    return sites


def _blocks(classes, leaks_only):
    return sum(n for cls, (n, _) in classes.items()
               if cls in LEAK_CLASSES or not leaks_only)


def leaks_between(before, after):
    """Descriptions of the leaks of `after` that grew since `before`: for
    each site whose leaked blocks (all leak classes together) and live
    blocks (reachable ones too) grew, the leak classes of it that grew,
    with their growth."""
    old, new = _tally(before), _tally(after)
    firsts = {}
    for f in after:
        firsts.setdefault((_key(f), f["class"]), f)
    grown = []
    for site, classes in new.items():
        was = old.get(site, {})
        if _blocks(classes, True) <= _blocks(was, True) or \
                _blocks(classes, False) <= _blocks(was, False):
            continue
        for cls, (blocks, nbytes) in classes.items():
            if cls not in LEAK_CLASSES:
                continue
            b = was.get(cls, [0, 0])
            if blocks > b[0]:
                grown.append(_describe(firsts[(site, cls)], blocks - b[0],
                                       nbytes - b[1]))
    return grown


_state = RefscopeLeaks()


def pytest_report_header(config):
    if _state.active():
        return f"refscope: checking C extensions for leaks after each test ({_state.tool})"
    why = "librefscope.so is not loaded" if _state.snap is None else \
          "the refscope tool is not found (set REFSCOPE_TOOL)"
    return f"refscope: inactive, {why}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    if not _state.active():
        yield
        return
    _state.count += 1
    before = _state.take(f"t{_state.count}-before")
    yield
    after = _state.take(f"t{_state.count}-after")
    if before and after:
        leaks = leaks_between(_state.findings(before), _state.findings(after))
        if leaks:                  # confirmed by the live blocks (see above)
            leaks = leaks_between(_state.findings(before, True),
                                  _state.findings(after, True))
        item._refscope_leaks = leaks


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    leaks = getattr(item, "_refscope_leaks", None)
    if rep.when == "call" and leaks and rep.passed:
        rep.outcome = "failed"
        rep.longrepr = ("refscope: a C extension leaked during this test:\n"
                        + "\n".join(leaks))
