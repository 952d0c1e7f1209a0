"""Real source shapes through the installed `watcher`: JSON API, HTML board, NTIS, and health."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e import Watcher

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
RULES = """\
defaults:
  ops_channel: "#ops"
rules:
  - name: anything
    any: ["re:."]
"""


@pytest.fixture()
def watcher(tmp_path, slack):
    w = Watcher(tmp_path, {"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url})
    w.write("rules.yaml", RULES)
    return w


def by_id(rows: list[dict]) -> dict[str, dict]:
    return {row["id"]: row for row in rows}


def test_bizinfo_json_and_euckr_board_become_announcements(watcher, feeds):
    feeds.set("/api", (FEEDS / "bizinfo-pblancBsnsService.json").read_bytes(), content_type="application/json")
    feeds.set("/board.es", (FEEDS / "board-euckr-table-jsessionid.html").read_bytes(), content_type="text/html")
    watcher.write("sources.yaml", f"""\
sources:
  - id: bizinfo
    kind: json
    url: {feeds.url('/api')}
    items: response.body.items.item
    fields: {{id: pblancId, title: pblancNm, link: pblancUrl, published: creatPnttm,
             summary: bsnsSumryCn, period: reqstBeginEndDe, agency: jrsdInsttNm}}
  - id: tp
    kind: html
    url: {feeds.url('/board.es')}
    items: "table tbody tr"
    fields: {{title: "td.subject a", link: "td.subject a@href", published: "td.date"}}
""")
    assert watcher("once").returncode == 0
    biz = by_id(watcher.json("search", "", "--source", "bizinfo", "--limit", "100"))
    first = biz["PBLN_000000000126771"]
    assert first["published"] == "2026-09-23T13:50:28+09:00"
    assert first["deadline"] == "2026-10-08"
    assert first["agency"] == "전북특별자치도"
    budget = [row for row in biz.values() if "장애인기업" in row["title"]][0]
    assert budget["deadline"] is None  # 예산 소진시까지: no deadline invented
    board = watcher.json("search", "의료기기", "--source", "tp")
    assert len(board) == 1
    row = board[0]
    assert row["link"].startswith(feeds.base + "/board.es?") and "utm_source" not in (row["id"] or "")
    assert row["published"].startswith("2026-08-20T00:00:00+09:00")
    assert row["deadline"] == "2026-09-18"
    cp949 = watcher.json("search", "햏사", "--source", "tp")
    assert cp949 and "똠얌꿍" in cp949[0]["title"]
    assert "jsessionid" not in cp949[0]["link"]


def test_ntis_deadline_comes_from_appdue(watcher, feeds):
    feeds.set("/ntis", (FEEDS / "ntis-unRndRss.xml").read_bytes())
    watcher.write("sources.yaml", f"sources:\n  - id: ntis\n    url: {feeds.url('/ntis')}\n"
                                  "    fields: {deadline: appdue, agency: category}\n")
    assert watcher("once").returncode == 0
    rows = watcher.json("search", "사회문제해결형")
    assert rows[0]["deadline"] == "2026-09-21" and rows[0]["published"] == "2026-08-21T00:00:00+09:00"


def test_api_error_and_changed_board_are_source_errors(watcher, feeds):
    feeds.set("/own", (FEEDS / "bizinfo-own-api-reqerr.json").read_bytes(), content_type="application/json")
    feeds.set("/board", (FEEDS / "board-redesigned-no-table.html").read_bytes(), content_type="text/html")
    watcher.write("sources.yaml", f"""\
sources:
  - id: own
    kind: json
    url: {feeds.url('/own')}
    items: jsonArray
    fields: {{title: pblancNm}}
  - id: board
    kind: html
    url: {feeds.url('/board')}
    items: "table tbody tr"
    fields: {{title: "td.subject a"}}
""")
    done = watcher("once")
    assert done.returncode == 0
    status = by_id(watcher.json("status"))
    assert "API error" in status["own"]["last_error"] and "인증키" in status["own"]["last_error"]
    assert "matched 0 items" in status["board"]["last_error"]
    assert status["own"]["failures"] == status["board"]["failures"] == 1


def test_retry_after_is_honoured_before_polling_again(watcher, feeds):
    feeds.set("/busy", "", status=429, headers={"Retry-After": "3600"})
    watcher.write("sources.yaml", f"sources:\n  - id: busy\n    url: {feeds.url('/busy')}\n")
    watcher("once")
    done = watcher("once")
    assert done.returncode == 0 and "skipped" in done.stdout
    assert len(feeds.hits_for("/busy")) == 1


def test_dead_source_gives_one_ops_alert_and_one_on_recovery(watcher, feeds, slack):
    feeds.set("/dead", "down", status=503)
    watcher.write("sources.yaml", f"sources:\n  - id: dead\n    url: {feeds.url('/dead')}\n"
                                  "    alert_after: 1s\n")
    watcher("once")
    assert not slack.messages_for("#ops")  # failing, but not yet for alert_after
    time.sleep(1.2)
    for _ in range(3):
        watcher("once")
    ops = slack.messages_for("#ops")
    assert len(ops) == 1 and "dead" in ops[0]["text"]
    assert "실패하고 있습니다" in ops[0]["text"] and " KST" in ops[0]["text"]  # Korean, Korea time
    assert "확인할 것: 사이트 서버 오류" in ops[0]["text"]  # what to check, for a 503
    feeds.set("/dead", '<rss version="2.0"><channel><title>t</title></channel></rss>')
    watcher("once")
    watcher("once")
    ops = slack.messages_for("#ops")
    assert len(ops) == 2 and "복구되었습니다" in ops[1]["text"]
