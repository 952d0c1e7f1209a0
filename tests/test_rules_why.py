"""`watcher rules test --why LINK`: per rule, what matched, or which keyword came closest and what stopped
it (watcher/match/why.py, a pure function; the CLI in watcher/cli/rules.py is a thin layer)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from tests.rulescore import load_corpus
from watcher.cli import cli
from watcher.config.load import load_rules
from watcher.match.keywords import _compile_keyword, _identity, _is_regex, _squash, normalize
from watcher.match.matcher import Matcher
from watcher.match.why import COMMON_WORDS, REASONS, common_word, explain, required_words
from watcher.models import Announcement, Rule, RuleSet, Source
from watcher.store import Store

ROOT = Path(__file__).resolve().parent.parent


def ann(title: str, summary: str = "", agency: str | None = None, source: str = "tp",
        category: str = "") -> Announcement:
    return Announcement(source, "1", title, "https://tp.example.kr/v?1", summary=summary, agency=agency,
                        category=category)


def why_of(rule: Rule, item: Announcement, synonyms=(), names=()):
    (why,) = explain(RuleSet(rules=(rule,), synonyms=synonyms, synonym_names=names), item)
    return why


DEVICES = Rule(name="devices", any=("의료기기", "체외진단"), none=("채용",), fields=("title", "summary"))


def test_a_match_names_the_items_words():
    why = why_of(DEVICES, ann("체외진단 기기 해외인증 지원"))
    assert (why.matched, why.reason) == (True, "matched")
    assert "체외진단 (제목)" in why.detail


def test_a_source_filter_is_named():
    rule = Rule(name="devices", any=("의료기기",), sources=("ntis", "bizinfo"))
    why = why_of(rule, ann("의료기기 인허가 지원", source="tp"))
    assert (why.matched, why.reason) == (False, "source")
    assert "ntis, bizinfo" in why.detail and "tp" in why.detail


def test_a_none_keyword_is_named_with_the_items_words():
    why = why_of(DEVICES, ann("의료기기 연구원 채용 공고"))
    assert (why.reason, why.keyword, why.field, why.text) == ("none", "채용", "title", "채용")


def test_a_missing_all_keyword_is_named():
    rule = Rule(name="r", any=("의료기기",), all=("공모",))
    why = why_of(rule, ann("의료기기 인허가 지원"))
    assert (why.reason, why.keyword) == ("all", "공모")


def test_an_all_keyword_in_a_field_not_searched_says_so():
    rule = Rule(name="r", any=("지원",), all=("특구재단",), fields=("title",))
    why = why_of(rule, ann("기술사업화 지원 공고", agency="특구재단"))
    assert (why.reason, why.keyword, why.field) == ("all", "특구재단", "agency")
    assert "does not search" in why.detail


def test_a_keyword_in_a_field_the_rule_does_not_search_is_named():
    """The agency names devices; the rule searches title and summary only."""
    why = why_of(DEVICES, ann("글로벌 시장진출지원 플랫폼 참여기업 모집", agency="원주의료기기산업진흥원"))
    assert (why.matched, why.reason, why.keyword, why.field, why.text) == (
        False, "field", "의료기기", "agency", "의료기기")
    assert "a field the rule does not search (it searches title, summary)" in why.detail


def test_a_keyword_only_in_category_is_a_field_not_searched():
    why = why_of(DEVICES, ann("수출 지원사업 참여기업 모집", category="기술, 의료기기,수출"))
    assert (why.reason, why.field) == ("field", "category")


def test_the_closest_keyword_and_how_close():
    why = why_of(DEVICES, ann("K-의료산업 글로벌 시장진출지원 플랫폼"))
    assert (why.matched, why.reason, why.keyword, why.text) == (False, "closest", "의료기기", "의료")
    assert "2 of 4 letters" in why.detail


def test_the_closest_regex_names_its_required_word():
    rule = Rule(name="fairs", any=("re:(의료|병원)[^,]{0,12}(전시회|박람회)",))
    why = why_of(rule, ann("의료 스타트업 IR 데모데이"))
    assert (why.reason, why.text) == ("closest", "의료")
    assert "its words '의료' are there, not 박람회/전시회" in why.detail


def test_a_latin_keyword_inside_a_longer_word_is_explained():
    why = why_of(Rule(name="ai", any=("AI",)), ann("maintenance contract"))
    assert why.reason == "closest" and "whole word" in why.detail and why.score > 0.9


def test_a_word_of_a_named_synonym_group_says_which_group():
    rule = Rule(name="zones", any=("이노폴리스",), fields=("title",))
    why = why_of(rule, ann("Campus accelerating program", agency="INNOPOLIS Foundation"),
                 synonyms=(("이노폴리스", "INNOPOLIS"),), names=("특구재단 브랜드",))
    assert (why.reason, why.keyword, why.field, why.group) == ("field", "이노폴리스", "agency", "특구재단 브랜드")
    assert "synonym group '특구재단 브랜드'" in why.detail


def test_nothing_close_says_so():
    why = why_of(DEVICES, ann("소상공인 라이브커머스 참가기업 모집"))
    assert why.reason == "closest" and why.keyword is None and "nor any piece" in why.detail


# ---------------------------------------------------------------- words too common to tell

HEALTH_CALL = "re:보건\\s*산업[^,]{0,25}통합\\s*공고"  # rules.yaml: needs 보건, 산업, 통합, 공고


def test_a_title_holding_only_common_words_of_the_shipped_rules_is_told_so_plainly():
    """공고 and 통합 are words of the 보건산업 통합공고 regex, and of nearly every call: no rule names it."""
    rules = load_rules(ROOT / "rules.yaml", env={})
    for why in explain(rules, ann("2026년 창업기업 통합 모집 공고")):
        assert (why.reason, why.keyword, why.score) == ("closest", None, 0.0), why
        assert "only words too common to tell are there" in why.detail, why
    devices = explain(rules, ann("2026년 통합 공고"), "medical-devices")[0]
    assert devices.keyword is None and "('통합', '공고')" in devices.detail


def test_a_telling_piece_beats_a_regex_holding_more_common_words():
    """산업, 통합, 공고 are three of the regex's four words, but 의료 is the only telling word there."""
    rule = Rule(name="devices", any=(HEALTH_CALL, "의료기기"))
    why = why_of(rule, ann("의료 산업 통합 공고"))
    assert (why.reason, why.keyword, why.text) == ("closest", "의료기기", "의료")


def test_a_regex_scores_by_its_telling_words_and_still_names_every_missing_word():
    why = why_of(Rule(name="devices", any=(HEALTH_CALL,)), ann("보건 인력 통합 공고"))
    assert (why.keyword, why.text, why.score) == (HEALTH_CALL, "보건, 통합, 공고", 0.9)
    assert "not 산업" in why.detail


def test_a_common_word_inside_a_longer_one_does_not_bring_a_literal_keyword_close():
    """소기업 and 기업 of 연구소기업 are in 중소기업: the item says nothing of 연구소기업."""
    why = why_of(Rule(name="zones", any=("연구소기업",)), ann("중소기업 수출 지원"))
    assert (why.keyword, why.score) == (None, 0.0)
    assert why.detail.endswith("only words too common to tell are there ('소기업')")  # not 기업, nor 소기


def test_a_piece_made_only_of_common_words_is_not_close():
    assert common_word("기술창업") and not common_word("기술창") and not common_word("의료기업")
    why = why_of(Rule(name="zones", any=("특구형 기술창업 스튜디오",)), ann("기술창업 아카데미 모집"))
    assert why.keyword is None and "'기술창업'" in why.detail


def test_the_common_words_are_the_ones_the_tuning_corpus_shows_common_and_untelling():
    """The measurement behind COMMON_WORDS (its comment in watcher/match/why.py): on real.yaml, a common
    word is in at least 1% of the titles no rule wants, and a title holding it is wanted less than 2.5
    times as often as at the base rate. Every listed word meets it, and so does no required word of a
    shipped regex left off the list."""
    items = load_corpus(ROOT / "tests" / "corpus" / "real.yaml")
    titles = [(_squash(normalize(item.ann.title)), bool(item.labels)) for item in items]
    quiet = [t for t, wanted in titles if not wanted]
    base = 1 - len(quiet) / len(titles)

    def common(word: str) -> bool:
        holding = [wanted for t, wanted in titles if word in t]
        return sum(word in t for t in quiet) >= 0.01 * len(quiet) and sum(holding) < 2.5 * base * len(holding)

    assert len(titles) == 1052 and round(base, 3) == 0.156
    assert [w for w in sorted(COMMON_WORDS) if not common(w)] == []
    rules = load_rules(ROOT / "rules.yaml", env={})
    groups = {_identity(w): g for g in rules.synonyms for w in g}
    regexes = {w for r in rules.rules for kw in r.any for w in groups.get(_identity(kw), (kw,)) if _is_regex(w)}
    words = {w for kw in regexes for part in required_words(_compile_keyword(kw)) or () for w in part}
    assert {"공고", "통합", "산업", "ai"} <= words and not common("의료") and not common("보건")
    assert sorted(w for w in words if common(w) and w not in COMMON_WORDS) == []


@pytest.mark.parametrize("corpus", ["train.yaml", "heldout2.yaml", "heldout3.yaml"])
def test_every_verdict_on_a_corpus_is_the_matchers_and_every_miss_has_a_named_reason(corpus):
    rules = load_rules(ROOT / "rules.yaml", env={})
    matcher = Matcher(rules)
    for item in load_corpus(ROOT / "tests" / "corpus" / corpus):
        hits = {h.rule for h in matcher.match(item.ann)}
        for why in explain(rules, item.ann, matcher=matcher):
            assert why.matched == (why.rule in hits), (why, item.ann.title)
            assert why.reason in REASONS and why.detail
            if why.rule in item.labels and not why.matched:  # a miss: its reason is named
                assert why.reason in ("field", "closest", "none", "all", "source"), why


# ---------------------------------------------------------------- the command

SOURCES = "sources:\n  - id: ntis\n    url: http://127.0.0.1:9/rss\n  - id: tp\n    url: http://127.0.0.1:9/tp\n"
RULES = """\
synonyms:
  - name: 특구재단 브랜드
    words: [이노폴리스, INNOPOLIS]
rules:
  - name: gangso
    any: [강소특구, 이노폴리스]
    sources: [ntis]
  - name: devices
    any: [의료기기]
    none: [채용]
"""


@pytest.fixture
def opts(tmp_path) -> list[str]:
    (tmp_path / "s.yaml").write_text(SOURCES, encoding="utf-8")
    (tmp_path / "r.yaml").write_text(RULES, encoding="utf-8")
    store = Store(tmp_path / "w.db")
    now = datetime(2026, 11, 20, 9, tzinfo=ZoneInfo("Asia/Seoul"))
    items = [
        Announcement("tp", "2", "INNOPOLIS 의료기기 연구원 채용", "https://tp.example.kr/view?no=2",
                     canonical="https://tp.example.kr/view?no=2", published=now.isoformat()),
        Announcement("tp", "3", "K-의료산업 시장진출 지원", "https://tp.example.kr/view?no=3",
                     canonical="https://tp.example.kr/view?no=3", published=now.isoformat(),
                     agency="원주의료기기산업진흥원"),
    ]
    store.ingest(Source(id="tp", url="http://x"), [(a, []) for a in items], now, 14 * 86400)
    store.close()
    return ["--sources", str(tmp_path / "s.yaml"), "--rules", str(tmp_path / "r.yaml"), "--db", str(tmp_path / "w.db")]


def test_why_names_the_source_filter_and_the_none_keyword(opts):
    result = CliRunner().invoke(cli, [*opts, "rules", "test", "--why", "https://tp.example.kr/view?no=2"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "[tp] INNOPOLIS 의료기기 연구원 채용"
    gangso = next(ln for ln in lines if ln.strip().startswith("gangso"))
    devices = next(ln for ln in lines if ln.strip().startswith("devices"))
    assert "source filter: the rule reads only ntis; this item is from tp" in gangso
    assert "excluded by `none` keyword `채용`" in devices


def test_why_json_names_a_field_not_searched_and_finds_the_item_by_its_canonical_link(opts):
    link = "https://TP.example.kr/view?no=3&utm_source=slack#top"
    result = CliRunner().invoke(cli, [*opts, "rules", "test", "--why", link, "--rule", "devices", "--json"])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.output)
    assert {k: row[k] for k in ("rule", "source", "matched", "reason", "keyword", "field", "text")} == {
        "rule": "devices", "source": "tp", "matched": False, "reason": "field", "keyword": "의료기기",
        "field": "agency", "text": "의료기기"}
    assert row["link"] == "https://tp.example.kr/view?no=3"


def test_why_for_a_link_not_stored_is_one_clear_line(opts):
    result = CliRunner().invoke(cli, [*opts, "rules", "test", "--why", "https://nowhere.example/x"])
    assert result.exit_code == 2
    assert "no stored announcement has the link https://nowhere.example/x" in result.output
    assert "Traceback" not in result.output


def test_why_with_diff_is_refused(opts):
    result = CliRunner().invoke(cli, [*opts, "rules", "test", "--why", "https://tp.example.kr/view?no=2", "--diff"])
    assert result.exit_code == 2 and "--why" in result.output
