"""`watcher run` and crashes: hot reload, SIGTERM, SIGKILL mid-delivery (real processes)."""

from __future__ import annotations

import signal
import time
from collections import Counter
from datetime import datetime, timedelta
from email.utils import format_datetime

from tests.e2e import KST, Watcher

RULES = """\
defaults:
  channel: "#gongmo"
  digest_over: {digest_over}
rules:
  - name: health
    any: [디지털헬스케어]
    channel: "#health"
{extra}"""

GANGSO = """\
  - name: gangso
    any: [강소특구]
    channel: "#teukgu"
"""


def rss(items: list[tuple[str, str]]) -> str:
    when = format_datetime(datetime.now(KST) - timedelta(hours=2))
    body = "".join(f"<item><title>{title}</title><link>http://example.org/{key}</link>"
                   f"<pubDate>{when}</pubDate></item>" for key, title in items)
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'


def wait_for(predicate, timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def make_watcher(tmp_path, feeds, slack, interval: str = "10m", digest_over: int = 5) -> Watcher:
    w = Watcher(tmp_path, {"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url})
    w.write("sources.yaml", f"sources:\n  - id: board\n    url: {feeds.url('/f.xml')}\n    interval: {interval}\n")
    w.write("rules.yaml", RULES.format(digest_over=digest_over, extra=""))
    return w


def titles(slack, channel: str) -> list[str]:
    return [m["text"] for m in slack.messages if m["channel"] == channel]


def test_run_applies_a_rules_edit_to_stored_items_and_rejects_a_broken_one(tmp_path, feeds, slack):
    feeds.set("/f.xml", rss([("1", "디지털헬스케어 실증 공모"), ("2", "강소특구 기업 모집")]))
    w = make_watcher(tmp_path, feeds, slack)
    proc = w.popen("run")
    try:
        assert wait_for(lambda: titles(slack, "#health")), "first cycle sent nothing"
        assert not titles(slack, "#teukgu")
        # an edit takes effect at once, on the stored item: the source is not fetched again for it
        w.write("rules.yaml", RULES.format(digest_over=5, extra=GANGSO))
        assert wait_for(lambda: titles(slack, "#teukgu")), "edited rules not applied"
        assert len(feeds.hits_for("/f.xml")) == 1
        # a broken edit is rejected; the process goes on with the last good rules
        w.write("rules.yaml", RULES.format(digest_over=5, extra=GANGSO) + "  - name: [broken\n")
        time.sleep(2)
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "config edit rejected" in err and "rules.yaml:" in err and "Traceback" not in err
    assert Counter(m["channel"] for m in slack.messages) == Counter({"#health": 1, "#teukgu": 1})


def test_sigterm_exits_0_promptly(tmp_path, feeds, slack):
    feeds.set("/f.xml", rss([("1", "디지털헬스케어 실증 공모")]))
    w = make_watcher(tmp_path, feeds, slack)
    proc = w.popen("run")
    assert wait_for(lambda: slack.messages)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=20)
    assert proc.returncode == 0 and time.monotonic() - started < 10


def test_sigkill_mid_delivery_repeats_at_most_the_message_in_flight(tmp_path, feeds, slack):
    items = [(str(i), f"디지털헬스케어 과제 {i:02d}") for i in range(8)]
    items += [(str(i + 100), f"강소특구 과제 {i:02d}") for i in range(8)]
    feeds.set("/f.xml", rss(items))
    w = make_watcher(tmp_path, feeds, slack, digest_over=50)
    w.write("rules.yaml", RULES.format(digest_over=50, extra=GANGSO))
    slack.delay = 0.4  # Slack answers slowly: kills land while a message is in flight
    proc = w.popen("once")
    assert wait_for(lambda: len(slack.messages) >= 5, timeout=60)
    proc.kill()
    proc.communicate(timeout=10)
    assert len(slack.messages) < 16, "the kill came too late to test anything"
    slack.delay = 0
    done = w("once")
    assert done.returncode == 0, done.stderr
    counts = Counter(m["text"] for m in slack.messages)
    expected = {title for _, title in items}
    assert {t for t in counts for e in expected if e in t} == set(counts)
    delivered = {e for e in expected if any(e in t for t in counts)}
    assert delivered == expected, expected - delivered
    assert sum(n - 1 for n in counts.values()) <= 1, counts
