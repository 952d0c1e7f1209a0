"""Source health, `sources test`, first-poll baseline and closed calls through the installed `watcher`,
against real captures served from 127.0.0.1 and the local Slack server."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from email.utils import format_datetime

import pytest

from tests.e2e import KST, Watcher
from tests.feed_server import FeedServer
from tests.shared import real_capture

RULES = """\
defaults:
  ops_channel: "#ops"
rules:
  - name: anything
    any: ["re:."]
"""
BTP_TEMPLATE = '{title: "td.subject a", link: "td.subject a@href", published: "td.regdate"}'
BTP_RIGHT = ('{title: "td.subject span.titleHover", link: "td.subject a@href", published: "td.date", '
             'period: "td.period"}')


@pytest.fixture()
def watcher(tmp_path, slack):
    w = Watcher(tmp_path, {"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url})
    w.write("rules.yaml", RULES)
    return w


def btp_yaml(url: str, fields: str, items: str = "table.bdListTbl tbody tr", extra: str = "") -> str:
    return f"""\
sources:
  - id: btp
    name: 부산테크노파크 사업공고
    kind: html
    url: {url}
    items: "{items}"
    fields: {fields}
{extra}"""


def status_of(watcher: Watcher) -> dict[str, dict]:
    return {row["id"]: row for row in watcher.json("status")}


def ops_messages(slack) -> list[str]:
    return [m["text"] for m in slack.messages if m["channel"] == "#ops"]


def serve_btp(feeds: FeedServer) -> str:
    feeds.set("/btp", real_capture("btp/bizsupport-btp_list.html").read_bytes(),
              content_type="text/html; charset=utf-8")
    return feeds.url("/btp")


def test_real_btp_board_with_a_dead_date_selector_is_degraded_then_ok_once_fixed(watcher, feeds, slack):
    url = serve_btp(feeds)
    watcher.write("sources.yaml", btp_yaml(url, BTP_TEMPLATE, "table tbody tr", "    alert_after: 0s\n"))
    assert watcher("once").returncode == 0
    row = status_of(watcher)["btp"]
    assert row["state"] == "degraded" and row["items"] == 10  # items are still stored
    assert "published (td.regdate) matched nothing in 10 items" in row["reason"]
    assert "title (td.subject a) doubled in 10 of 10 items" in row["reason"]
    text = watcher("status").stdout
    assert "degraded" in text and "published (td.regdate) matched nothing in 10 items" in text
    [alert] = ops_messages(slack)
    assert "published (td.regdate): 항목 10개 모두 값이 없음" in alert
    assert watcher("once").returncode == 0  # still degraded: no second alert
    assert len(ops_messages(slack)) == 1

    watcher.write("sources.yaml", btp_yaml(url, BTP_RIGHT, extra="    alert_after: 0s\n"))
    assert watcher("once").returncode == 0  # same page, new selectors: read whole, not "not modified"
    row = status_of(watcher)["btp"]
    assert (row["state"], row["reason"]) == ("ok", "")
    assert row["coverage"] == {"title": 1.0, "link": 1.0, "published": 1.0, "deadline": 1.0}
    [_, recovered] = ops_messages(slack)
    assert recovered.endswith("소스 '부산테크노파크 사업공고' (btp): 항목 필드가 다시 정상입니다.")
    assert not [m for m in slack.messages if m["channel"] != "#ops"]  # 2025 calls: nothing alerted


def test_sources_test_prints_the_table_and_stores_nothing(watcher, feeds, tmp_path):
    url = serve_btp(feeds)
    watcher.write("sources.yaml", btp_yaml(url, BTP_TEMPLATE, "table tbody tr"))
    done = watcher("sources", "test", "btp")
    assert done.returncode == 1, done.stderr  # every item has a title and a link, but degraded as status says
    coverage = "10 items: title 100% [td.subject a]  link 100% [td.subject a@href]  published 0% [td.regdate]"
    assert coverage in done.stdout
    assert "warning: published (td.regdate) matched nothing in 10 items" in done.stdout
    assert "warning: title (td.subject a) doubled in 10 of 10 items" in done.stdout
    assert done.stdout.rstrip().endswith("=> degraded (as `watcher status` would show it)")
    [report] = json.loads(watcher("sources", "test", "btp", "--json").stdout)  # exit 1: watcher.json wants 0
    assert (report["ok"], report["degraded"], report["error"]) == (False, True, None)

    watcher.write("sources.yaml", btp_yaml(url, BTP_RIGHT))
    done = watcher("sources", "test", "btp")
    assert done.returncode == 0, done.stderr
    row = "2025-04-21 2025-05-09 -                2025년 도심항공모빌리티 상용화 기술지원사업 기업지원 모집공고"
    assert row in done.stdout
    assert "warning: all 10 dated items are older than max_age (14d), newest 2025-04-23" in done.stdout
    [report] = json.loads(watcher("sources", "test", "btp", "--json").stdout)
    assert report["ok"] and report["items"] == 10 and report["warnings"][0].startswith("all 10 dated items")
    first = report["announcements"][0]
    assert first == {"title": "2025년 산업기술단지 거점기능강화사업 「현장애로지원 기술닥터제 수요기업」 모집 공고",
                     "link": feeds.url("/btp?mCode=MN013&mode=view&mgr_seq=16&board_seq=9579787"),
                     "published": "2025-04-04T00:00:00+09:00", "deadline": "2025-12-31", "agency": None,
                     "rules": ["anything"]}
    assert not (tmp_path / "db").exists()  # no database, no folder


def test_sources_test_reads_a_saved_page_with_the_named_source(watcher, tmp_path):
    page = real_capture("btp/bizsupport-btp_list.html")
    watcher.write("sources.yaml", btp_yaml("https://www.btp.or.kr/kor/CMS/Board/Board.do?mCode=MN013", BTP_RIGHT))
    [report] = json.loads(watcher("sources", "test", "btp", "--file", str(page), "--json").stdout)
    assert report["coverage"] == {"title": 1.0, "link": 1.0, "published": 1.0, "deadline": 1.0}
    assert report["announcements"][0]["link"] == (
        "https://www.btp.or.kr/kor/CMS/Board/Board.do?mCode=MN013&mode=view&mgr_seq=16&board_seq=9579787")
    assert not (tmp_path / "db").exists()


def test_sources_test_fails_a_board_without_links_and_a_failing_fetch(watcher, feeds, tmp_path):
    feeds.set("/gbtp", real_capture("gbtp/bizsupport-output-gbtp-page_1.html").read_bytes(), content_type="text/html")
    watcher.write("sources.yaml", f"""\
sources:
  - id: gbtp
    kind: html
    url: {feeds.url('/gbtp')}
    items: "table tbody tr"
    fields: {{title: "td.subject a, td.title a, td a", link: "td.subject a@href", published: "td.date"}}
  - id: gone
    url: {feeds.url('/gone.xml')}
""")
    done = watcher("sources", "test", "gbtp", "gone")
    assert done.returncode == 1
    assert "warning: link (td.subject a@href) matched nothing in 10 items" in done.stdout
    assert "=> FAIL: 10 of 10 items lack a title or a link" in done.stdout
    assert "=> FAIL: fetch: HTTP 404" in done.stdout
    assert not (tmp_path / "db").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["sources", "test", "nope"], "unknown source id: nope (known: a)"),
    (["sources", "test", "--file", "sources.yaml"], "--file needs the ID"),
    (["sources", "test", "a", "--file", "missing.html"], "missing.html"),
])
def test_sources_test_bad_input_is_one_line_exit_2(watcher, args, message):
    watcher.write("sources.yaml", "sources:\n  - id: a\n    url: http://127.0.0.1:9/a.xml\n")
    done = watcher(*args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_sources_test_bad_config_exits_2(watcher):
    watcher.write("sources.yaml", "sources:\n  - id: a\n    url: ftp://x/a.xml\n")
    done = watcher("sources", "test")
    assert done.returncode == 2 and "sources.yaml:3:" in done.stderr


def rss(*items: tuple[str, datetime | None, str | None]) -> str:
    body = "".join(
        f"<item><title>{title}</title><link>http://127.0.0.1/{i}</link>"
        + (f"<pubDate>{format_datetime(when)}</pubDate>" if when else "")
        + (f"<appdue>{due}</appdue>" if due else "") + "</item>"
        for i, (title, when, due) in enumerate(items))
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'


def test_first_poll_of_real_gbtp_alerts_none_of_its_2025_calls(watcher, feeds, slack):
    feeds.set("/gbtp", real_capture("gbtp/bizsupport-output-gbtp-page_1.html").read_bytes(), content_type="text/html")
    watcher.write("sources.yaml", f"""\
sources:
  - id: gbtp-undated
    kind: html
    url: {feeds.url('/gbtp')}
    items: "table tbody tr"
    fields: {{title: "td.subject a, td.title a, td a", link: "td.subject a@href", published: "td.date"}}
  - id: gbtp
    kind: html
    url: {feeds.url('/gbtp')}?bbsId=BBSMSTR_000000000021
    items: "table.tablelist tbody tr"
    fields: {{title: "td.title a", link: "td.title a@onclick", link_template: "boardDetail.do?nttNo={{0}}",
             published: "td:nth-of-type(3)", period: "td.term"}}
""")
    done = watcher("once")
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: " ".join(line.split()[1:]) for line in done.stdout.splitlines()}
    assert lines["gbtp-undated"] == lines["gbtp"] == "ok 10 items, 10 new, 0 alerts queued"
    stored = watcher.json("search", "", "--source", "gbtp")
    assert len(stored) == 10 and all(r["published"].startswith("2025-04-2") for r in stored)
    assert not slack.messages


def test_undated_items_after_the_first_poll_and_closed_calls(watcher, feeds, slack):
    now = datetime.now(KST)
    feeds.set("/feed.xml", rss(("기존 공고", None, None), ("어제 공고", now - timedelta(days=1), None)))
    watcher.write("sources.yaml", f"sources:\n  - id: f\n    url: {feeds.url('/feed.xml')}\n"
                                  "    fields: {deadline: appdue}\n")
    assert watcher("once").returncode == 0
    assert [m["text"] for m in slack.messages if "어제 공고" in m["text"]] and len(slack.messages) == 1
    yesterday, tomorrow = (now - timedelta(days=1)).date(), (now + timedelta(days=1)).date()
    feeds.set("/feed.xml", rss(("기존 공고", None, None), ("어제 공고", now - timedelta(days=1), None),
                               ("새 날짜 없는 공고", None, None),
                               ("마감된 공고", now - timedelta(days=2), yesterday.isoformat()),
                               ("열린 공고", now - timedelta(days=2), tomorrow.isoformat())))
    assert watcher("once").returncode == 0
    alerted = sorted(t for t in ("기존 공고", "새 날짜 없는 공고", "마감된 공고", "열린 공고", "어제 공고")
                     if any(t in m["text"] for m in slack.messages))
    assert alerted == ["새 날짜 없는 공고", "어제 공고", "열린 공고"]
    assert len(watcher.json("search", "마감된")) == 1  # stored and searchable


def test_a_source_silent_past_stale_after_shows_stale_with_one_ops_alert(watcher, feeds, slack):
    now = datetime.now(KST)
    feeds.set("/feed.xml", rss(("어제 공고", now - timedelta(days=1), None)))
    watcher.write("sources.yaml", f"sources:\n  - id: quiet\n    name: 조용한 게시판\n"
                                  f"    url: {feeds.url('/feed.xml')}\n    stale_after: 3s\n")
    started = time.monotonic()
    assert watcher("once").returncode == 0
    state = status_of(watcher)["quiet"]["state"]
    if time.monotonic() - started < 3:  # a loaded machine may take longer than stale_after
        assert state == "ok"
    time.sleep(max(0.0, started + 3.2 - time.monotonic()))
    assert watcher("once").returncode == 0  # answers (not modified), nothing new
    row = status_of(watcher)["quiet"]
    assert row["state"] == "stale" and row["reason"].startswith("no new item since ")
    assert row["reason"].endswith("(stale_after 3s)")
    assert watcher("once").returncode == 0
    [text] = ops_messages(slack)
    assert "'조용한 게시판' (quiet)" in text and "새 공고가 없습니다" in text
