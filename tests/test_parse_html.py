from pathlib import Path

import pytest

from watcher.errors import ParseError
from watcher.models import Source
from watcher.parse import parse
from watcher.parse.text import clean_text, html_to_text

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
GBTP_URL = "https://www.gbtp.or.kr/board.es?mid=a10301000000&bid=0006"
GBTP = Source(
    id="gbtp",
    kind="html",
    url=GBTP_URL,
    items="table.board_list tbody tr",
    fields={"title": "td.subject a", "link": "td.subject a@href", "published": "td.date", "agency": "td.writer"},
)
INNOPOLIS_URL = "https://www.innopolis.or.kr/newBusiness?menuId=MENU01028"


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.mark.parametrize("content_type", [None, "text/html", "text/html; charset=EUC-KR"])
def test_euckr_board(content_type):
    items = parse(GBTP, read("board-euckr-table-jsessionid.html"), content_type, GBTP_URL)
    assert [a.title for a in items] == [
        "[공고] 똠얌꿍 식품기업 햏사 지원사업 참여기업 모집",
        "2026년 경북 의료기기 실증 지원사업 공고 (접수기간: 2026.08.20 ~ 2026.09.18)",
        "2026년 뿌리기업 공정개선 지원 참여기업 모집(상시)",
    ]


def test_board_links_are_absolute():
    items = parse(GBTP, read("board-euckr-table-jsessionid.html"), "text/html", GBTP_URL)
    # ;jsessionid= dropped, &amp; unescaped, ./ and / resolved against the page
    assert items[0].link == "https://www.gbtp.or.kr/board.es?mid=a10301000000&bid=0006&list_no=23011&act=view"
    assert items[1].link == (
        "https://www.gbtp.or.kr/board.es?mid=a10301000000&bid=0006&list_no=23009&act=view&utm_source=main"
    )
    assert items[1].canonical == "https://www.gbtp.or.kr/board.es?mid=a10301000000&bid=0006&list_no=23009&act=view"
    assert items[2].link == "https://www.gbtp.or.kr/board.es?mid=a10301000000&bid=0006&list_no=22987&act=view"
    assert [a.id for a in items] == [a.canonical for a in items]


def test_board_dotted_dates_deadline_and_agency():
    items = parse(GBTP, read("board-euckr-table-jsessionid.html"), "text/html", GBTP_URL)
    assert [a.published for a in items] == [
        "2026-08-21T00:00:00+09:00",
        "2026-08-20T00:00:00+09:00",  # `2026. 8. 20.`
        "2026-08-14T00:00:00+09:00",
    ]
    assert [a.deadline for a in items] == [None, "2026-09-18", None]
    assert items[0].agency == "기업지원단"


def test_default_fields_take_the_first_link():
    source = Source(id="gbtp", kind="html", url=GBTP_URL, items="table.board_list tbody tr")
    items = parse(source, read("board-euckr-table-jsessionid.html"), None, GBTP_URL)
    assert items[0].title == "[공고] 똠얌꿍 식품기업 햏사 지원사업 참여기업 모집"
    assert items[0].link.endswith("list_no=23011&act=view")
    assert items[0].published is None


def test_item_itself_and_its_attributes():
    page = b"""<html><body><ul>
      <li data-href="/n/1" data-date="2026.09.01">\xea\xb3\xb5\xea\xb3\xa0 1</li>
      <li data-href="/n/2" data-date="2026.09.02"><b>\xea\xb3\xb5\xea\xb3\xa0</b> 2</li>
    </ul></body></html>"""
    source = Source(id="x", kind="html", url="https://www.example.kr/list", items="ul li",
                    fields={"title": "", "link": "@data-href", "published": "@data-date"})
    items = parse(source, page, "text/html; charset=utf-8", source.url)
    assert [(a.title, a.link, a.published) for a in items] == [
        ("공고 1", "https://www.example.kr/n/1", "2026-09-01T00:00:00+09:00"),
        ("공고 2", "https://www.example.kr/n/2", "2026-09-02T00:00:00+09:00"),
    ]


ONCLICK_FIELDS = {"title": "span.tit", "published": "span.date", "period": "span.period",
                  "link_template": "/newBusinessView?seq={0}&menuId={1}"}


@pytest.mark.parametrize("link_spec", ["a@onclick", "a@href"])
def test_onclick_board_with_link_template(link_spec):
    source = Source(id="innopolis", kind="html", url=INNOPOLIS_URL, items="div#business-city1-1 ul li",
                    fields={**ONCLICK_FIELDS, "link": link_spec})
    items = parse(source, read("board-onclick-fn-view.html"), "text/html", INNOPOLIS_URL)
    assert [a.link for a in items] == [
        "https://www.innopolis.or.kr/newBusinessView?seq=7781&menuId=MENU01028",  # onclick, href="#none"
        "https://www.innopolis.or.kr/newBusinessView?seq=7779&menuId=MENU01028",  # href="javascript:..."
    ]
    assert items[0].title == "2026년 강소특구 특화기업 지원사업 공고"
    assert items[0].published == "2026-08-21T00:00:00+09:00"
    assert items[0].deadline == "2026-09-15"  # period field
    assert items[1].deadline is None  # 상시 접수


def test_onclick_board_without_template_has_no_links():
    source = Source(id="innopolis", kind="html", url=INNOPOLIS_URL, items="div#business-city1-1 ul li",
                    fields={"title": "span.tit", "link": "a@onclick", "published": "span.date"})
    items = parse(source, read("board-onclick-fn-view.html"), "text/html", INNOPOLIS_URL)
    assert [a.link for a in items] == [None, None]  # never a made-up URL from script text
    assert len({a.id for a in items}) == 2 and all(len(a.id) == 40 for a in items)  # title+date hashes


def test_selector_matching_nothing_is_an_error():
    source = Source(id="gbtp", kind="html", url=GBTP_URL, items="table tbody tr", fields={"title": "td.subject a"})
    with pytest.raises(ParseError, match=r"^parse: selector 'table tbody tr' matched 0 items$"):
        parse(source, read("board-redesigned-no-table.html"), "text/html", GBTP_URL)


def test_rows_without_title_or_link_are_skipped():
    page = "<table><tbody><tr><td colspan='5'></td></tr><tr><td class='subject'><a href='/v/1'>공고</a></td></tr>" \
           "</tbody></table>".encode()
    source = Source(id="x", kind="html", url=GBTP_URL, items="tbody tr",
                    fields={"title": "td.subject a", "link": "td.subject a@href"})
    items = parse(source, page, "text/html; charset=utf-8", GBTP_URL)
    assert [a.title for a in items] == ["공고"]


def test_bad_selector_is_a_parse_error():
    source = Source(id="x", kind="html", url=GBTP_URL, items="tbody tr[", fields={})
    with pytest.raises(ParseError, match="bad CSS selector"):
        parse(source, b"<table></table>", "text/html", GBTP_URL)


# -- text helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("R&amp;D", "R&D"),
        ("R&amp;amp;D", "R&amp;D"),  # decoded once
        ("AT&T R&D &copy", "AT&T R&D &copy"),  # not entities: left alone
        ("&lt;2026&gt; 공고", "<2026> 공고"),
        ("  a\u00a0\u00a0b\t\n c\u3000d  ", "a b c d"),  # NBSP, ideographic space, runs of white space
        ("ＡＩ\u3000바우처 ①", "ＡＩ 바우처 ①"),  # as published: no NFKC
        ("물류ㆍ통관・인증·현지", "물류ㆍ통관・인증·현지"),  # middle dots kept (folded in matching only)
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("", ""),
        (None, ""),
    ],
)
def test_clean_text(text, expected):
    assert clean_text(text) == expected


@pytest.mark.parametrize(
    "html, expected",
    [
        ("<p>첫 문단</p><p>둘째</p>", "첫 문단 둘째"),
        ("a<br>b<br/>c", "a b c"),
        ("앞 글<div>블록</div>뒤", "앞 글 블록 뒤"),
        ("<ul><li>1</li><li>2</li></ul>", "1 2"),
        ("<p style=\"line-height: 1.8;\">☞ 대상</p><p><br></p>", "☞ 대상"),
        ("<b>굵게</b>이어짐", "굵게이어짐"),  # inline elements do not split words
        ("앞<!-- 주석 -->뒤<script>alert(1)</script><style>p{}</style>끝", "앞뒤끝"),
        ("&lt;p&gt;이스케이프된&lt;br&gt;HTML&lt;/p&gt;", "이스케이프된 HTML"),
        ("<p>R&amp;D&nbsp;지원</p>", "R&D 지원"),
        ("<AI 바우처> 공고", "<AI 바우처> 공고"),  # not a tag
        ("1 < 2 그리고 3 > 2", "1 < 2 그리고 3 > 2"),
        ("plain", "plain"),
        ("", ""),
    ],
)
def test_html_to_text(html, expected):
    assert html_to_text(html) == expected
