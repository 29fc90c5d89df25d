#!/usr/bin/env python3
"""test_chain_stack - `refscope chain` names a stack root by the frame that
owns the slot (THREAD_FRAMES, unwound by the preload at analysis time).

  * samples/root_stack keeps a 3000-byte block only in a local variable of
    blocked_thread(), in a thread blocked for ever, and a 5000-byte block
    only in a local of exit_from_nested(), which calls exit() itself.
  * The chain to make_thread_stack_block must start at the stack of the
    blocked thread (not the main thread), in the frame of blocked_thread at
    the line that calls sample_block_forever(); the chain to
    make_main_stack_block at the main thread's frame of exit_from_nested
    at its exit() line.  Text and JSON must agree.
Usage: test_chain_stack.py --refscope PATH --preload PATH --samples-dir DIR
       --samples-src DIR
"""
import glob
import json
import os
import subprocess
import tempfile

import rstest

check = rstest.check


def tool(args, *argv):
    p = subprocess.run([args.refscope] + list(argv), capture_output=True,
                       text=True, timeout=120)
    check(p.returncode == 0, f"refscope {' '.join(argv)} exited "
          f"{p.returncode}:\n{p.stdout[-2000:]}\n{p.stderr}")
    return p.stdout


def line_of(path, function, needle):
    """1-based line of the first `needle` after the line defining function."""
    with open(path) as f:
        lines = f.read().split("\n")
    start = next(i for i, l in enumerate(lines)
                 if function + "(" in l and l[:1] not in (" ", "\t", "/", "")
                 and not l.rstrip().endswith(";"))
    return next(i for i in range(start, len(lines)) if needle in lines[i]) + 1


def check_root(args, snap, target, function, line, is_main, pid):
    c = json.loads(tool(args, "chain", "--json", "--max", "1", snap, target))
    check(len(c["chains"]) == 1, f"{target}: chains {c}")
    root = c["chains"][0]["root"]
    check(root and root["kind"] == "stack", f"{target}: root {root}")
    check((root["tid"] == pid) == is_main, f"{target}: tid {root['tid']}, "
          f"pid {pid}")
    check(root["function"] == function, f"{target}: root function "
          f"{root['function']!r}, expected {function!r}: {root}")
    check((root["file"] or "").endswith("root_stack.c") and root["line"] == line,
          f"{target}: root at {root['file']}:{root['line']}, expected "
          f"root_stack.c:{line}")
    check(isinstance(root["frame"], int) and root["frame"] >= 0,
          f"{target}: frame {root['frame']}")
    text = tool(args, "chain", "--max", "1", snap, target)
    want = (f"stack of thread {root['tid']}, frame #{root['frame']} "
            f"{function} (root_stack.c:{line}), sp+0x")
    check(want in text, f"{target}: text output lacks {want!r}:\n{text}")


def run(args):
    src = os.path.join(args.samples_src, "root_stack.c")
    with tempfile.TemporaryDirectory(prefix="rs-chainstack-") as out:
        exe = os.path.join(args.samples_dir, "root_stack")
        p = subprocess.run([exe], env=rstest.preload_env(args.preload, out),
                           capture_output=True, text=True, timeout=120)
        check(p.returncode == 0, f"root_stack exited {p.returncode}: {p.stderr}")
        found = glob.glob(os.path.join(out, "root_stack.*.rsnap"))
        check(len(found) == 1, f"expected one snapshot, got {found}")
        pid = int(os.path.basename(found[0]).split(".")[1])
        check_root(args, found[0], "make_thread_stack_block", "blocked_thread",
                   line_of(src, "blocked_thread", "sample_block_forever();"),
                   False, pid)
        check_root(args, found[0], "make_main_stack_block", "exit_from_nested",
                   line_of(src, "exit_from_nested", "exit("), True, pid)



if __name__ == "__main__":
    rstest.script_main(__doc__, run, "--refscope", "--preload", "--samples-dir", "--samples-src")
