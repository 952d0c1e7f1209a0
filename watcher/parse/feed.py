"""RSS 0.9x / 1.0 / 2.0 and Atom: fastfeed.py (lxml) for well-formed feeds, else feedparser.

We decode the bytes ourselves (CP949 for EUC-KR labels, UTF-8 behind a wrong `us-ascii` label)
and hand feedparser UTF-8, so syllables like 똠 survive. Dates are read from the raw element text
with our own parser: feedparser reads `2026.08.21` as a wrong date. `source.fields` names extra
item elements (`deadline: appdue`, `agency: author`, `agency: category`, `period: ...`); the agency
is only what a field names, never guessed from `author` (a journalist in news feeds).
"""

from __future__ import annotations

import io
import re
from typing import Any

from watcher.errors import ParseError
from watcher.models import Announcement, Source
from watcher.parse.apierror import check_gateway_error
from watcher.parse.fastfeed import ALIASES, Raw, read_entries
from watcher.parse.item import announcements
from watcher.parse.text import decode
from watcher.parse.textclean import markup_safe

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_ROOT_END = re.compile(r"</(?:rss|feed|rdf:RDF|RDF)\s*>")


def _benign() -> tuple[type[Exception], ...]:
    """feedparser's harmless complaints on a feed that was read (encoding labels, undeclared namespaces)."""
    import feedparser

    return (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType, feedparser.UndeclaredNamespace)


def parse_feed(source: Source, body: bytes, content_type: str | None, url: str) -> list[Announcement]:
    text = markup_safe(decode(body, content_type, source.encoding))  # `&#xD800;` costs one character
    check_gateway_error(text)
    data = _XML_DECL.sub("", text, count=1).encode("utf-8")
    entries = read_entries(data, source.fields)
    if entries is None:  # not plain well-formed RSS/Atom: feedparser's tolerance
        entries = feedparser_entries(source, data, text)
    title_mapped = "title" in source.fields
    return announcements(source, url, ((raw, is_text and not title_mapped) for raw, is_text in entries))


def feedparser_entries(source: Source, data: bytes, text: str) -> list[tuple[Raw, bool]]:
    """Entries read by feedparser from UTF-8 `data`; ParseError when the body is no feed. (feedparser is
    imported only here: a well-formed feed never needs it.)"""
    import feedparser

    result = feedparser.parse(
        io.BytesIO(data),  # a stream: feedparser never opens files or URLs from it
        # no content-location: ids stay as written (feedparser would resolve `<id>f9-1</id>` against
        # the feed URL); links are resolved against the feed URL afterwards, as on the fast path
        response_headers={"content-type": "application/xml; charset=utf-8"},
        sanitize_html=False,  # summaries become plain text anyway
        resolve_relative_uris=False,
    )
    entries = result.get("entries") or []
    if not entries:
        _check_empty(result, text)
        return []
    if result.get("bozo") and not isinstance(result.get("bozo_exception"), _benign()) and _cut_off(text):
        entries = entries[:-1]  # the body ends inside the last item: it may be missing fields
    version = str(result.get("version") or "")
    # RSS 2.0 / 0.9x ids are <guid>s; feedparser also files a stray <id> there (중기부 writes the board
    # number, `<id>310</id>`, in every item), which would make every item one. The fast path ignores it too.
    ids = not (version.startswith("rss") and version not in ("rss090", "rss10")) or "<guid" in text
    return [_raw(source, entry, ids) for entry in entries]


def _check_empty(result: Any, text: str) -> None:
    """A feed without entries is fine only when it is a readable RSS/Atom document."""
    exc = result.get("bozo_exception") if result.get("bozo") else None
    if result.get("version") and (exc is None or isinstance(exc, _benign())):
        return
    head = text.lstrip()[:200].lower()
    if not head:
        raise ParseError("not a feed: empty body")
    if head.startswith(("{", "[")):
        raise ParseError("not a feed: got JSON")
    if head.startswith(("<!doctype html", "<html")) or "<html" in head:
        raise ParseError("not a feed: got an HTML page")
    if result.get("version"):
        raise ParseError(f"broken feed, no item read: {_describe(exc)}")
    raise ParseError(f"not a feed: {_describe(exc) if exc else 'no RSS or Atom element'}")


def _cut_off(text: str) -> bool:
    return _ROOT_END.search(text, max(0, len(text) - 2000)) is None


def _describe(exc: Any) -> str:
    msg = " ".join(str(exc).split()) or type(exc).__name__
    return msg.removeprefix("<unknown>:")[:200]


def _raw(source: Source, entry: Any, ids: bool = True) -> tuple[Raw, bool]:
    title_detail = entry.get("title_detail") or {}
    raw: Raw = {
        "id": dict.get(entry, "id") if ids else None,
        "title": dict.get(entry, "title"),
        "link": dict.get(entry, "link"),
        "summary": _summary(entry),
        "published": dict.get(entry, "published") or dict.get(entry, "updated") or dict.get(entry, "created"),
    }
    for field, name in source.fields.items():
        raw[field] = _entry_value(entry, name)
    return raw, "html" not in str(title_detail.get("type", ""))


def _summary(entry: Any) -> str | None:
    summary = dict.get(entry, "summary")
    if summary:
        return summary
    content = dict.get(entry, "content")
    if content:
        return content[0].get("value")
    return None


def _entry_value(entry: Any, name: str) -> str | None:
    """Item element `name` (`appdue`, `author`, `dc:creator`, `category`) as a string."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    value = dict.get(entry, key)
    if value is None:
        value = dict.get(entry, key.replace(":", "_"))
    if value is None and key == "category":
        tags = dict.get(entry, "tags") or []
        value = ", ".join(t.get("term") or "" for t in tags if t.get("term")) or None
    if not value and key == "summary":
        value = _summary(entry)
    return _as_text(value)


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for k in ("value", "term", "name", "href"):
            if value.get(k):
                return str(value[k])
        return None
    if isinstance(value, list):
        parts = [t for t in (_as_text(v) for v in value) if t]
        return ", ".join(parts) or None
    return str(value)
