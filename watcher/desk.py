"""The desk: what a search asks for (`Query`), what it answers (`Page`), and the pure text helpers the
page, the exports and the CLI share (matched words highlighted, snippets, display width).

Semantics, once: `open_only` keeps calls whose deadline is today or later (Korea time) and, with
`undated` (the default), calls without a parsed deadline too (상시 접수, 예산 소진시); `undated`
off leaves calls without a deadline out, open or not; sort `deadline`
puts open calls first, closest deadline first, then open-ended calls newest first, then closed calls
most recently closed first; sort `newest` orders by coalesce(published, first_seen). `matched` keeps
announcements at least one rule matched. The SQL lives in watcher/store_desk.py.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

SORTS = ("newest", "deadline")
DAY_MIN, DAY_MAX = date(1900, 1, 1), date(2999, 12, 31)  # days a search may be bounded by


@dataclass(frozen=True)
class Query:
    q: str = ""
    source: str | None = None
    rule: str | None = None
    agency: str | None = None
    since: date | None = None
    until: date | None = None
    open_only: bool = False
    undated: bool = True  # calls without a parsed deadline are kept (and count as open)
    matched: bool = False  # only announcements some rule matched
    sort: str = "newest"
    state: str | None = None  # the team's state of the call (a code of notify/teamtext.STATES; `none`: no state)
    assignee: str | None = None  # the member who took the call (id or name)


@dataclass
class Page:
    total: int  # every announcement the query finds
    offset: int  # rows skipped before this page
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def first(self) -> int:
        """1-based number of the first row shown (0 when none)."""
        return self.offset + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.offset + len(self.rows)


# ---- matched words -----------------------------------------------------------------------------

def query_words(q: str) -> list[str]:
    """The words and quoted phrases a user searched for (not `-excluded` ones, no `*`)."""
    words: list[str] = []
    for quoted, word in re.findall(r'"([^"]*)"?|(\S+)', q or ""):
        if word.startswith("-"):
            continue
        text = (quoted or word.lstrip("+")).rstrip("*").strip()
        if text and text not in words:
            words.append(text)
    return words


def highlight_words(row: dict[str, Any], q: str = "") -> list[str]:
    """What to mark in a row: the words searched for and the words its rules matched (not `re:`)."""
    words = query_words(q)
    for word in row.get("keywords") or []:
        if isinstance(word, str) and word and not word.startswith("re:") and word not in words:
            words.append(word)
    return words


def _word_pattern(word: str) -> str | None:
    """A word as a pattern over original text: case-insensitive, any white space between letters
    (`디지털 헬스케어` also marks `디지털헬스케어`), Latin/digit words whole."""
    letters = [c for c in unicodedata.normalize("NFKC", word) if not c.isspace()]
    if not letters:
        return None
    body = r"\s*".join(re.escape(c) for c in letters)
    if letters[0].isascii() and letters[0].isalnum():
        body = r"(?<![0-9A-Za-z])" + body
    if letters[-1].isascii() and letters[-1].isalnum():
        body += r"(?![0-9A-Za-z])"
    return body


def spans(text: str, words: Iterable[str]) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) of the words in text, in order (longer words win)."""
    patterns = [p for p in map(_word_pattern, sorted(set(words), key=len, reverse=True)) if p]
    if not text or not patterns:
        return []
    found = [(m.start(), m.end()) for m in re.finditer("|".join(patterns), text, re.IGNORECASE) if m.end() > m.start()]
    return found


def mark(text: str | None, words: Iterable[str]) -> str:
    """HTML-escaped text with the words wrapped in <mark>."""
    text = text or ""
    out, at = [], 0
    for start, end in spans(text, words):
        out.append(html.escape(text[at:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        at = end
    out.append(html.escape(text[at:]))
    return "".join(out)


def snippet(text: str | None, words: Iterable[str], width: int = 140) -> str:
    """About `width` characters of text, around the first matched word when there is one."""
    text = text or ""
    if len(text) <= width:
        return text
    found = spans(text, words)
    start = max(0, found[0][0] - width // 4) if found else 0
    start = min(start, len(text) - width)
    piece = text[start : start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(text) else "")


# ---- terminal columns --------------------------------------------------------------------------

def display_width(text: str) -> int:
    """Columns a terminal gives text: East Asian wide/full-width characters count two, combining
    marks none."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def pad(text: str, width: int) -> str:
    """text followed by spaces up to `width` display columns (never cut)."""
    return text + " " * max(0, width - display_width(text))
