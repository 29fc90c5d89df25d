#!/usr/bin/env python3
"""test_put_off - a signal that ends the process, arriving while
refscope's own code runs, is put off until that code is done, then
analysed (preload/fatal_signals.c, step 0).

samples/rcobj_sigterm under the bare preload with REFSCOPE_HOOKS=
rcobj_sigterm.profile: refscope calls the program's type function from
inside its rcobj_new hook, and that function sends SIGTERM to the
process.  Asserts:
  - the process dies by SIGTERM (natively too: there main sends it);
  - stdout stops after the first line (the signal ended it inside the
    hook, before main's second line);
  - stderr has no "signal inside refscope" (the analysis was not skipped);
  - exactly one snapshot, whose report has the 321-byte block leaked by
    make_leak and one reachable 56-byte Stream object allocated by
    rcobj_new;
  - with --hang the type function never returns, the signal stays put
    off, and refscope's watchdog ends the process with SIGKILL (about 10
    seconds later; natively SIGTERM ends it at once), with no snapshot.
Usage: test_put_off.py --refscope PATH --preload PATH --samples-dir DIR
"""
import argparse
import json
import os
import signal
import subprocess
import tempfile

import rstest

FIRST_LINE = "rcobj_sigterm: leaked, creating an object\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--refscope", required=True)
    ap.add_argument("--preload", required=True)
    ap.add_argument("--samples-dir", required=True)
    args = ap.parse_args()
    exe = os.path.join(args.samples_dir, "rcobj_sigterm")
    native = subprocess.run([exe], capture_output=True, text=True, timeout=60)
    rstest.check(native.returncode == -signal.SIGTERM,
                 f"natively: returncode {native.returncode}, want -SIGTERM")
    with tempfile.TemporaryDirectory(prefix="rs-put-off-") as out:
        env = rstest.preload_env(args.preload, out, REFSCOPE_HOOKS=os.path.join(
            args.samples_dir, "rcobj_sigterm.profile"))
        p = subprocess.run([exe], env=env, capture_output=True, text=True, timeout=60)
        rstest.check(p.returncode == -signal.SIGTERM,
                     f"under the preload: returncode {p.returncode}, want -SIGTERM; "
                     f"stderr:\n{p.stderr}")
        rstest.check(p.stdout == FIRST_LINE, f"stdout: {p.stdout!r}, want only "
                     f"{FIRST_LINE!r} (SIGTERM came from the hook)")
        rstest.check("signal inside refscope" not in p.stderr,
                     f"the analysis was skipped:\n{p.stderr}")
        snaps = [n for n in os.listdir(out) if n.endswith(".rsnap")]
        rstest.check(len(snaps) == 1, f"snapshots: {os.listdir(out)}")
        rep = subprocess.run([args.refscope, "report", "--json", "--show-reachable",
                              os.path.join(out, snaps[0])],
                             capture_output=True, text=True, timeout=60)
        rstest.check(rep.returncode in (0, 1), f"report: {rep.stderr}")
        data = json.loads(rep.stdout)
        data = data[0] if isinstance(data, list) else data
        found = sorted((f["class"], f["bytes"], f["blocks"], f.get("type"),
                        "make_leak" in rstest.stack_functions(f.get("stack")) or
                        "rcobj_new" in rstest.stack_functions(f.get("stack")))
                       for f in data["findings"])
        want = [("leaked", 321, 1, None, True), ("reachable", 56, 1, "Stream", True)]
        rstest.check(found == want, f"findings {found}, want {want}")
    check_watchdog(exe, args)


def check_watchdog(exe, args):
    native = subprocess.run([exe, "--hang"], capture_output=True, timeout=60)
    rstest.check(native.returncode == -signal.SIGTERM,
                 f"--hang natively: returncode {native.returncode}, want -SIGTERM")
    with tempfile.TemporaryDirectory(prefix="rs-put-off-") as out:
        env = rstest.preload_env(args.preload, out, REFSCOPE_HOOKS=os.path.join(
            args.samples_dir, "rcobj_sigterm.profile"))
        p = subprocess.run([exe, "--hang"], env=env, capture_output=True, text=True,
                           timeout=60)
        rstest.check(p.returncode == -signal.SIGKILL,
                     f"--hang under the preload: returncode {p.returncode}, want "
                     f"-SIGKILL (the watchdog); stderr:\n{p.stderr}")
        snaps = [n for n in os.listdir(out) if n.endswith(".rsnap")]
        rstest.check(snaps == [], f"--hang: snapshots {snaps}, want none")


if __name__ == "__main__":
    rstest.main_wrapper(main)
