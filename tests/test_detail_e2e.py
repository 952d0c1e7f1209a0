"""End to end: `watcher once` reads new calls' detail pages and attachments from local servers.

A board (html) whose titles match no rule, whose detail pages link 공고문s by script
(`fn_egov_downFile('FILE_1','0')`): the 공고문 that says 의료기기 gets its call alerted, the word shown
as found in 첨부, its 접수기간 / 지원규모 / 지원대상 lines and attachments in the message; a form is
listed, never read. A 기업마당-like JSON API whose item lists its 공고 원문 (`printFlpthNm`) and other
files (`flpthNm` joined by `@`): the 공고 원문 gives the deadline the list lacks. `watcher search`
finds a word only an attachment holds and says where. A file that lies about its type, a truncated
one and one whose server hangs cost only that file: the cycle and the other calls go on, and
`watcher status` names the failing file.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import pytest

from tests.e2e import KST, Watcher
from tests.feed_server import FeedServer
from tests.hwp_synth import notice

NOW = datetime.now(KST)
DAY = timedelta(days=1)
OPENS, CLOSES = NOW - DAY, NOW + 20 * DAY


def dots(day: datetime) -> str:
    return f"{day.year}. {day.month}. {day.day}."


NOTICE_LINES = (
    "재단법인 테스트테크노파크 공고 제2026-101호",
    "2026년 지역주력산업육성 지원모집 2차 공고",
    "1. 지원분야 : 의료기기 및 디지털헬스케어 실증",
    f"2. 접수기간 : {dots(OPENS)}(월) 09:00 ~ {dots(CLOSES)}(금) 18:00 까지",
    "3. 지원규모 : 총 4개 기업, 기업당 최대 50백만원",
    "4. 지원대상 : 부산 소재 중소·중견기업",
)
BOARD = """<html><body><table class="list"><tbody>
<tr><td class="subject"><a href="/board/view.do?no=1">2026년 지역주력산업육성 지원모집 2차 공고</a></td>
    <td class="date">{d1}</td></tr>
<tr><td class="subject"><a href="/board/view.do?no=2">2026년 기업 홍보 지원 안내</a></td><td class="date">{d1}</td></tr>
<tr><td class="subject"><a href="/board/view.do?no=3">2026년 판로 개척 지원 공고</a></td><td class="date">{d1}</td></tr>
</tbody></table></body></html>"""
PAGE = """<html><body><div class="view"><h3>{title}</h3><div class="content"><p>{body}</p></div>
<div class="files">{links}</div></div><div class="footer">사이트맵 개인정보처리방침</div></body></html>"""
RULES = """\
defaults:
  channel: "#gongmo"
  max_age: 14d
rules:
  - name: devices
    any: [의료기기]
    fields: [title, summary, body, attachments]
    channel: "#devices"
"""


def link(file_id: str, name: str) -> str:
    return f"<a href=\"javascript:fn_egov_downFile('{file_id}','0')\">{name} (71KB)</a>"


@pytest.fixture(scope="module")
def polled(tmp_path_factory):
    """One `watcher once` over the board and the API; -> (watcher, server, result of once)."""
    with FeedServer() as server:
        base, d1 = server.base, OPENS.strftime("%Y.%m.%d")
        server.set("/board/list.do", BOARD.format(d1=d1), content_type="text/html; charset=utf-8")
        pages = {
            1: ("지원모집 2차 공고", "지역 주력산업 기업을 지원합니다. 자세한 사항은 첨부파일 참조",
                link("FILE_1", "(공고문) 지원모집 2차 공고.hwp") + link("FILE_2", "(양식) 지원 신청서.hwp")
                + '<a href="http://localhost:9/elsewhere.hwp">다른 곳 공고문.hwp</a>'),
            2: ("홍보 지원", "홍보 지원 안내",
                link("FILE_3", "홍보 지원 공고문.hwp") + link("FILE_4", "홍보 안내.pdf")),
            3: ("판로 개척", "판로 개척 지원", link("FILE_5", "판로 개척 공고문.hwp")),
        }
        for no, (title, body, links) in pages.items():
            server.set(f"/board/view.do?no={no}", PAGE.format(title=title, body=body, links=links),
                       content_type="text/html; charset=utf-8")
        files = {
            "FILE_1": notice(*NOTICE_LINES),
            "FILE_2": notice("지원 신청서", "기업명", "의료기기 품목", "2020. 11. 14."),  # a form: never read
            "FILE_3": "<!DOCTYPE html><html><body>파일이 없습니다</body></html>".encode(),  # lies about its type
            "FILE_4": notice("홍보 지원 안내", "접수기간 : 2026. 1. 1. ~ 2026. 1. 2.")[:3000],  # truncated, named .pdf
            "FILE_5": notice("판로 개척 공고", "희소금속 소재 판로"),
        }
        for file_id, data in files.items():
            server.set(f"/cmm/fms/FileDown.do?atchFileId={file_id}&fileSn=0", data,
                       content_type="application/octet-stream")
        server.routes["/cmm/fms/FileDown.do?atchFileId=FILE_5&fileSn=0"].delay = 4  # past the 2s timeout
        api = {"jsonArray": [{
            "pblancId": "PBLN_1", "pblancNm": "[부산] 2026년 스마트 제조 지원사업 참여기업 모집",
            "pblancUrl": f"{base}/biz/detail.do?pblancId=PBLN_1", "creatPnttm": OPENS.strftime("%Y-%m-%d %H:%M:%S"),
            "printFlpthNm": f"{base}/cmm/fms/getImageFile.do?atchFileId=FILE_9&fileSn=0",
            "printFileNm": "스마트 제조 지원사업 모집 공고.hwp",
            "flpthNm": f"{base}/cmm/fms/getImageFile.do?atchFileId=FILE_10&fileSn=0@"
                       f"{base}/cmm/fms/getImageFile.do?atchFileId=FILE_11&fileSn=0",
            "fileNm": "신청서(양식).hwp@붙임파일.zip"}]}
        server.set("/biz/api.do", json.dumps(api, ensure_ascii=False), content_type="application/json")
        server.set("/cmm/fms/getImageFile.do?atchFileId=FILE_9&fileSn=0", notice(
            "스마트 제조 지원사업 참여기업 모집 공고", f"접수기간 : {dots(OPENS)} ~ {dots(NOW + 30 * DAY)} 18:00",
            "지원내용 : 스마트공장 구축"), content_type="application/octet-stream")
        w = Watcher(tmp_path_factory.mktemp("detail"))
        w.write("sources.yaml", f"""\
defaults:
  timeout: 2s
sources:
  - id: board
    name: 테스트TP 사업공고
    kind: html
    url: {base}/board/list.do
    items: "table.list tbody tr"
    fields: {{title: "td.subject a", link: "td.subject a@href", published: "td.date"}}
    detail:
      body: "div.view div.content"
      files: "div.files a"
      file_template: "/cmm/fms/FileDown.do?atchFileId={{0}}&fileSn={{1}}"
      wait: 30s
  - id: bizinfo
    name: 기업마당
    kind: json
    url: {base}/biz/api.do
    items: jsonArray
    fields: {{id: pblancId, title: pblancNm, link: pblancUrl, published: creatPnttm}}
    detail:
      api_files:
        - {{url: printFlpthNm, name: printFileNm}}
        - {{url: flpthNm, name: fileNm, split: "@"}}
""")
        w.write("rules.yaml", RULES)
        started = time.monotonic()
        done = w("once")
        assert done.returncode == 0, done.stderr
        yield w, server, done, time.monotonic() - started


def search(w: Watcher, *args: str) -> list[dict]:
    return w.json("search", *args)


def test_a_title_that_matches_nothing_is_alerted_for_its_attachment(polled):
    w, _, done, _ = polled
    alerts = done.stdout.split("── ")
    found = [a for a in alerts if "지역주력산업육성 지원모집 2차 공고" in a]
    assert len(found) == 1 and found[0].startswith("#devices")
    message = found[0]
    assert "의료기기 (첨부)" in message  # the word, where it was found: never the keyword as written
    assert "접수기간: " in message and f"{dots(CLOSES)}(금) 18:00 까지" in message
    assert "지원규모: 총 4개 기업, 기업당 최대 50백만원" in message
    assert "지원대상: 부산 소재 중소·중견기업" in message
    attached = next(line for line in message.splitlines() if line.startswith("첨부: "))
    assert [part.split(" <")[0] for part in attached[4:].split(" · ")] == [
        "(공고문) 지원모집 2차 공고.hwp", "(양식) 지원 신청서.hwp", "다른 곳 공고문.hwp"]  # linked, forms too
    assert "/cmm/fms/FileDown.do?atchFileId=FILE_1&fileSn=0>" in attached
    assert CLOSES.date().isoformat() in message  # the deadline the 공고문 gave (the list has none)
    assert done.stdout.count("── ") == 1  # nothing else matched: the form's 의료기기 is never read
    assert "board                ok           3 items, 3 new, 0 alerts queued; 3 calls read, 1 alerts queued" \
        in done.stdout


def test_the_reading_is_stored_with_each_file(polled):
    w = polled[0]
    row = next(r for r in search(w, "지원모집") if r["source"] == "board")
    assert row["deadline"] == CLOSES.date().isoformat()
    assert [a["name"] for a in row["attachments"]] == [
        "(공고문) 지원모집 2차 공고.hwp", "(양식) 지원 신청서.hwp", "다른 곳 공고문.hwp"]
    assert row["attachments"][0]["type"] == "hwp"
    assert row["attachments"][0]["url"].endswith("/cmm/fms/FileDown.do?atchFileId=FILE_1&fileSn=0")


def test_the_forms_and_other_sites_are_never_fetched(polled):
    server = polled[1]
    assert server.hits_for("/cmm/fms/FileDown.do?atchFileId=FILE_1&fileSn=0")
    assert not server.hits_for("/cmm/fms/FileDown.do?atchFileId=FILE_2&fileSn=0")  # a form
    assert not server.hits_for("/cmm/fms/getImageFile.do?atchFileId=FILE_10&fileSn=0")  # 신청서(양식)
    assert not server.hits_for("/cmm/fms/getImageFile.do?atchFileId=FILE_11&fileSn=0")  # a .zip


def test_search_finds_a_word_only_an_attachment_holds_and_says_where(polled):
    w = polled[0]
    rows = search(w, "디지털헬스케어")
    assert [(r["source"], r["found"]) for r in rows] == [("board", ["첨부: (공고문) 지원모집 2차 공고.hwp"])]
    assert search(w, "디지털헬스케어 지역주력산업육성")[0]["found"] == ["제목", "첨부: (공고문) 지원모집 2차 공고.hwp"]
    assert search(w, "디지털헬스케어 -지역주력산업육성") == []
    assert search(w, "기업을 지원합니다")[0]["found"] == ["본문"]
    table = w("search", "디지털헬스케어")
    assert "found in 첨부: (공고문) 지원모집 2차 공고.hwp" in table.stdout
    assert search(w, "의료기기 품목") == []  # the form's words: never read, never searched


def test_a_bizinfo_item_gets_its_deadline_from_its_notice(polled):
    w = polled[0]
    row = next(r for r in search(w, "스마트") if r["source"] == "bizinfo")
    assert row["deadline"] == (NOW + 30 * DAY).date().isoformat()
    assert [(a["name"], a["type"]) for a in row["attachments"]] == [
        ("스마트 제조 지원사업 모집 공고.hwp", "hwp"), ("신청서(양식).hwp", "hwp"), ("붙임파일.zip", "zip")]


def test_a_bad_file_costs_only_itself_and_status_names_it(polled):
    w, _, _, seconds = polled
    assert seconds < 30  # a hanging file server is cut at the source's 2s timeout
    rows = {r["title"]: r for r in search(w, "2026년") if r["source"] == "board"}
    assert len(rows) == 3 and all("attachments" in r for r in rows.values())  # every call read
    status = {r["id"]: r for r in w.json("status")}
    assert status["board"]["state"] == "ok" and status["board"]["file_error"]
    table = w("status")
    line = next(t for t in table.stdout.splitlines() if "file failed" in t)
    assert line.split("file failed: ", 1)[1] == status["board"]["file_error"]  # one line, the latest failure


def test_each_failing_file_is_one_line(polled):
    from watcher.store import Store

    w = polled[0]
    store = Store(w.folder / "db" / "watcher.db")
    try:
        errors = {f["name"]: f["error"] for a in store.announcements(source="board")
                  for f in (store.reading(a.source, a.id) or {}).get("files", [])}
    finally:
        store.close()
    assert errors["홍보 지원 공고문.hwp"].startswith("sniff: not HWP, HWPX or PDF (name says hwp")  # an error page
    assert errors["판로 개척 공고문.hwp"] == "fetch: timeout after 2s"
    assert errors["홍보 안내.pdf"].startswith("hwp: ")  # cut short, and an HWP whatever its name says
    assert errors["(공고문) 지원모집 2차 공고.hwp"] is None
    assert all("\n" not in e for e in errors.values() if e)
