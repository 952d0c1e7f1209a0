"""`GET /metrics` on `watcher serve`: Prometheus text that prometheus_client's parser reads back."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from watcher.models import Announcement, Config, Hit, RuleSet, Source
from watcher.store import KST, Store
from watcher.web import make_web_server

NTIS = Source(id="ntis", url="https://ntis", name="NTIS")
BIZ = Source(id="bizinfo", url="https://biz", name="기업마당")


def serve(path: Path, config: Config | None = None) -> Iterator[str]:
    server = make_web_server(path, "127.0.0.1", 0, config)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def filled(tmp_path: Path) -> Iterator[tuple[str, datetime]]:
    now = datetime.now(KST).replace(microsecond=0)
    store = Store(tmp_path / "w.db")
    items = [(Announcement("ntis", str(i), f"특구 공고 {i}", f"https://example.go.kr/{i}",
                           published=(now - timedelta(hours=1)).isoformat()), [Hit("zones", "#g", ("특구",))])
             for i in range(3)]
    store.ingest(NTIS, items, now - timedelta(hours=2), 14 * 86400)
    store.record_success(NTIS, now - timedelta(hours=2), None, None, None)
    store.record_success(NTIS, now - timedelta(minutes=5), None, None, None)
    store.record_failure(BIZ, now - timedelta(minutes=5), "fetch: http 503", None)
    first = store.pending_alerts(now)[0]["id"]
    store.mark_sent(first, now, "1.1")
    store.enqueue_ops("#ops", "ops:1", "text", now - timedelta(minutes=30))
    store.record_heartbeat("run", now - timedelta(minutes=1), 2)
    store.close()
    yield from ((base, now) for base in serve(tmp_path / "w.db"))


def scrape(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = requests.get(base + "/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_parse_and_report_polls_items_and_alerts(filled) -> None:
    base, now = filled
    m = scrape(base)
    assert m[("watcher_polls_total", (("source", "ntis"),))] == 2
    assert m[("watcher_poll_errors_total", (("source", "ntis"),))] == 0
    assert m[("watcher_poll_errors_total", (("source", "bizinfo"),))] == 1
    assert m[("watcher_source_failures", (("source", "bizinfo"),))] == 1
    assert m[("watcher_items_stored", (("source", "ntis"),))] == 3
    assert m[("watcher_alerts_sent_total", (("channel", "#g"), ("kind", "announcement")))] == 1
    assert m[("watcher_alerts_pending", (("channel", "#g"), ("kind", "announcement")))] == 2
    assert m[("watcher_alerts_pending", (("channel", "#ops"), ("kind", "ops")))] == 1


def test_metrics_report_times_as_unix_seconds(filled) -> None:
    base, now = filled
    m = scrape(base)
    five_minutes_ago, a_minute_ago = (now - timedelta(minutes=5)).timestamp(), (now - timedelta(minutes=1)).timestamp()
    assert m[("watcher_last_success_timestamp_seconds", (("source", "ntis"),))] == five_minutes_ago
    assert ("watcher_last_success_timestamp_seconds", (("source", "bizinfo"),)) not in m  # never succeeded
    assert m[("watcher_last_poll_round_timestamp_seconds", (("kind", "run"),))] == a_minute_ago
    age = m[("watcher_oldest_pending_alert_age_seconds", ())]
    assert 2 * 3600 <= age < 2 * 3600 + 60  # the announcement alerts queued two hours ago


def test_metrics_without_a_database_still_parse(tmp_path: Path) -> None:
    for base in serve(tmp_path / "missing.db"):
        m = scrape(base)
        assert m == {("watcher_oldest_pending_alert_age_seconds", ()): 0.0}
    assert not (tmp_path / "missing.db").exists()


def test_metrics_give_the_state_of_every_configured_source(tmp_path: Path) -> None:
    now = datetime.now(KST).replace(microsecond=0)
    store = Store(tmp_path / "w.db")
    store.record_success(NTIS, now - timedelta(minutes=5), None, None, None)
    store.record_failure(BIZ, now - timedelta(minutes=5), "fetch: http 503", None)
    store.close()
    config = Config(sources=(NTIS, BIZ, Source(id="new", url="https://new")), rules=RuleSet())
    for base in serve(tmp_path / "w.db", config):
        states = {labels: v for (name, labels), v in scrape(base).items() if name == "watcher_source_state"}
    assert states == {(("source", "ntis"), ("state", "ok")): 1, (("source", "bizinfo"), ("state", "failing")): 1,
                      (("source", "new"), ("state", "never polled")): 1}
