"""`watcher status --check`: is the watcher doing its job? One reason per problem, none when healthy.

Unhealthy when (only enabled sources of the current config count):
- a source has failed for longer than its `alert_after`;
- a source has never succeeded and its last NEVER_OK_POLLS polls or more all failed (a new set-up
  with a wrong URL or key shows at once, not after `alert_after`);
- a source is `degraded` or `stale` (its state in watcher.health.source_rows);
- alerts have been due for over an hour and are still pending (Slack refuses or cannot be reached);
- no poll round (`once` over every source, or `run`) has completed within twice the shortest
  `interval`, or none was ever recorded.
The database is opened read-only: a check never creates or migrates one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from watcher.clock import kst_text
from watcher.models import Config

if TYPE_CHECKING:
    from watcher.store.ops import OpsStore

PENDING_LIMIT = timedelta(hours=1)
NEVER_OK_POLLS = 2  # failed polls of a source that never succeeded before it counts, whatever alert_after


def kst(stamp: str | None) -> str:
    """`2026-12-01T09:30:00+09:00` -> `2026-12-01 09:30 KST` (the stored times are KST)."""
    return kst_text(stamp, missing="never")


def duration(seconds: float) -> str:
    """3600 -> `1h`, 5400 -> `1h30m`, 172800 -> `2d` (the units of the YAML files)."""
    seconds = int(round(seconds))
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out[:2]) or "0s"


def _since(stamp: str | None, now: datetime) -> float | None:
    if not stamp:
        return None
    try:
        return (now - datetime.fromisoformat(stamp)).total_seconds()
    except (ValueError, TypeError):
        return None


def failing_reasons(config: Config, rows: dict[str, dict[str, Any]], now: datetime) -> list[str]:
    out = []
    for source in config.sources:
        row = rows.get(source.id)
        if not source.enabled or not row or not row.get("failures"):
            continue
        age = _since(row.get("failing_since"), now)
        if age is not None and age >= source.alert_after:
            out.append(f"source {source.id}: failing since {kst(row['failing_since'])} ({row['failures']} polls, "
                       f"alert_after {duration(source.alert_after)}): {row.get('last_error')}")
    return out


def never_ok_reasons(config: Config, rows: dict[str, dict[str, Any]], now: datetime) -> list[str]:
    """Enabled sources that have never succeeded and failed NEVER_OK_POLLS polls or more (and are not
    already reported past their alert_after)."""
    out = []
    for source in config.sources:
        row = rows.get(source.id)
        if not source.enabled or not row or row.get("last_success") or (row.get("failures") or 0) < NEVER_OK_POLLS:
            continue
        age = _since(row.get("failing_since"), now)
        if age is not None and age >= source.alert_after:
            continue  # failing_reasons says it
        out.append(f"source {source.id}: never succeeded ({row['failures']} polls failed since "
                   f"{kst(row.get('failing_since'))}): {row.get('last_error')} "
                   f"(check its url with `watcher sources test {source.id}`)")
    return out


def state_reasons(config: Config, states: list[dict[str, Any]]) -> list[str]:
    """Rows of watcher.health.source_rows whose state is degraded or stale."""
    enabled = {s.id for s in config.sources if s.enabled}
    return [f"source {row['id']}: {row['state']}" + (f": {row['reason']}" if row.get("reason") else "")
            for row in states if row.get("id") in enabled and row.get("state") in ("degraded", "stale")]


def pending_reasons(store: OpsStore, now: datetime) -> list[str]:
    out = []
    for row in store.pending_since(now - PENDING_LIMIT):
        error = f": {row['last_error']}" if row.get("last_error") else " (not tried yet)"
        out.append(f"slack {row['channel']}: {row['count']} alert(s) pending since {kst(row['oldest'])}{error}")
    return out


def heartbeat_reasons(config: Config, store: OpsStore, now: datetime) -> list[str]:
    intervals = [s.interval for s in config.sources if s.enabled]
    if not intervals:
        return []
    limit = 2 * min(intervals)
    beat = store.last_heartbeat()
    if beat is None:
        return ["no poll round recorded yet (run `watcher once`, or start `watcher run`)"]
    age = _since(beat["at"], now)
    if age is None or age > limit:
        return [f"no poll round completed since {kst(beat['at'])} ({beat['kind']}), "
                f"longer than twice the shortest interval ({duration(limit)})"]
    return []


def reasons(config: Config, store: OpsStore, now: datetime, states: list[dict[str, Any]] | None = None) -> list[str]:
    """Every reason the watcher is unhealthy at `now`; [] when healthy."""
    rows = store.source_health_rows()
    return (failing_reasons(config, rows, now) + never_ok_reasons(config, rows, now)
            + state_reasons(config, states or [])
            + pending_reasons(store, now) + heartbeat_reasons(config, store, now))


def healthy_line(config: Config, store: OpsStore) -> str:
    beat = store.last_heartbeat()
    enabled = sum(1 for s in config.sources if s.enabled)
    last = f"last poll round {kst(beat['at'])} ({beat['kind']})" if beat else "no poll round needed"
    return f"healthy: {enabled} sources enabled, {last}"
