"""Structured fields the APIs give, matched like text: the `category` field (watcher/parse/category.py).

The real captures (../shared/samples/real/) are read through the shipped catalogue entries: 기업마당
`pldirSportRealmLclasCodeNm`, `hashtags` and the executing agency, K-Startup `supt_biz_clsfc` and
`aply_trgt_ctnt`, NTIS ministry (`author`) and `budget` land in `category`, as the response has them;
a rule searching `category` matches there, one that does not search it does not; the field is stored,
survives a rules edit's re-match, and its config has FILE:LINE errors.
"""

from __future__ import annotations

import functools
import html
import json
import re
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.e2e import Watcher
from tests.feed_server import FeedServer
from tests.shared import ROOT, real_capture
from watcher.config.catalog import entry
from watcher.config.load import check, load_rules, load_sources
from watcher.match.matcher import Matcher
from watcher.models import Announcement, Rule, RuleSet, Source
from watcher.parse import parse
from watcher.parse.category import expand, join, paths

ENV = {"DATA_GO_KR_KEY": "k", "BIZINFO_API_KEY": "k"}


@functools.lru_cache
def shipped(source_id: str) -> Source:
    """The catalogue entry as a team's `include: [ID]` gets it."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sources.yaml"
        path.write_text(f"include: [{source_id}]\n", encoding="utf-8")
        return {s.id: s for s in load_sources(path, env=ENV)}[source_id]


def shown(text: str | None) -> str:
    return " ".join(html.unescape(text or "").split())


def read(capture: str, source_id: str, content_type: str) -> list[Announcement]:
    source = shipped(source_id)
    return parse(source, real_capture(capture).read_bytes(), content_type, source.url)


def matcher(fields: tuple[str, ...], *keywords: str) -> Matcher:
    return Matcher(RuleSet(rules=(Rule(name="r", any=keywords, fields=fields),)))


# ---------------------------------------------------------------- the real captures


def test_bizinfo_api_category_holds_support_field_hashtags_and_executing_agency():
    items = json.loads(real_capture("bizinfo-api/bizradar-api_response_sample.json").read_text(encoding="utf-8"))
    got = {a.id: a for a in read("bizinfo-api/bizradar-api_response_sample.json", "bizinfo-api", "application/json")}
    assert len(got) == len(items["jsonArray"]) == 5
    for item in items["jsonArray"]:
        values = [item["pldirSportRealmLclasCodeNm"], item["hashtags"], item["excInsttNm"]]
        expected = ", ".join(dict.fromkeys(shown(v) for v in values if shown(v)))
        assert got[item["pblancId"]].category == expected
        assert got[item["pblancId"]].agency == item["jrsdInsttNm"]


def test_bizinfo_xml_category_from_the_same_field_names():
    root = ET.parse(real_capture("bizinfo/jarimaegim-bizinfo.sample.xml")).getroot()
    got = {a.id: a for a in read("bizinfo/jarimaegim-bizinfo.sample.xml", "bizinfo", "text/xml")}
    for item in root.iter("item"):
        values = [item.findtext(k) for k in ("pldirSportRealmLclasCodeNm", "hashtags", "excInsttNm")]
        expected = ", ".join(dict.fromkeys(shown(v) for v in values if shown(v)))
        assert got[item.findtext("pblancId")].category == expected


@pytest.mark.parametrize("capture", ["kstartup/bizradar-announcement_list_sample.json",
                                     "kstartup/jarimaegim-kstartup.sample.json"])
def test_kstartup_category_holds_support_field_and_target(capture):
    data = json.loads(real_capture(capture).read_text(encoding="utf-8"))["data"]
    got = {a.id: a for a in read(capture, "kstartup", "application/json")}
    for item in data:
        expected = ", ".join(dict.fromkeys(shown(item[k]) for k in ("supt_biz_clsfc", "aply_trgt_ctnt") if item[k]))
        assert got[str(item["pbanc_sn"])].category == expected
        assert got[str(item["pbanc_sn"])].category.startswith(item["supt_biz_clsfc"])


def test_ntis_category_holds_ministry_and_budget_beside_the_agency():
    text = real_capture("ntis/unRndRss-원문.xml").read_text(encoding="utf-8")
    got = {a.link: a for a in read("ntis/unRndRss-원문.xml", "ntis", "text/xml")}
    rows = re.findall(r"<link>([^<]+view\.do[^<]+)</link><author>([^<]*)</author><category>([^<]*)</category>"
                      r".*?<budget>([^<]*)</budget>", text)
    assert len(rows) == len(got) == 10
    for link, ministry, agency, budget in rows:
        assert got[link].agency == agency
        assert got[link].category == f"{ministry}, {budget}"


@pytest.mark.parametrize(("capture", "source", "ctype", "keyword"), [
    ("bizinfo-api/bizradar-api_response_sample.json", "bizinfo-api", "application/json", "촬영장비"),
    ("kstartup/bizradar-announcement_list_sample.json", "kstartup", "application/json", "행사ㆍ네트워크"),
    ("ntis/unRndRss-원문.xml", "ntis", "text/xml", "re:\\b510000000\\b"),
    ("ntis/unRndRss-원문.xml", "ntis", "text/xml", "국토교통부"),
], ids=["bizinfo hashtag", "kstartup support field", "ntis budget", "ntis ministry"])
def test_a_rule_matches_structured_fields_only_when_it_searches_category(capture, source, ctype, keyword):
    anns = read(capture, source, ctype)
    with_category = [a for a in anns if matcher(("title", "category"), keyword).match(a)]
    without = [a for a in anns if matcher(("title", "summary", "agency"), keyword).match(a)]
    assert with_category and not without
    hit = matcher(("title", "category"), keyword).match(with_category[0])[0]
    assert hit.words[0][0] == "category"


def test_shipped_gangso_rule_finds_a_bizinfo_call_run_by_the_foundation_through_category():
    """기업마당 names the ministry as agency (jrsdInsttNm) and the 재단 only as executing agency."""
    item = json.loads(real_capture("bizinfo-api/bizradar-api_response_sample.json").read_text(encoding="utf-8"))
    row = dict(item["jsonArray"][4], pblancNm="2026년 딥테크 창업기업 IR 데모데이 참가기업 모집 공고",
               bsnsSumryCn="<p>유망 기술창업기업의 투자유치를 지원합니다.</p>", jrsdInsttNm="과학기술정보통신부",
               excInsttNm="연구개발특구진흥재단", hashtags="창업,대전,2026,과학기술정보통신부,연구개발특구진흥재단,IR")
    source = shipped("bizinfo-api")
    (ann,) = parse(source, json.dumps({"jsonArray": [row]}, ensure_ascii=False).encode(), "application/json",
                   source.url)
    rules = load_rules(ROOT / "rules.yaml", env={})
    hits = {h.rule: h for h in Matcher(rules).match(ann)}
    assert "gangso-teukgu" in hits
    assert ("category", "연구개발특구") in hits["gangso-teukgu"].words
    assert "category" in next(r.fields for r in rules.rules if r.name == "gangso-teukgu")
    bare = Announcement(**{**ann.__dict__, "category": ""})
    assert "gangso-teukgu" not in {h.rule for h in Matcher(rules).match(bare)}


# ---------------------------------------------------------------- parsing, config


def test_html_board_maps_category_from_selectors():
    source = Source(id="b", url="https://tp.example.kr/list", kind="html", items="tr",
                    fields={"title": "td.t a", "link": "td.t a@href", **expand(["td.cat", "td.tag"])})
    body = ('<table><tr><td class="t"><a href="/v?1">재활 기기 실증 지원</a></td><td class="cat">기술</td>'
            '<td class="tag">의료기기 &amp; 재활</td></tr></table>').encode()
    (ann,) = parse(source, body, "text/html; charset=utf-8", source.url)
    assert ann.category == "기술, 의료기기 & 재활"


def test_join_keeps_order_and_drops_empty_and_repeated_values():
    assert join({"category.2": "b", "category.1": "a", "category.3": " ", "category.4": "a", "title": "x"}) == "a, b"
    assert join({"category": "only"}) == "only"
    assert paths(expand(["x", "y", "z"])) == ["x", "y", "z"] and paths(expand(["x"])) == ["x"]


def _check(tmp_path: Path, sources: str, rules: str = "rules:\n  - name: r\n    any: [x]\n") -> list[str]:
    (tmp_path / "s.yaml").write_text(sources, encoding="utf-8")
    (tmp_path / "r.yaml").write_text(rules, encoding="utf-8")
    return check(tmp_path / "s.yaml", tmp_path / "r.yaml", env={})[1]


SOURCE = "sources:\n  - id: s\n    kind: json\n    url: https://example.org/\n    items: data\n"


def test_category_config_one_field_or_a_list(tmp_path):
    (tmp_path / "s.yaml").write_text(SOURCE + "    fields: {title: t, category: [a, b.c]}\n", encoding="utf-8")
    (src,) = load_sources(tmp_path / "s.yaml", env={})
    assert paths(src.fields) == ["a", "b.c"]
    (tmp_path / "s.yaml").write_text(SOURCE + "    fields: {title: t, category: tags}\n", encoding="utf-8")
    (src,) = load_sources(tmp_path / "s.yaml", env={})
    assert src.fields["category"] == "tags"
    assert not _check(tmp_path, SOURCE + "    fields: {title: t, category: tags}\n",
                      "rules:\n  - name: r\n    any: [x]\n    fields: [title, category]\n")


def test_category_config_errors_name_file_and_line(tmp_path):
    found = _check(tmp_path, SOURCE + "    fields:\n      title: t\n      category: [a, 3]\n")
    assert found == [f"{tmp_path / 's.yaml'}:8: 'fields.category' must be a list of strings, got 3 (quote it)"]


# ---------------------------------------------------------------- stored, re-matched, explained


def test_category_is_stored_and_a_rules_edit_matches_stored_items_again(tmp_path):
    settings = dict(entry("bizinfo-api").settings)  # the catalogue entry, as `include:` takes it
    body = real_capture("bizinfo-api/bizradar-api_response_sample.json").read_bytes()
    rules = "defaults:\n  max_age: 3650d\nrules:\n  - name: live\n    any: [{kw}]\n    fields: [title, category]\n"
    with FeedServer() as server:
        server.set("/api", body, content_type="application/json")
        w = Watcher(tmp_path)
        w.write("sources.yaml", json.dumps({"sources": [dict(settings, id="bizinfo-api", enabled=True,
                                                             url=server.url("/api"))]}, ensure_ascii=False))
        w.write("rules.yaml", rules.replace("{kw}", "쇼호스트"))
        assert w("once").returncode == 0
        first = w.json("search", "동행축제", "--rule", "live")
        assert [r["title"] for r in first] == ["[경기] 2026년 10월 동행축제 소상공인 라이브커머스 참가기업 모집 공고"]
        w.write("rules.yaml", rules.replace("{kw}", "IR피칭"))  # a hashtag of another item
        done = w("once")
        assert done.returncode == 0, done.stderr
        assert "matched again" in done.stdout
        second = w.json("search", "데모데이", "--rule", "live")
        assert [r["title"] for r in second] == ["[경기] 부천시 2026년 스타트업포럼(IR데모데이) 참가기업 모집 공고"]
        assert w.json("search", "동행축제", "--rule", "live") == []
        tested = w.json("rules", "test", "--rule", "live")
        assert [r["title"] for r in tested] == [second[0]["title"]]
        assert "IR피칭 (분류)" in w("rules", "test").stdout
