"""regressions - fixed cases, each the smallest input that once broke a
rule of oracle.py (the comment of each says what broke), run before the
random cases of their campaign.  Each takes (ctx, campaign, case_dir) and
returns (problems, description, result) like a campaign's case().
"""
import os
import shutil

import oracle
import seeds


def _check_supp(ctx, case_dir, path, option="--suppressions"):
    argv = [ctx.refscope, "check", option, path, ctx.snapshots[0]]
    res = oracle.run(argv, ctx.timeout, env=ctx.tool_env, cwd=case_dir)
    problems = oracle.check_basic(res, {2})
    problems += oracle.check_error_line(res, "check", [path])
    return problems, " ".join(argv), res


def supp_fifo(ctx, campaign, case_dir):
    """`check --suppressions FIFO` waited for a writer for ever (and so did
    a program ending under REFSCOPE_SUPPRESSIONS=FIFO REFSCOPE_EXITCODE)."""
    fifo = os.path.join(case_dir, "fifo")
    os.mkfifo(fifo)
    return _check_supp(ctx, case_dir, fifo)


def baseline_fifo(ctx, campaign, case_dir):
    """`check --baseline FIFO` waited for a writer for ever."""
    fifo = os.path.join(case_dir, "fifo")
    os.mkfifo(fifo)
    return _check_supp(ctx, case_dir, fifo, "--baseline")


def supp_dev_zero(ctx, campaign, case_dir):
    """`check --suppressions /dev/zero` read until memory ran out."""
    return _check_supp(ctx, case_dir, "/dev/zero")


def supp_escape(ctx, campaign, case_dir):
    """A suppression line with an ESC in its kind was quoted raw."""
    path = os.path.join(case_dir, "esc.supp")
    with open(path, "wb") as f:
        f.write(seeds.SUPPRESSIONS + b"l\x1b[31meak:x\nleak\x1a*c\n")
    return _check_supp(ctx, case_dir, path)


def profile_escape(ctx, campaign, case_dir):
    """A profile error quoted an ESC and DEL raw, and a long word pushed
    '; no function is hooked' out of the message."""
    problems, what = [], []
    for text in (b"profile a\nincref f\nfr\x1b[31mob x\n",
                 b"profile a\nincref f b\x7fogus\n",
                 b"profile a\nincref 9" + b"x" * 600 + b"\n"):
        shutil.rmtree(os.path.join(case_dir, "snaps"), ignore_errors=True)
        path = os.path.join(case_dir, "bad.profile")
        with open(path, "wb") as f:
            f.write(text)
        p, w, res = campaign.run_preload(case_dir, path, [path], f"{text[:40]!r}")
        problems += p
        what.append(w)
        if not res.stderr.endswith(b"; no function is hooked\n"):
            problems.append(f"profile rejected without its line: {res.stderr[:300]!r}")
    return problems, "; ".join(what), res


def profile_limits(ctx, campaign, case_dir):
    """A profile past its limits (300 functions; 2 MiB; a 4000-byte line)
    is one line naming the file, and the program runs unhooked."""
    problems, res = [], None
    texts = [b"profile big\n" + b"".join(b"incref f%d arg=0\n" % i for i in range(300)),
             b"profile huge\nincref f\n" + (b"# " + b"x" * 1000 + b"\n") * 2100,
             b"profile long\nincref f " + b"x" * 4000 + b"\n"]
    for text in texts:
        shutil.rmtree(os.path.join(case_dir, "snaps"), ignore_errors=True)
        path = os.path.join(case_dir, "limit.profile")
        with open(path, "wb") as f:
            f.write(text)
        p, _, res = campaign.run_preload(case_dir, path, [path], "limits")
        problems += p
        if not res.stderr.endswith(b"; no function is hooked\n"):
            problems.append(f"profile past a limit not refused: {res.stderr[:300]!r}")
    return problems, "300 functions, 2 MiB, a 4000-byte line", res


def _settings(ctx, campaign, case_dir, extra):
    env = dict(ctx.clean_env)
    env.update(LD_PRELOAD=ctx.preload, TMPDIR=case_dir,
               REFSCOPE_OUT=os.path.join(case_dir, "out"))
    envb = {k.encode(): v.encode() for k, v in env.items()}
    envb.update(extra)
    path, native_rc, native_out = campaign.programs["all_freed"]
    res = oracle.run([path], ctx.timeout, env=envb, cwd=case_dir)
    problems = oracle.check_basic(res, {native_rc})
    if res.stdout != native_out:
        problems.append("stdout differs from the native run")
    lines = res.stderr.split(b"\n")
    if lines[-1] != b"":
        problems.append(f"stderr does not end with a newline: {res.stderr[-100:]!r}")
    for line in lines[:-1]:
        if not line.startswith(b"refscope: ignoring ") or oracle.has_control(line):
            problems.append(f"unexpected line: {line[:200]!r}")
    if len(lines) - 1 != len(extra):
        problems.append(f"{len(lines) - 1} lines for {len(extra)} bad variables")
    return problems, f"all_freed with {extra!r}"[:300], res


def settings_name_escape(ctx, campaign, case_dir):
    """A REFSCOPE_* name that is no setting was written raw (an ESC in it
    reached the terminal)."""
    return _settings(ctx, campaign, case_dir, {b"REFSCOPE_OUT\x1b[2J": b"1"})


def settings_long_value(ctx, campaign, case_dir):
    """A 6000-byte malformed value filled the line: it lost its newline
    and the default it names."""
    return _settings(ctx, campaign, case_dir,
                     {b"REFSCOPE_SNAPSHOT_SIGNAL": b"x" * 6000,
                      b"REFSCOPE_X" + b"Y" * 6000: b"1"})


def snapshot_not_files(ctx, campaign, case_dir):
    """Snapshots that are no files: a FIFO and /dev/zero (refused, never
    waited on or read for ever), a directory, an empty file."""
    fifo = os.path.join(case_dir, "fifo")
    os.mkfifo(fifo)
    empty = os.path.join(case_dir, "empty.rsnap")
    open(empty, "wb").close()
    problems, res = [], None
    for path in (fifo, "/dev/zero", case_dir, empty):
        for cmd in (["report"], ["check"], ["export", "--json"]):
            argv = [ctx.refscope] + cmd + [path]
            res = oracle.run(argv, ctx.timeout, env=ctx.tool_env, cwd=case_dir)
            problems += [f"{' '.join(argv)}: {p}" for p in
                         oracle.check_basic(res, {2}) +
                         oracle.check_error_line(res, cmd[0], [path])]
    return problems, "FIFO, /dev/zero, a directory, an empty file", res


REGRESSIONS = {
    "snapshots": [snapshot_not_files],
    "check-files": [supp_fifo, baseline_fifo, supp_dev_zero, supp_escape],
    "profiles": [profile_escape, profile_limits],
    "settings": [settings_name_escape, settings_long_value],
}


def cases(campaign):
    return list(REGRESSIONS.get(campaign, ()))
