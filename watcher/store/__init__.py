"""SQLite store: schema (numbered migrations), source health, announcements, matches, the alert outbox.

Every write commits at once (a `sent` mark is durable as soon as mark_sent returns) unless the caller
groups writes in `transaction()`; `ingest` is one transaction per call. All times are ISO 8601 strings
in Korea time (`+09:00`) made from the `now` passed in. Announcements must be written through Store:
it keeps the search index (watcher/search.py) in step. Alerts are keyed (Announcement.key, channel)
and never repeated for a key and channel.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from watcher.clock import KST, iso
from watcher.models import Announcement, Source
from watcher.settings import busy_timeout_ms
from watcher.store import search as fts
from watcher.store.calls import CallStore
from watcher.store.desk import DeskStore
from watcher.store.ingest import Ingest as _Ingest
from watcher.store.ingest import unique_batches as _unique_batches
from watcher.store.ops import OpsStore
from watcher.store.outbox import ClaimStore
from watcher.store.rematch import RematchStore
from watcher.store.rows import STATE_DEFAULTS as _STATE_DEFAULTS
from watcher.store.rows import IngestResult, Item, connect_readonly, keywords_json, match_columns, sort_time
from watcher.store.rows import announcement_of as _announcement
from watcher.store.schema import migrations
from watcher.store.sources import HealthStore, first_poll_stamp
from watcher.store.texts import TextStore, attach_reading, docids_with, has_texts
from watcher.store.triage import TriageStore

__all__ = ["KST", "IngestResult", "Item", "Store", "iso", "keywords_json", "match_columns", "sort_time"]


class Store(DeskStore, HealthStore, OpsStore, RematchStore, CallStore, ClaimStore, TriageStore, TextStore):
    def __init__(self, path: str | Path):
        self.path = Path(path)
        if str(path) == ":memory:":
            self.db = sqlite_utils.Database(memory=True)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite_utils.Database(self.path)
        # first, so that opening, switching to WAL and migrating all wait for another process's lock
        self.db.execute(f"PRAGMA busy_timeout = {busy_timeout_ms()}")
        if str(path) != ":memory:":
            self.db.enable_wal()
        # NORMAL with WAL: a commit is in the WAL file when it returns, so a killed process loses
        # nothing committed; only an OS crash or power loss may drop the last commits (never corrupts).
        self.db.execute("PRAGMA synchronous = NORMAL")
        self._migrate()

    def _migrate(self) -> None:
        """Pending migrations, all in one IMMEDIATE transaction: of several processes opening a new
        database at once, one migrates and the others wait, then find nothing left to do."""
        if not migrations.pending(self.db):
            return
        with self.transaction():
            migrations.apply(self.db)

    @classmethod
    def open_readonly(cls, path: str | Path, check_same_thread: bool = True) -> Store | None:
        """The Store over an existing database, read-only (no folder, file, WAL switch or migration);
        None when the file does not exist."""
        conn = connect_readonly(path, check_same_thread)
        if conn is None:
            return None
        store = cls.__new__(cls)
        store.path = Path(path)
        store.db = sqlite_utils.Database(conn, recursive_triggers=False)
        return store

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    def wal_file(self) -> tuple[int, int] | None:
        """(device, inode) of the database's WAL file as it is now on disk; None when there is none.
        While this process has the database open, a change means the file was deleted or replaced
        under it (watcher/pipeline/loop.py stops then)."""
        try:
            st = Path(f"{self.path}-wal").stat()
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def save_orphaned_wal(self) -> bool:
        """The WAL file was deleted under this process and no other process has started a new one:
        copy what this process committed into the database file (a checkpoint of the WAL it still
        holds open), so it is not lost. False when that is not safe or did not work."""
        if self.wal_file() is not None:
            return False  # another process writes a new WAL: checkpointing ours over it could corrupt
        try:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error:
            return False
        return True

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction (takes the write lock up front, so the busy timeout applies).
        Store writes inside it join it (as savepoints): one commit for several writes."""
        if self.conn.in_transaction:
            with self.db.atomic():
                yield self.conn
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.rollback()
            raise
        self.conn.execute("COMMIT")

    # ---- sources: fetch state and health ------------------------------------------------------

    def source_states(self) -> dict[str, dict[str, Any]]:
        """Every stored source's row, by id (read once per cycle)."""
        return {row["id"]: row for row in self.db.query("SELECT * FROM sources")}

    def set_down_alerted(self, source_id: str, down: bool) -> None:
        """Whether the team has been told that this source is down (so it is told once)."""
        self.db["sources"].update(source_id, {"down_alerted": 1 if down else 0})

    def source_state(self, source_id: str) -> dict[str, Any]:
        cursor = self.conn.execute("SELECT * FROM sources WHERE id = ?", (source_id,))
        row = fts.first_dict(cursor)
        return row if row is not None else {"id": source_id, **_STATE_DEFAULTS}

    def _touch_source(self, conn: sqlite3.Connection, source: Source) -> None:
        conn.execute(
            "INSERT INTO sources (id, name, kind, url) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE "
            "SET name = excluded.name, kind = excluded.kind, url = excluded.url",
            (source.id, source.label, source.kind, source.url),
        )

    def record_success(self, source: Source, now: datetime, etag: str | None, last_modified: str | None,
                       body_hash: str | None) -> None:
        stamp = iso(now)
        with self.transaction() as conn:
            self._touch_source(conn, source)
            conn.execute(
                "UPDATE sources SET etag = ?, last_modified = ?, body_hash = ?, "
                "first_polled = coalesce(first_polled, ?), last_poll = ?, last_success = ?, failures = 0, "
                "failing_since = NULL, next_poll_after = NULL WHERE id = ?",
                (etag, last_modified, body_hash, stamp, stamp, stamp, source.id),
            )
            self.count_poll(conn, source.id, failed=False)

    def record_failure(self, source: Source, now: datetime, error: str, retry_after: float | None) -> None:
        stamp = iso(now)
        until = iso(now + timedelta(seconds=retry_after)) if retry_after else None
        with self.transaction() as conn:
            self._touch_source(conn, source)
            conn.execute(
                "UPDATE sources SET failures = failures + 1, failing_since = coalesce(failing_since, ?), "
                "last_error = ?, last_poll = ?, next_poll_after = ? WHERE id = ?",
                (stamp, error, stamp, until, source.id),
            )
            self.count_poll(conn, source.id, failed=True)

    def status(self) -> list[dict[str, Any]]:
        cursor = self.conn.execute(
            "SELECT s.id, s.name, s.last_success, s.last_error, s.failures, s.failing_since, s.last_poll, "
            "(SELECT count(*) FROM announcements a WHERE a.source = s.id) AS items FROM sources s ORDER BY s.id"
        )
        return list(fts.dicts(cursor))

    # ---- ingest -------------------------------------------------------------------------------

    def ingest(self, source: Source, items: Iterable[Item], now: datetime, max_age: float) -> IngestResult:
        """Store one poll of a source: announcements, their matches, and the alerts they earn.

        Items are (announcement, hits) or (announcement, hits, IndexDoc) when a worker process has
        tokenised it already. Unchanged announcements only get their last_seen moved."""
        result = IngestResult()
        stamp = iso(now)
        oldest = int((now - timedelta(seconds=max_age)).timestamp())
        today = now.astimezone(KST).date().isoformat()
        with self.transaction() as conn:
            self._touch_source(conn, source)
            first = first_poll_stamp(conn, source.id, "")  # "" before the source's first poll is stored
            window = (oldest, first or stamp, today)
            # a row new in a later poll is never baseline, even in the first poll's second (stamps are seconds)
            fresh = window if not first else (oldest, "", today)
            for batch in _unique_batches(items):
                _Ingest(conn, stamp, window, result, fresh).run(batch)
        return result

    # ---- outbox -------------------------------------------------------------------------------

    def enqueue_ops(self, channel: str, key: str, text: str, now: datetime) -> bool:
        """An operations message (source down/up, config problems); False when key+channel is known."""
        cursor = self.db.execute(
            "INSERT INTO alerts (kind, key, channel, text, created_at, status, attempts) "
            "VALUES ('ops', ?, ?, ?, ?, 'pending', 0) ON CONFLICT(key, channel) DO NOTHING",
            (key, channel, text, iso(now)),
        )
        return cursor.rowcount == 1

    def pending_alerts(self, now: datetime) -> list[dict[str, Any]]:
        """Due alerts, oldest first, with the announcement's fields and the source name.

        `rules` is a parsed list of {"rule", "keywords", "mention"}; a call that was read carries
        `call_info` (its 접수기간 / 지원규모 / 지원대상 lines) and `files` ([{name, url}], board order)."""
        cursor = self.conn.execute(
            "SELECT al.*, a.title, a.link, a.summary, a.published, a.deadline, a.agency, "
            "s.name AS source_name, t.info AS call_info, (SELECT json_group_array(json_object('name', f.name, "
            "'url', f.url)) FROM (SELECT name, url FROM call_files f WHERE f.source = al.source AND f.id = al.ann_id "
            "ORDER BY f.n) f) AS files FROM alerts al "
            "LEFT JOIN call_texts t ON t.source = al.source AND t.id = al.ann_id "
            "LEFT JOIN announcements a ON a.source = al.source AND a.id = al.ann_id "
            "LEFT JOIN sources s ON s.id = al.source "
            "WHERE al.status = 'pending' AND (al.next_attempt_at IS NULL OR al.next_attempt_at <= ?) "
            "ORDER BY al.id",
            (iso(now),),
        )
        rows = list(fts.dicts(cursor))
        for row in rows:
            row["rules"] = json.loads(row["rules"] or "[]")
            row["call_info"] = json.loads(row["call_info"]) if row.get("call_info") else {}
            row["files"] = json.loads(row["files"] or "[]")
        return rows

    def mark_sent(self, alert_id: int, now: datetime, ts: str | None) -> None:
        """Sent; unless it was queued again (an `update` re-armed) while its claim was in flight."""
        self.db.execute(
            "UPDATE alerts SET status = 'sent', sent_at = ?, slack_ts = ?, attempts = attempts + 1, "
            "next_attempt_at = NULL, claimed_by = NULL, claimed_until = NULL "
            "WHERE id = ? AND NOT (status = 'pending' AND claimed_by IS NOT NULL)",
            (iso(now), ts, alert_id),
        )

    def mark_retry(self, alert_id: int, now: datetime, error: str, retry_at: datetime | None) -> None:
        """A failed attempt; the alert stays pending and is due again at retry_at (None: at once)."""
        self.db.execute(
            "UPDATE alerts SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, status = 'pending', "
            "claimed_by = NULL, claimed_until = NULL WHERE id = ? AND status != 'sent'",
            (error, iso(retry_at) if retry_at else None, alert_id),
        )

    # ---- read side ----------------------------------------------------------------------------

    def get_announcement(self, source: str, ann_id: str) -> Announcement | None:
        row = fts.first_dict(
            self.conn.execute("SELECT * FROM announcements WHERE source = ? AND id = ?", (source, ann_id))
        )
        return _announcement(row) if row else None

    def announcements_by_link(self, link: str, canonical: str) -> list[Announcement]:
        """Stored announcements whose link or canonical link is the one given (every source's copy)."""
        rows = fts.dicts(self.conn.execute(
            "SELECT * FROM announcements WHERE canonical = ? OR link = ? OR canonical = ? ORDER BY docid",
            (canonical, link, link)))
        return [_announcement(row) for row in rows]

    def announcements(self, since: str | date | None = None, source: str | None = None) -> Iterator[Announcement]:
        """Stored announcements, newest first; since: a day (Korea time) of coalesce(published, first_seen)."""
        low, high = fts.docid_range(fts.parse_day(since, "since"), None)
        sql = "SELECT * FROM announcements WHERE docid BETWEEN ? AND ?"
        params: list[Any] = [low, high]
        if source:
            sql += " AND source = ?"
            params.append(source)
        for row in fts.dicts(self.conn.execute(sql + " ORDER BY docid", params)):
            yield _announcement(row)

    def search(self, query: str, since: str | date | None = None, until: str | date | None = None,
               source: str | None = None, rule: str | None = None, limit: int = 50, open_only: bool = False,
               today: str | date | None = None, agency: str | None = None) -> list[dict[str, Any]]:
        """Full-text search, newest first; see watcher/search.py for the query language and `agency`.
        Words in a read call's detail page or attachments count too (watcher/store/texts.py): such rows
        carry `attachments` and `found` (where the words are)."""
        rows = fts.search(self.conn, query, since=since, until=until, source=source, rule=rule, limit=limit,
                          open_only=open_only, today=today, agency=agency,
                          also=docids_with if has_texts(self.conn) else None)
        attach_reading(self.conn, rows, query)
        return rows


