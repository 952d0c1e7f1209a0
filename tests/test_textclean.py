"""The edge function every source string passes (watcher/textclean.py): valid text, as published."""

from __future__ import annotations

import pytest

from watcher.parse.textclean import clean, valid


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("ㅇ 접수기간 : 2026. 10. 2.(금)", "ㅇ 접수기간 : 2026. 10. 2.(금)"),  # U+3147 stays, not U+110B
        ("지원분야 ㅣ 의료기기", "지원분야 ㅣ 의료기기"),  # U+3163 stays, not U+1175
        ("① 신청 ② 평가", "① 신청 ② 평가"),
        ("모집 공고…", "모집 공고…"),
        ("ＡＩ 바우처", "ＡＩ 바우처"),  # full-width as written
        ("물류ㆍ통관・인증", "물류ㆍ통관・인증"),  # middle dots as written
        ("㈜ 케이㈔", "㈜ 케이㈔"),
    ],
)
def test_characters_are_kept_as_published(raw: str, shown: str) -> None:
    assert clean(raw) == shown


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("R&amp;D &#40;KES&#41; &apos;26", "R&D (KES) '26"),
        ("R&amp;amp;D", "R&amp;D"),  # decoded once
        ("AT&T R&D &copy", "AT&T R&D &copy"),  # not references: left alone
        ("&lt;AI 바우처&gt;", "<AI 바우처>"),
    ],
)
def test_character_references_are_decoded(raw: str, shown: str) -> None:
    assert clean(raw) == shown


def test_runs_of_white_space_become_one_space() -> None:
    assert clean("  공고\t\n\r 안내\u00a0\u00a0기간\u3000마감\u2003끝  ") == "공고 안내 기간 마감 끝"


@pytest.mark.parametrize(
    "invisible", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e", "\u202e", "\u2066", "\u3164"]
)
def test_invisible_characters_are_dropped(invisible: str) -> None:
    assert clean(f"강소{invisible}특구") == "강소특구"


def test_a_joiner_inside_an_emoji_sequence_stays() -> None:
    assert clean("👩\u200d💻 개발자") == "👩\u200d💻 개발자"


@pytest.mark.parametrize("control", ["\x00", "\x01", "\x08", "\x1b", "\x7f", "\x9f"])
def test_control_characters_are_dropped(control: str) -> None:
    assert clean(f"공{control}고") == "공고"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("이모지 \ud83d", "이모지 \ufffd"),  # a JSON string cut inside a surrogate pair
        ("\udc00끝", "\ufffd끝"),
        ("&#xD800; 공고", "\ufffd 공고"),  # a reference to a surrogate
        ("&#0;공고", "\ufffd공고"),
        ("비문자\ufffe\uffff", "비문자\ufffd\ufffd"),
    ],
)
def test_unencodable_code_points_become_replacement_characters(raw: str, shown: str) -> None:
    assert clean(raw) == shown
    shown.encode("utf-8")  # what SQLite and Slack are given always encodes


def test_valid_leaves_white_space_and_references_alone() -> None:
    assert valid("a&amp;b\tc\x00d\ud800") == "a&amp;b\tcd\ufffd"
    assert valid(None) == "" and clean(None) == "" and clean("") == ""
