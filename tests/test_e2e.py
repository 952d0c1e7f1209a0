"""End to end: the installed `watcher` against local feed and Slack servers on 127.0.0.1."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.e2e import Watcher, fill, fixture_text
from tests.feed_server import FeedServer

RULES = """\
defaults:
  channel: "#gongmo"
  max_age: 14d
  digest_over: 5
synonyms:
  - [강소특구, 강소연구개발특구]
  - [의료기기, medical device]
rules:
  - name: digital-health
    any: [디지털헬스케어, 비대면 진료]
    channel: "#health"
  - name: gangso
    any: [강소특구]
    channel: "#teukgu"
  - name: devices
    any: [의료기기]
    channel: "#devices"
  - name: devices-too
    any: [체외진단]
    channel: "#devices"
"""


def sources_yaml(base: str, extra: str = "") -> str:
    return f"""\
defaults:
  interval: 10m
  timeout: 2s
sources:
  - id: rss
    name: 보건 공지
    url: {base}/rss.xml
  - id: atom
    name: 식약처 공지
    url: {base}/atom.xml
  - id: euckr
    name: 특구 게시판
    url: {base}/euckr.xml
{extra}"""


@pytest.fixture()
def feeds():
    with FeedServer() as server:
        base = server.base
        server.set("/rss.xml", fill(fixture_text("rss.xml"), base))
        server.set("/atom.xml", fill(fixture_text("atom.xml"), base), content_type="application/atom+xml")
        server.set("/euckr.xml", fill(fixture_text("euckr.xml"), base).encode("cp949"),
                   content_type="application/rss+xml; charset=euc-kr")
        yield server


@pytest.fixture()
def watcher(tmp_path, feeds, slack):
    w = Watcher(tmp_path, {"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url})
    w.write("sources.yaml", sources_yaml(feeds.base))
    w.write("rules.yaml", RULES)
    return w


def by_channel(slack) -> Counter:
    return Counter(m["channel"] for m in slack.messages)


def test_alerts_reach_the_right_channels_exactly_once(watcher, slack):
    done = watcher("once")
    assert done.returncode == 0, done.stderr
    texts = {m["channel"]: [] for m in slack.messages}
    for m in slack.messages:
        texts[m["channel"]].append(m["text"])
    # the health call is carried by two sources (same canonical link): one message
    assert by_channel(slack) == Counter({"#health": 1, "#teukgu": 2, "#devices": 1})
    assert any("똠방각하" in t for t in texts["#teukgu"]), texts["#teukgu"]
    assert "혁신의료기기" in texts["#devices"][0]


def test_second_cycle_sends_nothing_and_uses_conditional_get(watcher, slack, feeds):
    assert watcher("once").returncode == 0
    first = len(slack.messages)
    done = watcher("once")
    assert done.returncode == 0, done.stderr
    assert len(slack.messages) == first
    for path in ("/rss.xml", "/atom.xml", "/euckr.xml"):
        last = feeds.hits_for(path)[-1]
        assert "If-None-Match" in last.headers and last.status == 304, (path, last)


def test_new_item_produces_exactly_one_message(watcher, slack, feeds):
    assert watcher("once").returncode == 0
    before = len(slack.messages)
    extra = ("<item><title>체외진단 의료기기 국산화 지원 공모</title><link>{base}/view?seq=9</link>"
             "<description>신규</description><pubDate>{rfc_m1}</pubDate></item>")
    feeds.set("/rss.xml", fill(fixture_text("rss.xml"), feeds.base, extra=fill(extra, feeds.base)))
    assert watcher("once").returncode == 0
    new = slack.messages[before:]
    assert [m["channel"] for m in new] == ["#devices"]
    assert "체외진단 의료기기 국산화" in new[0]["text"]


def test_search_finds_korean_words_of_any_length(watcher):
    assert watcher("once").returncode == 0
    teukgu = watcher.json("search", "특구")
    assert {r["title"] for r in teukgu} >= {"강소연구개발특구 기술사업화 지원 공고", "똠방각하 강소특구 특화기업 모집"}
    devices = watcher.json("search", "의료기기")
    assert [r["source"] for r in devices] == ["atom"]
    assert sorted(devices[0]["rules"]) == ["devices", "devices-too"]
    for row in devices:
        assert {"source", "id", "title", "link", "published", "deadline", "rules"} <= row.keys()


def test_broken_sources_are_reported_and_do_not_stop_others(watcher, feeds, slack):
    feeds.set("/500.xml", "oops", status=500)
    feeds.set("/slow.xml", fixture_text("rss.xml"), delay=4)
    feeds.set("/garbage.xml", b"\x00\x01 this is not a feed <<<", content_type="text/plain")
    broken = "".join(f"  - id: bad-{name}\n    url: {feeds.base}/{name}.xml\n" for name in ("500", "slow", "garbage"))
    watcher.write("sources.yaml", sources_yaml(feeds.base, broken))
    done = watcher("once")
    assert done.returncode == 0, done.stderr
    assert len(slack.messages) == 4  # the good sources still alerted
    status = {row["id"]: row for row in watcher.json("status")}
    assert status["rss"]["failures"] == 0 and status["rss"]["items"] == 3
    for name, fragment in (("500", "HTTP 500"), ("slow", "timeout"), ("garbage", "parse")):
        row = status[f"bad-{name}"]
        assert row["failures"] == 1 and fragment in row["last_error"] and row["last_success"] is None, row


def test_invalid_config_exits_2_with_file_and_line_for_every_command(watcher):
    watcher.write("rules.yaml", RULES.replace('channel: "#teukgu"', 'chanel: "#teukgu"'))
    for args in (["check"], ["once"], ["rules", "test"]):
        done = watcher(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "rules.yaml:" in done.stderr and "chanel" in done.stderr
        assert "Traceback" not in done.stderr


def test_permanent_slack_error_keeps_alert_pending_and_shows_in_status(watcher, slack):
    slack.channel_errors["#devices"] = "channel_not_found"
    done = watcher("once")
    assert done.returncode == 0, done.stderr
    assert "channel_not_found" in done.stderr and "Traceback" not in done.stderr
    assert by_channel(slack) == Counter({"#health": 1, "#teukgu": 2})
    status = watcher("status")
    assert "slack #devices: 1 alert(s) pending, last error: slack: channel_not_found" in status.stdout
    assert watcher("once").returncode == 0  # the broken channel is not hammered on every cycle
    assert [r["channel"] for r in slack.rejected] == ["#devices"]


def test_many_sources_parse_in_worker_processes(watcher, feeds, slack):
    """From POOL_MIN_SOURCES sources on, parsing runs in forked workers: same results, same errors."""
    extra = ""
    for i in range(12):
        body = fill(fixture_text("rss.xml"), f"{feeds.base}/copy{i}").replace("seq=", f"seq={i}0")
        feeds.set(f"/copy{i}.xml", body)
        extra += f"  - id: copy{i}\n    url: {feeds.base}/copy{i}.xml\n"
    feeds.set("/garbage.xml", b"<<< not a feed", content_type="text/plain")
    extra += f"  - id: garbage\n    url: {feeds.base}/garbage.xml\n"
    watcher.write("sources.yaml", sources_yaml(feeds.base, extra))
    assert watcher("once").returncode == 0
    status = {row["id"]: row for row in watcher.json("status")}
    assert all(status[f"copy{i}"]["items"] == 3 for i in range(12))
    assert "parse" in status["garbage"]["last_error"]
    # the same call (same title and deadline) on 13 sources: one message, the other portals in one thread note
    health = slack.messages_for("#health")
    assert len(health) == 2, [(m["thread_ts"], m["text"][:300]) for m in health]
    [top] = [m for m in health if not m["thread_ts"]]
    [note] = [m for m in health if m["thread_ts"] == top["ts"]]
    shown = top["text"] + note["text"]
    assert all(f"/copy{i}/view?seq={i}01" in shown for i in range(12))
