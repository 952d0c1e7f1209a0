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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils import Migrations

from watcher.match.explain import rule_entry, words_json
from watcher.models import Announcement, Hit, Source
from watcher.settings import busy_timeout_ms
from watcher.store import outbox as store_claims
from watcher.store import search as fts
from watcher.store.calls import CallLinker, CallStore, calls_of
from watcher.store.calls import migrate as migrate_calls
from watcher.store.desk import DeskStore
from watcher.store.ops import HEARTBEAT_SQL, OpsStore
from watcher.store.outbox import ClaimStore
from watcher.store.rematch import RematchStore
from watcher.store.sources import HealthStore, alertable, first_poll_stamp, migrate_0005_health

KST = fts.KST
migrations = Migrations("gongmo-watcher")


@migrations(name="0001_tables")
def _m0001_tables(db: sqlite_utils.Database) -> None:
    for sql in (
        """CREATE TABLE sources (id TEXT PRIMARY KEY, name TEXT, kind TEXT, url TEXT, etag TEXT,
            last_modified TEXT, body_hash TEXT, first_polled TEXT, last_poll TEXT, last_success TEXT,
            last_error TEXT, failures INTEGER NOT NULL DEFAULT 0, failing_since TEXT,
            next_poll_after TEXT, down_alerted INTEGER NOT NULL DEFAULT 0)""",
        """CREATE TABLE announcements (source TEXT NOT NULL, id TEXT NOT NULL, key TEXT NOT NULL,
            title TEXT NOT NULL, link TEXT, canonical TEXT, summary TEXT NOT NULL DEFAULT '',
            published TEXT, deadline TEXT, agency TEXT, first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL, PRIMARY KEY (source, id))""",
        """CREATE TABLE matches (source TEXT NOT NULL, id TEXT NOT NULL, rule TEXT NOT NULL,
            channel TEXT, keywords TEXT, matched_at TEXT, PRIMARY KEY (source, id, rule))""",
        "CREATE INDEX matches_rule ON matches(rule)",
        """CREATE TABLE alerts (id INTEGER PRIMARY KEY, kind TEXT NOT NULL DEFAULT 'announcement',
            key TEXT NOT NULL, channel TEXT NOT NULL, source TEXT, ann_id TEXT, rules TEXT, text TEXT,
            created_at TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT, last_error TEXT, sent_at TEXT,
            slack_ts TEXT, UNIQUE (key, channel))""",
        "CREATE INDEX alerts_status ON alerts(status, next_attempt_at)",
    ):
        db.execute(sql)


@migrations(name="0002_search_index")
def _m0002_search_index(db: sqlite_utils.Database) -> None:
    """Full-text index (see watcher/search.py); `docid` orders announcements newest first."""
    conn = db.conn
    conn.execute("ALTER TABLE announcements ADD COLUMN docid INTEGER")
    conn.execute("CREATE UNIQUE INDEX announcements_docid ON announcements(docid)")
    # lets `open_only` test deadlines in the index, before reading the row
    conn.execute("CREATE INDEX announcements_docid_deadline ON announcements(docid, deadline)")
    conn.execute(fts.FTS_SCHEMA)
    rows = conn.execute(
        "SELECT source, id, title, summary, published, first_seen FROM announcements ORDER BY first_seen, rowid"
    ).fetchall()
    for source, ann_id, title, summary, published, first_seen in rows:
        docid = fts.allocate_docid(conn, sort_time(published, first_seen))
        conn.execute("UPDATE announcements SET docid = ? WHERE source = ? AND id = ?", (docid, source, ann_id))
        fts.index_add(conn, docid, title, summary, source)


@migrations(name="0003_meta")
def _m0003_meta(db: sqlite_utils.Database) -> None:
    """Small named values, e.g. `rules_in_force`: the rules.yaml text `once`/`run` last used."""
    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")


@migrations(name="0004_text_agency")
def _m0004_text_agency(db: sqlite_utils.Database) -> None:
    """Search index rebuilt: agency indexed, middle dots folded (stored text is kept as published)."""
    fts.rebuild_index(db.conn)


migrations(name="0005_health")(migrate_0005_health)


@migrations(name="0006_rematch")
def _m0006_rematch(db: sqlite_utils.Database) -> None:
    """matches.words: the item's words each rule matched, JSON [{"field", "text"}] (see explain.py)."""
    db.execute("ALTER TABLE matches ADD COLUMN words TEXT")


migrations(name="0007_claims")(store_claims.migrate)


@migrations(name="0010_heartbeat")
def _m0010_heartbeat(db: sqlite_utils.Database) -> None:
    """Completed poll rounds and poll counters (watcher/store_ops.py)."""
    for sql in HEARTBEAT_SQL:
        db.execute(sql)


@migrations(name="0008_calls")
def _m0008_calls(db: sqlite_utils.Database) -> None:
    """Which call each announcement belongs to; calls' deadlines; follow-ups (watcher/store_calls.py)."""
    migrate_calls(db)


@migrations(name="0011_index_without_rules")
def _m0011_index_without_rules(db: sqlite_utils.Database) -> None:
    """Rules leave the search index: a rule filter is the docids of the rule's matches (matches.docid,
    indexed with the rule, kept equal to the announcement's by a trigger), so a rules edit never has
    to rewrite index rows. Every row is indexed again, once, without its rule tokens."""
    conn = db.conn
    conn.execute("ALTER TABLE matches ADD COLUMN docid INTEGER")
    conn.execute("UPDATE matches SET docid = (SELECT a.docid FROM announcements a "
                 "WHERE a.source = matches.source AND a.id = matches.id)")
    conn.execute("DROP INDEX IF EXISTS matches_rule")
    conn.execute("CREATE INDEX matches_rule_docid ON matches(rule, docid)")
    conn.execute("CREATE TRIGGER matches_follow_docid AFTER UPDATE OF docid ON announcements "
                 "WHEN NEW.docid IS NOT OLD.docid BEGIN UPDATE matches SET docid = NEW.docid "
                 "WHERE source = NEW.source AND id = NEW.id; END")
    fts.rebuild_index(conn)


@dataclass
class IngestResult:
    seen: int = 0
    new: int = 0
    updated: int = 0
    alerts_queued: int = 0


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=KST)
    return moment.astimezone(KST).isoformat(timespec="seconds")


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
_Key = tuple[str, str]  # (source, id)


def _unique_batches(items: Iterable[Item]) -> Iterator[list[tuple[Announcement, list[Hit], fts.IndexDoc]]]:
    """Items with their IndexDoc, in runs without a repeated announcement (a repeat is an update of
    the one before it, so it goes into the next run, written after)."""
    batch: list[tuple[Announcement, list[Hit], fts.IndexDoc]] = []
    keys: set[_Key] = set()
    for item in items:
        ann, hits = item[0], item[1]
        doc = item[2] if len(item) > 2 else fts.index_doc(ann.title, ann.summary, ann.agency)  # type: ignore[misc]
        if (ann.source, ann.id) in keys:
            yield batch
            batch, keys = [], set()
        keys.add((ann.source, ann.id))
        batch.append((ann, hits, doc))
    if batch:
        yield batch


def _in_ids(column: str) -> str:
    return f"{column} IN (SELECT value FROM json_each(?))"


_CONTENT = ("key", "title", "link", "canonical", "summary", "published", "deadline", "agency")
_STATE_DEFAULTS: dict[str, Any] = {
    "name": None, "kind": None, "url": None, "etag": None, "last_modified": None, "body_hash": None,
    "first_polled": None, "last_poll": None, "last_success": None, "last_error": None, "failures": 0,
    "failing_since": None, "next_poll_after": None, "down_alerted": 0,
}


class Store(DeskStore, HealthStore, OpsStore, RematchStore, CallStore, ClaimStore):
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

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

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

        `rules` is a parsed list of {"rule", "keywords", "mention"}."""
        cursor = self.conn.execute(
            "SELECT al.*, a.title, a.link, a.summary, a.published, a.deadline, a.agency, "
            "s.name AS source_name FROM alerts al "
            "LEFT JOIN announcements a ON a.source = al.source AND a.id = al.ann_id "
            "LEFT JOIN sources s ON s.id = al.source "
            "WHERE al.status = 'pending' AND (al.next_attempt_at IS NULL OR al.next_attempt_at <= ?) "
            "ORDER BY al.id",
            (iso(now),),
        )
        rows = list(fts.dicts(cursor))
        for row in rows:
            row["rules"] = json.loads(row["rules"] or "[]")
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
        """Full-text search, newest first; see watcher/search.py for the query language and `agency`."""
        return fts.search(self.conn, query, since=since, until=until, source=source, rule=rule, limit=limit,
                          open_only=open_only, today=today, agency=agency)


class _Ingest:
    """One batch of `Store.ingest` (no announcement twice): reads the stored rows, matches and alerts
    of the batch in a few statements, then writes only what changed, many rows per statement."""

    def __init__(self, conn: sqlite3.Connection, stamp: str, window: tuple[int, str, str],
                 result: IngestResult, fresh: tuple[int, str, str] | None = None) -> None:
        self.conn, self.stamp, self.result = conn, stamp, result
        self.window = window  # (oldest, first poll, today): see store_health.alertable
        self.fresh = fresh or window  # the same for rows this poll adds
        self.docids = fts.DocidAllocator(conn)

    def run(self, batch: list[tuple[Announcement, list[Hit], fts.IndexDoc]]) -> None:
        conn, stamp = self.conn, self.stamp
        olds, old_matches = self._load(batch)
        self.docids.look_up(fts.ideal_docid(fts.sort_seconds(sort_time(ann.published, stamp)) or 0)
                            for ann, _, _ in batch if (ann.source, ann.id) not in olds)
        new_rows: list[tuple[Any, ...]] = []
        index_rows: list[tuple[int, str, str]] = []
        match_rows: list[tuple[Any, ...]] = []
        seen_only: dict[str, list[str]] = {}
        earned: list[tuple[Announcement, list[Hit]]] = []
        for ann, hits, doc in batch:
            self.result.seen += 1
            key = (ann.source, ann.id)
            known = old_matches.get(key, {})
            for hit in hits:
                row = match_row(ann, hit, stamp)
                if known.get(hit.rule) != row[3:6]:
                    match_rows.append(row)
            content = (ann.key, ann.title, ann.link, ann.canonical, ann.summary or "", ann.published,
                       ann.deadline, ann.agency)
            old = olds.get(key)
            if old is None:
                first_seen = stamp
                docid = self.docids.take(sort_time(ann.published, stamp))
                new_rows.append((ann.source, ann.id, *content, stamp, stamp, docid))
                index_rows.append((docid, doc.body, fts.meta_text(ann.source, doc.chars)))
                self.result.new += 1
            else:
                first_seen = old["first_seen"]
                if not self._update(ann, doc, content, old):
                    seen_only.setdefault(ann.source, []).append(ann.id)
            window = self.window if old is not None else self.fresh
            if hits and alertable(ann.published, ann.deadline, first_seen, *window):
                earned.append((ann, hits))
        conn.executemany(
            f"INSERT INTO announcements (source, id, {', '.join(_CONTENT)}, first_seen, last_seen, docid) "
            f"VALUES (?, ?, {', '.join('?' * len(_CONTENT))}, ?, ?, ?)", new_rows,
        )
        write_matches(conn, match_rows)  # after the rows: a match copies its announcement's docid
        fts.index_add_many(conn, index_rows)
        for source, ids in seen_only.items():
            conn.execute(f"UPDATE announcements SET last_seen = ? WHERE source = ? AND {_in_ids('id')}",
                         (stamp, source, json.dumps(ids, ensure_ascii=False)))
        calls = CallLinker(conn, stamp)
        calls.link(batch, olds)
        self.result.alerts_queued += self._queue(earned)
        calls.follow(earned)

    def _load(self, batch: list[tuple[Announcement, list[Hit], fts.IndexDoc]]
              ) -> tuple[dict[_Key, dict[str, Any]], dict[_Key, dict[str, tuple[str, str, str]]]]:
        """Stored rows and matches of the batch's announcements -> ({key: row}, {key: {rule: (channel,
        keywords, words)}})."""
        by_source: dict[str, list[str]] = {}
        for ann, _, _ in batch:
            by_source.setdefault(ann.source, []).append(ann.id)
        olds: dict[_Key, dict[str, Any]] = {}
        matches: dict[_Key, dict[str, tuple[str, str, str]]] = {}
        for source, ids in by_source.items():
            params = (source, json.dumps(ids, ensure_ascii=False))
            where = f"WHERE source = ? AND {_in_ids('id')}"
            for row in fts.dicts(self.conn.execute(f"SELECT * FROM announcements {where}", params)):
                olds[(row["source"], row["id"])] = row
            cursor = self.conn.execute(f"SELECT source, id, rule, channel, keywords, words FROM matches {where}",
                                       params)
            for src, ann_id, rule, channel, keywords, words in cursor:
                matches.setdefault((src, ann_id), {})[rule] = (channel, keywords, words)
        return olds, matches

    def _update(self, ann: Announcement, doc: fts.IndexDoc, content: tuple[Any, ...], old: dict[str, Any]) -> bool:
        """A stored announcement seen again: rewrite it and its index row when something changed.
        -> False when nothing but last_seen needs writing."""
        changed = any(old[k] != v for k, v in zip(_CONTENT, content, strict=True))
        docid = old["docid"]
        when = sort_time(ann.published, old["first_seen"])
        if docid is None or when != sort_time(old["published"], old["first_seen"]):
            docid = self.docids.take(when)
        reindex = (old["title"], old["summary"], old["agency"]) != (content[1], content[4], content[7])
        reindex = reindex or docid != old["docid"]
        if not (changed or reindex):
            return False
        self.result.updated += changed
        sets = ", ".join(f"{k} = ?" for k in _CONTENT)
        self.conn.execute(
            f"UPDATE announcements SET {sets}, last_seen = ?, docid = ? WHERE source = ? AND id = ?",
            (*content, self.stamp, docid, ann.source, ann.id),
        )
        if reindex:
            if old["docid"] is not None:
                fts.index_remove(self.conn, old["docid"], old["title"], old["summary"], ann.source, old["agency"])
            fts.index_add(self.conn, docid, content[1], content[4], ann.source, doc, content[7])
        return True

    def _queue(self, earned: list[tuple[Announcement, list[Hit]]]) -> int:
        """Outbox rows, one per (key, channel); a pending one gains the new rules. -> rows added."""
        if not earned:
            return 0
        call_of = calls_of(self.conn, [ann for ann, _ in earned])  # one alert per call and channel
        keys = sorted(set(call_of.values()))
        stored: dict[tuple[str, str], list[Any]] = {}  # (key, channel) -> [id, rules or None if not mergeable]
        cursor = self.conn.execute(f"SELECT id, key, channel, status, kind, rules FROM alerts WHERE {_in_ids('key')}",
                                   (json.dumps(keys, ensure_ascii=False),))
        for alert_id, key, channel, status, kind, rules in cursor:
            mergeable = status == "pending" and kind == "announcement"
            stored[(key, channel)] = [alert_id, json.loads(rules or "[]") if mergeable else None, False]
        added: dict[tuple[str, str], list[Any]] = {}  # (key, channel) -> [source, ann_id, rules]
        for ann, hits in earned:
            by_channel: dict[str, list[Hit]] = {}
            for hit in hits:
                by_channel.setdefault(hit.channel, []).append(hit)
            call = call_of[(ann.source, ann.id)]
            for channel, channel_hits in by_channel.items():
                slot = (call, channel)
                if slot in stored and stored[slot][1] is None:  # alerted (or not mergeable): nothing to add
                    continue
                entries = [rule_entry(hit) for hit in channel_hits]
                if slot in added:
                    added[slot][2] = merge_rules(added[slot][2], entries)
                elif slot in stored:
                    row = stored[slot]
                    if row[1] is not None:
                        merged = merge_rules(row[1], entries)
                        row[1], row[2] = merged, row[2] or merged != row[1]
                else:
                    added[slot] = [ann.source, ann.id, entries]
        self.conn.executemany(
            "INSERT INTO alerts (kind, key, channel, source, ann_id, rules, created_at, status, attempts) "
            "VALUES ('announcement', ?, ?, ?, ?, ?, ?, 'pending', 0) ON CONFLICT(key, channel) DO NOTHING",
            [(key, channel, src, ann_id, json.dumps(rules, ensure_ascii=False), self.stamp)
             for (key, channel), (src, ann_id, rules) in added.items()],
        )
        self.conn.executemany("UPDATE alerts SET rules = ? WHERE id = ?",
                              [(json.dumps(rules, ensure_ascii=False), alert_id)
                               for alert_id, rules, dirty in stored.values() if dirty])
        return len(added)


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


def _announcement(row: dict[str, Any]) -> Announcement:
    return Announcement(
        source=row["source"], id=row["id"], title=row["title"], link=row["link"], summary=row["summary"] or "",
        published=row["published"], deadline=row["deadline"], agency=row["agency"], canonical=row["canonical"],
    )
