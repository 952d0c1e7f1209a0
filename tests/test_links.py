import hashlib

import pytest

from watcher.parse.links import absolute, canonical_link, is_script, link_from_script, make_id, script_args


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://www.ntis.go.kr/rndgate/eg/un/ra/view.do?roRndUid=1276553",
         "https://www.ntis.go.kr/rndgate/eg/un/ra/view.do?roRndUid=1276553"),
        # scheme and host lower-cased, path case kept
        ("HTTPS://WWW.Example.GO.KR/Board/View.do?Id=1", "https://www.example.go.kr/Board/View.do?Id=1"),
        # default ports dropped, others kept
        ("http://www.mfds.go.kr:80/brd/view.do?seq=1", "http://www.mfds.go.kr/brd/view.do?seq=1"),
        ("https://www.mfds.go.kr:443/brd/view.do?seq=1", "https://www.mfds.go.kr/brd/view.do?seq=1"),
        ("https://www.mfds.go.kr:8443/brd/view.do?seq=1", "https://www.mfds.go.kr:8443/brd/view.do?seq=1"),
        ("http://www.mfds.go.kr:443/x", "http://www.mfds.go.kr:443/x"),
        # fragment dropped
        ("https://example.kr/view?id=1#top", "https://example.kr/view?id=1"),
        # utm_* and jsessionid params dropped, the others kept in their order
        ("https://example.kr/view?b=2&utm_source=rss&a=1&UTM_Medium=x&c=3",
         "https://example.kr/view?b=2&a=1&c=3"),
        ("https://example.kr/view?jsessionid=ABC&id=7", "https://example.kr/view?id=7"),
        ("https://example.kr/view?utm_source=rss", "https://example.kr/view"),
        # ;jsessionid= path parameter dropped
        ("https://www.gbtp.or.kr/board.es;jsessionid=A1B2C3.node1?mid=a1&bid=0006",
         "https://www.gbtp.or.kr/board.es?mid=a1&bid=0006"),
        ("https://example.kr/view.do;JSESSIONID=XYZ", "https://example.kr/view.do"),
        # empty path is /
        ("https://Example.kr", "https://example.kr/"),
        ("https://example.kr?x=1", "https://example.kr/?x=1"),
        # values keep their encoding
        ("https://example.kr/s?q=%EA%B0%95%EC%86%8C&x=a+b", "https://example.kr/s?q=%EA%B0%95%EC%86%8C&x=a+b"),
        # stray &amp;
        ("https://example.kr/view?a=1&amp;b=2", "https://example.kr/view?a=1&b=2"),
        # user info and IPv6 hosts survive
        ("http://[::1]:8080/feed", "http://[::1]:8080/feed"),
        ("  https://example.kr/x  ", "https://example.kr/x"),
    ],
)
def test_canonical_link(url, expected):
    assert canonical_link(url) == expected


def test_canonical_link_is_idempotent():
    url = "HTTPS://Example.kr:443/a;jsessionid=1?utm_source=x&b=2#f"
    assert canonical_link(canonical_link(url)) == canonical_link(url) == "https://example.kr/a?b=2"


def test_same_announcement_from_two_forms():
    a = "https://www.gbtp.or.kr/board.es;jsessionid=AAA?mid=1&list_no=5&utm_source=main#content"
    b = "https://WWW.GBTP.OR.KR/board.es?mid=1&list_no=5"
    assert canonical_link(a) == canonical_link(b)


def test_make_id_prefers_guid():
    assert make_id(" mohw-1487001 ", "https://x.kr/a", "t", "2026-08-21") == "mohw-1487001"


def test_make_id_falls_back_to_canonical_link():
    assert make_id(None, "https://X.kr/a?utm_source=r#x", "t", None) == "https://x.kr/a"
    assert make_id("", "https://X.kr/a", "t", None) == "https://x.kr/a"


def test_make_id_hashes_title_and_date():
    expected = hashlib.sha1("제목\n2026-08-21T00:00:00+09:00".encode()).hexdigest()
    assert make_id(None, None, "제목", "2026-08-21T00:00:00+09:00") == expected
    assert make_id(None, "", "제목", None) == hashlib.sha1("제목\n".encode()).hexdigest()
    assert make_id(None, None, "a", "1") != make_id(None, None, "a", "2")


BASE = "https://www.gbtp.or.kr/board.es?mid=a10301000000&bid=0006"


@pytest.mark.parametrize(
    "href, expected",
    [
        ("/board.es?mid=a1&amp;bid=0006&amp;list_no=23009",
         "https://www.gbtp.or.kr/board.es?mid=a1&bid=0006&list_no=23009"),
        ("./view.es?no=1", "https://www.gbtp.or.kr/view.es?no=1"),
        ("view.es?no=1", "https://www.gbtp.or.kr/view.es?no=1"),
        ("?mid=a1&page=2", "https://www.gbtp.or.kr/board.es?mid=a1&page=2"),
        ("//cdn.gbtp.or.kr/file.pdf", "https://cdn.gbtp.or.kr/file.pdf"),
        ("https://other.kr/x", "https://other.kr/x"),
        ("board.es;jsessionid=A1B2C3.node1?mid=a1&list_no=5",
         "https://www.gbtp.or.kr/board.es?mid=a1&list_no=5"),
        ("  /view\n.es?no=1\t", "https://www.gbtp.or.kr/view.es?no=1"),
        ("/files/공고 안내.hwp", "https://www.gbtp.or.kr/files/공고%20안내.hwp"),
        ("javascript:fn_view('123')", None),
        ("JavaScript:void(0);", None),
        ("#", None),
        ("#none", None),
        ("mailto:a@b.kr", None),
        ("", None),
        (None, None),
    ],
)
def test_absolute(href, expected):
    assert absolute(BASE, href) == expected


@pytest.mark.parametrize(
    "script, args",
    [
        ("fn_view('123')", ["123"]),
        ("fn_view('7781', 'MENU01028'); return false;", ["7781", "MENU01028"]),
        ('javascript:goView("B01", 42);', ["B01", "42"]),
        ("board.view(5)", ["5"]),
        ("", []),
        ("no call here", []),
    ],
)
def test_script_args(script, args):
    assert script_args(script) == args


def test_is_script():
    assert is_script("fn_view('1')")
    assert is_script("javascript:goView(1);")
    assert not is_script("/view.do?id=1")
    assert is_script("fn_view('7781', 'MENU01028'); return false;")
    assert not is_script("view(1).html?x=1")
    assert not is_script(None)


def test_link_from_script():
    base = "https://www.innopolis.or.kr/newBusiness?menuId=MENU01028"
    assert (
        link_from_script(base, "fn_view('7781', 'MENU01028')", "/newBusinessView?seq={0}&menuId={1}")
        == "https://www.innopolis.or.kr/newBusinessView?seq=7781&menuId=MENU01028"
    )
    assert link_from_script(base, "fn_view('7781')", "/v?seq={0}&m={1}") is None  # too few arguments
    assert link_from_script(base, "nothing", "/v?seq={0}") is None
