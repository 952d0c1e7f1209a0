"""Exports of a search, shared by the web page (`format=csv|json|atom`) and `watcher search`
(`--csv`, `--json`, `--atom`). Pure: rows in (as Store.find returns them), text out.

- CSV: UTF-8 with a byte order mark (Excel then reads Korean right), Korean headers 게시일, 마감일,
  D-day, 제목, 기관, 출처, 규칙, 링크 (rules by their label); `lang="en"` gives the English headers
  published, deadline, D-day, title, agency, source name, rules, link, and `closed` for `마감`.
  A cell a spreadsheet would take for a formula (starting with `=`, `+`, `-`, `@`, a tab or a
  carriage return, e.g. a feed title `=HYPERLINK(...)`) is written with a leading `'`, so it shows as
  the text it is (OWASP's advice).
- JSON: one array of objects (source, source_name, id, title, link, summary, published, deadline,
  d_day, agency, rules, first_seen, matched; once the call was read, attachments and found); with
  team actions on, `state` and `assignee` too (CSV: two columns, 상태 and 담당, or state and assignee
  in English).
- Atom (RFC 4287): one entry per announcement, newest first, so a saved search is a feed a reader
  subscribes to; entry ids are stable tag: URIs of (source, id).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree as ET

from watcher.clock import minute_text
from watcher.notify.messages import d_day
from watcher.parse.links import shown_link
from watcher.store.search import KST

BOM = "\ufeff"
CSV_COLUMNS = ("published", "deadline", "D-day", "title", "agency", "source name", "rules", "link")
CSV_COLUMNS_KO = ("게시일", "마감일", "D-day", "제목", "기관", "출처", "규칙", "링크")
CSV_LANGS = ("ko", "en")
TEAM_COLUMNS = {"en": ("state", "assignee"), "ko": ("상태", "담당")}  # team actions on (#26): state, who took it
FORMATS = {  # format -> (media type, file extension)
    "csv": ("text/csv", "csv"),
    "json": ("application/json", "json"),
    "atom": ("application/atom+xml", "atom"),
}
ATOM_NS = "http://www.w3.org/2005/Atom"
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _labels(rules: list[str], labels: Mapping[str, str] | None) -> list[str]:
    return [(labels or {}).get(r) or r for r in rules]


def _minute(value: str | None) -> str:
    """An ISO time as `2026-11-19 09:00` (Korea time) for spreadsheets; a bare date stays a date."""
    if not value:
        return ""
    return value if len(value) <= 10 else minute_text(value)


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """A CSV cell as text a spreadsheet shows and never runs: a leading formula character gets a `'`."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _team(rows: list[dict[str, Any]], team: bool | None) -> bool:
    """Whether the export carries the team's state and assignee: as asked, else when the rows have them."""
    return team if team is not None else any("state" in row for row in rows)


def to_csv(rows: list[dict[str, Any]], today: date, labels: Mapping[str, str] | None = None,
           lang: str | None = "ko", team: bool | None = None) -> str:
    return "".join(iter_csv(rows, today, labels, lang, team))


def iter_csv(rows: list[dict[str, Any]], today: date, labels: Mapping[str, str] | None = None,
             lang: str | None = "ko", team: bool | None = None, chunk: int = 500) -> Iterator[str]:
    """The CSV export in pieces of `chunk` rows (the desk streams it: no whole text in memory)."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    team = _team(rows, team)
    writer.writerow((CSV_COLUMNS if lang == "en" else CSV_COLUMNS_KO)
                    + (TEAM_COLUMNS["en" if lang == "en" else "ko"] if team else ()))
    for n, row in enumerate(rows, 1):
        if lang == "en":
            row = {**row, "d_day_en": True}
        if n % chunk == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        writer.writerow(cell(value) for value in [
            _minute(row.get("published") or row.get("first_seen")), row.get("deadline") or "",
            _d_day(row, today), row.get("title") or "", row.get("agency") or "",
            row.get("source_name") or row.get("source") or "", ", ".join(_labels(row.get("rules") or [], labels)),
            shown_link(row.get("link")) or "",
        ] + ([row.get("state") or "", row.get("assignee") or ""] if team else []))
    yield out.getvalue()


def _d_day(row: dict[str, Any], today: date) -> str:
    text = d_day(row.get("deadline"), today) or ""
    return "closed" if text == "마감" and row.get("d_day_en") else text


def json_rows(rows: list[dict[str, Any]], today: date, team: bool | None = None) -> list[dict[str, Any]]:
    """Rows as `--json` and `format=json` give them; a call that was read adds `attachments` ([{name,
    url, type}]) and, for a search with words, `found` (where they are: `제목`, `본문`, `첨부: 공고문.hwp`)."""
    keys = ("source", "source_name", "id", "title", "link", "summary", "published", "deadline")
    team = _team(rows, team)
    read = ("attachments", "found")
    return [{**{k: row.get(k) for k in keys}, "link": shown_link(row.get("link")),
             "d_day": d_day(row.get("deadline"), today),
             "agency": row.get("agency"), "rules": list(row.get("rules") or []), "first_seen": row.get("first_seen"),
             "matched": list(row.get("matched") or []),  # per rule the item's words: `강소특구 (제목)`
             **({"state": row.get("state"), "assignee": row.get("assignee")} if team else {}),
             **{k: row[k] for k in read if k in row}}
            for row in rows]


def to_json(rows: list[dict[str, Any]], today: date, team: bool | None = None) -> str:
    return json.dumps(json_rows(rows, today, team), ensure_ascii=False, indent=2) + "\n"


def _xml(text: object) -> str:
    return _NOT_XML.sub("\ufffd", "" if text is None else str(text))


def _rfc3339(value: str | None, fallback: datetime) -> str:
    try:
        moment = datetime.fromisoformat(value) if value else fallback
    except ValueError:
        moment = fallback
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=KST)
    return moment.isoformat(timespec="seconds")


def entry_id(row: Mapping[str, Any]) -> str:
    return f"tag:gongmo-watcher,2026:{quote(str(row.get('source')), safe='')}/{quote(str(row.get('id')), safe='')}"


def to_atom(rows: list[dict[str, Any]], title: str, self_url: str, page_url: str, now: datetime, today: date,
            labels: Mapping[str, str] | None = None, link_of: Any = None) -> str:
    """An Atom feed of the rows. link_of(row) -> the link to publish (None: none), default row["link"]."""
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")

    def sub(parent: ET.Element, tag: str, text: object = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", {k: _xml(v) for k, v in attrs.items()})
        if text is not None:
            el.text = _xml(text)
        return el

    sub(feed, "title", title)
    sub(feed, "id", self_url)
    sub(feed, "link", rel="self", href=self_url, type=FORMATS["atom"][0])
    sub(feed, "link", rel="alternate", href=page_url, type="text/html")
    sub(feed, "updated", max((_rfc3339(r.get("first_seen"), now) for r in rows), default=_rfc3339(None, now)))
    sub(sub(feed, "author"), "name", "gongmo-watcher")
    sub(feed, "generator", "gongmo-watcher")
    for row in rows:
        entry = sub(feed, "entry")
        sub(entry, "title", row.get("title") or "(제목 없음)")
        sub(entry, "id", entry_id(row))
        link = link_of(row) if link_of else shown_link(row.get("link"))
        if link:
            sub(entry, "link", rel="alternate", href=link)
        sub(entry, "published", _rfc3339(row.get("published") or row.get("first_seen"), now))
        sub(entry, "updated", _rfc3339(row.get("first_seen") or row.get("published"), now))
        sub(sub(entry, "author"), "name", row.get("agency") or row.get("source_name") or row.get("source"))
        for rule in _labels(row.get("rules") or [], labels):
            sub(entry, "category", term=rule)
        lines = [f"출처: {row.get('source_name') or row.get('source')}"]
        if row.get("agency"):
            lines.append(f"기관: {row['agency']}")
        if row.get("deadline"):
            lines.append(f"마감: {row['deadline']} ({d_day(row['deadline'], today)})")
        if row.get("summary"):
            lines.append(str(row["summary"]))
        sub(entry, "summary", "\n".join(lines), type="text")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"
