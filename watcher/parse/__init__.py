"""Parse stage: response bytes -> announcements, one module per format.

`parse(source, body, content_type, url)` hands off on `source.kind` to feed.py (RSS/Atom),
jsonapi.py (JSON APIs) or html.py (notice boards) and raises ParseError (`parse: ...`) when the
body holds no readable items: not a feed, an API error in a 200 body, a selector matching nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from watcher.errors import ParseError
from watcher.models import Announcement, Source

Parser = Callable[[Source, bytes, "str | None", str], list[Announcement]]

# kind -> (module, function); a module is imported on the first body of its kind (bs4 for boards only)
PARSERS: dict[str, tuple[str, str]] = {"feed": ("feed", "parse_feed"), "json": ("jsonapi", "parse_json"),
                                       "html": ("html", "parse_html")}
_EXPORTS = {"parse_feed": "feed", "parse_json": "jsonapi", "parse_html": "html", "total_count": "jsonapi"}


def parser(kind: str) -> Parser | None:
    if kind not in PARSERS:
        return None
    module, name = PARSERS[kind]
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)  # type: ignore[no-any-return]


def parse(source: Source, body: bytes, content_type: str | None, url: str) -> list[Announcement]:
    """Announcements in `body`, fetched from `url` (the base for relative links)."""
    read = parser(source.kind)
    if read is None:
        raise ParseError(f"unknown source kind '{source.kind}'")
    return read(source, body, content_type, url)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["parse", "parser", "parse_feed", "parse_json", "parse_html", "total_count", "PARSERS"]
