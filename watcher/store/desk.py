"""The read side behind the search page, the exports and `watcher search`: totals, pages, sorts and
filters of watcher/desk.py over the store (Store inherits DeskStore), and the few reads of the
freshness line and the /status page. Reads only; `Store.read_only(path)` opens a database that must
exist, without creating or migrating anything.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

from watcher.desk import Page, Query
from watcher.errors import MissingDatabase
from watcher.match.explain import hit_words
from watcher.store import search as fts
from watcher.store.texts import attach_reading, docids_with, has_texts
from watcher.store.triage import team_filter

_COLUMNS = fts.ROW_COLUMNS + """,
    (SELECT json_group_array(json(coalesce(m.keywords, '[]'))) FROM matches m
       WHERE m.source = a.source AND m.id = a.id) AS keywords"""
_MATCHED = "EXISTS (SELECT 1 FROM matches m WHERE m.source = a.source AND m.id = a.id{})"
MAX_ROWS = 10_000


def _agency_has(agency: str | None, wanted: str) -> bool:
    return bool(agency) and wanted in fts.agency_folded(agency)


def _where(query: Query, today: date, texts: bool = False) -> tuple[str, list[Any]]:
    """FROM + WHERE of a query and its parameters; `texts`: calls were read, their texts count too."""
    low, high = fts.docid_range(query.since, query.until)
    wanted = fts.agency_folded(query.agency)
    parsed = fts.parse_query(query.q) if texts else None
    if parsed is not None and (parsed.include or parsed.exclude):  # words in the list or in read texts
        docids, found = docids_with(parsed, query.source, query.agency)
        sql = f"FROM announcements a WHERE a.docid IN ({docids}) AND a.docid BETWEEN ? AND ?"
        params: list[Any] = [*found, low, high]
        if query.rule:
            sql += fts.RULE_FILTER.format("a.docid")
            params.append(query.rule)
    elif query.q.strip() or wanted:  # the index holds the agency too, so it narrows an agency filter
        sql = (f"FROM {fts.FTS_TABLE} f CROSS JOIN announcements a ON a.docid = f.rowid "
               f"WHERE {fts.FTS_TABLE} MATCH ? AND f.rowid BETWEEN ? AND ?")
        params = [fts.build_fts_query(query.q, query.source, query.agency), low, high]
        if query.rule:  # rules are not in the index
            sql += fts.RULE_FILTER.format("+f.rowid")
            params.append(query.rule)
    else:  # no words: the table and its indexes answer faster than the full-text index
        sql = "FROM announcements a WHERE a.docid BETWEEN ? AND ?"
        params = [low, high]
        if query.source:
            sql += " AND a.source = ?"
            params.append(query.source)
        if query.rule:  # driven from the (few) docids of the rule's matches
            sql += fts.RULE_FILTER.format("a.docid")
            params.append(query.rule)
    if query.matched and not (query.rule and not query.q.strip() and not wanted):
        sql += (" AND (a.source, a.id) IN (SELECT m.source, m.id FROM matches m)" if not query.q.strip() and not wanted
                else " AND " + _MATCHED.format(""))
    if wanted:  # the phrase may span words of title and agency: the column decides
        sql += " AND desk_agency_has(a.agency, ?)"
        params.append(wanted)
    if query.state or query.assignee:  # the team's pipeline (store/triage.py)
        team_sql, team_params = team_filter(query.state, query.assignee)
        sql += team_sql
        params += team_params
    if query.open_only:
        sql += " AND (a.deadline >= ?" + (" OR a.deadline IS NULL)" if query.undated else ")")
        params.append(today.isoformat())
    elif not query.undated:
        sql += " AND a.deadline IS NOT NULL"
    return sql, params


def _order(query: Query, today: date) -> tuple[str, list[Any]]:
    if query.sort != "deadline":
        return " ORDER BY a.docid", []
    day = today.isoformat()
    return (" ORDER BY CASE WHEN a.deadline >= ? THEN 0 WHEN a.deadline IS NULL THEN 1 ELSE 2 END, "
            "CASE WHEN a.deadline >= ? THEN a.deadline END, CASE WHEN a.deadline < ? THEN a.deadline END DESC, "
            "a.docid", [day, day, day])


class DeskStore:
    conn: sqlite3.Connection

    @classmethod
    def read_only(cls, path: str | Path) -> Any:
        """The store at `path`, opened read-only (no migration, no file created);
        MissingDatabase when there is none."""
        store = cls.open_readonly(path, check_same_thread=False)  # type: ignore[attr-defined]
        if store is None:
            raise MissingDatabase(Path(path))
        return store

    def find(self, query: Query, today: date, limit: int = 50, offset: int = 0) -> Page:
        """One page of a query's results and the total it finds."""
        self.conn.create_function("desk_agency_has", 2, _agency_has, deterministic=True)
        where, params = _where(query, today, has_texts(self.conn))
        total = self.conn.execute(f"SELECT count(*) {where}", params).fetchone()[0]
        order, order_params = _order(query, today)
        limit = max(1, min(int(limit), MAX_ROWS))
        cursor = self.conn.execute(f"SELECT {_COLUMNS} {where}{order} LIMIT ? OFFSET ?",
                                   [*params, *order_params, limit, max(0, int(offset))])
        rows = list(fts.dicts(cursor))
        for row in rows:
            row["rules"] = json.loads(row["rules"] or "[]")
            words: list[str] = []
            for group in json.loads(row.pop("keywords") or "[]"):
                words.extend(w for w in group if isinstance(w, str) and not w.startswith("re:") and w not in words)
            row["keywords"] = words
            # per rule, the item's words it matched (`강소특구 (제목)`), never a pattern
            row["matched"] = [{"rule": m["rule"], "words": hit_words(m)} for m in json.loads(row["matched"] or "[]")]
        attach_reading(self.conn, rows, query.q)  # a read call's attachments, and where its words are
        return Page(total=total, offset=max(0, int(offset)), rows=rows)

    def known_sources(self) -> list[tuple[str, str]]:
        """(id, name) of every source the store has rows for."""
        return fts.source_choices(self.conn)

    def known_rules(self) -> list[str]:
        return fts.rule_choices(self.conn)

    def freshness(self) -> dict[str, Any]:
        """{last_poll, failing: [names of sources with consecutive failures]} for the freshness line."""
        last = self.conn.execute("SELECT max(last_poll) FROM sources").fetchone()[0]
        failing = [r[0] for r in self.conn.execute(
            "SELECT coalesce(name, id) FROM sources WHERE failures > 0 ORDER BY id")]
        return {"last_poll": last, "failing": failing}

    def source_rows(self) -> dict[str, dict[str, Any]]:
        """Every stored source's health columns with items stored and the first_seen of its newest item."""
        cursor = self.conn.execute(
            "SELECT s.*, (SELECT count(*) FROM announcements a WHERE a.source = s.id) AS items, "
            "(SELECT max(a.first_seen) FROM announcements a WHERE a.source = s.id) AS last_new_item "
            "FROM sources s ORDER BY s.id"
        )
        return {row["id"]: row for row in fts.dicts(cursor)}

    def pending_by_channel(self) -> list[dict[str, Any]]:
        """Alerts not accepted yet, per channel: count, oldest, last error."""
        cursor = self.conn.execute(
            "SELECT channel, count(*) AS pending, min(created_at) AS oldest, max(last_error) AS last_error "
            "FROM alerts WHERE status = 'pending' GROUP BY channel ORDER BY channel"
        )
        return list(fts.dicts(cursor))

