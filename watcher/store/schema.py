"""The database's schema as numbered migrations (sqlite-utils `Migrations`), applied in order by
`Store` when it opens a file; an old database opens after an upgrade. The migrations of the Store's
parts (claims, source health, calls, heartbeat) are their own modules' functions, registered here in
the order they shipped.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils import Migrations

from watcher.store import outbox as store_claims
from watcher.store import search as fts
from watcher.store.calls import migrate as migrate_calls
from watcher.store.ops import HEARTBEAT_SQL
from watcher.store.rows import sort_time
from watcher.store.sources import migrate_0005_health
from watcher.store.texts import migrate as migrate_texts
from watcher.store.triage import migrate as migrate_triage

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


@migrations(name="0012_category")
def _m0012_category(db: sqlite_utils.Database) -> None:
    """announcements.category: structured fields the source gives, as text (watcher/parse/category.py)."""
    db.execute("ALTER TABLE announcements ADD COLUMN category TEXT NOT NULL DEFAULT ''")


migrations(name="0013_triage")(migrate_triage)  # the team's pipeline: states, assignees, history (store/triage.py)


@migrations(name="0014_call_texts")
def _m0014_call_texts(db: sqlite_utils.Database) -> None:
    """What reading a call found: detail-page text, attachments, their search index (watcher/store/texts.py)."""
    migrate_texts(db)
