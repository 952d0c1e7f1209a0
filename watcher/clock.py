"""The one Korea time of the watcher: KST, now, stored timestamps, day parsing and display.

Every stored time is ISO 8601 in Korea time to the second (`iso`); every day the team reads
(deadlines, search bounds) is a Korea-time day (`parse_day`, `today_kst`). Korea has had no
daylight saving time since 1988, so a fixed UTC+9 offset is exact for every date a call carries.
Pure functions, no I/O.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

KST = timezone(timedelta(hours=9), "KST")


def now_kst() -> datetime:
    """The current moment in Korea time."""
    return datetime.now(KST)


def iso(moment: datetime) -> str:
    """A moment as stored: `2026-12-01T09:30:00+09:00` (naive moments are taken as KST)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=KST)
    return moment.astimezone(KST).isoformat(timespec="seconds")


def today_kst(now: datetime) -> date:
    """The Korea-time day of a moment (a naive moment is taken as already in Korea time)."""
    return now.astimezone(KST).date() if now.tzinfo else now.date()


def parse_day(value: Any, strict: bool = False) -> date | None:
    """An ISO date or date-time (string, date or datetime) -> its Korea-time day; None when empty or
    unreadable. Lenient by default: `2026-12-01T…` in any form gives its first ten characters' day;
    `strict` reads only a whole ISO date or date-time (for bounds a user typed)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return today_kst(value)
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return today_kst(datetime.fromisoformat(text))
    except ValueError:
        pass
    if strict:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _shown(stamp: str | datetime, suffix: str) -> str:
    try:
        moment = datetime.fromisoformat(stamp) if isinstance(stamp, str) else stamp
    except ValueError:
        return str(stamp)
    if moment.tzinfo is not None:
        moment = moment.astimezone(KST)
    return moment.strftime("%Y-%m-%d %H:%M") + suffix


def minute_text(stamp: str | datetime | None) -> str:
    """A stored time as a person reads it: `2026-12-01 09:30` (Korea time); '' when there is none,
    the text itself when it is not a time."""
    return _shown(stamp, "") if stamp else ""


def kst_text(stamp: str | datetime | None, missing: str = "?") -> str:
    """A stored time -> `2026-12-01 09:30 KST`; `missing` when there is none, the text itself when
    it is not a time."""
    return _shown(stamp, " KST") if stamp else missing
