#!/usr/bin/env python3
"""bench.py - refscope's overhead on allocation-heavy and refcount-heavy programs.

Part 1, allocations (bench_alloc): the program natively, under refscope
(LD_PRELOAD=librefscope.so, REFSCOPE_QUIET=1, REFSCOPE_STATS=1) at the
default REFSCOPE_DEPTH=32 and at each --depths value, under LeakSanitizer
(liblsan.so.0), under heaptrack (record only: heaptrack -r) and under
valgrind memcheck (with --valgrind-scale times fewer operations, compared
with a native run of the same size).

Part 2, refcount traffic (bench_refs, libbenchobj.so): millions of
bobj_ref/bobj_unref calls natively, under refscope without hooks, and
under refscope with REFSCOPE_HOOKS=benchobj.profile, with the reference
history on (REFSCOPE_HISTORY default) and off (REFSCOPE_HISTORY=0).

Part 3, exit analysis (bench_alloc -n 1 -l N, one worker thread): a
program that leaves N reachable live blocks, for each N of
--analysis-blocks (default 100k, 1M, 4M), under refscope with
REFSCOPE_STATS=1: the analysis time (analysis_ms, stopped_ms) and its
cost per 100,000 blocks, which stays flat when the analysis is linear;
the whole run's wall time natively, under refscope and under
LeakSanitizer (whose leak check also runs at exit).

Part 4, short processes: real programs that do little (true, ls, git
--version, bash -c true, perl -e 1, python3 -c pass, cmake --version,
those installed), natively and under each tool, --short-repeat runs each
(valgrind once): the median wall time natively and what each tool adds
to it, the cost of starting and ending a process (test suites and build
scripts run thousands).

Part 5, reports of many processes: --compiles runs of `gcc -c` on a tiny
file (the driver, cc1 and as: three processes each, all with leaks to
symbolize) under the bare preload, then `refscope report` of every
snapshot (median of 3): what `refscope run -- make` adds after the
build.  The symbolizer opens each file once for all the processes that
loaded it, wherever ASLR put it.

Parts 1 and 2 run once per thread count of --threads (default 1,2).
Each configuration runs --repeat times (valgrind once), in rounds of one
run of each configuration, so that the machine's drift over minutes
(about 20% on the 2-core VM) falls on every row alike; the tables show the
median wall time and CPU time (user+sys, less disturbed by other load on
the machine; a monotonic clock and the child's rusage from wait4, to the
microsecond) with their ratios to native, and the peak RSS (/usr/bin/time
%M, the largest of the runs).  Refscope rows also show its bookkeeping
from the REFSCOPE_STATS line (preload/stats.c): bytes per live block
(block records + stack depot + object table + history, divided by the live
blocks at exit) and, in part 2, the history bytes kept per live object
and the overhead per hooked call.  Without a stats line the per-block
figure is estimated as (RSS - native RSS) / max live blocks and marked
"est.".  The checksum each program prints must agree across tools.

Usage: bench.py --build BUILD_DIR [--threads 1,2] [--ops N] [--repeat R]
                [--valgrind-scale S] [--depths 16,64] [--ref-ops N]
                [--objects O] [--analysis-blocks 100000,1000000,4000000]
                [--short-repeat R] [--compiles N] [--skip tool,tool]
  --skip takes first words of row names: native is never skipped;
  refscope, lsan, heaptrack, valgrind, depth, refs (all of part 2),
  analysis (all of part 3), short (all of part 4), reports (part 5).
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import rstest  # noqa: E402

STATS = re.compile(r"([\d.]+)\s*(?:bytes per (?:live |tracked )?block|"
                   r"bytes/block|B/block)", re.I)
STATS_LINE = re.compile(r"^refscope: stats:(.*)$", re.M)


def timed(argv, extra, tmp):
    """Runs argv with the extra environment under /usr/bin/time; returns
    (wall s, cpu s, max RSS KiB, stdout, stderr).  Wall time is taken
    around the child with a monotonic clock and CPU time (user + sys) from
    its rusage (wait4), so that short runs keep microsecond resolution
    (/usr/bin/time rounds to 10 ms); the peak RSS is /usr/bin/time's %M
    (the rusage of a child forked from Python would count Python's own
    pages before the exec).  The extra variables are set through env(1)
    so that /usr/bin/time itself is not preloaded."""
    tfile = os.path.join(tmp, "time.out")
    sets = [f"{k}={v}" for k, v in extra.items()]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", tfile,
                              "env"] + sets + argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - start
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {p.returncode}: "
                           f"{stderr[-1000:]}")
    with open(tfile) as f:
        rss = int(f.read().split()[-1])
    return (wall, usage.ru_utime + usage.ru_stime, rss, stdout, stderr)


def parse_stats(stderr):
    """The last REFSCOPE_STATS line as a dict of its key=value numbers plus
    "per_block"; {} when there is none."""
    lines = STATS_LINE.findall(stderr)
    if not lines:
        m = STATS.search(stderr)
        return {"per_block": float(m.group(1))} if m else {}
    line = lines[-1]
    out = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}
    m = STATS.search(line)
    if m:
        out["per_block"] = float(m.group(1))
    return out


def summarize(name, runs):
    """The result of the runs (timed() tuples) of one configuration."""
    out = runs[0][3]

    def field(key):
        m = re.search(key + r"=(\w+)", out)
        return m.group(1) if m else None
    return {"name": name,
            "wall": statistics.median(r[0] for r in runs),
            "cpu": statistics.median(r[1] for r in runs),
            "rss": max(r[2] for r in runs),
            "checksum": field("checksum") or "?",
            "max_live": int(field("max_live_blocks") or 0),
            "calls": int(field("ref_calls") or 0),
            "stats": parse_stats(runs[0][4])}


def measure_rounds(jobs, tmp):
    """Runs jobs, (name, argv, extra env, repeat) each, in rounds of one
    run of every job that has runs left; returns summarize() of each, in
    order."""
    runs = [[] for _ in jobs]
    for k in range(max((j[3] for j in jobs), default=0)):
        for i, (_, argv, extra, repeat) in enumerate(jobs):
            if k < repeat:
                runs[i].append(timed(argv, extra, tmp))
    return [summarize(j[0], r) for j, r in zip(jobs, runs)]


def measure(name, argv, extra, repeat, tmp):
    return measure_rounds([(name, argv, extra, repeat)], tmp)[0]


def refscope_env(lib, tmp, **more):
    env = {"LD_PRELOAD": lib, "REFSCOPE_QUIET": "1", "REFSCOPE_STATS": "1",
           "REFSCOPE_OUT": tmp}
    env.update(more)
    return env


def alloc_configs(args, lib, tmp):
    """(name, argv prefix, extra env, ops scale) of part 1."""
    out = [("native", [], {}, 1)]
    if os.path.exists(lib):
        out.append(("refscope", [], refscope_env(lib, tmp), 1))
        for d in filter(None, args.depths.split(",")):
            out.append((f"depth={d}", [],
                        refscope_env(lib, tmp, REFSCOPE_DEPTH=d), 1))
    for name, prefix, extra in other_tools(tmp):
        if name == "valgrind" and not skipped(name, args):
            out.append(("native (small)", [], {}, args.valgrind_scale))
        out.append((name, prefix, extra,
                    args.valgrind_scale if name == "valgrind" else 1))
    return out


def other_tools(tmp):
    """(name, argv prefix, extra env) of the leak checkers refscope is
    compared with, where installed: LeakSanitizer, heaptrack (record
    only) and valgrind memcheck."""
    out = []
    lsan = rstest.find_lsan()
    if lsan:
        out.append(("lsan", [], {"LD_PRELOAD": lsan,
                                 "LSAN_OPTIONS": "exitcode=0"}))
    if shutil.which("heaptrack"):
        out.append(("heaptrack -r", ["heaptrack", "-r", "-o",
                                     os.path.join(tmp, "ht")], {}))
    if shutil.which("valgrind"):
        out.append(("valgrind", ["valgrind", "-q", "--leak-check=full",
                                 "--error-exitcode=0"], {}))
    return out


def ref_configs(lib, tmp):
    """(name, argv prefix, extra env) of part 2: refscope's hooks with
    and without the reference history, then the other tools, which see
    bench_refs as a plain allocating program."""
    prof = os.path.join(HERE, "benchobj.profile")
    return [("native", [], {}),
            ("refscope, no hooks", [], refscope_env(lib, tmp)),
            ("refscope hooks", [], refscope_env(lib, tmp, REFSCOPE_HOOKS=prof)),
            ("hooks, HISTORY=0", [], refscope_env(lib, tmp, REFSCOPE_HOOKS=prof,
                                                  REFSCOPE_HISTORY="0"))
            ] + other_tools(tmp)


def skipped(name, args):
    first = name.split()[0].split("=")[0].rstrip(",")
    return first != "native" and first in args.skip.split(",")


def ratio(r, nat, key):
    return r[key] / nat[key] if nat and nat[key] > 0 else 0.0


def per_block(r, nat):
    st = r["stats"]
    if "per_block" in st:
        return f"{st['per_block']:.1f}"
    if "REFSCOPE_STATS" in r.get("env", {}) and \
            nat and r["max_live"]:
        return f"{(r['rss'] - nat['rss']) * 1024 / r['max_live']:.1f} est."
    return ""


def print_alloc_table(results):
    base = {}
    lsan = next((r for r in results if r["name"] == "lsan"), None)
    print(f"{'tool':<16} {'ops/thread':>10} {'wall s':>7} {'x native':>8} "
          f"{'x lsan':>6} {'cpu s':>7} {'x native':>8} {'peak RSS MiB':>12} "
          f"{'B/live block':>12} checksum")
    for r in results:
        if r["name"].startswith("native"):
            base[r["scale"]] = r
        nat = base.get(r["scale"])
        vs_lsan = (f"{ratio(r, lsan, 'wall'):.2f}"
                   if lsan and r["scale"] == lsan["scale"] else "")
        print(f"{r['name']:<16} {r['ops']:>10} {r['wall']:>7.2f} "
              f"{ratio(r, nat, 'wall'):>8.2f} {vs_lsan:>6} {r['cpu']:>7.2f} "
              f"{ratio(r, nat, 'cpu'):>8.2f} {r['rss'] / 1024:>12.1f} "
              f"{per_block(r, nat):>12} {r['checksum']}")


def print_ref_table(results):
    nat = results[0]
    lsan = next((r for r in results if r["name"] == "lsan"), None)
    print(f"{'config':<19} {'ref calls':>9} {'wall s':>7} {'x native':>8} "
          f"{'x lsan':>6} {'cpu s':>7} {'x native':>8} {'ns/call':>7} "
          f"{'peak RSS MiB':>12} {'objects':>7} {'hist B/obj':>10} "
          f"{'B/live block':>12} checksum")
    for r in results:
        st = r["stats"]
        extra_ns = ""
        if r is not nat and r["calls"]:
            extra_ns = f"{(r['cpu'] - nat['cpu']) * 1e9 / r['calls']:.0f}"
        hist = ""
        if st.get("objects"):
            hist = f"{st.get('history_bytes', 0) / st['objects']:.0f}"
        vs_lsan = f"{ratio(r, lsan, 'wall'):.2f}" if lsan else ""
        print(f"{r['name']:<19} {r['calls']:>9} {r['wall']:>7.3f} "
              f"{ratio(r, nat, 'wall'):>8.2f} {vs_lsan:>6} {r['cpu']:>7.3f} "
              f"{ratio(r, nat, 'cpu'):>8.2f} {extra_ns:>7} "
              f"{r['rss'] / 1024:>12.1f} {st.get('objects', ''):>7} "
              f"{hist:>10} {per_block(r, nat):>12} {r['checksum']}")
    print("ns/call: extra CPU time per bobj_new/ref/unref call over native; "
          "lsan, heaptrack\nand valgrind see no reference calls, only the "
          "allocations.")


def run_alloc(args, threads, lib, tmp):
    exe = os.path.join(args.build, "bin", "bench_alloc")
    jobs, info = [], []
    for name, prefix, extra, scale in alloc_configs(args, lib, tmp):
        if skipped(name, args):
            continue
        ops = max(1, args.ops // scale)
        argv = prefix + [exe, "-t", str(threads), "-n", str(ops),
                         "-l", str(args.long_lived // scale)]
        jobs.append((name, argv, extra, 1 if name == "valgrind" else args.repeat))
        info.append({"scale": scale, "ops": ops, "env": extra})
    results = measure_rounds(jobs, tmp)
    for r, more in zip(results, info):
        r.update(more)
    print(f"== allocations: bench_alloc, {threads} threads, "
          f"{args.long_lived} long-lived blocks, median of {args.repeat}")
    print_alloc_table(results)
    return {(r["scale"], r["checksum"]) for r in results}


def run_refs(args, threads, lib, tmp):
    exe = os.path.join(args.build, "bin", "bench_refs")
    if not os.path.exists(exe) or not os.path.exists(lib):
        print("(no bench_refs or librefscope.so: refcount part skipped)")
        return set()
    argv = [exe, "-t", str(threads), "-n", str(args.ref_ops),
            "-o", str(args.objects)]
    jobs = [(name, prefix + argv, extra, 1 if name == "valgrind" else args.repeat)
            for name, prefix, extra in ref_configs(lib, tmp) if not skipped(name, args)]
    results = measure_rounds(jobs, tmp)
    for r, job in zip(results, jobs):
        r["env"] = job[2]
    print(f"\n== refcount traffic: bench_refs, {threads} threads, "
          f"{args.ref_ops} ops/thread, {args.objects} objects, "
          f"median of {args.repeat}")
    print_ref_table(results)
    return {("refs", r["checksum"]) for r in results}


def run_analysis(args, lib, tmp):
    """Part 3: exit analysis time for programs that leave N live blocks."""
    exe = os.path.join(args.build, "bin", "bench_alloc")
    lsan = rstest.find_lsan()
    rows = []
    for n in [int(x) for x in args.analysis_blocks.split(",") if x]:
        argv = [exe, "-t", "1", "-n", "1", "-l", str(n)]
        runs = [timed(argv, refscope_env(lib, tmp), tmp)
                for _ in range(args.repeat)]
        stats = [parse_stats(r[4]) for r in runs]
        nat = measure("native", argv, {}, args.repeat, tmp)
        ls = (measure("lsan", argv, {"LD_PRELOAD": lsan,
                                     "LSAN_OPTIONS": "exitcode=0"},
                      args.repeat, tmp) if lsan else None)
        rows.append({
            "blocks": max(s.get("live_blocks", 0) for s in stats),
            "analysis": statistics.median(s.get("analysis_ms", 0)
                                          for s in stats),
            "stopped": statistics.median(s.get("stopped_ms", 0)
                                         for s in stats),
            "wall": statistics.median(r[0] for r in runs),
            "native": nat["wall"], "lsan": ls["wall"] if ls else None})
    print(f"\n== exit analysis: bench_alloc -n 1 -l N (N reachable blocks), "
          f"median of {args.repeat}")
    print(f"{'live blocks':>11} {'analysis ms':>11} {'stopped ms':>10} "
          f"{'ms/100k':>7} {'wall s':>7} {'native s':>8} {'lsan s':>7}")
    for r in rows:
        per = r["analysis"] * 100000 / r["blocks"] if r["blocks"] else 0
        ls = f"{r['lsan']:.2f}" if r["lsan"] is not None else ""
        print(f"{r['blocks']:>11} {r['analysis']:>11.0f} {r['stopped']:>10.0f} "
              f"{per:>7.1f} {r['wall']:>7.2f} {r['native']:>8.2f} {ls:>7}")
    print("ms/100k: analysis time per 100,000 live blocks (flat = linear).")


SHORT_PROGRAMS = [["/bin/true"], ["ls", "/usr"], ["git", "--version"],
                  ["bash", "-c", "true"], ["perl", "-e", "1"],
                  ["/usr/bin/python3", "-c", "pass"], ["cmake", "--version"]]


def run_short(args, lib, tmp):
    """Part 4: the cost of starting and ending a process."""
    tools = [("native", [], {})]
    if os.path.exists(lib) and not skipped("refscope", args):
        tools.append(("refscope", [], refscope_env(lib, tmp)))
    tools += [t for t in other_tools(tmp) if not skipped(t[0], args)]
    progs = [p for p in SHORT_PROGRAMS if shutil.which(p[0])]
    print(f"\n== short processes: wall ms natively (median of "
          f"{args.short_repeat}) and what each tool adds (valgrind: 1 run)")
    print(f"{'program':<24} {'native':>7} " +
          " ".join(f"{'+' + t[0].split()[0]:>10}" for t in tools[1:]))
    for prog in progs:
        # The first run of each tool tells whether the program exits 0
        # under it (LSan's preload crashes git and perl here: "fails") and
        # counts as its first measurement; then rounds of the others.
        runs = []
        for name, prefix, extra in tools:
            try:
                runs.append([timed(prefix + prog, extra, tmp)])
            except RuntimeError:
                runs.append(None)
        for k in range(1, args.short_repeat):
            for (name, prefix, extra), r in zip(tools, runs):
                if r is not None and name != "valgrind":
                    r.append(timed(prefix + prog, extra, tmp))
        nat = summarize("native", runs[0])["wall"] * 1000
        row = [f"{'fails':>10}" if r is None else
               f"{summarize(t[0], r)['wall'] * 1000 - nat:>+10.1f}"
               for t, r in zip(tools[1:], runs[1:])]
        print(f"{' '.join(prog)[:24]:<24} {nat:>7.1f} " + " ".join(row))
    print("wall times include /usr/bin/time and env(1), the same for every row;")
    print("fails: the program does not exit 0 under that tool.")


def run_reports(args, lib, tmp):
    """Part 5: `refscope report` of many processes' snapshots."""
    gcc, tool = shutil.which("gcc"), os.path.join(args.build, "bin", "refscope")
    if not gcc or not os.path.exists(tool):
        print("\n== reports of many processes: skipped (no gcc or no refscope)")
        return
    src, out = os.path.join(tmp, "tiny.c"), os.path.join(tmp, "many")
    with open(src, "w") as f:
        f.write("int tiny(int x) { return x + 1; }\n")
    env = refscope_env(lib, tmp, REFSCOPE_OUT=out)
    for _ in range(args.compiles):
        timed([gcc, "-c", src, "-o", os.path.join(tmp, "tiny.o")], env, tmp)
    snaps = sorted(os.path.join(out, n) for n in os.listdir(out))
    runs = [timed([tool, "report"] + snaps, {}, tmp) for _ in range(3)]
    wall = statistics.median(r[0] for r in runs)
    print(f"\n== reports of many processes: {len(snaps)} snapshots of "
          f"{args.compiles} gcc -c runs")
    print(f"refscope report, all of them: {wall * 1000:.0f} ms "
          f"({wall * 1000 / len(snaps):.1f} ms per snapshot), peak RSS "
          f"{max(r[2] for r in runs)} KiB")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--threads", default="1,2",
                    help="thread counts for parts 1 and 2, e.g. 1,2")
    ap.add_argument("--ops", type=int, default=2000000)
    ap.add_argument("--long-lived", type=int, default=100000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--valgrind-scale", type=int, default=10)
    ap.add_argument("--depths", default="16,64",
                    help="extra REFSCOPE_DEPTH rows (32 is the default row)")
    ap.add_argument("--ref-ops", type=int, default=1000000)
    ap.add_argument("--objects", type=int, default=20000)
    ap.add_argument("--analysis-blocks", default="100000,1000000,4000000")
    ap.add_argument("--short-repeat", type=int, default=11)
    ap.add_argument("--compiles", type=int, default=50)
    ap.add_argument("--skip", default="")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    lib = os.path.join(args.build, "lib", "librefscope.so")
    skip = args.skip.split(",")
    sums = set()
    with tempfile.TemporaryDirectory(prefix="rs-bench-") as tmp:
        for threads in [int(t) for t in args.threads.split(",") if t]:
            sums |= {(f"{threads}:{k}", c)
                     for k, c in run_alloc(args, threads, lib, tmp)}
            if "refs" not in skip:
                sums |= {(f"{threads}:{k}", c)
                         for k, c in run_refs(args, threads, lib, tmp)}
            print()
        if "analysis" not in skip and os.path.exists(lib):
            run_analysis(args, lib, tmp)
        if "short" not in skip:
            run_short(args, lib, tmp)
        if "reports" not in skip and os.path.exists(lib):
            run_reports(args, lib, tmp)
    if len({s for s, _ in sums}) != len(sums):
        print("WARNING: checksums differ between tools", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
