"""Polling a catalogue entry (watcher/config/catalog.yaml) against a local server serving one of its pages.

The page is served at the path of the entry's real URL (so relative links resolve as on the site);
the entry is included into a sources.yaml by id, only its `url` (and `session_url`) overridden to
point here, and goes through the loader, the fetcher and the parser as `watcher once` would take it.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from tests.feed_server import FeedServer
from watcher.config.catalog import Entry, entry
from watcher.config.load import load_config
from watcher.fetch.poll import fetch, make_session
from watcher.models import Announcement, Source
from watcher.parse import parse

FIXTURES = Path(__file__).parent / "fixtures" / "catalog"
CONTENT_TYPES = {"html": "text/html; charset=utf-8", "json": "application/json;charset=UTF-8",
                 "feed": "application/rss+xml; charset=utf-8"}
SESSION_COOKIE = "WATCHER_TEST_SESSION=1; Path=/"


def local(server: FeedServer, url: str) -> str:
    """The real `url` with this server's scheme and host (path and query kept)."""
    parts = urlsplit(url)
    return server.base + parts.path + (f"?{parts.query}" if parts.query else "")


def content_type(e: Entry) -> str:
    if e.settings.get("encoding"):  # a board that declares a legacy charset (충북TP: EUC-KR)
        declared = "euc-kr" if e.settings["encoding"] in ("cp949", "euc-kr") else e.settings["encoding"]
        return f"text/html; charset={declared}"
    return CONTENT_TYPES[e.kind]


def serve(server: FeedServer, e: Entry, body: bytes) -> None:
    """`body` at the path of the entry's URL; its session_url's path answers and sets a cookie."""
    server.set(urlsplit(e.url).path, body, content_type=content_type(e))
    if e.settings.get("session_url"):
        path = urlsplit(e.settings["session_url"]).path
        if path == urlsplit(e.url).path:  # one page sets the cookie and lists (인천TP)
            server.routes[path].headers["Set-Cookie"] = SESSION_COOKIE
        else:
            server.set(path, b"<html></html>", content_type="text/html", headers={"Set-Cookie": SESSION_COOKIE})


def sources_yaml(server: FeedServer, ids: list[str], extra: str = "") -> str:
    """`include:` of the ids, each overridden to poll this server."""
    lines = [f"include: [{', '.join(ids)}]", "sources:"]
    for ident in ids:
        e = entry(ident)
        assert e is not None, ident
        lines += [f"  - id: {ident}", f"    url: {json.dumps(local(server, e.url))}"]
        if e.settings.get("session_url"):
            lines.append(f"    session_url: {json.dumps(local(server, e.settings['session_url']))}")
    return "\n".join(lines) + "\n" + extra


def source_for(server: FeedServer, ident: str, folder: Path) -> Source:
    (folder / "sources.yaml").write_text(sources_yaml(server, [ident]), encoding="utf-8")
    (folder / "rules.yaml").write_text("rules:\n  - name: all\n    any: [\"re:.\"]\n", encoding="utf-8")
    config = load_config(folder / "sources.yaml", folder / "rules.yaml", env={"DATA_GO_KR_KEY": "test-key"})
    (source,) = config.sources
    return source


def poll(server: FeedServer, ident: str, fixture: Path, folder: Path) -> tuple[Source, list[Announcement]]:
    """The entry polled once against `fixture`, served here: (its Source, what it parses)."""
    e = entry(ident)
    assert e is not None, ident
    serve(server, e, fixture.read_bytes())
    source = source_for(server, ident, folder)
    session = make_session(pool_size=1)
    try:
        fetched = fetch(session, source)
    finally:
        session.close()
    return source, parse(source, fetched.body, fetched.content_type, fetched.url)
