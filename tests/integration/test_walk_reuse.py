#!/usr/bin/env python3
"""test_walk_reuse - the fast walker's reuse of a thread's previous walk
(preload/fastunwind.c) gives exactly the stacks of a full walk.

Compiles walk_reuse.c (-O0, with samples/sample_util.c) and runs it under
`refscope run --json`, once with the default walker and once with
REFSCOPE_UNWIND=libunwind.  Each path of walk_reuse.c leaks blocks of its
own size in each thread, so each finding must be one path: asserts, for
both runs, one finding per path and thread with its block count, and its
stack's program frames exactly (innermost first, walk_reuse.c's functions
only), and that both runs agree.  Then runs it under the bare preload with
REFSCOPE_UNWIND=check: no stack differs from libunwind's, and frames were
taken over from previous walks (unwind_frames_reused > 0), so the
comparison covered reuse.  Skipped (77) without a C compiler.
Usage: test_walk_reuse.py --refscope PATH --preload PATH --source-dir DIR
       --samples-src DIR
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

import rstest

check = rstest.check
ROUNDS = 40
THREAD_BASE = 1000
PROGRAM = {"leaf", "mid", "via_a", "via_b", "leaf_x", "leaf_y", "pick",
           "rec_a", "rec_b", "fixed", "padded", "deep", "one_round", "run",
           "main", "thread_main"}
# size -> (blocks per thread, program frames below one_round)
PATHS = {
    16: (2 * ROUNDS, ["leaf", "mid", "via_a"]),
    24: (2 * ROUNDS, ["leaf", "mid", "via_b"]),
    32: (ROUNDS, ["leaf_x", "pick"]),
    40: (ROUNDS, ["leaf_y", "pick"]),
    48: (ROUNDS, ["leaf"] + ["rec_a"] * 7),
    56: (ROUNDS, ["leaf"] + ["rec_b"] * 4),
    64: (ROUNDS, ["fixed", "padded"] + ["deep"] * 8),
    72: (ROUNDS, ["fixed", "padded"] + ["deep"] * 3),
}
STATS = re.compile(r"unwind_checked=(\d+) unwind_mismatches=(\d+) unwind_fallbacks=\d+ "
                   r"unwind_frames=(\d+) unwind_frames_reused=(\d+)")


def expected():
    """{size: (blocks, program frames)} over both threads."""
    out = {}
    for size, (blocks, inner) in PATHS.items():
        out[size] = (blocks, inner + ["one_round", "run", "main"])
        out[size + THREAD_BASE] = (blocks, inner + ["one_round", "run",
                                                    "thread_main"])
    return out


def compile_program(tmp, source_dir, samples_src):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        print("no C compiler: skipped")
        sys.exit(77)
    exe = os.path.join(tmp, "walk_reuse")
    subprocess.run([cc, "-O0", "-g", "-pthread", "-I", samples_src, "-o", exe,
                    os.path.join(source_dir, "walk_reuse.c"),
                    os.path.join(samples_src, "sample_util.c")], check=True)
    return exe


def findings_by_size(refscope, exe, tmp, unwind):
    """{size: (blocks, program frames)} of the leaked findings of one run."""
    out_dir = os.path.join(tmp, unwind)
    os.mkdir(out_dir)
    env = dict(os.environ, REFSCOPE_UNWIND=unwind)
    status, stdout, data, err = rstest.run_refscope(refscope, [exe], out_dir,
                                                    env=env)
    check(status == 0 and "walk_reuse: done" in stdout,
          f"{unwind}: exit {status}, stdout {stdout!r}; stderr:\n{err[-2000:]}")
    check(len(data) == 1, f"{unwind}: {len(data)} processes")
    got = {}
    for f in data[0].get("findings", []):
        check(f["class"] == "leaked" and f["blocks"] and
              f["bytes"] % f["blocks"] == 0,
              f"{unwind}: unexpected finding {f['class']} "
              f"{f['bytes']}/{f['blocks']}")
        size = f["bytes"] // f["blocks"]
        frames = [fn for fn in rstest.stack_functions(f.get("stack"))
                  if fn in PROGRAM]
        check(size not in got, f"{unwind}: two findings of {size}-byte "
              f"blocks: {got.get(size)} and {frames}")
        got[size] = (f["blocks"], frames)
    return got


def check_stacks(got, unwind):
    want = expected()
    errors = []
    for size in sorted(set(want) | set(got)):
        if got.get(size) != want.get(size):
            errors.append(f"  {size}-byte blocks: expected {want.get(size)},"
                          f" got {got.get(size)}")
    check(not errors, f"{unwind}: findings differ from the paths:\n"
          + "\n".join(errors))


def check_walks(preload, exe, tmp):
    out_dir = os.path.join(tmp, "check")
    os.mkdir(out_dir)
    env = rstest.preload_env(preload, out_dir, REFSCOPE_UNWIND="check",
                             REFSCOPE_STATS="1", REFSCOPE_QUIET="1")
    p = subprocess.run([exe], env=env, capture_output=True, text=True,
                       timeout=120)
    m = STATS.search(p.stderr)
    check(p.returncode == 0 and m, f"check: exit {p.returncode}, no stats "
          f"line with unwind counts; stderr:\n{p.stderr[-2000:]}")
    checked, bad, frames, reused = (int(x) for x in m.groups())
    check(bad == 0, f"check: {bad} of {checked} stacks differ from "
          "libunwind's")
    check(checked >= 2 * 9 * ROUNDS and reused > 0,
          f"check: {checked} stacks, {reused} of {frames} frames reused: "
          "the reuse was not exercised")
    return checked, frames, reused


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--refscope", required=True)
    ap.add_argument("--preload", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--samples-src", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="rs-walkreuse-") as tmp:
        exe = compile_program(tmp, args.source_dir, args.samples_src)
        fast = findings_by_size(args.refscope, exe, tmp, "fast")
        check_stacks(fast, "fast")
        slow = findings_by_size(args.refscope, exe, tmp, "libunwind")
        check_stacks(slow, "libunwind")
        checked, frames, reused = check_walks(args.preload, exe, tmp)
    print(f"{len(fast)} findings with exact stacks (fast and libunwind); "
          f"check: {checked} stacks, {reused} of {frames} frames reused")


if __name__ == "__main__":
    rstest.main_wrapper(main)
