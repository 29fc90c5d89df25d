"""fuzz_profiles - the profiles campaign: mutated hook profiles (the
sample profiles, tests/bench/benchobj.profile and the built-in ones,
written to a file) given to the preload as REFSCOPE_HOOKS=FILE, alone or
in a list with built-in names, while it runs the sample whose library the
profile hooks (PROGRAMS).

A case passes when the program prints exactly what it prints natively
and exits with the same status (REFSCOPE_QUIET=1 keeps the summary off
stderr), does not die or hang, every line refscope adds to stderr starts
with "refscope" and holds no raw control character, a rejected profile is
one line "refscope: FILE:LINE: ...; no function is hooked" (or FILE: for
one that cannot be read), and the snapshot written at exit reads back
(`refscope report`).

A `typename call=FUNC` line makes the preload call FUNC as the profile
says, which refscope cannot check (README): a line holding `call=` that
is not the seed's own is taken out.
"""
import glob
import os
import re

import mutators
import oracle
import seeds

WORDS = ["profile", "incref", "decref", "sink", "ctor", "newref", "counter",
         "typename", "recognize", "arg=0", "arg=5", "arg=6", "returns",
         "out=1", "offset=0", "offset=4", "width=3", "width=8", "signed",
         "unsigned", "events", "type=X", "const=X", "field=8", "word=0",
         "type-word=8", "metatype=PyType_Type", "header=16@0x4000",
         "rcobj_ref", "rcobj_unref", "rcobj_new", "arg=", "=", "offset=",
         "profile rcobj", "rv_new", "compact=x"]
# The program each seed runs with: the sample whose library it hooks (the
# built-in profiles' samples are built where the library is installed),
# else rcobj_leak, where only the profile's parsing is tried.
PROGRAMS = {"rc_return_values.profile": "rc_return_values",
            "rcobj_alias.profile": "rcobj_alias",
            "built-in:gobject": "gobject_cycle", "built-in:gst": "gst_leak",
            "built-in:cairo": "cairo_leak", "built-in:harfbuzz": "harfbuzz_leak",
            "built-in:dbus": "dbus_leak", "built-in:openssl": "openssl_leak",
            "built-in:sdbus": "sdbus_leak"}
DEFAULT_PROGRAM = "rcobj_leak"
CALL = re.compile(rb"call=")


class Campaign:
    def __init__(self, ctx):
        self.ctx = ctx
        self.seeds = seeds.sample_profiles(ctx.source_dir)
        for name, text in seeds.builtin_profiles(ctx.source_dir).items():
            self.seeds[f"built-in:{name}"] = text
        self.names = sorted(self.seeds)
        self.natives = {}
        for name in set(PROGRAMS.values()) | {DEFAULT_PROGRAM}:
            path = os.path.join(ctx.samples_dir, name)
            if os.path.exists(path):
                native = oracle.run([path], ctx.timeout, env=ctx.clean_env)
                self.natives[name] = (path, native.rc, native.stdout)

    def case(self, rng, case_dir):
        name = rng.choice(self.names)
        data, what = mutators.mutate_text_n(rng, self.seeds[name], WORDS)
        data = keep_call_lines(data, self.seeds[name])
        path = os.path.join(case_dir, "bad.profile")
        with open(path, "wb") as f:
            f.write(data)
        hooks = rng.choice([path, path, f"gobject,{path}", f"{path},cairo",
                            f" {path} ,", f"{path},{path}"])
        program = PROGRAMS.get(name, DEFAULT_PROGRAM)
        if program not in self.natives:
            program = DEFAULT_PROGRAM
        return self.run_preload(case_dir, hooks, [path], f"{name}: {what}", program)

    def run_preload(self, case_dir, hooks, blamed, what, program=DEFAULT_PROGRAM):
        out = os.path.join(case_dir, "snaps")
        path, native_rc, native_out = self.natives[program]
        env = dict(self.ctx.clean_env, LD_PRELOAD=self.ctx.preload,
                   REFSCOPE_HOOKS=hooks, REFSCOPE_QUIET="1", REFSCOPE_OUT=out)
        res = oracle.run([path], self.ctx.timeout, env=env, cwd=case_dir)
        problems = oracle.check_basic(res, {native_rc})
        what = f"{what}\n  REFSCOPE_HOOKS={hooks!r} {path}"
        if res.timed_out:
            return problems, what, res
        if res.stdout != native_out:
            problems.append(f"stdout differs from the native run: {res.stdout[:300]!r}")
        problems += check_stderr(res.stderr, blamed)
        problems += self.check_snapshots(out)
        return problems, what, res

    def check_snapshots(self, out):
        snaps = glob.glob(os.path.join(out, "*.rsnap"))
        if len(snaps) != 1:
            return [f"{len(snaps)} snapshots written, expected 1"]
        res = oracle.run([self.ctx.refscope, "report", snaps[0]], self.ctx.timeout,
                         env=self.ctx.tool_env)
        if res.timed_out or res.rc != 0:
            return [f"refscope report of the snapshot exited {res.rc}: {res.stderr[:300]!r}"]
        return []


def keep_call_lines(data, seed):
    """Every line holding `call=` that is not one of the seed's own lines
    becomes a comment: the function would be called as the line says."""
    own = {line.strip() for line in seed.split(b"\n") if CALL.search(line)}
    lines = data.split(b"\n")
    for i, line in enumerate(lines):
        if CALL.search(line) and line.strip() not in own:
            lines[i] = b"# call line taken out"
    return b"\n".join(lines)


def check_stderr(err, blamed):
    """refscope's lines only, each one line with nothing raw in it; a
    rejected profile said in one line naming the file and line."""
    lines, problems = oracle.check_refscope_lines(err)
    rejected = [x for x in lines if x.endswith(b"; no function is hooked")]
    if rejected:
        if len(lines) != 1:
            problems.append(f"a rejected profile takes {len(lines)} lines: {err[:600]!r}")
        names = [os.fsencode(b) for b in blamed] + [b"built-in:", b"<profile list>"]
        if not any(re.search(re.escape(b"refscope: ") + re.escape(n) +
                             rb"(\S*:\d+)?: ", rejected[0]) for n in names):
            problems.append(f"rejection does not name FILE:LINE: {rejected[0][:300]!r}")
    return problems
