"""Deadlines: D-day, which reminders are due, what changed between two versions of a call. Pure.

A deadline is a day (Korea time); the call is open through that whole day. `D-n` counts days
from today (Korea time) to it: `D-1` the day before, `D-day` the day itself, `마감` after.
A reminder of offset `o` (`remind: [7d, 1d]`) is due from midnight (Korea time) of the deadline day
minus `o` (`1d` -> 00:00 of D-1; `12h` -> 12:00 of D-1) until the deadline has passed, and only
when the call's message went out before that moment (a call alerted at D-3 gets no `7d`
reminder). When several offsets are due at once (the watcher was down), only the closest one
is sent; the others are dropped, never sent late.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from watcher.clock import KST, parse_day, today_kst

URGENT_DAYS = 3  # D-3 and closer are emphasised


def days_left(deadline: Any, today: date) -> int | None:
    due = parse_day(deadline)
    return None if due is None else (due - today).days


def d_day(deadline: Any, today: date) -> str | None:
    """`D-7`, `D-day`, or `마감` once the deadline has passed; None without a readable deadline."""
    left = days_left(deadline, today)
    if left is None:
        return None
    if left > 0:
        return f"D-{left}"
    return "D-day" if left == 0 else "마감"


def is_urgent(deadline: Any, today: date) -> bool:
    left = days_left(deadline, today)
    return left is not None and 0 <= left <= URGENT_DAYS


def is_open(deadline: Any, today: date) -> bool:
    """Not closed: no deadline, or a deadline today or later."""
    left = days_left(deadline, today)
    return left is None or left >= 0


def deadline_order(deadline: Any) -> tuple[int, str]:
    """Sort key: closest deadline first, open-ended (unknown) last."""
    due = parse_day(deadline)
    return (0, due.isoformat()) if due else (1, "")


def offset_label(seconds: float) -> str:
    """86400 -> `1d`, 43200 -> `12h`, 5400 -> `90m`."""
    seconds = int(seconds)
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def offset_text(seconds: float) -> str:
    """The Korean phrase for an offset: `1일`, `12시간`."""
    seconds = int(seconds)
    if seconds % 86_400 == 0:
        return f"{seconds // 86_400}일"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}시간"
    return f"{max(1, seconds // 60)}분"


def reminder_at(deadline: Any, offset: float) -> datetime | None:
    """When the reminder of `offset` seconds before `deadline` becomes due (Korea time)."""
    due = parse_day(deadline)
    if due is None:
        return None
    return datetime.combine(due, time(0), KST) - timedelta(seconds=offset)


def reminder_due(deadline: Any, offsets: Iterable[float], alerted_at: datetime | None,
                 now: datetime) -> tuple[float | None, list[float]]:
    """(the offset to send now or None, the offsets due that are dropped because a closer one is due).

    Offsets whose moment is before `alerted_at` never count; nothing is due once the deadline passed."""
    due = parse_day(deadline)
    if due is None or today_kst(now) > due:
        return None, []
    ready = []
    for offset in sorted(set(offsets)):
        at = reminder_at(due, offset)
        if at is None or at > now:
            continue
        if alerted_at is not None and at <= alerted_at:
            continue
        ready.append(offset)
    if not ready:
        return None, []
    return ready[0], ready[1:]


def reminder_stale(deadline: Any, offset: float, offsets: Iterable[float], now: datetime) -> bool:
    """Checked again when a queued reminder is about to be sent (it may have waited out an outage):
    stale once the deadline has passed, or once a closer offset of its rules is due (that one is
    sent instead)."""
    due = parse_day(deadline)
    if due is None or today_kst(now) > due:
        return True
    closer = [o for o in set(offsets) if o < offset and (at := reminder_at(due, o)) is not None and at <= now]
    return bool(closer)


def _short_day(value: Any) -> str:
    day = parse_day(value)
    return day.strftime("%m-%d") if day else "없음"


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """What changed between two versions of a call: [(field, old, new)] for `deadline` and `title`.

    A deadline that disappears (a copy without one) is not a change; one that appears is."""
    out: list[tuple[str, Any, Any]] = []
    old_due, new_due = parse_day(old.get("deadline")), parse_day(new.get("deadline"))
    if new_due is not None and new_due != old_due:
        out.append(("deadline", old.get("deadline"), new.get("deadline")))
    old_title = " ".join(str(old.get("title") or "").split())
    new_title = " ".join(str(new.get("title") or "").split())
    if new_title and old_title and new_title != old_title:
        out.append(("title", old.get("title"), new.get("title")))
    return out


def change_line(field: str, old: Any, new: Any) -> str:
    """One change as the thread says it: `마감 12-10 → 12-24`, `제목 A → B`."""
    if field == "deadline":
        return f"마감 {_short_day(old)} → {_short_day(new)}"
    return f"제목 {old} → {new}"
