"""The shipped sources.yaml and the catalogue entries it includes, on pages modelled on their real markup.

The real captures themselves go through tests/test_real_captures.py, and every catalogue entry through
its own page in tests/test_catalog.py; these fixtures (tests/fixtures/boards/) are ours too, written in
the markup public scrapers recorded (README § Sources names them), so the entries are checked on a
fresh clone. Each entry is the catalogue's (watcher/config/catalog.yaml), as `include:` takes it.
"""

from __future__ import annotations

from pathlib import Path

from tests.shared import ROOT, real_capture
from watcher.config.catalog import entries
from watcher.config.load import check, load_sources
from watcher.models import Source
from watcher.parse import parse
from watcher.parse.dates import deadline_from_text
from watcher.parse.text import html_to_text

BOARDS = Path(__file__).parent / "fixtures" / "boards"
KEYS = {"DATA_GO_KR_KEY": "k", "BIZINFO_API_KEY": "k"}


def catalogue(tmp: Path) -> dict[str, Source]:
    """Every catalogue entry as the loader makes it of `include:`."""
    (tmp / "sources.yaml").write_text(f"include: [{', '.join(entries())}]\n", encoding="utf-8")
    return {s.id: s for s in load_sources(tmp / "sources.yaml", KEYS)}


def _shipped() -> dict[str, Source]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return catalogue(Path(tmp))


SHIPPED = _shipped()


def read(source: Source, fixture: str, content_type: str = "text/html; charset=utf-8") -> list:
    return parse(source, (BOARDS / fixture).read_bytes(), content_type, source.url)


def test_mohw_points_at_the_notice_board_and_reads_the_period_in_the_description():
    mohw = SHIPPED["mohw"]
    assert "mid=a10501010000&bid=0003" in mohw.url and "0027" not in mohw.url
    first, second = read(mohw, "mohw-rss-board-0003.xml", "application/rss+xml")
    assert first.title == "2027년 디지털헬스케어 실증지원사업 수행기관 공모"
    assert first.link == "https://www.mohw.go.kr/board.es?mid=a10501010000&bid=0003&list_no=1493010&act=view"
    assert first.published == "2026-11-23T10:30:00+09:00"
    assert first.deadline == "2026-12-07"  # `ㅇ 접수기간 : 2026. 11. 23.(월) 09:00부터 ~ 12. 7.(월) 18:00까지`
    assert "ㅇ 접수기간 : 2026. 11. 23.(월)" in first.summary and "ㅇ 문의 ㅣ 보건산업정책과" in first.summary
    assert second.title == "2027년도 필수의료 인력 수요조사 안내 …" and "① 조사 대상 ② 제출 방법" in second.summary
    assert second.deadline is None


def test_mfds_points_at_the_announcement_board_not_press_releases():
    mfds = SHIPPED["mfds"]
    assert mfds.url.endswith("brdId=ntc0004") and mfds.name.endswith("공고")


def test_mss_is_board_310_and_its_items_stay_apart_despite_the_shared_id_element():
    mss = SHIPPED["mss"]
    assert mss.url.endswith("/rss/smba/board/310.do")
    items = read(mss, "mss-rss-board-310.xml", "application/rss+xml")
    assert [a.title for a in items] == ["2027년 스마트공장 구축 지원사업 참여기업 모집공고",
                                        "「중소기업 기술혁신개발사업」 2027년 제1차 시행계획 공고"]
    assert [a.published for a in items] == ["2026-11-24T09:30:15+09:00", "2026-11-23T17:02:40+09:00"]
    assert len({a.id for a in items}) == 2  # every item has `<id>310</id>`: the board, not the item


def test_mss_items_stay_apart_on_the_feedparser_path_too():
    from watcher.parse.feed import feedparser_entries

    body = (BOARDS / "mss-rss-board-310.xml").read_bytes()
    raws = [raw for raw, _ in feedparser_entries(SHIPPED["mss"], body, body.decode("utf-8"))]
    assert [raw["id"] for raw in raws] == [None, None]  # a stray <id> is not a guid: the link decides


def test_innopolis_date_cell_gives_published_and_deadline():
    items = read(SHIPPED["innopolis"], "innopolis-newBusiness.html")
    assert [(a.title, a.published, a.deadline) for a in items] == [
        ("2027년 강소연구개발특구 기술사업화 지원사업 공고", "2026-11-24T00:00:00+09:00", "2026-12-15"),
        ("강소특구 기업 IR 데모데이 참가기업 모집 ㅣ 서울", "2026-11-18T00:00:00+09:00", "2026-11-30"),
    ]
    assert items[0].link == "https://www.innopolis.or.kr/newBusinessView?menuId=MENU01028&bbsId=20261124"


def test_gbtp_rows_link_through_the_onclick_template():
    gbtp = SHIPPED["gbtp"]
    assert gbtp.url == "https://www.gbtp.or.kr/user/board.do?bbsId=BBSMSTR_000000000021"
    items = read(gbtp, "gbtp-tablelist.html")
    assert [(a.title, a.link, a.published, a.deadline) for a in items] == [
        ("[경북] 2027년 의료기기 실증 지원사업 참여기업 모집 공고",
         "https://www.gbtp.or.kr/user/boardDetail.do?bbsId=BBSMSTR_000000000021&nttNo=11602",
         "2026-11-24T00:00:00+09:00", "2026-12-11"),
        ("2027년 ① 스마트제조 ② 디지털전환 컨설팅 수요조사 …",
         "https://www.gbtp.or.kr/user/boardDetail.do?bbsId=BBSMSTR_000000000021&nttNo=11598",
         "2026-11-20T00:00:00+09:00", "2026-11-27"),
    ]


def test_btp_reads_one_title_span_the_period_and_the_date():
    btp = SHIPPED["btp"]
    (item,) = read(btp, "btp-bdListTbl.html")
    assert item.title == "2027년 해양 디지털헬스 실증 지원사업 참여기업 모집 공고"  # once, whole, not cut to `...`
    assert item.link == "https://www.btp.or.kr/kor/CMS/Board/Board.do?mCode=MN013&mode=view&mgr_seq=16&board_seq=9581020"
    assert (item.published, item.deadline) == ("2026-11-23T00:00:00+09:00", "2026-12-14")


def test_every_html_entry_maps_title_and_link_and_names_its_agency():
    boards = [s for s in SHIPPED.values() if s.kind == "html"]
    assert {s.id for s in boards} >= {"innopolis", "gbtp", "btp", "khidi-calls", "iris", "gwtp"}
    for source in boards:
        assert {"title", "link"} <= set(source.fields) or "link_template" in source.fields, source.id
        assert source.agency or "agency" in source.fields or source.id == "technopark-kr", source.id


def test_the_shipped_sources_yaml_includes_a_default_set_and_passes_check(tmp_path):
    (tmp_path / "r.yaml").write_text("rules:\n  - name: r\n    any: [x]\n", encoding="utf-8")
    config, problems, notes = check(ROOT / "sources.yaml", tmp_path / "r.yaml", env={})
    assert problems == [] and config is not None
    ids = [s.id for s in config.sources]
    assert {"ntis", "iris", "bizinfo", "kstartup", "mohw", "khidi-calls", "htdream", "innopolis", "gwtp"} <= set(ids)
    assert all(entries()[i].verified != "unverified" or i == "mfds" for i in ids if i in entries())
    assert all("is disabled until" in n for n in notes)  # only sources waiting for a key
    text = (ROOT / "sources.yaml").read_text(encoding="utf-8")
    assert text.count("\n") < 80 and "include:" in text  # a short example, not the catalogue again


def test_btp_detail_page_capture_gives_its_application_deadline():
    text = html_to_text(real_capture("btp/bizsupport-itp_page.html").read_text(encoding="utf-8"))
    assert "접수기간 : 2025.04.04 ~ 2025.12.31" in text
    assert deadline_from_text(text) == "2025-12-31"
