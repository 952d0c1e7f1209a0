"""End to end, the installed `watcher` against local feed and Slack servers: one call on three portals,
a reminder at D-1 with the watcher's clock moved by libfaketime, a deadline moved at the source.
Every message Slack receives is validated with slack_sdk's block models."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta

import pytest
from slack_sdk.models.blocks import Block

from tests.e2e import KST, Watcher, fill
from tests.feed_server import FeedServer
from tests.slack_server import SlackServer

TITLES = {"ntis": "2026년 AI 바우처 지원사업 시행 공고", "bizinfo": "[경기] 2026년 AI 바우처 지원사업 시행 공고",
          "kstartup": "2026년 AI 바우처 지원사업 시행"}
NAMES = {"ntis": "NTIS", "bizinfo": "기업마당", "kstartup": "K-Startup"}
RULES = """\
defaults:
  channel: "#gongmo"
  remind: [1d]
rules:
  - name: ai
    any: [AI 바우처]
"""


def feed(source: str, deadline: datetime) -> str:
    item = (f"<item><title>{TITLES[source]}</title><link>{{base}}/{source}/view?id=7</link>"
            f"<description>접수기간: {{dot_m1}} ~ {deadline.strftime('%Y.%m.%d')}</description>"
            "<pubDate>{rfc_m1}</pubDate></item>")
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
            f"<link>{{base}}/</link><description>e2e</description>{item}</channel></rss>")


@pytest.fixture()
def setup(tmp_path):
    with FeedServer() as feeds, SlackServer() as slack:
        slack.min_interval = 0
        deadline = datetime.now(KST) + timedelta(days=3)
        for source in TITLES:
            feeds.set(f"/{source}.xml", fill(feed(source, deadline), feeds.base))
        w = Watcher(tmp_path, {"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url})
        w.write("sources.yaml", "defaults:\n  interval: 10m\n  timeout: 2s\nsources:\n" + "".join(
            f"  - id: {s}\n    name: {NAMES[s]}\n    url: {feeds.base}/{s}.xml\n" for s in TITLES))
        w.write("rules.yaml", RULES)
        yield w, feeds, slack, deadline


def valid(message: dict) -> dict:
    assert message["text"] and len(message["text"]) < 4000
    for block in message["blocks"] or []:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()
    return message


def once(w: Watcher, *prefix: str) -> None:
    done = w("once") if not prefix else w.run_with(prefix, "once")
    assert done.returncode == 0, done.stderr


def test_a_call_on_three_portals_gives_one_message_and_a_thread_note(setup) -> None:
    w, _, slack, deadline = setup
    once(w)
    [original] = [valid(m) for m in slack.messages if not m["thread_ts"]]
    assert "D-3" in original["text"]
    [note] = [valid(m) for m in slack.messages if m["thread_ts"] == original["ts"]]
    others = [NAMES[s] for s in TITLES if f"/{s}/view" not in original["text"]]
    assert len(others) == 2 and all(f"|{name}>" in note["blocks"][0]["text"]["text"] for name in others)
    assert note["text"].startswith("다른 곳에도 게시: ")
    once(w)
    assert len(slack.messages) == 2


@pytest.mark.skipif(shutil.which("faketime") is None,
                    reason="faketime not installed (Debian package faketime; `make test` installs it as root)")
def test_reminder_at_d1_in_the_thread_with_the_clock_moved_then_nothing(setup) -> None:
    w, _, slack, _ = setup
    once(w)
    [original] = [m for m in slack.messages if not m["thread_ts"]]
    before = len(slack.messages)
    once(w, "faketime", "-f", "+2d")  # now D-1
    [reminder] = slack.messages[before:]
    valid(reminder)
    assert reminder["thread_ts"] == original["ts"]
    assert reminder["text"].startswith("마감 1일 전: ") and "(D-1)" in reminder["text"]
    once(w, "faketime", "-f", "+2d")
    assert len(slack.messages) == before + 1  # a second cycle sends nothing


def test_a_deadline_moved_at_the_source_gives_one_reply_and_one_update(setup) -> None:
    w, feeds, slack, deadline = setup
    once(w)
    [original] = [m for m in slack.messages if not m["thread_ts"]]
    root = next(s for s in TITLES if f"/{s}/view" in original["text"])
    later = deadline + timedelta(days=14)
    feeds.set(f"/{root}.xml", fill(feed(root, later), feeds.base))
    before = len(slack.messages)
    once(w)
    [reply] = slack.messages[before:]
    valid(reply)
    assert reply["thread_ts"] == original["ts"]
    assert reply["text"] == f"변경: 마감 {deadline:%m-%d} → {later:%m-%d} (D-17)"
    [update] = slack.updates
    assert update["ts"] == original["ts"] and f"{later:%Y-%m-%d} (D-17)" in str(update["blocks"])
    valid(update)
    once(w)
    assert len(slack.messages) == before + 1 and len(slack.updates) == 1
