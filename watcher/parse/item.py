"""Raw field strings of one item -> Announcement, the same way for feeds, JSON and HTML boards.

Fields (keys of `source.fields`, and what each parser reads by default): `id`, `title`, `link`,
`summary`, `published`, `deadline`, `period`, `agency`, `category` (watcher/parse/category.py).
Deadline: the `deadline` field (a date, or a period whose end is taken); else the `period` field;
else a period named in title + summary.
A field that is present decides, even when it names no date (`예산 소진시까지` -> None).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime

from watcher.models import Announcement, Source
from watcher.parse.category import join as join_category
from watcher.parse.dates import deadline_from_text, parse_date, parse_period, to_date, to_iso
from watcher.parse.identity import identity
from watcher.parse.links import absolute, canonical_link, make_id
from watcher.parse.text import clean_text, html_to_text
from watcher.parse.textclean import valid

log = logging.getLogger("watcher")

FIELDS = ("id", "title", "link", "summary", "published", "deadline", "period", "agency")
FILES = "_files"  # raw key: the files the item lists (watcher/parse/detail.py api_files), as JSON
_TITLE_FROM_SUMMARY = 100


def make_announcement(
    source: Source,
    page_url: str,
    raw: Mapping[str, str | None],
    *,
    title_is_text: bool = False,
) -> Announcement | None:
    """None when the item has no title, link or summary (an empty table row, a placeholder).

    Every raw string passes the edge function first (watcher/textclean.py): control characters and
    invisible characters go, lone surrogates become U+FFFD; text fields are then cleaned as published.
    """
    raw = {key: valid(value) if isinstance(value, str) else None for key, value in raw.items()}
    title = clean_text(raw.get("title")) if title_is_text else html_to_text(raw.get("title"))
    link = absolute(page_url, raw.get("link"))
    summary = html_to_text(raw.get("summary"))
    if not title:
        if not link and not summary:
            return None
        title = summary[:_TITLE_FROM_SUMMARY] or link or ""
    raw_published = raw.get("published")
    published_dt = parse_date(raw_published)
    published = to_iso(published_dt) if published_dt else None
    agency = clean_text(raw.get("agency")) or source.agency or None  # the source's fixed agency
    return Announcement(
        source=source.id,
        id=identity(source, link) or make_id(clean_text(raw.get("id")), link, title,
                                             published or clean_text(raw_published)),
        title=title,
        link=link,
        summary=summary,
        published=published,
        deadline=_deadline(raw, title, summary, published_dt),
        agency=agency,
        canonical=canonical_link(link) if link else None,
        category=join_category(raw, clean_text),
        files=_files(raw.get(FILES)),
    )


def _files(value: str | None) -> tuple[tuple[str, str], ...]:
    """(name, url) pairs of the files an API item lists, from their JSON."""
    if not value:
        return ()
    return tuple((str(name), str(url)) for name, url in json.loads(value))


def announcements(
    source: Source, page_url: str, entries: Iterable[tuple[Mapping[str, str | None], bool]]
) -> list[Announcement]:
    """make_announcement for each (raw fields, title_is_text): an item that cannot be read is
    skipped with one log line and costs nothing but itself."""
    result = []
    for n, (raw, title_is_text) in enumerate(entries, 1):
        try:
            ann = make_announcement(source, page_url, raw, title_is_text=title_is_text)
        except (ValueError, TypeError, LookupError, UnicodeError) as err:
            log.warning("%s: item %d skipped: %s", source.id, n, " ".join(str(err).split())[:200])
            continue
        if ann is not None:
            result.append(ann)
    return result


def _deadline(
    raw: Mapping[str, str | None], title: str, summary: str, reference: datetime | None
) -> str | None:
    value = raw.get("deadline")
    if value is not None and value.strip():
        value = clean_text(value)
        end = parse_period(value, reference)
        if end:
            return end
        dt = parse_date(value)
        return to_date(dt) if dt else None
    value = raw.get("period")
    if value is not None and value.strip():
        return parse_period(clean_text(value), reference)
    return deadline_from_text(f"{title}\n{summary}", reference)
