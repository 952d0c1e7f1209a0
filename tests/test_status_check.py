"""`watcher status --check`: exit 0 when healthy, 1 with one line per reason; heartbeats of once/run."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner

from tests.feed_server import FeedServer
from watcher.cli import cli
from watcher.config.load import load_config
from watcher.deliver.senders import ConsoleSender
from watcher.health import poll_health
from watcher.models import Announcement
from watcher.pipeline.cycle import run_once
from watcher.pipeline.loop import Runner
from watcher.store import KST, Store

SOURCES = """\
defaults:
  alert_after: 24h
sources:
  - id: fast
    url: {base}/fast.xml
    interval: 10m
  - id: slow
    url: {base}/slow.xml
    interval: 30m
    stale_after: 2d
  - id: off
    url: {base}/off.xml
    enabled: false
"""
RULES = """\
defaults:
  channel: "#gongmo"
rules:
  - name: health
    any: [디지털헬스케어]
"""
RSS = ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
       "<item><title>공지</title><link>http://example.org/1</link></item></channel></rss>")


@pytest.fixture()
def setup(tmp_path):
    (tmp_path / "sources.yaml").write_text(SOURCES.format(base="http://127.0.0.1:9"), encoding="utf-8")
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    config = load_config(tmp_path / "sources.yaml", tmp_path / "rules.yaml")
    return tmp_path, config


def check(folder):
    args = ["--sources", str(folder / "sources.yaml"), "--rules", str(folder / "rules.yaml"),
            "--db", str(folder / "db" / "watcher.db"), "status", "--check"]
    return CliRunner().invoke(cli, args)


def healthy_store(folder, config, now):
    """Every source polled fine just now, a run heartbeat a minute ago."""
    store = Store(folder / "db" / "watcher.db")
    for source in config.sources[:2]:
        store.record_success(source, now - timedelta(minutes=1), None, None, None)
    store.record_heartbeat("run", now - timedelta(minutes=1), 2)
    return store


def now():
    return datetime.now(KST)


def test_healthy_database_exits_0(setup):
    folder, config = setup
    healthy_store(folder, config, now())
    result = check(folder)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("healthy: 2 sources enabled, last poll round")


def test_source_failing_past_alert_after_is_unhealthy_with_its_error(setup):
    folder, config = setup
    store = healthy_store(folder, config, now())
    fast = config.source("fast")
    store.record_failure(fast, now() - timedelta(hours=25), "fetch: timeout after 20s", None)
    store.record_failure(fast, now() - timedelta(minutes=1), "fetch: timeout after 20s", None)
    result = check(folder)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("source fast: failing since ")
    assert "alert_after 1d" in lines[0] and lines[0].endswith("fetch: timeout after 20s")


def test_source_failing_within_alert_after_is_still_healthy(setup):
    folder, config = setup
    store = healthy_store(folder, config, now())
    store.record_failure(config.source("fast"), now() - timedelta(hours=23), "fetch: http 503", None)
    assert check(folder).exit_code == 0


def test_disabled_source_failing_does_not_count(setup):
    folder, config = setup
    store = healthy_store(folder, config, now())
    store.record_failure(config.source("off"), now() - timedelta(days=3), "fetch: http 404", None)
    assert check(folder).exit_code == 0


def test_degraded_source_is_unhealthy_with_the_empty_field(setup):
    folder, config = setup
    t = now()
    store = healthy_store(folder, config, t)
    fast = config.source("fast")
    linkless = [Announcement("fast", str(i), f"공고 {i}", None) for i in range(3)]
    with store.transaction():
        store.record_health(fast, t, poll_health(fast, linkless, t), 3)
    result = check(folder)
    assert result.exit_code == 1
    assert result.output.splitlines() == ["source fast: degraded: link (link) matched nothing in 3 items"]


def test_stale_source_is_unhealthy(setup):
    folder, config = setup
    t = now()
    store = Store(folder / "db" / "watcher.db")
    slow = config.source("slow")  # stale_after: 2d
    ok = [Announcement("slow", "1", "공고", "https://example.org/1")]
    for when, new in ((t - timedelta(days=3), 1), (t - timedelta(minutes=1), 0)):
        with store.transaction():
            store.record_success(slow, when, None, None, None)
            store.record_health(slow, when, poll_health(slow, ok, when), new)
    store.record_success(config.source("fast"), t - timedelta(minutes=1), None, None, None)
    store.record_heartbeat("run", t - timedelta(minutes=1), 2)
    result = check(folder)
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert line.startswith("source slow: stale: no new item since ") and line.endswith("(stale_after 2d)")


def test_alert_pending_over_an_hour_is_unhealthy_per_channel(setup):
    folder, config = setup
    t = now()
    store = healthy_store(folder, config, t)
    store.enqueue_ops("#ops", "k1", "text", t - timedelta(minutes=61))
    alert_id = store.pending_alerts(t)[0]["id"]
    store.mark_retry(alert_id, t, "slack: not_in_channel", t + timedelta(hours=1))
    store.enqueue_ops("#ops", "k2", "text", t - timedelta(minutes=10))  # young: not a reason
    result = check(folder)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"slack #ops: 1 alert(s) pending since {t - timedelta(minutes=61):%Y-%m-%d %H:%M} KST: slack: not_in_channel"
    ]


def test_alert_scheduled_for_later_is_not_pending_too_long(setup):
    """A message queued ahead of its time (never tried, first attempt in the future) is not late."""
    folder, config = setup
    t = now()
    store = healthy_store(folder, config, t)
    store.enqueue_ops("#ops", "k1", "text", t - timedelta(hours=5))
    store.db.execute("UPDATE alerts SET next_attempt_at = ?", ((t + timedelta(hours=1)).isoformat(),))
    assert check(folder).exit_code == 0


def test_alert_pending_under_an_hour_is_healthy(setup):
    folder, config = setup
    store = healthy_store(folder, config, now())
    store.enqueue_ops("#ops", "k2", "text", now() - timedelta(minutes=50))
    assert check(folder).exit_code == 0


def test_heartbeat_older_than_twice_the_shortest_interval_is_unhealthy(setup):
    folder, config = setup
    store = healthy_store(folder, config, now())
    store.record_heartbeat("run", now() - timedelta(minutes=21), 2)  # shortest interval 10m -> limit 20m
    result = check(folder)
    assert result.exit_code == 1
    assert "no poll round completed since" in result.output
    assert "(run), longer than twice the shortest interval (20m)" in result.output


def test_heartbeat_within_twice_the_shortest_interval_is_healthy(setup):
    folder, config = setup
    store = healthy_store(folder, config, now())
    store.record_heartbeat("run", now() - timedelta(minutes=19), 2)
    assert check(folder).exit_code == 0


def test_no_heartbeat_ever_is_unhealthy(setup):
    folder, config = setup
    store = healthy_store(folder, config, now())
    store.db.execute("DELETE FROM heartbeat")
    result = check(folder)
    assert result.exit_code == 1
    assert result.output.startswith("no poll round recorded yet")


def test_every_reason_on_its_own_line(setup):
    folder, config = setup
    store = healthy_store(folder, config, now())
    store.record_failure(config.source("slow"), now() - timedelta(days=2), "parse: not a feed", None)
    store.enqueue_ops("#ops", "k1", "text", now() - timedelta(hours=3))
    store.record_heartbeat("run", now() - timedelta(hours=1), 2)
    result = check(folder)
    assert result.exit_code == 1
    starts = [line.split(" since ")[0] for line in result.output.splitlines()]
    assert starts == ["source slow: failing", "slack #ops: 1 alert(s) pending", "no poll round completed"]


def test_missing_database_is_unhealthy_and_not_created(setup):
    folder, _ = setup
    result = check(folder)
    assert result.exit_code == 1
    assert "does not exist" in result.output
    assert not (folder / "db").exists()


def test_check_leaves_the_database_file_unchanged(setup):
    folder, config = setup
    healthy_store(folder, config, now()).close()
    db = folder / "db" / "watcher.db"
    before = db.read_bytes()
    assert check(folder).exit_code == 0
    assert db.read_bytes() == before


def test_database_without_heartbeat_table_reads_as_no_round(setup):
    """A database of an older version (before migration 0010) is read, not migrated."""
    folder, config = setup
    store = healthy_store(folder, config, now())
    store.db.execute("DROP TABLE heartbeat")
    result = check(folder)
    assert result.exit_code == 1 and "no poll round recorded yet" in result.output


# ---------------------------------------------------------------- heartbeats written by once / run

@pytest.fixture()
def feeds():
    with FeedServer() as server:
        for name in ("fast", "slow", "off"):
            server.set(f"/{name}.xml", RSS)
        yield server


def live_config(tmp_path, feeds):
    (tmp_path / "sources.yaml").write_text(SOURCES.format(base=feeds.base), encoding="utf-8")
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    return load_config(tmp_path / "sources.yaml", tmp_path / "rules.yaml")


def test_once_records_a_heartbeat_for_a_full_round_only(tmp_path, feeds):
    config = live_config(tmp_path, feeds)
    store = Store(tmp_path / "w.db")
    run_once(config, store, ConsoleSender(), only=["fast"])
    assert store.last_heartbeat() is None
    before = now().replace(microsecond=0)
    run_once(config, store, ConsoleSender())
    beat = store.last_heartbeat()
    assert beat["kind"] == "once" and beat["sources"] == 2
    assert datetime.fromisoformat(beat["at"]) >= before


def test_run_records_a_heartbeat_once_its_first_polls_finished(tmp_path, feeds):
    config = live_config(tmp_path, feeds)
    path = tmp_path / "w.db"
    Store(path).close()
    stop = threading.Event()

    def run() -> None:  # the runner and its store live in their own thread
        runner = Runner(config, Store(path), ConsoleSender(), tick=0.05)
        runner.stop = stop
        runner.run_forever()

    thread = threading.Thread(target=run)
    thread.start()
    reader = Store(path)
    try:
        for _ in range(200):
            if reader.last_heartbeat() is not None:
                break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(10)
    beat = reader.last_heartbeat()
    assert beat is not None and beat["kind"] == "run" and beat["sources"] == 2
    assert {r["id"] for r in reader.status()} == {"fast", "slow"}  # it came after both first polls were stored
    assert sorted(reader.metric_rows(now())["polls"]) == [("fast", 1, 0), ("slow", 1, 0)]
