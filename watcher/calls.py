"""One call across portals: fold a title, decide whether two announcements are the same call. Pure.

The same call is published by the agency on its board, by 기업마당 (which prefixes a region tag,
`[경기]`), by NTIS or K-Startup, and again as `[정정]` or `(연장)` when it changes. `fold_title`
drops what those copies add and keeps what tells calls apart:

- dropped: bracketed tags at the start or end of the title (`[공고]`, `[재공고]`, `[정정]`,
  `(연장)`, `(접수기간 연장)`, `[모집기간연장]`), a leading region tag in square brackets (`[경기]`,
  `[서울ㆍ인천ㆍ경기]`), a leading notice number (`[2026-003호]`, `(재공고-국-제29호)`), a final
  `공고` / `재공고` / `안내` / `공지` / `알림`, spacing, punctuation and brackets themselves, letter case
  (after NFKC), `2026년도` written as `2026년`;
- kept: every year, round and number (`2026년` vs `2027년`, `1차` vs `2차`, `(7차)`), region words
  outside a leading tag (`(충청권)`), and the words inside any other bracket (`「2026 한국전자전」`).

`same_call(a, b)`: folded titles agree (and say something: 6 characters or more), published within
60 days of each other (an unknown date does not separate), and either both come from different
sources with deadlines that agree or one unknown, or one of them is a correction (`[정정]`,
`(연장)`, ...) of the other, whose deadline may then differ: that is the change it announces.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

from watcher.deadlines import parse_day

WINDOW_DAYS = 60
MIN_FOLDED = 6

_OPEN, _CLOSE = "[(【〔〈<《{［（", "])】〕〉>》}］）"
_BRACKETS = {o: c for o, c in zip(_OPEN, _CLOSE, strict=True)}
_SQUARE = "[【〔［"

# A tag: a status word of the notice itself, alone or combined (`재공고`, `정정공고`, `모집기간연장`).
_TAG_WORDS = ("재", "긴급", "추가", "수정", "변경", "정정", "연장", "연기", "마감", "기간", "접수", "신청", "모집",
              "공고", "공지", "공모", "안내", "알림", "재안내", "재공지", "new", "신규", "중요")
_TAG = re.compile("(?:" + "|".join(sorted(_TAG_WORDS, key=len, reverse=True)) + ")+")
# A notice number: `2026-003호`, `제2026-12호`, `재공고-국-제29호`, `공고 제2026-1호`.
_NUMBER = re.compile(r"(?:[가-힣]{0,6}[-–:]?)*제?\d+(?:[-–]\d+)*호")
_CORRECTION = re.compile(r"정정|연장|변경|수정|연기")
_REGIONS = frozenset(
    """서울 부산 대구 인천 광주 대전 울산 세종 경기 강원 충북 충남 전북 전남 경북 경남 제주 전국 수도권 충청 호남 영남
    서울특별시 부산광역시 대구광역시 인천광역시 광주광역시 대전광역시 울산광역시 세종특별자치시 경기도 강원도
    강원특별자치도 충청북도 충청남도 전라북도 전북특별자치도 전라남도 경상북도 경상남도 제주도 제주특별자치도""".split()
)
_REGION_SEP = re.compile(r"[ㆍᆞ·・,/\s]+")  # NFKC turns ㆍ into ᆞ
_TRAILING_WORD = re.compile(r"(?:재?(?:공고|안내|공지|알림))+$")
_YEAR_DO = re.compile(r"(\d{4})년도")
_NOT_WORD = re.compile(r"[\W_]+")


def _content(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def _is_tag(inner: str) -> bool:
    core = _content(inner)
    if not core:
        return True
    if _TAG.fullmatch(core):
        return True
    # `접수기간 연장 3월 27일 18시까지`-style extensions, `재공고-국-제29호`
    if _NUMBER.fullmatch(core):
        return True
    head = _TAG.match(core)
    return bool(head and _NUMBER.fullmatch(core[head.end():].lstrip("-–:")))


def _is_region(inner: str) -> bool:
    parts = [p for p in _REGION_SEP.split(inner.strip()) if p]
    return bool(parts) and all(p in _REGIONS for p in parts)


def _leading(text: str) -> tuple[str, str] | None:
    """(inner, rest) of a bracket opening the text."""
    if not text or text[0] not in _BRACKETS:
        return None
    end = text.find(_BRACKETS[text[0]], 1)
    return (text[1:end], text[end + 1:]) if end > 0 else None


def _trailing(text: str) -> tuple[str, str] | None:
    """(inner, rest) of a bracket closing the text."""
    if not text or text[-1] not in _CLOSE:
        return None
    opener = _OPEN[_CLOSE.index(text[-1])]
    start = text.rfind(opener, 0, len(text) - 1)
    return (text[start + 1:-1], text[:start]) if start >= 0 else None


@lru_cache(maxsize=8192)  # pure, and a cycle compares the same titles many times (candidates of a call)
def strip_tags(title: str) -> str:
    """The title without the bracketed tags copies add at its start and end (see module docstring)."""
    text = unicodedata.normalize("NFKC", title or "").strip()
    while True:
        lead = _leading(text)
        if lead and (_is_tag(lead[0]) or (text[0] in _SQUARE and _is_region(lead[0]))):
            text = lead[1].strip()
            continue
        tail = _trailing(text)
        if tail and _is_tag(tail[0]) and tail[1].strip():
            text = tail[1].strip()
            continue
        return text


@lru_cache(maxsize=8192)
def fold_title(title: str) -> str:
    """The comparable form of a title: tags, spacing, punctuation and case folded away."""
    text = _YEAR_DO.sub(r"\1년", strip_tags(title)).casefold()
    text = _NOT_WORD.sub("", text)
    return _TRAILING_WORD.sub("", text) or text


@lru_cache(maxsize=8192)
def is_correction(title: str) -> bool:
    """A title announcing a change of a call (`[정정]`, `(연장)`, `(접수기간 연장)`, `[모집기간연장]`)."""
    text = unicodedata.normalize("NFKC", title or "").strip()
    for _ in range(4):
        for part in (_leading(text), _trailing(text)):
            if part and _is_tag(part[0]) and _CORRECTION.search(_content(part[0])):
                return True
        lead = _leading(text)
        if not lead:
            break
        text = lead[1].strip()
    return False


def _get(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def same_call(a: Any, b: Any, window_days: int = WINDOW_DAYS) -> bool:
    """Whether two announcements (objects or dicts with source, id, title, published, deadline)
    are one call; see the module docstring."""
    if (_get(a, "source"), _get(a, "id")) == (_get(b, "source"), _get(b, "id")):
        return False
    folded = fold_title(_get(a, "title") or "")
    if len(folded) < MIN_FOLDED or folded != fold_title(_get(b, "title") or ""):
        return False
    pa, pb = parse_day(_get(a, "published")), parse_day(_get(b, "published"))
    if pa and pb and abs((pa - pb).days) > window_days:
        return False
    if is_correction(_get(a, "title") or "") or is_correction(_get(b, "title") or ""):
        return True
    if _get(a, "source") == _get(b, "source"):
        return False
    da, db = parse_day(_get(a, "deadline")), parse_day(_get(b, "deadline"))
    return da is None or db is None or da == db
