#!/usr/bin/env python3
"""test_realprogs - real programs behave the same under the preload.

Each program is run natively and with LD_PRELOAD=librefscope.so
(REFSCOPE_QUIET=1, REFSCOPE_OUT=temporary directory); stdout and exit
status must be identical, and at least one snapshot must be written.
Programs: python3 with threads, perl, git --version, git status in a
temporary repository, cmake --version, sort of a generated 50 MB file, the
alloc_edges sample (allocator corner cases), and with profile hooks, where
no refcount error may be reported on stderr: gsettings (GLib, GIO and two
threads of its own) with REFSCOPE_HOOKS=gobject; dbus-send on a private
bus (dbus-run-session and dbus-daemon hooked too) with dbus (8 false
"count below zero": libdbus takes references with hidden functions, so
its counts are now read from the structs); gst-launch-1.0 videotestsrc !
videoconvert with gobject,gst (a pooled buffer revived by its dispose:
one false error per buffer); hb-view with harfbuzz,cairo (cairo's own
cairo_pattern_destroy calls went unseen: entries opening with a short
jump were not hooked).  A program that is not installed is reported as
skipped, not failed.

Regressions of bugs found by running real programs (each also run without
REFSCOPE_QUIET, where the summary on stderr could change what a parent
reads, and with --refscope also under `refscope run`, whose stdout must
begin with the native stdout):
  cmake-configure  cmake configuring a one-file C project: cmake reads
                   `uname -m 2>&1`; the "no leaks" line of a clean uname
                   ended up in CMAKE_HOST_SYSTEM_PROCESSOR and configure
                   failed.  Clean processes are now silent.
  fd-numbers       the first descriptor a program opens is the native one
                   (libunwind's pipe took 3 and 4, so open() returned 5).
  altstack-malloc  malloc in a signal handler on an 8 KiB sigaltstack
                   (unwinding overflowed it: SIGSEGV).
  small-stack      malloc deep in threads with PTHREAD_STACK_MIN stacks.
  python3-arenas   python3 (pymalloc, the default) importing json, re,
                   decimal, ctypes, asyncio and sqlite3: 146 blocks held
                   only from pymalloc's arenas, memory Python maps itself,
                   were reported leaked; a clean run is silent.
The last two are compiled from C here with cc (skipped without one).
Usage: test_realprogs.py --preload PATH --samples-dir DIR [--only NAME]
                         [--sort-mb N] [--refscope PATH]
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


# A signal handler that allocates, on an alternate stack of 8 KiB.
ALTSTACK_C = r"""
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static volatile int handled;
static void on_usr1(int sig)
{
    char *p = malloc(32 + sig);
    if (p) { strcpy(p, "x"); free(p); }
    handled++;
}
int main(void)
{
    static char alt[8192];
    stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0 };
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_ONSTACK;
    if (sigaltstack(&ss, NULL) != 0 || sigaction(SIGUSR1, &sa, NULL) != 0)
        return 2;
    for (int i = 0; i < 100; i++)
        raise(SIGUSR1);
    printf("handled %d\n", handled);
    return 0;
}
"""

# Allocation about 8 KiB deep in threads with the smallest stack allowed.
SMALL_STACK_C = r"""
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
static int down(int n)
{
    volatile char pad[256];
    pad[0] = (char)n;
    if (n == 0) {
        void *p = malloc(10);
        free(p);
        return pad[0];
    }
    return down(n - 1) + pad[0];
}
static void *run(void *a) { return (void *)(long)down((int)(long)a); }
int main(void)
{
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, PTHREAD_STACK_MIN);
    long sum = 0;
    for (long n = 1; n < 30; n++) {
        pthread_t t;
        void *r;
        if (pthread_create(&t, &at, run, (void *)n) != 0)
            return 2;
        pthread_join(t, &r);
        sum += (long)r;
    }
    printf("sum %ld\n", sum);
    return 0;
}
"""

FD_NUMBERS_PY = ("import os; fds = [os.open('/dev/null', os.O_RDONLY) "
                 "for _ in range(3)]; r, w = os.pipe(); print(fds, r, w)")


def compile_c(tmp, name, source):
    """Compiles source into tmp/name; None (the case is skipped) without a
    C compiler."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return None
    src = os.path.join(tmp, name + ".c")
    exe = os.path.join(tmp, name)
    with open(src, "w") as f:
        f.write(source)
    subprocess.run([cc, "-O1", "-pthread", "-o", exe, src], check=True)
    return exe


def make_cmake_project(tmp):
    src = os.path.join(tmp, "cmake-src")
    os.makedirs(src, exist_ok=True)
    with open(os.path.join(src, "CMakeLists.txt"), "w") as f:
        f.write("cmake_minimum_required(VERSION 3.10)\nproject(tiny C)\n"
                "add_executable(tiny main.c)\n")
    with open(os.path.join(src, "main.c"), "w") as f:
        f.write("int main(void) { return 0; }\n")
    return src


def cmake_setup(tmp):
    """Fresh build directory before each run (the native one included)."""
    src = make_cmake_project(tmp)
    build = os.path.join(tmp, "cmake-build")

    def setup(_):
        shutil.rmtree(build, ignore_errors=True)
        os.mkdir(build)
    return ["cmake", "-S", src, "-B", build], setup


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
        ("gsettings-gobject", ["gsettings", "list-recursively"], None, None),
        ("dbus-send-dbus", ["dbus-run-session", "--", "dbus-send", "--session",
                            "--print-reply=literal", "--dest=org.freedesktop.DBus",
                            "/org/freedesktop/DBus", "org.freedesktop.DBus.ListNames"],
         None, None),
        ("gst-launch-pool", ["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=20",
                             "!", "videoconvert", "!", "fakesink"], None, None),
        ("hb-view-cairo", ["hb-view", DEJAVU, "refscope", "-o",
                           os.path.join(tmp, "hb-view.png")], None, None),
    ]


DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

# Programs run with profile hooks: name -> REFSCOPE_HOOKS.
HOOKS = {"gsettings-gobject": "gobject", "dbus-send-dbus": "dbus",
         "gst-launch-pool": "gobject,gst", "hb-view-cairo": "harfbuzz,cairo"}


def regressions(args, tmp):
    """(name, argv or None = skipped, setup run before every run) tuples;
    see the module comment."""
    python = ("/usr/bin/python3" if os.path.exists("/usr/bin/python3")
              else shutil.which("python3"))   # not a pyenv shim script
    cmake_argv, cmake_reset = (cmake_setup(tmp) if shutil.which("cmake")
                               else (None, None))
    return [
        ("cmake-configure", lambda: cmake_argv, cmake_reset),
        ("fd-numbers", lambda: python and [python, "-c", FD_NUMBERS_PY],
         None),
        ("altstack-malloc", lambda: (lambda e: e and [e])(
            compile_c(tmp, "altstack", ALTSTACK_C)), None),
        ("small-stack", lambda: (lambda e: e and [e])(
            compile_c(tmp, "small_stack", SMALL_STACK_C)), None),
        ("python3-arenas", lambda: python and [python, "-c", PY_ARENAS], None),
    ]


# Imports whose objects hold malloc'ed blocks from pymalloc's arenas.
PY_ARENAS = ("import json, re, decimal, ctypes, asyncio, sqlite3\n"
             "d = {i: str(i) * 50 for i in range(2000)}\n"
             "print(len(json.dumps(d)))\n")


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
    if name in HOOKS:
        env["REFSCOPE_HOOKS"] = HOOKS[name]
    pre = subprocess.run(argv, cwd=cwd, env=env, capture_output=True,
                         timeout=600)
    rstest.check(b"refcount error" not in pre.stderr, f"{name}: refcount "
                 f"errors under the preload:\n"
                 f"{pre.stderr.decode(errors='replace')[-2000:]}")
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


def run_regression(args, tmp, name, argv, setup):
    """Native, bare preload with and without REFSCOPE_QUIET, and `refscope
    run` when --refscope is given: same stdout (a prefix under `refscope
    run`), same exit status, within a timeout."""
    if not argv:
        print(f"SKIP {name}: not available here")
        return
    env = dict(os.environ, LC_ALL="C")
    env.pop("LD_PRELOAD", None)

    def go(argv_, env_):
        if setup:
            setup(None)
        return subprocess.run(argv_, env=env_, capture_output=True,
                              timeout=120)
    native = go(argv, env)
    rstest.check(native.returncode == 0, f"{name}: fails natively "
                 f"({native.returncode}): {native.stderr[-1000:]!r}")
    runs = []
    for quiet in (1, 0):
        out = os.path.join(tmp, f"out-{name}-{quiet}")
        os.mkdir(out)
        penv = rstest.preload_env(args.preload, out, LC_ALL="C",
                                  REFSCOPE_QUIET=quiet)
        runs.append((f"preload QUIET={quiet}", go(argv, penv), False))
    if args.refscope:
        runs.append(("refscope run", go([args.refscope, "run", "--"] + argv,
                                        env), True))
    for how, p, prefix in runs:
        err = p.stderr.decode(errors="replace")[-2000:]
        rstest.check(p.returncode == native.returncode, f"{name} ({how}): "
                     f"exit status {p.returncode}, natively "
                     f"{native.returncode}; stderr:\n{err}")
        same = (p.stdout.startswith(native.stdout) if prefix
                else p.stdout == native.stdout)
        rstest.check(same, f"{name} ({how}): stdout differs: native "
                     f"{digest(native.stdout)} here {digest(p.stdout)}; "
                     f"stderr:\n{err}")
    quiet_run = runs[1][1]
    rstest.check(native.stderr != b"" or quiet_run.stderr == b"",
                 f"{name}: a clean run printed on stderr: "
                 f"{quiet_run.stderr[-1000:]!r}")
    print(f"ok   {name}: status {native.returncode}, "
          f"{len(native.stdout)} bytes of identical stdout in "
          f"{len(runs)} runs")


def run(args):
    with tempfile.TemporaryDirectory(prefix="rs-real-") as tmp:
        only = args.only.split(",") if args.only else None
        for name, argv, cwd, setup in programs(args, tmp):
            if only and name not in only:
                continue
            run_one(args, tmp, name, argv, cwd, setup)
        for name, argv, setup in regressions(args, tmp):
            if only and name not in only:
                continue
            run_regression(args, tmp, name, argv(), setup)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preload", required=True)
    ap.add_argument("--samples-dir", required=True)
    ap.add_argument("--only")
    ap.add_argument("--sort-mb", type=int, default=50)
    ap.add_argument("--refscope", help="the refscope tool: also run the "
                    "regression programs under `refscope run`")
    args = ap.parse_args()
    rstest.main_wrapper(lambda: run(args))


if __name__ == "__main__":
    main()
