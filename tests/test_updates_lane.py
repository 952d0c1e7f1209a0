"""#25 point 3: a message update (chat.update after a deadline change) that Slack refuses, or rate
limits, never holds up the channel's alerts: it is dropped after a permanent error or a few tries,
and `once` does not wait for it (real `watcher once` processes, a local feed and a local Slack)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from tests.e2e import KST, Watcher, fill

RULES = 'defaults:\n  channel: "#gongmo"\nrules:\n  - name: ai\n    any: [바우처]\n'


def feed(items: list[tuple[str, datetime]]) -> str:
    body = "".join(f"<item><title>{title}</title><link>{{base}}/view?id={i}</link>"
                   f"<description>접수기간: {{dot_m1}} ~ {due:%Y.%m.%d}</description>"
                   "<pubDate>{rfc_m1}</pubDate></item>"
                   for i, (title, due) in enumerate(items))
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'


@pytest.fixture()
def setup(tmp_path, feeds, slack):
    slack.min_interval = 0
    now = datetime.now(KST)
    first = ("AI 바우처 지원사업 공고", now + timedelta(days=10))
    feeds.set("/f.xml", fill(feed([first]), feeds.base))
    w = Watcher(tmp_path, {"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url})
    w.write("sources.yaml", f"sources:\n  - id: board\n    url: {feeds.url('/f.xml')}\n    timeout: 5s\n")
    w.write("rules.yaml", RULES)
    once(w)
    assert len(slack.messages) == 1

    def publish(*more: str, moved: int = 20) -> None:
        items = [(first[0], now + timedelta(days=moved))] + [(title, now + timedelta(days=30)) for title in more]
        feeds.set("/f.xml", fill(feed(items), feeds.base))

    return w, slack, publish


def once(w: Watcher) -> tuple[str, float]:
    started = time.monotonic()
    done = w("once", timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout, time.monotonic() - started


def texts(slack) -> list[str]:
    return [m["text"] for m in slack.messages]


@pytest.mark.parametrize("error", ["message_not_found", "cant_update_message", "channel_not_found"])
def test_a_refused_update_is_dropped_and_never_holds_the_channel(setup, error):
    w, slack, publish = setup
    slack.update_error = error
    publish("두 번째 바우처 공고")  # the deadline moves (a reply and an update) and a new item arrives
    out, _ = once(w)
    assert "1 message updates dropped" in out, out
    assert slack.update_calls == 1
    assert any("두 번째 바우처 공고" in t for t in texts(slack))
    assert any(t.startswith("변경: 마감") for t in texts(slack))  # the thread reply went
    publish("두 번째 바우처 공고", "세 번째 바우처 공고")
    out, took = once(w)
    assert any("세 번째 바우처 공고" in t for t in texts(slack)), out
    assert took < 15 and slack.update_calls == 1, (took, slack.update_calls)  # not tried again, nothing waited


def test_rate_limited_updates_are_bounded_and_go_after_the_alerts(setup):
    w, slack, publish = setup
    slack.update_retry_after = 1
    publish("두 번째 바우처 공고")
    out, took = once(w)
    assert slack.update_calls <= 3 and took < 15, (slack.update_calls, took, out)
    assert "1 message updates dropped" in out or "pending" in out
    new = next(m for m in slack.messages if "두 번째 바우처 공고" in m["text"])
    first_429 = min(r["time"] for r in slack.rejected if r["status"] == 429)
    assert new["time"] < first_429  # the alert went first
    for _ in range(3):
        once(w)
    assert slack.update_calls <= 3
