#!/usr/bin/env python3
"""test_profile_symbols - every function a built-in profile names
(lib/model/profile_builtin.c), and every symbol a `recognize` line names
(metatype=, version=), is exported by the real library it profiles,
as installed here (`nm -D --defined-only`): a misspelt name would silently
hook nothing.  Usage:
    test_profile_symbols.py --source-dir DIR [--only PROFILE,...]

The libraries come from `ldconfig -p` by soname, or are absolute paths
(LIBRARIES below).  A
profile whose library is not installed fails the test: CI installs them
all (.ci/deps).
"""
import argparse
import os
import re
import subprocess

import rstest

# profile -> sonames whose exports together must hold its functions
LIBRARIES = {
    "gobject": ["libgobject-2.0.so.0"],
    "gst": ["libgstreamer-1.0.so.0"],
    "cairo": ["libcairo.so.2"],
    "harfbuzz": ["libharfbuzz.so.0"],
    "dbus": ["libdbus-1.so.3"],
    "openssl": ["libcrypto.so.3", "libssl.so.3"],
    "sdbus": ["libsystemd.so.0"],
    # an executable that exports the C API (Debian links libpython in)
    "python": ["/usr/bin/python3.11"],
}


def library_path(soname):
    if soname.startswith("/"):
        return soname if os.path.exists(soname) else None
    p = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True,
                       text=True, check=True)
    for line in p.stdout.splitlines():
        m = re.match(r"\s*(\S+) \(libc6,x86-64[^)]*\) => (\S+)", line)
        if m and m.group(1) == soname:
            return m.group(2)
    return None


def exports(path):
    p = subprocess.run(["nm", "-D", "--defined-only", path],
                       capture_output=True, text=True, check=True)
    return {line.split()[-1].split("@")[0] for line in p.stdout.splitlines()
            if line.split()}


def run(args):
    path = os.path.join(args.source_dir, "lib", "model", "profile_builtin.c")
    with open(path, encoding="utf-8") as f:
        profiles = rstest.profile_functions(f.read())
    rstest.check(set(profiles) == set(LIBRARIES), f"profiles in {path}: "
                 f"{sorted(profiles)}, this test knows {sorted(LIBRARIES)}")
    only = args.only.split(",") if args.only else sorted(profiles)
    errors = []
    for name in only:
        syms = set()
        for soname in LIBRARIES[name]:
            lib = library_path(soname)
            if lib is None:
                errors.append(f"{name}: {soname} is not installed")
                continue
            syms |= exports(lib)
        missing = [fn for fn in profiles[name] if fn not in syms]
        if missing:
            errors.append(f"{name}: not exported by {LIBRARIES[name]}: "
                          f"{missing}")
        else:
            print(f"{name}: {len(profiles[name])} functions, all exported")
    rstest.check(not errors, "\n  ".join(errors))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--only")
    args = ap.parse_args()
    rstest.main_wrapper(lambda: run(args))


if __name__ == "__main__":
    main()
