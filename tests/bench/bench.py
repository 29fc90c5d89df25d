#!/usr/bin/env python3
"""bench.py - refscope's overhead on an allocation-heavy program.

Runs bench_alloc natively, under refscope (LD_PRELOAD=librefscope.so,
REFSCOPE_QUIET=1, REFSCOPE_STATS=1), under LeakSanitizer (liblsan.so.0),
under heaptrack (record only: heaptrack -r) and under valgrind memcheck
(with --valgrind-scale times fewer operations, compared with a native run
of the same size).  Each configuration runs --repeat times; the table shows
the median wall time, its ratio to native, the peak RSS (/usr/bin/time
%M) and refscope's bookkeeping bytes per live block.  That last figure
comes from the preload's REFSCOPE_STATS output when it prints one (a line
with "bytes per block" / "bytes/block"); otherwise it is estimated as
(RSS under refscope - native RSS) / max live blocks and marked "est.".
The checksum printed by bench_alloc must agree across tools.

Usage: bench.py --build BUILD_DIR [--threads T] [--ops N] [--repeat R]
                [--valgrind-scale S] [--skip tool,tool]
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import rstest  # noqa: E402

STATS = re.compile(r"([\d.]+)\s*(?:bytes per (?:live |tracked )?block|"
                   r"bytes/block|B/block)", re.I)


def timed(argv, env, tmp):
    """Runs argv under /usr/bin/time; returns (seconds, max RSS KiB,
    stdout, stderr)."""
    tfile = os.path.join(tmp, "time.out")
    p = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", tfile] + argv,
                       env=env, capture_output=True, text=True, timeout=3600)
    if p.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {p.returncode}: "
                           f"{p.stderr[-1000:]}")
    with open(tfile) as f:
        secs, rss = f.read().split()[-2:]
    return float(secs), int(rss), p.stdout, p.stderr


def measure(name, argv, env, repeat, tmp):
    runs = [timed(argv, env, tmp) for _ in range(repeat)]
    secs = statistics.median(r[0] for r in runs)
    rss = max(r[1] for r in runs)
    m = re.search(r"checksum=(\w+)", runs[0][2])
    live = re.search(r"max_live_blocks=(\d+)", runs[0][2])
    stats = STATS.search(runs[0][3])
    return {"name": name, "secs": secs, "rss": rss,
            "checksum": m.group(1) if m else "?",
            "max_live": int(live.group(1)) if live else 0,
            "stats": float(stats.group(1)) if stats else None}


def configs(args, tmp):
    """(name, argv prefix, extra env, ops scale) of every tool to run."""
    lib = os.path.join(args.build, "lib", "librefscope.so")
    lsan = rstest.find_lsan()
    out = [("native", [], {}, 1)]
    if os.path.exists(lib):
        out.append(("refscope", [], {"LD_PRELOAD": lib, "REFSCOPE_QUIET": "1",
                                     "REFSCOPE_STATS": "1",
                                     "REFSCOPE_OUT": tmp}, 1))
    if lsan:
        out.append(("lsan", [], {"LD_PRELOAD": lsan,
                                 "LSAN_OPTIONS": "exitcode=0"}, 1))
    if shutil.which("heaptrack"):
        out.append(("heaptrack -r", ["heaptrack", "-r", "-o",
                                     os.path.join(tmp, "ht")], {}, 1))
    if shutil.which("valgrind"):
        out.append(("native (small)", [], {}, args.valgrind_scale))
        out.append(("valgrind", ["valgrind", "-q", "--leak-check=full",
                                 "--error-exitcode=0"], {},
                    args.valgrind_scale))
    return [c for c in out if c[0].split()[0] not in args.skip.split(",")]


def print_table(results):
    base = {1: None}
    print(f"{'tool':<16} {'ops/thread':>10} {'wall s':>8} {'x native':>9} "
          f"{'peak RSS MiB':>13} {'B/live block':>13} checksum")
    for r in results:
        if r["name"].startswith("native"):
            base[r["scale"]] = r
        nat = base.get(r["scale"])
        ratio = r["secs"] / nat["secs"] if nat and nat["secs"] > 0 else 0
        per_block = ""
        if r["name"] == "refscope":
            if r["stats"] is not None:
                per_block = f"{r['stats']:.1f}"
            elif nat and r["max_live"]:
                per_block = (f"{(r['rss'] - nat['rss']) * 1024 / r['max_live']:.1f}"
                             " est.")
        print(f"{r['name']:<16} {r['ops']:>10} {r['secs']:>8.2f} "
              f"{ratio:>9.2f} {r['rss'] / 1024:>13.1f} {per_block:>13} "
              f"{r['checksum']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ops", type=int, default=2000000)
    ap.add_argument("--long-lived", type=int, default=100000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--valgrind-scale", type=int, default=10)
    ap.add_argument("--skip", default="")
    args = ap.parse_args()
    exe = os.path.join(args.build, "bin", "bench_alloc")
    results = []
    with tempfile.TemporaryDirectory(prefix="rs-bench-") as tmp:
        for name, prefix, extra, scale in configs(args, tmp):
            ops = max(1, args.ops // scale)
            argv = prefix + [exe, "-t", str(args.threads), "-n", str(ops),
                             "-l", str(args.long_lived // scale)]
            env = dict(os.environ, **extra)
            r = measure(name, argv, env, 1 if name == "valgrind"
                        else args.repeat, tmp)
            r.update(scale=scale, ops=ops)
            results.append(r)
    print_table(results)
    sums = {(r["scale"], r["checksum"]) for r in results}
    if len({s for s, _ in sums}) != len(sums):
        print("WARNING: checksums differ between tools", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
