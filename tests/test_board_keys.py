"""The source keys real boards need (docs/CONFIG.md § Requests, § Identity): pure functions and the loader."""

from __future__ import annotations

import base64
from datetime import datetime
from pathlib import Path

import pytest

from watcher.clock import KST
from watcher.config.load import check
from watcher.fetch.request import encoded_body, fill, prepared, template_problem
from watcher.models import Source
from watcher.parse import parse
from watcher.parse.identity import decoded, identity
from watcher.parse.links import script_args

NOON = datetime(2026, 11, 24, 12, 0, tzinfo=KST)


# ---- date templates ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text, want", [
    ("{today:%Y%m%d}", "20261124"),
    ("{today-3d:%Y%m%d}0000", "202611210000"),
    ("{today+7d:%Y.%m.%d}", "2026.12.01"),
    ("{today}", "2026-11-24"),
    ("from={today-30d:%Y-%m-%d}&to={today:%Y-%m-%d}", "from=2026-10-25&to=2026-11-24"),
    ("no template {0} here", "no template {0} here"),
])
def test_fill_writes_the_day_of_the_poll_in_korea_time(text, want):
    assert fill(text, NOON) == want


def test_fill_takes_the_korean_day_not_the_servers():
    late_utc = datetime(2026, 11, 24, 16, 30, tzinfo=KST).astimezone(KST).replace(tzinfo=KST)
    assert fill("{today:%Y%m%d}", late_utc) == "20261124"
    from datetime import UTC

    assert fill("{today:%Y%m%d}", datetime(2026, 11, 24, 16, 30, tzinfo=UTC)) == "20261125"  # 01:30 in Seoul


def test_fill_percent_encodes_what_goes_into_a_url():
    assert fill("https://x.kr/?d={today:%Y-%m-%d %H}", NOON, in_url=True) == "https://x.kr/?d=2026-11-24%2012"


@pytest.mark.parametrize("text", ["{today-3x:%Y}", "{today-3:%Y}", "{today+d}", "{todayy}", "a {today+1w} b"])
def test_a_malformed_template_is_named(text):
    assert template_problem(text) == f"bad date template '{text.strip('a b')}' (write {{today:%Y%m%d}} or " \
                                     "{today-3d:%Y%m%d})"
    assert template_problem("{today:%Y} {today-3d} {0} {name}") is None


def test_prepared_fills_url_headers_and_body_and_leaves_a_plain_source_alone():
    plain = Source(id="s", url="https://x.kr/list")
    assert prepared(plain, NOON) is plain
    source = Source(id="s", url="https://x.kr/?end={today:%Y%m%d}", headers={"X-Day": "{today}"},
                    method="POST", body={"form": {"from": "{today-1d:%Y%m%d}", "n": "10"}})
    got = prepared(source, NOON)
    assert got.url == "https://x.kr/?end=20261124" and got.headers == {"X-Day": "2026-11-24"}
    assert encoded_body(got) == (b"from=20261123&n=10", "application/x-www-form-urlencoded; charset=UTF-8")


def test_a_json_body_is_utf8_json_and_a_get_has_none():
    source = Source(id="s", url="https://x.kr/", method="POST", body={"json": {"q": "의료기기", "page": 1}})
    assert encoded_body(source) == ('{"q": "의료기기", "page": 1}'.encode(), "application/json; charset=utf-8")
    assert encoded_body(Source(id="s", url="https://x.kr/")) is None


# ---- identity -------------------------------------------------------------------------------------------

KHIDI = Source(id="k", url="https://www.khidi.or.kr/board?menuId=MENU01108", id_params=("linkId",))


def test_id_params_keep_one_id_whatever_else_the_link_carries():
    a = "https://www.khidi.or.kr/board/view?pageNum=1&rowCnt=10&no1=812&linkId=48949455&menuId=MENU01108&maxIndex=1"
    b = "https://www.khidi.or.kr/board/view?pageNum=3&no1=815&linkId=48949455&menuId=MENU01108&maxIndex=9;"
    c = "https://www.khidi.or.kr/board/view?linkId=48949455&amp;jsessionid=ABC"
    assert identity(KHIDI, a) == identity(KHIDI, b) == identity(KHIDI, c) == "linkId=48949455"


def test_id_params_in_the_order_given_and_none_when_one_is_missing():
    smtech = Source(id="s", url="https://x/", id_params=("ancmId", "buclCd"))
    assert identity(smtech, "https://x/d.do?buclCd=S0412&pageIndex=2&ancmId=S04310") == "ancmId=S04310&buclCd=S0412"
    assert identity(smtech, "https://x/d.do?ancmId=S04310") is None
    assert identity(smtech, None) is None and identity(Source(id="s", url="https://x/"), "https://x/?a=1") is None


def test_id_pattern_takes_the_first_group_else_the_match():
    gntp = Source(id="g", url="https://x/", id_pattern=r"/biz/applyInfo/(\d+)")
    assert identity(gntp, "https://www.gntp.or.kr/biz/applyInfo/3840?page=2") == "3840"
    assert identity(Source(id="g", url="https://x/", id_pattern=r"seq=\d+"), "https://x/v?a=1&seq=9") == "seq=9"
    assert identity(gntp, "https://www.gntp.or.kr/biz/other") is None


def _bbs(inner: str, tail: str = "||") -> str:
    return "https://www.gwtp.or.kr/gwtp/bbsNew_view.php?bbs_data=" + base64.b64encode(inner.encode()).decode() + tail


def test_id_base64_reads_keys_inside_the_encoded_parameter():
    gwtp = Source(id="g", url="https://x/", id_base64={"param": "bbs_data", "keys": ("idx",)})
    first = _bbs("idx=3272&startPage=0&listNo=497&table=cs_bbs_data_new&code=sub01b")
    shifted = _bbs("idx=3272&startPage=15&listNo=498&table=cs_bbs_data_new&code=sub01b")
    escaped = first.replace("=||", "%3D||")
    assert identity(gwtp, first) == identity(gwtp, shifted) == identity(gwtp, escaped) == "idx=3272"
    assert first != shifted


def test_decoded_forgives_padding_and_bars_and_refuses_what_is_not_a_query():
    text = base64.b64encode(b"idx=1&listNo=").decode()
    assert decoded(text.rstrip("=") + "||") == {"idx": "1", "listNo": ""}
    assert decoded("not base64 at all!") is None and decoded(base64.b64encode(b"plain").decode()) is None
    assert decoded("") is None


def test_fixed_agency_fills_items_without_one_and_a_mapped_one_wins():
    board = Source(id="b", url="https://x.kr/", kind="html", items="li", agency="부산테크노파크",
                   fields={"title": "a", "link": "a@href", "agency": "span.org"})
    page = b"<ul><li><a href='/1'>A</a></li><li><a href='/2'>B</a><span class='org'>BEPA</span></li></ul>"
    assert [a.agency for a in parse(board, page, "text/html", "https://x.kr/")] == ["부산테크노파크", "BEPA"]


# ---- HTML alternatives and script links ---------------------------------------------------------------


def test_alternatives_take_the_first_selector_that_matches_not_document_order():
    board = Source(id="b", url="https://x.kr/", kind="html", items="ul.new > li || table tbody tr",
                   fields={"title": "td a span.full || td a", "link": "td a@href"})
    old = (b"<table><tbody><tr><td><a href='/1'><button>NEW</button><span class='full'>Whole title</span></a></td></tr>"
           b"<tr><td><a href='/2'>Plain title</a></td></tr></tbody></table>")
    assert [a.title for a in parse(board, old, "text/html", "https://x.kr/")] == ["Whole title", "Plain title"]


def test_a_null_argument_counts_in_a_script_call():
    assert script_args("goPage('S', null, '/biz/applyInfo/3840')") == ["S", "", "/biz/applyInfo/3840"]
    assert script_args("fn(true, 5)") == ["true", "5"] and script_args("fn_view('1','B01')") == ["1", "B01"]


def test_a_json_link_template_fills_item_keys():
    api = Source(id="a", url="https://itech.keit.re.kr/bsnsancm/list.do", kind="json", items="list",
                 fields={"title": "t", "link_template": "/d.do?ancmId={ancmId}&y={meta.year}"})
    body = b'{"list": [{"t": "A", "ancmId": "I2 2", "meta": {"year": 2026}}, {"t": "B"}]}'
    first, second = parse(api, body, "application/json", api.url)
    assert first.link == "https://itech.keit.re.kr/d.do?ancmId=I2%202&y=2026" and second.link is None


# ---- the loader ---------------------------------------------------------------------------------------


def problems_of(tmp_path: Path, source: str) -> list[str]:
    (tmp_path / "s.yaml").write_text("sources:\n  - id: s\n    url: https://x.kr/?d={today:%Y}\n" + source,
                                     encoding="utf-8")
    (tmp_path / "r.yaml").write_text("rules:\n  - name: r\n    any: [x]\n", encoding="utf-8")
    return [p.split(":", 2)[1] + ":" + p.split(":", 2)[2] for p in check(tmp_path / "s.yaml", tmp_path / "r.yaml",
                                                                        env={})[1]]


@pytest.mark.parametrize("source, want", [
    ("    method: PUT\n", "4: 'method' must be GET or POST, got 'PUT'"),
    ("    body: {form: {a: b}}\n", "4: 'body' is sent only with method: POST"),
    ("    method: POST\n    body: {form: {a: b}, json: {c: d}}\n",
     "5: 'body' needs one of 'form' (form fields) or 'json' (a JSON object)"),
    ("    method: post\n    body: {form: {day: \"{today-x}\"}}\n", "5: 'body.form.day': bad date template '{today-x}' "
     "(write {today:%Y%m%d} or {today-3d:%Y%m%d})"),
    ("    headers: {X-Day: \"{today-1m}\"}\n", "4: 'headers.X-Day': bad date template '{today-1m}' "
     "(write {today:%Y%m%d} or {today-3d:%Y%m%d})"),
    ("    session_url: ftp://x.kr/\n", "4: 'session_url' must be an http(s) URL, got 'ftp://x.kr/'"),
    ("    id_params: []\n", "4: 'id_params' must name at least one query parameter"),
    ("    id_pattern: \"([\"\n", None),
    ("    id_base64: {param: bbs_data}\n",
     "4: 'id_base64' needs 'param' (the base64 parameter) and 'keys' (the names inside it)"),
    ("    id_params: [a]\n    id_pattern: b\n", "5: use one of id_params, id_pattern, id_base64, not id_params and "
     "id_pattern"),
    ("    kind: json\n    items: a\n    fields: {title: t}\n    method: POST\n    paging: {page: p}\n",
     "8: 'paging' is only for GET sources"),
])
def test_the_loader_names_each_bad_board_key_at_its_line(tmp_path, source, want):
    found = problems_of(tmp_path, source)
    assert len(found) == 1, found
    if want is not None:
        assert found == [want]


def test_the_loader_accepts_the_keys_of_a_real_board(tmp_path):
    assert problems_of(tmp_path, "    method: POST\n    body: {form: {PageNum: 1, search: \"\"}}\n"
                                 "    session_url: https://x.kr/\n    id_params: [seq]\n    agency: 인천테크노파크\n"
                                 "    headers: {Referer: https://x.kr/, X-From: \"{today-1d:%Y%m%d}\"}\n") == []
