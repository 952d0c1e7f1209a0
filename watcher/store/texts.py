"""Store part for what a call's reading found (watcher/pipeline/details.py): its detail page's text and
its attachments, searched beside the list's words.

Schema (migration `0014_call_texts`): `call_texts` one row per announcement read (`body`, the
`period` text the page states, the `deadline` the reading gave when the list had none and where it
came from, `info`: the alert's 접수기간 / 지원규모 / 지원대상 lines as JSON, `error` of the page);
`call_files` one row per attachment the page or the API lists, in board order (`name`, `url`,
`type`, `size`, `chars`, `error`, `note`, `text` of those read; forms are listed, never read);
`text_index` a contentless FTS5 table (tokens as watcher/store/search.py makes them) whose rowid is
the `call_texts` rowid, holding body and attachment texts, so a search finds a word only an
attachment holds. Alerts of a call being read wait (`hold_alerts`) until it is (`release_alerts`),
at most the source's `detail.wait`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import fields
from datetime import datetime
from typing import Any

from watcher.match.explain import hit_words
from watcher.models import Announcement, CallText
from watcher.store import search as fts

TEXT_TABLE = "text_index"
FTS = fts.FTS_TABLE
_PAIRS = "(SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))"  # [[source, id]]
FOUND_ROWS = 200  # rows of one search told where their words were found


def migrate(db: Any) -> None:
    """Migration 0014_call_texts (registered in store/schema.py)."""
    conn = db.conn
    conn.execute("""CREATE TABLE call_texts (source TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL DEFAULT '',
        period TEXT, deadline TEXT, deadline_from TEXT, info TEXT, error TEXT, read_at TEXT NOT NULL,
        PRIMARY KEY (source, id))""")
    conn.execute("""CREATE TABLE call_files (source TEXT NOT NULL, id TEXT NOT NULL, n INTEGER NOT NULL,
        name TEXT NOT NULL, url TEXT, type TEXT, size INTEGER, chars INTEGER, error TEXT, note TEXT, text TEXT,
        read_at TEXT NOT NULL, PRIMARY KEY (source, id, n))""")
    conn.execute("CREATE INDEX call_files_errors ON call_files(source, read_at) WHERE error IS NOT NULL")
    conn.execute(fts.FTS_SCHEMA.replace(f"{fts.FTS_TABLE} USING fts5(body, meta,", f"{TEXT_TABLE} USING fts5(body,"))


def text_doc(body: str | None, texts: Iterable[str | None]) -> str:
    """The text_index tokens of a call's body and attachment texts (each part tokenised apart)."""
    return fts.index_doc(body, "\0".join(t or "" for t in texts), None).body


def readings_of(conn: sqlite3.Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
    """(source, id) -> (body, attachments: the texts of the files read, one after another) of the
    announcements among `keys` that were read (what rules with `fields: [body, attachments]` match)."""
    out: dict[tuple[str, str], tuple[str, str]] = {}
    if not has_texts(conn):
        return out
    wanted = json.dumps([list(k) for k in keys], ensure_ascii=False)
    for source, ann_id, body, files in conn.execute(
            "SELECT t.source, t.id, t.body, (SELECT group_concat(text, char(10)) FROM (SELECT text "
            "FROM call_files f WHERE f.source = t.source AND f.id = t.id AND f.text IS NOT NULL ORDER BY f.n)) "
            f"FROM call_texts t WHERE (t.source, t.id) IN {_PAIRS}", (wanted,)):
        out[(source, ann_id)] = (body or "", files or "")
    return out


def has_texts(conn: sqlite3.Connection) -> bool:
    """Whether any call was read (an older database, opened read-only, has no such table)."""
    try:
        return conn.execute("SELECT 1 FROM call_texts LIMIT 1").fetchone() is not None
    except sqlite3.OperationalError:
        return False


def text_docids(phrase: str) -> tuple[str, list[Any]]:
    """SQL selecting the docids of announcements whose read texts hold an FTS5 phrase."""
    return (f"SELECT a.docid FROM {TEXT_TABLE} x JOIN call_texts t ON t.rowid = x.rowid "
            f"JOIN announcements a ON a.source = t.source AND a.id = t.id WHERE {TEXT_TABLE} MATCH ?", [phrase])


def docids_with(parsed: fts.ParsedQuery, source: str | None, agency: str | None) -> tuple[str, list[Any]]:
    """SQL (and its parameters) selecting the docids whose search-index row or read texts hold each
    included phrase, and neither an excluded one; a source or agency filter must hold in the index
    row. A phrase counts where it is whole: within one field's words, or the call's read texts."""
    filters = filter_query(source, agency)

    def either(phrase: str) -> tuple[str, list[Any]]:
        sql, params = text_docids(phrase)
        return f"SELECT rowid FROM {FTS} WHERE {FTS} MATCH ? UNION {sql}", [phrase, *params]

    parts = [either(phrase) for phrase in parsed.include]
    if filters:
        parts.append((f"SELECT rowid FROM {FTS} WHERE {FTS} MATCH ?", [filters]))
    if not parts:
        parts.append(("SELECT docid FROM announcements", []))
    sql = " INTERSECT ".join(f"SELECT * FROM ({part})" for part, _ in parts)
    params = [p for _, part_params in parts for p in part_params]
    if parsed.exclude:
        excluded, more = either(" OR ".join(parsed.exclude))
        sql, params = f"SELECT * FROM ({sql}) EXCEPT SELECT * FROM ({excluded})", [*params, *more]
    return sql, params


def filter_query(source: str | None, agency: str | None) -> str | None:
    """The FTS5 expression of a source and an agency filter alone (None without either)."""
    include = [f'"{fts.source_token(source)}"'] if source else []
    phrase = fts.term_query(agency[:fts.MAX_QUERY_CHARS]) if agency else None
    if phrase:
        include.append(phrase)
    return " AND ".join(include) or None


def attach_reading(conn: sqlite3.Connection, rows: list[dict[str, Any]], query: str = "") -> None:
    """Add to each search row that was read `attachments` ([{name, url, type}], board order) and, for
    the first FOUND_ROWS rows of a query with words, `found` (where each word is: `제목`, `본문`,
    `첨부: 공고문.hwp`). Rows never read get neither key."""
    if not rows or not has_texts(conn):
        return
    keys = json.dumps([[r["source"], r["id"]] for r in rows], ensure_ascii=False)
    cursor = conn.execute(f"SELECT source, id FROM call_texts WHERE (source, id) IN {_PAIRS}", (keys,))
    read = {(source, ann_id) for source, ann_id in cursor}
    files: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for source, ann_id, name, url, kind in conn.execute(
            f"SELECT source, id, name, url, type FROM call_files WHERE (source, id) IN {_PAIRS} ORDER BY source, id, n",
            (keys,)):
        files.setdefault((source, ann_id), []).append({"name": name, "url": url, "type": kind})
    words = fts.parse_query(query).include and _words(query)
    for n, row in enumerate(rows):
        key = (row["source"], row["id"])
        if key not in read:
            continue
        row["attachments"] = files.get(key, [])
        if words and n < FOUND_ROWS:
            row["found"] = found_in(conn, row, words)


def _words(query: str) -> list[str]:
    from watcher.desk import query_words

    return [w for w in query_words(query) if fts.term_query(w)]


def _folded(text: str | None) -> str:
    return "".join(fts.normalize(text or "").split())


def found_in(conn: sqlite3.Connection, row: dict[str, Any], words: list[str]) -> list[str]:
    """Where the row's words are: `제목`, `요약`, `기관`, `본문`, `첨부: NAME` (each place once, in that order)."""
    wanted = [_folded(w) for w in words]
    places: list[tuple[str, str | None]] = [("제목", row.get("title")), ("요약", row.get("summary")),
                                            ("기관", row.get("agency"))]
    key = (row["source"], row["id"])
    body = conn.execute("SELECT body FROM call_texts WHERE source = ? AND id = ?", key).fetchone()
    places.append(("본문", body[0] if body else None))
    places += [(f"첨부: {name}", text) for name, text in conn.execute(
        "SELECT name, text FROM call_files WHERE source = ? AND id = ? AND text IS NOT NULL ORDER BY n", key)]
    out = []
    for label, text in places:
        folded = _folded(text)
        if folded and any(w and w in folded for w in wanted):
            out.append(label)
    return out


class TextStore:
    """Store mixin: what the reading of calls wrote (uses `self.conn`, `self.transaction()`)."""

    conn: sqlite3.Connection

    def unknown_ids(self, source: str, ids: list[str]) -> set[str]:
        """The ids of `source` not stored yet (the announcements a poll brings new)."""
        known = {row[0] for row in self.conn.execute(
            "SELECT id FROM announcements WHERE source = ? AND id IN (SELECT value FROM json_each(?))",
            (source, json.dumps(ids, ensure_ascii=False)))}
        return set(ids) - known

    def read_deadlines(self, source: str, ids: list[str]) -> dict[str, str]:
        """id -> the deadline reading gave (the list had none), for the announcements of `source` read."""
        return dict(self.conn.execute(
            "SELECT id, deadline FROM call_texts WHERE source = ? AND deadline IS NOT NULL AND id IN "
            "(SELECT value FROM json_each(?))", (source, json.dumps(ids, ensure_ascii=False))).fetchall())

    def save_reading(self, source: str, ann_id: str, reading: dict[str, Any], files: list[dict[str, Any]],
                     now: datetime) -> None:
        """Store one call's reading: `reading` {body, period, deadline, deadline_from, info, error},
        `files` [{name, url, type, size, chars, error, note, text}]; a call read again replaces its rows."""
        from watcher.clock import iso

        stamp = iso(now)
        with self.transaction() as conn:  # type: ignore[attr-defined]
            old = conn.execute("SELECT rowid, body FROM call_texts WHERE source = ? AND id = ?",
                               (source, ann_id)).fetchone()
            if old is not None:
                texts = [r[0] for r in conn.execute("SELECT text FROM call_files WHERE source = ? AND id = ? "
                                                    "ORDER BY n", (source, ann_id))]
                conn.execute(f"INSERT INTO {TEXT_TABLE}({TEXT_TABLE}, rowid, body) VALUES ('delete', ?, ?)",
                             (old[0], text_doc(old[1], texts)))
                conn.execute("DELETE FROM call_files WHERE source = ? AND id = ?", (source, ann_id))
            cursor = conn.execute(
                "INSERT INTO call_texts (source, id, body, period, deadline, deadline_from, info, error, read_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(source, id) DO UPDATE SET body = excluded.body, "
                "period = excluded.period, deadline = excluded.deadline, deadline_from = excluded.deadline_from, "
                "info = excluded.info, error = excluded.error, read_at = excluded.read_at RETURNING rowid",
                (source, ann_id, reading.get("body") or "", reading.get("period"), reading.get("deadline"),
                 reading.get("deadline_from"), json.dumps(reading.get("info") or {}, ensure_ascii=False),
                 reading.get("error"), stamp))
            rowid = cursor.fetchone()[0]
            conn.executemany(
                "INSERT INTO call_files (source, id, n, name, url, type, size, chars, error, note, text, read_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(source, ann_id, n, f["name"], f.get("url"), f.get("type"), f.get("size"), f.get("chars"),
                  f.get("error"), f.get("note"), f.get("text"), stamp) for n, f in enumerate(files)])
            conn.execute(f"INSERT INTO {TEXT_TABLE}(rowid, body) VALUES (?, ?)",
                         (rowid, text_doc(reading.get("body"), [f.get("text") for f in files])))

    def reading(self, source: str, ann_id: str) -> dict[str, Any] | None:
        """A call's stored reading: its call_texts columns (`info` parsed) and `files` (board order)."""
        row = fts.first_dict(self.conn.execute("SELECT * FROM call_texts WHERE source = ? AND id = ?",
                                               (source, ann_id)))
        if row is None:
            return None
        row["info"] = json.loads(row.get("info") or "{}")
        row["files"] = list(fts.dicts(self.conn.execute(
            "SELECT n, name, url, type, size, chars, error, note, text FROM call_files WHERE source = ? AND id = ? "
            "ORDER BY n", (source, ann_id))))
        return row

    def call_row(self, source: str, ann_id: str) -> dict[str, Any] | None:
        """One stored announcement as a search shows it, with `words`: the item's words its rules matched
        (to highlight), and `reading` (see `reading`; None for a call not read)."""
        row = fts.first_dict(self.conn.execute(f"SELECT {fts.ROW_COLUMNS} FROM announcements a "
                                                "WHERE a.source = ? AND a.id = ?", (source, ann_id)))
        if row is None:
            return None
        row["rules"] = json.loads(row["rules"] or "[]")
        matched = json.loads(row["matched"] or "[]")
        row["words"] = sorted({w["text"] for m in matched for w in (m.get("words") or []) if w.get("text")} |
                              {k for m in matched for k in (m.get("keywords") or []) if not k.startswith("re:")},
                              key=len, reverse=True)
        row["matched"] = [{"rule": m["rule"], "words": hit_words(m)} for m in matched]
        row["reading"] = self.reading(source, ann_id) if has_texts(self.conn) else None
        return row

    def readings(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
        """(source, id) -> (body, attachments) of the announcements among `keys` that were read."""
        return readings_of(self.conn, keys)

    def with_readings(self, anns: list[Announcement]) -> list[Announcement]:
        """The announcements, those that were read as CallText (with their body and attachments)."""
        read = readings_of(self.conn, [(a.source, a.id) for a in anns])
        return [CallText(**{f.name: getattr(a, f.name) for f in fields(Announcement)}, body=read[k][0],
                         attachments=read[k][1]) if (k := (a.source, a.id)) in read else a for a in anns]

    def hold_alerts(self, source: str, ids: list[str], until: datetime) -> int:
        """The announcement alerts of these items not tried yet wait until `until` (their call is
        being read, so the message can say more). -> alerts held."""
        from watcher.clock import iso

        with self.transaction() as conn:  # type: ignore[attr-defined]
            return conn.execute(
                "UPDATE alerts SET next_attempt_at = ? WHERE kind = 'announcement' AND status = 'pending' "
                "AND attempts = 0 AND source = ? AND ann_id IN (SELECT value FROM json_each(?))",
                (iso(until), source, json.dumps(ids, ensure_ascii=False))).rowcount

    def release_alerts(self, source: str, ids: list[str]) -> int:
        """The call was read: its alerts not tried yet are due now. -> alerts released."""
        with self.transaction() as conn:  # type: ignore[attr-defined]
            return conn.execute(
                "UPDATE alerts SET next_attempt_at = NULL WHERE kind = 'announcement' AND status = 'pending' "
                "AND attempts = 0 AND next_attempt_at IS NOT NULL AND source = ? AND ann_id IN "
                "(SELECT value FROM json_each(?))", (source, json.dumps(ids, ensure_ascii=False))).rowcount

    def drop_alerts(self, source: str, ids: list[str]) -> int:
        """The call turned out closed (its 공고문's deadline is past): its alerts not tried yet go.
        -> alerts dropped."""
        with self.transaction() as conn:  # type: ignore[attr-defined]
            return conn.execute(
                "DELETE FROM alerts WHERE kind = 'announcement' AND status = 'pending' AND attempts = 0 "
                "AND source = ? AND ann_id IN (SELECT value FROM json_each(?))",
                (source, json.dumps(ids, ensure_ascii=False))).rowcount

    def reading_errors(self) -> dict[str, str]:
        """source -> its latest failing file (or detail page) as one line: `공고문.hwp: hwp: truncated file`."""
        if not has_texts(self.conn):
            return {}
        out: dict[str, tuple[str, str]] = {}
        for source, name, error, when in self.conn.execute(
                "SELECT source, name, error, read_at FROM call_files WHERE error IS NOT NULL UNION ALL "
                "SELECT source, 'detail page', error, read_at FROM call_texts WHERE error IS NOT NULL"):
            if source not in out or when > out[source][0]:
                out[source] = (when, f"{name}: {error}")
        return {source: line for source, (_, line) in out.items()}
