"""The outbox by hand (`watcher alerts`): list what waits, make it due now, move it to another
channel, drop it.

Held alerts are those not sent yet: `pending` (due now, waiting out a failure, or scheduled, like a
reminder) and `sending` (claimed by a process right now). Dropping keeps the row with status
`dropped`, so the same announcement is never queued again for that channel (alerts are unique per
key and channel). Re-routing moves a pending alert to another channel as if it had just been
queued there; when that channel already has the same announcement, the moved copy is dropped
instead (an announcement is alerted once per channel). An alert being sent is never touched.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from watcher.clock import iso

_HELD = ("SELECT al.id, al.kind, al.channel, al.status, al.attempts, al.created_at, al.next_attempt_at, "
         "al.last_error, al.claimed_by, al.claimed_until, al.source, al.ann_id, a.title, "
         "coalesce(a.canonical, a.link) AS link "
         "FROM alerts al LEFT JOIN announcements a ON a.source = al.source AND a.id = al.ann_id "
         "WHERE al.status IN ('pending', 'sending')")


class AlertsAdmin:
    """Over an open Store (`store.conn`, `store.transaction`)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.conn: sqlite3.Connection = store.conn

    def held(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Alerts not sent yet, by channel then id."""
        sql, params = _HELD, ()
        if channel is not None:
            sql, params = sql + " AND al.channel = ?", (channel,)
        cursor = self.conn.execute(sql + " ORDER BY al.channel, al.id", params)
        cols = [c[0] for c in cursor.description]
        return [dict(zip(cols, row, strict=True)) for row in cursor]

    def channels(self) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT DISTINCT channel FROM alerts WHERE status IN ('pending', 'sending') ORDER BY channel")]

    def _pending_ids(self, ids: Iterable[int] | None, channel: str | None) -> list[int]:
        sql, params = "SELECT id FROM alerts WHERE status = 'pending'", []
        if ids is not None:
            sql += " AND id IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(sorted(set(ids))))
        if channel is not None:
            sql += " AND channel = ?"
            params.append(channel)
        return [r[0] for r in self.conn.execute(sql + " ORDER BY id", params)]

    def retry(self, ids: Iterable[int] | None = None, channel: str | None = None) -> list[int]:
        """Pending alerts due at once again (the wait after a failure is over). -> their ids."""
        with self.store.transaction() as conn:
            found = self._pending_ids(ids, channel)
            conn.execute("UPDATE alerts SET next_attempt_at = NULL WHERE status = 'pending' "
                         "AND id IN (SELECT value FROM json_each(?))", (json.dumps(found),))
        return found

    def drop(self, now: datetime, ids: Iterable[int] | None = None, channel: str | None = None,
             why: str = "dropped by hand") -> list[int]:
        """Pending alerts never to be sent. -> their ids."""
        with self.store.transaction() as conn:
            found = self._pending_ids(ids, channel)
            conn.execute("UPDATE alerts SET status = 'dropped', next_attempt_at = NULL, claimed_by = NULL, "
                         "claimed_until = NULL, last_error = ? WHERE status = 'pending' "
                         "AND id IN (SELECT value FROM json_each(?))",
                         (f"{why} at {iso(now)}", json.dumps(found)))
        return found

    def reroute(self, source: str, target: str, now: datetime) -> tuple[list[int], list[int]]:
        """Pending alerts of channel `source` to channel `target`. -> (moved ids, dropped ids: the
        target already had the same announcement)."""
        moved: list[int] = []
        dropped: list[int] = []
        with self.store.transaction() as conn:
            rows = conn.execute("SELECT id, key FROM alerts WHERE status = 'pending' AND channel = ? ORDER BY id",
                                (source,)).fetchall()
            for alert_id, key in rows:
                taken = conn.execute("SELECT 1 FROM alerts WHERE key = ? AND channel = ?", (key, target)).fetchone()
                if taken:
                    conn.execute("UPDATE alerts SET status = 'dropped', next_attempt_at = NULL, last_error = ? "
                                 "WHERE id = ?", (f"rerouted to {target}, which already has it, at {iso(now)}",
                                                  alert_id))
                    dropped.append(alert_id)
                else:
                    conn.execute("UPDATE alerts SET channel = ?, attempts = 0, next_attempt_at = NULL, "
                                 "last_error = NULL, doubts = 0 WHERE id = ?", (target, alert_id))
                    moved.append(alert_id)
        return moved, dropped

    def failing_channels(self) -> list[dict[str, Any]]:
        """Channels whose pending alerts Slack refused: {channel, count, oldest, last_error}, the
        longest-waiting first (for /status)."""
        cursor = self.conn.execute(
            "SELECT channel, count(*), min(created_at), max(last_error) FROM alerts "
            "WHERE status = 'pending' AND attempts > 0 AND last_error IS NOT NULL "
            "GROUP BY channel ORDER BY min(created_at), channel")
        return [dict(zip(("channel", "count", "oldest", "last_error"), r, strict=True)) for r in cursor]
