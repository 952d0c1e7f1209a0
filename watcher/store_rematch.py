"""Store SQL for applying edited rules to stored announcements (see watcher/rematch.py).

`meta` keeps the rules in force: `rules_in_force` (the rules.yaml text last parsed by once/run,
for `rules test --diff`) and `rules_fingerprint` (rematch.fingerprint: which rules' stored matches
are stale).
`rematch_rows` reads the announcements of a time window with their stored matches in two
statements; `apply_rematch` rewrites matches, the search index's rule tokens and queues alerts,
with the new fingerprint, in one transaction: a crash leaves the old rules in force, to be
applied again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import search as fts
from .models import Announcement, Hit
from .store_health import alertable

if TYPE_CHECKING:
    import sqlite_utils

StoredMatch = tuple[str, str, str | None]  # (channel, keywords JSON, words JSON) of one rule


@dataclass
class StoredItem:
    """One stored announcement as the re-match sees it."""

    ann: Announcement
    docid: int
    matches: dict[str, StoredMatch]  # rule -> stored match
    first_seen: str
    window: tuple[int, str, str]  # (oldest, the source's first poll, today): see store_health.alertable

    @property
    def alertable(self) -> bool:
        """May it be alerted at all (max_age, closed call, first-poll baseline)? Asked only of items
        some rule matches, so it is worked out only for them."""
        return alertable(self.ann.published, self.ann.deadline, self.first_seen, *self.window)


@dataclass
class Rewrite:
    """What a re-match does for one announcement."""

    item: StoredItem
    hits: list[Hit]  # the hits of the rules applied again
    old: dict[str, StoredMatch]  # the stored matches those hits replace (rule -> match)
    changed: bool  # `old` differs from `hits`: rewrite them
    earned: bool  # its hits may be alerted (StoredItem.alertable)


class RematchStore:
    """Mixin of Store: needs `self.conn`, `self.db` and `self.transaction()`."""

    conn: sqlite3.Connection
    db: sqlite_utils.Database

    def meta_value(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                          "SET value = excluded.value", (key, value))

    def record_rules(self, fingerprint: str, text: str | None) -> None:
        """The rules now in force: their fingerprint and (when known) the rules.yaml text parsed."""
        with self.transaction():  # type: ignore[attr-defined]
            self.set_meta("rules_fingerprint", fingerprint)
            if text is not None:
                self.set_meta("rules_in_force", text)

    def rematch_rows(self, oldest: int, today: str) -> Iterator[StoredItem]:
        """Stored announcements whose sort time is `oldest` (epoch seconds) or later, newest first,
        each with its matches and whether it may be alerted (`today`: the Korea-time date)."""
        high = fts.ideal_docid(oldest)  # a docid is at or below its ideal (a busy second spills below)
        matches: dict[tuple[str, str], dict[str, StoredMatch]] = {}
        cursor = self.conn.execute(
            "SELECT m.source, m.id, m.rule, m.channel, m.keywords, m.words FROM announcements a "
            "JOIN matches m ON m.source = a.source AND m.id = a.id WHERE a.docid <= ?", (high,))
        for source, ann_id, rule, channel, keywords, words in cursor:
            matches.setdefault((source, ann_id), {})[rule] = (channel, keywords, words)
        cursor = self.conn.execute(
            "SELECT a.source, a.id, a.title, a.link, a.canonical, a.summary, a.published, a.deadline, a.agency, "
            "a.first_seen, a.docid, s.first_polled FROM announcements a LEFT JOIN sources s ON s.id = a.source "
            "WHERE a.docid <= ? ORDER BY a.docid", (high,))
        sure = high - 86_400  # a docid a day below the edge cannot be a spilled older row: skip the check
        windows: dict[str | None, tuple[int, str, str]] = {}
        for (source, ann_id, title, link, canonical, summary, published, deadline, agency, first_seen, docid,
             first_polled) in cursor:
            if docid > sure:
                when = published if fts.sort_seconds(published) is not None else first_seen
                if (fts.sort_seconds(when) or 0) < oldest:
                    continue
            ann = Announcement(source=source, id=ann_id, title=title, link=link, summary=summary or "",
                               published=published, deadline=deadline, agency=agency, canonical=canonical)
            window = windows.get(first_polled)
            if window is None:
                window = windows[first_polled] = (oldest, first_polled or "", today)
            yield StoredItem(ann, docid, matches.get((source, ann_id), {}), first_seen, window)

    def apply_rematch(self, rewrites: list[Rewrite], now: datetime, fingerprint: str,
                      text: str | None) -> int:
        """Write a re-match: the matches of each changed announcement become exactly its new hits
        (the index's rule tokens follow), alerts are queued for the earned hits (one per key and
        channel, as in ingest), and the new rules are recorded as in force. -> alerts queued."""
        from .store import IngestResult, _Ingest, iso, match_row, write_matches

        stamp = iso(now)
        with self.transaction() as conn:  # type: ignore[attr-defined]
            rows: list[tuple[Any, ...]] = []
            gone: list[tuple[str, str, str]] = []
            removed: list[tuple[int, str, str]] = []  # search index rows, as they were
            added: list[tuple[int, str, str]] = []  # and as they become
            for rw in rewrites:
                if not rw.changed:
                    continue
                ann, old = rw.item.ann, rw.old
                for hit in rw.hits:
                    row = match_row(ann, hit, stamp)
                    if old.get(hit.rule) != row[3:6]:
                        rows.append(row)
                new = {hit.rule for hit in rw.hits}
                gone += [(ann.source, ann.id, rule) for rule in old if rule not in new]
                before = set(rw.item.matches)
                after = (before - set(old)) | new
                if before != after:  # the index row again with other rule tokens (one tokenisation)
                    doc = fts.index_doc(ann.title, ann.summary, ann.agency)
                    removed.append((rw.item.docid, doc.body, fts.meta_text(ann.source, before, doc.chars)))
                    added.append((rw.item.docid, doc.body, fts.meta_text(ann.source, after, doc.chars)))
            conn.executemany(f"INSERT INTO {fts.FTS_TABLE}({fts.FTS_TABLE}, rowid, body, meta) "
                             "VALUES ('delete', ?, ?, ?)", removed)
            fts.index_add_many(conn, added)
            conn.executemany("DELETE FROM matches WHERE source = ? AND id = ? AND rule = ?", gone)
            write_matches(conn, rows)
            earned = [(rw.item.ann, rw.hits) for rw in rewrites if rw.earned and rw.hits]
            queued = _Ingest(conn, stamp, (0, "", ""), IngestResult())._queue(earned)  # only its outbox step
            self.record_rules(fingerprint, text)
        return queued
