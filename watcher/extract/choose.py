"""Which attachments of a call to read: the 공고문 first, forms never. Pure: names in, names out.

A form (신청서, 동의서, 추천서, 서식, 계획서, 양식 ...) carries placeholder dates (`2025. . .`,
`년 월 일`) that must never become a deadline, and words that would match any rule; it is skipped.
A name that says a form is included (`공모 (신청서 포함)`) is a notice, not a form. A notice names
itself 공고/공고문/모집/안내/공모; anything else (a manual, a result list) comes after the notices.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

_FORM = re.compile(r"신청서|신청서식|동의서|추천서|서식|계획서|양식|서약서|확약서|위임장|확인서|지원서|제출서류"
                   r"|체크리스트")
_INCLUDED = re.compile(r"(?:신청서|서식|양식|계획서)\s*(?:등\s*)?(?:포함|첨부)")
_NOTICE = re.compile(r"공고문|공고|모집|공모|안내")
_RESULT = re.compile(r"결과|선정")  # 서류평가 결과 공고: a notice, but of results, after the calls


def _stem(filename: str) -> str:
    base = os.path.basename(filename)
    stem, _ = os.path.splitext(base)
    return re.sub(r"[_+]+", " ", stem)


def is_form(filename: str) -> bool:
    """True for a form to fill in (신청서, 동의서, 추천서, 서식, 계획서, 양식 ...), judged by its name."""
    stem = _stem(filename)
    return bool(_FORM.search(_INCLUDED.sub("", stem)))


def rank(filename: str) -> int:
    """0 a 공고문, 1 a notice of results, 2 anything else that is not a form, 3 a form."""
    stem = _stem(filename)
    if is_form(filename):
        return 3
    if "공고문" in stem or (_NOTICE.search(stem) and not _RESULT.search(stem)):
        return 0
    return 1 if _NOTICE.search(stem) else 2


def may_give_deadline(filename: str) -> bool:
    """Only a 공고문 (rank 0) may supply a call's deadline: a result list or a manual carries
    schedule dates (r34: `6. 16(월) 15:00` of a 발표평가) that are not an application deadline."""
    return rank(filename) == 0


def pick_attachments(files: Sequence[str], limit: int = 3) -> list[str]:
    """Up to `limit` names to read, 공고문 first, forms skipped; ties keep the board's order."""
    ranked = sorted(((rank(f), i, f) for i, f in enumerate(files)), key=lambda t: t[:2])
    return [f for r, _, f in ranked if r < 3][: max(0, limit)]
