"""Store SQL for applying edited rules to stored announcements (see watcher/rematch.py).

`meta` keeps the rules in force: `rules_in_force` (the rules.yaml text last parsed by once/run,
for `rules test --diff`) and `rules_fingerprint` (rematch.fingerprint: which rules' stored matches
are stale).
`read_rows` reads the announcements of a time window (`Window`, or one docid part of it) with
their stored matches (of the rules applied again) in two statements; `apply_rematch` rewrites
matches and queues alerts, with the new fingerprint, in one transaction: a crash leaves the old
rules in force, to be applied again.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from watcher.clock import iso
from watcher.models import Announcement, Hit
from watcher.settings import busy_timeout_ms
from watcher.store import search as fts
from watcher.store.ingest import Ingest as _Ingest
from watcher.store.rows import IngestResult, match_row, sort_time, write_matches
from watcher.store.sources import alertable
from watcher.store.texts import readings_of

if TYPE_CHECKING:
    import sqlite_utils

StoredMatch = tuple[str, str, str | None]  # (channel, keywords JSON, words JSON) of one rule


class StoredItem(NamedTuple):
    """One stored announcement as the re-match sees it: its columns (a tuple, cheap to make for
    every row of a window) and its Announcement only when asked for (those matched or rewritten)."""

    source: str
    id: str
    title: str
    link: str | None
    canonical: str | None
    summary: str
    published: str | None
    deadline: str | None
    agency: str | None
    first_seen: str
    docid: int
    category: str
    matches: dict[str, StoredMatch]  # rule -> stored match (of the rules applied again)
    window: tuple[int, str, str]  # (oldest, the source's first poll, today): see store_health.alertable
    body: str = ""  # a read call's detail-page text and attachment texts (Window.texts)
    attachments: str = ""

    @property
    def ann(self) -> Announcement:
        return Announcement(self.source, self.id, self.title, self.link, self.summary, self.published,
                            self.deadline, self.agency, self.canonical, self.category)

    @property
    def alertable(self) -> bool:
        """May it be alerted at all (max_age, closed call, first-poll baseline)? Asked only of items
        some rule matches, so it is worked out only for them."""
        return alertable(self.published, self.deadline, self.first_seen, *self.window)


@dataclass
class Rewrite:
    """What a re-match does for one announcement."""

    ann: Announcement  # the stored announcement
    hits: list[Hit]  # the hits of the rules applied again
    old: dict[str, StoredMatch]  # the stored matches those hits replace (rule -> match)
    changed: bool  # `old` differs from `hits`: rewrite them
    earned: bool  # its hits may be alerted (StoredItem.alertable)


class RematchStore:
    """Mixin of Store: needs `self.conn`, `self.db` and `self.transaction()`."""

    conn: sqlite3.Connection
    db: sqlite_utils.Database

    def meta_value(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                          "SET value = excluded.value", (key, value))

    def record_rules(self, fingerprint: str, text: str | None) -> None:
        """The rules now in force: their fingerprint and (when known) the rules.yaml text parsed."""
        with self.transaction():  # type: ignore[attr-defined]
            self.set_meta("rules_fingerprint", fingerprint)
            if text is not None:
                self.set_meta("rules_in_force", text)

    def apply_rematch(self, rewrites: list[Rewrite], now: datetime, fingerprint: str,
                      text: str | None) -> int:
        """Write a re-match: the matches of each changed announcement become exactly its new hits,
        alerts are queued for the earned hits (one per key and channel, as in ingest), and the new
        rules are recorded as in force. Rules are not in the search index, so it is not touched.
        -> alerts queued."""
        stamp = iso(now)
        with self.transaction() as conn:  # type: ignore[attr-defined]
            rows: list[tuple[Any, ...]] = []
            gone: list[tuple[str, str, str]] = []
            for rw in rewrites:
                if not rw.changed:
                    continue
                ann, old = rw.ann, rw.old
                for hit in rw.hits:
                    row = match_row(ann, hit, stamp)
                    if old.get(hit.rule) != row[3:6]:
                        rows.append(row)
                new = {hit.rule for hit in rw.hits}
                gone += [(ann.source, ann.id, rule) for rule in old if rule not in new]
            conn.executemany("DELETE FROM matches WHERE source = ? AND id = ? AND rule = ?", gone)
            write_matches(conn, rows)
            earned = [(rw.ann, rw.hits) for rw in rewrites if rw.earned and rw.hits]
            queued = _Ingest(conn, stamp, (0, "", ""), IngestResult())._queue(earned)  # only its outbox step
            self.record_rules(fingerprint, text)
        return queued


def _docid(item: StoredItem) -> int:
    return item.docid


@dataclass(frozen=True)
class Window:
    """What `read_rows` reads: the stored announcements whose sort time is `oldest` (epoch seconds)
    or later (and before `newest`, when given), each with its stored matches of `rules` (None: of
    every rule) and what decides whether it may be alerted (`today`: the Korea-time date); as docid
    bounds (low, high], and how to read them (`wide`: a window holding much of the table is read in
    one pass over it, faster than the docid index then; `few`: the rules' matches by index)."""

    oldest: int
    today: str
    rules: frozenset[str] | None
    newest: int | None
    high: int
    low: int
    wide: bool
    few: bool
    size: int  # announcements within the docid bounds (a few more than the window may hold)
    texts: bool = False  # read calls carry their body and attachment texts (rules match those fields)

    @classmethod
    def of(cls, conn: sqlite3.Connection, oldest: int, today: str, rules: set[str] | frozenset[str] | None,
           newest: int | None = None, texts: bool = False) -> Window:
        high = fts.ideal_docid(oldest)  # a docid is at or below its ideal (a busy second spills below)
        edge = -1 if newest is None else fts.ideal_docid(newest)
        low = edge - 86_400  # a row a day below its ideal docid is not expected: the search may stop there
        inside = conn.execute("SELECT count(*) FROM announcements WHERE docid <= ? AND docid > ?",
                              (high, low)).fetchone()[0]
        wide = 3 * inside > conn.execute("SELECT count(*) FROM announcements").fetchone()[0]
        few = wide and rules is not None and 3 * conn.execute(  # the rules' matches are few: by index
            "SELECT count(*) FROM matches WHERE rule IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(rules)),)).fetchone()[0] < conn.execute("SELECT count(*) FROM matches").fetchone()[0]
        return cls(oldest, today, None if rules is None else frozenset(rules), newest, high, low, wide, few, inside,
                   texts)

    def parts(self, conn: sqlite3.Connection, n: int) -> list[Window]:
        """The window cut in `n` docid ranges of about as many announcements each."""
        cuts = [self.low]
        for k in range(1, n):
            row = conn.execute("SELECT docid FROM announcements WHERE docid <= ? AND docid > ? ORDER BY docid "
                               "LIMIT 1 OFFSET ?", (self.high, self.low, k * self.size // n)).fetchone()
            if row is not None and row[0] - 1 > cuts[-1]:
                cuts.append(row[0] - 1)
        cuts.append(self.high)
        return [replace(self, low=lo, high=hi) for lo, hi in zip(cuts, cuts[1:], strict=False)]


def read_part(path: str, w: Window) -> list[StoredItem]:
    """`read_rows` on a connection of its own to the database file at `path` (a forked worker's)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms()}")
        return read_rows(conn, w)
    finally:
        conn.close()


def read_rows(conn: sqlite3.Connection, w: Window) -> list[StoredItem]:
    """The stored announcements of `w` (see Window), by docid."""
    oldest, newest, high, low, rules = w.oldest, w.newest, w.high, w.low, w.rules
    edge = -1 if newest is None else fts.ideal_docid(newest)
    matches: dict[tuple[str, str], dict[str, StoredMatch]] = {}
    some = json.dumps(sorted(rules or ()))
    if w.wide and not w.few:  # one pass over the table, the rules picked here (an index would jump around)
        cursor = conn.execute("SELECT source, id, rule, channel, keywords, words FROM matches NOT INDEXED "
                              "WHERE docid <= ? AND docid > ?", (high, low))
        if rules is not None:
            cursor = (row for row in cursor if row[2] in rules)  # type: ignore[assignment]
    elif rules is not None:
        cursor = conn.execute(
            "SELECT m.source, m.id, m.rule, m.channel, m.keywords, m.words FROM matches m WHERE m.rule IN "
            "(SELECT value FROM json_each(?)) AND m.docid <= ? AND m.docid > ?", (some, high, low))
    else:
        cursor = conn.execute(
            "SELECT m.source, m.id, m.rule, m.channel, m.keywords, m.words FROM announcements a "
            "JOIN matches m ON m.source = a.source AND m.id = a.id WHERE a.docid <= ? AND a.docid > ?",
            (high, low))
    for source, ann_id, rule, channel, keywords, words in cursor:
        matches.setdefault((source, ann_id), {})[rule] = (channel, keywords, words)
    windows = {source: (oldest, first or "", w.today)
               for source, first in conn.execute("SELECT id, first_polled FROM sources")}
    cursor = conn.execute(
        "SELECT source, id, title, link, canonical, coalesce(summary, ''), published, deadline, agency, "
        f"first_seen, docid, category FROM announcements {'NOT INDEXED ' if w.wide else ''}"
        "WHERE docid <= ? AND docid > ?",
        (high, low))
    sure = fts.ideal_docid(oldest) - 86_400  # a docid a day below the edge cannot be a spilled older row
    none = (oldest, "", w.today)
    items: list[StoredItem] = []
    for row in cursor:
        if row[10] > sure or row[10] <= edge:  # near an edge: its sort time decides
            when = fts.sort_seconds(sort_time(row[6], row[9])) or 0
            if when < oldest or (newest is not None and when >= newest):
                continue
        items.append(StoredItem(*row, matches.get((row[0], row[1]), {}), windows.get(row[0], none)))
    items.sort(key=_docid)
    if w.texts and items:
        read = readings_of(conn, [(item.source, item.id) for item in items])
        items = [item._replace(body=read[key][0], attachments=read[key][1]) if (key := (item.source, item.id)) in read
                 else item for item in items]
    return items
