#!/usr/bin/env python3
"""test_exits - processes that end without returning from main or calling
exit(): _exit(), abort(), a fatal signal with no handler, a program's own
fatal-signal handler, and `sh -c` (Debian's dash leaves with _exit).

For a sample NAME (samples/exit_*.c, whose header holds the expected
findings, see rstest.py): runs it natively, under the bare preload and
under `refscope run --json`, all with core dumps off, and asserts
  - the same stdout and the same way of ending: exit status, or killed by
    the same signal (Python's negative returncode), under the preload and
    under `refscope run` (which dies of the program's signal) as natively;
  - exactly one snapshot, whose `refscope report --json` has exactly the
    header's summary and findings, and an exit status only when the
    process exited (null when a signal killed it);
  - with REFSCOPE_EXITCODE=23 (every sample leaks), an _exit becomes 23
    and a death by a signal stays the same;
  - `refscope run` reports the same.
With "sh": `sh -c 'leak_direct; true'` exits 0 like natively, the shell
wrote its own snapshot, and leak_direct's leaks are reported once, in
leak_direct's process, as its header says.  Usage:
    test_exits.py --refscope PATH --preload PATH --samples-dir DIR
                  --source-dir DIR (NAME [ARG...] | sh)
"""
import argparse
import glob
import json
import os
import subprocess
import tempfile

import rstest


def run_native(argv, env=None):
    return subprocess.run(argv, capture_output=True, text=True, timeout=120,
                          env=env)


def report_json(refscope, snap, where):
    p = subprocess.run([refscope, "report", "--json", snap],
                       capture_output=True, text=True, timeout=120)
    rstest.check(p.returncode in (0, 1), f"{where}: refscope report exited "
                 f"{p.returncode}: {p.stderr}")
    rep = json.loads(p.stdout)
    return rep[0] if isinstance(rep, list) and len(rep) == 1 else rep


def check_exit_status(obj, native_rc, where):
    got = obj["process"].get("exit_status")
    want = native_rc if native_rc >= 0 else None
    rstest.check(got == want, f"{where}: snapshot exit_status {got!r}, "
                 f"expected {want!r} (native returncode {native_rc})")


def check_exitcode(argv, env, native_rc, name):
    """REFSCOPE_EXITCODE=23 with a leak: an exit (here _exit) becomes 23,
    a death by a signal stays one."""
    rc = run_native(argv, dict(env, REFSCOPE_EXITCODE="23",
                                REFSCOPE_QUIET="1")).returncode
    want = native_rc if native_rc < 0 else 23
    rstest.check(rc == want, f"{name}: with REFSCOPE_EXITCODE=23, "
                 f"returncode {rc}, expected {want}")


def check_sample(args):
    name = args.name
    argv = [os.path.join(args.samples_dir, name)] + args.args
    exp = rstest.read_expectations(os.path.join(args.source_dir, name + ".c"))
    totals, findings = exp["total"].get("main", {}), exp["finding"].get("main", [])
    native = run_native(argv)
    with tempfile.TemporaryDirectory(prefix="rs-exits-") as out:
        env = dict(os.environ, LD_PRELOAD=args.preload, REFSCOPE_OUT=out)
        bare = run_native(argv, env)
        rstest.check(bare.returncode == native.returncode,
                     f"{name}: returncode {bare.returncode} under the preload,"
                     f" {native.returncode} natively; stderr:\n{bare.stderr}")
        rstest.check(bare.stdout == native.stdout, f"{name}: output differs:"
                     f"\n--- native\n{native.stdout}--- preload\n{bare.stdout}")
        snaps = glob.glob(os.path.join(out, "*.rsnap"))
        rstest.check(len(snaps) == 1, f"{name}: expected one snapshot, got "
                     f"{snaps}; stderr:\n{bare.stderr}")
        where = f"{name} (preload)"
        obj = report_json(args.refscope, snaps[0], where)
        check_exit_status(obj, native.returncode, where)
        rstest.check_process(obj, totals, findings, where)
        check_exitcode(argv, env, native.returncode, name)

    with tempfile.TemporaryDirectory(prefix="rs-exits-") as out:
        status, prog_out, data, err = rstest.run_refscope(args.refscope,
                                                          argv, out)
        rstest.check(status == native.returncode,
                     f"{name}: refscope run ended with {status}, natively "
                     f"{native.returncode}; stderr:\n{err}")
        rstest.check(prog_out == native.stdout, f"{name}: output differs "
                     f"under refscope run")
        rstest.check(len(data) == 1, f"{name}: {len(data)} processes")
        check_exit_status(data[0], native.returncode, f"{name} (run)")
        rstest.check_process(data[0], totals, findings, f"{name} (run)")


def check_sh(args):
    """dash leaves with _exit(): its snapshot must exist; the child's leak
    is reported once."""
    child = os.path.join(args.samples_dir, "leak_direct")
    exp = rstest.read_expectations(os.path.join(args.source_dir,
                                                "leak_direct.c"))
    argv = ["sh", "-c", f"{child}; true"]
    native = run_native(argv)
    rstest.check(native.returncode == 0, f"sh fails natively: {native}")
    with tempfile.TemporaryDirectory(prefix="rs-exits-") as out:
        status, prog_out, data, err = rstest.run_refscope(args.refscope,
                                                          argv, out)
        rstest.check(status == 0, f"refscope run exited {status}: {err}")
        rstest.check(prog_out == native.stdout, "sh's output differs")
        rstest.check(len(data) == 2, f"expected the shell and leak_direct, "
                     f"got {[d['process']['exe'] for d in data]}")
        shell = rstest.pick_process(data, "main")
        leaker = rstest.pick_process(data, "child")
        rstest.check(os.path.basename(leaker["process"]["exe"]) ==
                     "leak_direct", f"child is {leaker['process']['exe']}")
        snap = shell.get("snapshot")
        rstest.check(snap and os.path.exists(snap), f"no snapshot for the "
                     f"shell ({shell['process']['exe']}): {snap!r}")
        rstest.check(shell["process"].get("exit_status") == 0,
                     f"shell exit_status {shell['process'].get('exit_status')}")
        for f in shell.get("findings", []):
            funcs = rstest.stack_functions(f.get("stack"))
            rstest.check("make_leak" not in funcs and
                         "make_string_leak" not in funcs,
                         f"the shell reports the child's leak: {f}")
        rstest.check_process(leaker, exp["total"]["main"],
                             exp["finding"]["main"], "leak_direct under sh")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--refscope", required=True)
    ap.add_argument("--preload", required=True)
    ap.add_argument("--samples-dir", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("name")
    ap.add_argument("args", nargs="*", help="the sample's arguments")
    args = ap.parse_args()
    rstest.main_wrapper(lambda: check_sh(args) if args.name == "sh"
                        else check_sample(args))


if __name__ == "__main__":
    main()
