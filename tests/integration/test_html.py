#!/usr/bin/env python3
"""test_html - `refscope report --html` rendered by a real browser.

Runs samples (leak_indirect, rc_cycle_pair) under `refscope run --json`,
writes the HTML page of their snapshots with `refscope report --html`,
and loads it in headless Debian chromium:

  --dump-dom    the DOM after the page's script ran must hold every
                finding of `refscope run --json`, in its order, with its
                class, exact bytes and blocks and allocating function (the
                sample header's @finding lines), the summary chips, and
                <html data-js-errors="0" data-js-ready="1"> (the page's
                own script counts uncaught errors); chromium's log
                (--enable-logging=stderr) must show no console message or
                "Uncaught" error from the page.  A control page with a
                deliberate error must trip both detectors, so they are
                known to work.
  --screenshot  a 1200x1600 PNG, decoded here (zlib, PNG filters), must
                be that size, show many colours, and contain the colours
                of the finding classes (so the style sheet applied).  It
                is kept in the build directory as an artifact.

The graphs of the findings are SVG when dot is on PATH and the marked
DOT text when it is not.  The diff and trend pages of
samples/cache_growth's rounds show the growth row of make_value and a
chart with one line per growing site, with no script error either.

`refscope run --html` writes the same page straight from a run.

Exit 77 (ctest SKIP) only when chromium is not installed.
"""
import argparse
import html.parser
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rstest  # noqa: E402
from rstest import check  # noqa: E402

SKIP = 77
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage",
         "--enable-logging=stderr", "--v=0"]
# Colours of the style sheet (lib/report/html_page.c) per class.
CLASS_RGB = {"leaked": (0xc0, 0x39, 0x2b), "indirect": (0xd9, 0x82, 0x2b),
             "cycle": (0x8e, 0x44, 0xad)}


def chromium(page, extra, timeout=120):
    """Runs chromium on page with a fresh profile; (stdout, stderr)."""
    with tempfile.TemporaryDirectory(prefix="rs-chromium-") as profile:
        cmd = [CHROMIUM] + FLAGS + [f"--user-data-dir={profile}"] + extra + [
            "file://" + os.path.abspath(page)]
        p = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
    check(p.returncode == 0, f"chromium exited {p.returncode}:\n"
          + p.stderr[-2000:])
    return p.stdout, p.stderr


def page_errors(page, dom, log):
    """What the two error detectors saw: the page's own counter and the
    console lines of chromium's log that come from the page."""
    m = re.search(r'<html[^>]*data-js-errors="(\d+)"', dom)
    counted = int(m.group(1)) if m else None
    ready = re.search(r'<html[^>]*data-js-ready="1"', dom) is not None
    url = "file://" + os.path.abspath(page)
    console = [ln for ln in log.splitlines()
               if ("CONSOLE" in ln and url in ln) or "Uncaught" in ln]
    return counted, ready, console


class Findings(html.parser.HTMLParser):
    """The finding boxes of the DOM: [(class, first text line, functions)]."""

    def __init__(self):
        super().__init__()
        self.items = []
        self.depth = 0          # <div> nesting inside the open finding
        self.in_pre = False
        self.in_fn = False

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class") or ""
        if tag == "div" and self.depth:
            self.depth += 1
        elif tag == "div" and cls.startswith("finding "):
            self.items.append({"class": cls.split()[1][2:], "text": "",
                               "functions": []})
            self.depth = 1
        elif self.depth and tag == "pre" and "t" in cls.split():
            self.in_pre = True
        elif self.depth and tag == "td" and cls == "fn":
            self.in_fn = True
            self.items[-1]["functions"].append("")

    def handle_endtag(self, tag):
        if tag == "div" and self.depth:
            self.depth -= 1
        elif tag == "pre":
            self.in_pre = False
        elif tag == "td":
            self.in_fn = False

    def handle_data(self, data):
        if self.in_pre:
            self.items[-1]["text"] += data
        elif self.in_fn:
            self.items[-1]["functions"][-1] += data


def plural(n, one, many):
    return one if n == 1 else many


def headline(f):
    """The start of the text report's paragraph of a JSON finding."""
    b, k = f["bytes"], f["blocks"]
    if f["class"] == "cycle":
        return f"Cycle of {len(f['members'])} "
    return (f"Leak of {b} {plural(b, 'byte', 'bytes')} in {k} "
            f"{plural(k, 'block', 'blocks')} ({f['class']}")


def check_dom(name, dom, proc, exp):
    """The DOM against the JSON report of the same snapshot and the
    sample's expectations."""
    parser = Findings()
    parser.feed(dom)
    got = parser.items
    want = proc["findings"]
    check(len(got) == len(want), f"{name}: {len(got)} findings in the page, "
          f"{len(want)} in the JSON report")
    for i, (g, w) in enumerate(zip(got, want)):
        check(g["class"] == w["class"], f"{name}: finding {i} is "
              f"{g['class']} in the page, {w['class']} in JSON")
        check(g["text"].startswith(headline(w)), f"{name}: finding {i} "
              f"reads {g['text'][:120]!r}, expected {headline(w)!r}")
        if w["class"] == "cycle":
            check(f"({w['bytes']} bytes)" in g["text"].splitlines()[0],
                  f"{name}: cycle bytes missing in {g['text'][:120]!r}")
    for cls, nbytes, nblocks, func in exp["finding"].get("main", []):
        hits = [g for g, w in zip(got, want) if w["class"] == cls
                and g["functions"][:1] == [func]
                and (w["bytes"], w["blocks"]) == (nbytes, nblocks)]
        check(len(hits) == 1, f"{name}: expected one {cls} finding of "
              f"{nbytes}/{nblocks} allocated in {func} in the page, found "
              f"{[(g['class'], g['functions'][:1]) for g in got]}")
    summary = proc["summary"]
    for cls, key in (("leaked", "leaked"), ("indirect", "indirect"),
                     ("cycle", "cycles")):
        t = summary[key]
        chip = (f"<b>{cls}</b>{t['bytes']} B / {t['blocks']} "
                f"{plural(t['blocks'], 'block', 'blocks')}</span>")
        check(chip in dom, f"{name}: no summary chip {chip!r}")


def check_graphs(name, dom, proc, snap, args, outdir):
    """One graph per cycle, indirect and (pointed to) leaked_ref finding:
    SVG drawn by dot here; without dot on PATH the DOT text, in a marked
    box."""
    wanted = sum(f["class"] in ("cycle", "indirect")
                 or (f["class"] == "leaked_ref" and f["pointers"] > 0)
                 for f in proc["findings"])
    drawn = len(re.findall(r'<div class="graph"><svg', dom))
    check(drawn == wanted, f"{name}: {drawn} SVG graphs, expected {wanted}")
    page = os.path.join(outdir, f"{name}.nodot.html")
    env = dict(os.environ, PATH="/nonexistent")
    p = subprocess.run([os.path.abspath(args.refscope), "report", "--html",
                        page, snap], capture_output=True, text=True, env=env,
                       timeout=120)
    check(p.returncode == 0, f"{name}: report --html without dot: {p.stderr}")
    with open(page, encoding="utf-8") as f:
        text = f.read()
    boxes = text.count('<div class="dotsrc"><p class="note">Graphviz&#39;s '
                       'dot is not installed')
    check(boxes == wanted and text.count("digraph refscope {") == wanted,
          f"{name}: without dot, {boxes} DOT boxes, expected {wanted}")


def check_bad_input(args, outdir):
    """Usage errors and an unwritable page: one line, exit 2, no page."""
    snapdir = os.path.join(outdir, "leak_indirect.snap")
    snap = [os.path.join(snapdir, f) for f in os.listdir(snapdir)][0]
    page = os.path.join(outdir, "never.html")
    cases = (
        (["report", "--html", page, "--json", snap], "--html excludes --json"),
        (["run", "--html", page, "--json", "--", "true"],
         "--json and --html exclude each other"),
        (["run", "--html", page, "--check", "--", "true"],
         "--check replaces the reports: it excludes --html"),
        (["report", "--html", page, "--folded", snap], "--html excludes --json"),
        (["diff", "--json", "--html", page, snap, snap],
         "--json and --html exclude each other"),
        (["trend", "--html", page, "--json", snap, snap],
         "--json and --html exclude each other"),
        (["report", "--html", "/nonexistent/dir/p.html", snap],
         "cannot write '/nonexistent/dir/p.html': No such file or directory"),
        (["report", "--html", page, os.path.join(outdir, "missing.rsnap")],
         "missing.rsnap"),
    )
    for argv, message in cases:
        p = subprocess.run([args.refscope] + argv, capture_output=True,
                           text=True, timeout=60)
        lines = p.stderr.strip().splitlines()
        check(p.returncode == 2 and len(lines) == 1 and message in lines[0]
              and not os.path.exists(page),
              f"{argv}: expected exit 2 and one line with {message!r}, got "
              f"{p.returncode}: {p.stderr!r}")


def check_growth_pages(args, outdir):
    """diff --html and trend --html of samples/cache_growth's rounds."""
    snapdir = os.path.join(outdir, "cache_growth.snap")
    shutil.rmtree(snapdir, ignore_errors=True)
    p = subprocess.run([args.refscope, "run", "--out", snapdir, "--",
                        os.path.join(args.samples_dir, "cache_growth")],
                       capture_output=True, text=True, timeout=300)
    check(p.returncode == 0, f"cache_growth: exit {p.returncode}\n{p.stderr}")
    rounds = sorted(os.path.join(snapdir, f) for f in os.listdir(snapdir)
                    if "-round" in f)
    check(len(rounds) == 4, f"cache_growth: expected 4 rounds, got {rounds}")
    diff = os.path.join(outdir, "cache_growth.diff.html")
    trend = os.path.join(outdir, "cache_growth.trend.html")
    for cmd in (["diff", "--html", diff, rounds[0], rounds[3]],
                ["trend", "--html", trend] + rounds):
        p = subprocess.run([args.refscope] + cmd, capture_output=True,
                           text=True, timeout=120)
        check(p.returncode == 0, f"{cmd[0]} --html: {p.stderr}")

    dom, log = chromium(diff, ["--dump-dom"])
    counted, ready, console = page_errors(diff, dom, log)
    check(counted == 0 and ready and not console,
          f"diff page: errors {counted}, ready {ready}, console {console}")
    # make_value: 100 -> 400 blocks of 96 bytes (the sample's header)
    row = re.search(r"<tr><td[^>]*>100</td><td[^>]*>400</td><td[^>]*>\+300</td>"
                    r"<td[^>]*>9600</td><td[^>]*>38400</td><td[^>]*>\+28800</td>"
                    r'<td class="fn">make_value ', dom)
    check(row, "diff page: no make_value row 100 -> 400, +28800 bytes")

    dom, log = chromium(trend, ["--dump-dom"])
    counted, ready, console = page_errors(trend, dom, log)
    check(counted == 0 and ready and not console,
          f"trend page: errors {counted}, ready {ready}, console {console}")
    check(dom.count("<polyline") == 2, "trend page: expected 2 lines (make_value, "
          f"make_entry), got {dom.count('<polyline')}")
    for fn, per in (("make_value", 9600), ("make_entry", 4800)):
        check(re.search(rf'<td class="fn">{fn} .*?\+{per}</td>', dom),
              f"trend page: no {fn} row growing by {per} bytes per interval")
        check(re.search(rf"<title>{fn} [^<]*: {per * 4} bytes</title>", dom),
              f"trend page: no hover title for {fn}'s last point")
    shot = os.path.join(outdir, "cache_growth.trend.png")
    chromium(trend, [f"--screenshot={shot}", "--window-size=1200,1600",
                     "--hide-scrollbars"])
    w, h, ch, rows = decode_png(shot)
    line_rgb = (0xd1, 0x49, 0x5b)     # the first series' colour
    hits = sum(1 for row in rows[::2] for x in range(0, w * ch, ch)
               if all(abs(row[x + i] - line_rgb[i]) <= 8 for i in range(3)))
    check(hits > 200, f"trend screenshot: the first line is missing ({hits} px)")
    print(f"cache_growth: diff and trend pages checked, screenshot {shot}")


# ---- PNG ------------------------------------------------------------------

def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode_png(path):
    """(width, height, channels, rows) of an 8-bit RGB/RGBA PNG."""
    with open(path, "rb") as f:
        data = f.read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG")
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    w, h, depth, ctype, _, _, interlace = hdr
    check(depth == 8 and ctype in (2, 6) and interlace == 0,
          f"{path}: unexpected PNG format {hdr}")
    ch = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * ch
    rows, prev = [], bytearray(stride)
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - ch] if x >= ch else 0
            b = prev[x]
            c = prev[x - ch] if x >= ch else 0
            if ft == 1:
                line[x] = (line[x] + a) & 255
            elif ft == 2:
                line[x] = (line[x] + b) & 255
            elif ft == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ft == 4:
                line[x] = (line[x] + paeth(a, b, c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, ch, rows


def check_screenshot(path, classes):
    w, h, ch, rows = decode_png(path)
    check((w, h) == (1200, 1600), f"{path}: {w}x{h}, expected 1200x1600")
    colours = {}
    for row in rows[::4]:
        for x in range(0, w * ch, ch * 4):
            px = tuple(row[x:x + 3])
            colours[px] = colours.get(px, 0) + 1
    total = sum(colours.values())
    top = max(colours.values())
    check(len(colours) >= 50, f"{path}: only {len(colours)} colours: blank?")
    check(top < 0.9 * total, f"{path}: one colour covers "
          f"{100 * top // total}% of the picture: blank?")
    for cls in classes:
        rgb = CLASS_RGB[cls]
        near = sum(n for px, n in colours.items()
                   if all(abs(px[i] - rgb[i]) <= 6 for i in range(3)))
        check(near > 0, f"{path}: no pixel in the colour of '{cls}' {rgb}")
    return len(colours)


# ---- the test ----------------------------------------------------------------

def control_page(outdir):
    """A page whose script fails: both detectors must see it."""
    path = os.path.join(outdir, "control_error.html")
    with open(path, "w") as f:
        f.write("<!DOCTYPE html><html><head><script>var n=0;"
                "window.addEventListener('error',function(){"
                "document.documentElement.setAttribute('data-js-errors',"
                "String(++n));});</script></head><body>"
                "<script>no_such_function();</script></body></html>")
    dom, log = chromium(path, ["--dump-dom"])
    counted, _, console = page_errors(path, dom, log)
    check(counted == 1, f"control page: error counter shows {counted}")
    check(any("Uncaught" in ln for ln in console),
          "control page: chromium's log shows no 'Uncaught' error:\n" + log)


def run_sample(args, name, outdir):
    src = os.path.join(args.source_dir, f"{name}.c")
    exp = rstest.read_expectations(src)
    snapdir = os.path.join(outdir, f"{name}.snap")
    shutil.rmtree(snapdir, ignore_errors=True)
    status, _, data, err = rstest.run_refscope(
        args.refscope, [os.path.join(args.samples_dir, name)], snapdir)
    check(status == 0, f"{name}: exit {status}\n{err}")
    proc = rstest.pick_process(data, "main")
    rstest.check_process(proc, exp["total"].get("main", {}),
                         exp["finding"].get("main", []), name)
    snaps = [os.path.join(snapdir, f) for f in sorted(os.listdir(snapdir))
             if f.endswith(".rsnap")]
    check(len(snaps) == 1, f"{name}: expected one snapshot, got {snaps}")
    page = os.path.join(outdir, f"{name}.html")
    p = subprocess.run([args.refscope, "report", "--html", page, snaps[0]],
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, f"{name}: report --html exited {p.returncode}:"
          f"\n{p.stderr}")
    check(f"wrote {page}" in p.stderr, f"{name}: no 'wrote' line: {p.stderr}")

    dom, log = chromium(page, ["--dump-dom"])
    counted, ready, console = page_errors(page, dom, log)
    check(counted == 0, f"{name}: the page counted {counted} script errors")
    check(ready, f"{name}: the page's script did not finish (no data-js-ready)")
    check(not console, f"{name}: console messages:\n" + "\n".join(console))
    check_dom(name, dom, proc, exp)
    check_graphs(name, dom, proc, snaps[0], args, outdir)

    # `refscope run --html`: the same page straight from a run (temporary
    # snapshots, so no snapshot path on the page); the program's own
    # output and status are unchanged
    page_run = os.path.join(outdir, f"{name}.run.html")
    p = subprocess.run([args.refscope, "run", "--html", page_run, "--",
                        os.path.join(args.samples_dir, name)],
                       capture_output=True, text=True, timeout=300)
    check(p.returncode == 0 and f"wrote {page_run}" in p.stderr,
          f"{name}: run --html: exit {p.returncode}, {p.stderr}")
    check("SUMMARY" not in p.stdout, f"{name}: run --html printed the report")
    dom_run, log = chromium(page_run, ["--dump-dom"])
    check(page_errors(page_run, dom_run, log) == (0, True, []),
          f"{name}: run --html page has script errors")
    check_dom(name + " (run --html)", dom_run, proc, exp)
    check("snapshot " not in re.sub(r"<[^>]*>", "", dom_run.split("<main>")[1]),
          f"{name}: run --html names a temporary snapshot")

    shot = os.path.join(outdir, f"{name}.png")
    if os.path.exists(shot):
        os.unlink(shot)
    _, log = chromium(page, [f"--screenshot={shot}", "--window-size=1200,1600",
                             "--hide-scrollbars"])
    check(os.path.exists(shot), f"{name}: no screenshot written:\n{log}")
    classes = sorted({f["class"] for f in proc["findings"]} & set(CLASS_RGB))
    n = check_screenshot(shot, classes)
    print(f"{name}: {len(proc['findings'])} findings in the DOM, screenshot "
          f"{shot} ({n} colours sampled)")


def main():
    ap = argparse.ArgumentParser()
    # leak_indirect comes first: check_bad_input() uses its snapshot
    ap.add_argument("--refscope", required=True)
    ap.add_argument("--samples-dir", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--out-dir", required=True,
                    help="where the pages and screenshots are kept")
    ap.add_argument("samples", nargs="+")
    args = ap.parse_args()
    if not os.access(CHROMIUM, os.X_OK):
        print(f"SKIP: {CHROMIUM} is not installed (apt-get install chromium)")
        sys.exit(SKIP)
    os.makedirs(args.out_dir, exist_ok=True)

    def body():
        control_page(args.out_dir)
        for name in args.samples:
            run_sample(args, name, args.out_dir)
        check_growth_pages(args, args.out_dir)
        check_bad_input(args, args.out_dir)

    rstest.main_wrapper(body)


if __name__ == "__main__":
    main()
