#!/usr/bin/env python3
"""test_realprogs - real programs behave the same under the preload.

Each program is run natively and with LD_PRELOAD=librefscope.so
(REFSCOPE_QUIET=1, REFSCOPE_OUT=temporary directory); stdout and exit
status must be identical, and at least one snapshot must be written.
Programs: python3 with threads, perl, git --version, git status in a
temporary repository, cmake --version, sort of a generated 50 MB file, and
the alloc_edges sample (allocator corner cases).  A program that is not
installed is reported as skipped, not failed.
Usage: test_realprogs.py --preload PATH --samples-dir DIR [--only NAME]
                         [--sort-mb N]
"""
import argparse
import hashlib
import os
import random
import shutil
import subprocess
import tempfile

import rstest

PY_THREADS = """
import threading, hashlib
out = [None] * 8
def work(i):
    h = hashlib.sha256()
    for j in range(20000):
        h.update(str(i * j).encode())
    out[i] = h.hexdigest()[:16] + ' ' + str(sum(len(str(k)) for k in range(50000 + i)))
ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
[t.start() for t in ts]
[t.join() for t in ts]
print('\\n'.join(out))
d = {str(i): [i] * (i % 7) for i in range(100000)}
print(len(d), sum(map(len, d.values())))
"""

PERL = ('my %h; for my $i (1..200000) { $h{"k$i"} = [$i, "v" x ($i % 13)] }'
        ' my $s = 0; $s += length($h{$_}[1]) for keys %h;'
        ' print scalar(keys %h), " $s\\n"; my @a = sort { $a <=> $b }'
        ' map { $_ * 7 % 1000 } 1..100000; print "@a[0..9]\\n";')


def make_sort_input(path, mb):
    rng = random.Random(1234)
    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    with open(path, "w") as f:
        written = 0
        while written < mb * 1024 * 1024:
            line = "".join(rng.choice(letters) for _ in range(
                rng.randint(8, 120))) + "\n"
            f.write(line * 50)
            written += len(line) * 50


def make_git_repo(path):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
    subprocess.run(["git", "init", "-q", path], check=True, env=env)
    for i in range(50):
        with open(os.path.join(path, f"f{i}.txt"), "w") as f:
            f.write(f"file {i}\n" * (i + 1))
    subprocess.run(["git", "-C", path, "add", "."], check=True, env=env)
    subprocess.run(["git", "-C", path, "commit", "-qm", "init"], check=True,
                   env=env)
    with open(os.path.join(path, "f3.txt"), "a") as f:
        f.write("changed\n")
    with open(os.path.join(path, "new.txt"), "w") as f:
        f.write("untracked\n")


def programs(args, tmp):
    """(name, argv, cwd, stdout is large -> compare hashes) tuples."""
    sort_in = os.path.join(tmp, "sort.in")
    repo = os.path.join(tmp, "repo")
    return [
        ("python3-threads", ["python3", "-c", PY_THREADS], None, None),
        ("perl", ["perl", "-e", PERL], None, None),
        ("git-version", ["git", "--version"], None, None),
        ("git-status", ["git", "status"], repo, make_git_repo),
        ("cmake-version", ["cmake", "--version"], None, None),
        ("sort-50mb", ["sort", sort_in], None,
         lambda _: make_sort_input(sort_in, args.sort_mb)),
        ("alloc_edges", [os.path.join(args.samples_dir, "alloc_edges")],
         None, None),
    ]


def digest(text):
    if len(text) < 4096:
        return text
    return f"<{len(text)} bytes, sha256 {hashlib.sha256(text).hexdigest()}>"


def run_one(args, tmp, name, argv, cwd, setup):
    if shutil.which(argv[0]) is None and not os.path.exists(argv[0]):
        print(f"SKIP {name}: {argv[0]} not installed")
        return
    if setup:
        setup(cwd)
    env = dict(os.environ, LC_ALL="C")
    native = subprocess.run(argv, cwd=cwd, env=env, capture_output=True,
                            timeout=600)
    out = os.path.join(tmp, "out-" + name)
    os.mkdir(out)
    env = rstest.preload_env(args.preload, out, REFSCOPE_QUIET=1, LC_ALL="C")
    pre = subprocess.run(argv, cwd=cwd, env=env, capture_output=True,
                         timeout=600)
    rstest.check(pre.returncode == native.returncode, f"{name}: exit status "
                 f"{pre.returncode} under the preload, {native.returncode} "
                 f"natively; stderr:\n{pre.stderr.decode(errors='replace')[-2000:]}")
    rstest.check(pre.stdout == native.stdout, f"{name}: stdout differs: "
                 f"native {digest(native.stdout)} preload "
                 f"{digest(pre.stdout)}")
    snaps = [n for n in os.listdir(out) if n.endswith(".rsnap")]
    rstest.check(snaps, f"{name}: no snapshot written in {out}")
    print(f"ok   {name}: status {native.returncode}, "
          f"{len(native.stdout)} bytes of identical stdout, "
          f"{len(snaps)} snapshot(s)")


def run(args):
    with tempfile.TemporaryDirectory(prefix="rs-real-") as tmp:
        for name, argv, cwd, setup in programs(args, tmp):
            if args.only and name not in args.only.split(","):
                continue
            run_one(args, tmp, name, argv, cwd, setup)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preload", required=True)
    ap.add_argument("--samples-dir", required=True)
    ap.add_argument("--only")
    ap.add_argument("--sort-mb", type=int, default=50)
    args = ap.parse_args()
    rstest.main_wrapper(lambda: run(args))


if __name__ == "__main__":
    main()
