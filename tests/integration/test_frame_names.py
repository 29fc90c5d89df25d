#!/usr/bin/env python3
"""test_frame_names - how reports name frames.

1. C++ names: samples/cxx_names leaks from functions linked under C++
mangled names.  The JSON frames' "function" is the demangled, qualified
name (app::make_widget(int), app::Factory::build()), "symbol" the name
DWARF gives (make_widget, widget_factory), and the text report shows the
demangled names.

2. One-line summaries name a stack by the program's own code, not by the
library function that allocated for it.  samples/leak_direct leaks a 9-byte strdup() copy from make_string_leak():
its stack begins in libc's strdup.  `refscope diff --by function` (and
`--by site` labels) must name make_string_leak, with its file and line,
and make_leak for the three 48-byte blocks: nothing is grouped under
strdup.  (lib/report/symbolize.h, rs_symbolize_summary_frame; the full
stacks still begin at strdup.)
Usage: test_frame_names.py --refscope PATH --preload PATH --samples-dir DIR
"""
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


def snapshot_of(args, out, name):
    exe = os.path.join(args.samples_dir, name)
    p = subprocess.run([exe], env=rstest.preload_env(args.preload, out),
                       capture_output=True, timeout=120)
    check(p.returncode == 0, f"{name}: exit {p.returncode}")
    found = glob.glob(os.path.join(out, f"{name}.*.rsnap"))
    check(len(found) == 1, f"expected one snapshot of {name}, got {found}")
    return found[0]


def check_cxx_names(args):
    with tempfile.TemporaryDirectory(prefix="rs-names-") as out:
        snap = snapshot_of(args, out, "cxx_names")
        p = subprocess.run([args.refscope, "report", "--json", snap],
                           capture_output=True, text=True, timeout=120)
        check(p.returncode == 0, f"report --json: exit {p.returncode}: {p.stderr}")
        leaks = [f for f in json.loads(p.stdout)["findings"]
                 if f["class"] == "leaked"]
        check(len(leaks) == 1, f"cxx_names: leaked findings {leaks}")
        got = [(fr["function"], fr["symbol"]) for fr in leaks[0]["stack"][:3]]
        want = [("app::make_widget(int)", "make_widget"),
                ("app::Factory::build()", "widget_factory"), ("main", "main")]
        check(got == want, f"cxx_names frames {got}, want {want}")
        text = subprocess.run([args.refscope, "report", snap], capture_output=True,
                              text=True, timeout=120).stdout
        check(" in app::make_widget(int) " in text and " in app::Factory::build() " in text,
              f"cxx_names: text report:\n{text}")


def check_summaries(args):
    with tempfile.TemporaryDirectory(prefix="rs-names-") as out:
        snap = snapshot_of(args, out, "leak_direct")
        rows = diff_rows(args, snap, "function")
        got = sorted((r["key"], r["count_after"], r["bytes_after"]) for r in rows)
        want = [("make_leak", 3, 144), ("make_string_leak", 1, 9)]
        check(got == want, f"diff --by function rows {got}, want {want}")
        where = {r["key"]: r["file"] for r in rows}
        check(where["make_string_leak"].split("/")[-1].startswith("leak_direct.c:"),
              f"make_string_leak's file: {where['make_string_leak']}")
        labels = sorted(r["label"].split(" ")[0] for r in diff_rows(args, snap, "site"))
        check(labels == ["make_leak", "make_string_leak"],
              f"diff --by site labels {labels}")


def run(args):
    check_cxx_names(args)
    check_summaries(args)



if __name__ == "__main__":
    rstest.script_main(__doc__, run, "--refscope", "--preload", "--samples-dir")
