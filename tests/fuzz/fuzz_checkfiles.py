"""fuzz_checkfiles - the check-files campaign: mutated suppression files
(--suppressions, $REFSCOPE_SUPPRESSIONS) and baselines (--baseline,
--update-baseline) read by `refscope check` over good snapshots.

Suppressions get line mutations (mutators.mutate_text) with the format's
words swapped in; baselines get the same, or JSON-aware ones: a value
replaced by another type or an edge number, keys removed or added,
findings duplicated, deep nesting, long strings.  Besides oracle.py's
rule: with --update-baseline, a run that fails leaves the baseline as it
was, and one that succeeds leaves a baseline that parses.
"""
import json
import os

import mutators
import oracle
import seeds

SUPP_WORDS = ["leak:", "cycle:", "ref:", "rc:", "type:", "leak:*", "leak:^",
              "leak:$", "^$", "*", "**", "#", "leak:^*$", "called_from_lib:x",
              "interceptor_via_fun:x", "leak", ":", "type:^", "rc:underflow"]

EDGE_VALUES = [None, True, False, 0, -1, 1.5, 1e308, -1e308, 2 ** 64,
               2 ** 63, 2 ** 32, "", "x" * 70000, "\u0000", "\ud800".encode(
                   "utf-8", "surrogatepass").decode("utf-8", "replace"),
               [], {}, [[[]]], {"a": 1}, "zzzzzzzzzzzzzzzz", "0" * 16,
               "leaked", "cycle", "rc_error"]


def mutate_json(rng, data):
    """One JSON-aware mutation of a baseline (falls back to text)."""
    try:
        doc = json.loads(data)
    except ValueError:
        return mutators.mutate_text(rng, data)
    k = rng.randrange(6)
    if k == 0:
        depth = rng.choice([100, 1000, 100000])
        return (b"[" * depth + b"]" * depth), f"array nested {depth} deep"
    nodes = []

    def walk(v, path):
        nodes.append((v, path))
        if isinstance(v, dict):
            for key, x in v.items():
                walk(x, path + [key])
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, path + [i])
    walk(doc, [])
    target, path = rng.choice(nodes)
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    if k in (1, 2) and path:
        new = rng.choice(EDGE_VALUES)
        parent[path[-1]] = new
        what = f"{path} = {json.dumps(new)[:40]}"
    elif k == 3 and path:
        if isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
        what = f"{path} removed"
    elif k == 4 and isinstance(target, list) and target:
        target.extend(target * rng.choice([1, 3]))
        what = f"{path} items repeated"
    elif isinstance(target, dict):
        target[rng.choice(["extra", "count", "class", "frames", ""])] = rng.choice(EDGE_VALUES)
        what = f"{path} key added or changed"
    else:
        return mutators.mutate_text(rng, data, ["null", "[]", "{}", "1e999", "-0"])
    text = json.dumps(doc, indent=rng.choice([None, 2]), ensure_ascii=rng.random() < 0.5)
    return text.encode("utf-8", "surrogatepass"), what


class Campaign:
    def __init__(self, ctx):
        self.ctx = ctx
        self.snaps = ctx.snapshots
        self.baseline = seeds.make_baseline(ctx.refscope, self.snaps,
                                            os.path.join(ctx.work, "seed-baseline.json"))

    def case(self, rng, case_dir):
        if rng.random() < 0.45:
            data, what = mutators.mutate_text_n(rng, seeds.SUPPRESSIONS, SUPP_WORDS)
            return self.run_supp(rng, case_dir, data, "suppressions: " + what)
        if rng.random() < 0.5:
            data, what = mutate_json(rng, self.baseline)
        else:
            data, what = mutators.mutate_text_n(rng, self.baseline, ["null", "{", "]"])
        return self.run_baseline(rng, case_dir, data, "baseline: " + what)

    def snap_args(self, rng):
        return rng.sample(self.snaps, rng.randint(1, len(self.snaps)))

    def run_supp(self, rng, case_dir, data, what):
        path = os.path.join(case_dir, "bad.supp")
        with open(path, "wb") as f:
            f.write(data)
        env = dict(self.ctx.tool_env)
        argv = [self.ctx.refscope, "check"]
        fmt, way = rng.choice([("text", 0), ("json", 0), ("json", 1), ("text", 2)])
        if way == 2:
            env["REFSCOPE_SUPPRESSIONS"] = f"{seeds_supp(case_dir)}:{path}"
        else:
            argv += ["--suppressions", path]
        if way == 1:
            argv += ["--print-suppressions"]
        argv += ["--format", fmt] + self.snap_args(rng)
        res = oracle.run(argv, self.ctx.timeout, env=env, cwd=case_dir)
        problems = oracle.check_basic(res, {0, 1, 2})
        problems += oracle.check_error_line(res, "check", [path])
        if res.rc in (0, 1):
            problems += oracle.check_content(res.stdout, fmt, "stdout")
        return problems, f"{what}\n  command: {' '.join(argv)}", res

    def run_baseline(self, rng, case_dir, data, what):
        path = os.path.join(case_dir, "bad.json")
        with open(path, "wb") as f:
            f.write(data)
        argv = [self.ctx.refscope, "check", "--baseline", path]
        update = rng.random() < 0.4
        out = None
        if update:
            argv += ["--update-baseline"]
        if rng.random() < 0.3:
            out = os.path.join(case_dir, "out.sarif")
            argv += ["--format", "sarif", "-o", out]
        argv += self.snap_args(rng)
        res = oracle.run(argv, self.ctx.timeout, env=self.ctx.tool_env, cwd=case_dir)
        problems = oracle.check_basic(res, {0, 1, 2})
        problems += oracle.check_error_line(res, "check", [path])
        ok = res.rc in (0, 1)
        if out:
            problems += oracle.check_output_file(res, out, None, "json", ok)
        if update:
            problems += oracle.check_output_file(res, path, data,
                                                 "json" if ok else None, ok)
        elif not res.timed_out:
            with open(path, "rb") as f:
                if f.read() != data:
                    problems.append("check without --update-baseline changed the baseline")
        return problems, f"{what}\n  command: {' '.join(argv)}", res


def seeds_supp(case_dir):
    path = os.path.join(case_dir, "good.supp")
    with open(path, "wb") as f:
        f.write(seeds.SUPPRESSIONS)
    return path
