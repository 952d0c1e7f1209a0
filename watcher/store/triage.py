"""Store side of the team's pipeline (#26): who took each call and what the team decided, every
action kept, the calls a member marked as missed, members' names, and the Socket Mode connection
state. The words and states are watcher/notify/teamtext.py's.

Schema (migration `0012_triage`):
- `triage`: one row per call (`call` = the key of its first announcement, as `announcements.call`):
  `state` (a code of teamtext.STATES, or NULL), `assignee` (Slack user id), `assignee_name`,
  `updated_at`, `updated_by`. One call has one state, whichever channel's message was clicked.
- `triage_log`: every action, never rewritten: `call`, `source` + `ann_id` (the announcement acted
  on), `action` (`assign`, `state`, `missed`), `value` (the state's code; for `missed` the rule that
  should have matched, or NULL), `user`, `user_name`, `channel`, `rules` (JSON: the alert's rule
  entries, with the words that sent it), `at`.
- `team_members`: Slack user id -> the name shown (users.info), cached.
The listener's connection state is the `meta` row `slack_socket` (JSON).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from watcher.clock import iso as _iso
from watcher.deadlines import today_kst
from watcher.notify.teamtext import ASSIGN, FINAL, QUIET, state_label
from watcher.store import search as fts

SOCKET_META = "slack_socket"
_FINAL = json.dumps(sorted(FINAL))
# the call of an announcement alert `al`: its announcement's call, else its own key
CALL_OF_ALERT = ("coalesce((SELECT a.call FROM announcements a WHERE a.source = al.source AND a.id = al.ann_id), "
                 "al.key)")
_ALERT_ROW = ("SELECT al.*, a.title, a.link, a.summary, a.published, a.agency, s.name AS source_name, "
              "coalesce(c.deadline, a.deadline) AS deadline, coalesce(a.call, al.key) AS call FROM alerts al "
              "LEFT JOIN announcements a ON a.source = al.source AND a.id = al.ann_id "
              "LEFT JOIN sources s ON s.id = al.source LEFT JOIN calls c ON c.key = coalesce(a.call, al.key) ")


def migrate(db: Any) -> None:
    """Migration 0012_triage (registered in store/schema.py)."""
    conn = db.conn
    conn.execute("CREATE TABLE triage (call TEXT PRIMARY KEY, state TEXT, assignee TEXT, assignee_name TEXT, "
                 "updated_at TEXT, updated_by TEXT)")
    conn.execute("CREATE INDEX triage_assignee ON triage(assignee)")
    conn.execute("CREATE TABLE triage_log (id INTEGER PRIMARY KEY, call TEXT NOT NULL, source TEXT, ann_id TEXT, "
                 "action TEXT NOT NULL, value TEXT, user TEXT, user_name TEXT, channel TEXT, rules TEXT, "
                 "at TEXT NOT NULL)")
    conn.execute("CREATE INDEX triage_log_call ON triage_log(call)")
    conn.execute("CREATE INDEX triage_log_action ON triage_log(action)")
    conn.execute("CREATE TABLE team_members (id TEXT PRIMARY KEY, name TEXT, updated_at TEXT)")


def open_decision(call_sql: str) -> str:
    """SQL true while the call `call_sql` has no final state (reminders still due)."""
    return (f"NOT EXISTS (SELECT 1 FROM triage t WHERE t.call = {call_sql} "
            f"AND t.state IN (SELECT value FROM json_each('{_FINAL}')))")


def _alert_dict(row: dict[str, Any]) -> dict[str, Any]:
    row["rules"] = json.loads(row.get("rules") or "[]")
    return row


class TriageStore:
    """Store mixin (uses `self.conn`, `self.transaction`, `self.set_meta`/`self.meta_value`)."""

    conn: sqlite3.Connection
    transaction: Callable[[], AbstractContextManager[sqlite3.Connection]]

    # ---- the alert a click came from, and the messages of a call ---------------------------------

    def action_target(self, alert_id: int) -> dict[str, Any] | None:
        """The announcement alert a button names (with its call and announcement), None if unknown."""
        row = fts.first_dict(self.conn.execute(_ALERT_ROW + "WHERE al.id = ? AND al.kind = 'announcement'",
                                               (alert_id,)))
        return _alert_dict(row) if row else None

    def alert_of_message(self, key: str, channel: str) -> int | None:
        """The id of the announcement alert `key` posted in `channel` (what a follow-up's buttons name)."""
        row = self.conn.execute("SELECT id FROM alerts WHERE key = ? AND channel = ? AND kind = 'announcement'",
                                (key, channel)).fetchone()
        return int(row[0]) if row else None

    def calls_of_alerts(self, ids: Iterable[int]) -> dict[int, str]:
        """alert id -> the call it shows: an announcement alert's own; a follow-up's, its parent's."""
        cursor = self.conn.execute(
            f"SELECT al.id, CASE WHEN al.kind = 'announcement' THEN {CALL_OF_ALERT} ELSE coalesce((SELECT "
            "coalesce(b.call, b.key) FROM announcements b WHERE b.key = al.parent LIMIT 1), al.parent) END "
            "FROM alerts al WHERE al.id IN (SELECT value FROM json_each(?))", (json.dumps(sorted(set(ids))),))
        return {int(alert_id): call for alert_id, call in cursor if call}

    def queue_message_update(self, alert_id: int, now: datetime) -> None:
        """Rewrite this alert's message through the outbox (chat.update, retried like any alert): what
        a click does when Slack did not take its update at once."""
        with self.transaction():
            self.conn.execute(
                "INSERT INTO alerts (kind, key, channel, source, ann_id, rules, text, parent, created_at, status, "
                "attempts) SELECT 'update', 'update:' || al.key, al.channel, al.source, al.ann_id, al.rules, "
                "json_object('deadline', (SELECT c.deadline FROM calls c WHERE c.key = al.key)), al.key, ?, "
                "'pending', 0 FROM alerts al WHERE al.id = ? AND al.kind = 'announcement' "
                "ON CONFLICT(key, channel) DO UPDATE SET status = 'pending', attempts = 0, next_attempt_at = NULL, "
                "last_error = NULL", (_iso(now), alert_id))

    def channel_ids(self) -> dict[str, str]:
        """Channel name -> the id Slack answered for it."""
        return {name: cid for name, cid in self.conn.execute("SELECT name, id FROM slack_channels")}

    def call_messages(self, call: str) -> list[dict[str, Any]]:
        """Every Slack message that shows the call: {channel, channel_id, ts, alerts (every announcement
        alert of that message, a digest's too, as pending_alerts rows with the call's deadline)}."""
        posts = self.conn.execute(
            f"SELECT DISTINCT al.channel, al.slack_ts FROM alerts al WHERE al.kind = 'announcement' "
            f"AND al.status = 'sent' AND al.slack_ts IS NOT NULL AND al.key IN (SELECT b.key FROM announcements b "
            f"WHERE b.call = ? OR b.key = ? UNION SELECT ?) AND {CALL_OF_ALERT} = ?",
            (call, call, call, call)).fetchall()
        ids = self.channel_ids()
        out = []
        for channel, ts in posts:
            cursor = self.conn.execute(_ALERT_ROW + "WHERE al.channel = ? AND al.slack_ts = ? AND al.kind = "
                                       "'announcement' ORDER BY al.id", (channel, ts))
            out.append({"channel": channel, "channel_id": ids.get(channel, channel), "ts": ts,
                        "alerts": [_alert_dict(r) for r in fts.dicts(cursor)]})
        return out

    # ---- the team's actions ---------------------------------------------------------------------

    def team_of(self, calls: Iterable[str]) -> dict[str, dict[str, Any]]:
        """call -> {state, assignee, assignee_name, updated_at} for the calls the team acted on."""
        cursor = self.conn.execute(
            "SELECT call, state, assignee, assignee_name, updated_at FROM triage WHERE call IN "
            "(SELECT value FROM json_each(?))", (json.dumps(sorted(set(calls)), ensure_ascii=False),))
        return {row.pop("call"): row for row in fts.dicts(cursor)}

    def record_action(self, call: str, action: str, value: str | None, user: str, user_name: str | None,
                      now: datetime, channel: str | None = None, source: str | None = None,
                      ann_id: str | None = None, rules: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """One click: `assign` (value unused: the user takes the call) or `state` (value: a state code).
        Kept in the log; the call's row changes; a final state skips the call's pending reminders.
        -> the call's row afterwards."""
        stamp = _iso(now)
        with self.transaction():
            self.conn.execute(
                "INSERT INTO triage_log (call, source, ann_id, action, value, user, user_name, channel, rules, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (call, source, ann_id, action, value, user, user_name, channel,
                 json.dumps(rules, ensure_ascii=False) if rules is not None else None, stamp))
            if action == ASSIGN:
                self.conn.execute(
                    "INSERT INTO triage (call, assignee, assignee_name, updated_at, updated_by) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT(call) DO UPDATE SET assignee = excluded.assignee, assignee_name = "
                    "excluded.assignee_name, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                    (call, user, user_name, stamp, user))
            else:
                self.conn.execute(
                    "INSERT INTO triage (call, state, updated_at, updated_by) VALUES (?, ?, ?, ?) ON CONFLICT(call) "
                    "DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at, "
                    "updated_by = excluded.updated_by", (call, value, stamp, user))
            if value in FINAL and action != ASSIGN:
                self.conn.execute(
                    "UPDATE alerts SET status = 'skipped', last_error = 'team: ' || ? WHERE kind = 'remind' "
                    "AND status = 'pending' AND parent IN (SELECT al.key FROM alerts al WHERE al.kind = "
                    f"'announcement' AND {CALL_OF_ALERT} = ?)", (value, call))
        return self.team_of([call]).get(call, {})

    def team_history(self, call: str) -> list[dict[str, Any]]:
        """Every action on a call, oldest first."""
        cursor = self.conn.execute("SELECT action, value, user, user_name, channel, rules, at FROM triage_log "
                                   "WHERE call = ? ORDER BY id", (call,))
        return [{**row, "rules": json.loads(row["rules"]) if row["rules"] else None} for row in fts.dicts(cursor)]

    def has_team_actions(self) -> bool:
        """Whether the team ever acted on a call (exports then carry state and assignee)."""
        try:
            return self.conn.execute("SELECT 1 FROM triage_log LIMIT 1").fetchone() is not None
        except sqlite3.OperationalError:  # a database older than 0012, opened read-only
            return False

    # ---- members --------------------------------------------------------------------------------

    def member_name(self, user: str) -> str | None:
        row = self.conn.execute("SELECT name FROM team_members WHERE id = ?", (user,)).fetchone()
        return row[0] if row else None

    def remember_member(self, user: str, name: str, now: datetime) -> None:
        with self.transaction():
            self.conn.execute("INSERT INTO team_members (id, name, updated_at) VALUES (?, ?, ?) ON CONFLICT(id) "
                              "DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at",
                              (user, name, _iso(now)))

    # ---- the member's calls, calls nobody took (slash command, App Home) ------------------------

    def _call_rows(self, where: str, params: list[Any]) -> list[dict[str, Any]]:
        """One row per call (its first announcement's title and link, the call's deadline, state)."""
        cursor = self.conn.execute(
            "SELECT t.call AS call, t.state, t.assignee, t.assignee_name, a.source, a.id, a.title, a.link, a.agency, "
            "coalesce(c.deadline, a.deadline) AS deadline, s.name AS source_name FROM triage t "
            "JOIN announcements a ON a.key = t.call LEFT JOIN calls c ON c.key = t.call "
            f"LEFT JOIN sources s ON s.id = a.source WHERE {where} ORDER BY a.first_seen, a.rowid", params)
        calls: dict[str, dict[str, Any]] = {}
        for row in fts.dicts(cursor):
            calls.setdefault(row["call"], row)
        return list(calls.values())

    def assigned_calls(self, user: str) -> list[dict[str, Any]]:
        """The calls `user` took, as _call_rows."""
        return self._call_rows("t.assignee = ?", [user])

    def unassigned_closing(self, now: datetime, days: int = 7) -> list[dict[str, Any]]:
        """Alerted calls closing within `days` (Korea time) that nobody took and nobody set aside, one row
        per call (its alerted announcement), closest deadline first."""
        today = today_kst(now)
        quiet = json.dumps(sorted(QUIET))
        cursor = self.conn.execute(
            "SELECT coalesce(a.call, a.key) AS call, al.id AS alert_id, a.source, a.id, a.title, a.link, a.agency, "
            "s.name AS source_name, coalesce(c.deadline, a.deadline) AS deadline, t.state, t.assignee, "
            "t.assignee_name FROM alerts al "
            "JOIN announcements a ON a.source = al.source AND a.id = al.ann_id "
            "LEFT JOIN calls c ON c.key = coalesce(a.call, a.key) LEFT JOIN sources s ON s.id = a.source "
            "LEFT JOIN triage t ON t.call = coalesce(a.call, a.key) "
            "WHERE al.kind = 'announcement' AND al.status = 'sent' AND t.assignee IS NULL "
            "AND (t.state IS NULL OR t.state NOT IN (SELECT value FROM json_each(?))) "
            "AND coalesce(c.deadline, a.deadline) BETWEEN ? AND ? ORDER BY al.id",
            (quiet, today.isoformat(), (today + timedelta(days=days)).isoformat()))
        calls: dict[str, dict[str, Any]] = {}
        for row in fts.dicts(cursor):
            calls.setdefault(row["call"], row)
        return sorted(calls.values(), key=lambda r: (r["deadline"], r["title"] or ""))

    # ---- search rows, desk filters --------------------------------------------------------------

    def annotate_team(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Search rows with `call`, `state` (its Korean words, or None), `assignee` (the name),
        `assignee_id` and `alerted` (a message went out for the call)."""
        pairs = json.dumps([[r["source"], r["id"]] for r in rows], ensure_ascii=False)
        cursor = self.conn.execute(
            "SELECT a.source, a.id, coalesce(a.call, a.key) AS call FROM announcements a JOIN json_each(?) j "
            "ON a.source = json_extract(j.value, '$[0]') AND a.id = json_extract(j.value, '$[1]')", (pairs,))
        call_of = {(r["source"], r["id"]): r["call"] for r in fts.dicts(cursor)}
        team = self.team_of(call_of.values())
        alerted = {call for call in set(call_of.values()) if self._alerted(call)}
        for row in rows:
            call = call_of.get((row["source"], row["id"]), row.get("key"))
            info = team.get(call or "", {})
            row.update(call=call, state=state_label(info.get("state")) or None,
                       assignee=info.get("assignee_name") or info.get("assignee"),
                       assignee_id=info.get("assignee"), alerted=call in alerted)
        return rows

    def _alerted(self, call: str) -> bool:
        return self.conn.execute(
            "SELECT 1 FROM alerts al WHERE al.kind = 'announcement' AND al.key IN (SELECT b.key FROM announcements b "
            "WHERE b.call = ? OR b.key = ? UNION SELECT ?) LIMIT 1", (call, call, call)).fetchone() is not None

    def team_members(self) -> list[str]:
        """Names of the members who hold a call (the desk's assignee filter)."""
        return [r[0] for r in self.conn.execute(
            "SELECT DISTINCT coalesce(assignee_name, assignee) FROM triage WHERE assignee IS NOT NULL ORDER BY 1")]

    # ---- missed calls ---------------------------------------------------------------------------

    def find_call(self, key: str, link: str | None = None) -> dict[str, Any] | None:
        """The stored announcement whose key (canonical link) or link is this, with its call and
        whether the call was alerted."""
        row = fts.first_dict(self.conn.execute(
            "SELECT source, id, title, link, summary, agency, coalesce(call, key) AS call FROM announcements "
            "WHERE key = ? OR link = ? ORDER BY first_seen LIMIT 1", (key, link or key)))
        if row is not None:
            row["alerted"] = self._alerted(row["call"])
        return row

    def announcement_row(self, source: str, ann_id: str) -> dict[str, Any] | None:
        row = fts.first_dict(self.conn.execute(
            "SELECT source, id, title, link, summary, agency, coalesce(call, key) AS call FROM announcements "
            "WHERE source = ? AND id = ?", (source, ann_id)))
        if row is not None:
            row["alerted"] = self._alerted(row["call"])
        return row

    def mark_missed(self, row: dict[str, Any], rule: str | None, user: str, user_name: str | None, now: datetime,
                    channel: str | None = None) -> bool:
        """A member says this stored, unalerted call should have come (by `rule` when named).
        False when the call was already marked missed (the mark is logged again, once per member)."""
        with self.transaction():
            before = self.conn.execute("SELECT 1 FROM triage_log WHERE call = ? AND action = 'missed' AND user = ?",
                                       (row["call"], user)).fetchone()
            if before is None:
                self.conn.execute(
                    "INSERT INTO triage_log (call, source, ann_id, action, value, user, user_name, channel, at) "
                    "VALUES (?, ?, ?, 'missed', ?, ?, ?, ?, ?)",
                    (row["call"], row["source"], row["id"], rule, user, user_name, channel, _iso(now)))
        return before is None

    # ---- the team's judgment, for `rules report` and `labels export` ----------------------------

    def team_judgments(self) -> dict[str, list[dict[str, Any]]]:
        """{"alerts": every sent announcement alert with its call's state (rules parsed),
        "dismissals": the log's `관심 없음` entries with their rules and words,
        "missed": the missed marks with their announcements}."""
        alerts = [_alert_dict(r) for r in fts.dicts(self.conn.execute(
            "SELECT al.id, al.channel, al.rules, coalesce(a.call, al.key) AS call, a.source, a.id AS ann_id, a.title, "
            "a.summary, a.agency, a.link, t.state, t.assignee, t.assignee_name FROM alerts al "
            "JOIN announcements a ON a.source = al.source AND a.id = al.ann_id "
            "LEFT JOIN triage t ON t.call = coalesce(a.call, al.key) "
            "WHERE al.kind = 'announcement' AND al.status = 'sent' ORDER BY al.id"))]
        dismissals = [{**r, "rules": json.loads(r["rules"] or "[]")} for r in fts.dicts(self.conn.execute(
            "SELECT l.call, l.rules, l.user_name, l.at, t.state FROM triage_log l "
            "LEFT JOIN triage t ON t.call = l.call "
            "WHERE l.action = 'state' AND l.value = 'dismissed' ORDER BY l.id"))]
        missed = list(fts.dicts(self.conn.execute(
            "SELECT l.call, l.value AS rule, l.user, l.user_name, l.channel, l.at, a.source, a.id, a.title, a.summary, "
            "a.agency, a.link, a.published, a.deadline, s.name AS source_name FROM triage_log l "
            "JOIN announcements a ON a.source = l.source AND a.id = l.ann_id LEFT JOIN sources s ON s.id = a.source "
            "WHERE l.action = 'missed' ORDER BY l.id")))
        for row in missed:
            row["alerted"] = self._alerted(row["call"])
        return {"alerts": alerts, "dismissals": dismissals, "missed": missed}

    # ---- the listener's connection --------------------------------------------------------------

    def socket_state(self) -> dict[str, Any] | None:
        """What the Socket Mode listener last recorded ({state, since, checked_at, reconnects, ...})."""
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (SOCKET_META,)).fetchone()
        except sqlite3.OperationalError:
            return None
        if not row:
            return None
        try:
            value = json.loads(row[0])
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def set_socket_state(self, state: dict[str, Any]) -> None:
        with self.transaction():
            self.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                              "SET value = excluded.value", (SOCKET_META, json.dumps(state, ensure_ascii=False)))


def team_filter(state: str | None, assignee: str | None) -> tuple[str, list[Any]]:
    """The desk's `state` (a code, or `none`: nothing decided) and `assignee` (a member's id or name,
    `@` optional, case ignored) filters, as SQL over the announcement `a`."""
    sql, params = "", []
    if state == "none":
        sql += " AND coalesce(a.call, a.key) NOT IN (SELECT call FROM triage WHERE state IS NOT NULL)"
    elif state:
        sql += " AND coalesce(a.call, a.key) IN (SELECT call FROM triage WHERE state = ?)"
        params.append(state)
    if assignee:
        name = assignee.strip().removeprefix("@").strip().lower()
        sql += (" AND coalesce(a.call, a.key) IN (SELECT call FROM triage WHERE assignee = ? "
                "OR lower(assignee_name) = ?)")
        params += [assignee.strip().removeprefix("@"), name]
    return sql, params


def with_team(conn: sqlite3.Connection, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Morning-summary rows (one per `call`) with the team's `team` ({state, assignee, assignee_name});
    the calls set aside (`지원 안 함`, `관심 없음`) left out."""
    cursor = conn.execute("SELECT call, state, assignee, assignee_name FROM triage WHERE call IN "
                          "(SELECT value FROM json_each(?))",
                          (json.dumps(sorted({line["call"] for line in lines}), ensure_ascii=False),))
    team = {row.pop("call"): row for row in fts.dicts(cursor)}
    out = []
    for line in lines:
        info = team.get(line["call"])
        if info and info.get("state") in QUIET:
            continue
        out.append({**line, "team": info} if info else line)
    return out
