#!/usr/bin/env python3
"""fuzz.py - refscope's fuzz test of everything it reads from outside:
snapshot files (every subcommand that reads them), the suppression and
baseline files of `refscope check`, hook profiles (REFSCOPE_HOOKS, read
by the preload in the target) and the preload's REFSCOPE_* settings.

Deterministic: a campaign's cases come from one seeded random.Random, so
`--seed S --cases N` repeats the same mutations of the same inputs (made
fresh from the build, see seeds.py: only their addresses and pids differ
from run to run).  The rule every case is held to
(oracle.py): bad input gives one line saying what is wrong and where,
the documented exit status (2 for bad input), never a death by signal,
never a hang (a per-case timeout, 20 s by default, only detects hangs),
never a partial or changed output file, no raw control character in an
error line or a text report (names from the snapshot are escaped); a
program run under the preload
with a bad profile or setting prints and exits exactly as without
refscope.  Fixed regression cases (regressions.py) run first.

Usage:
    fuzz.py --build DIR --source-dir SRC CAMPAIGN... [--seed S] [--cases N]
            [--timeout SEC] [--work DIR] [--keep] [--sanitize]
CAMPAIGN: snapshots, check-files, profiles, settings, or all.  ctest runs
each with a fixed seed and a few hundred cases (fuzz.<campaign>, label
fuzz); for a longer run by hand, e.g.
    python3 tests/fuzz/fuzz.py --build build --source-dir . all \\
        --seed 7 --cases 5000
--sanitize builds the refscope tool with AddressSanitizer and UBSan in
the work directory (a few minutes; --sanitize-build DIR reuses one) and
runs the tool's cases under it.  Failing cases are kept in
WORK/failures/<campaign>-<n>/ with the input and the command; exit
status 1 when any case failed, 2 on a usage or set-up error.
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True      # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fuzz_checkfiles  # noqa: E402
import fuzz_profiles  # noqa: E402
import fuzz_settings  # noqa: E402
import fuzz_snapshots  # noqa: E402
import regressions  # noqa: E402
import seeds  # noqa: E402

CAMPAIGNS = ["snapshots", "check-files", "profiles", "settings"]


class Context:
    """What every campaign needs: paths, the tool's environment, the
    timeout, the seed inputs."""

    def __init__(self, args, work):
        self.build = os.path.abspath(args.build)
        self.source_dir = os.path.abspath(args.source_dir)
        self.refscope = os.path.join(self.build, "bin", "refscope")
        self.preload = os.path.join(self.build, "lib", "librefscope.so")
        self.samples_dir = os.path.join(self.build, "samples")
        self.work = work
        self.timeout = args.timeout
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("REFSCOPE_") or k == "LD_PRELOAD":
                del env[k]
        env["CI"] = "1"                       # no progress lines
        env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0"
        env["UBSAN_OPTIONS"] = "print_stacktrace=1"
        self.clean_env = dict(env)
        self.tool_env = env
        self.snapshots = seeds.make_snapshots(
            self.refscope, self.samples_dir, os.path.join(work, "seed-snaps"),
            self.source_dir)


def sanitized_tool(args, work):
    """Builds the refscope tool with ASan+UBSan, every library it links
    included; returns its path."""
    out = args.sanitize_build or os.path.join(work, "asan-build")
    if not os.path.exists(os.path.join(out, "bin", "refscope")):
        subprocess.run(["cmake", "-S", os.path.abspath(args.source_dir), "-B", out,
                        "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                        # REFSCOPE_SANITIZE covers lib/report and the tool;
                        # the flags, the snapshot reader and lib/model too.
                        "-DCMAKE_C_FLAGS=-fsanitize=address,undefined "
                        "-fno-omit-frame-pointer",
                        "-DREFSCOPE_SANITIZE=address,undefined",
                        "-DREFSCOPE_BUILD_TESTS=OFF", "-DREFSCOPE_BUILD_BENCH=OFF"],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", out, "--target", "refscope", "-j2"],
                       check=True, stdout=subprocess.DEVNULL)
    return os.path.join(out, "bin", "refscope")


def keep_failure(ctx, campaign, n, case_dir, what, problems, res):
    dest = os.path.join(ctx.work, "failures", f"{campaign}-{n}")
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(case_dir, dest, symlinks=True,
                    ignore=lambda d, names: [x for x in names if x == "fifo"])
    with open(os.path.join(dest, "CASE.txt"), "w", encoding="utf-8") as f:
        f.write(f"{what}\nproblems:\n")
        for p in problems:
            f.write(f"  {p}\n")
        if res is not None:
            f.write(f"exit status: {res.rc}\nstderr:\n"
                    f"{res.stderr[-3000:].decode('utf-8', 'replace')}\n")
    return dest


def run_campaign(ctx, name, seed, cases):
    """Runs the regression cases, then `cases` random ones; returns the
    number of failures."""
    rng = random.Random(f"{name}:{seed}")
    runner = {"snapshots": fuzz_snapshots.Campaign,
              "check-files": fuzz_checkfiles.Campaign,
              "profiles": fuzz_profiles.Campaign,
              "settings": fuzz_settings.Campaign}[name](ctx)
    fixed = regressions.cases(name)
    failures, start, statuses = 0, time.monotonic(), {}
    for n in range(len(fixed) + cases):
        case_dir = os.path.join(ctx.work, "case")
        shutil.rmtree(case_dir, ignore_errors=True)
        os.makedirs(case_dir)
        if n < len(fixed):
            problems, what, res = fixed[n](ctx, runner, case_dir)
            what = f"regression {fixed[n].__name__}: {what}"
        else:
            problems, what, res = runner.case(rng, case_dir)
        key = "hang" if res is None or res.timed_out else res.rc
        statuses[key] = statuses.get(key, 0) + 1
        if problems:
            failures += 1
            dest = keep_failure(ctx, name, n, case_dir, what, problems, res)
            print(f"FAIL {name} case {n}: {what}", flush=True)
            for p in problems:
                print(f"    {p}", flush=True)
            print(f"    kept in {dest}", flush=True)
    took = time.monotonic() - start
    print(f"fuzz {name}: seed {seed}, {len(fixed)} regression and {cases} "
          f"random cases, {failures} failed ({took:.1f} s); exit statuses "
          f"{dict(sorted(statuses.items(), key=str))}", flush=True)
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("campaigns", nargs="+", choices=CAMPAIGNS + ["all"])
    ap.add_argument("--build", required=True, help="refscope's build directory")
    ap.add_argument("--source-dir", required=True, help="refscope's source tree")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cases", type=int, default=200, help="random cases per campaign")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per case")
    ap.add_argument("--work", help="work directory (default: a new temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--sanitize", action="store_true",
                    help="run the tool's cases under an ASan+UBSan build of it")
    ap.add_argument("--sanitize-build", help="reuse this ASan+UBSan build directory")
    args = ap.parse_args()
    campaigns = CAMPAIGNS if "all" in args.campaigns else args.campaigns
    work = os.path.abspath(args.work) if args.work else tempfile.mkdtemp(prefix="refscope-fuzz.")
    os.makedirs(work, exist_ok=True)
    try:
        ctx = Context(args, work)
        if args.sanitize or args.sanitize_build:
            ctx.refscope = sanitized_tool(args, work)
    except (seeds.SeedError, subprocess.SubprocessError, OSError) as e:
        print(f"fuzz.py: cannot set up: {e}", file=sys.stderr)
        return 2
    failures = sum(run_campaign(ctx, c, args.seed, args.cases) for c in campaigns)
    if failures or args.keep or args.work:
        print(f"fuzz: work directory kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
