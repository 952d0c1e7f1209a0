"""The real call attachments (../shared/samples/real/attachments/, 21 HWP, 1 HWPX, 8 PDF) by their
`rNN` prefix, what each states, and Hancom's-preview word coverage. Test helper only."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from tests.shared import real_dir
from watcher.parse.dates import SEOUL

PUBLISHED = datetime(2025, 6, 1, tzinfo=SEOUL)  # the boards published them in June 2025
# prefix -> the application deadline the 공고문 states (read by hand from its 접수기간/신청기간/모집기간);
# None where it states none (r05 `예산소진 시 마감`, r30 참여요건)
NOTICES = {
    "r01": "2025-07-08", "r02": "2025-06-23", "r03": "2025-06-20", "r04": "2025-06-20", "r05": None,
    "r07": "2025-06-20", "r09": "2025-06-20", "r11": "2025-06-30", "r13": "2025-06-18", "r18": "2025-06-24",
    "r21": "2025-06-20", "r24": "2025-06-20", "r25": "2025-06-20", "r30": None, "r35": "2025-06-15",
    "r36": "2025-06-30", "r40": "2025-06-16",
}
FORMS = ("r06", "r08", "r10", "r16", "r19", "r22", "r27", "r28", "r29", "r38")
OTHERS = ("r12", "r31", "r34")  # results notices and a manual: read, but never for a deadline
ALL = tuple(sorted((*NOTICES, *FORMS, *OTHERS)))
PDFS = ("r01", "r04", "r12", "r18", "r31", "r34", "r36", "r40")  # the rest are HWP 5, and r09 HWPX
WORD = re.compile(r"[가-힣A-Za-z0-9]+")


def real_file(prefix: str) -> Path:
    """The real attachment `rNN-…`; the test skips when ../shared/samples/real is absent."""
    found = sorted((real_dir() / "attachments").glob(f"{prefix}-*"))
    assert len(found) == 1, f"{prefix}: {found}"
    return found[0]


def word_coverage(preview: str, text: str) -> tuple[float, list[str]]:
    """Share of the preview's Hangul/alphanumeric words (its cut-off last word dropped) that are
    whole words of `text`, and the missing ones."""
    words = WORD.findall(" ".join(preview.split()))[:-1]
    have = set(WORD.findall(" ".join(text.split())))
    missing = [w for w in words if w not in have]
    return (1 - len(missing) / len(words)) if words else 1.0, missing
