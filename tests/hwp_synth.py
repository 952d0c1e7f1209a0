"""Synthetic HWP 5 files built from records, for the bounds tests. Test helper only."""

from __future__ import annotations

import hashlib
import random
import struct
import zlib

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

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


# --- 배포용 (distribution) documents, encrypted as Hancom's format documents them -----------------

DIST_TAG = 28  # HWPTAG_DISTRIBUTE_DOC_DATA
KEY_TEXT = hashlib.sha1(b"gongmo-watcher test").hexdigest().upper()  # a SHA-1 written as 40 hex digits


def _msvc(seed: int):
    """MS Visual C rand() after srand(seed), written apart from the reader's on purpose."""
    while True:
        seed = (seed * 214013 + 2531011) % 2**32
        yield (seed >> 16) % 32768


def scramble(record: bytes) -> bytes:
    """XOR a 256-byte distribution record with its rand() runs (bytes 0-3, the seed, stay clear)."""
    draws, out, pos = _msvc(int.from_bytes(record[:4], "little")), bytearray(record), 0
    while pos < 256:
        key, run = next(draws) % 256, next(draws) % 16 + 1
        for i in range(pos, min(pos + run, 256)):
            if i >= 4:
                out[i] ^= key
        pos += run
    return bytes(out)


def dist_record(key_text: str = KEY_TEXT, seed: int = 0x1F2E3D4C) -> bytes:
    """The HWPTAG_DISTRIBUTE_DOC_DATA record (header + 256 scrambled bytes) carrying `key_text`."""
    plain = bytearray(random.Random(seed).randbytes(256))
    plain[:4] = seed.to_bytes(4, "little")
    at = 4 + (plain[0] & 15)
    plain[at:at + 80] = key_text.encode("utf-16-le")
    return record(DIST_TAG, scramble(bytes(plain)))


def dist_stream(body: bytes, compressed: bool = True, key_text: str = KEY_TEXT, head: bytes | None = None,
                seed: int = 0x1F2E3D4C) -> bytes:
    """A ViewText/SectionN stream: the distribution record, then the section AES-128-ECB encrypted with
    the first 16 bytes of the key text. The plain section is padded with zeros to whole blocks and to
    at least 3,840 bytes, so the stream (>= 4,096 bytes) is never padded by tests/cfb.py."""
    plain = deflate(body) if compressed else body
    plain = plain.ljust(max(3840, -(-len(plain) // 16) * 16), b"\0")
    encryptor = Cipher(algorithms.AES(key_text.encode("utf-16-le")[:16]), modes.ECB()).encryptor()
    record_ = dist_record(key_text, seed) if head is None else head
    return record_ + encryptor.update(plain) + encryptor.finalize()


def dist_hwp(streams: list[bytes], preview: str | None = "미리보기 본문", compressed: bool = True,
             flags: int | None = None) -> bytes:
    """A 배포용 HWP 5 file holding these ViewText streams (and, unless None, this PrvText)."""
    files = {"FileHeader": file_header(0b100 | int(compressed) if flags is None else flags)}
    if preview is not None:
        files["PrvText"] = preview.encode("utf-16-le")
    for i, stream in enumerate(streams):
        files[f"ViewText/Section{i}"] = stream
    return build(files)
