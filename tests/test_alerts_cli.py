"""`watcher alerts`: list held alerts with the reason, retry, reroute, drop; /status says what to do."""

from __future__ import annotations

import json

import pytest

from tests.e2e import Watcher, fill, fixture_text
from tests.feed_server import FeedServer

RULES = """\
defaults:
  channel: "#gongmo"
rules:
  - name: health
    label: 디지털 헬스
    any: [디지털헬스케어, 강소특구]
    channel: "{channel}"
"""


@pytest.fixture()
def watcher(tmp_path, slack):
    with FeedServer() as feeds:
        feeds.set("/rss.xml", fill(fixture_text("rss.xml"), feeds.base))
        w = Watcher(tmp_path, {"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url})
        w.write("sources.yaml", f"sources:\n  - id: rss\n    name: 보건 공지\n    url: {feeds.base}/rss.xml\n")
        w.write("rules.yaml", RULES.format(channel="#tp-dx-old"))
        yield w


def held(w: Watcher) -> list[dict]:
    return w.json("alerts")


def test_a_refused_channel_is_listed_with_its_reason_then_rerouted(watcher, slack):
    slack.channel_errors["#tp-dx-old"] = "not_in_channel"
    watcher("once")
    rows = held(watcher)
    assert len(rows) == 2 and {r["channel"] for r in rows} == {"#tp-dx-old"}, rows
    assert [r["state"] for r in rows] == ["failing", "held"]  # the second waits behind the first's failure
    assert rows[0]["last_error"] == "slack: not_in_channel"
    for row in rows:
        assert "not_in_channel" in row["reason"] and "/invite" in row["reason"]
        assert "watcher alerts reroute --from '#tp-dx-old'" in row["reason"]
    assert rows[0]["title"] and "utm_source" not in rows[0]["link"]
    text = watcher("alerts").stdout
    assert "#tp-dx-old: 2 alert(s) not sent" in text and "failing" in text

    # the team fixes the rule, then moves what waits for the old channel
    watcher.write("rules.yaml", RULES.format(channel="#tp-dx"))
    done = watcher("alerts", "reroute", "--from", "#tp-dx-old", "--to", "#tp-dx")
    assert done.returncode == 0 and "moved from #tp-dx-old to #tp-dx" in done.stdout + done.stderr
    watcher("once")
    assert held(watcher) == []
    titles = [m["text"] for m in slack.messages if m["channel"] == "#tp-dx"]
    assert len(titles) == 2  # each announcement once, although the new rule matches them again
    assert watcher("status", "--check").stdout.count("slack") == 0
    again = watcher("alerts", "reroute", "--from", "#tp-dx-old", "--to", "#tp-dx")
    assert again.returncode == 0 and "no pending alerts for #tp-dx-old" in again.stdout


def test_drop_by_channel_and_by_id_never_queues_them_again(watcher, slack):
    slack.channel_errors["#tp-dx-old"] = "channel_not_found"
    watcher("once")
    first, second = held(watcher)
    done = watcher("alerts", "drop", str(first["id"]))
    assert done.returncode == 0 and "1 alert(s) dropped" in done.stdout
    assert [r["id"] for r in held(watcher)] == [second["id"]]
    assert watcher("alerts", "drop", "--channel", "#tp-dx-old").returncode == 0
    assert held(watcher) == []
    watcher("once")
    assert held(watcher) == [] and slack.messages == []
    missing = watcher("alerts", "drop", "999")
    assert missing.returncode == 0 and "alert 999: not a pending alert" in missing.stderr


def test_retry_sends_what_waits_out_a_failure_now(watcher, slack):
    watcher.write("rules.yaml", RULES.format(channel="#gongmo"))
    watcher.env["WATCHER_RETRY_BASE"] = "3600"  # `once` does not wait out the 503 itself
    slack.fail_next(1, 503)
    watcher("once")
    rows = held(watcher)
    assert rows and rows[0]["state"] == "failing" and "retried" in rows[0]["reason"]
    done = watcher("alerts", "retry", "--all")
    assert done.returncode == 0, done.stderr
    assert "alert(s) due now" in done.stdout and "0 pending" in done.stdout
    assert held(watcher) == [] and len(slack.messages) == 2
    assert watcher("alerts", "retry").returncode == 2  # nothing named: a usage error, not a silent no-op


def test_status_page_shows_the_refused_channel_with_what_to_do_in_korean(watcher, slack):
    from watcher.web import make_app

    slack.channel_errors["#tp-dx-old"] = "not_in_channel"
    watcher("once")
    app = make_app(watcher.folder / "db" / "watcher.db")
    body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": "/status", "QUERY_STRING": ""},
                        lambda status, headers: None)).decode()
    assert "#tp-dx-old" in body and "slack: not_in_channel" in body
    assert "봇이 #tp-dx-old 채널에 초대되지 않았습니다" in body
    assert "watcher alerts reroute --from &#x27;#tp-dx-old&#x27;" in body


def test_alerts_json_is_one_array(watcher):
    watcher("once")
    assert json.loads(watcher("alerts", "--json").stdout) == []
