"""watcher.match: one behaviour per case, table-driven."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from watcher.errors import WatcherError
from watcher.match.matcher import Matcher, keyword_problem, literal_pattern, normalize
from watcher.models import Announcement, Hit, Rule, RuleSet
from watcher.pipeline.backtest import backtest, diff


@dataclass
class Case:
    id: str
    rule: dict[str, Any]  # Rule keyword arguments, name defaults to "r"
    ann: dict[str, Any]  # Announcement keyword arguments, title required
    expect: tuple[str, ...] | None  # reported keywords, None: no hit
    synonyms: tuple[tuple[str, ...], ...] = field(default_factory=tuple)


CASES = [
    # white space is ignored both ways
    Case("space in keyword, none in text", {"any": ("디지털 헬스케어",)}, {"title": "디지털헬스케어 실증"},
         ("디지털 헬스케어",)),
    Case("none in keyword, space in text", {"any": ("디지털헬스케어",)}, {"title": "디지털 헬스케어 실증"},
         ("디지털헬스케어",)),
    Case("tabs and line breaks in text", {"any": ("강소특구",)}, {"title": "강소\t특\n구 육성"}, ("강소특구",)),
    Case("non-breaking space in text", {"any": ("의료기기",)}, {"title": "의료\u00a0기기 공고"}, ("의료기기",)),
    Case("zero-width space in text", {"any": ("의료기기",)}, {"title": "의료\u200b기기 공고"}, ("의료기기",)),
    Case("space in Latin keyword optional", {"any": ("medical device",)}, {"title": "medicaldevice 지원"},
         ("medical device",)),
    # Hangul matches inside words
    Case("particle after keyword", {"any": ("의료기기",)}, {"title": "의료기기를 개발하는 기업"}, ("의료기기",)),
    Case("keyword inside compound", {"any": ("강소특구",)}, {"title": "[안산강소특구] 사업 공고"}, ("강소특구",)),
    # Latin letters and digits: whole words only
    Case("AI not inside maintain", {"any": ("AI",)}, {"title": "maintain 지원"}, None),
    Case("AI not at start of AIDS", {"any": ("AI",)}, {"title": "AIDS 예방"}, None),
    Case("AI after Hangul", {"any": ("AI",)}, {"title": "의료AI 실증"}, ("AI",)),
    Case("AI before hyphen", {"any": ("AI",)}, {"title": "AI-based 진단"}, ("AI",)),
    Case("AI in brackets", {"any": ("AI",)}, {"title": "인공지능(AI) 바우처"}, ("AI",)),
    Case("AI before Hangul particle", {"any": ("AI",)}, {"title": "AI를 활용한"}, ("AI",)),
    Case("letters of a Latin word stay together", {"any": ("AI",)}, {"title": "A I"}, None),
    Case("digit end touches digit", {"any": ("5G",)}, {"title": "15G 대역"}, None),
    Case("digit keyword as a word", {"any": ("5G",)}, {"title": "5G 특화망 실증"}, ("5G",)),
    Case("accented Latin letter is a letter", {"any": ("IVD",)}, {"title": "IVDé"}, None),
    Case("Hangul keyword ending in digit", {"any": ("바이오헬스3",)}, {"title": "바이오헬스30 사업"}, None),
    # case and Unicode forms
    Case("case-insensitive keyword", {"any": ("ivd",)}, {"title": "IVD 인증"}, ("ivd",)),
    Case("case-insensitive text", {"any": ("MedTech",)}, {"title": "MEDTECH 포럼"}, ("MedTech",)),
    Case("full-width letters in text", {"any": ("AI",)}, {"title": "ＡＩ 기반 판독"}, ("AI",)),
    Case("full-width letters in keyword", {"any": ("ＡＩ",)}, {"title": "AI 기반 판독"}, ("ＡＩ",)),
    Case("middle dot U+318D in text", {"any": ("의료·바이오",)}, {"title": "의료ㆍ바이오 융합"},
         ("의료·바이오",)),
    Case("middle dot U+318D in keyword", {"any": ("의료ㆍ바이오",)}, {"title": "의료·바이오 융합"},
         ("의료ㆍ바이오",)),
    Case("katakana middle dot in text", {"any": ("의료·바이오",)}, {"title": "의료・바이오"}, ("의료·바이오",)),
    Case("half-width middle dot in text", {"any": ("의료·바이오",)}, {"title": "의료･바이오"}, ("의료·바이오",)),
    Case("decomposed Hangul in text", {"any": ("특구",)}, {"title": "\u1110\u1173\u11a8\u1100\u116e 사업"},
         ("특구",)),
    # regular expressions
    Case("regex with optional space", {"any": (r"re:체외\s*진단",)}, {"title": "체외 진단 기기"},
         (r"re:체외\s*진단",)),
    Case("regex is case-insensitive", {"any": ("re:fda\\s*510",)}, {"title": "FDA 510(k)"},
         ("re:fda\\s*510",)),
    Case("regex sees NFKC text", {"any": ("re:ai",)}, {"title": "ＡＩ"}, ("re:ai",)),
    Case("regex sees spaces", {"any": ("re:의료기기$",)}, {"title": "의료기기 "}, None),
    Case("regex anchored per field", {"any": ("re:^공모",), "fields": ("title", "summary")},
         {"title": "2026 공고", "summary": "공모 안내"}, ("re:^공모",)),
    Case("regex not across fields", {"any": ("re:공고.*안내",), "fields": ("title", "summary")},
         {"title": "2026 공고", "summary": "사업 안내"}, None),
    Case("regex: optional part not required", {"any": ("re:(강소연구)?특구",)}, {"title": "대덕특구"},
         ("re:(강소연구)?특구",)),
    Case("regex: any alternative", {"any": ("re:(의료기기|메드테크)\\s*공모",)}, {"title": "메드테크 공모"},
         ("re:(의료기기|메드테크)\\s*공모",)),
    Case("regex: repeated part required", {"any": ("re:(특구)+기업",)}, {"title": "특구특구기업"},
         ("re:(특구)+기업",)),
    Case("regex: literal in a hidden spot", {"any": ("강소특구", "re:소특")}, {"title": "강소특구"},
         ("강소특구", "re:소특")),
    Case("literal not across fields", {"any": ("공고안내",)}, {"title": "2026 공고", "summary": "안내"}, None),
    # fields
    Case("default fields skip agency", {"any": ("보건복지부",)}, {"title": "공고", "agency": "보건복지부"}, None),
    Case("agency searched when named", {"any": ("보건복지부",), "fields": ("agency",)},
         {"title": "공고", "agency": "보건복지부"}, ("보건복지부",)),
    Case("title not searched when not named", {"any": ("의료기기",), "fields": ("summary",)},
         {"title": "의료기기 공고", "summary": "안내"}, None),
    Case("link searched when named", {"any": ("khidi",), "fields": ("link",)},
         {"title": "공고", "link": "https://www.khidi.or.kr/board?id=1"}, ("khidi",)),
    Case("keywords of all may sit in other fields", {"any": ("의료기기",), "all": ("공모",)},
         {"title": "의료기기 지원", "summary": "과제 공모"}, ("의료기기", "공모")),
    Case("empty field is fine", {"any": ("공고",), "fields": ("agency", "title")},
         {"title": "공고", "agency": None}, ("공고",)),
    # sources
    Case("rule skips other sources", {"any": ("공고",), "sources": ("ntis",)},
         {"title": "공고", "source": "bizinfo"}, None),
    Case("rule takes its sources", {"any": ("공고",), "sources": ("ntis", "khidi")},
         {"title": "공고", "source": "khidi"}, ("공고",)),
    # any / all / none
    Case("any: one of several", {"any": ("메드테크", "의료기기")}, {"title": "의료기기 공고"}, ("의료기기",)),
    Case("any: none present", {"any": ("메드테크", "의료기기")}, {"title": "바이오 공고"}, None),
    Case("all: one missing", {"any": ("의료기기",), "all": ("공모", "2026")}, {"title": "의료기기 공모"}, None),
    Case("all: every one present", {"any": ("의료기기",), "all": ("공모", "2026")},
         {"title": "2026 의료기기 공모"}, ("의료기기", "공모", "2026")),
    Case("all without any", {"all": ("의료기기", "공모")}, {"title": "의료기기 과제 공모"}, ("의료기기", "공모")),
    Case("none excludes", {"any": ("의료기기",), "none": ("채용",)}, {"title": "의료기기 연구원 채용"}, None),
    Case("none in summary excludes", {"any": ("의료기기",), "none": ("채용",)},
         {"title": "의료기기 공고", "summary": "정규직 채용"}, None),
    Case("none ignores spacing", {"any": ("의료",), "none": ("의료관광",)}, {"title": "의료 관광 홍보"}, None),
    Case("none absent keeps hit", {"any": ("의료기기",), "none": ("채용",)}, {"title": "의료기기 공고"},
         ("의료기기",)),
    # synonyms
    Case("synonym in any", {"any": ("강소특구",)}, {"title": "강소연구개발특구 지정"}, ("강소특구",),
         (("강소특구", "강소연구개발특구"),)),
    Case("synonym in any, reverse", {"any": ("강소연구개발특구",)}, {"title": "안산강소특구"},
         ("강소연구개발특구",), (("강소특구", "강소연구개발특구"),)),
    Case("synonym in all", {"any": ("공고",), "all": ("의료기기",)}, {"title": "medical device 공고"},
         ("공고", "의료기기"), (("의료기기", "medical device"),)),
    Case("synonym in none", {"any": ("홍보",), "none": ("의료관광",)}, {"title": "medical tourism 홍보"},
         None, (("의료관광", "medical tourism"),)),
    Case("synonym lookup ignores spacing and case", {"any": ("디지털치료제",)}, {"title": "dtx 개발"},
         ("디지털치료제",), (("디지털 치료제", "DTx"),)),
    Case("synonym words keep word rules", {"any": ("의료기기",)}, {"title": "medical devices"}, None,
         (("의료기기", "medical device"),)),
    Case("synonym group may hold a regex", {"any": ("체외진단",)}, {"title": "IVD 인증"}, ("체외진단",),
         (("체외진단", "re:\\bivd\\b"),)),
    Case("word in no group is itself only", {"any": ("메드테크",)}, {"title": "의료기기"}, None,
         (("의료기기", "medical device"),)),
    # reported keywords
    Case("keywords as written, rule order", {"any": ("메드테크", "Medical Device", "체외 진단")},
         {"title": "체외진단 medical device 메드테크"}, ("메드테크", "Medical Device", "체외 진단")),
    Case("keywords of any then all", {"any": ("공고", "의료기기"), "all": ("2026",)},
         {"title": "2026 의료기기 공고"}, ("공고", "의료기기", "2026")),
    # literals hidden by longer or overlapping ones are still found
    Case("prefix of a longer keyword", {"any": ("의료",), "none": ("의료기기",)}, {"title": "의료기기"}, None),
    Case("keyword overlapping another", {"any": ("특구기업",), "none": ("관광특구",)},
         {"title": "강소특구기업"}, ("특구기업",)),
    Case("overlap hidden by a none keyword", {"any": ("특구기업",), "none": ("관광특구",)},
         {"title": "관광특구기업"}, None),
]


def _ann(**kw: Any) -> Announcement:
    kw.setdefault("source", "ntis")
    kw.setdefault("id", "1")
    kw.setdefault("link", None)
    return Announcement(**kw)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule(case: Case):
    rule = Rule(**{"name": "r", "channel": "#c", **case.rule})
    matcher = Matcher(RuleSet(rules=(rule,), synonyms=case.synonyms))
    hits = matcher.match(_ann(**case.ann))
    if case.expect is None:
        assert hits == []
    else:
        assert hits == [Hit("r", "#c", case.expect, None)]


def test_hits_in_rule_order_with_channel_and_mention():
    rules = (Rule("b", any=("공고",), channel="#b", mention="<!here>"), Rule("a", any=("의료기기",)),
             Rule("c", any=("메드테크",)))
    hits = Matcher(RuleSet(rules=rules)).match(_ann(title="의료기기 공고"))
    assert hits == [Hit("b", "#b", ("공고",), "<!here>"), Hit("a", "#gongmo", ("의료기기",), None)]


def test_rules_sharing_keywords_each_match():
    rules = (Rule("long", any=("관광특구",)), Rule("overlap", any=("특구기업",)), Rule("short", any=("특구",)))
    hits = Matcher(RuleSet(rules=rules)).match(_ann(title="관광특구기업 지원"))
    assert [h.rule for h in hits] == ["long", "overlap", "short"]


def test_match_rule():
    matcher = Matcher(RuleSet(rules=(Rule("a", any=("공고",), sources=("ntis",)), Rule("b", any=("x",)))))
    assert matcher.match_rule("a", _ann(title="공고")) == Hit("a", "#gongmo", ("공고",), None)
    assert matcher.match_rule("a", _ann(title="공고", source="bizinfo")) is None
    assert matcher.match_rule("b", _ann(title="공고")) is None
    assert matcher.rule_names == ("a", "b")
    with pytest.raises(KeyError):
        matcher.match_rule("nope", _ann(title="공고"))


@pytest.mark.parametrize("text, expect", [
    ("ＡＩ 기반", "ai 기반"),
    ("의료ㆍ바이오·헬스・케어", "의료·바이오·헬스·케어"),
    ("의료\u200b기기", "의료기기"),
    ("MedTech", "medtech"),
    (None, ""),
])
def test_normalize(text, expect):
    assert normalize(text) == expect


def test_regexes_with_back_references_beside_others():
    rules = (Rule("a", any=("re:(의료)기기",)), Rule("b", any=(r"re:(ab)\1",)), Rule("c", any=("re:(?P<x>특)구",)))
    matcher = Matcher(RuleSet(rules=rules))
    assert [h.rule for h in matcher.match(_ann(title="abab 공고"))] == ["b"]
    assert [h.rule for h in matcher.match(_ann(title="의료기기 특구"))] == ["a", "c"]


def test_regexes_sharing_a_group_name():
    rules = (Rule("a", any=("re:(?P<x>의료)",)), Rule("b", any=("re:(?P<x>특구)",)))
    assert [h.rule for h in Matcher(RuleSet(rules=rules)).match(_ann(title="특구"))] == ["b"]


def test_keyword_problem():
    assert keyword_problem("re:(") is not None
    assert keyword_problem("re:") is not None
    assert keyword_problem("의료기기") is None
    assert keyword_problem("re:체외\\s*진단") is None


def test_keyword_empty_after_normalising_matches_nothing():
    matcher = Matcher(RuleSet(rules=(Rule("r", any=("\u200b", "공고")),)))
    assert matcher.match(_ann(title="공고"))[0].keywords == ("공고",)


def test_nul_in_text_does_not_split_fields():
    matcher = Matcher(RuleSet(rules=(Rule("r", any=("공고",), fields=("summary",)),)))
    assert matcher.match(_ann(title="공고", summary="a\0b")) == []
    assert matcher.match(_ann(title="x", summary="a\0공고"))[0].rule == "r"


# -- the fast path agrees with searching every keyword on its own ----------------------------

ROUNDS = 30
WORDS = ["의료", "의료기기", "기기", "특구", "관광특구", "특구기업", "업체", "AI", "ai반도체", "maintain",
         "5G", "메드테크", "ab", "ba", "aba", "디지털 헬스", "헬스케어", "케어", "re:체외\\s*진단", "re:\\d{4}년",
         "re:(ai|인공지능).{0,5}의료", "re:^의료", "re:특구$", "re:(?<!관광)특구", "re:x|의료ab"]
FILLER = ["", " ", "  ", "-", "·", "ㆍ", "의", "를", "a", "x", "2026년", "\n", "체외", "진단", "ＡＩ"]


def _reference(rules: tuple[Rule, ...], synonyms: tuple[tuple[str, ...], ...], ann: Announcement) -> list[Hit]:
    """Every keyword searched on its own, on each field: slow and plain."""
    def found(word: str, text: str) -> bool:
        if word.startswith("re:"):
            return re.search(word[3:], text, re.I) is not None
        return re.search(literal_pattern(word), text) is not None

    def has(kw: str, texts: list[str]) -> bool:
        key = "".join(normalize(kw).split())
        words = [kw] + [w for g in synonyms if key in ["".join(normalize(x).split()) for x in g] for w in g]
        return any(found(w, t) for w in words for t in texts)

    hits = []
    for r in rules:
        if r.sources and ann.source not in r.sources:
            continue
        texts = [normalize(getattr(ann, f) or "") for f in r.fields]
        if any(has(k, texts) for k in r.none) or not all(has(k, texts) for k in r.all):
            continue
        matched = [k for k in r.any if has(k, texts)]
        if r.any and not matched:
            continue
        hits.append(Hit(r.name, r.channel, tuple(dict.fromkeys([*matched, *r.all])), r.mention))
    return hits


def test_fast_path_agrees_with_reference():
    rng = random.Random(7)
    for _ in range(ROUNDS):
        rules = tuple(
            Rule(f"r{i}", any=tuple(rng.sample(WORDS, 3)), all=tuple(rng.sample(WORDS, rng.randint(0, 1))),
                 none=tuple(rng.sample(WORDS, rng.randint(0, 1))),
                 fields=rng.choice([("title", "summary"), ("summary",), ("title", "agency")]))
            for i in range(6))
        synonyms = (("의료기기", "medical device"), ("AI", "인공지능"))
        matcher = Matcher(RuleSet(rules=rules, synonyms=synonyms))
        for _ in range(200):
            def text() -> str:
                return "".join(rng.choice(WORDS + FILLER).removeprefix("re:") for _ in range(rng.randint(0, 8)))
            ann = _ann(title=text(), summary=text(), agency=text())
            assert matcher.match(ann) == _reference(rules, synonyms, ann), ann


# -- backtest and diff ------------------------------------------------------------------------

def test_backtest_rows():
    matcher = Matcher(RuleSet(rules=(Rule("a", any=("의료기기",), channel="#a"), Rule("b", any=("공고",)))))
    anns = [_ann(id="1", title="의료기기 공고", link="https://x/1", published="2026-09-01T09:00:00+09:00"),
            _ann(id="2", title="기타")]
    assert backtest(matcher, iter(anns)) == [
        {"rule": "a", "source": "ntis", "id": "1", "title": "의료기기 공고", "link": "https://x/1",
         "published": "2026-09-01T09:00:00+09:00", "channel": "#a", "words": ["의료기기 (제목)"]},
        {"rule": "b", "source": "ntis", "id": "1", "title": "의료기기 공고", "link": "https://x/1",
         "published": "2026-09-01T09:00:00+09:00", "channel": "#gongmo", "words": ["공고 (제목)"]},
    ]
    assert [r["rule"] for r in backtest(matcher, anns, rule="b")] == ["b"]
    with pytest.raises(WatcherError, match="no rule named 'c'"):
        backtest(matcher, anns, rule="c")


def test_diff_added_dropped_kept():
    old = Matcher(RuleSet(rules=(Rule("dev", any=("의료기기",)), Rule("gone", any=("공고",)))))
    new = Matcher(RuleSet(rules=(Rule("dev", any=("의료기기", "메드테크"), none=("채용",)),)))
    anns = (a for a in [_ann(id="1", title="의료기기 공고"), _ann(id="2", title="메드테크 포럼"),
                        _ann(id="3", title="의료기기 채용")])
    result = diff(old, new, anns)
    assert [(r["rule"], r["id"]) for r in result["added"]] == [("dev", "2")]
    assert [(r["rule"], r["id"]) for r in result["dropped"]] == [("gone", "1"), ("dev", "3")]
    assert result["kept"] == 1


def test_diff_channel_change_is_drop_and_add():
    old = Matcher(RuleSet(rules=(Rule("dev", any=("의료기기",), channel="#old"),)))
    new = Matcher(RuleSet(rules=(Rule("dev", any=("의료기기",), channel="#new"),)))
    result = diff(old, new, [_ann(title="의료기기")])
    assert [r["channel"] for r in result["added"]] == ["#new"]
    assert [r["channel"] for r in result["dropped"]] == ["#old"]


def test_no_rules_match_nothing():
    assert Matcher(RuleSet()).match(_ann(title="공고")) == []


def _real_corpus() -> list[Announcement]:
    from pathlib import Path

    from ruamel.yaml import YAML

    items = YAML(typ="safe").load((Path(__file__).parent / "corpus" / "real.yaml").read_text(encoding="utf-8"))
    return [Announcement(source=it.get("kind", "corpus"), id=str(i), title=it["title"], link=None,
                         summary=it.get("summary", ""), agency=it.get("agency")) for i, it in enumerate(items["items"])]


def test_screen_lets_through_every_real_item_the_shipped_rules_match() -> None:
    from pathlib import Path

    from watcher.config.load import load_rules

    matcher = Matcher(load_rules(Path(__file__).parent.parent / "rules.yaml", None, env={}))
    anns = _real_corpus()
    let_through = matcher.screen(anns)
    matched = [bool(matcher.match(a)) for a in anns]
    assert not [a.title for a, ok, hit in zip(anns, let_through, matched, strict=True) if hit and not ok]
    assert sum(matched) < sum(let_through) < len(anns) * 0.6  # and it does screen most out


def test_screen_keeps_items_with_only_a_none_keyword_out_and_regex_only_rules_open() -> None:
    anns = [Announcement("s", "1", "의료기기 채용 공고", None), Announcement("s", "2", "관광 안내", None),
            Announcement("s", "3", "MEDICAL DEVICE 지원", None, summary="\0\1 섞인 글")]
    rules = RuleSet(rules=(Rule("dev", any=("의료기기", "medical device"), none=("관광",)),))
    assert Matcher(rules).screen(anns) == [True, False, True]
    unanchored = RuleSet(rules=(Rule("re", any=("re:[0-9]{4}",)),))  # no literal to scan for
    assert Matcher(unanchored).screen(anns) == [True, True, True]
