"""The real detail pages (../shared/samples/real/) through the catalogue entries' `detail:`.

부산TP (`btp/bizsupport-itp_page.html`, the 「현장애로지원 기술닥터제 수요기업」 call of the btp list
capture) through the btp entry: its text, its 접 수 기 간 line, its two file links; then the whole call
read from a local server at the addresses of the real site, its files being the real ones the board
linked (`attachments/` r05 공고문, r06 신청서): the 공고문 read, the form listed and never fetched, the
deadline from the page's period. 인천TP (`itp/btp_scraper-itp_detail_9635.html`, a
`javascript:fncFileDownload('bbs','…pdf')` board) through the itp entry.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.attachments import real_file
from tests.feed_server import FeedServer
from tests.shared import ROOT, real_capture
from tests.test_shipped_sources import SHIPPED
from watcher.fetch.poll import make_session
from watcher.models import Source
from watcher.parse import parse
from watcher.parse.dates import parse_period
from watcher.parse.detail import read_page
from watcher.pipeline.details import read_call

BTP_PAGE = "https://www.btp.or.kr/kor/CMS/Board/Board.do?mCode=MN013&mode=view&mgr_seq=16&board_seq=9579787"
BTP_FILES = ("/kor/ajx_json/UploadMgr/downloadRun.do?qcode=Qm9hcmQsMjg1MjcsWQ==",  # (공고문) … 모집.hwp = r05
             "/kor/ajx_json/UploadMgr/downloadRun.do?qcode=Qm9hcmQsMjg1MjgsWQ==")  # (양식) … 신청서(기업용).hwp = r06


def test_btp_detail_page_gives_body_period_and_file_links():
    btp = SHIPPED["btp"]
    assert btp.detail is not None
    page = read_page(btp.detail, real_capture("btp/bizsupport-itp_page.html").read_bytes(), "text/html", BTP_PAGE)
    lines = page.body.split("\n")
    assert lines[0].startswith("2025년도 중소벤처기업부와 부산광역시가 지원하는 산업기술단지 거점기능강화사업")
    assert "지 원 대 상 기술·경영상의 애로를 겪고 있는 부산시 소재 중소·중견기업" in lines
    assert "※ 접수기간 : 2025.04.04 ~ 2025.12.31(예산소진 시 마감)" in lines
    assert "첨부파일" not in page.body and "이전글" not in page.body  # the file list and navigation stay out
    assert page.period == "접 수 기 간 2025.04.04(금) 09:00 ~ 2025.12.31(수) 18:00"
    assert parse_period(page.period) == "2025-12-31"
    assert [(f.name, f.url) for f in page.files] == [
        ("(공고문) 2025년 현장애로지원 기술닥터제 수요기업 모집.hwp", "https://www.btp.or.kr" + BTP_FILES[0]),
        ("(양식) 기술닥터제 신청서(기업용).hwp", "https://www.btp.or.kr" + BTP_FILES[1])]


def test_itp_detail_page_gives_body_period_and_script_file_links():
    itp = SHIPPED["itp"].detail
    assert itp is not None
    page = read_page(itp, real_capture("itp/btp_scraper-itp_detail_9635.html").read_bytes(), "text/html",
                     "https://itp.or.kr/intro.asp?tmid=13&seq=9635")
    assert page.body == "[디지털기술융합센터]2025년 디지털기술융합센터 입주기업 모집공고(상시)"  # the rest is images
    assert page.period == "상시" and parse_period(page.period) is None  # open until filled: no deadline
    assert [(f.name, f.url) for f in page.files] == [
        ("붙임 2025년 디지털기술융합센터 입주기업 모집공고(상시모집).pdf",
         "https://itp.or.kr/common/COM_FILEDOWN.ASP?a=bbs&b=2506041433210596508204.pdf"),
        ("붙임 입주신청서 외 제출양식.hwp",
         "https://itp.or.kr/common/COM_FILEDOWN.ASP?a=bbs&b=2506041433210513648628.hwp")]


@pytest.fixture()
def btp_site():
    """The btp list, the technodoctor call's page and its two real files at the real site's paths."""
    with FeedServer() as server:
        html = "text/html;charset=UTF-8"
        server.set("/kor/CMS/Board/Board.do?mCode=MN013", real_capture("btp/bizsupport-btp_list.html").read_bytes(),
                   content_type=html)
        server.set(BTP_PAGE.removeprefix("https://www.btp.or.kr"),
                   real_capture("btp/bizsupport-itp_page.html").read_bytes(), content_type=html)
        for path, prefix in zip(BTP_FILES, ("r05", "r06"), strict=True):
            server.set(path, real_file(prefix).read_bytes(), content_type="application/octet-stream")
        yield server


def test_btp_call_is_read_whole_from_the_shipped_entry(btp_site):
    btp = replace(SHIPPED["btp"], url=btp_site.url("/kor/CMS/Board/Board.do?mCode=MN013"), timeout=10.0)
    listed = parse(btp, btp_site.routes["/kor/CMS/Board/Board.do?mCode=MN013"].body, "text/html", btp.url)
    call = next(a for a in listed if a.link == btp_site.base + BTP_PAGE.removeprefix("https://www.btp.or.kr"))
    assert call.deadline == "2025-12-31"  # from the list's period column
    reading = read_call(btp, replace(call, deadline=None), make_session())  # as if the list had none
    assert reading.error is None
    assert reading.deadline == "2025-12-31" and reading.deadline_from == "period"
    notice, form = reading.files
    assert notice.name == "(공고문) 2025년 현장애로지원 기술닥터제 수요기업 모집.hwp"
    assert (notice.type, notice.error) == ("hwp", None)
    assert notice.size == real_file("r05").stat().st_size and notice.chars > 1500 and "기술닥터" in notice.text
    assert (form.name, form.note, form.text) == ("(양식) 기술닥터제 신청서(기업용).hwp", "form: not read", None)
    assert not btp_site.hits_for(BTP_FILES[1])  # a form is never fetched
    assert reading.info["period"] == ("접수기간", "2025.04.04 ~ 2025.12.31(예산소진 시 마감)")
    assert reading.info["target"] == ("지원대상", "기술·경영상의 애로를 겪고 있는 부산시 소재 중소·중견기업")


def test_a_page_on_another_site_is_not_read(btp_site):
    btp = replace(SHIPPED["btp"], url="https://www.btp.or.kr/kor/CMS/Board/Board.do?mCode=MN013")
    call = parse(btp, btp_site.routes["/kor/CMS/Board/Board.do?mCode=MN013"].body, "text/html", btp_site.base)[0]
    reading = read_call(btp, call, make_session())  # the link is on 127.0.0.1, the source on www.btp.or.kr
    assert reading.error == "detail: the link is not on the source's site; page not read"
    assert reading.files == [] and btp_site.hits == []


def test_the_source_config_is_what_the_docs_show():
    docs = (ROOT / "docs" / "CONFIG.md").read_text(encoding="utf-8")
    assert 'file_template: "/common/COM_FILEDOWN.ASP?a={0}&b={1}"' in docs  # the 인천TP example above
    assert isinstance(SHIPPED["btp"], Source)


@pytest.mark.parametrize("source_id, capture, content_type", [
    ("bizinfo-api", "bizinfo-api/bizradar-api_response_sample.json", "application/json"),
    ("bizinfo", "bizinfo/jarimaegim-bizinfo.sample.xml", "text/xml;charset=UTF-8"),
])
def test_shipped_bizinfo_entries_give_each_item_its_files_notice_first(source_id, capture, content_type):
    source = SHIPPED[source_id]
    items = parse(source, real_capture(capture).read_bytes(), content_type, source.url)
    assert items and all(item.files for item in items)
    for item in items:  # the 공고 원문 first, then the others; each a bizinfo.go.kr download
        assert all(url.startswith("https://www.bizinfo.go.kr/cmm/fms/getImageFile.do?atchFileId=FILE_")
                   for _, url in item.files)
    assert items[0].files[0][0] in ("경기지역_10월_동행축제_소상공인_라이브커머스_참가기업_모집공고.pdf",
                                    "공고문. 대학-기업 공동 기술 · 제품 기획지원.hwpx")


def test_shipped_msit_entry_gives_each_item_its_files():
    from tests.test_real_captures import msit_envelope

    source = SHIPPED["msit"]
    items = parse(source, msit_envelope(real_capture("msit-api/g-crawler-msit_data.json").read_bytes()),
                  "application/json", source.url)
    assert len(items) == 390 and sum(1 for item in items if not item.files) == 4  # four items list no files
    first = next(item for item in items if item.link and item.link.endswith("nttSeqNo=3186459"))
    assert [name for name, _ in first.files] == [
        "[붙임1] 2026년도 환태평양 연구협력 이니셔티브 사업 공고문(안).hwpx",
        "[붙임1] 2026년도 환태평양 연구협력 이니셔티브 사업 공고문(안).odt",
        "[붙임1] 2026년도 환태평양 연구협력 이니셔티브 사업 공고문(안).hwp", "[붙임2] 제출 양식.zip"]


def test_an_override_turns_the_reading_off(tmp_path):
    from watcher.config.load import load_sources

    (tmp_path / "s.yaml").write_text("include: [btp, itp]\nsources:\n  - id: btp\n    detail: null\n", encoding="utf-8")
    sources = {s.id: s for s in load_sources(tmp_path / "s.yaml", {})}
    assert sources["btp"].detail is None and sources["itp"].detail == SHIPPED["itp"].detail
