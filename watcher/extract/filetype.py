"""The real type of a file from its first bytes, never from its name.

`sniff(head)` -> `hwp` (OLE2 compound file), `hwpx` (zip whose first member is `mimetype` =
`application/hwp+zip`), `pdf` (`%PDF-` within the first 1024 bytes, as readers allow), or None.
An OLE2 file that is not HWP (a .doc) is found out by the HWP reader (no `FileHeader`)."""

from __future__ import annotations

import os

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
HWPX_MIME = b"application/hwp+zip"
HEAD_BYTES = 1024

KINDS = ("hwp", "hwpx", "pdf")
_EXTENSIONS = {".hwp": "hwp", ".hwpx": "hwpx", ".pdf": "pdf"}


def sniff(head: bytes) -> str | None:
    """The kind of a file from (at least) its first 1024 bytes; None for anything else."""
    if head.startswith(OLE2_MAGIC):
        return "hwp"
    if head.startswith(ZIP_MAGIC):
        # local header: name length at 26, extra length at 28, name at 30, data after the extra
        name_len = int.from_bytes(head[26:28], "little")
        extra_len = int.from_bytes(head[28:30], "little")
        name = head[30:30 + name_len]
        data = head[30 + name_len + extra_len:]
        if name == b"mimetype" and data.startswith(HWPX_MIME):
            return "hwpx"
        return "hwpx" if HWPX_MIME in head else None  # mimetype not first: let the zip reader judge
    if b"%PDF-" in head[:HEAD_BYTES]:
        return "pdf"
    return None


def kind_from_name(filename: str) -> str | None:
    """What the name claims (`.hwp`, `.hwpx`, `.pdf`), for telling a lying extension apart."""
    return _EXTENSIONS.get(os.path.splitext(filename.lower())[1])
