"""Parse stage: response bytes -> announcements, one module per format.

`parse(source, body, content_type, url)` hands off on `source.kind` to feed.py (RSS/Atom),
jsonapi.py (JSON APIs) or html.py (notice boards) and raises ParseError (`parse: ...`) when the
body holds no readable items: not a feed, an API error in a 200 body, a selector matching nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from watcher.errors import ParseError
from watcher.models import Announcement, Source
from watcher.parse.feed import parse_feed
from watcher.parse.html import parse_html
from watcher.parse.jsonapi import parse_json, total_count

Parser = Callable[[Source, bytes, "str | None", str], list[Announcement]]

PARSERS: dict[str, Parser] = {"feed": parse_feed, "json": parse_json, "html": parse_html}


def parse(source: Source, body: bytes, content_type: str | None, url: str) -> list[Announcement]:
    """Announcements in `body`, fetched from `url` (the base for relative links)."""
    parser = PARSERS.get(source.kind)
    if parser is None:
        raise ParseError(f"unknown source kind '{source.kind}'")
    return parser(source, body, content_type, url)


__all__ = ["parse", "parse_feed", "parse_json", "parse_html", "total_count", "PARSERS"]
