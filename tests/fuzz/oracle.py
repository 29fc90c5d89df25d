"""oracle - runs one fuzz case and judges it by the project's rule for bad
input: never a death by signal, never a hang, an exit status in the
documented set, on an error exactly one line on stderr that names the
file, and no output file left half written.

run() runs a command with a (generous) timeout and returns a Result;
the check_* functions return a list of problems (strings), empty when
the case passed.  Timing is only ever used to detect a hang.
"""
import json
import os
import signal
import subprocess
import xml.etree.ElementTree as ET

SANITIZER_MARKS = (b"ERROR: AddressSanitizer", b"ERROR: LeakSanitizer",
                   b"runtime error:", b"ERROR: UndefinedBehaviorSanitizer")


class Result:
    def __init__(self, rc, stdout, stderr, timed_out):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr
        self.timed_out = timed_out


def run(cmd, timeout, env=None, cwd=None):
    """Runs cmd (a list of str or bytes) with stdin closed; kills its whole
    process group on timeout."""
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, cwd=cwd,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        return Result(p.returncode, out, err, False)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return Result(None, out, err, True)


def has_control(line):
    """A raw control character (other than tab) in one line of output:
    what a message quotes from a file must be escaped."""
    return any(c < 0x20 and c != 0x09 or c == 0x7F for c in line)


def check_refscope_lines(err):
    """stderr of a program under the preload: ends with a newline, and
    every (non-empty) line is refscope's, with no raw control character.
    Returns (those lines, problems)."""
    problems = []
    lines = err.split(b"\n")
    if lines[-1] != b"":
        problems.append(f"stderr does not end with a newline: {err[-200:]!r}")
    lines = [x for x in lines if x]
    for line in lines:
        if not line.startswith(b"refscope"):
            problems.append(f"stderr line not refscope's: {line[:200]!r}")
        elif has_control(line):
            problems.append(f"raw control character in a line: {line[:300]!r}")
    return lines, problems


def check_basic(res, allowed):
    """Hang, signal, sanitizer report, exit status."""
    if res.timed_out:
        return ["hang: no exit within the timeout"]
    problems = []
    if res.rc < 0:
        try:
            name = signal.Signals(-res.rc).name
        except ValueError:
            name = "a real-time signal"
        problems.append(f"killed by signal {-res.rc} ({name})")
    elif res.rc not in allowed:
        problems.append(f"exit status {res.rc}, expected one of {sorted(allowed)}")
    for mark in SANITIZER_MARKS:
        if mark in res.stderr:
            problems.append(f"sanitizer report: {mark.decode()}")
    return problems


def check_error_line(res, cmd_name, blamed):
    """On exit status 2 (bad input): stderr is exactly one line,
    "refscope CMD: ...", naming one of the blamed paths (the file that is
    bad), with no raw control character."""
    if res.rc != 2:
        return []
    err = res.stderr
    problems = []
    if err.count(b"\n") != 1 or not err.endswith(b"\n"):
        n = err.count(b"\n")
        problems.append(f"error is {n} lines, not one: {err[:400]!r}")
        return problems
    line = err[:-1]
    if not line.startswith(f"refscope {cmd_name}: ".encode()):
        problems.append(f"error line does not start with 'refscope {cmd_name}: ': {line[:200]!r}")
    if blamed and not any(os.fsencode(b) in line for b in blamed):
        problems.append(f"error line names none of {list(blamed)}: {line[:300]!r}")
    if has_control(line):
        problems.append(f"raw control character in the error line: {line[:300]!r}")
    return problems


def check_content(data, fmt, where):
    if fmt is None:
        return []
    if fmt == "text":
        # Names from the snapshot are escaped (lib/report/text_clean.h):
        # a raw control character would drive a terminal or start a line
        # a CI log reads as a command.
        bad = [l for l in data.split(b"\n") if has_control(l)]
        if bad:
            return [f"{where}: raw control character in text: {bad[0][:200]!r}"]
        return []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return [f"{where}: not UTF-8 ({fmt}): {e}"]
    try:
        if fmt == "json":
            json.loads(text)
        elif fmt == "xml":
            ET.fromstring(data)
        elif fmt == "html":
            if not text.rstrip().endswith("</html>"):
                return [f"{where}: HTML does not end with </html>"]
            if "<script>alert(1)" in text:   # a string the fuzzer plants
                return [f"{where}: markup from the input reached the page unescaped"]
        elif fmt == "dot":
            if not text.rstrip().endswith("}"):
                return [f"{where}: DOT does not end with '}}'"]
    except (ValueError, ET.ParseError) as e:
        return [f"{where}: not well-formed {fmt}: {e}"]
    return []


def check_output_file(res, path, before, fmt, success):
    """-o FILE: after a failure FILE is as it was (absent, or its old
    bytes); after a success it is complete; no temporary file is left
    next to it either way."""
    problems = []
    d, base = os.path.split(path)
    stray = [n for n in os.listdir(d) if n.startswith(base) and n != base]
    if stray:
        problems.append(f"temporary file(s) left next to {base}: {stray}")
    exists = os.path.exists(path)
    if res.timed_out:
        return problems
    if not success:
        now = open(path, "rb").read() if exists else None
        if now != before:
            problems.append(f"failed run changed {base} "
                            f"({'absent' if before is None else len(before)} -> "
                            f"{'absent' if now is None else len(now)} bytes)")
        return problems
    if not exists:
        return problems + [f"successful run wrote no {base}"]
    with open(path, "rb") as f:
        problems += check_content(f.read(), fmt, base)
    return problems
