"""The shipped source catalogue (watcher/config/catalog.yaml): every entry valid, verified, and read on a page.

Entries verified by a real capture are fed that capture in tests/test_real_captures.py; every other
entry is polled here, through the loader (`include:`), the fetcher and the parser, against a page of
our own modelled on the markup its evidence describes (tests/fixtures/catalog/<id>/), served on
127.0.0.1 at the path of the real address. tests/fixtures/catalog/expected.yaml says what each page
holds.
"""

from __future__ import annotations

import base64
import html
import json
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from tests.catalog_poll import FIXTURES, SESSION_COOKIE, local, poll, serve, source_for, sources_yaml
from tests.e2e import Watcher
from tests.feed_server import FeedServer
from tests.test_real_captures import CAPTURES
from watcher.cli import cli
from watcher.clock import now_kst
from watcher.config.catalog import HOW, entries, entry
from watcher.config.load import check
from watcher.parse import parse
from watcher.store import Store

EXPECTED = YAML(typ="safe").load((FIXTURES / "expected.yaml").read_text(encoding="utf-8"))
CAPTURED = {source for _, source, _, _ in CAPTURES}
RULES = "rules:\n  - name: all\n    any: [\"re:.\"]\n"


def fixture_of(key: str) -> Path:
    """`khidi-calls` -> its list page; `innopolis/list-old.html` -> that page."""
    ident, _, name = key.partition("/")
    if name:
        return FIXTURES / ident / name
    (page,) = [p for p in (FIXTURES / ident).iterdir() if p.name.startswith("list.")]
    return page


@pytest.fixture(scope="module")
def server():
    with FeedServer() as running:
        yield running


# ---- the catalogue as a whole -------------------------------------------------------------------


def test_catalogue_has_at_least_40_entries_each_saying_how_it_is_verified():
    catalogue = entries()
    assert len(catalogue) >= 40
    for e in catalogue.values():
        assert e.verified in HOW and e.evidence and e.covers, e.id
        assert e.name and e.kind in ("feed", "json", "html") and e.url.startswith(("http://", "https://")), e.id
        if e.verified == "scraper":  # a named scraper: repository, path or index id, and when
            assert e.date and re.search(r"[\w-]+/[\w.-]+|index id", e.evidence), e.id
        if e.key:
            assert "${" + e.key + "}" in e.url and e.settings.get("enabled") == "auto", e.id


def test_every_entry_is_config_only_and_valid(tmp_path):
    ids = list(entries())
    (tmp_path / "s.yaml").write_text(f"include: [{', '.join(ids)}]\n", encoding="utf-8")
    (tmp_path / "r.yaml").write_text(RULES, encoding="utf-8")
    config, problems, _ = check(tmp_path / "s.yaml", tmp_path / "r.yaml", env={"DATA_GO_KR_KEY": "k",
                                                                               "BIZINFO_API_KEY": "k"})
    assert problems == [] and config is not None
    assert [s.id for s in config.sources] == ids


def test_national_portals_ministries_and_every_techno_park_are_there():
    catalogue = entries()
    assert {"ntis", "iris", "iris-pre", "bizinfo", "kstartup", "msit", "g2b-servc", "mohw", "mfds", "mss", "motir",
            "khidi-calls", "htdream", "keit", "kiat", "smtech", "nipa", "innopolis"} <= set(catalogue)
    parks = [e for e in catalogue.values() if "tp" in e.tags and e.id != "technopark-kr"]
    assert len(parks) >= 18 and all("테크노파크" in e.name for e in parks)
    assert "khidi" not in catalogue and "보도자료" in catalogue["khidi-news"].name  # the RSS is press releases


def test_every_entry_is_tested_on_a_capture_or_on_its_own_fixture():
    """capture entries: a real capture goes through them (test_real_captures); the others: a page here."""
    catalogue = entries()
    assert {i for i, e in catalogue.items() if e.verified == "capture"} == CAPTURED
    on_pages = {key.partition("/")[0] for key in EXPECTED}
    assert on_pages == set(catalogue) - CAPTURED
    assert {p.name for p in FIXTURES.iterdir() if p.is_dir()} == on_pages


# ---- each entry on its page ---------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_entry_reads_its_page(server, tmp_path, key):
    ident = key.partition("/")[0]
    page = fixture_of(key)
    source, items = poll(server, ident, page, tmp_path)
    want = EXPECTED[key]
    assert [a.title for a in items] == [w["title"] for w in want]
    text = " ".join(html.unescape(page.read_bytes().decode(source.encoding or "utf-8")).split())
    for w in want:
        assert w["title"] in text, f"{key}: '{w['title']}' is not on the page as written"
    for ann, w in zip(items, want, strict=True):
        link = w["link"] if w["link"].startswith("http") else server.base + w["link"]
        assert ann.link == link
        assert ann.id == w.get("id", ann.link), "an entry without an identity setting keeps the canonical link"
        assert (ann.published or "")[:10] == str(w.get("published") or "")
        assert ann.deadline == (str(w["deadline"]) if w.get("deadline") else None)
        assert ann.agency, f"{key}: a fixed or mapped agency"
    assert len({a.id for a in items}) == len(items)


def test_innopolis_reads_the_2026_markup_and_the_old_one_with_one_entry():
    assert {"innopolis", "innopolis/list-old.html"} <= set(EXPECTED)
    innopolis = entry("innopolis")
    assert innopolis is not None and "strong.txt-title" in innopolis.settings["fields"]["title"]
    assert "span.date" in innopolis.settings["fields"]["period"] and "||" in innopolis.settings["items"]


# ---- requests: POST bodies, headers, sessions, date windows ---------------------------------------


def test_keit_lists_by_posting_its_form(server, tmp_path):
    poll(server, "keit", fixture_of("keit"), tmp_path)
    hit = server.hits_for("/bsnsancm/retrieveSprtBsnsAncmListJson.do")[-1]
    assert hit.method == "POST" and hit.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert parse_qs(hit.body.decode(), keep_blank_values=True) == {"bsnsYy": [""], "pageIndex": ["1"]}


def test_kiat_posts_with_the_referer_of_its_list_page(server, tmp_path):
    poll(server, "kiat", fixture_of("kiat"), tmp_path)
    hit = server.hits_for("/front/board/boardContentsListAjax.do")[-1]
    assert hit.method == "POST" and parse_qs(hit.body.decode())["board_id"] == ["90"]
    assert hit.headers["Referer"].startswith("https://www.kiat.or.kr/front/board/boardContentsListPage.do")


def test_itp_opens_a_session_first_then_posts_as_a_browser_with_its_cookie(server, tmp_path):
    server.hits.clear()
    poll(server, "itp", fixture_of("itp"), tmp_path)
    first, second = server.hits_for("/intro.asp?tmid=13")[-2:]
    assert (first.method, second.method) == ("GET", "POST")
    assert second.headers.get("Cookie") == SESSION_COOKIE.split(";")[0]
    assert second.headers["User-Agent"].startswith("Mozilla/5.0") and "PageNum=1" in second.body.decode()


def test_a_session_url_that_fails_fails_the_poll_saying_so(server):
    from watcher.errors import FetchError
    from watcher.fetch.poll import fetch, make_session
    from watcher.models import Source

    server.set("/board", "<ul><li><a href='/1'>x</a></li></ul>", content_type="text/html")
    source = Source(id="b", url=f"{server.base}/board", kind="html", items="li", session_url=f"{server.base}/gone")
    with pytest.raises(FetchError, match=r"^fetch: session_url: HTTP 404"):
        fetch(make_session(1), source)


def test_a_json_body_is_sent_as_json(server, tmp_path):
    (tmp_path / "s.yaml").write_text(
        f"sources:\n  - id: api\n    kind: json\n    url: {server.base}/api\n    method: POST\n"
        "    body: {json: {pageIndex: 1, day: \"{today:%Y%m%d}\", q: [의료기기]}}\n    items: list\n"
        "    fields: {title: t, link_template: \"/view?id={id}\"}\n", encoding="utf-8")
    (tmp_path / "r.yaml").write_text(RULES, encoding="utf-8")
    config, problems, _ = check(tmp_path / "s.yaml", tmp_path / "r.yaml", env={})
    assert problems == []
    server.set("/api", json.dumps({"list": [{"t": "공고", "id": "A1"}]}), content_type="application/json")
    from watcher.fetch.poll import fetch, make_session

    fetched = fetch(make_session(1), config.sources[0])
    (ann,) = parse(config.sources[0], fetched.body, fetched.content_type, fetched.url)
    hit = server.hits_for("/api")[-1]
    assert hit.headers["Content-Type"].startswith("application/json")
    assert json.loads(hit.body) == {"pageIndex": 1, "day": now_kst().strftime("%Y%m%d"), "q": ["의료기기"]}
    assert ann.link == f"{server.base}/view?id=A1"


def test_a_g2b_poll_asks_for_the_window_ending_today(server, tmp_path):
    g2b = entry("g2b-servc")
    assert g2b is not None and "{today:%Y%m%d}2359" in g2b.url
    server.set(urlsplit(g2b.url).path, json.dumps({"response": {"header": {"resultCode": "00"}, "body": {
        "items": [], "totalCount": 0}}}), content_type="application/json")
    source = source_for(server, "g2b-servc", tmp_path)
    from watcher.fetch.poll import fetch, make_session

    before = now_kst()
    fetch(make_session(1), source)
    after = now_kst()
    hit = [h for h in server.hits if h.path.startswith(urlsplit(g2b.url).path + "?")][-1]
    query = {k: v[0] for k, v in parse_qs(urlsplit(hit.path).query).items()}
    windows = {(f"{(day - timedelta(days=3)):%Y%m%d}0000", f"{day:%Y%m%d}2359") for day in (before, after)}
    assert (query["inqryBgnDt"], query["inqryEndDt"]) in windows  # the last 3 days up to today, Korea time
    assert query["ServiceKey"] == "test-key" and query["inqryDiv"] == "1"


# ---- identities that survive shifting links --------------------------------------------------------


def _ingest_twice(tmp_path, server, ident: str, before: bytes, after: bytes) -> tuple[list, list, int]:
    """Both pages through the entry and into a store: (ids before, ids after, new items of the second)."""
    e = entry(ident)
    assert e is not None
    source = source_for(server, ident, tmp_path)
    url = local(server, e.url)
    first = parse(source, before, "text/html; charset=utf-8", url)
    second = parse(source, after, "text/html; charset=utf-8", url)
    store = Store(tmp_path / "w.db")
    now = now_kst()
    store.ingest(source, [(a, []) for a in first], now, 14 * 86400)
    again = store.ingest(source, [(a, []) for a in second], now + timedelta(minutes=10), 14 * 86400)
    stored = len(list(store.announcements(source=ident)))
    store.close()
    assert stored == len(first) + again.new
    return [a.id for a in first], [a.id for a in second], again.new


def test_khidi_posts_keep_one_id_when_a_new_post_shifts_their_links(server, tmp_path):
    before = fixture_of("khidi-calls").read_text(encoding="utf-8")
    new_row = ('<tr><td>813</td><td class="ellipsis"><a href="/board/view?pageNum=1&rowCnt=10&no1=813&linkId=48949600'
               '&menuId=MENU01108&maxIndex=48949600&minIndex=48948655" title="2026년 의료기기 임상 지원 공고">'
               '2026년 의료기기 임상 지원 공고</a></td><td></td><td class="date">2026-09-04</td><td>1</td></tr>\n')
    rows = re.findall(r"<tr><td>\d+</td>.*?</tr>\n", before)
    shifted = [row.replace("maxIndex=48949455", "maxIndex=48949600").replace("minIndex=48948001", "minIndex=48948655")
               for row in rows]
    shifted[-1] = shifted[-1].replace("pageNum=1&", "pageNum=2&")  # the oldest is pushed to the second page
    after = before.replace("".join(rows), new_row + "".join(shifted))
    assert len(rows) == 4 and "maxIndex=48949455" not in after and "pageNum=2" in after  # every old link changed
    ids_before, ids_after, new = _ingest_twice(tmp_path, server, "khidi-calls", before.encode(), after.encode())
    assert ids_after == ["linkId=48949600", *ids_before] and new == 1


def _gwtp_shift(page: str) -> str:
    """A new post on top of 강원TP's board: every other post's listNo and startPage move in its bbs_data."""
    def moved(m: re.Match[str]) -> str:
        inner = base64.b64decode(m.group(1)).decode()
        inner = re.sub(r"listNo=(\d*)", lambda n: f"listNo={int(n.group(1) or 0) + 1}", inner)
        inner = re.sub(r"startPage=(\d*)", "startPage=15", inner)
        return "bbs_data=" + base64.b64encode(inner.encode()).decode() + "||"
    return re.sub(r"bbs_data=([A-Za-z0-9+/=]+)\|\|", moved, page)


def test_a_gwtp_post_keeps_its_id_when_listno_shifts(server, tmp_path):
    before = fixture_of("gwtp").read_text(encoding="utf-8")
    after = _gwtp_shift(before)
    assert after != before
    ids_before, ids_after, new = _ingest_twice(tmp_path, server, "gwtp", before.encode(), after.encode())
    assert ids_after == ids_before == ["idx=3459", "idx=3451", "idx=3272", "idx=3265"] and new == 0


# ---- include: and overrides ------------------------------------------------------------------------


def _check(tmp_path, sources: str, env=None):
    (tmp_path / "s.yaml").write_text(sources, encoding="utf-8")
    (tmp_path / "r.yaml").write_text(RULES, encoding="utf-8")
    return check(tmp_path / "s.yaml", tmp_path / "r.yaml", env=env or {})


def test_an_included_entry_takes_overrides_of_any_key(tmp_path):
    config, problems, _ = _check(tmp_path, "include: [gwtp, khidi-calls, mohw]\nsources:\n"
                                 "  - id: gwtp\n    interval: 15m\n    name: 우리 TP\n"
                                 "  - id: mohw\n    enabled: false\n"
                                 "  - id: mine\n    url: https://example.org/rss\n")
    assert problems == []
    by_id = {s.id: s for s in config.sources}
    assert list(by_id) == ["gwtp", "khidi-calls", "mohw", "mine"]
    assert (by_id["gwtp"].interval, by_id["gwtp"].name, by_id["gwtp"].agency) == (900.0, "우리 TP", "강원테크노파크")
    assert by_id["gwtp"].id_base64 == {"param": "bbs_data", "keys": ("idx",)}
    assert by_id["khidi-calls"].id_params == ("linkId",) and not by_id["mohw"].enabled


def test_an_unknown_catalogue_id_is_an_error_at_its_line_naming_close_ones(tmp_path):
    _, problems, _ = _check(tmp_path, "include:\n  - ntis\n  - khidi\n  - ntis\n")
    assert problems == [
        f"{tmp_path / 's.yaml'}:3: unknown catalogue id 'khidi' "
        "(did you mean 'khidi-news' or 'khidi-calls' or 'kised'?)",
        f"{tmp_path / 's.yaml'}:4: 'ntis' is included twice (first at line 2)"]


def test_a_bad_override_points_at_its_own_line(tmp_path):
    _, problems, _ = _check(tmp_path, "include: [gwtp]\nsources:\n  - id: gwtp\n    interval: 15\n"
                            "    id_pattern: \"(\"\n")
    assert [p.split(": ", 1)[0].rsplit(":", 1)[1] for p in problems] == ["4", "5"]
    assert "interval: 15 needs a unit" in problems[0] and "not a regular expression" in problems[1]


def test_keys_needed_by_an_included_entry_keep_it_off_with_a_note(tmp_path):
    config, problems, notes = _check(tmp_path, "include: [ntis, bizinfo]\n")
    assert problems == [] and notes == [
        f"{tmp_path / 's.yaml'}:1: note: source 'bizinfo' is disabled until DATA_GO_KR_KEY is set"]
    assert [s.enabled for s in config.sources] == [True, False]


def test_the_readme_source_table_says_what_verifies_each_entry():
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8").splitlines()
    for e in entries().values():
        rows = [line for line in readme if line.startswith(f"| `{e.id}` |")]
        assert len(rows) == 1 and f"**{e.verified}**" in rows[0], e.id
        assert e.verified == "capture" or (e.date or "") in rows[0] or e.verified == "unverified", e.id


# ---- watcher sources catalog ----------------------------------------------------------------------


def test_sources_catalog_lists_every_entry_with_its_verification():
    done = CliRunner().invoke(cli, ["sources", "catalog"])
    assert done.exit_code == 0, done.output
    for ident in entries():
        assert re.search(rf"^{re.escape(ident)}\s", done.output, re.M), ident
    counts = {how: sum(e.verified == how for e in entries().values()) for how in HOW}
    assert done.output.splitlines()[-1] == (f"{len(entries())} entries: {counts['capture']} capture, "
                                            f"{counts['scraper']} scraper, {counts['unverified']} unverified")
    assert "needs DATA_GO_KR_KEY" in done.output


def test_sources_catalog_json_holds_what_the_contract_names():
    done = CliRunner().invoke(cli, ["sources", "catalog", "--json"])
    assert done.exit_code == 0, done.output
    rows = json.loads(done.output)
    assert len(rows) == len(entries()) >= 40
    for row in rows:
        assert {"id", "name", "kind", "url", "key", "verified", "evidence", "covers"} <= set(row)
        assert row["verified"] in HOW and row["evidence"]
    bizinfo = next(r for r in rows if r["id"] == "bizinfo")
    assert (bizinfo["key"], bizinfo["verified"]) == ("DATA_GO_KR_KEY", "capture")
    assert next(r for r in rows if r["id"] == "ntis")["key"] is None


# ---- ten entries end to end: check, then once -------------------------------------------------------

TEN = ["iris", "khidi-calls", "gwtp", "keit", "kiat", "itp", "mohw", "utp", "cbtp", "innopolis"]


def test_ten_included_entries_pass_check_and_once_polls_them(server, tmp_path):
    for ident in TEN:
        e = entry(ident)
        assert e is not None
        serve(server, e, fixture_of(ident).read_bytes())
    w = Watcher(tmp_path)
    w.write("sources.yaml", sources_yaml(server, TEN, f"  - id: mine\n    url: {server.base}/mine.xml\n"))
    server.set("/mine.xml", fixture_of("mohw").read_bytes().replace(b"list_no=", b"mine_no="))
    w.write("rules.yaml", RULES)
    checked = w("check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    done = w("once")
    assert done.returncode == 0, done.stderr
    rows = {r["id"]: r for r in w.json("status")}
    assert set(rows) == {*TEN, "mine"}
    for ident in TEN:
        assert rows[ident]["state"] == "ok" and rows[ident]["failures"] == 0, rows[ident]
        assert rows[ident]["items"] == len(EXPECTED[ident]), ident
    found = w.json("search", "", "--source", "gwtp", "--limit", "100")
    assert {r["title"] for r in found} == {item["title"] for item in EXPECTED["gwtp"]}
    assert {r["id"] for r in found} == {"idx=3459", "idx=3451", "idx=3272", "idx=3265"}
    agency = w.json("search", "충북테크노파크", "--limit", "100")
    assert {r["source"] for r in agency} == {"cbtp"} and len(agency) == 3  # the fixed agency is searchable
