"""mutators - the generic mutations of the fuzzer, on bytes and on text
lines: truncation, byte flips, interesting numbers, duplicated, removed
and swapped lines, invalid UTF-8, NUL bytes, CR line endings, very long
lines.  Structure-aware snapshot mutations are in fuzz_snapshots.py.

Every function takes a random.Random and returns new bytes plus a short
description (for the failure report); none depends on anything but the
generator's state, so a seed reproduces a case exactly.
"""
import re

# Numbers at the edges of every width a reader may keep a value in.
INTERESTING = [0, 1, 2, 7, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000,
               0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF, 1 << 32,
               (1 << 32) + 1, 1 << 47, 1 << 57, (1 << 63) - 1, 1 << 63,
               (1 << 64) - 2, (1 << 64) - 1]
INTERESTING_TEXT = ["0", "-1", "-0", "1", "4294967295", "4294967296",
                    "18446744073709551615", "18446744073709551616",
                    "99999999999999999999999999", "2147483648", "0x",
                    "0xffffffffffffffff", "0x10000000000000000", "+5",
                    "1e9", "-9223372036854775808", "00000000000000000001",
                    "0x7fffffff", " ", ""]
ODD_BYTES = [b"\xff", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\xed\xa0\x80",
             b"\xc0\x80", b"\x00", b"\r", b"\x1b[31m", b"\t", b"<script>",
             b"&amp;", b'"', b"\\", b"%s%n%p", b"\xef\xbb\xbf", b"\x7f",
             b"\xf4\x90\x80\x80", b"]]>", b"*/", b"\n"]


def interesting_number(rng, old=None):
    """A number at an edge, or near the old value."""
    if old is not None and rng.random() < 0.3:
        return max(0, old + rng.choice([-2, -1, 1, 2, old, -old,
                                        1 << rng.randrange(64)]))
    return rng.choice(INTERESTING)


def truncate(rng, data, cuts=None):
    """Cut at one of the given boundaries (or anywhere)."""
    if cuts and rng.random() < 0.8:
        n = rng.choice(cuts)
    else:
        n = rng.randrange(len(data) + 1) if data else 0
    return data[:n], f"truncated at {n}"


def flip_bytes(rng, data, start=0, end=None):
    """1-4 random bit flips or byte replacements within [start, end)."""
    end = len(data) if end is None else end
    if end <= start:
        return bytes(data), "no flip (empty range)"
    b = bytearray(data)
    what = []
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(start, end)
        if rng.random() < 0.5:
            b[i] ^= 1 << rng.randrange(8)
        else:
            b[i] = rng.choice([0, 0xFF, 0x7F, 0x80, rng.randrange(256)])
        what.append(i)
    return bytes(b), f"bytes changed at {what}"


def odd_insert(rng, data, start=0, end=None):
    """Inserts odd bytes (invalid UTF-8, NUL, CR, markup...) somewhere."""
    end = len(data) if end is None else end
    i = rng.randint(start, max(start, end))
    ins = rng.choice(ODD_BYTES) * rng.choice([1, 1, 2, 100])
    return bytes(data[:i]) + ins + bytes(data[i:]), f"inserted {ins[:16]!r} at {i}"


# ---- text: line-based mutations -----------------------------------------

def split_lines(data):
    return data.split(b"\n")


def join_lines(lines):
    return b"\n".join(lines)


def mutate_text(rng, data, vocabulary=()):
    """One line-aware mutation of a text file (profile, suppressions,
    JSON...).  vocabulary: words of the format, swapped in for others."""
    lines = split_lines(data)
    k = rng.randrange(13)
    i = rng.randrange(len(lines))
    if k == 0:
        del lines[i]
        return join_lines(lines), f"removed line {i + 1}"
    if k == 1:
        lines.insert(i, lines[i])
        return join_lines(lines), f"duplicated line {i + 1}"
    if k == 2:
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return join_lines(lines), f"swapped lines {i + 1} and {j + 1}"
    if k == 3:
        cuts = [sum(len(x) + 1 for x in lines[:n]) for n in range(len(lines))]
        cuts += [c + 1 for c in cuts] + [c - 1 for c in cuts if c > 0]
        return truncate(rng, data, cuts)
    if k == 4:
        return flip_bytes(rng, data)
    if k == 5:
        return odd_insert(rng, data)
    if k == 6:
        return data.replace(b"\n", rng.choice([b"\r\n", b"\r"])), "CR line endings"
    if k == 7:
        n = rng.choice([1023, 1024, 1025, 4096, 70000])
        filler = rng.choice([b"a", b"9", b" ", b"*", b"#", b"\xc3\xa9"])
        lines[i] = lines[i] + filler * n
        return join_lines(lines), f"line {i + 1} made {n} bytes longer"
    if k == 8:
        nums = list(re.finditer(rb"-?(0x)?[0-9a-fA-F]+", lines[i]))
        if nums:
            m = rng.choice(nums)
            new = rng.choice(INTERESTING_TEXT).encode()
            lines[i] = lines[i][:m.start()] + new + lines[i][m.end():]
            return join_lines(lines), f"line {i + 1}: number {m.group()!r} -> {new!r}"
        return odd_insert(rng, data)
    if k == 9 and vocabulary:
        words = lines[i].split()
        if words:
            w = rng.randrange(len(words))
            words[w] = rng.choice(vocabulary).encode()
            lines[i] = b" ".join(words)
            return join_lines(lines), f"line {i + 1} reworded"
    if k == 10:
        lines[i] = lines[i].replace(b" ", rng.choice([b"\t", b"", b"  ", b"\v"]))
        return join_lines(lines), f"line {i + 1} respaced"
    if k == 11:
        return b"", "empty file"
    return data + rng.choice([b"", b"\n", b"\0", b"\n\n\n"]) * 2, "junk appended"


def mutate_text_n(rng, data, vocabulary=(), max_mutations=3):
    """1..max_mutations stacked text mutations."""
    what = []
    for _ in range(rng.randint(1, max_mutations)):
        data, w = mutate_text(rng, data, vocabulary)
        what.append(w)
    return data, "; ".join(what)
