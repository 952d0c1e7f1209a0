import codecs
from pathlib import Path

import pytest

from watcher.errors import ParseError
from watcher.models import Source
from watcher.parse import parse
from watcher.parse.text import decode

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
NTIS_URL = "https://www.ntis.go.kr/rndgate/unRndRss.xml?prt=100"


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def feed(url: str = "https://example.go.kr/rss.xml", **kw) -> Source:
    return Source(id="src", url=url, kind="feed", **kw)


def run(name: str, source: Source, content_type: str | None = "text/xml"):
    return parse(source, read(name), content_type, source.url)


# -- NTIS: the real capture ---------------------------------------------------------------------

NTIS = feed(NTIS_URL, fields={"deadline": "appdue", "agency": "author"})


def test_ntis_items_ids_and_links():
    items = run("ntis-unRndRss.xml", NTIS)
    assert len(items) == 10
    first = items[0]
    assert first.link == "https://www.ntis.go.kr/rndgate/eg/un/ra/view.do?roRndUid=1276553"
    assert first.id == first.link == first.canonical  # no guid: id is the canonical link
    assert len({a.id for a in items}) == 10
    assert all(a.source == "src" for a in items)


def test_ntis_dotted_dates_and_appdue_deadline():
    items = run("ntis-unRndRss.xml", NTIS)
    assert items[0].published == "2026-08-21T00:00:00+09:00"  # feedparser alone reads 2026-11-01
    assert items[0].deadline == "2026-09-21"
    assert items[2].published == "2026-08-20T00:00:00+09:00"
    assert items[2].deadline == "2026-08-26"
    assert items[9].published == "2026-08-12T00:00:00+09:00"


def test_ntis_title_entities_and_mapped_agency():
    items = run("ntis-unRndRss.xml", NTIS)
    assert items[0].title == "2026년 사회문제해결형 R&BD 지원사업 시행 공고"
    assert items[1].title == "2027년 소방안전R&D 통합 기술수요조사"
    assert items[0].agency == "과학기술정보통신부"
    assert items[1].agency == "산업통상부"


def test_ntis_category_as_agency():
    items = run("ntis-unRndRss.xml", feed(NTIS_URL, fields={"agency": "category"}))
    assert items[0].agency == "연구개발특구진흥재단"


def test_ntis_without_fields_has_no_deadline_or_agency():
    items = run("ntis-unRndRss.xml", feed(NTIS_URL))
    assert items[0].deadline is None  # appdue is read only when mapped; never invented
    assert items[0].agency is None  # author is not taken for the agency unless mapped


# -- other feed formats -------------------------------------------------------------------------


def test_atom_relative_links_html_title_and_summary():
    items = run("atom-relative-links.xml", feed("https://www.khidi.or.kr/rss?menuId=MENU00100"))
    a, b = items
    assert a.link == "https://www.khidi.or.kr/board/view?linkId=48821&menuId=MENU01108"
    assert a.id == "tag:khidi.or.kr,2026:board:48821"
    assert a.title == "2026년 의료기기 임상시험 지원사업 공고"  # <b> removed
    assert a.summary == "접수기간 : 2026.08.24(월) ~ 2026.09.11(금) 18:00 지원규모 : 과제당 최대 3억원"
    assert a.published == "2026-08-21T09:30:00+09:00"
    assert a.deadline == "2026-09-11"
    # no <published>: <updated> in UTC becomes Korea time; the fragment stays on the link only
    assert b.published == "2026-08-20T15:00:00+09:00"
    assert b.link.endswith("#top") and b.canonical.endswith("menuId=MENU01108")
    assert b.deadline == "2026-09-15"  # 신청 마감, not the 사업기간 before it
    assert "사업기간" in b.summary and "<p>" not in b.summary


def test_rss10_dc_date_and_creator():
    items = run("rss10-rdf-dc.xml", feed(fields={"agency": "dc:creator"}))
    a, b = items
    assert a.title == "2026년 예비창업패키지 추가 모집 공고"
    assert a.published == "2026-08-21T11:20:00+09:00"
    assert a.agency == "창업진흥원 예비창업팀"
    assert a.deadline == "2026-09-04"
    assert "utm_source" in a.link and "utm_source" not in a.canonical
    assert b.published == "2026-08-20T00:00:00+09:00"
    assert b.deadline is None  # 상시 접수


def test_rss091_without_dates():
    items = run("rss091-netscape-no-dates.xml", feed("http://www.mfds.go.kr/www/rss/brd.do?brdId=ntc0021"))
    a, b = items
    assert a.published is None and b.published is None
    assert a.id == "http://www.mfds.go.kr/brd/m_74/view.do?seq=44512&page=1"  # canonical: host, :80
    assert a.deadline is None  # 설명회 일시 is no deadline
    assert b.deadline == "2026-09-10"  # 제출기한 ... 까지, year given


@pytest.mark.parametrize("content_type", [None, "text/xml", "text/xml; charset=euc-kr",
                                          "application/rss+xml; charset=ks_c_5601-1987"])
def test_euckr_feed_keeps_cp949_syllables(content_type):
    items = run("rss20-euckr-cp949-syllables.xml", feed(), content_type)
    assert items[0].title == "[공고] 똠얌꿍 식품기업 햏사 지원사업 참여기업 모집 (뷁 브랜드 포함)"
    assert "똠방각하" in items[0].summary
    assert items[0].published == "2026-08-21T14:12:00+09:00"
    assert items[0].deadline == "2026-09-04"
    assert items[1].deadline == "2026-09-18"


def test_us_ascii_label_on_utf8_body():
    items = run("rss20-usascii-label-utf8-body.xml", feed(), "text/xml; charset=us-ascii")
    assert items[0].title == "중기부, 2026년 하반기 스마트공장 지원사업 공고"
    assert items[0].published == "2026-08-21T11:00:00+09:00"  # KST
    assert items[0].deadline == "2026-09-11"  # 8월 24일부터 9월 11일까지, year from published


def test_undefined_entity_is_not_an_error():
    items = run("rss20-undefined-entity.xml", feed(), "application/rss+xml; charset=utf-8")
    assert [a.id for a in items] == ["mohw-1487001", "mohw-1486990"]
    assert items[0].title == "2026년 바이오헬스 R&D 혁신 지원사업 공고"  # &nbsp; -> one space
    assert items[0].summary == "접수기간 : 2026.08.24 ~ 2026.09.18"
    assert items[0].deadline == "2026-09-18"
    assert items[1].published == "2026-08-20T18:00:00+09:00"
    assert items[1].deadline is None  # 예산 소진시까지


def test_truncated_feed_keeps_complete_items_only():
    items = run("rss20-truncated.xml", feed())
    assert [a.link for a in items] == [
        "https://www.etnews.com/20260821000123",
        "https://www.etnews.com/20260821000098",
    ]


def test_well_formed_feed_without_items_is_empty():
    assert run("rss20-empty-channel.xml", feed()) == []


@pytest.mark.parametrize(
    "name, content_type, message",
    [
        ("not-a-feed-maintenance.html", "text/html; charset=utf-8", "parse: not a feed: got an HTML page"),
        ("garbage.bin", None, "parse: not a feed: "),
        ("datagokr-key-not-registered.xml", "text/xml", "parse: API error 30: SERVICE_KEY_IS_NOT_REGISTERED_ERROR"),
        ("bizinfo-own-api-reqerr.json", "application/json", "parse: not a feed: got JSON"),
    ],
)
def test_not_a_feed(name, content_type, message):
    with pytest.raises(ParseError) as err:
        run(name, feed(), content_type)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_empty_body_is_not_a_feed():
    with pytest.raises(ParseError, match="^parse: not a feed: empty body$"):
        parse(feed(), b"", "text/xml", "https://example.go.kr/rss.xml")


def test_body_naming_a_file_is_not_opened():
    with pytest.raises(ParseError, match="not a feed"):
        parse(feed(), str(FIXTURES / "ntis-unRndRss.xml").encode(), None, "https://example.go.kr/rss.xml")


def test_forced_encoding_overrides_labels():
    body = read("rss20-euckr-cp949-syllables.xml").replace(b'encoding="euc-kr"', b'encoding="utf-8"')
    items = parse(feed(encoding="euc-kr"), body, "text/xml; charset=utf-8", "https://example.go.kr/rss.xml")
    assert items[0].title.startswith("[공고] 똠얌꿍")


def test_unknown_kind():
    with pytest.raises(ParseError, match="unknown source kind"):
        parse(Source(id="x", url="https://x.kr", kind="csv"), b"", None, "https://x.kr")  # type: ignore[arg-type]


# -- decode ------------------------------------------------------------------------------------

HANGUL = "공고 똠 햏 뷁"


@pytest.mark.parametrize(
    "body, declared, expected",
    [
        (HANGUL.encode("cp949"), "euc-kr", HANGUL),
        (HANGUL.encode("cp949"), "EUC-KR", HANGUL),
        (HANGUL.encode("cp949"), "ks_c_5601-1987", HANGUL),
        (HANGUL.encode("cp949"), "x-windows-949", HANGUL),
        (HANGUL.encode("cp949"), "text/html; charset=euc-kr", HANGUL),
        (HANGUL.encode("cp949"), None, HANGUL),  # no label at all: CP949 is tried
        (HANGUL.encode("cp949"), "us-ascii", HANGUL),  # wrong Western label on Korean bytes
        (HANGUL.encode("utf-8"), "us-ascii", HANGUL),  # korea.kr
        (HANGUL.encode("utf-8"), "iso-8859-1", HANGUL),
        (HANGUL.encode("utf-8"), "euc-kr", HANGUL),  # valid UTF-8 wins over any 8-bit label
        (HANGUL.encode("utf-8"), None, HANGUL),
        (codecs.BOM_UTF8 + HANGUL.encode("utf-8"), "euc-kr", HANGUL),
        (codecs.BOM_UTF16_LE + HANGUL.encode("utf-16-le"), None, HANGUL),
        ("café".encode("latin-1"), "iso-8859-1", "café"),
        ('<?xml version="1.0" encoding="euc-kr"?><a>똠</a>'.encode("cp949"), None,
         '<?xml version="1.0" encoding="euc-kr"?><a>똠</a>'),
        ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=euc-kr"></head>햏'
         .encode("cp949"), None,
         '<html><head><meta http-equiv="Content-Type" content="text/html; charset=euc-kr"></head>햏'),
        ("공고".encode()[:-1], None, "공"),  # cut off inside the last character
        (b"", None, ""),
    ],
)
def test_decode(body, declared, expected):
    assert decode(body, declared) == expected


def test_decode_forced():
    assert decode("똠".encode("cp949"), "utf-8", forced="euc-kr") == "똠"


# -- fast path (lxml) and feedparser agree ------------------------------------------------------

FAST_FIXTURES = [
    "ntis-unRndRss.xml", "atom-relative-links.xml", "atom-xml-base-xhtml-content.xml", "rss10-rdf-dc.xml",
    "rss20-euckr-cp949-syllables.xml", "rss20-usascii-label-utf8-body.xml", "rss20-empty-channel.xml",
    "rss20-guid-permalink-no-link.xml", "rss20-cdata-html-title-content-encoded.xml", "rss091-no-doctype.xml",
]
SLOW_FIXTURES = ["rss20-truncated.xml", "rss20-undefined-entity.xml", "rss091-netscape-no-dates.xml"]
FIELD_MAPS = [
    {},
    {"deadline": "appdue", "agency": "author"},
    {"agency": "category"},
    {"agency": "dc:creator", "published": "dc:date"},
    {"title": "title", "link": "link", "id": "guid", "summary": "description", "agency": "dc:subject"},
]


def _entries_used(name: str) -> bool:
    from watcher.parse import feed as feed_module
    from watcher.parse.fastfeed import read_entries

    text = decode(read(name), None)
    return read_entries(feed_module._XML_DECL.sub("", text, count=1).encode(), {}) is not None


@pytest.mark.parametrize("name", FAST_FIXTURES)
def test_fast_path_reads_well_formed_feeds(name):
    assert _entries_used(name)


@pytest.mark.parametrize("name", SLOW_FIXTURES)
def test_feedparser_reads_the_rest(name):
    assert not _entries_used(name)


@pytest.mark.parametrize("fields", FIELD_MAPS, ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()) or "none")
@pytest.mark.parametrize("name", FAST_FIXTURES)
def test_fast_path_equals_feedparser(name, fields, monkeypatch):
    from watcher.parse import feed as feed_module

    source = feed("https://www.example.go.kr/rss/feed.xml?prt=1", fields=fields)
    fast = run(name, source, None)
    monkeypatch.setattr(feed_module, "read_entries", lambda data, fields: None)
    slow = run(name, source, None)
    assert fast == slow


def test_permalink_guid_is_the_link():
    items = run("rss20-guid-permalink-no-link.xml", feed("https://www.example.go.kr/rss/feed.xml"))
    assert [(a.id, a.link) for a in items] == [
        ("https://www.example.go.kr/view/1", "https://www.example.go.kr/view/1"),
        ("/view/2", "https://www.example.go.kr/view/2"),  # the id as written, the link absolute
        ("abc-3", "https://www.example.go.kr/rss/view/3?a=1&b=2"),  # isPermaLink="false": not a link
        ("/view/4", None),  # isPermaLink must be exactly "true" (feedparser reads it so)
    ]
    assert items[0].published == "2026-08-21T15:38:29+09:00"


def test_cdata_html_title_and_content_encoded():
    items = run("rss20-cdata-html-title-content-encoded.xml", feed(fields={"agency": "category"}))
    a, b, c, d = items
    assert a.title == "[공고] 2026년 R&D 과제 <AI 바우처>"
    assert a.summary == "접수기간: 2026.09.01 ~ 2026.09.30"  # content:encoded, script dropped
    assert a.agency == "의료, R&D"  # every category
    assert a.published == "2026-08-21T09:00:00+09:00"  # dc:date
    assert b.title == "R&D 이중 이스케이프" and b.summary == "본문"
    assert c.title == "제목 없는 항목 요약"  # no title: the summary's start
    assert d.link is None and len(d.id) == 40


def test_atom_xml_base_and_xhtml():
    items = run("atom-xml-base-xhtml-content.xml", feed(fields={"agency": "author"}))
    a, b, c = items
    assert a.link == "https://www.khidi.or.kr/board/view?id=1"  # rel=enclosure skipped, xml:base applied
    assert a.title == "A & B <의료기기>"  # type="text": no markup removed
    assert a.summary == "신청기간: 2026. 8. 24.(월) ~ 9. 11.(금) 하나 둘"
    assert a.agency == "의료기기팀"
    assert b.link == "https://other.kr/x/2"  # the entry's own xml:base
    assert b.title == "HTML & 제목"
    assert b.summary == "내용"  # blank <summary>: the content
    assert b.published == "2026-08-20T10:00:00+09:00"  # <published> before <updated>
    assert c.link is None and c.id == "urn:uuid:1"
