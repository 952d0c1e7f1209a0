"""The lines of a call worth a glance in its alert, as the call states them: pure, text in, lines out.

`call_info(texts)` reads the detail page's text and then each 공고문's (never a form's) and keeps,
for each of 접수기간, 지원규모/예산 and 지원대상, the first line labelled so: the label as the text
writes it (spaces inside it dropped: `접 수 기 간` -> `접수기간`) and what follows it on that line,
or on the next line when the label stands alone (a table cell), clipped to VALUE_MAX characters.
Nothing is guessed: a call that states none of them gets no line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

VALUE_MAX = 120
KINDS = ("period", "budget", "target")  # the order the alert shows them in
SHOWN = {"period": "접수기간", "budget": "지원규모", "target": "지원대상"}


def _spaced(word: str) -> str:
    return r"\s*".join(map(re.escape, word))


# Labels of each kind, spaces allowed inside (`접 수 기 간`).
_WORDS = {
    "period": ("접수기간", "신청기간", "모집기간", "접수기한", "신청기한", "공모기간", "접수일정", "신청일정",
               "제출기한", "접수마감", "신청마감", "공고 및 접수기간", "공고·접수기간"),
    "budget": ("지원규모", "지원예산", "사업예산", "총사업비", "지원금액", "지원한도", "예산"),
    "target": ("지원대상", "신청대상", "모집대상", "참여대상", "신청자격", "지원자격", "참가대상", "공모대상"),
}
_LABEL = {kind: "|".join(_spaced(w) for w in sorted(words, key=len, reverse=True)) for kind, words in _WORDS.items()}
_EDGE = r"(?<![가-힣])(?P<label>{})(?!(?![은는])[가-힣])"  # a whole word: not `취업지원대상자`, not `접수마감일`
# 1. `label : value` anywhere in a line (`마. 지원규모 : 총 2개사`, `m 응시원서 접수기간 : 2025. 6. 10.`)
_COLON = {kind: re.compile(_EDGE.format(label) + r"\s*[)\]」』】]*\s*[:：]\s*(?P<rest>.*)$")
          for kind, label in _LABEL.items()}
# 2. a line that opens with the label (after a bullet, number or `가.`): the value after it, or on the next line
_LEAD = r"^(?:[\s\-*·•○◦●❍□■◎▶▷►☞※¦ㅇ①-⑳\d.)(\[\]<>「」『』【】\ue000-\uf8ff]|[가-하]\.)*"
_OPENS = {kind: re.compile(_LEAD + _EDGE.format(label) + r"\s*[)\]」』】]*\s*(?P<rest>.*)$")
          for kind, label in _LABEL.items()}
_AMOUNT = re.compile(r"\d\s*(?:억|천만|백만|만)\s*원|\d[\d,]*\s*원|\d\s*억|\d+\s*백만|\d+\s*개\s*(?:사|기업|팀|과제)")
_DATE = re.compile(r"\d{1,4}\s*[./년-]\s*\d{1,2}|상시|소진")
_NOT_VALUE = re.compile(r"^(?:및|등|제한|요건|기준|확인|관련|여부)(?![가-힣])")


def call_info(texts: Iterable[str]) -> dict[str, tuple[str, str]]:
    """{kind: (label as written, value)} for each of KINDS the texts state, the first text that
    states a kind winning."""
    found: dict[str, tuple[str, str]] = {}
    for text in texts:
        lines = [line.strip() for line in (text or "").split("\n")]
        for kind in KINDS:
            if kind not in found and (hit := _first(kind, lines)):
                found[kind] = hit
        if len(found) == len(KINDS):
            break
    return {kind: found[kind] for kind in KINDS if kind in found}


def _first(kind: str, lines: list[str]) -> tuple[str, str] | None:
    for line in lines:  # `label : value` first: the clearest statement
        m = _COLON[kind].search(line)
        if m and _plausible(kind, m.group("rest").strip()):
            return "".join(m.group("label").split()), _clip(m.group("rest"))
    for i, line in enumerate(lines):
        m = _OPENS[kind].match(line)
        if not m:
            continue
        value = m.group("rest").strip() or next((n for n in lines[i + 1:i + 3] if n), "")
        if _plausible(kind, value):
            return "".join(m.group("label").split()), _clip(value)
    return None


def _plausible(kind: str, value: str) -> bool:
    """A value worth showing: a period holds a date (or 상시, 소진), a budget an amount, a target a
    few words that are not a heading's rest (`및 추진절차`, `제한`)."""
    if len(value) < 2 or _NOT_VALUE.match(value):
        return False
    if kind == "period":
        return bool(_DATE.search(value))
    if kind == "budget":
        return bool(_AMOUNT.search(value))
    return len(value) >= 4


def _clip(value: str) -> str:
    value = " ".join(value.split()).lstrip("◦○●❍□■◎▶▷►☞-·• ")
    return value if len(value) <= VALUE_MAX else value[: VALUE_MAX - 1] + "…"
