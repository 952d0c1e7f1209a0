"""Store side of calls: which call each announcement belongs to, the call's current deadline, and the
outbox rows that follow an alert (thread notes of other portals, changes, message updates,
reminders, morning summaries). The rules live in watcher.calls and watcher.deadlines (pure).

Schema (migration `0008_calls`): `announcements.call` is the key of the call's first announcement
(its own key when it is the first), `announcements.call_title` its folded title (indexed: the
candidates of a new announcement); `calls` holds each call's title and deadline as last published
(by its first announcement, or by a `[정정]` / `(연장)` copy); `alerts.parent` is, for a follow-up
row, the key of the announcement alert whose Slack message it answers in the thread of;
`slack_channels` maps channel names to the ids Slack answered (chat.update needs the id).

Follow-up kinds in `alerts` (all keyed, at most once per key and channel, like alerts):
`copy` (key `copy:<announcement key>`) another portal's copy of an alerted call; `change`
(`change:<call>:<time>:<digest>`) a changed deadline or title; `update` (`update:<call>`, re-armed
on each change) rewrites the original message; `remind` (`remind:<call>:<deadline>:<offset>`);
`summary` (`summary:<day>`), its lines in `text`. A reminder that is dropped, or a summary with
nothing to list, is stored with status `skipped` so it is never sent.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from watcher.calls import fold_title, is_correction, same_call
from watcher.clock import iso as _iso
from watcher.deadlines import changes, offset_label, parse_day, reminder_due, today_kst
from watcher.store import search as fts
from watcher.store.rows import connect_readonly, merge_rules  # merge_rules: the outbox's own rule merge
from watcher.store.triage import open_decision, with_team

if TYPE_CHECKING:
    from watcher.models import Announcement, Hit, RuleSet

SUMMARY_DAYS = 7


def migrate(db: Any) -> None:
    """Migration 0008_calls (registered in store.py)."""
    conn = db.conn
    conn.execute("ALTER TABLE announcements ADD COLUMN call TEXT")
    conn.execute("ALTER TABLE announcements ADD COLUMN call_title TEXT")
    conn.execute("ALTER TABLE alerts ADD COLUMN parent TEXT")
    conn.execute("CREATE TABLE calls (key TEXT PRIMARY KEY, title TEXT, deadline TEXT, changed_at TEXT)")
    conn.execute("CREATE TABLE slack_channels (name TEXT PRIMARY KEY, id TEXT NOT NULL)")
    rows = conn.execute("SELECT source, id, key, title FROM announcements").fetchall()
    conn.executemany("UPDATE announcements SET call = ?, call_title = ? WHERE source = ? AND id = ?",
                     [(key, fold_title(title), source, ann_id) for source, ann_id, key, title in rows])
    conn.execute("CREATE INDEX announcements_call_title ON announcements(call_title)")
    conn.execute("CREATE INDEX announcements_call ON announcements(call)")
    conn.execute("CREATE INDEX IF NOT EXISTS announcements_key ON announcements(key)")
    conn.execute("CREATE INDEX alerts_parent ON alerts(parent)")


def calls_of(conn: sqlite3.Connection, anns: list[Announcement]) -> dict[tuple[str, str], str]:
    """(source, id) -> the key of the call each stored announcement belongs to (its own key by default)."""
    out = {(ann.source, ann.id): ann.key for ann in anns}
    by_source: dict[str, list[str]] = {}
    for ann in anns:
        by_source.setdefault(ann.source, []).append(ann.id)
    for source, ids in by_source.items():
        cursor = conn.execute("SELECT id, call FROM announcements WHERE source = ? AND id IN "
                              "(SELECT value FROM json_each(?)) AND call IS NOT NULL",
                              (source, json.dumps(ids, ensure_ascii=False)))
        out.update({(source, ann_id): call for ann_id, call in cursor})
    return out


class _Candidates:
    """The stored rows a batch's look-ups can find (the same key, or the same folded title), read in one
    statement and kept as the batch is linked, in the order the look-ups want (first seen, then rowid)."""

    def __init__(self, conn: sqlite3.Connection, keys: set[str], titles: set[str]) -> None:
        cursor = conn.execute(
            "SELECT rowid AS _rowid, source, id, key, call, call_title, title, published, deadline, first_seen "
            "FROM announcements WHERE key IN (SELECT value FROM json_each(?)) "
            "OR call_title IN (SELECT value FROM json_each(?)) ORDER BY first_seen, rowid",
            (json.dumps(sorted(keys), ensure_ascii=False), json.dumps(sorted(titles), ensure_ascii=False)))
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}
        self.by_key: dict[str, list[dict[str, Any]]] = {}
        self.by_title: dict[str, list[dict[str, Any]]] = {}
        for row in fts.dicts(cursor):
            self.rows[(row["source"], row["id"])] = row
            self.by_key.setdefault(row["key"], []).append(row)
            if row["call_title"] is not None:
                self.by_title.setdefault(row["call_title"], []).append(row)

    def assign(self, slot: tuple[str, str], call: str, folded: str) -> None:
        """An announcement of the batch got its call and folded title."""
        row = self.rows.get(slot)
        if row is None:
            return
        row["call"] = call
        if row["call_title"] != folded:
            if row["call_title"] is not None:
                self.by_title[row["call_title"]].remove(row)
            row["call_title"] = folded
            bisect.insort(self.by_title.setdefault(folded, []), row, key=_order)

    def rename(self, other: str, into: str) -> None:
        """Call `other` was joined into `into`."""
        for row in self.rows.values():
            if row["call"] == other:
                row["call"] = into


def _order(row: dict[str, Any]) -> tuple[str, int]:
    return row["first_seen"], row["_rowid"]


class CallLinker:
    """During one ingest batch: give each new or changed announcement its call, and queue the
    follow-ups its call earns. `link` runs after the batch's rows are written, `follow` after its
    alerts are queued."""

    def __init__(self, conn: sqlite3.Connection, stamp: str) -> None:
        self.conn, self.stamp = conn, stamp
        self.call_of: dict[tuple[str, str], str] = {}

    def link(self, batch: Iterable[tuple[Announcement, Any, Any]], olds: dict[tuple[str, str], dict[str, Any]]
             ) -> dict[tuple[str, str], str]:
        todo: list[tuple[Announcement, str, str | None]] = []  # (announcement, folded title, its stored call)
        for ann, _, _ in batch:
            slot = (ann.source, ann.id)
            old = olds.get(slot)
            if old is not None and old.get("call") and (old["title"], old["deadline"]) == (ann.title, ann.deadline):
                self.call_of[slot] = old["call"]
                continue
            todo.append((ann, fold_title(ann.title), old["call"] if old is not None and old.get("call") else None))
        if not todo:
            return self.call_of
        self._rows = _Candidates(self.conn, {a.key for a, _, _ in todo}, {f for _, f, _ in todo})
        self._pending: list[tuple[str, str, str, str]] = []
        for ann, folded, stored in todo:
            call = stored or self._find(ann, folded)
            self.call_of[(ann.source, ann.id)] = call
            self._pending.append((call, folded, ann.source, ann.id))
            self._rows.assign((ann.source, ann.id), call, folded)
            self._track(ann, call)
        self._flush()
        return self.call_of

    def _flush(self) -> None:
        """Write the calls given so far (one statement for many rows; before anything reads them back)."""
        self.conn.executemany("UPDATE announcements SET call = ?, call_title = ? WHERE source = ? AND id = ?",
                              self._pending)
        self._pending = []

    def _find(self, ann: Announcement, folded: str) -> str:
        """The call of an announcement with the same key (canonical link: the same announcement), else of
        the first stored announcement that is the same call, else its own key. An announcement that
        bridges two calls (its link is one's, its title the other's) joins them while neither is sent.
        The stored rows are those `_Candidates` read for the batch, as linked so far."""
        slot = (ann.source, ann.id)
        same = next((row["call"] for row in self._rows.by_key.get(ann.key, ())
                     if row["call"] is not None and (row["source"], row["id"]) != slot), None)
        by_title = next((row["call"] or row["key"] for row in self._rows.by_title.get(folded, ())
                         if (row["source"], row["id"]) != slot and same_call(ann, row)), None)
        if same and by_title and by_title != same:
            self._flush()
            if self._join(same, by_title):
                self._rows.rename(by_title, same)
        return same or by_title or ann.key

    def _join(self, into: str, other: str) -> bool:
        """Make call `other` part of call `into`, unless a message of either has gone out already."""
        sent = self.conn.execute("SELECT 1 FROM alerts WHERE key IN (?, ?) AND kind = 'announcement' "
                                 "AND status != 'pending' LIMIT 1", (into, other)).fetchone()
        if sent:
            return False
        self.conn.execute("UPDATE announcements SET call = ? WHERE call = ?", (into, other))
        self.conn.execute("DELETE FROM calls WHERE key = ?", (other,))
        self.conn.execute("UPDATE alerts SET parent = ? WHERE parent = ?", (into, other))
        rows = self.conn.execute("SELECT id, channel, source, ann_id, rules FROM alerts WHERE key = ? "
                                 "AND kind = 'announcement'", (other,)).fetchall()
        for alert_id, channel, source, ann_id, rules in rows:
            kept = self.conn.execute("SELECT id, rules FROM alerts WHERE key = ? AND channel = ?",
                                     (into, channel)).fetchone()
            if kept is None:
                self.conn.execute("UPDATE alerts SET key = ? WHERE id = ?", (into, alert_id))
                continue
            merged = merge_rules(json.loads(kept[1] or "[]"), json.loads(rules or "[]"))
            self.conn.execute("UPDATE alerts SET rules = ? WHERE id = ?", (json.dumps(merged, ensure_ascii=False),
                                                                          kept[0]))
            key = self.conn.execute("SELECT key FROM announcements WHERE source = ? AND id = ?",
                                    (source, ann_id)).fetchone()
            self.conn.execute("UPDATE OR IGNORE alerts SET kind = 'copy', key = ?, parent = ?, rules = NULL "
                              "WHERE id = ?", (f"copy:{key[0] if key else other}", into, alert_id))
            self.conn.execute("DELETE FROM alerts WHERE id = ? AND kind = 'announcement'", (alert_id,))
        return True

    def _track(self, ann: Announcement, call: str) -> None:
        """Keep the call's title and deadline; a change by its first announcement or by a correction
        copy queues a thread reply and an update of the message."""
        added = self.conn.execute("INSERT INTO calls (key, title, deadline, changed_at) VALUES (?, ?, ?, ?) "
                                  "ON CONFLICT(key) DO NOTHING", (call, ann.title, ann.deadline, self.stamp))
        if added.rowcount == 1:  # a new call (one statement, not a look-up and an insert)
            return
        row = fts.first_dict(self.conn.execute("SELECT title, deadline FROM calls WHERE key = ?", (call,)))
        assert row is not None
        first, correction = call == ann.key, is_correction(ann.title)
        if not (first or correction):
            if row["deadline"] is None and ann.deadline:  # a copy tells the deadline the first did not
                self.conn.execute("UPDATE calls SET deadline = ? WHERE key = ?", (ann.deadline, call))
            return
        found = changes(row, {"deadline": ann.deadline, "title": ann.title if first else row["title"]})
        if not found:
            return
        new = {"title": ann.title if first else row["title"], "deadline": ann.deadline or row["deadline"]}
        self.conn.execute("UPDATE calls SET title = ?, deadline = ?, changed_at = ? WHERE key = ?",
                          (new["title"], new["deadline"], self.stamp, call))
        via = None
        if not first:
            name = self.conn.execute("SELECT name FROM sources WHERE id = ?", (ann.source,)).fetchone()
            via = {"source": ann.source, "source_name": name[0] if name else None, "title": ann.title,
                   "link": ann.link}
        self._queue_change(call, found, new, via)

    def _queue_change(self, call: str, found: list[tuple[str, Any, Any]], new: dict[str, Any],
                      via: dict[str, Any] | None) -> None:
        text = json.dumps({"changes": found, "via": via}, ensure_ascii=False)
        digest = hashlib.sha1(text.encode()).hexdigest()[:10]
        parents = self.conn.execute(
            "SELECT channel, source, ann_id, rules FROM alerts WHERE key = ? AND kind = 'announcement' "
            "AND status = 'sent'", (call,)).fetchall()
        for channel, source, ann_id, rules in parents:
            self.conn.execute(
                "INSERT INTO alerts (kind, key, channel, source, ann_id, rules, text, parent, created_at, status, "
                "attempts) VALUES ('change', ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0) "
                "ON CONFLICT(key, channel) DO NOTHING",
                (f"change:{call}:{self.stamp}:{digest}", channel, source, ann_id, rules, text, call, self.stamp))
            self.conn.execute(
                "INSERT INTO alerts (kind, key, channel, source, ann_id, rules, text, parent, created_at, status, "
                "attempts) VALUES ('update', ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0) ON CONFLICT(key, channel) DO UPDATE "
                "SET status = 'pending', text = excluded.text, rules = excluded.rules, attempts = 0, "
                "next_attempt_at = NULL, last_error = NULL",
                (f"update:{call}", channel, source, ann_id, rules, json.dumps(new, ensure_ascii=False), call,
                 self.stamp))

    def follow(self, earned: list[tuple[Announcement, list[Hit]]]) -> None:
        """After the batch's alerts are queued: a matched copy of a call already alerted in a channel
        (by another announcement) becomes a `copy` note in that message's thread."""
        call_of = calls_of(self.conn, [ann for ann, _ in earned])
        for ann, hits in earned:
            call = call_of[(ann.source, ann.id)]
            if call == ann.key:
                continue
            for channel in sorted({hit.channel for hit in hits}):
                owner = self.conn.execute("SELECT source, ann_id FROM alerts WHERE key = ? AND channel = ?",
                                          (call, channel)).fetchone()
                if owner is None or tuple(owner) == (ann.source, ann.id):
                    continue
                self.conn.execute(
                    "INSERT INTO alerts (kind, key, channel, source, ann_id, parent, created_at, status, attempts) "
                    "VALUES ('copy', ?, ?, ?, ?, ?, ?, 'pending', 0) ON CONFLICT(key, channel) DO NOTHING",
                    (f"copy:{ann.key}", channel, ann.source, ann.id, call, self.stamp))


class CallStore:
    """Store mixin: reads and writes of calls and their follow-ups (uses `self.conn`, `self.db`)."""

    conn: sqlite3.Connection
    db: Any
    transaction: Callable[[], AbstractContextManager[sqlite3.Connection]]

    def thread_parents(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """(parent key, channel) -> {status, ts, shared (the ts is a digest's), channel_id} of the
        announcement alert a follow-up answers."""
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for key, channel in set(keys):
            row = self.conn.execute(
                "SELECT status, slack_ts, (SELECT count(*) FROM alerts o WHERE o.slack_ts = al.slack_ts "
                "AND o.channel = al.channel AND o.kind = 'announcement') FROM alerts al "
                "WHERE key = ? AND channel = ? AND kind = 'announcement'", (key, channel)).fetchone()
            if row is None:
                continue
            found = self.conn.execute("SELECT id FROM slack_channels WHERE name = ?", (channel,)).fetchone()
            out[(key, channel)] = {"status": row[0], "ts": row[1], "shared": bool(row[1]) and row[2] > 1,
                                   "channel_id": found[0] if found else None}
        return out

    def mark_skipped(self, alert_ids: list[int]) -> None:
        """Follow-ups that can never be sent (no message to answer or to rewrite)."""
        with self.transaction():
            self.conn.execute("UPDATE alerts SET status = 'skipped' WHERE id IN (SELECT value FROM json_each(?))",
                              (json.dumps(alert_ids),))

    def remember_channels(self, ids: dict[str, str]) -> None:
        """Channel name -> id as Slack answered it (for chat.update after a restart)."""
        rows = [(name, cid) for name, cid in ids.items() if name and cid]
        if rows:
            with self.transaction():
                self.conn.executemany("INSERT INTO slack_channels (name, id) VALUES (?, ?) ON CONFLICT(name) "
                                      "DO UPDATE SET id = excluded.id", rows)

    def copies_of(self, call: str, channel: str) -> list[dict[str, Any]]:
        """The announcements of a call other than the one alerted in `channel`, first seen first."""
        cursor = self.conn.execute(
            "SELECT a.source, a.id, a.title, a.link, s.name AS source_name FROM announcements a "
            "LEFT JOIN sources s ON s.id = a.source WHERE a.call = ? AND NOT EXISTS (SELECT 1 FROM alerts al "
            "WHERE al.key = ? AND al.channel = ? AND al.source = a.source AND al.ann_id = a.id) "
            "ORDER BY a.first_seen, a.rowid", (call, call, channel))
        return list(fts.dicts(cursor))

    def call_deadlines(self, keys: Iterable[str]) -> dict[str, str | None]:
        """Current deadline of each call (as its first announcement or a correction last said)."""
        keys = sorted(set(keys))
        cursor = self.conn.execute("SELECT key, deadline FROM calls WHERE key IN (SELECT value FROM json_each(?))",
                                   (json.dumps(keys, ensure_ascii=False),))
        return {key: deadline for key, deadline in cursor}

    # ---- reminders and morning summaries ------------------------------------------------------

    def queue_due(self, rules: RuleSet, now: datetime) -> int:
        """Reminders and morning summaries due at `now` (each cycle, before delivery), one transaction."""
        with self.transaction():
            return self.queue_reminders(rules, now) + self.queue_summaries(rules, now)

    def queue_reminders(self, rules: RuleSet, now: datetime) -> int:
        """One `remind` row per due offset of every alerted call with an open deadline; -> rows queued."""
        by_name = {rule.name: rule for rule in rules.rules}
        if not any(rule.remind for rule in by_name.values()):
            return 0
        today = today_kst(now).isoformat()
        cursor = self.conn.execute(
            "SELECT al.key, al.channel, al.source, al.ann_id, al.rules, al.sent_at, "
            "coalesce(c.deadline, a.deadline) AS deadline FROM alerts al "
            "JOIN announcements a ON a.source = al.source AND a.id = al.ann_id LEFT JOIN calls c ON c.key = al.key "
            "WHERE al.kind = 'announcement' AND al.status = 'sent' AND coalesce(c.deadline, a.deadline) >= ? "
            f"AND {open_decision('coalesce(a.call, al.key)')}", (today,))  # the team's final states stop them
        queued = 0
        for row in fts.dicts(cursor):
            names = [entry.get("rule") for entry in json.loads(row["rules"] or "[]") if isinstance(entry, dict)]
            offsets = {o for name in names if name in by_name for o in by_name[name].remind}
            sent_at = datetime.fromisoformat(row["sent_at"]) if row["sent_at"] else None
            offset, dropped = reminder_due(row["deadline"], offsets, sent_at, now)
            if offset is None:
                continue
            key = f"remind:{row['key']}:{row['deadline']}:{offset_label(offset)}"
            # an earlier reminder still pending (Slack was down) is replaced by this closer one
            self.conn.execute("UPDATE alerts SET status = 'skipped' WHERE kind = 'remind' AND status = 'pending' "
                              "AND parent = ? AND channel = ? AND key != ?", (row["key"], row["channel"], key))
            for each, status in [(offset, "pending"), *((o, "skipped") for o in dropped)]:
                text = json.dumps({"offset": each, "deadline": row["deadline"], "offsets": sorted(offsets)})
                cursor2 = self.conn.execute(
                    "INSERT INTO alerts (kind, key, channel, source, ann_id, rules, text, parent, created_at, status, "
                    "attempts) VALUES ('remind', ?, ?, ?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT(key, channel) DO NOTHING",
                    (f"remind:{row['key']}:{row['deadline']}:{offset_label(each)}", row["channel"], row["source"],
                     row["ann_id"], row["rules"], text, row["key"], _iso(now), status))
                queued += cursor2.rowcount == 1 and status == "pending"
        return queued

    def summary_lines(self, channel: str, rule_names: Iterable[str], now: datetime,
                      days: int = SUMMARY_DAYS) -> list[dict[str, Any]]:
        """Open matched calls of `channel` (by these rules) closing within `days`, one row per call,
        closest deadline first."""
        today = today_kst(now)
        low, high = today.isoformat(), (today + timedelta(days=days)).isoformat()
        cursor = self.conn.execute(
            "SELECT coalesce(a.call, a.key) AS call, a.source, a.title, a.link, a.agency, a.published, "
            "s.name AS source_name, coalesce(c.deadline, a.deadline) AS deadline FROM matches m "
            "JOIN announcements a ON a.source = m.source AND a.id = m.id LEFT JOIN sources s ON s.id = a.source "
            "LEFT JOIN calls c ON c.key = coalesce(a.call, a.key) "
            "WHERE m.channel = ? AND m.rule IN (SELECT value FROM json_each(?)) "
            "AND coalesce(c.deadline, a.deadline) BETWEEN ? AND ? ORDER BY a.first_seen, a.rowid",
            (channel, json.dumps(sorted(set(rule_names)), ensure_ascii=False), low, high))
        calls: dict[str, dict[str, Any]] = {}
        for row in fts.dicts(cursor):
            calls.setdefault(row["call"], row)
        return sorted(calls.values(), key=lambda r: (r["deadline"], r["title"]))

    def queue_summaries(self, rules: RuleSet, now: datetime) -> int:
        """Each channel with `summary_at` gets one summary a day from that time (Korea time); a day
        with nothing to list is recorded as skipped. -> summaries queued."""
        local = now.astimezone(fts.KST)
        day, clock = local.date().isoformat(), local.strftime("%H:%M")
        channels: dict[str, tuple[str, list[str]]] = {}
        for rule in rules.rules:
            if rule.summary_at:
                at, names = channels.get(rule.channel, (rule.summary_at, []))
                channels[rule.channel] = (min(at, rule.summary_at), [*names, rule.name])
        queued = 0
        for channel, (at, names) in sorted(channels.items()):
            key = f"summary:{day}"
            if clock < at or self.conn.execute("SELECT 1 FROM alerts WHERE key = ? AND channel = ?",
                                               (key, channel)).fetchone():
                continue
            lines = with_team(self.conn, self.summary_lines(channel, names, now))
            status = "pending" if lines else "skipped"
            self.conn.execute(
                "INSERT INTO alerts (kind, key, channel, text, created_at, status, attempts) "
                "VALUES ('summary', ?, ?, ?, ?, ?, 0) ON CONFLICT(key, channel) DO NOTHING",
                (key, channel, json.dumps({"day": day, "lines": lines}, ensure_ascii=False), _iso(now), status))
            queued += bool(lines)
        return queued

    # ---- calendar -----------------------------------------------------------------------------

    def calendar_calls(self, rule: str | None = None, open_on: str | None = None) -> list[dict[str, Any]]:
        """Matched calls with a deadline, one row per call (its first matched announcement's title and
        link, the call's current deadline); `rule` limits to one rule, `open_on` to deadlines that day
        or later."""
        sql = ("SELECT coalesce(a.call, a.key) AS call, a.source, a.id, a.title, a.link, a.agency, a.summary, "
               "s.name AS source_name, coalesce(c.deadline, a.deadline) AS deadline, "
               "group_concat(DISTINCT m.rule) AS rules FROM matches m "
               "JOIN announcements a ON a.source = m.source AND a.id = m.id LEFT JOIN sources s ON s.id = a.source "
               "LEFT JOIN calls c ON c.key = coalesce(a.call, a.key) "
               "WHERE coalesce(c.deadline, a.deadline) IS NOT NULL")
        params: list[Any] = []
        if rule:
            sql += " AND m.rule = ?"
            params.append(rule)
        if open_on:
            sql += " AND coalesce(c.deadline, a.deadline) >= ?"
            params.append(open_on)
        sql += " GROUP BY a.source, a.id ORDER BY a.first_seen, a.rowid"
        calls: dict[str, dict[str, Any]] = {}
        for row in fts.dicts(self.conn.execute(sql, params)):
            if parse_day(row["deadline"]) is not None:
                calls.setdefault(row["call"], row)
        return sorted(calls.values(), key=lambda r: (r["deadline"], r["call"]))


class ReadOnlyCalls(CallStore):
    """CallStore reads over a read-only connection (calendar export: `watcher calendar`, /calendar.ics)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn


def open_read_only(path: str) -> ReadOnlyCalls | None:
    """The database at `path` opened read-only (nothing is created); None when it does not exist."""
    conn = connect_readonly(path)
    return None if conn is None else ReadOnlyCalls(conn)
