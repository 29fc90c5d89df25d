"""seeds - the valid inputs every campaign mutates, made fresh from the
build: snapshots of a few samples run under `refscope run --out`
(leaks, a cycle, refcount errors, snapshots taken while running, a
hooked library with reference history), the sample profiles and the
built-in ones, and the suppression and baseline files `refscope check`
reads and writes.

Invariant: every seed is valid input (the campaigns assume that an
unmutated seed passes); make() fails loudly when one cannot be made.
"""
import glob
import os
import re
import subprocess

# Samples whose snapshots cover every section: leaks and indirect
# leaks, a cycle with history, refcount errors, snapshots taken while the
# program runs (labels, thread frames), a profile-hooked library.
SNAPSHOT_SAMPLES = ["leak_indirect", "rc_cycle_pair", "rc_double_unref",
                    "cache_growth", "rcobj_leak", "rc_pool"]


PYTHON = "/usr/bin/python3"   # the interpreter samples/pyext is built for


class SeedError(Exception):
    pass


def python_snapshot(refscope, samples_dir, source_dir, out):
    """A snapshot whose stacks have Python frames (section PY_LOCATIONS):
    samples/pyext/leak_from_python.py under --python, when the leaky
    module was built (python3-dev)."""
    modules = glob.glob(os.path.join(samples_dir, "pyext", "leaky.*.so"))
    if not source_dir or not modules or not os.path.exists(PYTHON):
        return
    env = dict(os.environ, PYTHONPATH=os.path.dirname(modules[0]))
    p = subprocess.run([refscope, "run", "--python", "--out", out, "--", PYTHON,
                        os.path.join(source_dir, "samples", "pyext", "leak_from_python.py")],
                       capture_output=True, env=env, timeout=120)
    if p.returncode != 0:
        raise SeedError(f"refscope run leak_from_python.py exited {p.returncode}: "
                        f"{p.stderr[-500:]!r}")


def make_snapshots(refscope, samples_dir, out, source_dir=None):
    os.makedirs(out, exist_ok=True)
    python_snapshot(refscope, samples_dir, source_dir, out)
    for name in SNAPSHOT_SAMPLES:
        env = dict(os.environ)
        if name.startswith("rcobj"):
            env["REFSCOPE_HOOKS"] = os.path.join(samples_dir, "rcobj.profile")
        p = subprocess.run([refscope, "run", "--out", out, "--",
                            os.path.join(samples_dir, name)],
                           capture_output=True, env=env, timeout=120)
        if p.returncode != 0:
            raise SeedError(f"refscope run {name} exited {p.returncode}: "
                            f"{p.stderr[-500:]!r}")
    snaps = sorted(glob.glob(os.path.join(out, "*.rsnap")))
    if len(snaps) < len(SNAPSHOT_SAMPLES):
        raise SeedError(f"only {len(snaps)} snapshots in {out}")
    return snaps


def builtin_profiles(source_dir):
    """The built-in profiles' texts, taken from lib/model/profile_builtin.c
    (C string literals, concatenated per profile)."""
    path = os.path.join(source_dir, "lib", "model", "profile_builtin.c")
    with open(path, encoding="utf-8") as f:
        src = f.read()
    texts = {}
    for m in re.finditer(r"static const char builtin_(\w+)\[\] =(.*?);\n",
                         src, re.S):
        lits = re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(2))
        texts[m.group(1)] = "".join(lits).encode().decode(
            "unicode_escape").encode("latin-1")
    if not texts:
        raise SeedError(f"no built-in profile found in {path}")
    return texts


def sample_profiles(source_dir):
    files = glob.glob(os.path.join(source_dir, "samples", "*.profile"))
    files.append(os.path.join(source_dir, "tests", "bench", "benchobj.profile"))
    out = {}
    for p in sorted(files):
        with open(p, "rb") as f:
            out[os.path.basename(p)] = f.read()
    return out


SUPPRESSIONS = b"""# what LeakSanitizer's files hold, and refscope's own kinds
leak:make_owner
leak:^make_values$
leak:leak_indirect.c
leak:*cache*
cycle:node_new
ref:rcobj_new
rc:node_unref
type:Stream
type:^Node$
leak:libc.so.6
"""


def make_baseline(refscope, snaps, out):
    p = subprocess.run([refscope, "check", "--write-baseline", out] + snaps,
                       capture_output=True, timeout=120)
    if p.returncode != 0 or not os.path.exists(out):
        raise SeedError(f"check --write-baseline exited {p.returncode}: "
                        f"{p.stderr[-500:]!r}")
    with open(out, "rb") as f:
        return f.read()
