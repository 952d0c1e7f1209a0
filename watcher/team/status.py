"""The Socket Mode connection as `watcher status` and `/metrics` report it, from what the listener
of `watcher run` last wrote (store/triage.py `slack_socket`): pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

STALE_AFTER = 120.0  # seconds without a report: the listener is not running (it writes every 30 s)


def _ts(value: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(value)).timestamp() if value else None
    except ValueError:
        return None


def socket_state(state: dict[str, Any] | None, now: datetime) -> str:
    """`connected`, `disconnected`, `connecting`, `stopped` or `unknown` (no report lately), `off` (never)."""
    if not state:
        return "off"
    word = str(state.get("state") or "unknown")
    checked = _ts(state.get("checked_at"))
    if word != "stopped" and (checked is None or now.timestamp() - checked > STALE_AFTER):
        return "unknown"
    return word


def socket_line(state: dict[str, Any] | None, now: datetime) -> str | None:
    """One line for `watcher status`, None when team actions were never on."""
    word = socket_state(state, now)
    if word == "off" or state is None:
        return None
    since = str(state.get("since") or "")[:19].replace("T", " ")
    reconnects = int(state.get("reconnects") or 0)
    line = f"slack socket mode: {word}" + (f" since {since}" if since else "")
    if word == "unknown":
        checked = str(state.get("checked_at") or "never")[:19].replace("T", " ")
        line = f"slack socket mode: unknown (last report {checked}; is `watcher run` running?)"
    line += f", {reconnects} reconnection(s)"
    if state.get("error") and word != "connected":
        line += f", last error: {state['error']}"
    return line
