"""HWP 5.x text, read from the documented format (Hancom, "한글 문서 파일 형식 5.0").

An HWP 5 file is an OLE2 compound file. `FileHeader` (256 bytes) carries the signature, the version
and property bits: 0 the streams are compressed (raw deflate), 1 password, 2 배포용 (distribution:
the body sits AES-encrypted in `ViewText/Section*`), 4 DRM. The body is `BodyText/Section0..n`, a
sequence of records, each with a 32-bit header (tag 10 bits, level 10 bits, size 12 bits; size
0xFFF means a 32-bit size follows). Paragraph text is in HWPTAG_PARA_TEXT (67) records as UTF-16LE,
at every level, so table cells, headers and footnotes come in document order after the paragraph
that holds them. Inside it, char controls (0, 10, 13, 24-31) take one code unit; inline and
extended controls (every other code below 32) take eight. A 배포용 body is read from
`ViewText/Section*`, decrypted by hwpdist.py into the same records. `PrvText` is Hancom's plain
preview (UTF-16LE, the first ~1,000 characters); a password or DRM body, or one that cannot be read
or decrypted, falls back to it, `partial`.

Every loop advances: records by at least their 4-byte header, text by at least one code unit, and
inflating stops at the cap or when a step makes no progress.
"""

from __future__ import annotations

import io
import re
import sys
import zlib
from array import array
from collections.abc import Iterator
from typing import NamedTuple

import olefile

from watcher.extract import hwpdist
from watcher.extract.errors import ExtractError, Text

SIGNATURE = b"HWP Document File"
HWPTAG_BEGIN = 0x10
HWPTAG_PARA_TEXT = HWPTAG_BEGIN + 51  # 67

FLAG_COMPRESSED = 1 << 0
FLAG_PASSWORD = 1 << 1
FLAG_DISTRIBUTION = 1 << 2
FLAG_DRM = 1 << 4

# char controls: one code unit; the rest below 32 are inline/extended controls of eight units
_CHAR_CONTROLS = {0: "", 10: "\n", 13: "\n", 24: "-", 25: "", 26: "", 27: "", 28: "", 29: "",
                  30: " ", 31: " "}
_WIDE_CONTROL_TEXT = {9: "\t"}  # a tab is an inline control; its other seven units are its width
_WIDE = 8

MAX_INFLATED = 64 << 20  # bytes of decompressed body per file
MAX_CHARS = 2_000_000
_CHUNK = 1 << 20
_SECTION_RE = re.compile(r"^Section(\d+)$")


class Record(NamedTuple):
    tag: int
    level: int
    payload: bytes
    complete: bool  # False: the stream ended inside this record


def iter_records(buf: bytes) -> Iterator[Record]:
    """The records of one decompressed section; a record running past the end comes last, incomplete."""
    pos, n = 0, len(buf)
    while pos + 4 <= n:
        header = int.from_bytes(buf[pos:pos + 4], "little")
        pos += 4
        tag, level, size = header & 0x3FF, (header >> 10) & 0x3FF, header >> 20
        if size == 0xFFF:
            if pos + 4 > n:
                yield Record(tag, level, b"", False)
                return
            size = int.from_bytes(buf[pos:pos + 4], "little")
            pos += 4
        end = pos + size
        if end > n:
            yield Record(tag, level, buf[pos:n], False)
            return
        yield Record(tag, level, buf[pos:end], True)
        pos = end


def para_text(payload: bytes) -> str:
    """The text of one HWPTAG_PARA_TEXT payload, controls dropped (tab, line and paragraph ends kept)."""
    units = array("H")
    units.frombytes(payload[: len(payload) & ~1])
    if sys.byteorder == "big":
        units.byteswap()
    parts: list[str] = []
    i = start = 0
    n = len(units)
    while i < n:
        c = units[i]
        if c >= 32:
            i += 1
            continue
        if start < i:
            parts.append(units[start:i].tobytes().decode("utf-16-le", "replace"))
        if c in _CHAR_CONTROLS:
            parts.append(_CHAR_CONTROLS[c])
            i += 1
        else:
            parts.append(_WIDE_CONTROL_TEXT.get(c, ""))
            i += _WIDE  # may pass n when the record is cut short: the loop ends
        start = i
    if start < n:
        parts.append(units[start:n].tobytes().decode("utf-16-le", "replace"))
    return "".join(parts)


def inflate(data: bytes, cap: int = MAX_INFLATED) -> tuple[bytes, bool]:
    """Raw deflate (wbits -15) -> (bytes, complete); stops at `cap` bytes or where the data ends."""
    d = zlib.decompressobj(-15)
    out = bytearray()
    pending = data
    try:
        while pending and len(out) < cap:
            chunk = d.decompress(pending, min(_CHUNK, cap - len(out)))
            left = d.unconsumed_tail
            if not chunk and len(left) == len(pending):
                break  # no progress
            out += chunk
            pending = left
            if d.eof:
                break
        if not d.eof and len(out) < cap:
            out += d.flush(cap - len(out))
    except zlib.error:
        return bytes(out), False
    return bytes(out), d.eof


def _open(data: bytes) -> olefile.OleFileIO:
    try:
        return olefile.OleFileIO(io.BytesIO(data))
    except Exception as e:  # olefile raises OSError and friends for anything not a sound OLE2 file
        what = "truncated or damaged OLE2 file" if data.startswith(b"\xd0\xcf\x11\xe0") else "not an OLE2 file"
        raise ExtractError(f"hwp: {what} ({_one_line(e)})") from None


def _read(ole: olefile.OleFileIO, name: str, limit: int = -1) -> tuple[bytes, bool]:
    """(bytes of a stream, whole); a stream in sectors past the end of a truncated file reads short."""
    want = ole.get_size(name) if limit < 0 else min(limit, ole.get_size(name))
    raw = ole.openstream(name).read(want)
    return raw, len(raw) >= want


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:200] or type(e).__name__


def _header(ole: olefile.OleFileIO, size: int) -> tuple[int, int]:
    if ole.get_type("FileHeader") != olefile.STGTY_STREAM:  # False when missing; a storage when damaged
        raise ExtractError("hwp: OLE2 file without FileHeader (not an HWP 5 document)")
    try:
        head, whole = _read(ole, "FileHeader", 256)
    except Exception as e:  # olefile reads the mini FAT lazily: a damaged one fails here
        raise ExtractError(f"hwp: damaged OLE2 file ({_one_line(e)})") from None
    if not whole:
        raise ExtractError(f"hwp: truncated file ({size} bytes; FileHeader lies past the end)")
    if not head.startswith(SIGNATURE) or len(head) < 40:
        raise ExtractError("hwp: FileHeader has no HWP signature (not an HWP 5 document)")
    return int.from_bytes(head[32:36], "little"), int.from_bytes(head[36:40], "little")


def _sections(ole: olefile.OleFileIO, storage: str) -> list[str]:
    found = []
    for path in ole.listdir(streams=True, storages=False):
        if len(path) == 2 and path[0] == storage and (m := _SECTION_RE.match(path[1])):
            found.append((int(m.group(1)), f"{storage}/{path[1]}"))
    return [name for _, name in sorted(found)]


def _prv_text(ole: olefile.OleFileIO) -> str:
    if not ole.exists("PrvText"):
        return ""
    raw, whole = _read(ole, "PrvText", 1 << 20)
    if not whole:
        return ""
    return raw[: len(raw) & ~1].decode("utf-16-le", "replace").replace("\x00", "").strip()


def prv_text(data: bytes) -> str:
    """Hancom's own plain-text preview of an HWP file (`PrvText`), "" when it has none."""
    ole = _open(data)
    try:
        return _prv_text(ole)
    finally:
        ole.close()


def version_text(version: int) -> str:
    return ".".join(str((version >> s) & 0xFF) for s in (24, 16, 8, 0))


def read_hwp(data: bytes, max_chars: int = MAX_CHARS, max_inflated: int = MAX_INFLATED) -> Text:
    """Text of an HWP 5.x file: every paragraph (tables, headers, notes included), one per line."""
    ole = _open(data)
    try:
        version, flags = _header(ole, len(data))
        if version >> 24 != 5:
            raise ExtractError(f"hwp: version {version_text(version)} is not HWP 5.x")
        locked = flags & (FLAG_PASSWORD | FLAG_DRM)
        distributed = bool(flags & FLAG_DISTRIBUTION) and not locked
        sections = [] if locked else _sections(ole, "ViewText" if distributed else "BodyText")
        if not sections:
            why = ("password-protected document" if flags & FLAG_PASSWORD
                   else "DRM-protected document" if flags & FLAG_DRM
                   else "배포용 document without ViewText sections" if distributed else "no BodyText sections")
            return _fallback(ole, why)
        what = "배포용 body" if distributed else "body"
        try:
            text, note = _body(ole, sections, bool(flags & FLAG_COMPRESSED), max_chars, max_inflated,
                               distributed)
        except Exception as e:  # a damaged stream (bad sector chain ...): the preview is better than nothing
            return _fallback(ole, f"{what} unreadable ({_one_line(e)})")
        if not text.strip():
            return _fallback(ole, (f"{what}: " if distributed else "") + (note[5:] if note else "body holds no text"))
        return Text(text, bool(note), note)
    finally:
        ole.close()


def _fallback(ole: olefile.OleFileIO, why: str) -> Text:
    try:
        preview = _prv_text(ole)
    except Exception:  # a preview in missing sectors
        preview = ""
    if not preview:
        raise ExtractError(f"hwp: {why}, and no PrvText preview")
    return Text(preview, True, f"hwp: {why}; text is the PrvText preview only")


def _body(ole: olefile.OleFileIO, sections: list[str], compressed: bool, max_chars: int,
          max_inflated: int, distributed: bool = False) -> tuple[str, str]:
    out: list[str] = []
    chars = 0
    budget = max_inflated
    notes: list[str] = []
    for name in sections:
        raw, whole = _read(ole, name)
        if not whole:
            notes.append(f"truncated file: {name} has {len(raw)} of {ole.get_size(name)} bytes")
        if distributed:
            try:
                raw, cut = hwpdist.decrypt_section(raw)
            except ExtractError as e:
                notes.append(f"{name}: {e}")
                continue
            if cut:
                notes.append(f"{name}: {cut}")
        if compressed:
            buf, complete = inflate(raw, budget)
            if not complete and distributed and not buf:
                notes.append(f"{name} does not inflate once decrypted (wrong key or damaged stream)")
            elif not complete:
                notes.append(f"{name} {'cut at the size cap' if len(buf) >= budget else 'truncated'}")
        else:
            buf = raw[:budget]
        budget -= len(buf)
        for rec in iter_records(buf):
            if not rec.complete:
                notes.append(f"{name} ends inside a record")
            if rec.tag != HWPTAG_PARA_TEXT:
                continue
            piece = para_text(rec.payload)
            if not piece.endswith("\n"):
                piece += "\n"
            out.append(piece)
            chars += len(piece)
            if chars >= max_chars:
                notes.append(f"cut at {max_chars} characters")
                return "".join(out)[:max_chars], "hwp: " + "; ".join(notes)
        if budget <= 0:
            notes.append("decompressed size cap reached")
            break
    return "".join(out), ("hwp: " + "; ".join(notes)) if notes else ""
