"""`GET /metrics` of `watcher serve`: the watcher's health in Prometheus text format.

Read from the database at each scrape (the poller is another process), through a read-only
connection; nothing is kept in memory between scrapes. Counters count since the database was
created (polls since migration 0010). Metric names:

  watcher_polls_total{source}                     polls of the source, failed ones included
  watcher_poll_errors_total{source}               failed polls
  watcher_source_failures{source}                 consecutive failures now (0: last poll was fine)
  watcher_last_success_timestamp_seconds{source}  Unix time of the last successful poll
  watcher_items_stored{source}                    announcements stored
  watcher_alerts_sent_total{channel,kind}         messages Slack accepted (kind: announcement, ops, ...)
  watcher_alerts_pending{channel,kind}            alerts waiting in the outbox
  watcher_oldest_pending_alert_age_seconds        age of the oldest pending alert that is due (0: none)
  watcher_last_poll_round_timestamp_seconds{kind} Unix time of the last completed poll round (once, run)
  watcher_source_state{source,state}              1 for the state of each configured source (ok, failing,
                                                  degraded, stale, disabled, never polled; watcher.health)
  watcher_slack_socket_connected                  1 while the Socket Mode listener of `run` is connected
                                                  (team actions; absent when they were never on)
  watcher_slack_socket_reconnects_total           reconnections of that listener since it started
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest

from watcher.models import Config

CONTENT_TYPE = "text/plain; version=0.0.4"


def _ts(stamp: str | None) -> float | None:
    try:
        return datetime.fromisoformat(stamp).timestamp() if stamp else None
    except ValueError:
        return None


def families(rows: dict[str, list[tuple[Any, ...]]], now: datetime) -> list[Metric]:
    """Store.metric_rows() -> metric families (pure)."""
    polls = CounterMetricFamily("watcher_polls", "Polls of a source, failed ones included.", labels=["source"])
    errors = CounterMetricFamily("watcher_poll_errors", "Failed polls of a source.", labels=["source"])
    for source, n, failed in rows["polls"]:
        polls.add_metric([source], n)
        errors.add_metric([source], failed)
    failures = GaugeMetricFamily("watcher_source_failures", "Consecutive failed polls of a source now.",
                                 labels=["source"])
    success = GaugeMetricFamily("watcher_last_success_timestamp_seconds",
                                "Unix time of the last successful poll of a source.", labels=["source"])
    for source, last_success, _last_poll, fails in rows["sources"]:
        failures.add_metric([source], fails or 0)
        if (when := _ts(last_success)) is not None:
            success.add_metric([source], when)
    items = GaugeMetricFamily("watcher_items_stored", "Announcements stored per source.", labels=["source"])
    for source, n in rows["items"]:
        items.add_metric([source], n)
    sent = CounterMetricFamily("watcher_alerts_sent", "Alerts Slack accepted.", labels=["channel", "kind"])
    pending = GaugeMetricFamily("watcher_alerts_pending", "Alerts waiting in the outbox.", labels=["channel", "kind"])
    dropped = CounterMetricFamily("watcher_alerts_dropped", "Message updates given up (Slack refused them for good).",
                                  labels=["channel", "kind"])
    for channel, kind, status, n in rows["alerts"]:
        if status == "sent":
            sent.add_metric([channel, kind], n)
        elif status == "pending":
            pending.add_metric([channel, kind], n)
        elif status == "dropped":
            dropped.add_metric([channel, kind], n)
    oldest = _ts(rows["oldest_pending"][0][0]) if rows["oldest_pending"] else None
    age = GaugeMetricFamily("watcher_oldest_pending_alert_age_seconds",
                            "Seconds the oldest due pending alert has waited (0 when none).",
                            value=max(0.0, now.timestamp() - oldest) if oldest is not None else 0.0)
    rounds = GaugeMetricFamily("watcher_last_poll_round_timestamp_seconds",
                               "Unix time of the last completed poll round.", labels=["kind"])
    for kind, at, _sources in rows["heartbeat"]:
        if (when := _ts(at)) is not None:
            rounds.add_metric([kind], when)
    return [polls, errors, failures, success, items, sent, pending, dropped, age, rounds]


class _Snapshot:
    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield from self.metrics


def state_family(states: list[dict[str, Any]]) -> Metric:
    """health.source_rows -> one sample per configured source, labelled with its state."""
    family = GaugeMetricFamily("watcher_source_state", "1 for the current state of each configured source.",
                               labels=["source", "state"])
    for row in states:
        family.add_metric([row["id"], row["state"]], 1)
    return family


def socket_families(state: dict[str, Any] | None, now: datetime) -> list[Metric]:
    """The team listener's connection (watcher/team/status.py); nothing when team actions were never on."""
    from watcher.team.status import socket_state

    if not state:
        return []
    connected = GaugeMetricFamily("watcher_slack_socket_connected",
                                  "1 while the Slack Socket Mode listener of `run` is connected.",
                                  value=1.0 if socket_state(state, now) == "connected" else 0.0)
    reconnects = CounterMetricFamily("watcher_slack_socket_reconnects",
                                     "Reconnections of the Socket Mode listener since it started.",
                                     value=int(state.get("reconnects") or 0))
    return [connected, reconnects]


def render_metrics(store_path: str | Path, now: datetime, config: Config | None = None) -> bytes:
    """The text of one scrape; with the config, the state of every configured source too. A missing
    database gives every family without samples."""
    from watcher.health import source_rows
    from watcher.store import Store

    store = Store.open_readonly(store_path)
    empty: dict[str, list[tuple[Any, ...]]] = {
        k: [] for k in ("polls", "items", "alerts", "oldest_pending", "sources", "heartbeat")}
    metrics: list[Metric] = []
    try:
        rows = store.metric_rows(now) if store is not None else empty
        if config is not None and store is not None:
            metrics.append(state_family(source_rows(config, store, now)))
        if store is not None:
            metrics += socket_families(store.socket_state(), now)
    finally:
        if store is not None:
            store.close()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families(rows, now) + metrics))
    return generate_latest(registry)
