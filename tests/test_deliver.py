"""Delivery through the outbox: a real Store on a SQLite file and the local Slack server.

Time: `now` is passed in and moved forward by the tests (backoff, Retry-After); pacing runs on the
real monotonic clock because the server enforces it in real time.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.slack_server import SlackServer
from watcher.deliver.loop import DeliveryReport, deliver
from watcher.deliver.senders import ConsoleSender, SlackSender, WebhookSender, make_sender
from watcher.errors import ConfigError
from watcher.models import Announcement, Hit, Source
from watcher.notify.messages import KST
from watcher.store import Store

NOW = datetime(2026, 8, 21, 10, 0, tzinfo=KST)
SOURCE = Source(id="ntis", url="https://www.ntis.go.kr/rss", name="NTIS 국가R&D 사업공고")
MAX_AGE = 14 * 86_400.0


@pytest.fixture()
def slack() -> Iterator[SlackServer]:
    with SlackServer() as server:
        yield server


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "db" / "watcher.db")


def queue(store: Store, channel: str, n: int, start: int = 0, **fields: Any) -> list[str]:
    """Queue n announcements for `channel`; their links."""
    items = []
    for i in range(start, start + n):
        link = fields.get("link") or f"https://www.ntis.go.kr/view?id={i}"
        ann = Announcement(
            source=SOURCE.id,
            id=str(i),
            title=fields.get("title") or f"공고 {i} 의료기기 실증 지원",
            link=link,
            summary="",
            published=NOW.isoformat(),
            deadline="2026-08-28",
            agency=fields.get("agency", "산업통상자원부"),
            canonical=link,
        )
        hit = Hit(rule=fields.get("rule", "devices"), channel=channel, keywords=("의료기기",))
        items.append((ann, [hit]))
    store.ingest(SOURCE, items, NOW, MAX_AGE)
    return [a.link for a, _ in items if a.link]


def alerts(store: Store) -> list[dict[str, Any]]:
    """The outbox as another process (a restart after a crash) would read it: a second connection."""
    with sqlite3.connect(store.path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("select * from alerts order by id")]


def bot(slack: SlackServer, **env: str) -> SlackSender:
    sender = make_sender({"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url, **env}, timeout=2)
    assert isinstance(sender, SlackSender)
    return sender


def posted_links(slack: SlackServer) -> list[str]:
    return [link for m in slack.messages for link in re.findall(r"<(https?://[^|>]+)\|", blocks_text(m))]


def blocks_text(message: dict[str, Any]) -> str:
    return "\n".join(mrkdwn(message["blocks"]))


def mrkdwn(node: Any) -> list[str]:
    """Every mrkdwn text of a block tree."""
    if isinstance(node, list):
        return [t for item in node for t in mrkdwn(item)]
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "mrkdwn" else []
        return own + [t for value in node.values() if isinstance(value, list | dict) for t in mrkdwn(value)]
    return []


def drain(store: Store, sender: Any, start: datetime, step: timedelta, rounds: int) -> list[DeliveryReport]:
    """deliver() once per step (a watcher cycle), until the outbox is empty or `rounds` ran."""
    reports = []
    for i in range(rounds):
        reports.append(deliver(store, sender, start + i * step, 5))
        if reports[-1].pending == 0:
            break
    return reports


# -- the acceptance scenarios ---------------------------------------------------------------------


def test_outage_then_recovery_delivers_every_alert_exactly_once(store: Store, slack: SlackServer) -> None:
    links = queue(store, "#devices", 2) + queue(store, "#health", 2, start=10)
    slack.fail_next(7, status=500)  # several minutes of failures with 30 s * 2^n backoff
    reports = drain(store, bot(slack), NOW, timedelta(seconds=30), rounds=40)

    assert sorted(posted_links(slack)) == sorted(links)  # each exactly once
    assert all(a["status"] == "sent" and a["slack_ts"] for a in alerts(store))
    failures = [e for r in reports for e in r.errors]
    assert len(failures) == 7 and all("http 500" in e for e in failures)
    assert len(reports) * 30 >= 180  # minutes of failures: backoff was honoured
    assert slack.requests == 7 + 4  # while failing, one probe per channel and backoff period
    assert reports[-1].pending == 0
    assert sorted(a["slack_ts"] for a in alerts(store)) == sorted(m["ts"] for m in slack.messages)


def test_backoff_grows_and_is_recorded(store: Store, slack: SlackServer) -> None:
    queue(store, "#devices", 1)
    slack.fail_next(3, status=503)
    sender = bot(slack)
    waits = []
    now = NOW
    for _ in range(3):
        report = deliver(store, sender, now, 5)
        assert report.failed == 1
        [row] = alerts(store)
        retry_at = datetime.fromisoformat(row["next_attempt_at"])
        waits.append(round((retry_at - now).total_seconds()))
        assert deliver(store, sender, retry_at - timedelta(seconds=1), 5).failed == 0  # not due: no request
        now = retry_at
    # 30 s * 2^attempts, rounded up to the whole second the store keeps
    assert [w - e for w, e in zip(waits, [30, 60, 120], strict=True)] in ([0] * 3, [1] * 3)
    assert slack.requests == 3
    assert deliver(store, sender, now, 5).sent == 1


def test_429_retry_after_is_honoured_and_other_channels_go_on(store: Store, slack: SlackServer) -> None:
    queue(store, "#devices", 2)
    queue(store, "#health", 1, start=10)
    slack.rate_limit_next(1, retry_after=1, channel="#devices")
    sender = bot(slack)

    first = deliver(store, sender, NOW, 5)
    assert [m["channel"] for m in slack.messages] == ["#health"]
    assert first.sent == 1 and first.failed == 1 and first.pending == 2
    assert first.errors == ["#devices: slack: ratelimited (retry after 1s)"]
    limited = [a for a in alerts(store) if a["last_error"]]
    assert len(limited) == 1
    assert datetime.fromisoformat(limited[0]["next_attempt_at"]) - NOW <= timedelta(seconds=2)

    requests = slack.requests
    # still inside Retry-After: the channel gets nothing, not even its other (due) alert
    assert deliver(store, sender, NOW + timedelta(milliseconds=500), 5).sent == 0
    assert slack.requests == requests

    later = deliver(store, sender, NOW + timedelta(seconds=2), 5)
    assert later.sent == 2 and later.pending == 0
    assert len(slack.messages_for("#devices")) == 2
    assert not [r for r in slack.rejected if r["error"] == "ratelimited" and r["status"] == 429][1:]


def test_twelve_matches_for_one_channel_arrive_as_one_digest(store: Store, slack: SlackServer) -> None:
    links = queue(store, "#devices", 12)
    queue(store, "#health", 2, start=100)
    report = deliver(store, bot(slack), NOW, digest_over=5)

    [digest] = slack.messages_for("#devices")
    assert "새 공고 12건" in digest["text"]
    assert sorted(re.findall(r"<(https?://[^|>]+)\|", blocks_text(digest))) == sorted(links)
    assert len(slack.messages_for("#health")) == 2  # under digest_over: one message each
    assert report.sent == 14 and report.messages == 3 and report.pending == 0


def test_hostile_feed_text_is_escaped_in_text_and_every_block(store: Store, slack: SlackServer) -> None:
    hostile = "<!channel> 긴급 <@U123> <http://evil.example|로그인> & <!subteam^S1>"
    queue(store, "#devices", 1, title=hostile, agency="<!here>", link="https://a.kr/x|<!everyone>")
    queue(store, "#health", 6, start=10, title=hostile, agency="<!here>")  # digest too
    deliver(store, bot(slack), NOW, 5)

    assert len(slack.messages) == 2
    for message in slack.messages:
        texts = [message["text"], *mrkdwn(message["blocks"])]
        assert len(texts) >= 2
        for text in texts:
            assert not re.search(r"<[!@#]|<http://evil", text), text
        assert "&lt;!channel&gt; 긴급 &lt;@U123&gt; &lt;http://evil.example|로그인&gt; &amp;" in message["text"]
        blocks = "\n".join(texts[1:])
        assert "&lt;!channel&gt; 긴급" in blocks
    assert "*기관*\n&lt;!here&gt;" in blocks_text(slack.messages_for("#devices")[0])


def test_permanent_error_is_reported_once_and_alert_kept_pending(
    store: Store,
    slack: SlackServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue(store, "#gone", 2)
    queue(store, "#health", 1, start=10)
    slack.channel_errors["#gone"] = "channel_not_found"
    sender = bot(slack)
    caplog.set_level(logging.INFO, logger="watcher.deliver")

    first = deliver(store, sender, NOW, 5)
    assert first.sent == 1 and first.failed == 1
    assert first.errors == ["#gone: slack: channel_not_found"]
    assert len([r for r in slack.rejected if r["channel"] == "#gone"]) == 1  # stopped the channel
    gone = [a for a in alerts(store) if a["channel"] == "#gone"]
    assert all(a["status"] == "pending" for a in gone)
    assert [a["last_error"] for a in gone].count("slack: channel_not_found") == 1

    for minutes in (1, 10, 30):  # the next cycles leave the broken channel alone
        assert deliver(store, sender, NOW + timedelta(minutes=minutes), 5).failed == 0
    assert len([r for r in slack.rejected if r["channel"] == "#gone"]) == 1

    again = deliver(store, sender, NOW + timedelta(hours=1, minutes=1), 5)  # hourly retry, still broken
    assert again.failed == 1
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1 and "channel_not_found" in errors[0].getMessage()

    del slack.channel_errors["#gone"]  # the bot was invited
    fixed = deliver(store, sender, NOW + timedelta(hours=2, minutes=2), 5)
    assert fixed.sent == 2 and fixed.pending == 0


def test_bad_token_stops_the_round_after_one_request(store: Store, slack: SlackServer) -> None:
    queue(store, "#devices", 1)
    queue(store, "#health", 1, start=10)
    sender = bot(slack, SLACK_BOT_TOKEN="xoxb-wrong")
    report = deliver(store, sender, NOW, 5)
    assert report.failed == 1 and report.errors == ["#devices: slack: invalid_auth"]
    assert slack.requests == 1 and not slack.messages
    assert all(a["status"] == "pending" for a in alerts(store))


def test_blocks_slack_refuses_go_again_as_plain_text(store: Store, slack: SlackServer) -> None:
    [link] = queue(store, "#devices", 1)
    slack.blocks_error = "invalid_blocks"
    report = deliver(store, bot(slack), NOW, 5)
    assert report.sent == 1 and report.failed == 0
    [message] = slack.messages
    assert message["blocks"] is None and link in message["text"]


def test_network_errors_are_retried(store: Store, slack: SlackServer) -> None:
    queue(store, "#devices", 1)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/api/"
    report = deliver(store, bot(slack, SLACK_API_URL=dead), NOW, 5)
    assert report.failed == 1 and report.errors[0].startswith("#devices: slack: network:")

    slack.delay = 1.5  # answers after our timeout: retried later (at least once, maybe twice)
    sender = make_sender({"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url}, timeout=0.5)
    report = deliver(store, sender, NOW + timedelta(minutes=1), 5)
    assert report.failed == 1 and "network" in report.errors[0]
    slack.delay = 0
    assert deliver(store, sender, NOW + timedelta(minutes=3), 5).sent == 1


def test_pacing_one_message_per_second_per_channel_interleaved(store: Store, slack: SlackServer) -> None:
    queue(store, "#devices", 3)
    queue(store, "#health", 3, start=10)
    report = deliver(store, bot(slack), NOW, digest_over=5)

    assert report.sent == 6 and not slack.rejected  # the server would have said 429
    order = [m["channel"] for m in slack.messages]
    assert order == ["#devices", "#health"] * 3  # interleaved, not one channel after the other
    span = slack.messages[-1]["time"] - slack.messages[0]["time"]
    assert 2.0 <= span < 4.5  # two channels side by side: ~2 s, not the ~5 s of one after the other


def test_each_accepted_message_is_marked_sent_before_the_next_send(store: Store, slack: SlackServer) -> None:
    queue(store, "#devices", 2)
    queue(store, "#health", 1, start=10)
    real = bot(slack)
    slack.min_interval = 0

    class Checking:
        interval = 0.0
        lane = staticmethod(real.lane)

        def send(self, channel: str, payload: dict[str, Any]) -> str | None:
            # a SIGKILL right now would repeat only this message: the outbox knows the others
            assert sum(a["status"] == "sent" for a in alerts(store)) == len(slack.messages)
            return real.send(channel, payload)

    assert deliver(store, Checking(), NOW, 5).sent == 3


def test_stop_event_finishes_the_send_in_hand_then_returns(store: Store, slack: SlackServer) -> None:
    queue(store, "#devices", 3)
    real = bot(slack)
    stop = threading.Event()

    class Stopping:
        interval = real.interval
        lane = staticmethod(real.lane)

        def send(self, channel: str, payload: dict[str, Any]) -> str | None:
            stop.set()  # SIGTERM arrives while this message is in flight
            return real.send(channel, payload)

    report = deliver(store, Stopping(), NOW, 5, stop=stop)
    assert report.sent == 1 and report.pending == 2 and len(slack.messages) == 1


# -- webhook and console ------------------------------------------------------------------------


def webhook(slack: SlackServer) -> WebhookSender:
    sender = make_sender({"SLACK_WEBHOOK_URL": slack.webhook_url}, timeout=2)
    assert isinstance(sender, WebhookSender)
    return sender


def test_webhook_429_and_500_are_retried_and_each_alert_lands_once(store: Store, slack: SlackServer) -> None:
    links = queue(store, "#devices", 1) + queue(store, "#health", 1, start=10)
    slack.rate_limit_next(1, retry_after=1)
    sender = webhook(slack)

    first = deliver(store, sender, NOW, 5)
    assert first.failed == 1 and first.sent == 0  # one lane: the webhook
    assert first.errors == ["#devices: slack: ratelimited (retry after 1s)"]
    assert deliver(store, sender, NOW + timedelta(milliseconds=500), 5).failed == 0  # held

    slack.fail_next(1, status=500)
    assert deliver(store, sender, NOW + timedelta(seconds=2), 5).errors[0].endswith("http 500: internal_error")
    done = drain(store, sender, NOW + timedelta(seconds=40), timedelta(seconds=30), rounds=5)
    assert done[-1].pending == 0
    assert sorted(posted_links(slack)) == sorted(links)
    assert {m["channel"] for m in slack.messages} == {"#webhook"} and not slack.rejected[2:]


def test_webhook_sends_an_announcement_once_whatever_the_number_of_channels(store: Store, slack: SlackServer) -> None:
    queue(store, "#devices", 1)
    queue(store, "#health", 1, rule="health")  # the same announcement, for another channel
    assert len(alerts(store)) == 2
    report = deliver(store, webhook(slack), NOW, 5)
    assert report.sent == 2 and report.messages == 1
    [message] = slack.messages
    assert "*devices*" in blocks_text(message) and "*health*" in blocks_text(message)


def test_webhook_digest_and_permanent_error(store: Store, slack: SlackServer) -> None:
    queue(store, "#devices", 4)
    queue(store, "#health", 4, start=10)
    slack.channel_errors["#webhook"] = "channel_is_archived"
    sender = webhook(slack)
    report = deliver(store, sender, NOW, 5)
    assert report.errors == ["#devices: slack: channel_is_archived"] and slack.requests == 1
    del slack.channel_errors["#webhook"]
    report = deliver(store, sender, NOW + timedelta(hours=1, seconds=1), 5)
    assert report.sent == 8 and report.messages == 1  # 8 > digest_over behind one webhook
    assert "새 공고 8건" in slack.messages[0]["text"]


def test_console_prints_and_marks_sent(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    queue(store, "#devices", 1, title="<b>의료기기</b> & 공모")
    store.enqueue_ops("#ops", "ops:down:ntis:x", "source 'NTIS' (ntis) has failed: fetch: timeout", NOW)
    sender = make_sender({})
    assert isinstance(sender, ConsoleSender)
    report = deliver(store, sender, NOW, 5)
    out = capsys.readouterr().out
    assert report.sent == 2 and report.pending == 0
    assert "── #devices ──" in out and "<b>의료기기</b> & 공모 <https://www.ntis.go.kr/view?id=0>" in out
    assert "출처: NTIS 국가R&D 사업공고" in out and "마감: 2026-08-28 (D-7)" in out
    assert "── #ops ──" in out and "fetch: timeout" in out
    assert all(a["status"] == "sent" for a in alerts(store))


def test_make_sender_picks_the_transport() -> None:
    assert isinstance(make_sender({"SLACK_BOT_TOKEN": "x", "SLACK_WEBHOOK_URL": "https://h"}), SlackSender)
    assert isinstance(make_sender({"SLACK_WEBHOOK_URL": "https://hooks.slack.com/x"}), WebhookSender)
    assert isinstance(make_sender({"SLACK_BOT_TOKEN": " "}), ConsoleSender)
    client = make_sender({"SLACK_BOT_TOKEN": "x"}).client  # type: ignore[attr-defined]
    assert client.base_url == "https://slack.com/api/" and client.retry_handlers == []
    with pytest.raises(ConfigError):
        make_sender({"SLACK_WEBHOOK_URL": "ftp://x"})
    with pytest.raises(ConfigError):
        make_sender({"SLACK_BOT_TOKEN": "x", "SLACK_API_URL": "file:///etc/passwd"})


def test_form_bodies_are_read_like_slack(slack: SlackServer) -> None:
    import urllib.request

    data = f"token={slack.token}&channel=%23x&text=hi&blocks={json.dumps([])}".encode()
    with urllib.request.urlopen(urllib.request.Request(slack.url + "chat.postMessage", data=data)) as r:
        assert json.load(r)["ok"] is True
    assert slack.messages[0]["channel"] == "#x" and slack.messages[0]["text"] == "hi"
