"""Synthetic HWP 5 files built from records, for the bounds tests. Test helper only."""

from __future__ import annotations

import struct
import zlib

from tests.cfb import build

PARA_TEXT = 67


def record(tag: int, payload: bytes, level: int = 0, size: int | None = None) -> bytes:
    """One record; `size` overrides the stated size (to lie about it)."""
    n = len(payload) if size is None else size
    if n >= 0xFFF:
        return struct.pack("<II", tag | (level << 10) | (0xFFF << 20), n) + payload
    return struct.pack("<I", tag | (level << 10) | (n << 20)) + payload


def para(text: str, level: int = 0, end: bool = True) -> bytes:
    return record(PARA_TEXT, (text + ("\r" if end else "")).encode("utf-16-le"), level)


def deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def file_header(flags: int = 1, version: int = 0x05000500) -> bytes:
    return b"HWP Document File".ljust(32, b"\0") + struct.pack("<II", version, flags) + b"\0" * 216


def hwp(sections: list[bytes], compressed: bool = True, flags: int | None = None,
        preview: str = "미리보기 본문", view_text: bool = False) -> bytes:
    streams = {"FileHeader": file_header(int(compressed) if flags is None else flags),
               "PrvText": preview.encode("utf-16-le")}
    store = "ViewText" if view_text else "BodyText"
    for i, body in enumerate(sections):
        streams[f"{store}/Section{i}"] = deflate(body) if compressed else body
    return build(streams)


def notice(*lines: str, preview: str | None = None) -> bytes:
    """A small HWP 5 공고문 whose body is these paragraphs (its preview: the first of them)."""
    body = b"".join(para(line) for line in lines)
    return hwp([body], preview=preview if preview is not None else (lines[0] if lines else ""))
