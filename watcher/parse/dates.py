"""Dates as Korean sources write them, and application deadlines found in text.

`parse_date` reads one date (with optional weekday and time) in any form of the contract and
returns an aware datetime; a date without a zone is Asia/Seoul. `deadline_from_text` reads the
end of an application period and never guesses: a period must be labelled as an application
period (`접수기간`, `신청기간`, `마감` ...), carry a year, or be open-ended (`~ 5. 31.(금)`, `... 까지`);
periods labelled as something else (`사업기간`, `행사기간`) are ignored. A date written without a
year takes the year of the period's start, else of the reference (the published date), moved to
the next year when it would fall before it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime


def _seoul() -> tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("Asia/Seoul")
    except Exception:  # no tz database (and no tzdata package): Korea has had no DST since 1988
        return timezone(timedelta(hours=9), "KST")


SEOUL = _seoul()

# -- one date -----------------------------------------------------------------------------------

_WEEKDAY = r"(?:\s*\(\s*[월화수목금토일](?:요일)?\s*\)|\s*[월화수목금토일]요일|\s*\((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\))?"
# a time after a date, also after a comma (`2025년 6월 24일(화), 09:00 ~ 6월 30일(월), 18:00`)
_TIME = (
    r"(?:(?:\s*,?\s*|T)(?P<ampm>오전|오후|[AaPp][Mm])?\s*(?P<H>\d{1,2})\s*"
    r"(?::\s*(?P<M>\d{2})(?:\s*:\s*(?P<S>\d{2})(?:\.\d+)?)?|시(?:\s*(?P<M2>\d{1,2})\s*분)?))?"
)
_YMD = (
    r"(?<!\d)(?P<y>\d{4})\s*(?:[./-]|년)\s*(?P<m>\d{1,2})\s*(?:[./-]|월)\s*(?P<d>\d{1,2})(?!\d)"
    r"(?:\s*일|\.)?" + _WEEKDAY + _TIME
)
_MDY = r"(?<!\d)(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})(?!\d)" + _WEEKDAY + _TIME
_COMPACT = r"(?<!\d)(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:T?(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})?)?(?!\d)"
# month and day only: deadlines like `~ 5. 31.(금) 18:00`, `5월 31일`; never read by parse_date
_MD = (
    r"(?<![\d.])(?P<m>\d{1,2})\s*(?:[./]|월)\s*(?P<d>\d{1,2})(?![\d억만천%,])(?:\s*일|\.)?"
    + _WEEKDAY + _TIME
)

_YMD_RE = re.compile(_YMD)
_MDY_RE = re.compile(_MDY)
_COMPACT_RE = re.compile(_COMPACT)
_MD_RE = re.compile(_MD)
_RFC822_HINT = re.compile(r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\b", re.I)
_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_DAY_MONTH_YEAR = re.compile(r"\b(?P<d>\d{1,2})\s+(?P<mon>[A-Za-z]{3})[a-z]*\.?,?\s+(?P<y>\d{4})\b")
_MONTH_DAY_YEAR = re.compile(r"\b(?P<mon>[A-Za-z]{3})[a-z]*\.?\s+(?P<d>\d{1,2}),?\s+(?P<y>\d{4})\b")
_RFC822_LOCAL = re.compile(r"\s+(?:KST|UTC\+9|GMT\+9|GMT\+09:00)\s*$", re.I)


def _ascii(s: str) -> str:
    return s if s.isascii() else unicodedata.normalize("NFKC", s)


def _build(m: re.Match[str], year: int | None = None) -> datetime | None:
    g = m.groupdict()
    try:
        day = datetime(year or int(g["y"]), int(g["m"]), int(g["d"]), tzinfo=SEOUL)
    except ValueError:
        return None
    if g.get("H") is None:
        return day
    hour, minute, second = int(g["H"]), int(g.get("M") or g.get("M2") or 0), int(g.get("S") or 0)
    ampm = (g.get("ampm") or "").lower()
    if ampm in ("오후", "pm") and hour < 12:
        hour += 12
    elif ampm in ("오전", "am") and hour == 12:
        hour = 0
    try:
        return day.replace(hour=hour, minute=minute, second=second)
    except ValueError:  # 24:00 and the like: keep the day
        return day


YEARS = range(1900, 3000)  # a date outside is unreadable (None), never moved into another century


def parse_date(s: str | None) -> datetime | None:
    """One date in any form Korean sources use -> aware datetime (Asia/Seoul when zone-less);
    None when unreadable or its year is outside YEARS (`0001` stays no date, never 2001)."""
    dt = _parse_date(s)
    return dt if dt is not None and dt.year in YEARS else None


def _parse_date(s: str | None) -> datetime | None:
    if not s:
        return None
    s = _ascii(s).strip()
    if len(s) < 8:
        return None
    if s[4:5] == "-" and s[:4].isdigit():
        try:
            dt = datetime.fromisoformat(s)
        except ValueError:
            pass
        else:
            return dt if dt.tzinfo else dt.replace(tzinfo=SEOUL)
    m = _COMPACT_RE.fullmatch(s)
    if m:
        return _build(m)
    if _RFC822_HINT.search(s):
        dt = _rfc822(s)
        if dt:
            return dt
    for rx in (_YMD_RE, _MDY_RE):
        m = rx.search(s)
        if m:
            return _build(m)
    return None


_RFC822_YEAR = re.compile(r"\b[A-Za-z]{3}[a-z]*\.?\s+(\d{4})\b")


def _rfc822(s: str) -> datetime | None:
    local = _RFC822_LOCAL.search(s)
    try:
        dt = parsedate_to_datetime(s[: local.start()] if local else s)
    except (TypeError, ValueError, IndexError):
        dt = None
    year = _RFC822_YEAR.search(s)
    if dt is not None and year and int(year.group(1)) != dt.year:  # `0001` read by email.utils as 2001
        return None
    if dt is not None:
        if dt.tzinfo is None:  # `-0000` (UTC, RFC 5322) or an unknown zone name such as KST
            dt = dt.replace(tzinfo=UTC if "-0000" in s else SEOUL)
        return dt
    # date only: `21 Aug 2026`, `Aug 21, 2026`
    m = _DAY_MONTH_YEAR.search(s) or _MONTH_DAY_YEAR.search(s)
    month = _MONTHS.get(m.group("mon").lower()) if m else None
    if not m or not month:
        return None
    try:
        return datetime(int(m.group("y")), month, int(m.group("d")), tzinfo=SEOUL)
    except ValueError:
        return None


def to_iso(dt: datetime) -> str:
    """ISO 8601 in Korea time, seconds precision: `2026-08-21T00:00:00+09:00`."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=SEOUL)
    return dt.astimezone(SEOUL).isoformat(timespec="seconds")


def to_date(dt: datetime) -> str:
    """ISO date (YYYY-MM-DD) of the day in Korea."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=SEOUL)
    return dt.astimezone(SEOUL).date().isoformat()


# -- periods and deadlines ----------------------------------------------------------------------


def _ungroup(pattern: str) -> str:
    return re.sub(r"\(\?P<\w+>", "(?:", pattern)


# tokens, longest forms first; gaps between them may hold only spaces and punctuation. The
# lookahead lets the engine skip quickly over text that cannot start a token.
_TOKEN_RE = re.compile(
    r"(?=[\d~∼〜～\-–—부까기마일])(?:"
    + "|".join(
        [
            f"(?P<ymd>{_ungroup(_YMD)})",
            f"(?P<mdy>{_ungroup(_MDY)})",
            f"(?P<compact>{_ungroup(_COMPACT)})",
            f"(?P<md>{_ungroup(_MD)})",
            r"(?P<sep>[~∼〜～]|(?<=\s)[-–—](?=\s)|부터)",
            r"(?P<until>까지)",
            r"(?P<label>기간|기한|마감|일정|일시|일자)",  # widened to the word before it by _label
        ]
    )
    + ")"
)
_GAP_RE = re.compile(r"[\s:()\[\],<>\-*·※□○◦▶▷►☞■◎]*")
_LABEL_GAP_RE = re.compile(r"[\s:()\[\],<>\-*·※□○◦▶▷►☞■◎]*(?:[은는이가]|[\s:]*)?[\s:]*")
_APPLY = re.compile(r"접수|신청|모집|공모|응모|제출|등록|참가|참여|마감|원서|제안")
_DEADLINE_LABEL = re.compile(r"마감|기한")
_NEUTRAL_LABELS = frozenset({"기간", "기한", "일정", "일시", "일자"})
_DATE_KINDS = frozenset({"ymd", "mdy", "compact", "md"})


class _Date:
    __slots__ = ("year", "month", "day")

    def __init__(self, year: int | None, month: int, day: int):
        self.year, self.month, self.day = year, month, day


def _token_date(kind: str, text: str) -> _Date | None:
    rx = {"ymd": _YMD_RE, "mdy": _MDY_RE, "compact": _COMPACT_RE, "md": _MD_RE}[kind]
    m = rx.match(text)
    if not m:
        return None
    g = m.groupdict()
    year = int(g["y"]) if g.get("y") else None
    month, day = int(g["m"]), int(g["d"])
    try:
        date(year or 2000, month, day)  # 2000 is a leap year: 2.29 without a year is fine
    except ValueError:
        return None
    return _Date(year, month, day)


def _resolve(end: _Date, start: _Date | None, reference: date) -> date | None:
    try:
        if end.year:
            return date(end.year, end.month, end.day)
        base = date(start.year, start.month, start.day) if start and start.year else reference
        year = base.year
        if (end.month, end.day) < (base.month, base.day):
            year += 1
        return date(year, end.month, end.day)
    except ValueError:
        return None


def _hangul(c: str) -> bool:
    return "가" <= c <= "힣"


def _label(s: str, start: int, end: int) -> str:
    """The label word ending in the keyword s[start:end]: `접수기간`, `신청 마감`, `사업기간`."""
    i = start
    while i > 0 and _hangul(s[i - 1]):
        i -= 1
    if i == start and i > 1 and s[i - 1].isspace() and _hangul(s[i - 2]):
        i -= 1
        while i > 0 and _hangul(s[i - 1]):
            i -= 1
    return s[i:end]


def _candidates(s: str) -> Iterator[tuple[_Date, _Date | None, str | None, bool]]:
    """(end, start, label, open_ended) for each `A ~ B`, `~ B`, `B 까지` and `마감: B` in s."""
    toks = [
        (kind, _label(s, m.start(), m.end()) if kind == "label" else m.group(), m.start(), m.end())
        for m in _TOKEN_RE.finditer(s)
        if (kind := m.lastgroup or "")
    ]
    n = len(toks)

    def adjacent(i: int, j: int, gap: re.Pattern[str] = _GAP_RE) -> bool:
        return j < n and gap.fullmatch(s, toks[i][3], toks[j][2]) is not None

    def date_at(i: int) -> _Date | None:
        return _token_date(toks[i][0], toks[i][1]) if i < n and toks[i][0] in _DATE_KINDS else None

    i = 0
    while i < n:
        kind = toks[i][0]
        label = toks[i - 1][1] if i and toks[i - 1][0] == "label" and adjacent(i - 1, i, _LABEL_GAP_RE) else None
        if kind == "sep":  # `~ 5. 31.(금)`: open start
            end = date_at(i + 1) if adjacent(i, i + 1) else None
            if end:
                yield end, None, label, True
                i += 2
                continue
        elif kind in _DATE_KINDS and (first := date_at(i)):
            if adjacent(i, i + 1) and toks[i + 1][0] == "sep":
                end = date_at(i + 2) if adjacent(i + 1, i + 2) else None
                if end:
                    yield end, first, label, False
                    i += 3
                    continue
                i += 2  # `2026-09-22 ~`: no end given
                continue
            if adjacent(i, i + 1) and toks[i + 1][0] == "until":
                yield first, None, label, True
                i += 2
                continue
            if label and _DEADLINE_LABEL.search(label):
                yield first, None, label, True
        i += 1


def _reference_day(reference: datetime | None) -> date:
    return (reference.astimezone(SEOUL) if reference else datetime.now(SEOUL)).date()


def deadline_from_text(s: str | None, reference: datetime | None = None) -> str | None:
    """End of the application period named in free text, as YYYY-MM-DD; None when none is given.

    `reference` (the published date) supplies a missing year; without one, today in Korea does.
    """
    if not s:
        return None
    s = unicodedata.normalize("NFKC", s)
    ref = _reference_day(reference)
    fallback: date | None = None
    for end, start, label, open_ended in _candidates(s):
        if label is not None and _APPLY.search(label):
            return _iso(_resolve(end, start, ref))
        if label is not None and label not in _NEUTRAL_LABELS:
            continue  # 사업기간, 행사기간, 교육일정 ...: not an application period
        if fallback is None and (open_ended or end.year or (start and start.year)):
            fallback = _resolve(end, start, ref)
    return _iso(fallback)


def parse_period(s: str | None, reference: datetime | None = None) -> str | None:
    """End of a period field (`2026-09-22 ~ 2026-10-30`, `~ 10. 30.`, `10월 30일까지`) as YYYY-MM-DD.

    Free text such as `예산 소진시까지` or `상시 접수`, an open end (`2026-09-22 ~`) and a lone start
    date give None.
    """
    if not s:
        return None
    s = unicodedata.normalize("NFKC", s)
    for end, start, _, _ in _candidates(s):
        return _iso(_resolve(end, start, _reference_day(reference)))
    return None


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None
