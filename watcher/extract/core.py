"""One file's bytes -> (real kind, Text), in this process; the worker runs it bounded in a child.

The kind is sniffed from the bytes (filetype.py), never taken from the name: a `.hwp` that is a PDF
is read as a PDF (noted), an HTML error page saved as `.hwp` is refused in one line. The readers
(and PDFium) are imported here, once, so a forked worker starts with them loaded.
"""

from __future__ import annotations

from dataclasses import replace

from watcher.extract.errors import ExtractError, Text
from watcher.extract.filetype import HEAD_BYTES, kind_from_name, sniff
from watcher.extract.hwp import read_hwp
from watcher.extract.hwpx import read_hwpx
from watcher.extract.pdf import read_pdf

MAX_CHARS = 2_000_000
MAX_INFLATED = 64 << 20


def read_bytes(data: bytes, name: str = "", max_chars: int = MAX_CHARS,
               max_inflated: int = MAX_INFLATED) -> tuple[str, Text]:
    """(kind, text) of one attachment; raises ExtractError (one line) when it cannot be read."""
    kind = sniff(data[:HEAD_BYTES])
    claimed = kind_from_name(name) if name else None
    if kind is None:
        head = data[:8].hex()
        raise ExtractError(f"sniff: not HWP, HWPX or PDF (name says {claimed or 'nothing'}, "
                           f"{len(data)} bytes starting {head or 'empty'})")
    if kind == "hwp":
        text = read_hwp(data, max_chars=max_chars, max_inflated=max_inflated)
    elif kind == "hwpx":
        text = read_hwpx(data, max_chars=max_chars, max_inflated=max_inflated)
    else:
        text = read_pdf(data, max_chars=max_chars)
    if claimed and claimed != kind:
        note = f"sniff: name says {claimed}, content is {kind}"
        text = replace(text, note=f"{note}; {text.note}" if text.note else note)
    return kind, text


__all__ = ["ExtractError", "Text", "read_bytes"]
