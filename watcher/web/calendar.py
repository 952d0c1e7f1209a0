"""Deadlines as an iCalendar (RFC 5545) file, built with the `icalendar` library. Pure.

One all-day event per call, on its deadline, titled with the call's title as published, its link
as the event's URL and in its description. The UID is derived from the call's key, so a subscribed
calendar updates an event (a moved deadline) instead of adding a second one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from icalendar import Calendar, Event

from watcher.deadlines import KST, parse_day
from watcher.parse.links import shown_link

PRODID = "-//gongmo-watcher//deadlines//KO"


def event_uid(call: str) -> str:
    return hashlib.sha1(call.encode("utf-8")).hexdigest()[:24] + "@gongmo-watcher"


def calendar_ics(calls: Iterable[dict[str, Any]], now: datetime, name: str = "공모 마감") -> bytes:
    """Rows of Store.calendar_calls (call, title, link, deadline, source_name, agency) -> .ics bytes."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for row in calls:
        day = parse_day(row.get("deadline"))
        if day is None:
            continue
        event = Event()
        event.add("uid", event_uid(str(row.get("call") or row.get("link") or row.get("title"))))
        event.add("dtstamp", now)
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        event.add("summary", str(row.get("title") or ""))
        event.add("transp", "TRANSPARENT")
        link = shown_link(row.get("link"))
        lines = [link] if link else []
        for label, key in (("출처", "source_name"), ("기관", "agency")):
            if row.get(key):
                lines.append(f"{label}: {row[key]}")
        if link:
            event.add("url", link)
        if lines:
            event.add("description", "\n".join(lines))
        cal.add_component(event)
    return cal.to_ical()


def calendar_for(db_path: str, rule: str | None, open_only: bool, now: datetime) -> bytes | None:
    """The .ics of the database at `db_path` (None when there is none): `watcher calendar` and
    `GET /calendar.ics`. Reads only."""
    import sqlite3

    from watcher.errors import WatcherError
    from watcher.store.calls import open_read_only

    store = open_read_only(db_path)
    if store is None:
        return None
    try:
        today = now.astimezone(KST).date().isoformat()
        calls = store.calendar_calls(rule=rule, open_on=today if open_only else None)
    except sqlite3.OperationalError as exc:
        raise WatcherError(f"{db_path}: cannot read the database ({exc}); run `watcher once` to upgrade it") from exc
    finally:
        store.conn.close()
    return calendar_ics(calls, now, name=f"공모 마감 · {rule}" if rule else "공모 마감")


def calendar_response(store_path: str, query: str, now: datetime) -> tuple[str, str, bytes]:
    """(HTTP status, content type, body) of `GET /calendar.ics?rule=NAME&open=1` (`query` decoded)."""
    from urllib.parse import parse_qs

    from watcher.errors import WatcherError

    form = parse_qs(query, errors="replace")
    rule = (form.get("rule") or [""])[0].strip() or None
    try:
        data = calendar_for(store_path, rule, bool((form.get("open") or [""])[0]), now)
    except WatcherError as err:
        return "503 Service Unavailable", "text/plain", f"{err}\n".encode()
    if data is None:
        return "404 Not Found", "text/plain", "아직 저장된 공고가 없습니다 (watcher once 먼저).\n".encode()
    return "200 OK", "text/calendar", data
