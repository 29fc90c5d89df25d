"""fuzz_snapshots - the snapshot campaign: mutated .rsnap files read by
every subcommand that reads snapshots (report, diff, trend, chain, graph,
check, export), in their text, JSON, HTML, DOT, SARIF and JUnit forms,
with and without -o.

Mutations are structure-aware (snapfile.py): truncation at every header,
directory and section boundary; byte flips with and without the CRCs
made right again (only with them right does a flip reach a section's
decoder); varints of a section replaced by numbers at the edges of every
width (0, 2^32, 2^64 - 1...); records removed or duplicated; sections
duplicated, removed, swapped or retyped; header and directory fields
changed; strings (paths, names, labels) given invalid UTF-8, NUL bytes,
CRs, markup, great length, or a module path naming a FIFO, a directory or
/dev/zero.  A case passes when the command obeys oracle.py's rule.
"""
import os

import mutators
import oracle
import snapfile

# (command, argv after the subcommand name; F = the mutated file, G = a
# good snapshot, the one F was made from for diff and trend, which refuse
# two programs' snapshots; O = an output file), allowed exit statuses,
# stdout format, output file format.  Output is complete after the exit
# statuses with_output() gives (chain and graph exit 1, with no output,
# when nothing matches the target).
COMMANDS = [
    ("report", ["F"], {0, 2}, "text", None),
    ("report", ["--json", "F"], {0, 2}, "json", None),
    ("report", ["--folded", "--limit", "3", "F"], {0, 2}, "text", None),
    ("report", ["--show-reachable", "-o", "O.txt", "F"], {0, 2}, None, "text"),
    ("report", ["--json", "--python", "-o", "O.json", "F", "G"], {0, 2}, None, "json"),
    ("report", ["--html", "O.html", "F"], {0, 2}, None, "html"),
    ("diff", ["--force", "G", "F"], {0, 2}, "text", None),
    ("diff", ["--json", "--by", "type", "-o", "O.json", "F", "G"], {0, 2}, None, "json"),
    ("diff", ["--html", "O.html", "--by", "function", "G", "F"], {0, 2}, None, "html"),
    ("trend", ["--force", "--json", "G", "F", "G"], {0, 2}, "json", None),
    ("trend", ["--html", "O.html", "--by", "file", "G", "F"], {0, 2}, None, "html"),
    ("chain", ["F", "#1"], {0, 1, 2}, "text", None),
    ("chain", ["--json", "--referrers", "F", "#2"], {0, 1, 2}, "json", None),
    ("chain", ["--max", "0", "--json", "F", "main"], {0, 1, 2}, "json", None),
    ("graph", ["F"], {0, 1, 2}, "dot", None),
    ("graph", ["--cycles", "-o", "O.dot", "F"], {0, 1, 2}, None, "dot"),
    ("graph", ["--around", "#1", "--depth", "6", "F"], {0, 1, 2}, "dot", None),
    ("check", ["--fail-on", "all", "F"], {0, 1, 2}, "text", None),
    ("check", ["--format", "sarif", "-o", "O.sarif", "F"], {0, 1, 2}, None, "json"),
    ("check", ["--format", "junit", "F", "G"], {0, 1, 2}, "xml", None),
    ("check", ["--format", "json", "--all", "F"], {0, 1, 2}, "json", None),
    ("check", ["--format", "github", "F"], {0, 1, 2}, "text", None),
    ("check", ["--write-baseline", "O.json", "G", "F"], {0, 2}, "text", "json"),
    ("export", ["--json", "F"], {0, 2}, "json", None),
]

ODD_STRINGS = [b"\xff\xfe", b"a\x00b", b"a\rb", b"a\nb", b"\x1b[2J",
               b"<script>alert(1)</script>", b"&lt;\"'", b"%s%n%x",
               b"\xed\xa0\x80", b"\xc0\xaf", b"x" * 5000, b"y" * 70000,
               b"\xe2\x80\xae", b"", b"a;b c", b"}\"]"]


def odd_paths(work):
    """Paths a module name may be changed to: files no symbolizer should
    open blindly."""
    fifo = os.path.join(work, "fifo")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    return [fifo.encode(), work.encode(), b"/dev/zero", b"/proc/self/mem",
            b"/nonexistent/lib.so", b"/", b"/bin/sh"]


class SnapshotMutator:
    def __init__(self, work):
        self.paths = odd_paths(work)

    def mutate(self, rng, data):
        """One to three stacked mutations of a valid snapshot's bytes."""
        snap = snapfile.parse(data)
        what, fix = [], True
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            k = rng.randrange(19)
            if k in (0, 1):
                data = snap.build(fix_crc=fix)
                if k == 0:
                    b, w = mutators.truncate(rng, data, snapfile.boundaries(data))
                else:
                    b, w = mutators.flip_bytes(rng, data)
                    w += " (CRCs left stale)"
                return b, "; ".join(what + [w])
            w = self.structural(rng, snap, k)
            if w.endswith("(stale CRC)"):
                fix = False
            what.append(w)
        return snap.build(fix_crc=fix), "; ".join(what)

    def structural(self, rng, snap, k):
        secs = snap.sections
        s = rng.choice(secs) if secs else None
        name = snapfile.SECTION_NAMES.get(s.type, str(s.type)) if s else "-"
        if k == 2 and s and s.data:
            s.data[:], w = mutators.flip_bytes(rng, s.data)
            return f"{name}: {w}"
        if k == 3 and s and s.data:
            toks = snapfile.tokens(s.data)
            a, b, old = rng.choice(toks)
            new = mutators.interesting_number(rng, old)
            enc = snapfile.encode_varint(new)
            if rng.random() < 0.1:
                enc = b"\xff" * rng.choice([9, 10, 11]) + b"\x01"
            s.data[a:b] = enc
            return f"{name}: varint at +{a} {old} -> {new}"
        if k == 4:
            f = rng.choice(["major", "minor", "hdrsize", "size", "nsect", "crc"])
            v = mutators.interesting_number(rng)
            snap.header_override[f] = v
            return f"header {f} = {v}"
        if k == 5 and s:
            f = rng.choice(["type", "offset", "length", "count", "crc"])
            v = mutators.interesting_number(rng)
            s.override[f] = v
            return f"{name} directory {f} = {v}"
        if k == 6 and s:
            secs.insert(rng.randrange(len(secs) + 1), s.copy())
            return f"{name} duplicated"
        if k == 7 and s:
            secs.remove(s)
            return f"{name} removed"
        if k == 8 and len(secs) > 1:
            t = rng.choice(secs)
            if rng.random() < 0.5:
                s.type, t.type = t.type, s.type
                return f"types of {name} and {t.type} swapped"
            i, j = secs.index(s), secs.index(t)
            secs[i], secs[j] = t, s
            return f"{name} and {t.type} swapped in the file"
        if k in (9, 10) and s and s.data:
            toks = snapfile.tokens(s.data)
            i = rng.randrange(len(toks))
            j = min(len(toks), i + rng.choice([1, 2, 5, 12, 40]))
            a, b = toks[i][0], toks[j - 1][1]
            if k == 9:
                del s.data[a:b]
            else:
                s.data[b:b] = s.data[a:b] * rng.choice([1, 2, 50])
            if rng.random() < 0.5:
                s.count = max(0, s.count + (-1 if k == 9 else 1))
            return f"{name}: tokens {i}..{j} {'removed' if k == 9 else 'repeated'}"
        if k == 11 and s:
            spans = snapfile.strings(s.data)
            if spans:
                a, b = rng.choice(spans)
                if s.type == 2 and rng.random() < 0.4:
                    new = rng.choice(self.paths)
                else:
                    new = rng.choice(ODD_STRINGS)
                    if rng.random() < 0.5:
                        new = bytes(s.data[a + 1:b]) + new
                s.data[a:b] = snapfile.encode_varint(len(new) + 1) + new
                return f"{name}: string at +{a} -> {new[:24]!r}..."
        if k == 12 and s:
            s.count = max(0, s.count + rng.choice([-1, 1, 2, 1000, 1 << 32]))
            return f"{name} count {s.count}"
        if k == 13:
            if rng.random() < 0.5:
                snap.extra_header += b"\0" * rng.choice([1, 8, 32])
                return "header grown"
            secs.append(snapfile.Section(rng.choice([0, 12, 16, 255, 1 << 31]),
                                         rng.randrange(3), b"junk"))
            return "unknown section added"
        if k == 14 and s and s.data:
            b, w = mutators.odd_insert(rng, s.data)
            s.data[:] = b
            return f"{name}: {w}"
        if k == 15 and s and s.data:
            s.data[:], w = mutators.flip_bytes(rng, s.data)
            return f"{name}: {w} (stale CRC)"
        if k >= 16:
            return self.node_fields(rng, snap)
        return "nothing changed"

    def node_fields(self, rng, snap):
        """Fields of valid nodes changed to other values the reader may
        accept (classes, owners, counts, flags, ids, widths), SUMMARY
        kept in step: what reaches the renderers."""
        nodes = snapfile.decode_nodes(snap)
        if not nodes:
            return "no nodes to change"
        what = []
        for _ in range(rng.choice([1, 2, 4, 16])):
            i = rng.randrange(len(nodes))
            f = rng.choice([2, 3, 4, 5, 6, 7, 7, 8, 8, 9, 10, 11, 1])
            n = len(nodes)
            v = rng.choice({
                1: [0, 1, 8, 1 << 20],
                2: [0, 1, 2, 1000], 3: [0, 1, 2, 3],
                4: [0, 1, 2, 3, 0xFF, 0xFFF00, 1 << 19, 0xFFFFFFFF],
                5: [0, 4, 8, 1 << 20, 0xFFFFFFFF], 6: [0, 1, 2, 4, 8],
                7: list(range(snapfile.CLASS_COUNT)),
                8: [0, 1, i + 1, n, (i + 1) % n + 1, 0xFFFFFFFF],
                9: [0, 1, 2, 3, 200, (1 << 64) - 1, (1 << 63)],
                10: [0, 1, 0xFFFFFFFF, 1 << 40], 11: [0, 1 << 40],
            }[f])
            nodes[i][f] = v
            what.append(f"node {i} {snapfile.NODE_FIELDS[f]}={v}")
        snapfile.encode_nodes(snap, nodes)
        return ", ".join(what)


def with_output(cmd_name):
    return {0, 1} if cmd_name == "check" else {0}


def run_case(ctx, rng, case_dir, seeds, mutator):
    """Mutates one seed, runs one command on it; returns (problems, what,
    result)."""
    seed = rng.choice(seeds)
    good = seed
    with open(seed, "rb") as f:
        data, what = mutator.mutate(rng, f.read())
    return run_snapshot_command(ctx, rng, case_dir, data, good,
                                f"{os.path.basename(seed)}: {what}")


def run_snapshot_command(ctx, rng, case_dir, data, good, what, command=None):
    """Writes data as a snapshot and runs one command of COMMANDS on it."""
    bad = os.path.join(case_dir, "bad.rsnap")
    with open(bad, "wb") as f:
        f.write(data)
    cmd_name, args, allowed, out_fmt, file_fmt = command or rng.choice(COMMANDS)
    out, before = None, None
    argv = [ctx.refscope, cmd_name]
    for a in args:
        if a == "F":
            argv.append(bad)
        elif a == "G":
            argv.append(good)
        elif a.startswith("O."):
            out = os.path.join(case_dir, "out" + a[1:])
            if rng.random() < 0.3:
                before = b"an older report\n"
                with open(out, "wb") as f:
                    f.write(before)
            argv.append(out)
        else:
            argv.append(a)
    res = oracle.run(argv, ctx.timeout, env=ctx.tool_env, cwd=case_dir)
    problems = oracle.check_basic(res, allowed)
    # diff and trend refuse two programs' snapshots (a mutated META exe),
    # naming both programs rather than a file.
    blamed = [] if b"come from different programs" in res.stderr else [bad]
    problems += oracle.check_error_line(res, cmd_name, blamed)
    ok = res.rc in with_output(cmd_name)
    if ok:
        problems += oracle.check_content(res.stdout, out_fmt, "stdout")
    if out:
        problems += oracle.check_output_file(res, out, before, file_fmt, ok)
    return problems, f"{what}\n  command: {' '.join(argv)}", res


class Campaign:
    def __init__(self, ctx):
        self.ctx = ctx
        self.mutator = SnapshotMutator(ctx.work)

    def case(self, rng, case_dir):
        return run_case(self.ctx, rng, case_dir, self.ctx.snapshots, self.mutator)
