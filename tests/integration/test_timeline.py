#!/usr/bin/env python3
"""test_timeline - snapshots during a run and the tools that compare and
explain them: refscope diff, trend, chain, graph, export, report --folded.

  * samples/cache_growth takes a snapshot after each of four rounds
    (refscope_snapshot annotations): the diff of two rounds must have
    make_value on top with +100 blocks / +9600 bytes; the trend over the
    rounds must flag make_value and make_entry as growing in 3/3
    intervals; the chain to make_value must go from the global 'cache'
    through the bucket array (cache_init) and an entry (make_entry); the
    DOT graph of the leaks must have 6 blocks and 5 pointers; export and
    report --folded must agree with the snapshot.
  * samples/daemon_signal --wait is snapshotted by SIGUSR2 sent from here
    between rounds (bare preload); the diff of the first and last signal
    snapshot must show make_session +100 / +6400.
  * refscope run --snapshot-every and --snapshot-on-signal.
  * corrupt, truncated, missing and mismatched snapshots give exit 2 and
    one clear line; usage errors exit 2.
Usage: test_timeline.py --refscope PATH --preload PATH --samples-dir DIR
"""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import rstest

check = rstest.check


def tool(args, *argv, ok=(0,), timeout=120):
    p = subprocess.run([args.refscope] + list(argv), capture_output=True,
                       text=True, timeout=timeout)
    check(p.returncode in ok, f"refscope {' '.join(argv)} exited "
          f"{p.returncode}, expected {ok}:\n{p.stdout[-2000:]}\n{p.stderr}")
    return p


def tool_json(args, *argv):
    return json.loads(tool(args, *argv).stdout)


def snaps(outdir, pattern):
    return sorted(glob.glob(os.path.join(outdir, pattern)),
                  key=lambda p: int(re.search(r"\.(\d+)(?:-[^.]*)?\.rsnap$",
                                              p).group(1)))


# ---- cache_growth: annotations ------------------------------------------

def run_cache_growth(args, outdir):
    exe = os.path.join(args.samples_dir, "cache_growth")
    status, _, data, err = rstest.run_refscope(args.refscope, [exe], outdir)
    check(status == 0, f"cache_growth under refscope run exited {status}: {err}")
    check(len(data) == 1, f"run must report the exit snapshot only, got "
          f"{len(data)} process objects")
    rounds = snaps(outdir, "cache_growth.*-round*.rsnap")
    check(len(rounds) == 4, f"expected 4 round snapshots, got {rounds}")
    for i, path in enumerate(rounds):
        check(path.endswith(f"-round{i + 1}.rsnap"), f"bad name {path}")
    final = [p for p in snaps(outdir, "cache_growth.*.rsnap")
             if "-round" not in p]
    check(len(final) == 1, f"expected one exit snapshot, got {final}")
    return rounds, final[0]


def check_diff(args, rounds):
    d = tool_json(args, "diff", "--json", rounds[0], rounds[1])
    top = d["rows"][0]
    check(top["label"].startswith("make_value "), f"top row {top}")
    check((top["count_delta"], top["bytes_delta"]) == (100, 9600),
          f"top row deltas {top}")
    check((top["count_before"], top["count_after"]) == (100, 200), f"{top}")
    check(d["old"]["label"] == "round1" and d["new"]["label"] == "round2",
          f"labels {d['old']} {d['new']}")
    second = d["rows"][1]
    check(second["label"].startswith("make_entry ") and
          second["bytes_delta"] == 4800, f"second row {second}")
    # --sort count, --by function, --min-delta, --limit, --class
    d = tool_json(args, "diff", "--json", "--by", "function", "--min-delta",
                  "1", rounds[0], rounds[3])
    labels = [r["key"] for r in d["rows"]]
    check(labels[:2] == ["make_value", "make_entry"] and
          "cache_init" not in labels, f"--by function --min-delta: {labels}")
    check(d["rows"][0]["bytes_delta"] == 28800, f"{d['rows'][0]}")
    d = tool_json(args, "diff", "--json", "--limit", "1", "--sort", "count",
                  rounds[0], rounds[1])
    check(len(d["rows"]) == 1 and d["rows_cut"] >= 1, f"--limit: {d}")
    d = tool_json(args, "diff", "--json", "--class", "leaked", rounds[0],
                  rounds[1])
    check(d["rows"] == [] or all(r["count_delta"] == 0 for r in d["rows"]),
          f"--class leaked: {d['rows']}")
    text = tool(args, "diff", rounds[0], rounds[1]).stdout
    check(re.search(r"\b100\s+200\s+\+100\s+9600\s+19200\s+\+9600\s+make_value",
                    text), f"text diff:\n{text}")


def check_trend(args, rounds):
    t = tool_json(args, "trend", "--json", *rounds)
    found = {f["label"].split()[0]: f for f in t["findings"]}
    check(set(found) == {"make_value", "make_entry"}, f"trend: {list(found)}")
    v = found["make_value"]
    check((v["grew_in"], v["intervals"], v["bytes_per_interval"],
           v["count_per_interval"]) == (3, 3, 9600, 100), f"trend {v}")
    check(v["bytes"] == [9600, 19200, 28800, 38400], f"trend bytes {v}")
    check(t["findings"][0]["label"].startswith("make_value"), "order")
    t = tool_json(args, "trend", "--json", "--by", "type", *rounds)
    check(any(f["key"] == "plain from make_value" for f in t["findings"]),
          f"trend --by type: {[f['key'] for f in t['findings']]}")


def check_chain(args, final):
    c = tool_json(args, "chain", "--json", "--max", "1", final, "make_value")
    check(len(c["chains"]) == 1, f"chains: {c}")
    ch = c["chains"][0]
    root = ch["root"]
    check(root and root["kind"] == "global" and root["symbol"] == "cache" and
          root["offset"] == 0, f"chain root {root}")
    check(os.path.basename(root["module"]) == "cache_growth", f"{root}")
    funcs = [h["function"] for h in ch["hops"]]
    check(funcs == ["cache_init", "make_entry", "make_value"],
          f"chain hops {funcs}")
    sizes = [h["size"] for h in ch["hops"]]
    check(sizes == [512, 48, 96], f"chain sizes {sizes}")
    offs = [h["offset"] for h in ch["hops"]]
    check(offs[0] is None and offs[1] % 8 == 0 and offs[1] < 512 and
          offs[2] == 32, f"chain offsets {offs}")
    check(all(h["class"] == "reachable" for h in ch["hops"]), f"{ch}")
    # An unreachable target: the chain from the leaked entry holding it.
    exp = tool_json(args, "export", "--json", final)
    leaked_vals = [b for b in exp["blocks"] if b["class"] == "indirect"
                   and b["size"] == 96]
    check(len(leaked_vals) == 3, f"indirect values in export: {leaked_vals}")
    c = tool_json(args, "chain", "--json", final, leaked_vals[0]["address"])
    ch = c["chains"][0]
    check(ch["root"] is None and ch["hops"][0]["class"] == "leaked" and
          ch["hops"][-1]["address"] == leaked_vals[0]["address"] and
          ch["hops"][-1]["offset"] == 32, f"leak chain {ch}")
    # --referrers: the bucket array has exactly one referrer, the global.
    r = tool_json(args, "chain", "--json", "--referrers", final, "cache_init")
    check(len(r["referrers"]) == 1 and r["referrers"][0]["root"]["symbol"]
          == "cache", f"referrers {r}")
    # finding numbers: #1 is the largest leak of the report
    rep = tool_json(args, "report", "--json", final)
    c = tool_json(args, "chain", "--json", final, "#1")
    first = rep["findings"][0]
    check(c["chains"][0]["hops"][-1]["function"] ==
          rstest.program_frame(first["stack"])["function"], f"#1: {c}")
    tool(args, "chain", final, "no_such_function", ok=(1,))
    tool(args, "chain", final, "#99", ok=(1,))


def dot_counts(text):
    nodes = len(re.findall(r"^\s*[br]\d+ \[label=", text, re.M))
    edges = len(re.findall(r"->", text))
    return nodes, edges


def check_graph(args, final, outdir):
    text = tool(args, "graph", final).stdout
    check(text.startswith("digraph refscope {") and text.rstrip().endswith("}"),
          f"not DOT:\n{text[:300]}")
    check(dot_counts(text) == (6, 5), f"leak graph counts {dot_counts(text)}:"
          f"\n{text}")
    text = tool(args, "graph", "--around", "cache_init", "--depth", "1",
                final).stdout
    check(dot_counts(text) == (2, 1), f"--around cache_init: "
          f"{dot_counts(text)}\n{text}")
    check("global 'cache'+0" in text, f"root label missing:\n{text}")
    check(tool(args, "graph", "--cycles", final).stdout.count("->") == 0,
          "no cycles expected")
    svg = os.path.join(outdir, "g.svg")
    if shutil.which("dot"):
        tool(args, "graph", "-o", svg, final)
        with open(svg, encoding="utf-8") as f:
            check("<svg" in f.read(), "dot did not write an SVG")
    else:
        p = tool(args, "graph", "-o", svg, final, ok=(2,))
        check("graphviz" in p.stderr.lower(), f"no clear message: {p.stderr}")


def check_export_folded(args, final):
    exp = tool_json(args, "export", "--json", final)
    check(exp["format"] == "refscope-snapshot-json" and exp["version"] == 1,
          f"export header {list(exp)[:4]}")
    n = len(exp["blocks"])
    check(all(0 <= e[0] < n and 0 <= e[1] < n for e in exp["edges"]), "edges")
    check(exp["process"]["reason"] == "exit", f"{exp['process']}")
    leaked = [b for b in exp["blocks"] if b["class"] == "leaked"]
    check(len(leaked) == 1 and leaked[0]["size"] == 48, f"{leaked}")
    folded = tool(args, "report", "--folded", final).stdout.splitlines()
    rep = tool_json(args, "report", "--json", final)
    check(len(folded) == len(rep["findings"]), f"folded {folded}")
    total = sum(int(l.rsplit(" ", 1)[1]) for l in folded)
    check(total == sum(f["bytes"] for f in rep["findings"]), "folded bytes")
    check(any(l.endswith("main;build_lost_list;make_entry 48")
              or ";main;build_lost_list;make_entry 48" in l for l in folded),
          f"folded lines:\n" + "\n".join(folded))
    check(all(not l.split(";")[0].startswith("make_") for l in folded),
          "folded stacks must start at the outermost frame")


# ---- daemon_signal: the signal, from outside -------------------------------

def wait_for(pattern, count, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = glob.glob(pattern)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise rstest.TestFailure(f"timed out waiting for {count} x {pattern}")


def run_daemon(args, outdir):
    exe = os.path.join(args.samples_dir, "daemon_signal")
    env = rstest.preload_env(args.preload, outdir, REFSCOPE_QUIET=1,
                             REFSCOPE_SNAPSHOT_SIGNAL="on")
    p = subprocess.Popen([exe, "--wait"], env=env, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        for r in range(1, 4):
            line = p.stdout.readline()
            check(line == f"round {r}\n", f"daemon said {line!r}")
            p.send_signal(signal.SIGUSR2)
            wait_for(os.path.join(outdir, "daemon_signal.*-signal.rsnap"), r)
            p.stdin.write("\n")
            p.stdin.flush()
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    check(p.returncode == 0, f"daemon exited {p.returncode}: {err}")
    check(out == "served 3 rounds\n", f"daemon output {out!r}")
    sig = snaps(outdir, "daemon_signal.*-signal.rsnap")
    check(len(sig) == 3, f"signal snapshots {sig}")
    d = tool_json(args, "diff", "--json", sig[0], sig[2])
    top = d["rows"][0]
    check(top["label"].startswith("make_session") and
          (top["count_delta"], top["bytes_delta"]) == (100, 6400),
          f"daemon diff top row {top}")
    check(d["new"]["label"] == "signal", f"{d['new']}")
    # The helper thread is refscope's: no root may come from its stack.
    exp = tool_json(args, "export", "--json", sig[1])
    tids = {r["tid"] for r in exp["roots"] if r["kind"] == "stack"}
    check(len(tids) == 1, f"stack roots of threads {tids}: only the "
          "program's main thread may appear")
    return sig


def run_with_options(args, outdir):
    exe = os.path.join(args.samples_dir, "daemon_signal")
    p = subprocess.run([args.refscope, "run", "--out", outdir,
                        "--snapshot-every", "20ms", "--json", "--", exe],
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, f"run --snapshot-every: {p.returncode} {p.stderr}")
    data = json.loads(p.stdout)     # --json without -o: stdout is the JSON
    check(len(data) == 1, f"run --snapshot-every reported {len(data)} objects")
    tool(args, "run", "--snapshot-every", "5x", "--", exe, ok=(2,))
    p = subprocess.Popen([args.refscope, "run", "--out", outdir,
                          "--snapshot-on-signal", "--", exe, "--wait"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    check(line == "round 1\n", f"daemon under run said {line!r}")
    pid = None
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == p.pid:
                    pid = int(name)
            except OSError:
                continue
    check(pid is not None, "cannot find the program started by refscope run")
    os.kill(pid, signal.SIGUSR2)
    wait_for(os.path.join(outdir, f"daemon_signal.{pid}.*-signal.rsnap"), 1)
    out, err = p.communicate("\n\n", timeout=60)
    check(p.returncode == 0, f"run --snapshot-on-signal: {err}")


# ---- bad inputs ------------------------------------------------------------

def check_bad_inputs(args, rounds, other, tmp):
    good = rounds[0]
    with open(good, "rb") as f:
        data = f.read()
    trunc = os.path.join(tmp, "trunc.rsnap")
    with open(trunc, "wb") as f:
        f.write(data[:len(data) // 2])
    corrupt = os.path.join(tmp, "corrupt.rsnap")
    with open(corrupt, "wb") as f:
        f.write(b"XXXX" + data[4:])
    missing = os.path.join(tmp, "missing.rsnap")
    for bad in (trunc, corrupt, missing):
        for argv in (["diff", good, bad], ["diff", bad, good],
                     ["trend", good, bad], ["chain", bad, "make_value"],
                     ["graph", bad], ["export", "--json", bad],
                     ["report", "--folded", bad]):
            p = tool(args, *argv, ok=(2,))
            lines = p.stderr.strip().splitlines()
            check(len(lines) == 1 and lines[0].startswith(f"refscope {argv[0]}:")
                  and os.path.basename(bad) in lines[0],
                  f"{argv}: expected one line naming the file, got {p.stderr!r}")
    # Different programs: refused with a reason, accepted with --force.
    p = tool(args, "diff", good, other, ok=(2,))
    check("different programs" in p.stderr and "--force" in p.stderr,
          f"mismatch message: {p.stderr}")
    tool(args, "diff", "--force", good, other)
    p = tool(args, "trend", good, rounds[1], other, ok=(2,))
    check("different programs" in p.stderr, f"trend mismatch: {p.stderr}")
    # Usage errors: exit 2, one line.
    for argv in (["diff", good], ["diff", "--by", "color", good, good],
                 ["diff", "--class", "blue", good, good], ["trend", good],
                 ["chain", good], ["chain", good, "0xzz"],
                 ["graph", "--cycles", "--around", "x", good],
                 ["export", good], ["diff", "--bogus", good, good],
                 ["trend", "--min-share", "0", good, good]):
        p = tool(args, *argv, ok=(2,))
        check(len(p.stderr.strip().splitlines()) == 1,
              f"{argv}: usage error must be one line: {p.stderr!r}")
    for cmd in ("diff", "trend", "chain", "graph", "export"):
        p = tool(args, cmd, "--help")
        check(p.stdout.startswith(f"usage: refscope {cmd}"), f"{cmd} --help")


def run(args):
    with tempfile.TemporaryDirectory(prefix="rs-timeline-") as tmp:
        out1 = os.path.join(tmp, "cache")
        out2 = os.path.join(tmp, "daemon")
        out3 = os.path.join(tmp, "run")
        rounds, final = run_cache_growth(args, out1)
        check_diff(args, rounds)
        check_trend(args, rounds)
        check_chain(args, final)
        check_graph(args, final, tmp)
        check_export_folded(args, final)
        sig = run_daemon(args, out2)
        run_with_options(args, out3)
        check_bad_inputs(args, rounds, sig[0], tmp)



if __name__ == "__main__":
    rstest.script_main(__doc__, run, "--refscope", "--preload", "--samples-dir")
