#!/usr/bin/env python3
"""test_output - where refscope's reports go: `run --json` without -o keeps
the program's stdout off the JSON (a shell pipe into a JSON parser always
parses, the program's output comes out on stderr), `run -o FILE` (JSON and
text) leaves the program's stdout byte-identical to a native run and puts
the report in FILE, and report/diff/trend/check -o FILE write exactly what
they print on stdout.  FILE is replaced atomically: a failing command
leaves an existing FILE unchanged and no temporary file behind; an
unwritable FILE is one line and exit 2, before the program runs, and so is
a path option whose value is the next option (`--html -o page.html`).
Run as root, the snapshot directories `run` creates are writable by
everyone (sticky), so a child that gives up root is reported too, and a
set-group-ID program (LD_PRELOAD ignored) gets a line saying so, and a
full snapshot file system a line blaming it.  A
daemon (a descendant that left the session) is not waited for once the
program has ended: a note names it and the directory kept for its
snapshot; the processes it left in the session are waited for (a
line says so after a second) until they end, `--wait PERIOD` runs out or
a Ctrl-C comes; one that ended without a snapshot (SIGKILL) is named in
a line.  A process whose /proc/self is gone (unshare --pid
--mount-proc) is still named by its command line and executable.  `run`
forwards SIGTERM to the program and then dies of it too, as the program
did (a parent sees -15, not 143); killed itself (SIGKILL), it takes the
program with it.  SIGINT and SIGHUP ignored by run's parent stay ignored
in the program (nohup).  A report written to a closed pipe is said in a
line naming the directory where the snapshot is kept, and run exits with
the program's status, not by SIGPIPE.  `run -o DIRECTORY`, `--out` a
directory nothing can be created in and a REFSCOPE_LIBRARY that is no
shared library are refused before the program runs.  `graph -o` into a
missing directory is one line before Graphviz runs; `-o g.svg` is written
whole.  `-o` (report, graph) and `--write-baseline` naming a FIFO write
into it, leaving it a FIFO.  `run --scrub` sets REFSCOPE_SCRUB=1:
stale_pointer's two leaks, hidden without it, are found.  Usage:
    test_output.py --refscope PATH --preload PATH --samples-dir DIR
"""
import argparse
import glob
import json
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

import rstest
from rstest import check


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, timeout=300, **kw)


def no_leftovers(d, expected):
    """d holds exactly the files named in expected (no FILE.XXXXXX)."""
    got = sorted(os.listdir(d))
    check(got == sorted(expected), f"{d}: expected {sorted(expected)}, "
          f"found {got}")


def check_run_json_pipe(args, exe, native):
    """`refscope run --json -- prog | python3 -m json.tool` parses; the
    program's output is on refscope's stderr."""
    pipe = (f"{shlex.quote(args.refscope)} run --json -- {shlex.quote(exe)} "
            f"2>{shlex.quote(args.tmp)}/err | {shlex.quote(sys.executable)} "
            f"-c 'import json, sys; d = json.load(sys.stdin); "
            f"print(len(d), d[0][\"summary\"][\"leaked\"][\"bytes\"])'")
    p = subprocess.run(["sh", "-c", pipe], capture_output=True, text=True,
                       timeout=300)
    check(p.returncode == 0, f"JSON from `run --json | parser` did not "
          f"parse: {p.stderr}")
    check(p.stdout == "1 153\n", f"parsed JSON says {p.stdout!r}, expected "
          f"one process with 153 leaked bytes")
    with open(os.path.join(args.tmp, "err"), "rb") as f:
        err = f.read()
    check(native.stdout in err, f"the program's stdout {native.stdout!r} is "
          f"not on refscope's stderr: {err!r}")
    # The same without a shell: stdout is nothing but the JSON array.
    p = run([args.refscope, "run", "--json", "--", exe])
    check(p.returncode == 0, f"run --json exited {p.returncode}")
    data = json.loads(p.stdout)
    check(len(data) == 1 and data[0]["summary"]["leaked"]["blocks"] == 4,
          f"run --json: unexpected JSON {p.stdout[:300]!r}")
    return data


def check_run_output_file(args, exe, native, piped):
    """run --json -o FILE and run -o FILE (text)."""
    d = os.path.join(args.tmp, "run")
    os.mkdir(d)
    report = os.path.join(d, "report.json")
    p = run([args.refscope, "run", "--json", "-o", report, "--", exe])
    check(p.returncode == 0, f"run --json -o exited {p.returncode}")
    check(p.stdout == native.stdout, f"run --json -o: program stdout "
          f"{p.stdout!r} differs from the native {native.stdout!r}")
    with open(report, encoding="utf-8") as f:
        data = json.load(f)
    check(len(data) == 1 and data[0]["summary"] == piped[0]["summary"],
          f"run -o FILE: summary {data[0]['summary']} != the piped run's "
          f"{piped[0]['summary']}")
    text = os.path.join(d, "report.txt")
    p = run([args.refscope, "run", "--output", text, "--", exe])
    check(p.returncode == 0 and p.stdout == native.stdout, f"run --output "
          f"(text): exit {p.returncode}, stdout {p.stdout!r}")
    with open(text, encoding="utf-8") as f:
        body = f.read()
    check("SUMMARY: refscope: 153 bytes leaked in 4 blocks" in body,
          f"run --output: no summary line in {body[:500]!r}")
    no_leftovers(d, ["report.json", "report.txt"])
    # Unwritable: one line, exit 2, the program is not run.
    p = run([args.refscope, "run", "-o", os.path.join(d, "nodir", "r"),
             "--", exe])
    lines = p.stderr.decode().splitlines()
    check(p.returncode == 2 and p.stdout == b"" and len(lines) == 1 and
          "cannot write" in lines[0] and "nodir" in lines[0],
          f"unwritable -o: exit {p.returncode}, stdout {p.stdout!r}, "
          f"stderr {lines}")
    p = run([args.refscope, "run", "-o", report, "--check", "--", exe])
    check(p.returncode == 2 and b"after --check" in p.stderr,
          f"run -o with --check: exit {p.returncode}, {p.stderr!r}")


def check_option_as_path(args, exe):
    """A path option whose value looks like the next option (`--html -o
    page.html`: the value left out) is one usage line and exit 2, in the
    directory nothing is written and the program is not run; ./-o is a
    path."""
    with tempfile.TemporaryDirectory(prefix="rs-optpath-") as d:
        snap = os.path.join(d, "none.rsnap")
        cases = [
            (["report", "--html", "-o", "page.html", snap], "--html", "-o"),
            (["report", "-o", "--json", snap], "--output", "--json"),
            (["run", "--out", "--json", "--", exe], "--out", "--json"),
            (["run", "--html", "-o", "r.html", "--", exe], "--html", "-o"),
            (["diff", "-o", "--html", snap, snap], "--output", "--html"),
            (["check", "--write-baseline", "-o", snap], "--write-baseline", "-o"),
            (["graph", "-o", "-x", snap], "--output", "-x"),
        ]
        for argv, option, value in cases:
            p = run([args.refscope] + argv, cwd=d)
            lines = p.stderr.decode().splitlines()
            check(p.returncode == 2 and p.stdout == b"" and len(lines) == 1 and
                  f"{option} wants a path, not the option '{value}'" in lines[0],
                  f"{argv}: exit {p.returncode}, stdout {p.stdout!r}, stderr {lines}")
            no_leftovers(d, [])
        p = run([args.refscope, "run", "-o", "./-o", "--", exe], cwd=d)
        check(p.returncode == 0, f"run -o ./-o: exit {p.returncode} {p.stderr!r}")
        no_leftovers(d, ["-o"])


def check_control_characters_quoted(args, exe):
    """A path or option holding a newline or an ESC (a file name can) is
    quoted in the error line as \\x0a / \\x1b: the error stays one line,
    and cannot recolour a terminal or start a line a CI log reads as a
    command (it was printed raw).  Every command; exit 2, and 127 for a
    program that cannot be run, as a shell's."""
    with tempfile.TemporaryDirectory(prefix="rs-ctlpath-") as d:
        bad = os.path.join(d, "x\n::error::y\x1b[31m")
        snap = bad + ".rsnap"
        blocker = bad + ".file"          # --out makes missing parents: a file
        open(blocker, "w").close()       # in the way fails
        cases = [
            ["report", snap],
            ["report", "--bogus\n::error::y"],
            ["diff", snap, snap],
            ["trend", snap, snap],
            ["chain", snap, "0x10"],
            ["graph", snap],
            ["export", "--json", snap],
            ["check", "--suppressions", bad, snap],
            ["check", "--baseline", bad, snap],
            ["run", "-o", os.path.join(bad, "r.txt"), "--", exe],
            ["run", "--out", os.path.join(blocker, "o"), "--", exe],
            ["run", "--", bad],
        ]
        for argv in cases:
            p = run([args.refscope] + argv, cwd=d)
            err = p.stderr.decode(errors="replace")
            lines = err.splitlines()
            quoted = "\\x0a::error::y" in err and "\x1b" not in err
            if "\x1b" in " ".join(argv):
                quoted = quoted and "y\\x1b[31m" in err
            want = 127 if argv[:2] == ["run", "--"] else 2
            check(p.returncode == want and len(lines) == 1 and quoted,
                  f"{argv!r}: exit {p.returncode}, want {want} and one line quoting "
                  f"the control characters, stderr {err!r}")


# A child that exits while its parent sends it SIGTERM, during its exit
# analysis (many blocks: PYTHONMALLOC=malloc).
END_INTERRUPTED = """import os, signal, time
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    keep = [bytearray(64) for _ in range(300000)]
    os.write(w, b'x')
    os._exit(0)
os.read(r, 1)
time.sleep(0.02)
os.kill(pid, signal.SIGTERM)
_, st = os.waitpid(pid, 0)
print("child", "signalled" if os.WIFSIGNALED(st) else "exited")
"""


# A fork child whose exec fails and which then ends by _exit.
FAILED_EXEC = """import os
pid = os.fork()
if pid == 0:
    try:
        os.execv('/nonexistent/program', ['program'])
    except OSError:
        os._exit(127)
os.waitpid(pid, 0)
"""


def check_no_snapshot_named(args):
    """A process that ends without a snapshot (killed by SIGKILL by its
    own parent, which reaps it: refscope run never sees its status) is
    named in one line, with its pid and program (it was missing from the
    report, silently); the marks processes leave while they run
    (REFSCOPE_MARK_RUNNING, set by run) are gone from --out afterwards, and
    the bare preload, without the setting, leaves none."""
    script = "sleep 30 & p=$!; sleep 0.3; kill -9 $p; wait; echo done"
    with tempfile.TemporaryDirectory(prefix="rs-no-snapshot-") as d:
        out = os.path.join(d, "run")
        p = run([args.refscope, "run", "--out", out, "--", "sh", "-c", script])
        err = p.stderr.decode()
        lines = [l for l in err.splitlines() if "without a snapshot" in l]
        m = re.search(r": 1 process ended without a snapshot \(killed by SIGKILL, or it "
                      r"exec'd a program the loader does not preload, or a line of "
                      r"refscope's above says why\): (\d+) \(sleep\)$",
                      lines[0]) if len(lines) == 1 else None
        left = sorted(os.listdir(out))
        check(p.returncode == 0 and m is not None and
              not any(f.startswith(".running.") for f in left) and
              not any(f.startswith(f"sleep.{m.group(1)}.") for f in left),
              f"run, sleep killed by its parent: exit {p.returncode}, stderr "
              f"{err!r}, --out holds {left}")
        p = run([args.refscope, "run", "--out", out, "--",
                 os.path.join(args.samples_dir, "leak_direct")])
        check(b"without a snapshot" not in p.stderr and
              not any(f.startswith(".running.") for f in os.listdir(out)),
              f"run leak_direct: stderr {p.stderr!r}, --out holds {os.listdir(out)}")
        # A child whose exit analysis (300,000 blocks) a SIGTERM interrupts:
        # put off, the signal ends the process as the analysis ends; its mark
        # went with it (it was removed after the analysis, too late).
        p = run([args.refscope, "run", "--out", out, "--", sys.executable, "-c",
                 END_INTERRUPTED], env=dict(os.environ, PYTHONMALLOC="malloc"))
        procs = [l for l in p.stdout.decode().splitlines()
                 if l.startswith("refscope: process ")]
        check(p.returncode == 0 and b"without a snapshot" not in p.stderr and
              p.stdout.decode().startswith("child signalled\n") and len(procs) == 2,
              f"exit analysis cut by SIGTERM: exit {p.returncode}, stdout "
              f"{p.stdout[:200]!r}, stderr {p.stderr!r}")
        # Not named: a nested `refscope run` (its program marks itself in the
        # inner directory: the outer mark of the forked child goes at the
        # exec), and a fork child whose exec failed (a helper, which is not
        # analysed by design).  Named: a process that exec'd without
        # LD_PRELOAD, by the name it had (env).
        for argv, named in (
                ([args.refscope, "run", "--", os.path.join(args.samples_dir, "leak_direct")],
                 None),
                ([sys.executable, "-c", FAILED_EXEC], None),
                (["sh", "-c", "env -u LD_PRELOAD true; echo x"], "env")):
            p = run([args.refscope, "run", "--out", out, "--"] + argv)
            err = p.stderr.decode()
            lines = [l for l in err.splitlines() if "without a snapshot" in l]
            want = 1 if named else 0
            check(p.returncode == 0 and len(lines) == want and
                  (not named or lines[0].endswith(f" ({named})")),
                  f"run {argv}: exit {p.returncode}, stderr {err!r}, want "
                  f"{want} line(s) naming {named}")
        bare = os.path.join(d, "bare")
        env = dict(os.environ, LD_PRELOAD=args.preload, REFSCOPE_QUIET="1",
                   REFSCOPE_OUT=bare)
        subprocess.run(["sh", "-c", script], env=env, capture_output=True, timeout=60)
        check(not any(f.startswith(".running.") for f in os.listdir(bare)),
              f"bare preload: {bare} holds {os.listdir(bare)}")


def check_out_parents(args):
    """`run --out DIR` makes DIR's missing parents too (it was "cannot
    create": No such file or directory), like REFSCOPE_OUT in the preload."""
    with tempfile.TemporaryDirectory(prefix="rs-parents-") as d:
        out = os.path.join(d, "a", "b", "c")
        p = run([args.refscope, "run", "--out", out, "--",
                 os.path.join(args.samples_dir, "leak_direct")])
        snaps = glob.glob(os.path.join(out, "leak_direct.*.rsnap"))
        check(p.returncode == 0 and len(snaps) == 1,
              f"run --out {out}: exit {p.returncode}, snapshots {snaps}, "
              f"stderr {p.stderr!r}")


def check_dropped_privileges(args):
    """Run as root, `refscope run` makes the snapshot directories it
    creates (its temporary one, --out DIR when DIR is new) writable by
    everyone, sticky: drop_privileges's child, running as nobody, is
    reported too.  Skipped when not root."""
    if os.geteuid() != 0:
        print("SKIP dropped privileges: not root")
        return
    exe = os.path.join(args.samples_dir, "drop_privileges")
    p = run([args.refscope, "run", "--", exe])
    procs = [l for l in p.stdout.decode().splitlines() if l.startswith("refscope: process ")]
    check(p.returncode == 0 and len(procs) == 2 and b"Snapshot not written" not in p.stderr,
          f"run (temporary directory): exit {p.returncode}, processes {procs}, "
          f"stderr {p.stderr[-600:]!r}")
    with tempfile.TemporaryDirectory(prefix="rs-drop-") as d:
        os.chmod(d, 0o755)
        out = os.path.join(d, "new")
        p = run([args.refscope, "run", "--json", "--out", out, "-o",
                 os.path.join(d, "r.json"), "--", exe])
        with open(os.path.join(d, "r.json"), encoding="utf-8") as f:
            n = len(json.load(f))
        mode = os.stat(out).st_mode & 0o7777
        check(p.returncode == 0 and n == 2 and mode == 0o1777,
              f"run --out NEW: exit {p.returncode}, {n} processes, mode {oct(mode)}")


def check_setgid_hint(args):
    """A set-group-ID program runs in the loader's secure mode, which
    ignores LD_PRELOAD: `refscope run` says why no snapshot was written.
    Root only (a copy of leak_direct, group nogroup, mode 2755), on a file
    system that honours set-ID bits."""
    with tempfile.TemporaryDirectory(prefix="rs-setgid-") as d:
        if os.geteuid() != 0 or os.statvfs(d).f_flag & os.ST_NOSUID:
            print("SKIP set-group-ID: not root, or nosuid")
            return
        os.chmod(d, 0o755)
        exe = os.path.join(d, "setgid_leak")
        shutil.copy(os.path.join(args.samples_dir, "leak_direct"), exe)
        os.chown(exe, 0, 65534)
        os.chmod(exe, 0o2755)
        p = run([args.refscope, "run", "--", exe])
        lines = [l for l in p.stderr.decode().splitlines() if l.startswith("refscope run:")]
        check(p.returncode == 0 and lines == [
                  "refscope run: no snapshot was written (it is set-group-ID: "
                  "the loader ignores LD_PRELOAD for it)"],
              f"set-group-ID program: exit {p.returncode}, stderr {p.stderr!r}")


def check_full_disk_hint(args):
    """--out on a full file system: the preload says it could not write
    the snapshot, and `refscope run` blames the full file system, not a
    static program.  Root only (a 64 KiB tmpfs, filled up)."""
    with tempfile.TemporaryDirectory(prefix="rs-full-") as d:
        if os.geteuid() != 0 or subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", d],
                capture_output=True).returncode != 0:
            print("SKIP full disk: not root, or no tmpfs")
            return
        try:
            with open(os.path.join(d, "filler"), "wb") as f:
                try:
                    f.write(b"x" * (1 << 20))
                except OSError:
                    pass
            out = os.path.join(d, "snaps")
            os.mkdir(out)
            p = run([args.refscope, "run", "--out", out, "--",
                     os.path.join(args.samples_dir, "leak_direct")])
            err = p.stderr.decode()
            lines = [l for l in err.splitlines() if l.startswith("refscope run:")]
            check(p.returncode == 0 and lines == [
                      "refscope run: no snapshot was written (the file system of "
                      "the snapshot directory is full)"]
                  and "Snapshot not written" in err,
                  f"full disk: exit {p.returncode}, stderr {err!r}")
        finally:
            subprocess.run(["umount", d], check=True)


def check_daemon_not_waited(args):
    """Once the program has ended, `refscope run` does not wait for a
    descendant that left the session (setsid: a daemon, which may never
    end): one note names its pid and the kept directory where its snapshot
    goes when it ends; a background job still in the session is waited
    for and reported."""
    script = ("setsid sleep 120 >/dev/null 2>&1 & "
              "(sleep 0.3; echo in-session) & echo started")
    p = subprocess.run([args.refscope, "run", "--", "sh", "-c", script],
                       capture_output=True, timeout=60)
    err = p.stderr.decode()
    note = [l for l in err.splitlines() if "left the session" in l]
    check(p.returncode == 0 and p.stdout.decode().startswith("started\nin-session\n")
          and len(note) == 1, f"daemon: exit {p.returncode}, stdout "
          f"{p.stdout[:300]!r}, stderr {err[-600:]!r}")
    fields = note[0].split()
    pid = int(fields[fields.index("(daemon:") + 1].rstrip(");"))
    outdir = fields[fields.index("to") + 1]
    procs = [l for l in p.stdout.decode().splitlines() if l.startswith("refscope: process ")]
    check(len(procs) == 3 and not any(f"process {pid} " in l for l in procs),
          f"daemon: reported {procs}")
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + 30
    while time.time() < deadline and not glob.glob(os.path.join(outdir, f"sleep.{pid}.*.rsnap")):
        time.sleep(0.05)
    found = os.listdir(outdir)
    shutil.rmtree(outdir, ignore_errors=True)
    check(found == [f"sleep.{pid}.0.rsnap"], f"daemon's directory {outdir}: {found}")


def snapshot_appears(outdir, pattern, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = glob.glob(os.path.join(outdir, pattern))
        if found:
            return found
        time.sleep(0.05)
    return []


def still_running_note(err, what):
    """(pid, directory) of the one line of err saying `what` about a
    `sleep` still running, or None."""
    lines = [l for l in err.splitlines() if what in l]
    if len(lines) != 1:
        return None
    m = re.search(r"still running: (\d+) \(sleep\); its snapshot will be "
                  r"written to (\S+) when it ends$", lines[0])
    return (int(m.group(1)), m.group(2)) if m else None


def check_wait_bounded(args):
    """After the program has ended, `refscope run` waits for the processes
    it left running in the session (a background `sleep`), and after a
    second says so in one line naming them; `--wait PERIOD` bounds that
    wait, and a Ctrl-C (SIGINT to refscope run) ends it: the report comes
    at once, a line names the process still running and the kept
    directory its snapshot goes to when it ends, and the exit status is
    the program's.  A malformed PERIOD is a usage error before anything
    runs.  (Before --wait, a `sleep 30` a Python subprocess timeout left
    behind kept `refscope run` silent for 30 s.)"""
    # Waited for by default, with the line after a second.
    t0 = time.time()
    p = subprocess.run([args.refscope, "run", "--", "sh", "-c", "sleep 1.5 & echo started"],
                       capture_output=True, timeout=60)
    err, out = p.stderr.decode(), p.stdout.decode()
    waiting = [l for l in err.splitlines() if "waiting for 1 process of it still running:" in l]
    procs = [l for l in out.splitlines() if l.startswith("refscope: process ")]
    check(p.returncode == 0 and time.time() - t0 >= 1.5 and len(waiting) == 1 and
          re.search(r"running: \d+ \(sleep\) \(Ctrl-C or --wait PERIOD stops the wait\)$",
                    waiting[0]) is not None and len(procs) == 2 and "(sleep 1.5)" in procs[1],
          f"default wait: exit {p.returncode}, stderr {err!r}, processes {procs}")

    # --wait 300ms: the report at once, the sleep named, its snapshot later.
    t0 = time.time()
    p = subprocess.run([args.refscope, "run", "--wait", "300ms", "--", "sh", "-c",
                        "sleep 30 >/dev/null 2>&1 & exit 3"], capture_output=True, timeout=60)
    took = time.time() - t0
    err = p.stderr.decode()
    named = still_running_note(err, "stopped waiting (--wait) for 1 process")
    check(p.returncode == 3 and took < 10 and named is not None and
          "waiting for 1 process of it" not in err,
          f"--wait 300ms: exit {p.returncode} after {took:.1f} s, stderr {err!r}")
    pid, outdir = named
    os.kill(pid, signal.SIGTERM)
    found = snapshot_appears(outdir, f"sleep.{pid}.*.rsnap")
    shutil.rmtree(outdir, ignore_errors=True)
    check(len(found) == 1, f"--wait: {outdir} got no snapshot of sleep {pid}")

    # Ctrl-C once the waiting line is out.
    r = subprocess.Popen([args.refscope, "run", "--", "sh", "-c",
                          "sleep 30 >/dev/null 2>&1 & echo started"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = r.stderr.readline()
    r.send_signal(signal.SIGINT)
    out, rest = r.communicate(timeout=60)
    named = still_running_note(rest, "stopped waiting (SIGINT) for 1 process")
    check(r.returncode == 0 and "waiting for 1 process of it still running" in line and
          named is not None and out.startswith("started\n"),
          f"SIGINT: exit {r.returncode}, stderr {line + rest!r}")
    if named:
        os.kill(named[0], signal.SIGKILL)
        shutil.rmtree(named[1], ignore_errors=True)

    p = subprocess.run([args.refscope, "run", "--wait", "soon", "--", "true"],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 2 and p.stderr.count("\n") == 1 and "--wait" in p.stderr
          and "'soon'" in p.stderr, f"--wait soon: exit {p.returncode}, {p.stderr!r}")


def check_other_pid_namespace(args):
    """`unshare --fork --pid --mount-proc PROG`: unshare's /proc/self is
    gone once its child mounts a /proc of the new PID namespace; its
    report still names it by its command line and executable (they came
    out empty).  Skipped where unshare is refused (a container)."""
    exe = os.path.join(args.samples_dir, "leak_direct")
    argv = ["unshare", "--fork", "--pid", "--mount-proc", exe]
    if not shutil.which("unshare") or run(argv).returncode != 0:
        print("SKIP PID namespace: unshare refused here")
        return
    with tempfile.TemporaryDirectory(prefix="rs-pidns-") as d:
        status, _, data, err = rstest.run_refscope(args.refscope, argv, d)
        procs = {tuple(o["process"]["argv"]): o["process"] for o in data}
        outer = procs.get(tuple(argv))
        check(status == 0 and len(data) == 2 and outer is not None and
              outer["exe"].endswith("/unshare"),
              f"unshare: exit {status}, processes {list(procs)}, "
              f"exe {outer and outer.get('exe')!r}")


def check_run_scrub(args):
    """`run --scrub`: stale_pointer's leaks behind stale words in reused
    memory (none found without it: its sample test) are found, each in
    the function that allocated it."""
    exe = os.path.join(args.samples_dir, "stale_pointer")
    with tempfile.TemporaryDirectory(prefix="rs-scrub-") as d:
        status, _, data, err = rstest.run_refscope(args.refscope, [exe], d,
                                                   extra_args=["--scrub"])
        s = data[0]["summary"]
        funcs = sorted((rstest.program_frame(f["stack"]) or {}).get("function") or "?"
                       for f in data[0]["findings"] if f["class"] == "leaked")
        check(status == 0 and s["leaked"] == {"bytes": 160, "blocks": 2} and
              funcs == ["make_moved_victim", "make_victim"],
              f"run --scrub: exit {status}, leaked {s['leaked']}, leaks in {funcs}: {err}")


def same_as_stdout(args, cmd, d, name):
    """`refscope CMD...` and `refscope CMD... -o FILE` give the same bytes."""
    p = run([args.refscope] + cmd)
    check(p.returncode in (0, 1), f"{cmd}: exit {p.returncode} "
          f"{p.stderr!r}")
    out = os.path.join(d, name)
    q = run([args.refscope] + cmd[:1] + ["-o", out] + cmd[1:])
    check(q.returncode == p.returncode and q.stdout == b"", f"{cmd} -o: exit "
          f"{q.returncode} (stdout run: {p.returncode}), stdout {q.stdout!r}")
    with open(out, "rb") as f:
        got = f.read()
    check(got == p.stdout and got, f"{cmd} -o FILE differs from its stdout")
    return out


def check_tools(args):
    d = os.path.join(args.tmp, "tools")
    snaps = os.path.join(args.tmp, "snaps")
    os.mkdir(d)
    exe = os.path.join(args.samples_dir, "cache_growth")
    p = run([args.refscope, "run", "--out", snaps, "--", exe])
    check(p.returncode == 0, f"run cache_growth: {p.returncode}")
    rounds = sorted(glob.glob(os.path.join(snaps, "*-round*.rsnap")))
    final = sorted(set(glob.glob(os.path.join(snaps, "*.rsnap"))) - set(rounds))
    check(len(rounds) >= 3 and len(final) == 1, f"expected round snapshots "
          f"and one at exit, got {rounds} {final}")
    made = [same_as_stdout(args, ["report", rounds[0]], d, "report.txt"),
            same_as_stdout(args, ["report", "--json", rounds[0]], d,
                           "report.json"),
            same_as_stdout(args, ["report", "--folded", final[0]], d,
                           "folded.txt"),
            same_as_stdout(args, ["diff", rounds[0], rounds[-1]], d,
                           "diff.txt"),
            same_as_stdout(args, ["diff", "--json", rounds[0], rounds[-1]], d,
                           "diff.json"),
            same_as_stdout(args, ["trend", "--json"] + rounds, d,
                           "trend.json"),
            same_as_stdout(args, ["check", "--format", "json", final[0]], d,
                           "check.json")]
    for path in (made[1], made[4], made[5], made[6]):
        with open(path, encoding="utf-8") as f:
            json.load(f)
    # A failing command leaves FILE as it was, and nothing else behind.
    before = open(made[0], "rb").read()
    p = run([args.refscope, "report", "-o", made[0],
             os.path.join(snaps, "missing.rsnap")])
    check(p.returncode == 2, f"report of a missing file: {p.returncode}")
    check(open(made[0], "rb").read() == before, "a failed report -o "
          "replaced the existing FILE")
    no_leftovers(d, [os.path.basename(m) for m in made])


def child_of(pid):
    """The pid of pid's only child, once it has exec'ed sleep (None after
    10 s)."""
    for _ in range(200):
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                kids = f.read().split()
            if kids and open(f"/proc/{kids[0]}/comm").read().strip() == "sleep":
                return int(kids[0])
        except OSError:
            pass
        time.sleep(0.05)
    return None


def gone(pid):
    """pid has ended (or is a zombie nobody reaps) within 10 s."""
    for _ in range(200):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


def check_run_signals(args):
    """SIGTERM to `refscope run` reaches the program, and run dies of it
    as the program did; SIGKILL to it kills the program too (a harness's
    timeout leaves nothing running), and leaves nothing of its -o FILE:
    the report is an unnamed file until it is complete (a FILE.XXXXXX
    made before the program ran was left behind, empty).  A program that
    dies of SIGKILL, SIGSEGV or SIGTERM makes run die of it too."""
    for sig, status in ((signal.SIGTERM, -signal.SIGTERM),
                        (signal.SIGKILL, -signal.SIGKILL)):
        with tempfile.TemporaryDirectory(prefix="rs-killed-") as d:
            p = subprocess.Popen([args.refscope, "run", "-o", os.path.join(d, "r.txt"),
                                  "--", "sleep", "60"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            kid = child_of(p.pid)
            check(kid is not None, "refscope run -- sleep 60: no sleep child")
            during = os.listdir(d)
            p.send_signal(sig)
            code = p.wait(timeout=60)
            check(code == status, f"refscope run got {sig.name}: exit {code}, "
                  f"expected {status}")
            check(gone(kid), f"sleep (pid {kid}) still runs after refscope run "
                  f"got {sig.name}")
            after = ["r.txt"] if sig == signal.SIGTERM else []   # the report
            check(during == [] and os.listdir(d) == after,
                  f"refscope run -o r.txt got {sig.name}: {during} in the directory "
                  f"while it ran, {os.listdir(d)} after")
    # The program itself killed: run dies of the same signal (SIGKILL's
    # action cannot be set: run exited 137 instead).
    for sig in (signal.SIGKILL, signal.SIGSEGV, signal.SIGTERM):
        p = run([args.refscope, "run", "--", "sh", "-c", f"kill -{int(sig)} $$"])
        check(p.returncode == -sig, f"refscope run -- sh -c 'kill -{int(sig)} $$': "
              f"exit {p.returncode}, expected {-sig} (died of {sig.name}); "
              f"stderr {p.stderr!r}")


def ignore_int_hup():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def check_run_keeps_ignored(args):
    """Signals ignored when run starts are ignored in the program too."""
    argv = ["grep", "^SigIgn", "/proc/self/status"]
    native = subprocess.run(argv, capture_output=True, text=True,
                            preexec_fn=ignore_int_hup)
    report = os.path.join(args.tmp, "ignored.txt")
    p = subprocess.run([args.refscope, "run", "-o", report, "--"] + argv,
                       capture_output=True, text=True, preexec_fn=ignore_int_hup)
    mask = int(native.stdout.split()[1], 16)
    check(mask & 0x3 == 0x3, f"SIGHUP and SIGINT not ignored natively: "
          f"{native.stdout!r}")
    check(p.returncode == 0 and p.stdout == native.stdout,
          f"run with SIGINT and SIGHUP ignored: exit {p.returncode}, "
          f"{p.stdout!r}, natively {native.stdout!r}")


def check_run_closed_pipe(args):
    """The report to a closed pipe: run says so, keeps the snapshot, and
    exits with the program's status (0), not by SIGPIPE."""
    r, w = os.pipe()
    os.close(r)
    p = subprocess.run([args.refscope, "run", "--", "true"], stdout=w,
                       stderr=subprocess.PIPE, text=True)
    os.close(w)
    lines = [l for l in p.stderr.splitlines() if "snapshots are kept in" in l]
    check(p.returncode == 0 and len(lines) == 1,
          f"run -- true into a closed pipe: exit {p.returncode}, "
          f"stderr {p.stderr!r}")
    kept = lines[0].rsplit(" ", 1)[1]
    snaps = glob.glob(os.path.join(kept, "*.rsnap"))
    check(len(snaps) == 1, f"{kept}: expected the snapshot of true, got {snaps}")
    shutil.rmtree(kept)


def check_run_output_directory(args):
    """-o naming a directory, --out naming one nothing can be created in
    (/proc/1) and a REFSCOPE_LIBRARY that is no shared library are each
    refused in one line before the program runs."""
    cases = ((["-o", args.tmp], {},
              f"refscope run: cannot write '{args.tmp}': Is a directory"),
             (["--out", "/proc/1"], {}, "refscope run: cannot write snapshots in "
              "'/proc/1': "),
             ([], {"REFSCOPE_LIBRARY": "/etc/passwd"},
              "refscope run: REFSCOPE_LIBRARY=/etc/passwd is not a shared library"))
    for opts, env, said in cases:
        p = subprocess.run([args.refscope, "run"] + opts + ["--", "echo", "ran"],
                           capture_output=True, text=True,
                           env=dict(os.environ, **env))
        lines = p.stderr.splitlines()
        check(p.returncode == 2 and "ran" not in p.stdout and len(lines) == 1
              and lines[0].startswith(said),
              f"run {opts} {env}: exit {p.returncode}, stdout {p.stdout!r}, "
              f"stderr {p.stderr!r}")


def check_graph_output(args, exe):
    """graph -o into a directory that does not exist: one line, exit 2,
    before Graphviz runs; -o x.svg is written whole (no temporary left)."""
    with tempfile.TemporaryDirectory(prefix="rs-graph-") as d:
        p = subprocess.run([args.refscope, "run", "--out", d, "--", exe],
                           capture_output=True)
        snap = glob.glob(os.path.join(d, "*.rsnap"))[0]
        bad = os.path.join(d, "missing", "g.svg")
        p = subprocess.run([args.refscope, "graph", "-o", bad, snap],
                           capture_output=True, text=True)
        lines = p.stderr.splitlines()
        check(p.returncode == 2 and len(lines) == 1 and
              lines[0].startswith(f"refscope graph: cannot write '{bad}'"),
              f"graph -o {bad}: exit {p.returncode}, stderr {p.stderr!r}")
        if not shutil.which("dot"):
            return
        good = os.path.join(d, "g.svg")
        p = subprocess.run([args.refscope, "graph", "-o", good, snap],
                           capture_output=True, text=True)
        with open(good) as f:
            svg = f.read()
        left = [n for n in os.listdir(d) if n.startswith("g.svg.")]
        check(p.returncode == 0 and svg.rstrip().endswith("</svg>") and not left,
              f"graph -o g.svg: exit {p.returncode}, {len(svg)} bytes, "
              f"temporaries {left}, stderr {p.stderr!r}")


def check_output_to_fifo(args, exe):
    """-o naming an existing file that is no regular one (a FIFO here, as
    /dev/null or /dev/stdout) is written in place: a new file renamed over
    it replaced the device (as root, `report -o /dev/null` turned
    /dev/null into a report)."""
    with tempfile.TemporaryDirectory(prefix="rs-fifo-") as d:
        subprocess.run([args.refscope, "run", "--out", d, "--", exe], capture_output=True)
        snap = glob.glob(os.path.join(d, "*.rsnap"))[0]
        fifo = os.path.join(d, "out.fifo")
        os.mkfifo(fifo)
        for argv in (["report", "-o", fifo, snap],
                     ["check", "--write-baseline", fifo, snap],
                     ["graph", "-o", fifo, snap]):
            # Our own write end keeps the reader from seeing the end before
            # the tool writes; a tool that never opens the FIFO only makes
            # the read empty, never a hang.
            rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
            wfd = os.open(fifo, os.O_WRONLY)
            os.set_blocking(rfd, True)
            got = []

            def drain():
                chunks = []
                while True:
                    b = os.read(rfd, 65536)
                    if not b:
                        break
                    chunks.append(b)
                got.append(b"".join(chunks))
            reader = threading.Thread(target=drain, daemon=True)
            reader.start()
            p = subprocess.run([args.refscope] + argv, capture_output=True, text=True,
                               timeout=60)
            os.close(wfd)
            reader.join(30)
            os.close(rfd)
            still = os.path.exists(fifo) and stat.S_ISFIFO(os.stat(fifo).st_mode)
            check(p.returncode in (0, 1) and still and got and got[0],
                  f"{argv[0]} to a FIFO: exit {p.returncode}, still a FIFO: {still}, "
                  f"{len(got[0]) if got else 0} bytes read, stderr {p.stderr!r}")
            if not still:
                os.unlink(fifo)
                os.mkfifo(fifo)


def main_checks(args):
    exe = os.path.join(args.samples_dir, "leak_direct")
    native = run([exe])
    check(native.returncode == 0 and native.stdout, "leak_direct natively: "
          f"{native.returncode} {native.stdout!r}")
    piped = check_run_json_pipe(args, exe, native)
    check_run_output_file(args, exe, native, piped)
    check_option_as_path(args, exe)
    check_control_characters_quoted(args, exe)
    check_dropped_privileges(args)
    check_setgid_hint(args)
    check_daemon_not_waited(args)
    check_wait_bounded(args)
    check_out_parents(args)
    check_no_snapshot_named(args)
    check_other_pid_namespace(args)
    check_tools(args)
    check_run_signals(args)
    check_run_keeps_ignored(args)
    check_run_closed_pipe(args)
    check_run_output_directory(args)
    check_graph_output(args, exe)
    check_output_to_fifo(args, exe)
    check_run_scrub(args)
    check_full_disk_hint(args)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--refscope", required=True)
    ap.add_argument("--preload", required=True)
    ap.add_argument("--samples-dir", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="rs-output-") as tmp:
        args.tmp = tmp
        rstest.main_wrapper(lambda: main_checks(args))


if __name__ == "__main__":
    main()
