"""watcher.deadlines: D-day, reminders due, changes. Table-driven."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from watcher.deadlines import KST, change_line, changes, d_day, deadline_order, is_urgent, reminder_due

DAY, HOUR = 86_400.0, 3600.0


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=KST)


@pytest.mark.parametrize("deadline, today, expected", [
    ("2026-12-10", date(2026, 12, 3), "D-7"),
    ("2026-12-10", date(2026, 12, 9), "D-1"),
    ("2026-12-10", date(2026, 12, 10), "D-day"),
    ("2026-12-10", date(2026, 12, 11), "마감"),
    (None, date(2026, 12, 11), None),
    ("soon", date(2026, 12, 11), None),
])
def test_d_day(deadline: str | None, today: date, expected: str | None) -> None:
    assert d_day(deadline, today) == expected


@pytest.mark.parametrize("deadline, expected", [
    ("2026-12-04", True), ("2026-12-01", True), ("2026-12-05", False), ("2026-11-30", False), (None, False)])
def test_urgent_from_d3(deadline: str | None, expected: bool) -> None:
    assert is_urgent(deadline, date(2026, 12, 1)) is expected


def test_deadline_order_closest_first_open_ended_last() -> None:
    rows = ["2026-12-24", None, "2026-12-02", "2026-12-10"]
    assert sorted(rows, key=deadline_order) == ["2026-12-02", "2026-12-10", "2026-12-24", None]


@pytest.mark.parametrize("now, alerted, expected", [
    ("2026-12-08 23:59", "2026-12-01 10:00", (None, [])),  # D-2: the 1d reminder is not due yet
    ("2026-12-09 00:00", "2026-12-01 10:00", (DAY, [])),  # D-1 from midnight
    ("2026-12-10 17:00", "2026-12-01 10:00", (DAY, [])),  # D-day: still open, still due (restart)
    ("2026-12-11 00:00", "2026-12-01 10:00", (None, [])),  # the deadline has passed
    ("2026-12-09 08:00", "2026-12-09 07:00", (None, [])),  # alerted at D-1: no reminder of it
])
def test_reminder_due_one_day(now: str, alerted: str, expected: tuple) -> None:
    assert reminder_due("2026-12-10", [DAY], at(alerted), at(now)) == expected


def test_reminders_due_while_down_send_only_the_closest() -> None:
    assert reminder_due("2026-12-10", [7 * DAY, DAY], at("2026-11-20 09:00"), at("2026-12-09 09:00")) == \
        (DAY, [7 * DAY])


def test_reminder_seven_days_then_one() -> None:
    alerted = at("2026-11-20 09:00")
    assert reminder_due("2026-12-10", [7 * DAY, DAY], alerted, at("2026-12-03 00:00")) == (7 * DAY, [])
    assert reminder_due("2026-12-10", [12 * HOUR], alerted, at("2026-12-09 12:00")) == (12 * HOUR, [])
    assert reminder_due("2026-12-10", [12 * HOUR], alerted, at("2026-12-09 11:59")) == (None, [])


def test_reminder_needs_a_deadline() -> None:
    assert reminder_due(None, [DAY], None, at("2026-12-09 09:00")) == (None, [])


@pytest.mark.parametrize("old, new, expected", [
    ({"deadline": "2026-12-10", "title": "A"}, {"deadline": "2026-12-24", "title": "A"},
     [("deadline", "2026-12-10", "2026-12-24")]),
    ({"deadline": None, "title": "A"}, {"deadline": "2026-12-24", "title": "A"}, [("deadline", None, "2026-12-24")]),
    ({"deadline": "2026-12-10", "title": "A"}, {"deadline": None, "title": "A"}, []),  # a copy without one
    ({"deadline": "2026-12-10", "title": "A"}, {"deadline": "2026-12-10", "title": "B"}, [("title", "A", "B")]),
    ({"deadline": "2026-12-10", "title": "A  B"}, {"deadline": "2026-12-10", "title": "A B"}, []),
])
def test_changes(old: dict, new: dict, expected: list) -> None:
    assert changes(old, new) == expected


def test_change_line() -> None:
    assert change_line("deadline", "2026-12-10", "2026-12-24") == "마감 12-10 → 12-24"
    assert change_line("deadline", None, "2026-12-24") == "마감 없음 → 12-24"
