#!/usr/bin/env python3
"""test_fastunwind - refscope's cached DWARF walker (preload/fastunwind.c)
against libunwind, stack by stack.

Runs every sample of the samples directory (rcobj_leak with its hook
profile, whose stacks cross the GOT trampolines and return stubs), and
python3 and perl where installed (large, varied unwind tables), under
the bare preload with REFSCOPE_UNWIND=check: every stack the fast walker
takes is walked again with libunwind and compared frame by frame after
refscope's own frames are dropped; the REFSCOPE_STATS line reports
unwind_checked, unwind_mismatches and unwind_fallbacks (stacks the fast
walker left to libunwind).  Asserts, per program and process, that no
stack differed, and over all programs that the fast walker took at least
1000 stacks (so the comparison is not vacuous) and left at most 1% to
libunwind.  cmake --version (where installed: the build needs it) runs
the static constructors of its C++ libraries, which allocate from the
dynamic loader's entry frame; those stacks must be walked by the fast
walker too (at most 1% left: 46% were, before it ended walks there).
The big_frame sample allocates under a frame with 40 KiB of locals, past
what a packed rule holds: none of its stacks may go to libunwind.
Also checks that REFSCOPE_UNWIND=bogus is reported in one line and the
run goes on.
Usage: test_fastunwind.py --preload PATH --samples-dir DIR
"""
import argparse
import os
import re
import shutil
import subprocess
import tempfile

import rstest

STATS = re.compile(r"refscope: stats:.*?unwind_checked=(\d+) "
                   r"unwind_mismatches=(\d+) unwind_fallbacks=(\d+)")
PY_THREADS = """
import json, re, threading
def work(i):
    d = {str(k): [k] * (k % 7) for k in range(2000)}
    json.loads(json.dumps(d))
    re.findall(r"[0-9]+", " ".join(d))
ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
"""
PERL = 'my %h; $h{$_} = [split //, $_ x 3] for 1..20000; print scalar(keys %h), "\n";'
# Samples that wait for a signal or need a library profile of their own.
SKIP = {"daemon_signal", "gobject_cycle", "gst_leak"}


def programs(samples_dir):
    """(name, argv, extra environment) of every runnable sample."""
    out = []
    for name in sorted(os.listdir(samples_dir)):
        path = os.path.join(samples_dir, name)
        if (name in SKIP or not os.path.isfile(path) or name.endswith(".so")
                or not os.access(path, os.X_OK)):
            continue
        extra = {}
        if name == "rcobj_leak":
            extra["REFSCOPE_HOOKS"] = os.path.join(samples_dir,
                                                   "rcobj.profile")
        out.append((name, [path], extra))
    # Real programs with large, varied unwind tables, where installed.
    py = "/usr/bin/python3"
    if os.access(py, os.X_OK):
        out.append(("python3", [py, "-c", PY_THREADS], {}))
    perl = "/usr/bin/perl"
    if os.access(perl, os.X_OK):
        out.append(("perl", [perl, "-e", PERL], {}))
    return out


def run_checked(preload, name, argv, extra):
    """Returns (stacks checked, stacks left to libunwind) summed over the
    processes."""
    with tempfile.TemporaryDirectory(prefix="rs-fastunwind-") as out:
        env = rstest.preload_env(preload, out, REFSCOPE_UNWIND="check",
                                 REFSCOPE_STATS="1", REFSCOPE_QUIET="1",
                                 **extra)
        p = subprocess.run(argv, env=env, capture_output=True, text=True,
                           timeout=120)
    lines = STATS.findall(p.stderr)
    rstest.check(lines, f"{name}: no stats line with unwind counts "
                 f"(exit {p.returncode}); stderr:\n{p.stderr[-2000:]}")
    checked = sum(int(c) for c, _, _ in lines)
    bad = sum(int(m) for _, m, _ in lines)
    fallbacks = sum(int(f) for _, _, f in lines)
    rstest.check(bad == 0, f"{name}: {bad} of {checked} stacks walked by "
                 "refscope's unwinder differ from libunwind's")
    return checked, fallbacks


def check_few_fallbacks(name, checked, fallbacks):
    """At most 1% of the stacks went to libunwind."""
    rstest.check(fallbacks * 100 <= checked + fallbacks,
                 f"{name}: the fast walker left {fallbacks} of "
                 f"{checked + fallbacks} stacks to libunwind")


def check_bad_value(preload, samples_dir):
    exe = os.path.join(samples_dir, "all_freed")
    with tempfile.TemporaryDirectory(prefix="rs-fastunwind-") as out:
        env = rstest.preload_env(preload, out, REFSCOPE_UNWIND="bogus")
        p = subprocess.run([exe], env=env, capture_output=True, text=True,
                           timeout=120)
    lines = [l for l in p.stderr.splitlines() if "REFSCOPE_UNWIND" in l]
    rstest.check(p.returncode == 0 and len(lines) == 1 and "bogus" in lines[0],
                 f"REFSCOPE_UNWIND=bogus: exit {p.returncode}, expected one "
                 f"warning line naming the value; stderr:\n{p.stderr}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preload", required=True)
    ap.add_argument("--samples-dir", required=True)
    args = ap.parse_args()
    total = total_fallbacks = 0
    progs = programs(args.samples_dir)
    rstest.check(len(progs) >= 10, f"only {len(progs)} samples found in "
                 f"{args.samples_dir}")
    cmake = shutil.which("cmake")
    if cmake:
        progs.append(("cmake", [cmake, "--version"], {}))
    for name, argv, extra in progs:
        checked, fallbacks = run_checked(args.preload, name, argv, extra)
        if name == "cmake":
            check_few_fallbacks(name, checked, fallbacks)
        if name == "big_frame":
            rstest.check(fallbacks == 0 and checked >= 10,
                         f"big_frame: {fallbacks} stacks left to libunwind, "
                         f"{checked} walked")
        total += checked
        total_fallbacks += fallbacks
    rstest.check(total >= 1000, f"the fast unwinder took only {total} "
                 "stacks over all samples")
    check_few_fallbacks("all programs", total, total_fallbacks)
    check_bad_value(args.preload, args.samples_dir)
    print(f"{len(progs)} programs, {total} stacks compared, none differ; "
          f"{total_fallbacks} left to libunwind")


if __name__ == "__main__":
    rstest.main_wrapper(main)
