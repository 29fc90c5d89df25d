#!/usr/bin/env python3
"""test_gate - the CI leak gate end to end: `refscope check`,
`refscope run --check`, suppressions, baselines, report formats and the
CMake refscope_add_test().

Parts (--only NAME runs one):
  exit      exit status 0 / 1 / 2 for clean, leaking and bad input
  classes   each class of finding fails with its message (leaks, indirect,
            cycles, leaked_refs, rc_errors, from the samples)
  supp      a suppression hides exactly what it names; an LSan file works
            unchanged (and LeakSanitizer itself accepts the same file)
  baseline  known leaks pass, a new one and growth fail, across two builds
            of a program whose code addresses differ (ASLR on); ratchet
  formats   JUnit validates (tests/schemas/junit.xsd via xmllint, and
            field by field), SARIF 2.1.0 required structure field by field,
            GitHub workflow commands
  cmake     refscope_add_test() fails a ctest run on a leaking test, from
            the source tree and through find_package() after install
  preload   the bare preload with REFSCOPE_EXITCODE=23 and
            REFSCOPE_SUPPRESSIONS: leaks all suppressed exit with the
            program's status, some left exit 23, a bad or missing file or
            tool fails closed (23) with one line, no REFSCOPE_EXITCODE
            keeps the program's status and runs nothing
A small C program is written and compiled in a temporary directory: it
leaks on request ("a=2 b=1 c=1": that many 16/32/48-byte blocks from
leak_a, leak_b, leak_c).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "schemas"))
import rstest  # noqa: E402
from rstest import check  # noqa: E402
import ci_formats  # noqa: E402

PROG = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *keep[64];
int nkeep;

#if PAD
/* Padding that moves every function below to other addresses. */
int pad_fn(int x)
{
    volatile int a[PAD];
    for (int i = 0; i < PAD; i++) a[i] = x * i;
    return a[PAD - 1];
}
#endif

__attribute__((noinline)) void *leak_a(void) { return malloc(16); }
__attribute__((noinline)) void *leak_b(void) { return malloc(32); }
__attribute__((noinline)) void *leak_c(void) { return malloc(48); }

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        char which;
        int n;
        if (sscanf(argv[i], "%c=%d", &which, &n) != 2)
            return 3;
        for (int k = 0; k < n; k++) {
            void *p = which == 'a' ? leak_a() : which == 'b' ? leak_b()
                                              : leak_c();
            memset(p, 0, 16);
            p = NULL; /* dropped: leaked */
        }
    }
    void *ok = malloc(8); /* freed: never reported */
    free(ok);
    printf("done\n");
    return 0;
}
"""

CLEAN = "#include <stdlib.h>\nint main(void) { free(malloc(10)); return 0; }\n"
LEAKY = ("#include <stdlib.h>\nvoid *g;\n"
         "int main(void) { g = malloc(10); g = 0; return 0; }\n")


class Ctx:
    def __init__(self, args, tmp):
        self.refscope = args.refscope
        self.samples = args.samples_dir
        self.source_dir = args.source_dir
        self.build_dir = args.build_dir
        self.preload = args.preload or os.path.join(
            os.path.dirname(os.path.abspath(args.refscope)), "..", "lib",
            "librefscope.so")
        self.tmp = tmp
        self.n = 0

    def path(self, name):
        return os.path.join(self.tmp, name)

    def compile(self, name, source, *flags, subdir=""):
        """Compiles source as <subdir>/<name>.c into <subdir>/<name>."""
        if subdir:
            os.makedirs(self.path(subdir), exist_ok=True)
            name = os.path.join(subdir, name)
        src = self.path(name + ".c")
        with open(src, "w") as f:
            f.write(source)
        exe = self.path(name)
        p = subprocess.run(["cc", "-g", "-O1", "-fno-inline", "-o", exe, src]
                           + list(flags), capture_output=True, text=True)
        check(p.returncode == 0, f"cannot compile {name}:\n{p.stderr}")
        return exe

    def snapshot(self, argv, env=None):
        """Runs argv under `refscope run --out`; returns the snapshot."""
        self.n += 1
        out = self.path(f"snaps{self.n}")
        p = subprocess.run([self.refscope, "run", "--out", out, "--"] + argv,
                           capture_output=True, text=True, timeout=120,
                           env=env)
        snaps = sorted(os.listdir(out)) if os.path.isdir(out) else []
        check(len(snaps) == 1, f"{argv}: expected one snapshot, got {snaps}"
              f"\nstderr:\n{p.stderr}")
        return os.path.join(out, snaps[0])

    def check(self, *args, env=None):
        p = subprocess.run([self.refscope, "check"] + list(args),
                           capture_output=True, text=True, timeout=120,
                           env=env)
        return p.returncode, p.stdout, p.stderr


def expect(result, status, what, *needles, stream=1):
    code, out, err = result
    text = (out, err)[stream - 1]
    check(code == status, f"{what}: exit {code}, expected {status}\n"
          f"stdout:\n{out}\nstderr:\n{err}")
    for n in needles:
        check(n in text, f"{what}: expected {n!r} in "
              f"{('stdout', 'stderr')[stream - 1]}:\n{text}")


def clean_env():
    env = dict(os.environ)
    env.pop("REFSCOPE_SUPPRESSIONS", None)
    return env


# ---- parts ---------------------------------------------------------------

def part_exit(c):
    prog = c.compile("prog", PROG)
    clean = c.snapshot([prog])
    leaky = c.snapshot([prog, "a=1"])
    expect(c.check(clean), 0, "clean", "refscope check: PASSED")
    expect(c.check(leaky), 1, "leaky", "FAIL: leaked: 16 bytes in 1 block",
           "leak_a", "refscope check: FAILED: 1 finding")
    expect(c.check(clean, leaky), 1, "clean + leaky")
    expect(c.check(), 2, "no snapshot", "no snapshot given", stream=2)
    expect(c.check("--bogus", clean), 2, "bad option", "unknown option",
           stream=2)
    expect(c.check("--fail-on", "leaks,nope", clean), 2, "bad --fail-on",
           "unknown class 'nope'", stream=2)
    expect(c.check("--max-findings", "-1", clean), 2, "bad number",
           "--max-findings wants a number", stream=2)
    expect(c.check("--format", "xml", clean), 2, "bad format",
           "unknown format 'xml'", stream=2)
    garbage = c.path("garbage.rsnap")
    with open(garbage, "wb") as f:
        f.write(b"not a snapshot at all" * 10)
    expect(c.check(garbage), 2, "garbage snapshot", garbage, stream=2)
    expect(c.check(leaky, c.path("missing.rsnap")), 2, "missing snapshot",
           "missing.rsnap", stream=2)
    expect(c.check("--suppressions", c.path("none.supp"), leaky), 2,
           "missing suppression file", "none.supp: No such file", stream=2)
    expect(c.check("--update-baseline", leaky), 2, "--update-baseline alone",
           "needs --baseline", stream=2)
    # Thresholds.
    two = c.snapshot([prog, "a=1", "b=1"])
    expect(c.check("--max-findings", "2", two), 0, "--max-findings 2")
    expect(c.check("--max-findings", "1", two), 1, "--max-findings 1",
           "2 findings, more than --max-findings 1")
    expect(c.check("--max-leaked-bytes", "48", two), 0, "48 bytes allowed")
    expect(c.check("--max-leaked-bytes", "47", two), 1, "47 bytes allowed",
           "48 bytes leaked, more than --max-leaked-bytes 47")
    expect(c.check("--fail-on", "cycles", two), 0, "only cycles gated",
           "2 not gated")
    # run --check: the same gate, the program's own output kept.
    p = subprocess.run([c.refscope, "run", "--check", "--", prog, "a=1"],
                       capture_output=True, text=True, timeout=120)
    expect((p.returncode, p.stdout, p.stderr), 1, "run --check leaky",
           "done\n", "FAIL: leaked: 16 bytes")
    p = subprocess.run([c.refscope, "run", "--check", "--max-findings", "1",
                        "--", prog, "a=1"], capture_output=True, text=True,
                       timeout=120)
    expect((p.returncode, p.stdout, p.stderr), 0, "run --check budget")
    p = subprocess.run([c.refscope, "run", "--check", "--", prog],
                       capture_output=True, text=True, timeout=120)
    expect((p.returncode, p.stdout, p.stderr), 0, "run --check clean",
           "refscope check: PASSED")
    p = subprocess.run([c.refscope, "run", "--check", "--", prog, "bad"],
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 3, f"run --check keeps the program's failure "
          f"status: got {p.returncode}")
    p = subprocess.run([c.refscope, "run", "--check", "--fail-on", "x", "--",
                        prog], capture_output=True, text=True, timeout=120)
    check(p.returncode == 2 and "done" not in p.stdout, "run --check with a "
          f"bad option must fail before running: {p.returncode} {p.stdout}")


# (sample, extra check options, class, message) for each class of finding.
# A sample passes when its class (and, for leak_indirect, also "leaks") is
# not gated (indirect blocks of the others are not gated by default).
CLASSES = [
    ("leak_direct", [], "leaks", "FAIL: leaked: "),
    ("leak_indirect", ["--fail-on", "indirect"], "indirect",
     "FAIL: indirect: "),
    ("rc_cycle_pair", [], "cycles", "FAIL: cycle: 64 bytes in 2 objects of "
     "type Node"),
    ("rc_leaked_ref", [], "leaked_refs", "FAIL: leaked_ref: 40 bytes in 1 "
     "object of type Widget"),
    ("rc_double_unref", [], "rc_errors", "FAIL: rc_error underflow: 1 "
     "occurrence of type Conn"),
]


def part_classes(c):
    missing = []
    for sample, opts, cls, message in CLASSES:
        exe = os.path.join(c.samples, sample)
        if not os.path.exists(exe):
            missing.append(sample)
            continue
        snap = c.snapshot([exe])
        expect(c.check(*opts, snap), 1, f"{cls} ({sample})", message,
               "refscope check: FAILED")
        gated = {cls, "leaks"} if cls == "indirect" else {cls}
        others = ",".join(k for k in ("leaks", "cycles", "leaked_refs",
                                      "rc_errors") if k not in gated)
        expect(c.check("--fail-on", others, snap), 0,
                       f"{sample} with {cls} not gated")
        code, out, _ = c.check("--format", "json", "--fail-on", cls, snap)
        doc = json.loads(out)
        counted = [f for f in doc["findings"] if f["status"] == "counted"]
        check(code == 1 and counted and all(
            f["class"] == message.split()[1].rstrip(":") for f in counted),
            f"{sample}: JSON counted findings {counted}")
    check(not missing, f"samples not built: {missing}")


def part_supp(c):
    prog = c.compile("prog", PROG)
    snap = c.snapshot([prog, "a=2", "b=1"])
    supp = c.path("a.supp")
    with open(supp, "w") as f:
        f.write("# hide leak_a only\nleak:leak_a\nleak:never_seen_fn\n")
    code, out, err = c.check("--suppressions", supp, "--print-suppressions",
                             snap)
    expect((code, out, err), 1, "suppress a", "FAIL: leaked: 32 bytes",
           "1 finding (2 blocks, 32 bytes)  leak:leak_a", "Unused "
           "suppressions (1):\n  leak:never_seen_fn")
    check("leak_a" not in out.split("Suppressions")[0],
          f"the suppressed leak is still listed:\n{out}")
    both = c.path("both.supp")
    with open(both, "w") as f:
        f.write("leak:leak_a\ncycle:leak_b\n")   # cycle: does not hide leaks
    expect(c.check("--suppressions", both, snap), 1, "cycle: kind",
           "FAIL: leaked: 32 bytes")
    env = clean_env()
    env["REFSCOPE_SUPPRESSIONS"] = f"{supp}:{both}"
    expect(c.check(snap, env=env), 1, "REFSCOPE_SUPPRESSIONS")
    with open(both, "w") as f:
        f.write("leak:^leak_b$\n")
    expect(c.check(snap, env=env), 0, "REFSCOPE_SUPPRESSIONS both")
    bad = c.path("bad.supp")
    with open(bad, "w") as f:
        f.write("leak:ok\n\nfrobnicate:x\n")
    expect(c.check("--suppressions", bad, snap), 2, "bad file",
           f"{bad}:3: unknown suppression kind 'frobnicate'", stream=2)

    # An LSan suppression file, unchanged: comments, module and file
    # patterns, anchors, wildcards.
    lsan_supp = c.path("lsan.supp")
    with open(lsan_supp, "w") as f:
        f.write("# LeakSanitizer suppressions\n"
                "leak:libsomething_not_loaded.so\n"
                "leak:^leak_a$\n"
                "leak:prog.c\n")      # the source file: hides every leak
    expect(c.check("--suppressions", lsan_supp, snap), 0, "lsan.supp")
    with open(lsan_supp, "w") as f:
        f.write("leak:leak_*\n")
    expect(c.check("--suppressions", lsan_supp, snap), 0, "lsan wildcard")
    lsan_prog = None
    try:
        lsan_prog = c.compile("prog_lsan", PROG, "-fsanitize=leak")
    except rstest.TestFailure:
        print("note: cc -fsanitize=leak unavailable; LSan side skipped")
    if lsan_prog:
        env = dict(os.environ, LSAN_OPTIONS=f"suppressions={lsan_supp}")
        p = subprocess.run([lsan_prog, "a=2", "b=1"], capture_output=True,
                           text=True, env=env, timeout=120)
        check(p.returncode == 0, f"LeakSanitizer rejects or ignores the "
              f"same file: exit {p.returncode}\n{p.stderr}")
        env["LSAN_OPTIONS"] = ""
        p = subprocess.run([lsan_prog, "a=2", "b=1"], capture_output=True,
                           text=True, env=env, timeout=120)
        check(p.returncode != 0, "LeakSanitizer without suppressions passed")


def part_guessed_refs(c):
    """A leaked reference whose pairing was a guess (rcobj_handoff): the
    gate lists, and matches suppressions against, the reference named as
    never released (keep_a_copy's), not the one the guess may have left
    unbalanced instead (hand_over's), which the report names."""
    env = clean_env()
    env["REFSCOPE_HOOKS"] = os.path.join(c.samples, "rcobj.profile")
    snap = c.snapshot([os.path.join(c.samples, "rcobj_handoff")], env=env)
    code, out, err = c.check(snap)
    expect((code, out, err), 1, "rcobj_handoff", "references never released, "
           "taken at:\n    #0 keep_a_copy ")
    check("hand_over" not in out, f"rcobj_handoff: the gate lists the "
          f"maybe-unbalanced reference as never released:\n{out}")
    supp = c.path("handoff.supp")
    for pattern, status in (("keep_a_copy", 0), ("hand_over", 1)):
        with open(supp, "w") as f:
            f.write(f"leak:^{pattern}$\n")
        expect(c.check("--suppressions", supp, snap), status,
               f"rcobj_handoff suppressed by {pattern}")


def fingerprints(c, *args):
    code, out, err = c.check("--format", "json", *args)
    check(code in (0, 1), f"check --format json: exit {code}\n{err}")
    return code, json.loads(out)


def part_baseline(c):
    with open("/proc/sys/kernel/randomize_va_space") as f:
        check(f.read().strip() != "0", "ASLR is off on this machine")
    # Same file and program names (they are part of fingerprints), other
    # code layout.
    build1 = c.compile("prog", PROG, "-DPAD=0", subdir="build1")
    build2 = c.compile("prog", PROG, "-DPAD=64", subdir="build2")
    base = c.path("base.json")
    s1 = c.snapshot([build1, "a=2", "b=1"])
    code, out, err = c.check("--write-baseline", base, s1)
    check(code == 0 and "recorded 2 findings" in err, f"--write-baseline: "
          f"{code} {err}")
    with open(base) as f:
        doc = json.load(f)
    check(doc["refscope_baseline"] == 1 and len(doc["findings"]) == 2,
          f"baseline: {doc}")
    a = [e for e in doc["findings"] if e["frames"][0].startswith("leak_a")]
    check(len(a) == 1 and a[0]["count"] == 2 and a[0]["bytes"] == 32,
          f"baseline entry of leak_a: {doc}")

    # Same leaks, other build, other run: addresses differ, the gate passes.
    s2 = c.snapshot([build2, "a=2", "b=1"])
    _, d1 = fingerprints(c, s1)
    code, d2 = fingerprints(c, "--baseline", base, s2)
    addr1 = {f["stack"][0]["function"]: f["stack"][0]["address"]
             for f in d1["findings"]}
    addr2 = {f["stack"][0]["function"]: f["stack"][0]["address"]
             for f in d2["findings"]}
    check(addr1.keys() == addr2.keys() and all(addr1[k] != addr2[k]
                                               for k in addr1),
          f"addresses should differ between the builds: {addr1} {addr2}")
    check(code == 0 and d2["totals"]["baselined"] == 2, f"known leaks with "
          f"the baseline: {code} {d2['totals']}")
    expect(c.check("--baseline", base, s2), 0, "baseline text",
           "2 in the baseline")

    # Growth of a known leak fails, naming it.
    s3 = c.snapshot([build2, "a=3", "b=1"])
    expect(c.check("--baseline", base, s3), 1, "growth",
           "FAIL: leaked: 48 bytes in 3 blocks (grew from 2 / 32 bytes")
    # A new leak fails; only it is counted.
    s4 = c.snapshot([build2, "a=2", "b=1", "c=1"])
    code, d4 = fingerprints(c, "--baseline", base, s4)
    counted = [f for f in d4["findings"] if f["status"] == "counted"]
    check(code == 1 and len(counted) == 1 and
          counted[0]["stack"][0]["function"] == "leak_c",
          f"new leak: {code} {counted}")
    # Fewer leaks pass; --update-baseline ratchets the count down...
    s5 = c.snapshot([build2, "a=1", "b=1"])
    expect(c.check("--baseline", base, "--update-baseline", s5), 0,
           "ratchet")
    with open(base) as f:
        doc = json.load(f)
    a = [e for e in doc["findings"] if e["frames"][0].startswith("leak_a")]
    check(a and a[0]["count"] == 1 and a[0]["bytes"] == 16,
          f"ratcheted baseline: {doc}")
    # ... so going back up fails now.
    expect(c.check("--baseline", base, s2), 1, "after the ratchet", "grew")
    # A broken baseline is bad input.
    with open(base, "w") as f:
        f.write('{"refscope_baseline": 1,\n "findings": [}\n')
    expect(c.check("--baseline", base, s2), 2, "corrupt baseline",
           f"{base}: line 2, column 15", stream=2)


def part_formats(c):
    prog = c.compile("prog", PROG)
    snap = c.snapshot([prog, "a=2", "b=1"])
    supp = c.path("a.supp")
    with open(supp, "w") as f:
        f.write("leak:leak_a\n")
    src_root = c.tmp
    args = ["--suppressions", supp, "--source-root", src_root, snap]

    xml = c.path("report.xml")
    code, out, err = c.check("--format", "junit", "--output", xml, *args)
    check(code == 1 and "refscope check: FAILED" in err,
          f"junit: {code} {err}")
    ci_formats.check_junit_file(xml, expect_failures=2, expect_skipped=1)

    code, out, err = c.check("--format", "sarif", *args)
    check(code == 1, f"sarif exit {code}: {err}")
    doc = json.loads(out)
    ci_formats.check_sarif(doc)
    results = doc["runs"][0]["results"]
    check(len(results) == 2, f"sarif results: {results}")
    by_fn = {}
    for r in results:
        loc = r["locations"][0]["physicalLocation"]
        check(loc["artifactLocation"]["uri"] == "prog.c" and
              loc["artifactLocation"].get("uriBaseId") == "SRCROOT",
              f"sarif location should be the program's source, relative: "
              f"{loc}")
        by_fn[r["ruleId"], "suppressions" in r] = loc["region"]["startLine"]
    check(("leaked", True) in by_fn and ("leaked", False) in by_fn,
          f"one suppressed and one unsuppressed result: {by_fn}")
    with open(c.path("prog.c")) as f:
        lines = f.read().split("\n")
    for line in by_fn.values():
        check("malloc" in lines[line - 1], f"sarif startLine {line} is not "
              f"the allocating line: {lines[line - 1]!r}")

    code, out, err = c.check("--format", "github", *args)
    gh = [l for l in out.splitlines() if l.startswith("::")]
    check(code == 1 and len(gh) == 1, f"github: {code}\n{out}")
    check(gh[0].startswith("::error file=prog.c,line=") and
          "title=refscope leaked::leaked: 32 bytes in 1 block" in gh[0],
          f"github line: {gh[0]}")

    # The clean case validates too, with the gate testcase passing.
    clean = c.snapshot([prog])
    code, out, err = c.check("--format", "junit", "--output", xml, clean)
    check(code == 0, f"clean junit exit {code}")
    ci_formats.check_junit_file(xml, expect_failures=0, expect_skipped=0)
    code, out, err = c.check("--format", "sarif", clean)
    ci_formats.check_sarif(json.loads(out))


NESTED = """cmake_minimum_required(VERSION 3.20)
project(gate_nested C)
enable_testing()
{how}
add_executable(leaky leaky.c)
add_executable(noleak noleak.c)
refscope_add_test(NAME leaky COMMAND leaky)
refscope_add_test(NAME noleak COMMAND noleak)
refscope_add_test(NAME leaky_budget COMMAND leaky
                  CHECK_OPTIONS --max-leaked-bytes 100)
"""


def run_nested(c, name, how, extra_cmake=()):
    src = c.path(name)
    os.makedirs(src)
    with open(os.path.join(src, "CMakeLists.txt"), "w") as f:
        f.write(NESTED.format(how=how))
    with open(os.path.join(src, "leaky.c"), "w") as f:
        f.write(LEAKY)
    with open(os.path.join(src, "noleak.c"), "w") as f:
        f.write(CLEAN)
    build = os.path.join(src, "build")
    for cmd in (["cmake", "-S", src, "-B", build] + list(extra_cmake),
                ["cmake", "--build", build]):
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        check(p.returncode == 0, f"{name}: {' '.join(cmd)}:\n{p.stdout}\n"
              f"{p.stderr}")
    p = subprocess.run(["ctest", "--output-on-failure"], cwd=build,
                       capture_output=True, text=True, timeout=300)
    check(p.returncode != 0, f"{name}: ctest passed with a leaking test:\n"
          f"{p.stdout}")
    for test, status in (("leaky", "Failed"), ("noleak", "Passed"),
                         ("leaky_budget", "Passed")):
        line = [l for l in p.stdout.splitlines() if f" {test} " in l and
                "Test #" in l]
        check(line and status in line[0], f"{name}: test {test} should have "
              f"{status}:\n{p.stdout}")
    check("FAIL: leaked: 10 bytes in 1 block" in p.stdout, f"{name}: the "
          f"gate's report is not in the ctest output:\n{p.stdout}")


def part_cmake(c):
    module = os.path.join(c.source_dir, "tools", "cmake", "RefscopeTest.cmake")
    run_nested(c, "from_source", f'set(REFSCOPE_EXECUTABLE "{c.refscope}")\n'
               f'include("{module}")')
    if not c.build_dir:
        return
    prefix = c.path("prefix")
    p = subprocess.run(["cmake", "--install", c.build_dir, "--prefix",
                        prefix], capture_output=True, text=True, timeout=300)
    check(p.returncode == 0, f"cmake --install:\n{p.stdout}\n{p.stderr}")
    run_nested(c, "from_package", "find_package(refscope REQUIRED)",
               [f"-DCMAKE_PREFIX_PATH={prefix}"])


# The leak functions static: the preload alone could not name them.
STATIC_PROG = PROG.replace("__attribute__((noinline)) void *leak_",
                           "__attribute__((noinline)) static void *leak_")


def preloaded(c, argv, **settings):
    """Runs argv under the bare preload (cwd: the temporary directory) with
    REFSCOPE_* settings; returns (status, stdout, stderr)."""
    env = clean_env()
    for k in [k for k in env if k.startswith("REFSCOPE_")]:
        del env[k]
    env.update(LD_PRELOAD=c.preload, REFSCOPE_OUT=c.path("pre_out"))
    env.update(settings)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                       env=env, cwd=c.tmp)
    return p.returncode, p.stdout, p.stderr


def one_line(err, prefix, what):
    lines = [l for l in err.splitlines() if l.startswith(prefix)]
    check(len(lines) == 1, f"{what}: expected one line starting with "
          f"{prefix!r}, got {lines}\nstderr:\n{err}")
    return lines[0]


def part_preload(c):
    check(os.path.exists(c.preload), f"no preload at {c.preload}")
    prog = c.compile("sprog", STATIC_PROG)
    with open(c.path("a.supp"), "w") as f:      # LSan syntax, unchanged
        f.write("# LeakSanitizer suppressions\nleak:^leak_a$\n")
    with open(c.path("b.supp"), "w") as f:
        f.write("leak:leak_b\n")
    with open(c.path("all.supp"), "w") as f:
        f.write("leak:libnot_loaded.so\nleak:sprog.c\n")
    with open(c.path("bad.supp"), "w") as f:
        f.write("leak:ok\n\nfrobnicate:x\n")
    gate = dict(REFSCOPE_EXITCODE="23")
    leaks = [prog, "a=2", "b=1"]

    # Without suppressions: any leak fails (the old rule).
    expect(preloaded(c, leaks, **gate), 23, "no suppressions", "3 leaks",
           stream=2)
    # Everything suppressed: the program's own status and output.
    for supp in ("all.supp", c.path("all.supp"), "a.supp:b.supp",
                 ":a.supp::b.supp:"):
        r = preloaded(c, leaks, REFSCOPE_SUPPRESSIONS=supp, **gate)
        expect(r, 0, f"all suppressed by {supp}", "refscope check: PASSED",
               stream=2)
        check(r[1] == "done\n", f"{supp}: stdout {r[1]!r}")
    expect(preloaded(c, leaks + ["bad"], REFSCOPE_SUPPRESSIONS="all.supp",
                     **gate), 3, "all suppressed, program fails")
    r = preloaded(c, leaks, REFSCOPE_SUPPRESSIONS="all.supp",
                  REFSCOPE_QUIET="1", **gate)
    check(r[0] == 0 and r[2] == "", f"quiet, all suppressed: {r}")
    # Only part suppressed: 23, whatever the program returned.
    expect(preloaded(c, leaks, REFSCOPE_SUPPRESSIONS="a.supp", **gate), 23,
           "leak_b left", "refscope check: FAILED", stream=2)
    expect(preloaded(c, leaks + ["bad"], REFSCOPE_SUPPRESSIONS="a.supp",
                     **gate), 23, "leak_b left, program fails")
    r = preloaded(c, leaks, REFSCOPE_SUPPRESSIONS="a.supp",
                  REFSCOPE_QUIET="1", **gate)
    check(r[0] == 23, f"quiet, leak_b left: {r}")
    # A bad suppression file, a missing one, no tool: fail closed, said in
    # one line (after check's own naming file and line).
    r = preloaded(c, leaks, REFSCOPE_SUPPRESSIONS="a.supp:bad.supp", **gate)
    expect(r, 23, "bad file", f"{c.path('bad.supp')}:3: unknown suppression "
           "kind 'frobnicate'", stream=2)
    line = one_line(r[2], "refscope: cannot apply", "bad file")
    check("status 2" in line and "every leak counts" in line, line)
    r = preloaded(c, leaks, REFSCOPE_SUPPRESSIONS="none.supp", **gate)
    expect(r, 23, "missing file", "none.supp: No such file", stream=2)
    one_line(r[2], "refscope: cannot apply", "missing file")
    r = preloaded(c, leaks, REFSCOPE_SUPPRESSIONS="all.supp",
                  REFSCOPE_TOOL=c.path("no-such-tool"), **gate)
    expect(r, 23, "missing tool")
    line = one_line(r[2], "refscope: cannot apply", "missing tool")
    check("no-such-tool" in line, line)
    r = preloaded(c, leaks, REFSCOPE_SUPPRESSIONS="all.supp",
                  REFSCOPE_TOOL=os.path.abspath(c.refscope), **gate)
    expect(r, 0, "REFSCOPE_TOOL")
    # Nothing leaked: nothing run, the program's status.
    r = preloaded(c, [prog], REFSCOPE_SUPPRESSIONS="bad.supp", **gate)
    check(r[0] == 0 and "refscope check" not in r[2], f"no leak: {r}")
    # No REFSCOPE_EXITCODE: the program's status, and nothing is run.
    for supp in ("a.supp", "bad.supp"):
        for extra, status in (([], 0), (["bad"], 3)):
            r = preloaded(c, leaks + extra, REFSCOPE_SUPPRESSIONS=supp)
            lines = r[2].splitlines()
            # The tool's lines start "refscope check"; the preload's one
            # line about the setting alone names the subcommand too.
            check(r[0] == status and
                  not any(l.startswith("refscope check") for l in lines) and
                  "cannot apply" not in r[2] and
                  sum("REFSCOPE_SUPPRESSIONS decides only" in l for l in lines) == 1,
                  f"no REFSCOPE_EXITCODE, {supp} {extra}: {r}")


PARTS = {"exit": part_exit, "classes": part_classes, "supp": part_supp,
         "guessed_refs": part_guessed_refs,
         "baseline": part_baseline, "formats": part_formats,
         "cmake": part_cmake, "preload": part_preload}


def run(args):
    tmp = tempfile.mkdtemp(prefix="refscope-gate.")
    try:
        c = Ctx(args, tmp)
        for name in ([args.only] if args.only else PARTS):
            PARTS[name](c)
            print(f"gate.{name}: ok")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--refscope", required=True)
    ap.add_argument("--samples-dir", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--build-dir")
    ap.add_argument("--preload", help="librefscope.so (default: ../lib/ "
                    "next to the directory of --refscope)")
    ap.add_argument("--only", choices=sorted(PARTS))
    args = ap.parse_args()
    os.environ.pop("REFSCOPE_SUPPRESSIONS", None)
    rstest.main_wrapper(lambda: run(args))


if __name__ == "__main__":
    main()
