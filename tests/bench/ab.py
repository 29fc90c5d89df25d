#!/usr/bin/env python3
"""ab.py - two or more refscope builds compared by interleaved runs.

On a machine whose speed drifts (a shared virtual machine: 10-50% within
minutes), medians of separate bench.py runs cannot tell a 3% change from
the weather.  This runs the same benchmark natively and under each
build's librefscope.so in rounds (native, build 1, build 2, ...; every
round once each), so that the drift falls on every build alike, and
prints per build the median and minimum wall and CPU time (user + sys,
from the child's rusage) and their ratios to native.  The benchmark
binaries (bench_alloc, bench_refs and libbenchobj.so) are the first
build's for every build, so that only refscope differs.

With --bench short, the benchmark is each of bench.py's short processes
(true, ls, git --version, ...: the cost of starting and ending a
process), and per program the median wall time natively and what each
build adds to it are printed.

With --bench analysis, the benchmark is the exit analysis of
`bench_alloc -n 1 -t 1 -l N` (N live blocks, 1000000 unless ARGS give
-l N), and per build the median and minimum `analysis_ms` of its
REFSCOPE_STATS line are printed.

Usage: ab.py [--rounds N] [--bench alloc|refs|short|analysis] BUILD_DIR... -- [ARGS]
  ARGS go to the benchmark (default: -n 2000000 -t 1 for alloc,
  -n 1000000 -o 20000 -t 1 for refs); refs runs with
  REFSCOPE_HOOKS=benchobj.profile.  Every run sets REFSCOPE_QUIET=1 and
  a scratch REFSCOPE_OUT.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_ARGS = {"alloc": ["-n", "2000000", "-t", "1"],
                "refs": ["-n", "1000000", "-o", "20000", "-t", "1"]}


def run_once(exe, args, env):
    """Runs exe once with env; returns (wall ms, cpu ms).  Output is
    discarded; a failing run stops the comparison."""
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.execve(exe, [exe] + args, env)
    _, status, usage = os.wait4(pid, 0)
    wall = (time.monotonic() - start) * 1000
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"ab.py: {exe} {' '.join(args)} failed (status {status})")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def summary(label, runs, base):
    """One line: medians and minimums, with ratios to base's."""
    wall = [r[0] for r in runs]
    cpu = [r[1] for r in runs]
    row = [statistics.median(wall), min(wall), statistics.median(cpu), min(cpu)]
    ratios = [v / b for v, b in zip(row, base)] if base else [1.0] * 4
    print(f"{label:30s} wall med {row[0]:8.1f} ({ratios[0]:.2f}x) min {row[1]:8.1f} "
          f"({ratios[1]:.2f}x) | cpu med {row[2]:8.1f} ({ratios[2]:.2f}x) min "
          f"{row[3]:8.1f} ({ratios[3]:.2f}x)")
    return row


def build_env(build, base, out, bench):
    """The environment of a run under build's librefscope.so."""
    env = dict(base, REFSCOPE_QUIET="1", REFSCOPE_OUT=out,
               LD_PRELOAD=os.path.join(os.path.abspath(build), "lib",
                                       "librefscope.so"))
    if bench == "refs":
        env["REFSCOPE_HOOKS"] = os.path.join(HERE, "benchobj.profile")
    return env


def analysis_ms(exe, args, env):
    """One run's analysis_ms (REFSCOPE_STATS=1 in env)."""
    p = subprocess.run([exe] + args, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    m = re.search(r"analysis_ms=(\d+)", p.stderr)
    if p.returncode != 0 or not m:
        sys.exit(f"ab.py: {exe} {' '.join(args)}: exit {p.returncode}, "
                 f"no analysis_ms: {p.stderr[-500:]}")
    return int(m.group(1))


def run_analysis(opts, extra):
    """--bench analysis: interleaved runs of every build; the median and
    minimum analysis_ms of each."""
    first = os.path.abspath(opts.builds[0])
    exe = os.path.join(first, "bin", "bench_alloc")
    args = ["-n", "1", "-t", "1"] + (extra or ["-l", "1000000"])
    ms = {b: [] for b in opts.builds}
    with tempfile.TemporaryDirectory() as out:
        envs = {b: dict(build_env(b, os.environ, out, "analysis"), REFSCOPE_STATS="1")
                for b in opts.builds}
        for _ in range(opts.rounds):
            for b in opts.builds:
                ms[b].append(analysis_ms(exe, args, envs[b]))
    print(f"exit analysis of bench_alloc {' '.join(args)}, {opts.rounds} rounds")
    for b in opts.builds:
        print(f"{b:30s} analysis_ms med {statistics.median(ms[b]):7.1f} "
              f"min {min(ms[b]):5d}")


def run_short(opts):
    """--bench short: per program, interleaved rounds of native and every
    build; the median wall ms natively and each build's median extra."""
    import bench  # noqa: E402 (bench.py, next to this file)
    print(f"short processes, {opts.rounds} rounds: native median wall ms, "
          f"then what each build adds (median)")
    print(f"{'program':<26} {'native':>7} " +
          " ".join(f"{b[-28:]:>28}" for b in opts.builds))
    with tempfile.TemporaryDirectory() as out:
        envs = [dict(os.environ)] + [build_env(b, os.environ, out, "short")
                                     for b in opts.builds]
        for prog in bench.SHORT_PROGRAMS:
            exe = shutil.which(prog[0])
            if not exe:
                continue
            walls = [[] for _ in envs]
            for _ in range(opts.rounds):
                for i, env in enumerate(envs):
                    walls[i].append(run_once(exe, prog[1:], env)[0])
            med = [statistics.median(w) for w in walls]
            print(f"{' '.join(prog)[:26]:<26} {med[0]:>7.2f} " +
                  " ".join(f"{m - med[0]:>+28.2f}" for m in med[1:]))


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--bench", choices=["alloc", "refs", "short", "analysis"],
                    default="alloc")
    ap.add_argument("builds", nargs="+")
    opts = ap.parse_args(argv)
    if opts.bench == "short":
        run_short(opts)
        return
    if opts.bench == "analysis":
        run_analysis(opts, extra)
        return
    args = extra or DEFAULT_ARGS[opts.bench]
    first = os.path.abspath(opts.builds[0])
    exe = os.path.join(first, "bin", "bench_" + opts.bench)
    native_env = dict(os.environ,
                      LD_LIBRARY_PATH=os.path.join(first, "lib"))
    runs = {"native": []}
    with tempfile.TemporaryDirectory() as out:
        envs = {}
        for build in opts.builds:
            envs[build] = build_env(build, native_env, out, opts.bench)
            runs[build] = []
        for _ in range(opts.rounds):
            runs["native"].append(run_once(exe, args, native_env))
            for build in opts.builds:
                runs[build].append(run_once(exe, args, envs[build]))
    print(f"bench_{opts.bench} {' '.join(args)}, {opts.rounds} rounds")
    base = summary("native", runs["native"], None)
    for build in opts.builds:
        summary(build, runs[build], base)


if __name__ == "__main__":
    main()
