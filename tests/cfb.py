"""A minimal OLE2 (compound file, MS-CFB v3) writer for synthetic HWP test files. Test helper only.

Every stream is padded to 4096 bytes so none goes to the mini stream (the readers ignore the
padding: FileHeader is read for 40 bytes, PrvText NULs are stripped, deflate stops at its end,
zero bytes after uncompressed records are empty records). Siblings form a right-leaning chain in
CFB order (name length, then upper-case name), a valid red-black-free tree for readers."""

from __future__ import annotations

import struct

SECTOR = 512
FREE, END, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
MIN_STREAM = 4096


def _order(name: str) -> tuple[int, str]:
    return (len(name), name.upper())


def build(streams: dict[str, bytes]) -> bytes:
    """{'FileHeader': b'..', 'BodyText/Section0': b'..'} -> bytes of a compound file."""
    tree: dict = {}
    for path, data in streams.items():
        node = tree
        parts = path.split("/")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = data.ljust(MIN_STREAM, b"\0")

    entries: list[dict] = [{"name": "Root Entry", "type": 5, "child": NOSTREAM, "right": NOSTREAM,
                            "data": None}]
    blobs: list[tuple[int, bytes]] = []

    def add(node: dict) -> int:
        ids = []
        for name in sorted(node, key=_order):
            value = node[name]
            eid = len(entries)
            entry = {"name": name, "type": 1 if isinstance(value, dict) else 2, "child": NOSTREAM,
                     "right": NOSTREAM, "data": None}
            entries.append(entry)
            if isinstance(value, dict):
                entry["child"] = add(value)
            else:
                entry["data"] = value
                blobs.append((eid, value))
            ids.append(eid)
        for a, b in zip(ids, ids[1:], strict=False):
            entries[a]["right"] = b
        return ids[0] if ids else NOSTREAM

    entries[0]["child"] = add(tree)
    dir_sectors = -(-len(entries) * 128 // SECTOR)
    data_sectors = sum(-(-len(b) // SECTOR) for _, b in blobs)
    fat_sectors = 1
    while fat_sectors * (SECTOR // 4) < fat_sectors + dir_sectors + data_sectors:
        fat_sectors += 1
    assert fat_sectors <= 109, "test file too large for a header-only DIFAT"
    fat = [FREE] * (fat_sectors * SECTOR // 4)
    for i in range(fat_sectors):
        fat[i] = FATSECT
    pos = fat_sectors
    first_dir = pos
    for i in range(dir_sectors):
        fat[pos + i] = pos + i + 1 if i < dir_sectors - 1 else END
    pos += dir_sectors
    body = bytearray()
    for eid, blob in blobs:
        n = -(-len(blob) // SECTOR)
        entries[eid]["start"] = pos
        for i in range(n):
            fat[pos + i] = pos + i + 1 if i < n - 1 else END
        pos += n
        body += blob.ljust(n * SECTOR, b"\0")

    header = bytearray(SECTOR)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 40, 0, fat_sectors, first_dir, 0, MIN_STREAM, END, 0, END, 0)
    difat = list(range(fat_sectors)) + [FREE] * (109 - fat_sectors)
    struct.pack_into("<109I", header, 76, *difat)

    directory = bytearray()
    for e in entries:
        raw = bytearray(128)
        name = e["name"].encode("utf-16-le")
        raw[0:len(name)] = name
        struct.pack_into("<HBB", raw, 64, len(name) + 2, e["type"], 1)
        struct.pack_into("<III", raw, 68, NOSTREAM, e["right"], e["child"])
        data = e["data"]
        struct.pack_into("<II", raw, 116, e.get("start", END if data is None else 0),
                         0 if data is None else len(data))
        directory += raw
    directory = directory.ljust(dir_sectors * SECTOR, b"\0")
    # unused directory slots must read as empty entries (type 0)
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    return bytes(header) + fat_bytes + bytes(directory) + bytes(body)
