"""The desk over real HTTP on 127.0.0.1: 120 stored matches, the total and pages, sorts, filters,
highlights, /status and the three exports."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import feedparser
import pytest
import requests

from tests.desk_data import N, agency, deadline, fill_desk, title, write_config
from watcher.config.load import load_config
from watcher.store.search import KST
from watcher.web import make_app, make_web_server

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=KST)
TODAY = NOW.date()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("desk")
    fill_desk(folder / "w.db", NOW)
    config = load_config(*write_config(folder))
    server = make_web_server(folder / "w.db", "127.0.0.1", 0, config=config, clock=lambda: NOW)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(10)


def get(base: str, path: str = "/search", **params: str) -> requests.Response:
    response = requests.get(base + path, params=params, timeout=10)
    assert response.status_code == 200, response.text[:300]
    return response


def numbers(page: str) -> list[int]:
    """The item numbers of the rows shown, in order (from the titles)."""
    return [int(n) for n in re.findall(r'<td class="title"><a [^>]*>.*?제(\d{3})호</a>', page)]


def due_dates(page: str) -> list[date | None]:
    cells = re.findall(r'<td class="deadline">(.*?)</td>', page)
    return [date.fromisoformat(m.group(1)) if (m := re.search(r'class="date">([\d-]+)<', c)) else None
            for c in cells]


def test_true_total_and_pages(base: str) -> None:
    first = get(base, q="의료기기").text
    assert '<p class="count" id="count">총 120건 · 1–50</p>' in first
    assert numbers(first) == list(range(50))  # newest first
    assert 'href="/search?q=%EC%9D%98%EB%A3%8C%EA%B8%B0%EA%B8%B0&amp;page=2"' in first
    third = get(base, q="의료기기", page="3").text
    assert "총 120건 · 101–120" in third and numbers(third) == list(range(100, 120))
    assert 'aria-current="page">3</span>' in third and 'id="next"' not in third
    seen = [n for p in ("1", "2", "3") for n in numbers(get(base, q="의료기기", page=p).text)]
    assert sorted(seen) == list(range(N))


def test_sort_by_deadline_puts_the_closest_open_call_first(base: str) -> None:
    page = get(base, q="의료기기", sort="deadline", limit="120").text
    dues = due_dates(page)
    open_dated = [d for d in dues if d and d >= TODAY]
    assert dues[: len(open_dated)] == sorted(open_dated) and len(open_dated) == 60
    assert dues[0] == min(deadline(i, TODAY) for i in range(N) if i % 4 in (1, 3))
    assert dues[60:90] == [None] * 30  # open-ended calls after the dated open ones
    closed = dues[90:]
    assert closed == sorted(closed, reverse=True) and all(d < TODAY for d in closed)


def test_open_filter_keeps_open_ended_calls_by_default(base: str) -> None:
    page = get(base, q="의료기기", open="1").text
    assert "총 90건" in page  # 60 with a deadline ahead + 30 상시 접수
    assert '<input type="checkbox" name="undated" id="undated" value="1" checked>' in page
    assert "총 60건" in get(base, q="의료기기", open="1", undated="0").text
    checked = requests.get(base + "/search?open=1&undated=0&undated=1", timeout=10).text  # hidden 0, box 1
    assert "총 90건" in checked
    assert '<span class="dday">마감</span>' not in page


def test_agency_filter(base: str) -> None:
    page = get(base, agency="보건 복지부", limit="100").text
    expected = [i for i in range(N) if agency(i) == "보건복지부"]
    assert f"총 {len(expected)}건" in page and numbers(page) == expected


def test_matched_words_are_highlighted_in_title_and_snippet(base: str) -> None:
    page = get(base, q="제조기업").text
    start = page.index('<td class="title">')
    row = page[start:page.index("</tr>", start)]
    assert "체외진단 <mark>의료기기</mark> 실증" in row  # the word the rule matched, in the title
    snippet = re.search(r'<div class="snippet">(.*?)</div>', row).group(1)
    assert snippet.startswith("…")  # the snippet is cut around the searched word
    assert "<mark>의료기기</mark> <mark>제조기업</mark> 및 연구기관" in snippet
    assert '<span class="rule" title="medical">의료기기<span class="words">' in row  # the rule's label, not its slug


def test_root_is_the_closing_soon_view(base: str) -> None:
    response = requests.get(base + "/", timeout=10)
    assert response.url == base + "/search?open=1&matched=1&sort=deadline"
    page = response.text
    assert "총 90건" in page and '<a href="/"  aria-current="page">' not in page
    assert 'aria-current="page">마감 임박</a>' in page
    assert due_dates(page)[0] == min(deadline(i, TODAY) for i in range(N) if i % 4 in (1, 3))


def test_freshness_line_links_to_status(base: str) -> None:
    line = re.search(r'<p class="fresh" id="freshness">(.*?)</p>', get(base).text).group(1)
    assert "마지막 수집 <span class=\"date\">2026-12-01 09:58</span>" in line
    assert '<a class="bad" href="/status">실패 중인 출처 1곳</a> (기업마당)' in line


def test_status_shows_every_configured_source_and_pending_alerts(base: str) -> None:
    page = get(base, "/status").text
    states = dict(re.findall(r'<tr id="source-([a-z]+)">.*?data-state="([a-z ]+)"', page))
    assert states == {"ntis": "ok", "bizinfo": "failing", "kstartup": "disabled", "seoul": "never polled"}
    bizinfo = re.search(r'<tr id="source-bizinfo">(.*?)</tr>', page).group(1)
    assert "fetch: HTTP 503 from www.bizinfo.go.kr (1회 연속)" in bizinfo and "60건" in bizinfo
    assert "2026-12-01 09:55" in bizinfo  # last success
    assert "2026-12-01 10:00" in bizinfo  # last new item (first seen)
    ntis = re.search(r'<tr id="source-ntis">(.*?)</tr>', page).group(1)
    assert "2026-12-01 10:05" in ntis  # next poll: last poll + 10m
    assert '<td class="title">#med</td><td class="num">90건</td>' in page  # closed calls are never alerted


def test_csv_export_has_bom_and_all_rows(base: str) -> None:
    korean = get(base, q="의료기기", format="csv")  # Korean headers by default, lang=en for English ones
    assert korean.content.startswith(b"\xef\xbb\xbf" + "게시일,마감일,D-day,제목,기관,출처,규칙,링크\r\n".encode())
    assert len(korean.content.decode("utf-8-sig").splitlines()) == N + 1 and ",마감," in korean.text
    response = get(base, q="의료기기", format="csv", lang="en")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbfpublished,deadline,D-day,title,agency,source name,rules,link")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == N
    first = rows[0]
    assert first == {"published": "2026-12-01 09:00", "deadline": "", "D-day": "", "title": title(0),
                     "agency": "보건복지부", "source name": "NTIS 국가R&D 사업공고", "rules": "의료기기",
                     "link": "https://example.go.kr/ntis/000"}
    assert rows[1]["D-day"] == "D-1" and rows[2]["D-day"] == "closed"


def test_json_export_is_the_whole_result(base: str) -> None:
    rows = get(base, q="의료기기", open="1", format="json").json()
    assert len(rows) == 90
    assert {"source", "id", "title", "link", "published", "deadline", "rules", "agency", "d_day"} <= set(rows[0])
    assert rows[0]["rules"] == ["medical"]


def test_atom_export_is_a_feed_a_reader_reads(base: str) -> None:
    response = get(base, q="의료기기", agency="보건복지부", format="atom")
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10" and len(feed.entries) == 40
    entry = feed.entries[0]
    assert entry.title == title(0) and entry.link == "https://example.go.kr/ntis/000"
    assert entry.id == "tag:gongmo-watcher,2026:ntis/a000" and entry.tags[0].term == "의료기기"
    assert feed.feed.links[0].href.startswith(base + "/search?") and "format=atom" in feed.feed.links[0].href
    page = get(base, q="의료기기").text
    assert '<link rel="alternate" type="application/atom+xml"' in page and 'id="export-atom"' in page


def test_calendar_link_subscribes_to_the_rules_deadlines(base: str) -> None:
    page = get(base, q="의료기기", rule="medical").text
    assert '<a href="/calendar.ics?rule=medical&amp;open=1" id="export-ics"' in page
    response = get(base, "/calendar.ics", rule="medical", open="1")
    assert response.headers["Content-Type"].startswith("text/calendar") and b"BEGIN:VEVENT" in response.content


def test_exports_carry_the_filters_of_the_page(base: str) -> None:
    page = get(base, q="의료기기", source="ntis", sort="deadline").text
    link = re.search(r'<a href="([^"]+)" id="export-csv">', page).group(1).replace("&amp;", "&")
    assert "source=ntis" in link and "sort=deadline" in link and "format=csv" in link
    assert len(requests.get(base + link, timeout=10).content.decode("utf-8-sig").splitlines()) == 61


def test_reversed_date_range_is_a_400_naming_it(base: str) -> None:
    response = requests.get(base + "/search", params={"since": "2026-12-01", "until": "2026-11-01"}, timeout=10)
    assert response.status_code == 400
    assert "날짜 범위가 거꾸로입니다: since 2026-12-01 이 until 2026-11-01 보다 늦습니다" in response.text


@pytest.mark.parametrize("key, day", [("until", "9999-12-31"), ("since", "0001-01-01")])
def test_out_of_range_date_is_a_400(base: str, key: str, day: str) -> None:
    response = requests.get(base + "/search", params={key: day}, timeout=10)
    assert response.status_code == 400 and f"{key} {day}: 1900-01-01부터 2999-12-31까지" in response.text


def test_unknown_format_is_a_400(base: str) -> None:
    response = requests.get(base + "/search", params={"format": "xlsx"}, timeout=10)
    assert response.status_code == 400 and "unknown format 'xlsx'" in response.text


def test_status_without_database_lists_configured_sources(tmp_path: Path) -> None:
    config = load_config(*write_config(tmp_path))
    app = make_app(tmp_path / "none.db", clock=lambda: NOW, config=config)
    seen: list[str] = []
    body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": "/status", "QUERY_STRING": ""},
                        lambda status, headers: seen.append(status))).decode()
    assert seen == ["200 OK"] and body.count('data-state="never polled"') == 3
    assert not (tmp_path / "none.db").exists()


def test_json_rows_match_store_order(base: str) -> None:
    rows = json.loads(get(base, q="의료기기", format="json").content)
    assert [r["id"] for r in rows] == [f"a{i:03d}" for i in range(N)]
