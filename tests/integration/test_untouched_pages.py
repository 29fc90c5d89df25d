#!/usr/bin/env python3
"""test_untouched_pages - the analysis does not read pages the program
never touched (preload/scan_holes.c).

Runs the sparse_pages sample natively and under the bare preload and
compares their minor page faults (the child's rusage from wait4).  The
sample leaves a 16 MiB .bss array and a 16 MiB block untouched but for a
few words (8,192 pages); reading them in the scans would fault each in.
Asserts that refscope adds fewer than 2,048 faults (it adds about 200;
every page read would add 8,192 more) and that stdout and exit status
are the native ones.  Its findings (the few touched words keep five
blocks reachable) are integration.sample.sparse_pages's.  Fault counts
are exact counts of events, not timings.
Usage: test_untouched_pages.py --preload PATH --samples-dir DIR
"""
import argparse
import os
import subprocess
import tempfile

import rstest

UNTOUCHED_PAGES = 8192
MAX_EXTRA_FAULTS = 2048


def run(argv, env):
    """(exit status, stdout, minor faults) of argv run with env."""
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(argv, env=env, stdout=out,
                             stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return p.returncode, out.read(), usage.ru_minflt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preload", required=True)
    ap.add_argument("--samples-dir", required=True)
    args = ap.parse_args()
    exe = os.path.join(args.samples_dir, "sparse_pages")
    native = run([exe], dict(os.environ))
    with tempfile.TemporaryDirectory(prefix="rs-untouched-") as outdir:
        env = rstest.preload_env(args.preload, outdir, REFSCOPE_QUIET="1")
        traced = run([exe], env)
    rstest.check(traced[:2] == native[:2],
                 f"under refscope: exit {traced[0]}, stdout {traced[1]!r}; "
                 f"natively: exit {native[0]}, stdout {native[1]!r}")
    extra = traced[2] - native[2]
    rstest.check(extra < MAX_EXTRA_FAULTS,
                 f"refscope added {extra} page faults to sparse_pages "
                 f"({native[2]} natively): the analysis read pages the "
                 f"program never touched ({UNTOUCHED_PAGES} of them)")
    print(f"sparse_pages: {native[2]} page faults natively, "
          f"{traced[2]} under refscope")


if __name__ == "__main__":
    rstest.main_wrapper(main)
