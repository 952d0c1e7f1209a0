"""Store mixin for source health (watcher/health.py): each source's last full poll's field coverage,
when it went degraded, when it last gave a new item, and the ops alerts they earn. Also the one
test of § Alerts that decides whether a stored announcement may be alerted at all (`alertable`).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

import sqlite_utils

from watcher import health
from watcher.clock import KST
from watcher.models import Source
from watcher.store import search as fts


def migrate_0005_health(db: sqlite_utils.Database) -> None:
    """sources: `health` (JSON of the last full poll's PollHealth), `degraded_since`, `last_new` (when the
    source last gave a new item; filled from the stored announcements) and the two alerted flags."""
    conn = db.conn
    for column in ("health TEXT", "degraded_since TEXT", "degraded_alerted INTEGER NOT NULL DEFAULT 0",
                   "last_new TEXT", "stale_alerted INTEGER NOT NULL DEFAULT 0"):
        conn.execute(f"ALTER TABLE sources ADD COLUMN {column}")
    conn.execute("UPDATE sources SET last_new = "
                 "(SELECT max(first_seen) FROM announcements a WHERE a.source = sources.id)")


def alertable(published: str | None, deadline: str | None, first_seen: str, oldest: int, baseline: str,
              today: str) -> bool:
    """May an announcement (that rules matched) be alerted? Not when its call closed before `today`
    (Korea time); not when it is undated and was first seen on the source's first poll (`baseline`:
    that poll's time); else when its publication date, or for an undated item the time it was first
    seen, is at or after `oldest` (epoch seconds, now - max_age)."""
    if deadline and deadline[:10] < today:
        return False
    dated = fts.sort_seconds(published)
    if dated is None:
        return first_seen > baseline and (fts.sort_seconds(first_seen) or 0) >= oldest
    return dated >= oldest


def first_poll_stamp(conn: sqlite3.Connection, source_id: str, stamp: str) -> str:
    """The time of the source's first successful poll: stored, else this poll's (`stamp`)."""
    row = conn.execute("SELECT first_polled FROM sources WHERE id = ?", (source_id,)).fetchone()
    return (row[0] if row else None) or stamp


class HealthStore:
    """Methods of Store (it provides `self.db`, `self.conn`, `transaction`, `enqueue_ops`)."""

    db: sqlite_utils.Database
    conn: sqlite3.Connection

    def record_health(self, source: Source, now: datetime, polled: health.PollHealth | None, new: int) -> None:
        """After a successful poll: the full poll's health (None for 304 / unchanged bodies: the last
        one stands) and whether it gave new items."""
        stamp = now.astimezone(KST).isoformat(timespec="seconds")
        sets, params = [], []
        if polled is not None:
            sets.append("health = ?")
            params.append(polled.to_json())
            if polled.degraded:
                sets.append("degraded_since = coalesce(degraded_since, ?)")
                params.append(stamp)
            else:
                sets.append("degraded_since = NULL")
        if new:
            sets.append("last_new = ?, stale_alerted = 0")
            params.append(stamp)
        if sets:
            with self.transaction():  # type: ignore[attr-defined]  # commits, or joins the caller's
                self.conn.execute(f"UPDATE sources SET {', '.join(sets)} WHERE id = ?", (*params, source.id))

    def health_alerts(self, source: Source, now: datetime, channel: str | None) -> list[str]:
        """Queue the ops alerts the source's health earns now (health.alerts); -> their texts, to log."""
        row = self.source_state(source.id)  # type: ignore[attr-defined]
        due = health.alerts(source, row, now)
        if due.flags:
            self.db["sources"].update(source.id, due.flags)
        if channel:
            for key, text in due.messages:
                self.enqueue_ops(channel, key, text, now)  # type: ignore[attr-defined]
        return [text for _, text in due.messages]

    def health_rows(self) -> dict[str, dict[str, Any]]:
        """Every stored source row, with `items` (announcements stored), by id."""
        cursor = self.conn.execute(
            "SELECT s.*, (SELECT count(*) FROM announcements a WHERE a.source = s.id) AS items FROM sources s")
        return {row["id"]: row for row in fts.dicts(cursor)}
