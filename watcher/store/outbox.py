"""Claims on the outbox, so overlapping processes (two `once`, `once` beside `run`) never send one
message twice, and a send whose fate is unknown is repeated at most once.

An alert goes `pending` -> `sending` (claimed: `claimed_by` host:pid, `claimed_until` lease end) ->
`sent`, or back to `pending` on a failure. A claim is all or nothing for the alerts of one message,
of any kind (announcement, ops, or later kinds): whoever claims first sends, the others skip it.
`doubts` counts attempts that may have reached Slack without our knowing (the answer timed out, or
the claiming process died and its lease ran out): the first one is repeated, the second counts as
sent, so an alert is never posted more than twice.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime, timedelta
from typing import Any

from watcher.clock import iso as _iso
from watcher.settings import env_seconds

LEASE = 60.0  # seconds a claim holds; longer than any one send (Slack timeout 10 s)
MAX_DOUBTS = 2  # the second unknown fate of an alert counts as sent: at most one repeat


def lease_seconds() -> float:
    """The claim lease: WATCHER_CLAIM_LEASE seconds (tests shorten it), else LEASE."""
    return env_seconds("WATCHER_CLAIM_LEASE", LEASE)


def claimant() -> str:
    """Who holds a claim: `host:pid`."""
    return f"{socket.gethostname()}:{os.getpid()}"


def alive(holder: str) -> bool:
    """Whether the process of a claim `host:pid` may still be sending: True unless it ran on this
    host and no process with its pid exists any more."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, owned by another user
    return True


def migrate(db: Any) -> None:
    """Migration 0007_claims: the claim of an alert being sent, and its count of unknown fates."""
    conn = db.conn
    conn.execute("ALTER TABLE alerts ADD COLUMN claimed_by TEXT")
    conn.execute("ALTER TABLE alerts ADD COLUMN claimed_until TEXT")
    conn.execute("ALTER TABLE alerts ADD COLUMN doubts INTEGER NOT NULL DEFAULT 0")


class ClaimStore:
    """Mixin of Store (uses `self.conn`, `self.transaction`)."""

    def retried_pending(self) -> list[tuple[str, str, str | None, str | None]]:
        """(channel, next_attempt_at, last_error, kind) of every pending alert already tried and waiting."""
        return self.conn.execute(  # type: ignore[attr-defined]
            "SELECT channel, next_attempt_at, last_error, kind FROM alerts "
            "WHERE status = 'pending' AND attempts > 0 AND next_attempt_at IS NOT NULL"
        ).fetchall()

    def mark_dropped(self, ids: list[int], now: datetime, error: str) -> None:
        """Given up for good (a message update Slack refuses): never sent, its error kept."""
        self.db.execute(  # type: ignore[attr-defined]
            "UPDATE alerts SET status = 'dropped', attempts = attempts + 1, last_error = ?, next_attempt_at = NULL, "
            "claimed_by = NULL, claimed_until = NULL, sent_at = ? WHERE status != 'sent' "
            "AND id IN (SELECT value FROM json_each(?))", (error, _iso(now), json.dumps(ids)))

    def count_pending(self) -> int:
        """Alerts not sent yet."""
        return int(self.conn.execute(  # type: ignore[attr-defined]
            "SELECT count(*) FROM alerts WHERE status = 'pending'").fetchone()[0])

    def next_pending_attempt(self, except_kind: str | None = None) -> str | None:
        """The earliest time a pending alert (not of `except_kind`) is due again (None when none waits)."""
        row = self.conn.execute(  # type: ignore[attr-defined]
            "SELECT min(next_attempt_at) FROM alerts WHERE status = 'pending' AND coalesce(kind, '') != ?",
            (except_kind or "",)).fetchone()
        return row[0] if row else None

    def claim(self, ids: list[int], now: datetime, lease: float | None = None) -> bool:
        """Claim every alert of one message for this process; False (nothing claimed) when any of
        them is no longer pending (sent, or claimed by another process)."""
        lease = lease_seconds() if lease is None else lease
        until = now + timedelta(seconds=lease)
        with self.transaction() as conn:  # type: ignore[attr-defined]
            where = "status = 'pending' AND id IN (SELECT value FROM json_each(?))"
            free = conn.execute(f"SELECT count(*) FROM alerts WHERE {where}", (json.dumps(ids),)).fetchone()[0]
            if free != len(set(ids)):
                return False
            conn.execute(f"UPDATE alerts SET status = 'sending', claimed_by = ?, claimed_until = ? WHERE {where}",
                         (claimant(), _iso(until), json.dumps(ids)))
        return True

    def release(self, ids: list[int]) -> None:
        """Give claims back untouched (the message was not attempted). Committed at once (db.execute): a
        bare conn.execute would open a transaction that nothing commits."""
        self.db.execute(  # type: ignore[attr-defined]
            "UPDATE alerts SET status = 'pending', claimed_by = NULL, claimed_until = NULL "
            "WHERE status = 'sending' AND claimed_by = ? AND id IN (SELECT value FROM json_each(?))",
            (claimant(), json.dumps(ids)),
        )

    def take_over_expired(self, now: datetime) -> list[str]:
        """Claims whose lease ran out (their process died or hung), and claims of a process on this
        host that is no longer alive (killed mid-send: no need to wait for its lease): their alerts
        become pending again with one more doubt, or count as sent at the second.
        -> the claimants taken over."""
        stamp = _iso(now)
        holders = "SELECT DISTINCT claimed_by, claimed_until <= ? FROM alerts WHERE status = 'sending'"
        found = self.conn.execute(holders, (stamp,)).fetchall()  # type: ignore[attr-defined]
        if not found:
            return []  # the usual case: no write, no lock taken
        gone = sorted({str(who) for who, expired in found if expired or not alive(str(who))})
        if not gone:
            return []
        with self.transaction() as conn:  # type: ignore[attr-defined]
            taken = "status = 'sending' AND claimed_by IN (SELECT value FROM json_each(?))"
            rows = conn.execute(f"SELECT DISTINCT claimed_by FROM alerts WHERE {taken}", (json.dumps(gone),)).fetchall()
            if rows:
                conn.execute(
                    "UPDATE alerts SET doubts = doubts + 1, claimed_by = NULL, claimed_until = NULL, "
                    "status = CASE WHEN doubts + 1 >= ? THEN 'sent' ELSE 'pending' END, "
                    "sent_at = CASE WHEN doubts + 1 >= ? THEN ? ELSE sent_at END, "
                    "last_error = CASE WHEN doubts + 1 >= ? THEN 'slack: sent twice without an answer; counted "
                    f"as sent' ELSE 'slack: its sender stopped mid-send; sent again once' END WHERE {taken}",
                    (MAX_DOUBTS, MAX_DOUBTS, stamp, MAX_DOUBTS, json.dumps(gone)),
                )
        return [str(r[0]) for r in rows]

    def mark_in_doubt(self, ids: list[int], now: datetime, error: str, retry_at: datetime) -> int:
        """A send whose answer timed out (it may have arrived): pending again, due at retry_at, the
        first time; counted as sent the second. -> alerts counted as sent."""
        with self.transaction() as conn:  # type: ignore[attr-defined]
            params = json.dumps(ids)
            done = conn.execute(
                "SELECT count(*) FROM alerts WHERE doubts + 1 >= ? AND status != 'sent' "
                "AND id IN (SELECT value FROM json_each(?))", (MAX_DOUBTS, params),
            ).fetchone()[0]
            conn.execute(
                "UPDATE alerts SET attempts = attempts + 1, doubts = doubts + 1, claimed_by = NULL, "
                "claimed_until = NULL, status = CASE WHEN doubts + 1 >= ? THEN 'sent' ELSE 'pending' END, "
                "sent_at = CASE WHEN doubts + 1 >= ? THEN ? ELSE sent_at END, "
                "next_attempt_at = CASE WHEN doubts + 1 >= ? THEN NULL ELSE ? END, "
                "last_error = CASE WHEN doubts + 1 >= ? THEN ? || '; sent twice without an answer, counted as sent' "
                "ELSE ? END WHERE status != 'sent' AND id IN (SELECT value FROM json_each(?))",
                (MAX_DOUBTS, MAX_DOUBTS, _iso(now), MAX_DOUBTS, _iso(retry_at), MAX_DOUBTS, error, error, params),
            )
        return int(done)
