#!/usr/bin/env python3
"""lsan_compare - runs every sample under LeakSanitizer (liblsan.so.0 via
LD_PRELOAD) and, when given refscope, under refscope too; prints their
leak numbers side by side with what each sample's header promises.

Fails when LeakSanitizer's numbers differ from the sample's @lsan lines
(a disagreement the header does not explain), when refscope's leaked /
indirect totals differ from the @total lines, or when the sample's exit
status under LeakSanitizer is not its native one and the header does not
say so with "@lsan-exit N" (LSan's numbers then say nothing: a run it
did not finish reports no leak).  Usage:
    lsan_compare.py --samples-dir DIR --source-dir DIR [--refscope PATH]
                    [--only NAME,NAME]
"""
import argparse
import os
import subprocess
import tempfile

import rstest


def fmt(t):
    return f"{t[0]}/{t[1]}"


def shell_status(returncode):
    """A subprocess return code as a shell reports it (128 + signal)."""
    return 128 - returncode if returncode < 0 else returncode


def refscope_numbers(refscope, exe, role_list):
    with tempfile.TemporaryDirectory(prefix="rs-cmp-") as out:
        _, _, data, _ = rstest.run_refscope(refscope, [exe], out)
    res = {}
    for role in role_list:
        s = rstest.pick_process(data, role)["summary"]
        res[role] = {k: (s[k]["bytes"], s[k]["blocks"])
                     for k in ("leaked", "indirect")}
    return res


# Samples that need REFSCOPE_HOOKS (librcobj, and the real libraries of
# the built-in profiles): test_refcount.py runs them, not this comparison.
LIBRARY_SAMPLES = ("plugin_", "rcobj", "gobject_", "gst_", "cairo_",
                   "harfbuzz_", "dbus_", "openssl_", "sdbus_")


def compare(args):
    lsan = rstest.find_lsan()
    rstest.check(lsan is not None, "liblsan.so.0 not found (apt: liblsan0)")
    names = sorted(n[:-2] for n in os.listdir(args.source_dir)
                   if n.endswith(".c") and n != "sample_util.c"
                   and not n.startswith(LIBRARY_SAMPLES))
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    failures = []
    print(f"{'sample':<18} {'proc':<5} | {'lsan direct':>11} "
          f"{'lsan indir':>10} {'expected':>17} | {'rs leaked':>9} "
          f"{'rs indir':>9} {'expected':>17} | verdict")
    for name in names:
        exp = rstest.read_expectations(os.path.join(args.source_dir,
                                                    name + ".c"))
        exe = os.path.join(args.samples_dir, name)
        roles = rstest.processes_of(exp)
        status, _, logs = rstest.run_lsan(lsan, [exe])
        status = shell_status(status)
        native = shell_status(subprocess.run([exe], capture_output=True,
                                             timeout=300).returncode)
        want = native if exp["lsan_exit"] is None else exp["lsan_exit"]
        if status != want:
            failures.append(f"{name}: exit status {status} under LSan, "
                            f"{native} natively; the header's @lsan-exit: "
                            f"{exp['lsan_exit']}")
        rs = refscope_numbers(args.refscope, exe, roles) if args.refscope \
            else {}
        for role in roles:
            got = rstest.lsan_result(logs, role)
            want = {k: exp["lsan"].get(role, {}).get(k, (0, 0))
                    for k in ("direct", "indirect")}
            totals = exp["total"].get(role, {})
            rs_want = {k: totals.get(k, (False, 0, 0))[1:]
                       for k in ("leaked", "indirect")}
            verdict = []
            checked = exp["lsan_exit"] is None    # else LSan checked nothing
            if checked and got != want:
                verdict.append("LSan differs from header")
            rs_got = rs.get(role)
            if rs_got is not None and rs_got != rs_want:
                verdict.append("refscope differs from header")
            print(f"{name:<18} {role:<5} | "
                  f"{fmt(got['direct']) if checked else 'no check':>11} "
                  f"{fmt(got['indirect']) if checked else '-':>10} "
                  f"{fmt(want['direct']) + '+' + fmt(want['indirect']):>17} | "
                  f"{fmt(rs_got['leaked']) if rs_got else '-':>9} "
                  f"{fmt(rs_got['indirect']) if rs_got else '-':>9} "
                  f"{fmt(rs_want['leaked']) + '+' + fmt(rs_want['indirect']):>17}"
                  f" | {', '.join(verdict) or 'ok'}")
            if verdict:
                failures.append(f"{name} ({role}): {', '.join(verdict)}")
    rstest.check(not failures, "unexplained disagreements:\n  "
                 + "\n  ".join(failures))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples-dir", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--refscope")
    ap.add_argument("--only")
    args = ap.parse_args()
    rstest.main_wrapper(lambda: compare(args))


if __name__ == "__main__":
    main()
