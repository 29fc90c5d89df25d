#!/usr/bin/env python3
"""test_layers.py - lib/'s include direction: report uses snapshot uses model.

Each quoted #include in lib/<layer>/ must name a header of that layer or of
a layer below it (lib/README.md), by its bare name: no path that reaches
into another folder (the build enforces the rest, since each layer's
library sees only the include folders of the layers below).  Exits 1 with
one line per offending include.
"""
import pathlib
import re
import sys

LAYERS = ["model", "snapshot", "report"]   # lowest first
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def main(lib):
    headers = {layer: {p.name for p in (lib / layer).glob("*.h")} for layer in LAYERS}
    problems = []
    for rank, layer in enumerate(LAYERS):
        allowed = set().union(*(headers[l] for l in LAYERS[:rank + 1]))
        above = set().union(*(headers[l] for l in LAYERS[rank + 1:])) if rank + 1 < len(LAYERS) else set()
        for src in sorted((lib / layer).glob("*.[ch]")):
            for name in INCLUDE.findall(src.read_text()):
                if "/" in name:
                    problems.append(f"{src}: #include \"{name}\" names a path; use the bare header name")
                elif name in above:
                    problems.append(f"{src}: #include \"{name}\" reaches up from {layer}/")
                elif name not in allowed and name != "uthash.h":
                    problems.append(f"{src}: #include \"{name}\" is no header of {layer}/ or below")
    stray = sorted(p.name for p in lib.glob("*.[ch]"))
    if stray:
        problems.append(f"{lib}: sources outside a layer folder: {' '.join(stray)}")
    for p in problems:
        print(p)
    print(f"{sum(len(h) for h in headers.values())} headers in {len(LAYERS)} layers, "
          f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1])))
