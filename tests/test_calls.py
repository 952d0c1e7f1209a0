"""watcher.calls: title folding and same-call decisions, table-tested and measured on real titles."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from watcher.calls import fold_title, is_correction, same_call, strip_tags

TITLES = YAML(typ="safe").load((Path(__file__).parent / "fixtures" / "calls" / "titles.yaml").read_text("utf-8"))


def ann(source: str, title: str, published: str | None = "2026-08-10", deadline: str | None = None,
        id: str | None = None) -> dict:
    return {"source": source, "id": id or f"{source}:{title}", "title": title, "published": published,
            "deadline": deadline}


@pytest.mark.parametrize("title, folded", [
    ("[공고] 2026년 AI 바우처 지원사업", "2026년ai바우처지원사업"),
    ("[재공고] 2026년 AI 바우처 지원사업 공고", "2026년ai바우처지원사업"),
    ("[정정] 2026년 AI 바우처 지원사업 (연장)", "2026년ai바우처지원사업"),
    ("2026년 AI 바우처 지원사업 공고(접수기간 연장)", "2026년ai바우처지원사업"),
    ("[경기] 2026년 AI 바우처 지원사업", "2026년ai바우처지원사업"),
    ("[서울ㆍ인천ㆍ경기] 2026년 AI 바우처 지원사업", "2026년ai바우처지원사업"),
    ("[2026-003호] 2026년도 AI 바우처 지원사업", "2026년ai바우처지원사업"),
    ("(재공고-국-제29호) 2026년 AI 바우처 지원사업", "2026년ai바우처지원사업"),
    ("2026년  AI·바우처, 지원사업!", "2026년ai바우처지원사업"),
    ("２０２６년 ＡＩ 바우처 지원사업", "2026년ai바우처지원사업"),  # NFKC: full-width forms
])
def test_fold_drops_tags_regions_numbers_spacing_punctuation(title: str, folded: str) -> None:
    assert fold_title(title) == folded


@pytest.mark.parametrize("a, b", [
    ("2026년 AI 바우처 지원사업", "2027년 AI 바우처 지원사업"),  # another year
    ("2026년 1차 AI 바우처 지원사업", "2026년 2차 AI 바우처 지원사업"),  # another round
    ("AI 바우처 입주자 모집 공고(2차)", "AI 바우처 입주자 모집 공고(7차)"),  # a round in a trailing bracket
    ("웰컴 투 팁스 참가기업 모집 (충청권)", "웰컴 투 팁스 참가기업 모집 (강원권)"),  # a region that is content
    ("「2026 한국전자전」 참가기업 모집", "「2026 한국전자전」 관악관 참가기업 모집"),  # words inside 「」 stay
    ("혁신제품 지정기간 연장(1차 연장) 공고", "혁신제품 지정기간 연장 공고"),  # `(1차 연장)` is content
])
def test_fold_keeps_what_tells_calls_apart(a: str, b: str) -> None:
    assert fold_title(a) != fold_title(b)


def test_strip_tags_keeps_the_title_as_published_otherwise() -> None:
    assert strip_tags("[경기] 부천시 2026년 스타트업포럼(IR데모데이) 참가기업 모집 공고 (연장)") == \
        "부천시 2026년 스타트업포럼(IR데모데이) 참가기업 모집 공고"


@pytest.mark.parametrize("title, expected", [
    ("[정정] 2026년 AI 바우처 지원사업", True),
    ("2026년 AI 바우처 지원사업(기간연장)", True),
    ("[모집기간연장] 제11회 쇼케이스데이 참가기업 모집", True),
    ("[정정공고][경기] 2026년 AI 바우처 지원사업", True),
    ("[재공고] 2026년 AI 바우처 지원사업", False),
    ("혁신제품 지정기간 연장(1차 연장) 공고", False),
    ("2026년 AI 바우처 지원사업", False),
])
def test_is_correction(title: str, expected: bool) -> None:
    assert is_correction(title) is expected


@pytest.mark.parametrize("a, b, expected", [
    (ann("ntis", "2026년 AI 바우처 지원사업", deadline="2026-09-01"),
     ann("bizinfo", "[경기] 2026년 AI 바우처 지원사업 공고", deadline="2026-09-01"), True),
    (ann("ntis", "2026년 AI 바우처 지원사업", deadline=None),
     ann("bizinfo", "2026년 AI 바우처 지원사업", deadline="2026-09-01"), True),  # one deadline unknown
    (ann("ntis", "2026년 AI 바우처 지원사업", deadline="2026-09-01"),
     ann("bizinfo", "2026년 AI 바우처 지원사업", deadline="2026-09-15"), False),  # deadlines disagree
    (ann("ntis", "2026년 AI 바우처 지원사업", published="2026-01-02"),
     ann("bizinfo", "2026년 AI 바우처 지원사업", published="2026-03-10"), False),  # 67 days apart
    (ann("ntis", "2026년 AI 바우처 지원사업", published="2026-01-02"),
     ann("bizinfo", "2026년 AI 바우처 지원사업", published="2026-03-03"), True),  # 60 days apart
    (ann("ntis", "2026년 AI 바우처 지원사업", published=None),
     ann("bizinfo", "2026년 AI 바우처 지원사업"), True),  # an unknown date does not separate
    (ann("ntis", "2026년 AI 바우처 지원사업", id="1"),
     ann("ntis", "2026년 AI 바우처 지원사업", id="2"), False),  # one source lists two posts
    (ann("ntis", "2026년 AI 바우처 지원사업", deadline="2026-09-01", id="1"),
     ann("ntis", "[정정] 2026년 AI 바우처 지원사업 (연장)", deadline="2026-09-15", id="2"), True),  # correction
    (ann("ntis", "[공고]"), ann("bizinfo", "[공고]"), False),  # nothing left to compare
    (ann("ntis", "사업 공고"), ann("bizinfo", "사업 공고"), False),  # too short to say
])
def test_same_call(a: dict, b: dict, expected: bool) -> None:
    assert same_call(a, b) is expected
    assert same_call(b, a) is expected


def test_real_pairs_of_one_call_merge() -> None:
    """Measured: every real pair of one call merges (figure in the report: 15/15)."""
    pairs = TITLES["merge"]
    missed = [p for p in pairs if not same_call(ann("one", p["a"], deadline="2026-09-01"),
                                                ann("two", p["b"], deadline="2026-09-01"))]
    assert not missed
    corrections = [p for p in pairs if p.get("correction")]
    assert corrections and all(
        same_call(ann("one", p["a"], deadline="2026-09-30"), ann("one", p["b"], deadline="2026-09-01"))
        for p in corrections)


def distinct_titles() -> list[tuple[str, str]]:
    return [(group, title) for group, titles in TITLES["distinct"].items() for title in titles]


def test_real_titles_of_distinct_calls_never_merge() -> None:
    """Every pair of the real distinct titles, as if on two portals with no deadline known (the
    case most likely to merge): none merges. 66 titles, 2145 pairs."""
    titles = distinct_titles()
    assert len(titles) >= 60
    merged = [(a, b) for (_, a), (_, b) in itertools.combinations(titles, 2)
              if same_call(ann("one", a), ann("two", b))]
    assert merged == []


def _bump(pattern: str, title: str) -> str | None:
    match = re.search(pattern, title)
    if not match:
        return None
    number = match.group(1)
    return title[:match.start(1)] + str(int(number) + 1) + title[match.end(1):]


def test_real_titles_with_another_year_or_round_stay_apart() -> None:
    """Each real title with a year (`2026년`, `2026`) or a round (`2차`, `3회차`) against itself
    with the next year / round: never one call."""
    checked = 0
    for _, title in distinct_titles():
        for pattern in (r"(20\d\d)", r"(\d+)\s*(?:차|회차|기)"):
            other = _bump(pattern, strip_tags(title))  # the year of the call, not of a notice number
            if other:
                checked += 1
                assert not same_call(ann("one", title), ann("two", other)), (title, other)
    assert checked >= 50
