#!/usr/bin/env python3
"""test_progress - the progress line of `refscope run` and `refscope
report` (tools/progress.c) on a large snapshot (samples/rc_large_graph,
200,000 blocks).

Under a pseudo-terminal on stderr (Python's pty), with TERM=xterm and no
CI variable: stderr shows "refscope: reading snapshot N%" and
"refscope: symbolizing 1/1 findings" drawn with '\\r' and erased at the
end, no more often than the throttle allows, and stdout (a pipe) holds
exactly the report printed without a terminal.  With CI set, with
TERM=dumb, and with stderr a pipe (no terminal): no progress text at all.
"""
import argparse
import glob
import os
import pty
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rstest  # noqa: E402
from rstest import check  # noqa: E402

PROGRESS = re.compile(rb"refscope: (reading snapshot \d+%|symbolizing \d+/\d+ findings)")
CLEAR = b"\r\x1b[K"


def env_with(**changes):
    env = dict(os.environ)
    env.pop("CI", None)
    env["TERM"] = "xterm"
    for k, v in changes.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def run_on_pty(argv, env, timeout=300):
    """Runs argv with stderr on a new pseudo-terminal and stdout on a pipe.
    Returns (status, stdout bytes, terminal bytes, seconds)."""
    master, slave = pty.openpty()
    start = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=slave, env=env)
    os.close(slave)
    term = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:            # EIO: every writer closed the terminal
            break
        if not chunk:
            break
        term += chunk
    out = p.stdout.read()
    p.wait(timeout=timeout)
    os.close(master)
    return p.returncode, out, term, time.monotonic() - start


def run_piped(argv, env, timeout=300):
    p = subprocess.run(argv, capture_output=True, env=env, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def check_progress_shown(what, term, seconds):
    lines = PROGRESS.findall(term)
    check(any(ln.startswith(b"reading snapshot") for ln in lines),
          f"{what}: no 'reading snapshot N%' on the terminal: {term[-600:]!r}")
    check(b"\rrefscope: reading snapshot" in term,
          f"{what}: the progress line is not drawn with '\\r': {term[-600:]!r}")
    # every line drawn is erased again before anything else is printed
    last = term.rfind(b"\rrefscope: ")
    check(term.find(CLEAR, last) > last,
          f"{what}: the last progress line is not erased: {term[-300:]!r}")
    reads = sum(1 for ln in lines if ln.startswith(b"reading snapshot"))
    # throttled to one update per 100 ms per phase (a new phase and a new
    # snapshot are drawn at once)
    check(reads <= 2 + 10 * seconds, f"{what}: {reads} updates in "
          f"{seconds:.2f}s: not throttled")
    return lines


def check_no_progress(what, data):
    check(not PROGRESS.search(data) and b"\x1b[K" not in data,
          f"{what}: progress text where none belongs: {data[-600:]!r}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--refscope", required=True)
    ap.add_argument("--samples-dir", required=True)
    args = ap.parse_args()
    sample = os.path.join(args.samples_dir, "rc_large_graph")

    def body():
        tmp = tempfile.mkdtemp(prefix="rs-progress-")
        try:
            # refscope run, stderr a pipe: no progress anywhere
            outdir = os.path.join(tmp, "piped")
            status, out, err = run_piped([args.refscope, "run", "--out", outdir,
                                          "--", sample], env_with())
            check(status == 0, f"run: exit {status}: {err[-500:]!r}")
            check_no_progress("run with stderr piped", err)
            check_no_progress("run's stdout", out)
            snaps = glob.glob(os.path.join(outdir, "*.rsnap"))
            check(len(snaps) == 1, f"expected one snapshot, got {snaps}")
            snap = snaps[0]

            # report without a terminal: the reference output, no progress
            status, plain, err = run_piped([args.refscope, "report", snap], env_with())
            check(status == 0, f"report: exit {status}")
            check_no_progress("report with stderr piped", err)
            check(b"Cycle of 2 Pnode objects (32 bytes), 100000 groups (3200000 "
                  b"bytes in 200000 blocks in all):" in plain,
                  f"report: unexpected report:\n{plain[:400]!r}")

            # report with stderr on a terminal: progress, stdout unchanged
            status, out, term, secs = run_on_pty([args.refscope, "report", snap],
                                                 env_with())
            check(status == 0, f"report on a tty: exit {status}")
            lines = check_progress_shown("report", term, secs)
            check(b"symbolizing 1/1 findings" in lines,
                  f"report: no 'symbolizing 1/1 findings': {lines}")
            check(out == plain, "report: stdout differs when stderr is a tty")
            print(f"report on a tty: {[ln.decode() for ln in lines]}")

            # --html: progress too, the page unchanged by it
            page = os.path.join(tmp, "big.html")
            status, _, term, secs = run_on_pty([args.refscope, "report", "--html",
                                                page, snap], env_with())
            check(status == 0, f"report --html on a tty: exit {status}")
            check_progress_shown("report --html", term, secs)
            check(b"wrote " + page.encode() in term, "report --html: no 'wrote'")

            # CI set, or TERM=dumb, or TERM unset: nothing
            for what, env in (("CI=true", env_with(CI="true")),
                              ("TERM=dumb", env_with(TERM="dumb")),
                              ("TERM unset", env_with(TERM=None))):
                status, out, term, _ = run_on_pty([args.refscope, "report", snap], env)
                check(status == 0, f"report with {what}: exit {status}")
                check_no_progress(f"report with {what}", term)
                check(out == plain, f"report with {what}: stdout differs")

            # refscope run with stderr on a terminal: progress while it
            # reads the program's snapshot
            status, out, term, secs = run_on_pty(
                [args.refscope, "run", "--out", os.path.join(tmp, "tty"), "--",
                 sample], env_with())
            check(status == 0, f"run on a tty: exit {status}")
            check_progress_shown("run", term, secs)
            check_no_progress("run's stdout on a tty run", out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    rstest.main_wrapper(body)


if __name__ == "__main__":
    main()
