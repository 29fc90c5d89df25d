#!/usr/bin/env python3
"""test_summary_frame - one-line summaries name a stack by the program's
own code, not by the library function that allocated for it.

samples/leak_direct leaks a 9-byte strdup() copy from make_string_leak():
its stack begins in libc's strdup.  `refscope diff --by function` (and
`--by site` labels) must name make_string_leak, with its file and line,
and make_leak for the three 48-byte blocks: nothing is grouped under
strdup.  (lib/report/symbolize.h, rs_symbolize_summary_frame; the full
stacks still begin at strdup.)
Usage: test_summary_frame.py --refscope PATH --preload PATH --samples-dir DIR
"""
import argparse
import glob
import json
import os
import subprocess
import tempfile

import rstest

check = rstest.check


def diff_rows(args, snap, by):
    p = subprocess.run([args.refscope, "diff", "--json", "--by", by, snap, snap],
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, f"diff --by {by}: exit {p.returncode}: {p.stderr}")
    return json.loads(p.stdout)["rows"]


def run(args):
    with tempfile.TemporaryDirectory(prefix="rs-summary-") as out:
        exe = os.path.join(args.samples_dir, "leak_direct")
        p = subprocess.run([exe], env=rstest.preload_env(args.preload, out),
                           capture_output=True, timeout=120)
        check(p.returncode == 0, f"leak_direct: exit {p.returncode}")
        found = glob.glob(os.path.join(out, "leak_direct.*.rsnap"))
        check(len(found) == 1, f"expected one snapshot, got {found}")
        rows = diff_rows(args, found[0], "function")
        got = sorted((r["key"], r["count_after"], r["bytes_after"]) for r in rows)
        want = [("make_leak", 3, 144), ("make_string_leak", 1, 9)]
        check(got == want, f"diff --by function rows {got}, want {want}")
        where = {r["key"]: r["file"] for r in rows}
        check(where["make_string_leak"].split("/")[-1].startswith("leak_direct.c:"),
              f"make_string_leak's file: {where['make_string_leak']}")
        labels = sorted(r["label"].split(" ")[0] for r in diff_rows(args, found[0], "site"))
        check(labels == ["make_leak", "make_string_leak"],
              f"diff --by site labels {labels}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--refscope", required=True)
    ap.add_argument("--preload", required=True)
    ap.add_argument("--samples-dir", required=True)
    args = ap.parse_args()
    rstest.main_wrapper(lambda: run(args))


if __name__ == "__main__":
    main()
