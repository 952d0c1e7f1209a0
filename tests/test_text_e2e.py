"""Text as published, end to end: `watcher once` against local feed and Slack servers, then search."""

from __future__ import annotations

import html
import json
import re
import threading
from datetime import datetime, timedelta
from email.utils import format_datetime

import pytest
import requests

from tests.e2e import KST, Watcher
from watcher.notify.messages import build_message
from watcher.web import serve

TITLE = "ㅇ 접수기간 안내 ㅣ ① 의료기기 실증… 공모 ㈜ＡＩ"
RULES = """\
defaults:
  channel: "#gongmo"
  max_age: 14d
  digest_over: 3
rules:
  - name: devices
    any: [의료기기, 공고]
"""


def rss(*items: str) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>보건 공지</title>'
            + "".join(items) + "</channel></rss>")


def item(title: str, link: str, description: str = "") -> str:
    when = format_datetime(datetime.now(KST) - timedelta(days=1))
    return (f"<item><title>{title}</title><link>{link}</link><description>{description}</description>"
            f"<pubDate>{when}</pubDate></item>")


@pytest.fixture()
def watcher(tmp_path, slack):
    w = Watcher(tmp_path, {"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url})
    w.write("rules.yaml", RULES)
    return w


def test_published_characters_come_back_from_search_json_and_slack(watcher, feeds, slack):
    feeds.set("/rss", rss(item(TITLE, "https://www.mohw.go.kr/board.es?act=view&amp;list_no=1",
                               "ㅇ 신청기간 : ~ 12. 31.(목) 18:00까지 …")))
    watcher.write("sources.yaml", f"sources:\n  - id: mohw\n    url: {feeds.url('/rss')}\n")
    done = watcher("once")
    assert done.returncode == 0, done.stderr
    (row,) = watcher.json("search", "의료기기")
    assert row["title"] == TITLE
    assert row["summary"] == "ㅇ 신청기간 : ~ 12. 31.(목) 18:00까지 …"
    (message,) = slack.messages
    assert TITLE in message["text"]
    assert TITLE in json.dumps(message["blocks"], ensure_ascii=False)
    page = _web_page(watcher.folder / "db" / "watcher.db", "의료기기")
    shown = html.unescape(re.sub(r"<[^>]+>", "", page))  # matched words are wrapped in <mark>
    assert TITLE in shown and "\u110b" not in page  # U+3147 shown, not its NFKC jamo U+110B


def _web_page(db, query: str) -> str:
    """The search page of `watcher serve` on this database, over real HTTP."""
    ready, holder = threading.Event(), []
    thread = threading.Thread(target=serve, args=(str(db), "127.0.0.1", 0), daemon=True,
                              kwargs={"on_ready": lambda server: (holder.append(server), ready.set())})
    thread.start()
    assert ready.wait(10)
    try:
        port = holder[0].server_address[1]
        answer = requests.get(f"http://127.0.0.1:{port}/search", params={"q": query}, timeout=10)
        assert answer.status_code == 200
        return answer.text
    finally:
        holder[0].shutdown()
        thread.join(10)


def test_payload_builder_shows_the_title_as_published():
    alert = {"title": TITLE, "link": "https://example.go.kr/1", "source_name": "보건복지부 공고",
             "agency": "보건복지부 ㅣ 보건산업정책과", "published": "2026-11-30T09:00:00+09:00",
             "deadline": None, "rules": json.dumps([{"rule": "devices", "keywords": ["의료기기"]}])}
    payload = build_message(alert, datetime(2026, 12, 1, 9, 0, tzinfo=KST))
    assert payload["text"].startswith(TITLE)
    shown = json.dumps(payload["blocks"], ensure_ascii=False)
    assert TITLE in shown and "보건복지부 ㅣ 보건산업정책과" in shown


def _rss_with_bad_item(bad_title: str, bad_description: str) -> str:
    return rss(item("좋은 의료기기 공고 하나", "{base}/1"), item(bad_title, "{base}/2", bad_description),
               item("좋은 의료기기 공고 셋", "{base}/3"))


def _json_with_bad_item() -> str:
    when = (datetime.now(KST) - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    rows = [{"t": "좋은 의료기기 공고 하나", "l": "{base}/1", "d": when},
            {"t": "나쁜\u0000 의료기기 공고 \u202e둘", "l": "{base}/2", "d": when, "s": "요약 끝 \ud83d"},
            {"t": "좋은 의료기기 공고 셋", "l": "{base}/3", "d": when}]
    return json.dumps({"data": rows})  # `\ud83d` stays an escape: a lone surrogate once loaded


BAD_SOURCES = {
    # well-formed XML: lxml's fast path reads it; the item holds invisible and non-characters
    "fast": (_rss_with_bad_item("나쁜 &#xFDD0; 의료기기 &#x202E;공고 둘", "요약 &#xFEFF;끝"), "feed"),
    # `&#xD800;` and raw control characters: no XML parser accepts them as they are
    "fallback": (_rss_with_bad_item("나쁜 &#xD800; 의료기기 공고 \x01둘", "요약 &#x0;끝 &#1;"), "feed"),
    "surrogate": (_json_with_bad_item(), "json"),
}


def test_one_malformed_item_costs_at_most_itself(watcher, feeds, slack):
    lines = ["defaults:", "  timeout: 5s", "sources:"]
    for name, (body, kind) in BAD_SOURCES.items():
        feeds.set(f"/{name}", body.replace("{base}", feeds.url(f"/{name}")),
                  content_type="application/json" if kind == "json" else "application/rss+xml; charset=utf-8")
        lines += [f"  - id: {name}", f"    kind: {kind}", f"    url: {feeds.url('/' + name)}"]
        if kind == "json":
            lines.append("    items: data\n    fields: {title: t, link: l, published: d, summary: s}")
    feeds.set("/good", rss(item("이웃 출처의 의료기기 공고", feeds.url("/good/1"))))
    lines += ["  - id: good", f"    url: {feeds.url('/good')}"]
    watcher.write("sources.yaml", "\n".join(lines) + "\n")
    done = watcher("once")
    assert done.returncode == 0, done.stderr
    stored = {row["link"]: row for row in watcher.json("search", "", "--limit", "50")}
    alerted = json.dumps(slack.messages, ensure_ascii=False)  # an alert or digest line per item
    for name in BAD_SOURCES:
        for n, title in (("1", "좋은 의료기기 공고 하나"), ("3", "좋은 의료기기 공고 셋")):
            assert stored[feeds.url(f"/{name}/{n}")]["title"] == title
            assert feeds.url(f"/{name}/{n}") in alerted
        bad = stored[feeds.url(f"/{name}/2")]  # even the bad item is kept, made valid
        assert bad["title"].startswith("나쁜") and not {"\u202e", "\x00", "\x01"} & set(bad["title"]), bad
    assert stored[feeds.url("/good/1")]["title"] == "이웃 출처의 의료기기 공고"
    assert feeds.url("/good/1") in alerted
