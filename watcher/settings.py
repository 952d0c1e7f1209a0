"""Time limits that operators (and tests) may change through the environment, in seconds.

| variable | default | what |
|---|---|---|
| `WATCHER_BUSY_TIMEOUT` | 10 | how long a command waits for another watcher's write lock on the database |
| `WATCHER_CLAIM_LEASE` | 60 | how long a claim on an alert being sent holds before another process takes it over |
| `WATCHER_SLACK_TIMEOUT` | 10 | one request to Slack |
| `WATCHER_RETRY_BASE` | 30 | first retry delay after a network error or 5xx of Slack (doubling, at most 1 h) |
| `WATCHER_IDLE_TIMEOUT` | 30 | `serve` closes a connection idle this long |
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger("watcher")
# Routine events of the service (started, config reloaded, rules re-applied, stopping, stopped): INFO,
# and shown without -v (this logger passes INFO although the root logger stays at WARNING).
service_log = logging.getLogger("watcher.service")
service_log.setLevel(logging.INFO)


def env_seconds(name: str, default: float) -> float:
    """A positive number of seconds from the environment variable `name`, else `default` (an
    unreadable value is logged once and ignored)."""
    raw = (os.environ.get(name) or "").strip().removesuffix("s")
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        log.warning("%s=%r is not a positive number of seconds; using %g", name, os.environ.get(name), default)
        return default
    return value


BUSY_TIMEOUT = 10.0  # seconds to wait for another process's write lock on the database


def busy_timeout_ms() -> int:
    """SQLite's busy timeout: WATCHER_BUSY_TIMEOUT seconds, else BUSY_TIMEOUT, in milliseconds."""
    return int(env_seconds("WATCHER_BUSY_TIMEOUT", BUSY_TIMEOUT) * 1000)
