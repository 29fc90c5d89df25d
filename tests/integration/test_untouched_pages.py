#!/usr/bin/env python3
"""test_untouched_pages - the analysis does not read pages the program
never touched (preload/scan_holes.c).

Runs samples natively and under the bare preload and compares their
minor page faults (the child's rusage from wait4):
  sparse_pages           a 16 MiB .bss array and a 16 MiB block, untouched
                         but for a few words (8,192 pages);
  root_mmap              a 64 MiB anonymous mapping, a root, untouched but
                         for one page (16,383 pages);
  thread_blocks_signals  a thread that blocks the stop signal, whose whole
                         8 MiB stack is a root, with a few pages touched
                         (about 2,040 pages; run with REFSCOPE_STOP_PTRACE=0,
                         else the thread is stopped with ptrace and only
                         its used stack is a root).
Reading those pages in the scans would fault each one in.  Asserts that
refscope adds fewer than 1,024 faults to each (it adds about 120) and
that stdout and exit status are the native ones.  Their findings are
the integration.sample tests'.  Fault counts are exact counts of events,
not timings.
Usage: test_untouched_pages.py --preload PATH --samples-dir DIR
"""
import argparse
import os
import subprocess
import tempfile

import rstest

UNTOUCHED_PAGES = {"sparse_pages": 8192, "root_mmap": 16383,
                   "thread_blocks_signals": 2040}
EXTRA_ENV = {"thread_blocks_signals": {"REFSCOPE_STOP_PTRACE": "0"}}
MAX_EXTRA_FAULTS = 1024


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
    for name, untouched in UNTOUCHED_PAGES.items():
        check_sample(os.path.join(args.samples_dir, name), untouched, args.preload)


def check_sample(exe, untouched, preload):
    name = os.path.basename(exe)
    native = run([exe], dict(os.environ))
    with tempfile.TemporaryDirectory(prefix="rs-untouched-") as outdir:
        env = rstest.preload_env(preload, outdir, REFSCOPE_QUIET="1",
                                 **EXTRA_ENV.get(name, {}))
        traced = run([exe], env)
    rstest.check(traced[:2] == native[:2],
                 f"{name} under refscope: exit {traced[0]}, stdout {traced[1]!r}; "
                 f"natively: exit {native[0]}, stdout {native[1]!r}")
    extra = traced[2] - native[2]
    rstest.check(extra < MAX_EXTRA_FAULTS,
                 f"refscope added {extra} page faults to {name} "
                 f"({native[2]} natively): the analysis read pages the "
                 f"program never touched ({untouched} of them)")
    print(f"{name}: {native[2]} page faults natively, {traced[2]} under refscope")


if __name__ == "__main__":
    rstest.main_wrapper(main)
