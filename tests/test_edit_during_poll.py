"""#25 point 1: a rules edit while a slow poll of `watcher run` is in flight. The poll's items are
stored with the verdict of the rules in force when they are stored: a widening edit alerts the new
item, a narrowing edit alerts nothing (a real `watcher run`, a slow local feed, a local Slack)."""

from __future__ import annotations

import signal
import time
from datetime import datetime, timedelta
from email.utils import format_datetime

import pytest

from tests.e2e import KST, Watcher

NARROW = 'defaults:\n  channel: "#g"\nrules:\n  - name: r\n    any: [존재하지않는키워드]\n'
WIDE = 'defaults:\n  channel: "#g"\nrules:\n  - name: r\n    any: [바우처]\n'


def rss() -> str:
    when = format_datetime(datetime.now(KST) - timedelta(hours=2))
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
            f"<item><title>AI 바우처 지원사업 공고</title><link>http://example.org/1</link><pubDate>{when}</pubDate>"
            "</item></channel></rss>")


@pytest.mark.parametrize("before,after,alerts", [(NARROW, WIDE, 1), (WIDE, NARROW, 0)], ids=["widening", "narrowing"])
def test_a_rules_edit_during_a_slow_poll_of_run_judges_the_polled_items_by_the_new_rules(
        tmp_path, feeds, slack, before, after, alerts):
    slack.min_interval = 0
    feeds.set("/f.xml", rss(), delay=4)  # the first poll takes 4 s
    w = Watcher(tmp_path, {"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url})
    w.write("sources.yaml", f"sources:\n  - id: board\n    url: {feeds.url('/f.xml')}\n    timeout: 10s\n")
    w.write("rules.yaml", before)
    proc = w.popen("run")
    try:
        time.sleep(1.5)  # the poll is in flight
        assert not feeds.hits_for("/f.xml") or feeds.hits_for("/f.xml")[0].status == 200
        w.write("rules.yaml", after)  # reloaded within a round, while the poll waits for its answer
        end = time.monotonic() + 20
        while not feeds.hits_for("/f.xml") and time.monotonic() < end:
            time.sleep(0.1)
        time.sleep(4)  # the answer arrives, is stored, and any alert is delivered
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    assert "config reloaded" in err, err[-2000:]
    assert len(slack.messages) == alerts, [m["text"] for m in slack.messages]
    w.env["WATCHER_DB"] = str(tmp_path / "db" / "watcher.db")
    assert len(w.json("search", "바우처")) == 1
    matched = w.json("search", "바우처", "--rule", "r") if alerts else []
    assert len(matched) == alerts


def test_a_poll_stored_under_rules_another_process_replaced_is_matched_again(tmp_path):
    """`once` (old rules) stores a poll after `run` (new rules) put its rules in force: the rules in force
    are marked stale, and the next apply_rules matches every stored announcement again."""
    from watcher.fetch.poll import FetchResult
    from watcher.match.matcher import Matcher
    from watcher.models import Announcement, Config, Rule, RuleSet, Source
    from watcher.pipeline.cycle import Cycle, Polled
    from watcher.pipeline.verdicts import STALE
    from watcher.store import Store

    source = Source(id="board", url="http://127.0.0.1:9/f.xml")
    old = Config(sources=(source,), rules=RuleSet(rules=(Rule("r", any=("존재하지않는키워드",), channel="#g"),)))
    new = Config(sources=(source,), rules=RuleSet(rules=(Rule("r", any=("바우처",), channel="#g"),)))
    store = Store(tmp_path / "w.db")
    once, run = Cycle(old, store), Cycle(new, store)
    once.apply_rules()
    run.apply_rules()  # `run` reloaded: the new rules are in force
    ann = Announcement("board", "1", "AI 바우처 지원사업 공고", "http://example.org/1",
                       published=datetime.now(KST).isoformat(timespec="seconds"))
    polled = Polled(source, FetchResult("ok", source.url), [(ann, once.matcher.match(ann))], matcher=once.matcher)
    once.record(polled)  # judged by the old rules: no match
    assert store.meta_value("rules_fingerprint").startswith(STALE)
    assert store.conn.execute("SELECT count(*) FROM matches").fetchone()[0] == 0
    report = run.apply_rules()  # run's next round: everything matched again under the rules in force
    assert report is not None and report.alerts_queued == 1
    assert store.conn.execute("SELECT rule FROM matches").fetchall() == [("r",)]
    assert not store.meta_value("rules_fingerprint").startswith(STALE)
    assert isinstance(run.matcher, Matcher)
