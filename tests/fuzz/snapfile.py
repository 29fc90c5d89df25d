"""snapfile - a snapshot file (.rsnap) taken apart into its header,
directory and sections, and put back together, for structure-aware
mutation (the layout is lib/snapshot/snapshot_format.h).

A Snap keeps each section's type, count and bytes, in file order; build()
lays them out again back to back after the directory and, unless told
otherwise, makes every CRC, offset, length and the file size agree with
the bytes, so that a mutation inside a section reaches the section's
decoder instead of stopping at a CRC check.  Directory fields can be
overridden after the layout (a Dirent's `override` dict) to test the
reader's checks of the directory itself.

Invariants: parse(build(s)) gives s back for any Snap built from a valid
file without overrides; build() never raises on odd values (every field
is masked to its width).
"""
import struct
import zlib

MAGIC = b"RSNAP\0\r\n"
HEADER_SIZE = 32
DIRENT_SIZE = 32
SECTION_NAMES = {1: "META", 2: "MODULES", 3: "STACKS", 4: "TYPES",
                 5: "NODES", 6: "EDGES", 7: "ROOTS", 8: "ROOT_EDGES",
                 9: "SUMMARY", 10: "RC_HISTORY", 11: "RC_ERRORS",
                 13: "THREAD_FRAMES", 14: "WEAK_EDGES", 15: "PY_LOCATIONS"}
U16, U32, U64 = (1 << 16) - 1, (1 << 32) - 1, (1 << 64) - 1


class Section:
    def __init__(self, type_, count, data):
        self.type = type_
        self.count = count
        self.data = bytearray(data)
        self.override = {}   # dirent field -> value, applied after layout

    def copy(self):
        s = Section(self.type, self.count, bytes(self.data))
        s.override = dict(self.override)
        return s


class Snap:
    def __init__(self, major, minor, extra_header, sections):
        self.major = major
        self.minor = minor
        self.extra_header = bytearray(extra_header)  # header bytes past 32
        self.sections = sections
        self.header_override = {}  # "size", "nsect", "crc", "hdrsize"

    def copy(self):
        s = Snap(self.major, self.minor, bytes(self.extra_header),
                 [x.copy() for x in self.sections])
        s.header_override = dict(self.header_override)
        return s

    def build(self, fix_crc=True):
        """The file's bytes.  fix_crc False keeps the CRCs of the original
        data (stale after a mutation): only then does the CRC check fire."""
        hdr_size = HEADER_SIZE + len(self.extra_header)
        n = len(self.sections)
        pos = hdr_size + DIRENT_SIZE * n
        dirents = []
        body = bytearray()
        for s in self.sections:
            crc = zlib.crc32(bytes(s.data)) if fix_crc else getattr(
                s, "orig_crc", zlib.crc32(bytes(s.data)))
            f = {"type": s.type, "crc": crc, "offset": pos,
                 "length": len(s.data), "count": s.count}
            f.update(s.override)
            dirents.append(struct.pack(
                "<IIQQQ", f["type"] & U32, f["crc"] & U32, f["offset"] & U64,
                f["length"] & U64, f["count"] & U64))
            body += s.data
            pos += len(s.data)
        o = {"major": self.major, "minor": self.minor, "hdrsize": hdr_size,
             "size": pos, "nsect": n}
        o.update(self.header_override)
        head = bytearray(MAGIC + struct.pack(
            "<HHIQI", o["major"] & U16, o["minor"] & U16, o["hdrsize"] & U32,
            o["size"] & U64, o["nsect"] & U32))
        rest = bytes(self.extra_header) + b"".join(dirents)
        crc = zlib.crc32(rest, zlib.crc32(bytes(head)))
        if "crc" in self.header_override:
            crc = self.header_override["crc"]
        return bytes(head) + struct.pack("<I", crc & U32) + rest + bytes(body)


def parse(data):
    """A Snap from a valid file's bytes; ValueError for anything else."""
    if len(data) < HEADER_SIZE or data[:8] != MAGIC:
        raise ValueError("not a snapshot")
    major, minor, hdr_size, size, n = struct.unpack_from("<HHIQI", data, 8)
    if size != len(data) or hdr_size < HEADER_SIZE:
        raise ValueError("bad header")
    sections = []
    if hdr_size + DIRENT_SIZE * n > len(data):
        raise ValueError("bad directory")
    for i in range(n):
        t, crc, off, length, count = struct.unpack_from(
            "<IIQQQ", data, hdr_size + DIRENT_SIZE * i)
        s = Section(t, count, data[off:off + length])
        s.orig_crc = crc
        sections.append(s)
    return Snap(major, minor, data[HEADER_SIZE:hdr_size], sections)


def boundaries(data):
    """Offsets where a truncation is most telling: inside the magic, the
    header's fields, each directory entry's fields, each section's start,
    second byte and last byte, and the end."""
    cuts = {0, 1, 7, 8, 10, 12, 16, 24, 28, 31, 32, len(data) - 1}
    try:
        snap = parse(data)
    except ValueError:
        return sorted(c for c in cuts if 0 <= c < len(data))
    hdr = HEADER_SIZE + len(snap.extra_header)
    pos = hdr + DIRENT_SIZE * len(snap.sections)
    for i in range(len(snap.sections)):
        for f in (0, 4, 8, 16, 24, 31):
            cuts.add(hdr + DIRENT_SIZE * i + f)
    for s in snap.sections:
        cuts.update((pos, pos + 1, pos + len(s.data) - 1))
        pos += len(s.data)
    return sorted(c for c in cuts if 0 <= c < len(data))


# ---- varints (LEB128), the unit of every section's records --------------

def encode_varint(v):
    v &= U64
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zigzag(v):
    return ((v << 1) ^ (v >> 63)) & U64


def tokens(data):
    """Splits section bytes into (start, end, value) varints: every byte
    string splits this way (a varint ends at a byte below 0x80), strings'
    bytes included, which is good enough for mutation.  A trailing run of
    continuation bytes is one unterminated token."""
    out = []
    i = 0
    while i < len(data):
        start, v, shift = i, 0, 0
        while i < len(data):
            b = data[i]
            i += 1
            if shift < 70:
                v |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        out.append((start, i, v & U64))
    return out


def strings(data):
    """(start, end) of the bytes of what look like encoded strings: a
    varint L in 4..127 followed by exactly L-1 printable bytes, the run of
    printable bytes ending there (so a small number before a string is not
    taken for its length).  Heuristic, for aiming string mutations at
    names, paths and labels."""
    found = []
    i = 0
    while i < len(data) - 3:
        L = data[i]
        end = i + L
        if 4 <= L < 0x80 and end <= len(data) and \
                all(0x20 <= c < 0x7F for c in data[i + 1:end]) and \
                (end == len(data) or not 0x20 <= data[end] < 0x7F):
            found.append((i, end))
            i = end
            continue
        i += 1
    return found


# ---- NODES and SUMMARY, decoded: mutations that keep a file valid -------

NODE_FIELDS = ["addr_delta", "size", "stack_id", "type_id", "flags",
               "rc_offset", "rc_width", "cls", "owner", "refcount_zz",
               "alloc_tid", "seq"]
CLASS_COUNT = 6


def section(snap, type_):
    for s in snap.sections:
        if s.type == type_:
            return s
    return None


def decode_nodes(snap):
    """NODES as lists of its 12 varints per node (snapshot_format.h), or
    None when the section does not split into whole records."""
    s = section(snap, 5)
    if s is None:
        return None
    vals = [t[2] for t in tokens(s.data)]
    if len(vals) != 12 * s.count:
        return None
    return [vals[i:i + 12] for i in range(0, len(vals), 12)]


def encode_nodes(snap, nodes):
    """Writes nodes back, and SUMMARY's class totals made the nodes' again
    (the reader checks that they agree)."""
    s = section(snap, 5)
    s.data[:] = b"".join(encode_varint(v) for n in nodes for v in n)
    s.count = len(nodes)
    summ = section(snap, 9)
    if summ is None:
        return
    vals = [t[2] for t in tokens(summ.data)]
    by_class = [[0, 0] for _ in range(CLASS_COUNT)]
    for n in nodes:
        c = n[7] if n[7] < CLASS_COUNT else 0
        by_class[c][0] += n[1]
        by_class[c][1] += 1
    vals[:2 * CLASS_COUNT] = [v for pair in by_class for v in pair]
    summ.data[:] = b"".join(encode_varint(v) for v in vals)
