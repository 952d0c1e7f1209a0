"""What every part of the Store shares (a leaf: parts import this module, never the `watcher.store`
package that assembles them): the result of an ingest, the columns of stored rows, the row helpers
of matches and announcements, and the one read-only opener of a database file.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from watcher.match.explain import words_json
from watcher.models import Announcement, Hit
from watcher.store import search as fts


@dataclass
class IngestResult:
    seen: int = 0
    new: int = 0
    updated: int = 0
    alerts_queued: int = 0


def sort_time(published: str | None, first_seen: str) -> str:
    """What orders and ages an announcement: its publication time, else when we first saw it."""
    return published if fts.sort_seconds(published) is not None else first_seen


def merge_rules(current: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rule entries of a pending alert plus new ones; keywords and words of a repeated rule are united."""
    merged = [dict(entry) for entry in current]
    by_name = {entry.get("rule"): entry for entry in merged}
    for entry in new:
        old = by_name.get(entry["rule"])
        if old is None:
            merged.append(dict(entry))
            by_name[entry["rule"]] = merged[-1]
        else:
            keywords = list(old.get("keywords") or [])
            old["keywords"] = keywords + [k for k in entry["keywords"] if k not in keywords]
            if entry.get("words") or "words" in old:
                words = list(old.get("words") or [])
                old["words"] = words + [w for w in entry.get("words") or [] if w not in words]
    return merged


Item = tuple[Announcement, list[Hit]] | tuple[Announcement, list[Hit], fts.IndexDoc]
Key = tuple[str, str]  # (source, id)


def in_ids(column: str) -> str:
    return f"{column} IN (SELECT value FROM json_each(?))"


CONTENT = ("key", "title", "link", "canonical", "summary", "published", "deadline", "agency", "category")
STATE_DEFAULTS: dict[str, Any] = {
    "name": None, "kind": None, "url": None, "etag": None, "last_modified": None, "body_hash": None,
    "first_polled": None, "last_poll": None, "last_success": None, "last_error": None, "failures": 0,
    "failing_since": None, "next_poll_after": None, "down_alerted": 0,
}

def match_row(ann: Announcement, hit: Hit, stamp: str) -> tuple[Any, ...]:
    """(source, id, rule, channel, keywords, words, matched_at) of a matches row."""
    return (ann.source, ann.id, hit.rule, *match_columns(hit), stamp)


def match_columns(hit: Hit) -> tuple[str, str, str]:
    """(channel, keywords JSON, words JSON) of a hit's matches row, as they are stored."""
    return hit.channel, keywords_json(hit.keywords), json.dumps(words_json(hit), ensure_ascii=False)


@lru_cache(maxsize=4096)
def keywords_json(keywords: tuple[str, ...]) -> str:
    return json.dumps(list(keywords), ensure_ascii=False)


def write_matches(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Insert or rewrite match rows (see match_row) of stored announcements (their docid is copied);
    matched_at stays that of the first match."""
    conn.executemany(
        "INSERT INTO matches (source, id, rule, channel, keywords, words, matched_at, docid) "
        "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, (SELECT docid FROM announcements WHERE source = ?1 AND id = ?2) "
        "WHERE 1 ON CONFLICT(source, id, rule) DO UPDATE SET channel = excluded.channel, "
        "keywords = excluded.keywords, words = excluded.words", rows,
    )


def announcement_of(row: dict[str, Any]) -> Announcement:
    return Announcement(
        source=row["source"], id=row["id"], title=row["title"], link=row["link"], summary=row["summary"] or "",
        published=row["published"], deadline=row["deadline"], agency=row["agency"], canonical=row["canonical"],
        category=row.get("category") or "",
    )


def connect_readonly(path: str | Path, check_same_thread: bool = True) -> sqlite3.Connection | None:
    """A read-only connection to the database file at `path` (nothing created, no WAL switch, no
    migration); None when there is no such file.

    On a read-only file system (a read-only mount, a copy on read-only media) SQLite cannot create
    the WAL's `-shm` file: the database is then opened `immutable` when it has no WAL to read (a
    clean copy), or, when a WAL holds data, read from a private copy of both in a temporary folder."""
    file = Path(path).resolve()
    if not file.is_file():
        return None
    conn = _connect(file, "mode=ro", check_same_thread)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opening happens here
    except sqlite3.OperationalError as exc:
        if "unable to open" not in str(exc) and "readonly" not in str(exc) and "read-only" not in str(exc):
            raise
        conn.close()
        wal = Path(f"{file}-wal")
        if wal.is_file() and wal.stat().st_size > 0:
            conn = _connect(_private_copy(file, wal), "mode=ro", check_same_thread)
        else:
            conn = _connect(file, "mode=ro&immutable=1", check_same_thread)
    conn.execute("PRAGMA query_only = 1")
    return conn


def _connect(file: Path, mode: str, check_same_thread: bool) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(str(file))}?{mode}", uri=True, timeout=5, check_same_thread=check_same_thread)


def _private_copy(file: Path, wal: Path) -> Path:
    """The database and its WAL copied into a temporary folder (removed at exit), to be read there."""
    import atexit
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="watcher-ro-"))
    atexit.register(shutil.rmtree, folder, True)
    shutil.copyfile(file, folder / file.name)
    shutil.copyfile(wal, folder / wal.name)
    return folder / file.name
