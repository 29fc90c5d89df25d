"""fuzz_settings - the settings campaign: the preload's REFSCOPE_*
environment (preload/settings.c) given malformed and edge values, one to
four at a time, plus misspelt and odd REFSCOPE_* names, while it runs a
sample (PROGRAMS: one that frees everything, one that leaks, threads,
a fork child).

A case passes when the program prints exactly what it prints natively
and exits with the same status (or, for the leaking sample, with a valid
REFSCOPE_EXITCODE's), does not die or hang, every line refscope adds to
stderr starts with "refscope" and holds no raw control character, with
at most one "ignoring" line per variable set, and the snapshots written
read back (`refscope report`).  Paths (REFSCOPE_OUT,
REFSCOPE_TOOL, REFSCOPE_SUPPRESSIONS) stay inside the case's directory,
or name files only read; TMPDIR is the case's directory too, so the
default snapshot directory is.
"""
import os
import re

import mutators
import oracle
import seeds

EDGE = ["", " ", "0", "1", "2", "-1", "+1", "01", "1 ", " 1", "0x10", "1e3",
        "255", "256", "65536", "2147483647", "2147483648", "4294967296",
        "18446744073709551617", "99999999999999999999999999999", "yes", "on",
        "off", "true", "none", "\t", "1\n", "\x1b[31m", "\\", "%s%n",
        "\u00e9", "x" * 5000, "9" * 300]
SIGNALS = ["USR1", "SIGUSR2", "usr1", "RTMIN", "RTMIN+2", "RTMAX-1", "RTMIN+100",
           "RTMAX+1", "RTMIN-1", "SIGRTMIN+", "RTMIN++1", "SIG", "KILL", "STOP",
           "SEGV", "CHLD", "CONT", "32", "33", "34", "64", "65", "0", "-10",
           "PWR", "XCPU", "on", "off", "HUP", "INT", "TERM", "PIPE", "10", "12"]
PERIODS = ["10s", "500ms", "5m", "1h", "9ms", "10ms", "0", "off", "0s", "1",
           "10 ms", "1.5s", "-5s", "1e3s", "s", "ms", "10sec", "18446744073709551615ms",
           "99999999999h", "5m5", "0x10s", "10ns", "10us", "1d"]
CHOICES = {
    "REFSCOPE_ENABLE": ["0", "1", "2", "no", "false"],
    "REFSCOPE_DEPTH": ["1", "256", "257", "0", "64"],
    "REFSCOPE_EXITCODE": ["0", "23", "255", "256", "-1"],
    "REFSCOPE_QUIET": ["0", "1", "2"],
    "REFSCOPE_SNAPSHOT_SIGNAL": SIGNALS,
    "REFSCOPE_SNAPSHOT_INTERVAL": PERIODS,
    "REFSCOPE_HOOKS": ["gobject", "nosuch", ",", ",,,", "gobject,gobject",
                       "python", "gst,cairo,harfbuzz,dbus,openssl,sdbus",
                       "/nonexistent.profile", "a" * 5000, " gobject "],
    "REFSCOPE_ENTRY_HOOKS": ["0", "1", "2", "3"],
    "REFSCOPE_HISTORY": ["0", "1000000", "1000001", "64"],
    "REFSCOPE_STATS": ["0", "1"],
    "REFSCOPE_SCRUB": ["0", "1"],
    "REFSCOPE_UNWIND": ["fast", "libunwind", "check", "FAST", "slow"],
    "REFSCOPE_STOP_SIGNAL": SIGNALS,
}
# A sample that frees everything, one that leaks, threads (the stop
# signal parks them), a thread that blocks every signal, a fork child.
PROGRAMS = ["all_freed", "leak_indirect", "leak_in_thread",
            "thread_blocks_signals", "fork_refs"]
# Their children's exit status would show in their output.
FORKING = {"fork_refs"}
MAX_VALUE = 100000   # execve refuses a variable over 128 KiB
PATH_SETTINGS = ["REFSCOPE_OUT", "REFSCOPE_TOOL", "REFSCOPE_SUPPRESSIONS"]
NAMES = ["REFSCOPE_QIUET", "REFSCOPE_", "REFSCOPE_X", "REFSCOPE_DEPTHS",
         "REFSCOPE_" + "A" * 300, "REFSCOPE_OUT\x1b", "REFSCOPE_LIBRARY",
         "REFSCOPE_é", "REFSCOPE_ENABLE "]


class Campaign:
    def __init__(self, ctx):
        self.ctx = ctx
        self.programs = {}
        for name in PROGRAMS:
            path = os.path.join(ctx.samples_dir, name)
            native = oracle.run([path], ctx.timeout, env=ctx.clean_env)
            self.programs[name] = (path, native.rc, native.stdout)

    def value(self, rng, name, case_dir):
        if name in PATH_SETTINGS:
            return self.path_value(rng, name, case_dir)
        v = rng.choice(CHOICES[name]) if rng.random() < 0.5 else rng.choice(EDGE)
        if rng.random() < 0.25:
            b, _ = mutators.mutate_text(rng, v.encode())
            return b.replace(b"\0", b"")[:MAX_VALUE]
        return v.encode()

    def path_value(self, rng, name, case_dir):
        supp = os.path.join(case_dir, "s.supp")
        with open(supp, "wb") as f:
            f.write(rng.choice([seeds.SUPPRESSIONS, b"leak:\n", b"bogus\n"]))
        fifo = os.path.join(case_dir, "fifo")
        if not os.path.exists(fifo):
            os.mkfifo(fifo)
        os.makedirs(os.path.join(case_dir, "adir"), exist_ok=True)
        long_name = "d/" * 2100
        if name == "REFSCOPE_OUT":
            v = rng.choice(["snaps", "./snaps/", "snaps/a/b/c", "s.supp",
                            "s.supp/x", "adir", long_name, "snaps\n", "é",
                            os.path.join(case_dir, "abs"), "snaps\x1b[1m"])
        elif name == "REFSCOPE_TOOL":
            v = rng.choice([self.ctx.refscope, "/nonexistent/refscope", "adir",
                            "s.supp", "/bin/false", "/bin/true", long_name])
        else:
            v = rng.choice([supp, f"{supp}:{supp}", ":", f"{supp}:", fifo,
                            "adir", "/nonexistent.supp", "/dev/zero",
                            f"{supp}:" * 600, "s.supp"])
        return v.encode()

    def case(self, rng, case_dir):
        prog_name = rng.choice(list(self.programs))
        path, native_rc, native_out = self.programs[prog_name]
        env = {k.encode(): v.encode() for k, v in self.ctx.clean_env.items()}
        env[b"LD_PRELOAD"] = self.ctx.preload.encode()
        env[b"TMPDIR"] = case_dir.encode()
        env[b"REFSCOPE_OUT"] = os.path.join(case_dir, "out").encode()
        names = rng.sample(sorted(CHOICES) + PATH_SETTINGS, rng.randint(1, 4))
        set_here = {}
        for n in names:
            set_here[n.encode()] = self.value(rng, n, case_dir)
        if rng.random() < 0.2:
            set_here[rng.choice(NAMES).encode()] = rng.choice(EDGE).encode()
        if prog_name in FORKING:
            set_here.pop(b"REFSCOPE_EXITCODE", None)
        env.update(set_here)
        allowed = {native_rc}
        code = set_here.get(b"REFSCOPE_EXITCODE", b"")
        if prog_name != "all_freed" and re.fullmatch(rb"0*[0-9]{1,3}", code) and int(code) < 256:
            allowed.add(int(code))
        res = oracle.run([path], self.ctx.timeout, env=env, cwd=case_dir)
        shown = {k.decode("utf-8", "replace"): v[:60] for k, v in set_here.items()}
        what = f"{prog_name} with {shown}"
        problems = oracle.check_basic(res, allowed)
        if res.timed_out:
            return problems, what, res
        if res.stdout != native_out:
            problems.append(f"stdout differs from the native run: {res.stdout[:300]!r}")
        lines, line_problems = oracle.check_refscope_lines(res.stderr)
        problems += line_problems
        ignoring = [x for x in lines if x.startswith(b"refscope: ignoring ")]
        if len(ignoring) > len(set_here):
            problems.append(f"{len(ignoring)} 'ignoring' lines for {len(set_here)} variables")
        problems += self.check_snapshots(rng, case_dir)
        return problems, what, res

    def check_snapshots(self, rng, case_dir):
        """A snapshot written under these settings reads back."""
        snaps = [os.path.join(d, f) for d, _, files in os.walk(case_dir)
                 for f in files if f.endswith(".rsnap")]
        problems = []
        for snap in rng.sample(sorted(snaps), min(1, len(snaps))):
            res = oracle.run([self.ctx.refscope, "report", snap], self.ctx.timeout,
                             env=self.ctx.tool_env)
            if res.timed_out or res.rc != 0:
                problems.append(f"refscope report {snap} exited {res.rc}: "
                                f"{res.stderr[:300]!r}")
        return problems
