#!/usr/bin/env python3
"""test_sample - runs one sample under `refscope run --json` and asserts
exactly what the sample's header promises (see rstest.py for the format):
summary bytes/blocks per class, the findings one to one with their
allocating function, the process's argv where the header gives it, the exit status, that the program's own output is the
same as when run natively, and that `refscope report --json SNAPSHOT`
reproduces each process's summary.  Usage:
    test_sample.py --refscope PATH --samples-dir DIR --source-dir DIR NAME
"""
import json
import os
import subprocess
import tempfile

import rstest


def run(args):
    exe = os.path.join(args.samples_dir, args.name)
    exp = rstest.read_expectations(os.path.join(args.source_dir,
                                                args.name + ".c"))
    if "ptrace" in exp["needs"] and not rstest.ptrace_allowed():
        rstest.skip(f"{args.name} needs ptrace, which this machine forbids")
    native = subprocess.run([exe], capture_output=True, text=True,
                            timeout=300)
    rstest.check(native.returncode == 0, f"{args.name} fails natively: "
                 f"{native.returncode} {native.stderr}")
    with tempfile.TemporaryDirectory(prefix="rs-sample-") as out:
        status, prog_out, data, err = rstest.run_refscope(args.refscope,
                                                          [exe], out)
        rstest.check(status == 0, f"refscope run exited {status}, the "
                     f"program exits 0; stderr:\n{err}")
        rstest.check(prog_out == native.stdout, "program output differs "
                     f"under refscope:\n--- native\n{native.stdout}"
                     f"--- refscope\n{prog_out}")
        roles = rstest.processes_of(exp)
        rstest.check(len(data) == len(roles), f"expected {len(roles)} "
                     f"process object(s), got {len(data)}")
        for role in roles:
            obj = rstest.pick_process(data, role)
            where = f"{args.name} ({role}, pid {obj['process']['pid']})"
            rstest.check(obj["process"].get("exit_status") == 0,
                         f"{where}: exit_status {obj['process'].get('exit_status')}")
            rstest.check_process(obj, exp["total"].get(role, {}),
                                 exp["finding"].get(role, []), where)
            check_argv(obj, exp["argv"].get(role), exe, where)
            check_report(args.refscope, obj, where)


def check_argv(obj, expected, exe, where):
    """The process's argv is the header's @argv line ({exe}: the path the
    sample was run by), when it has one."""
    if expected is None:
        return
    want = [exe if a == "{exe}" else a for a in expected]
    got = obj["process"].get("argv")
    rstest.check(got == want, f"{where}: argv {got!r}, want {want!r}")


def check_report(refscope, obj, where):
    """`refscope report --json` of the process's snapshot must give the
    same summary as the run did."""
    snap = obj.get("snapshot")
    rstest.check(snap and os.path.exists(snap), f"{where}: snapshot "
                 f"{snap!r} does not exist")
    p = subprocess.run([refscope, "report", "--json", snap],
                       capture_output=True, text=True, timeout=120)
    rstest.check(p.returncode == 0, f"{where}: refscope report exited "
                 f"{p.returncode}: {p.stderr}")
    rep = json.loads(p.stdout)
    if isinstance(rep, list) and len(rep) == 1:
        rep = rep[0]
    rstest.check(rep.get("summary") == obj["summary"], f"{where}: report "
                 f"summary {rep.get('summary')} != run summary "
                 f"{obj['summary']}")



if __name__ == "__main__":
    rstest.script_main(__doc__, run, "--refscope", "--samples-dir", "--source-dir", "name")
