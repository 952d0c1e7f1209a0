"""HWPX (OWPML, KS X 6101) text: a zip of XML; the body is `Contents/section0.xml`, `section1.xml` ...

Text is the content of `hp:t` elements (with their children's tails: `<hp:tab/>` becomes a tab),
one line per `hp:p` paragraph; a paragraph nested in a table cell ends the line of the paragraph
holding the table, so cell text keeps document order. `Preview/PrvText.txt` is Hancom's preview.

A zip is bounded before and while it is read: at most MAX_MEMBERS members, declared sizes summed
under the cap, and bytes counted as they inflate (declared sizes can lie). XML with a DOCTYPE is
refused, so no entity can expand.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from xml.etree.ElementTree import ParseError, XMLPullParser

from watcher.extract.errors import ExtractError, Text

MAX_MEMBERS = 1000
MAX_INFLATED = 64 << 20
MAX_CHARS = 2_000_000
_CHUNK = 1 << 16
_P = "{http://www.hancom.co.kr/hwpml/2011/paragraph}"
_SECTION_RE = re.compile(r"^Contents/section(\d+)\.xml$")
_DOCTYPE = b"<!DOCTYPE"


class _Budget:
    def __init__(self, limit: int) -> None:
        self.left = limit


def _open(data: bytes, max_members: int, max_inflated: int) -> zipfile.ZipFile:
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        if data.startswith(b"PK\x03\x04") and b"PK\x05\x06" not in data[-(1 << 16) - 22:]:
            raise ExtractError("hwpx: truncated zip (no end of central directory)") from None
        raise ExtractError(f"hwpx: not a readable zip ({' '.join(str(e).split())[:200]})") from None
    infos = z.infolist()
    if len(infos) > max_members:
        raise ExtractError(f"hwpx: {len(infos)} zip members (limit {max_members})")
    declared = sum(i.file_size for i in infos if _SECTION_RE.match(i.filename))
    if declared > max_inflated:
        raise ExtractError(f"hwpx: sections declare {declared} bytes uncompressed (limit {max_inflated})")
    return z


def _chunks(z: zipfile.ZipFile, name: str, budget: _Budget):
    """A member's bytes as they inflate, counted against the budget whatever its header says."""
    with z.open(name) as f:
        while True:
            chunk = f.read(_CHUNK)
            if not chunk:
                return
            budget.left -= len(chunk)
            if budget.left < 0:
                raise ExtractError("hwpx: decompressed size cap reached (zip bomb?)")
            yield chunk


def _section_lines(z: zipfile.ZipFile, name: str, budget: _Budget, out: list[str]) -> None:
    parser = XMLPullParser(events=("start", "end"))
    stack: list[list[str]] = []
    in_t = 0
    first = True
    for chunk in _chunks(z, name, budget):
        if first and _DOCTYPE in chunk[:4096]:
            raise ExtractError(f"hwpx: {name} has a DOCTYPE (refused)")
        first = False
        try:
            parser.feed(chunk)
        except ParseError as e:
            raise ExtractError(f"hwpx: {name}: bad XML ({e})") from None
        for event, el in parser.read_events():
            tag = el.tag
            if event == "start":
                if tag == _P + "p":
                    if stack and "".join(stack[-1]).strip():
                        out.append("".join(stack[-1]))
                        stack[-1] = []
                    stack.append([])
                elif tag == _P + "t":
                    in_t += 1
                continue
            # end: text and tails are complete at the end event
            if tag == _P + "t":
                in_t -= 1
                if stack:
                    stack[-1].append(_t_text(el))
                el.clear()
            elif tag == _P + "p":
                line = "".join(stack.pop()) if stack else ""
                if line.strip():
                    out.append(line)
                el.clear()
    try:
        parser.close()
    except ParseError as e:
        raise ExtractError(f"hwpx: {name}: bad XML ({e})") from None


def _t_text(el) -> str:
    parts = [el.text or ""]
    for child in el:
        local = child.tag.rsplit("}", 1)[-1]
        if local == "tab":
            parts.append("\t")
        elif local == "lineBreak":
            parts.append("\n")
        parts.append(child.tail or "")
    return "".join(parts)


def _sections(z: zipfile.ZipFile) -> list[str]:
    found = [(int(m.group(1)), i.filename) for i in z.infolist() if (m := _SECTION_RE.match(i.filename))]
    return [name for _, name in sorted(found)]


def read_hwpx(data: bytes, max_chars: int = MAX_CHARS, max_inflated: int = MAX_INFLATED,
              max_members: int = MAX_MEMBERS) -> Text:
    """Text of an HWPX file, one paragraph per line (table cells included)."""
    z = _open(data, max_members, max_inflated)
    with z:
        sections = _sections(z)
        if not sections:
            raise ExtractError("hwpx: no Contents/section*.xml")
        budget = _Budget(max_inflated)
        lines: list[str] = []
        for name in sections:
            try:
                _section_lines(z, name, budget, lines)
            except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as e:
                text = "\n".join(lines)
                if text.strip():
                    return Text(text[:max_chars], True, f"hwpx: {name} damaged ({' '.join(str(e).split())[:120]})")
                raise ExtractError(f"hwpx: {name} damaged ({' '.join(str(e).split())[:160]})") from None
        text = "\n".join(lines)
        if len(text) > max_chars:
            return Text(text[:max_chars], True, f"hwpx: cut at {max_chars} characters")
        return Text(text)


def prv_text(data: bytes, max_bytes: int = 1 << 20) -> str:
    """Hancom's preview `Preview/PrvText.txt` (UTF-8), "" when absent."""
    z = _open(data, MAX_MEMBERS, MAX_INFLATED)
    with z:
        try:
            info = z.getinfo("Preview/PrvText.txt")
        except KeyError:
            return ""
        if info.file_size > max_bytes:
            return ""
        with z.open(info) as f:
            raw = f.read(max_bytes)
    return raw.decode("utf-8", "replace").lstrip("\ufeff").strip()
