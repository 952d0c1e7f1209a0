"""Every real capture (../shared/samples/real/) through the catalogue entry that covers it.

Each capture is served from 127.0.0.1 at the path of the real address; the entry of the shipped
catalogue (watcher/config/catalog.yaml), only its URL replaced, is polled by one `watcher once`;
what was stored is compared with what the page publishes, read here independently (regular
expressions, the standard library's XML and JSON readers): titles as published (entities decoded,
white space collapsed), absolute links, published dates, deadlines where the page shows a period,
agency where the entry maps one.
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from tests.e2e import Watcher
from tests.feed_server import FeedServer
from tests.shared import real_dir
from watcher.config.catalog import entry
from watcher.store import Store

KST = ZoneInfo("Asia/Seoul")
HTML = "text/html;charset=UTF-8"
GNEWS = "application/xml; charset=UTF-8"
# (capture, catalogue id, id in the test's sources.yaml, content type); a capture may go through several
CAPTURES = [
    ("ntis/unRndRss-원문.xml", "ntis", "ntis", "text/xml;charset=UTF-8"),
    ("kstartup/bizradar-announcement_list_sample.json", "kstartup", "kstartup", "application/json"),
    ("kstartup/jarimaegim-kstartup.sample.json", "kstartup", "kstartup-cut", "application/json"),
    ("bizinfo/jarimaegim-bizinfo.sample.xml", "bizinfo", "bizinfo", "text/xml;charset=UTF-8"),
    ("bizinfo-api/bizradar-api_response_sample.json", "bizinfo-api", "bizinfo-api", "application/json"),
    ("msit-api/g-crawler-msit_data.json", "msit", "msit", "application/json;charset=UTF-8"),
    ("g2b/bizradar-bid_list_servc_sample.json", "g2b-servc", "g2b-servc", "application/json"),
    ("gbtp/bizsupport-output-gbtp-page_1.html", "gbtp", "gbtp", HTML),
    ("btp/bizsupport-btp_list.html", "btp", "btp", HTML),
    ("gnews/hansoljj-google_news_rss.sample.xml", "gnews-gangso", "gnews", GNEWS),
    ("gnews/hansoljj-google_news_rss.sample.xml", "gnews-health", "gnews-health", GNEWS),
    ("gnews/hansoljj-google_news_rss.sample.xml", "gnews-devices", "gnews-devices", GNEWS),
]
# captures that no test feeds through a source yet, each with the issue that covers it; an entry
# leaves this list when its issue feeds the capture through its source (prefixes of relative paths)
NOT_YET_COVERED: tuple[str, ...] = ()
# captures fed through something else than a catalogue list entry, and the tests that feed them
FED_ELSEWHERE = {
    "btp/bizsupport-itp_page.html": "tests/test_real_details.py: the btp entry's detail: (and the whole call read)",
    "itp/btp_scraper-itp_detail_9635.html": "tests/test_real_details.py: the itp entry's detail:",
    "attachments/": "tests/test_extract_real.py: every HWP/HWPX/PDF read as polling reads it",
}


def msit_envelope(body: bytes) -> bytes:
    """The 과기정통부 capture holds the items only (its author took each `{"item": {...}}` out of the
    answer); they go back into the envelope the API sends — `response` a list [{header}, {body}], each
    item wrapped — as another author's live test records it (PROVENANCE.md), so the entry reads them
    exactly as it reads the API."""
    items = json.loads(body)
    return json.dumps({"response": [{"header": {"resultCode": "00", "resultMsg": "NORMAL_CODE"}},
                                    {"body": {"items": [{"item": item} for item in items], "numOfRows": 10,
                                              "pageNo": "1", "totalCount": len(items)}}]},
                      ensure_ascii=False).encode("utf-8")


SERVED = {"msit-api/g-crawler-msit_data.json": msit_envelope}
RULES = "rules:\n  - name: everything\n    any: [\"re:.\"]\n"


def shown(text: str | None) -> str:
    """Text as the contract says it is shown: entities decoded, runs of white space one space."""
    return " ".join(html.unescape(text or "").split())


def day(text: str) -> str:
    """`2025-04-23`, `2025.04.23`, `20250423`, `2026-07-27 14:39:34` -> the ISO day."""
    m = re.search(r"(\d{4})[.-]?(\d{2})[.-]?(\d{2})", text)
    assert m, text
    return "-".join(m.groups())


def period_end(text: str) -> str | None:
    ends = re.findall(r"(\d{4})[.-](\d{2})[.-](\d{2})", text.split("~", 1)[1]) if "~" in text else []
    return "-".join(ends[0]) if ends else None


@pytest.fixture(scope="module")
def polled(tmp_path_factory):
    """One `watcher once` over every capture; -> (store, server base, watcher)."""
    real = real_dir()
    folder = tmp_path_factory.mktemp("real")
    with FeedServer() as server:
        entries = []
        for name, source_id, test_id, content_type in CAPTURES:
            settings = dict(entry(source_id).settings)  # the catalogue entry, as `include:` takes it
            real_url = urlsplit(settings["url"])
            # the real path and query (keys dropped): relative links resolve as on the site
            path = real_url.path if real_url.path not in server.routes else f"/{test_id}{real_url.path}"
            body = (real / name).read_bytes()
            server.set(path, SERVED.get(name, lambda b: b)(body), content_type=content_type)
            query = "&".join(p for p in real_url.query.split("&") if "${" not in p)
            settings.update(id=test_id, url=server.base + path + (f"?{query}" if query else ""))
            entries.append(settings)
        w = Watcher(folder)
        w.write("sources.yaml", json.dumps({"sources": entries}, ensure_ascii=False, indent=1))  # JSON is YAML
        w.write("rules.yaml", RULES)
        done = w("once")
        assert done.returncode == 0, done.stderr
        store = Store(folder / "db" / "watcher.db")
        yield store, server.base, w
        store.close()


def stored(polled, source: str) -> list:
    store = polled[0]
    return sorted(store.announcements(source=source), key=lambda a: a.link or a.id)


def by_link(polled, source: str) -> dict:
    return {a.link: a for a in stored(polled, source)}


# ---- 경북테크노파크: onclick links through link_template, published from the third cell ---------


def gbtp_rows(text: str) -> list[tuple[str, str, str, str]]:
    """(nttNo, title, published day, term) per row of the capture's table.tablelist."""
    table = text[text.index('<table class="tablelist">'):]
    table = table[: table.index("</table>")]
    rows = re.findall(
        r"fn_detail\('(\d+)','\d+'\)\">(.*?)</a>\s*</td>.*?<td>\s*([\d-]+)\s*</td>.*?<td class=\"term\">([^<]*)</td>",
        table, re.S)
    return [(n, shown(title), d, term) for n, title, d, term in rows]


def test_gbtp_yields_ten_of_ten_links_dates_and_deadlines(polled):
    rows = gbtp_rows((real_dir() / "gbtp/bizsupport-output-gbtp-page_1.html").read_text(encoding="utf-8"))
    assert len(rows) == 10
    got = by_link(polled, "gbtp")
    base = polled[1]
    assert len(got) == 10
    for ntt_no, title, published, term in rows:
        ann = got[f"{base}/user/boardDetail.do?bbsId=BBSMSTR_000000000021&nttNo={ntt_no}"]
        assert ann.title == title
        assert ann.published == f"{published}T00:00:00+09:00"
        assert ann.deadline == period_end(term)
    first = got[f"{base}/user/boardDetail.do?bbsId=BBSMSTR_000000000021&nttNo=9948"]
    assert (first.title, first.published, first.deadline) == (
        "[글로벌강소기업] 2025년 지역자율 프로그램 모집공고(기존 지정기업)", "2025-04-23T00:00:00+09:00", "2025-04-30")


def test_gbtp_first_poll_alerts_none_of_its_2025_calls(polled):
    store = polled[0]
    matched = store.db.execute("SELECT count(*) FROM matches WHERE source = 'gbtp'").fetchone()[0]
    alerts = store.db.execute("SELECT count(*) FROM alerts WHERE source = 'gbtp'").fetchone()[0]
    assert (matched, alerts) == (10, 0)  # matched by the catch-all rule, but dated April 2025: past max_age


# ---- 부산테크노파크: one of the two title spans, period cell -----------------------------------


def test_btp_titles_are_not_doubled_and_carry_dates_and_deadlines(polled):
    text = (real_dir() / "btp/bizsupport-btp_list.html").read_text(encoding="utf-8")
    table = text[text.index('<table class="bdListTbl">'):]
    rows = re.findall(
        r"<a href='([^']+)'>\s*<span class=\"titleHover\">([^<]*)</span>\s*<span class=\"subjectWr\">[^<]*</span>"
        r".*?<td class=\"period\">(.*?)</td>.*?<td class=\"date\">([^<]*)</td>",
        table[: table.index("</table>")], re.S)
    assert len(rows) >= 10
    got = by_link(polled, "btp")
    page = polled[1] + "/kor/CMS/Board/Board.do"
    assert len(got) == len({href for href, *_ in rows})
    for href, title, period, published in rows:
        ann = got[page + html.unescape(href)]
        assert ann.title == shown(title)
        assert ann.published == f"{day(published)}T00:00:00+09:00"
        assert ann.deadline == period_end(re.sub(r"<[^>]+>", " ", period))
    technodoctor = got[page + "?mCode=MN013&mode=view&mgr_seq=16&board_seq=9579787"]
    assert technodoctor.title == "2025년 산업기술단지 거점기능강화사업 「현장애로지원 기술닥터제 수요기업」 모집 공고"
    assert (technodoctor.published, technodoctor.deadline) == ("2025-04-04T00:00:00+09:00", "2025-12-31")
    standup = got[page + "?mCode=MN013&mode=view&mgr_seq=16&board_seq=9579896"]
    assert standup.title.endswith("Stand-up 맞춤지원 참여기업 모집 공고(상반기)")  # whole, not the list's `공고...`


# ---- NTIS RSS: appdue deadline, category agency; agency searchable -------------------------------


def test_ntis_items_carry_deadline_and_agency(polled):
    root = ET.parse(real_dir() / "ntis/unRndRss-원문.xml").getroot()
    items = root.findall("channel/item")
    got = by_link(polled, "ntis")
    assert len(items) == len(got) == 10
    for item in items:
        ann = got[item.findtext("link")]
        assert ann.title == shown(item.findtext("title"))
        assert ann.published == f"{day(item.findtext('pubDate'))}T00:00:00+09:00"
        assert ann.deadline == item.findtext("appdue")
        assert ann.agency == item.findtext("category")
    assert got["https://www.ntis.go.kr/rndgate/eg/un/ra/view.do?roRndUid=1276553"].title == (
        "2026년 사회문제해결형 R&BD 지원사업 시행 공고")


def test_search_by_agency_name_finds_the_agencys_calls(polled):
    store, _, w = polled
    wanted = {a.id for a in stored(polled, "ntis") if a.agency == "연구개발특구진흥재단"}
    assert wanted
    rows = w.json("search", "연구개발특구진흥재단", "--limit", "100")
    assert wanted <= {r["id"] for r in rows if r["source"] == "ntis"}
    assert {r["id"] for r in store.search("", agency="연구개발특구진흥재단", limit=100)} == wanted
    assert {r["id"] for r in w.json("search", "", "--agency", "연구개발특구 진흥재단", "--limit", "100")} == wanted


# ---- K-Startup, 기업마당 (data.go.kr XML and the portal's own JSON API) --------------------------


@pytest.mark.parametrize("name, source", [("kstartup/bizradar-announcement_list_sample.json", "kstartup"),
                                          ("kstartup/jarimaegim-kstartup.sample.json", "kstartup-cut")])
def test_kstartup_items_as_published(polled, name, source):
    data = json.loads((real_dir() / name).read_text(encoding="utf-8"))["data"]
    got = {a.id: a for a in stored(polled, source)}
    assert len(got) == len(data)
    for item in data:
        ann = got[str(item["pbanc_sn"])]
        assert ann.title == shown(item["biz_pbanc_nm"])
        assert ann.link == item["detl_pg_url"]
        assert ann.published == f"{day(item['pbanc_rcpt_bgng_dt'])}T00:00:00+09:00"
        assert ann.deadline == day(item["pbanc_rcpt_end_dt"])
        assert ann.agency == shown(item["pbanc_ntrp_nm"])


def test_kstartup_entities_in_json_strings_are_decoded_once(polled):
    titles = " ".join(a.title + " " + a.summary for a in stored(polled, "kstartup-cut"))
    assert "&apos;" not in titles and "&#40;" not in titles


def _bizinfo_expectations(item: dict) -> tuple[str, str, str | None, str]:
    return (shown(item["pblancNm"]), f"{item['creatPnttm'].replace(' ', 'T')}+09:00",
            period_end(item["reqstBeginEndDe"]), item["jrsdInsttNm"])


def test_bizinfo_xml_response_read_by_the_json_entry(polled):
    root = ET.parse(real_dir() / "bizinfo/jarimaegim-bizinfo.sample.xml").getroot()
    items = [{child.tag: child.text or "" for child in item} for item in root.iter("item")]
    got = {a.id: a for a in stored(polled, "bizinfo")}
    assert len(items) == len(got) == 3
    for item in items:
        ann = got[item["pblancId"]]
        assert (ann.title, ann.published, ann.deadline, ann.agency) == _bizinfo_expectations(item)
        assert ann.link == item["pblancUrl"]
        assert "<p>" not in ann.summary and "&amp;" not in ann.summary  # escaped HTML made plain text
        assert ("R&amp;D" in item["bsnsSumryCn"]) == ("R&D" in ann.summary)


def test_bizinfo_own_api_items_and_budget_bound_period(polled):
    items = json.loads((real_dir() / "bizinfo-api/bizradar-api_response_sample.json").read_text(
        encoding="utf-8"))["jsonArray"]
    got = {a.id: a for a in stored(polled, "bizinfo-api")}
    assert len(items) == len(got)
    for item in items:
        ann = got[item["pblancId"]]
        assert (ann.title, ann.published, ann.deadline, ann.agency) == _bizinfo_expectations(item)
    assert any("소진" in item["reqstBeginEndDe"] and got[item["pblancId"]].deadline is None for item in items)


# ---- Google News RSS -------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["gnews", "gnews-health", "gnews-devices"])
def test_google_news_items_keep_titles_links_and_dates(polled, source):
    items = ET.parse(real_dir() / "gnews/hansoljj-google_news_rss.sample.xml").getroot().findall("channel/item")
    got = by_link(polled, source)
    assert len(items) == len(got) > 0
    for item in items:
        ann = got[item.findtext("link")]
        assert ann.title == shown(item.findtext("title"))
        when = parsedate_to_datetime(item.findtext("pubDate")).astimezone(KST)
        assert ann.published == when.isoformat(timespec="seconds")
        assert ann.agency is None  # a news site is not an agency: nothing is mapped


# ---- 과기정통부 사업공고 (data.go.kr): 390 real items, fixed agency ----------------------------------


def test_msit_items_as_published_with_the_ministry_as_agency(polled):
    items = json.loads((real_dir() / "msit-api/g-crawler-msit_data.json").read_text(encoding="utf-8"))
    got = by_link(polled, "msit")
    assert len(items) == len(got) == 390
    for item in items:
        ann = got[item["viewUrl"]]
        assert ann.title == shown(item["subject"])
        assert ann.published == f"{item['pressDt']}T00:00:00+09:00"
        assert ann.agency == "과학기술정보통신부"  # deptName is a 과 of the ministry, not the agency
        assert ann.id == ann.link  # the canonical link: viewUrl carries no volatile parameter
    first = got["https://www.msit.go.kr/bbs/view.do?sCode=user&mId=311&mPid=121&bbsSeqNo=100&nttSeqNo=3186459"]
    assert first.title == "2026년도 「환태평양 연구협력 이니셔티브 지원사업」 신규과제 공모"


def test_msit_calls_are_found_by_the_ministry_name(polled):
    rows = polled[2].json("search", "과학기술정보통신부", "--source", "msit", "--limit", "10000")
    assert len(rows) == 390


# ---- 나라장터 용역 입찰 (data.go.kr): bid number id, closing time as deadline ------------------------


def test_g2b_bids_carry_their_number_closing_day_and_agency(polled):
    items = json.loads((real_dir() / "g2b/bizradar-bid_list_servc_sample.json").read_text(
        encoding="utf-8"))["response"]["body"]["items"]
    got = {a.id: a for a in stored(polled, "g2b-servc")}
    assert len(items) == len(got) == 5
    for item in items:
        ann = got[item["bidNtceNo"]]
        assert ann.title == shown(item["bidNtceNm"])
        assert ann.link == item["bidNtceDtlUrl"]
        assert ann.published == item["bidNtceDt"].replace(" ", "T") + "+09:00"
        assert ann.deadline == (day(item["bidClseDt"]) if item["bidClseDt"] else None)
        assert ann.agency == item["ntceInsttNm"]
    assert got["R26BK01664082"].deadline == "2026-08-18"


def test_every_capture_that_a_catalogue_entry_covers_is_fed_through_it():
    real = real_dir()
    covered = {name for name, *_ in CAPTURES}
    on_disk = {str(p.relative_to(real)) for p in real.rglob("*") if p.is_file() and p.name != "PROVENANCE.md"}
    elsewhere = {name for name in on_disk if name.startswith(tuple(FED_ELSEWHERE))}
    pending = {name for name in on_disk if name.startswith(NOT_YET_COVERED)}
    assert on_disk - elsewhere - pending == covered, (on_disk - elsewhere - pending) ^ covered
    assert len({n for n in elsewhere if n.startswith("attachments/")}) == 30
    assert all(Path(real / name).stat().st_size for name in covered)
