"""Store mixin for operations: poll-round heartbeats, poll counters, and the read side of
`watcher status --check` and `/metrics`.

`heartbeat` has one row per kind of poll round (`once`, `run`): when the last one completed and
how many sources it covered. `poll_counts` counts every poll (and failed poll) of a source since
the database was created, for Prometheus counters. Read methods tolerate a database made before
migration 0010 (no such tables yet: nothing recorded), so a read-only check never has to migrate.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

import sqlite_utils

from watcher.clock import iso as _iso

HEARTBEAT_SQL = (
    """CREATE TABLE IF NOT EXISTS heartbeat (kind TEXT PRIMARY KEY, at TEXT NOT NULL,
        sources INTEGER NOT NULL DEFAULT 0, pid INTEGER)""",
    """CREATE TABLE IF NOT EXISTS poll_counts (source TEXT PRIMARY KEY,
        polls INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0)""",
)
# When an alert became due: its creation, or its first scheduled attempt while it was never tried.
DUE = "coalesce(CASE WHEN attempts = 0 THEN next_attempt_at END, created_at)"


class OpsStore:
    """Mixed into Store; uses `self.conn` / `self.db`."""

    conn: sqlite3.Connection
    db: sqlite_utils.Database

    # ---- write side (once / run) ----------------------------------------------------------------

    def record_heartbeat(self, kind: str, now: datetime, sources: int, pid: int | None = None) -> None:
        """A poll round of `kind` ('once' or 'run') completed at `now`, covering `sources` sources."""
        self.db.execute(  # commits at once, or joins the caller's transaction
            "INSERT INTO heartbeat (kind, at, sources, pid) VALUES (?, ?, ?, ?) ON CONFLICT(kind) DO UPDATE "
            "SET at = excluded.at, sources = excluded.sources, pid = excluded.pid",
            (kind, _iso(now), sources, pid),
        )

    def count_poll(self, conn: sqlite3.Connection, source_id: str, failed: bool) -> None:
        """One more poll of the source (inside the caller's transaction)."""
        conn.execute(
            "INSERT INTO poll_counts (source, polls, errors) VALUES (?, 1, ?) ON CONFLICT(source) DO UPDATE "
            "SET polls = polls + 1, errors = errors + excluded.errors",
            (source_id, 1 if failed else 0),
        )

    # ---- read side (status --check, /metrics) ---------------------------------------------------

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise

    def last_heartbeat(self) -> dict[str, Any] | None:
        """The most recent completed poll round: {kind, at, sources}, or None."""
        rows = self._rows("SELECT kind, at, sources FROM heartbeat ORDER BY at DESC LIMIT 1")
        return dict(zip(("kind", "at", "sources"), rows[0], strict=True)) if rows else None

    def heartbeats(self) -> list[dict[str, Any]]:
        return [dict(zip(("kind", "at", "sources"), r, strict=True))
                for r in self._rows("SELECT kind, at, sources FROM heartbeat ORDER BY kind")]

    def source_health_rows(self) -> dict[str, dict[str, Any]]:
        """id -> the stored health of every polled source (failures, failing_since, last_success...)."""
        cols = ("id", "name", "last_success", "last_error", "failures", "failing_since", "last_poll")
        rows = self._rows(f"SELECT {', '.join(cols)} FROM sources")
        return {r[0]: dict(zip(cols, r, strict=True)) for r in rows}

    def pending_since(self, before: datetime) -> list[dict[str, Any]]:
        """Per channel: pending alerts due since before `before` -> {channel, count, oldest, last_error}.
        An alert is due from its creation, or from its first scheduled attempt when it has not been
        tried yet (e.g. a reminder queued ahead of time)."""
        rows = self._rows(
            f"SELECT channel, count(*), min({DUE}), max(last_error) FROM alerts "
            f"WHERE status = 'pending' AND {DUE} < ? GROUP BY channel ORDER BY channel",
            (_iso(before),),
        )
        return [dict(zip(("channel", "count", "oldest", "last_error"), r, strict=True)) for r in rows]

    def metric_rows(self, now: datetime) -> dict[str, list[tuple[Any, ...]]]:
        """Everything /metrics reports, read in one go."""
        return {
            "polls": self._rows("SELECT source, polls, errors FROM poll_counts ORDER BY source"),
            "items": self._rows("SELECT source, count(*) FROM announcements GROUP BY source ORDER BY source"),
            "alerts": self._rows("SELECT channel, coalesce(kind, 'announcement'), status, count(*) FROM alerts "
                                 "GROUP BY channel, kind, status ORDER BY channel, kind, status"),
            "oldest_pending": self._rows(f"SELECT min({DUE}) FROM alerts WHERE status = 'pending' AND {DUE} <= ?",
                                         (_iso(now),)),
            "sources": self._rows("SELECT id, last_success, last_poll, failures FROM sources ORDER BY id"),
            "heartbeat": self._rows("SELECT kind, at, sources FROM heartbeat ORDER BY kind"),
        }

