"""Korean full-text search over stored announcements (the read side of store.py).

Two contentless FTS5 tables, fed with our own tokens (SQLite only splits them on spaces):
- `search_index(body, meta)`: title and summary, NFKC-normalised and case-folded. Runs of Latin
  letters/digits are whole words; runs of Hangul (and other CJK) become overlapping bigrams plus the
  run's last syllable (`의료기기` -> `의료 료기 기기 기`); white space inside a run is ignored, so
  `디지털 헬스케어` and `디지털헬스케어` index alike. A word of 2+ syllables is a phrase of bigrams
  (`의료기기` -> "의료 료기 기기", `특구` -> "특구"). `meta` holds `_all`, `_s<hex source id>` and
  `_r<hex rule>` per matched rule, so source and rule filters are intersected inside the index.
- `search_chars(chars)`: each distinct CJK syllable of a row, plus the meta tokens (detail=none, small):
  the fast path for 1-syllable words (`섬`), which a prefix query over bigrams makes slow.
- rowid = announcements.docid = _EPOCH_END - (seconds of coalesce(published, first_seen)), so
  `ORDER BY rowid LIMIT n` is newest-first without sorting and since/until are rowid ranges. A second
  already taken moves the row to the nearest free later second (date-only items cluster at midnight).

User input never reaches FTS5 syntax: every token we emit is quoted and holds no quote.
Changing the tokenisation needs a migration that rebuilds both tables (contentless rows are deleted
by re-tokenising their old values).
"""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .errors import WatcherError

KST = ZoneInfo("Asia/Seoul")
BODY, CHARS = "search_index", "search_chars"
_TOKENIZE = "tokenize=\"unicode61 remove_diacritics 0 tokenchars '_'\""
SEARCH_SCHEMA = (
    f"CREATE VIRTUAL TABLE {BODY} USING fts5(body, meta, content='', columnsize=0, {_TOKENIZE}, detail=full)",
    f"CREATE VIRTUAL TABLE {CHARS} USING fts5(chars, content='', columnsize=0, {_TOKENIZE}, detail=none)",
)
_EPOCH_END = 1 << 36  # sort times are counted down from here, so newer = smaller docid
MAX_QUERY_CHARS = 200
MAX_TERMS = 16


# ---- tokens (pure) ---------------------------------------------------------------------------

def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (
        0xAC00 <= o <= 0xD7A3  # Hangul syllables
        or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F  # jamo
        or 0x3040 <= o <= 0x30FF  # kana
        or 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF  # han
    )


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def segments(text: str) -> list[tuple[bool, str]]:
    """Normalised text -> [(is_cjk, run)]: CJK runs (white space inside ignored) and word runs."""
    out: list[tuple[bool, str]] = []
    cjk: list[str] = []
    word: list[str] = []
    for ch in normalize(text):
        if _is_cjk(ch):
            if word:
                out.append((False, "".join(word)))
                word = []
            cjk.append(ch)
        elif ch.isspace():
            if word:
                out.append((False, "".join(word)))
                word = []
            # a CJK run continues across white space
        else:
            if cjk:
                out.append((True, "".join(cjk)))
                cjk = []
            if ch.isalnum():
                word.append(ch)
            elif word:
                out.append((False, "".join(word)))
                word = []
    if cjk:
        out.append((True, "".join(cjk)))
    if word:
        out.append((False, "".join(word)))
    return out


def _bigrams(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


def doc_tokens(text: str) -> list[str]:
    """Tokens indexed for a text: words, and each CJK run's bigrams plus its last character."""
    tokens: list[str] = []
    for is_cjk, run in segments(text):
        tokens.extend((*_bigrams(run), run[-1]) if is_cjk else (run,))
    return tokens


def doc_body(title: str | None, summary: str | None) -> str:
    return " ".join(doc_tokens(title or "") + doc_tokens(summary or ""))


def _hex_token(prefix: str, value: str) -> str:
    return prefix + value.encode("utf-8").hex()


def source_token(source: str) -> str:
    return _hex_token("_s", source)


def rule_token(rule: str) -> str:
    return _hex_token("_r", rule)


def doc_meta(source: str, rules: Iterable[str]) -> str:
    return " ".join(["_all", source_token(source), *(rule_token(r) for r in sorted(set(rules)))])


def doc_chars(title: str | None, summary: str | None) -> str:
    """The distinct CJK syllables of a row, for search_chars."""
    text = normalize(f"{title or ''} {summary or ''}")
    return " ".join(sorted({ch for ch in text if _is_cjk(ch)}))


def term_query(text: str, prefix: bool = False) -> tuple[str, str] | None:
    """One search term (a word or a quoted phrase) -> (FTS table, expression), None without tokens.

    A lone CJK syllable is looked up in search_chars. Otherwise the term's tokens must appear
    consecutively, as doc_tokens() wrote them: a CJK run inside the term ends where the document's
    run ends, so it carries its last syllable; the term's final run may go on in the document, so
    it does not (and a final single syllable after other tokens is a prefix).
    """
    segs = segments(text)
    if len(segs) == 1 and segs[0][0] and len(segs[0][1]) == 1:
        return CHARS, f'"{segs[0][1]}"'
    tokens: list[str] = []
    for i, (is_cjk, run) in enumerate(segs):
        if not is_cjk:
            tokens.append(run)
        elif i < len(segs) - 1:
            tokens.extend((*_bigrams(run), run[-1]))
        elif len(run) == 1:
            tokens.append(run)
            prefix = True
        else:
            tokens.extend(_bigrams(run))
    if not tokens:
        return None
    return BODY, '"' + " ".join(tokens) + '"' + (" *" if prefix else "")


Term = tuple[str, str]  # (FTS table, expression)


@dataclass(frozen=True)
class ParsedQuery:
    include: tuple[Term, ...] = ()  # must all match
    exclude: tuple[Term, ...] = ()  # must not match (`-word`)


def parse_query(q: str) -> ParsedQuery:
    """User input -> terms: words are ANDed, `"quoted text"` is one phrase (an unbalanced quote runs
    to the end), `-word` excludes, `word*` is a prefix for Latin words. Nothing else is syntax."""
    q = (q or "")[:MAX_QUERY_CHARS]
    include: list[Term] = []
    exclude: list[Term] = []
    i = 0
    while i < len(q) and len(include) + len(exclude) < MAX_TERMS:
        if q[i].isspace():
            i += 1
            continue
        if q[i] == '"':
            end = q.find('"', i + 1)
            end = len(q) if end < 0 else end
            term, negative = term_query(q[i + 1 : end]), False
            i = end + 1
        else:
            start = i
            while i < len(q) and not q[i].isspace() and q[i] != '"':
                i += 1
            word = q[start:i]
            negative = word.startswith("-")
            word = word.lstrip("-+")
            term = term_query(word.rstrip("*"), prefix=word.endswith("*"))
        target = exclude if negative else include
        if term and term not in target:
            target.append(term)
    return ParsedQuery(tuple(include), tuple(exclude))


@dataclass(frozen=True)
class Plan:
    """How to run a query: MATCH `match` on `table`, then per row: `require` must match and `reject`
    must not, each an expression on the other table (looked up by rowid)."""

    table: str
    match: str
    require: Term | None = None
    reject: Term | None = None


def build_fts_query(q: str, source: str | None = None, rule: str | None = None) -> Plan:
    """User input and filters -> a safe plan (its MATCH is never empty: `_all` matches every row)."""
    parsed = parse_query(q)
    body = [e for t, e in parsed.include if t == BODY]
    chars = [e for t, e in parsed.include if t == CHARS]
    table = BODY if body or not chars else CHARS
    other = CHARS if table == BODY else BODY
    positive = body if table == BODY else chars
    positive += [f'"{token}"' for token in (source and source_token(source), rule and rule_token(rule)) if token]
    match = " AND ".join(positive) or '"_all"'
    negative = [e for t, e in parsed.exclude if t == table]
    if negative:
        match = f"({match}) NOT ({' OR '.join(negative)})"
    require = [e for t, e in parsed.include if t == other]
    reject = [e for t, e in parsed.exclude if t == other]
    return Plan(
        table,
        match,
        (other, " AND ".join(require)) if require else None,
        (other, " OR ".join(reject)) if reject else None,
    )


# ---- sort order (pure) -----------------------------------------------------------------------

def sort_seconds(iso: str | None) -> int | None:
    """ISO 8601 time -> epoch seconds (naive means Korea time); None when unreadable."""
    if not iso:
        return None
    try:
        dt = datetime.fromisoformat(iso)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=KST)
    return int(dt.timestamp())


def ideal_docid(seconds: int) -> int:
    return _EPOCH_END - min(max(seconds, 0), _EPOCH_END >> 1)


def parse_day(value: str | date | None, what: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(KST).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise WatcherError(f"search: bad {what} date '{value}' (expected YYYY-MM-DD)") from None
    return dt.astimezone(KST).date() if dt.tzinfo else dt.date()


def docid_range(since: date | None, until: date | None) -> tuple[int, int]:
    """Inclusive Korea-time days -> (lowest, highest) docid."""
    low, high = 0, _EPOCH_END
    if until is not None:
        low = ideal_docid(int(datetime.combine(until + timedelta(days=1), time(), KST).timestamp()) - 1)
    if since is not None:
        high = ideal_docid(int(datetime.combine(since, time(), KST).timestamp()))
    return low, high


# ---- index maintenance -----------------------------------------------------------------------

def allocate_docid(conn: sqlite3.Connection, sort_time: str) -> int:
    """The docid of a sort time, else the nearest free one below it (a later second)."""
    docid = ideal_docid(sort_seconds(sort_time) or 0)
    if conn.execute("SELECT 1 FROM announcements WHERE docid = ?", (docid,)).fetchone() is None:
        return docid
    row = conn.execute(
        "SELECT d.docid - 1 FROM announcements d WHERE d.docid <= ? AND NOT EXISTS "
        "(SELECT 1 FROM announcements e WHERE e.docid = d.docid - 1) ORDER BY d.docid DESC LIMIT 1",
        (docid,),
    ).fetchone()
    return int(row[0])


def _index(conn: sqlite3.Connection, command: str, docid: int, title: str | None, summary: str | None,
           source: str, rules: Iterable[str]) -> None:
    meta = doc_meta(source, rules)
    columns, marker = ("", "") if not command else (f"{BODY}, ", "'delete', ")
    conn.execute(f"INSERT INTO {BODY}({columns}rowid, body, meta) VALUES ({marker}?, ?, ?)",
                 (docid, doc_body(title, summary), meta))
    columns = "" if not command else f"{CHARS}, "
    conn.execute(f"INSERT INTO {CHARS}({columns}rowid, chars) VALUES ({marker}?, ?)",
                 (docid, f"{doc_chars(title, summary)} {meta}"))


def index_add(conn: sqlite3.Connection, docid: int, title: str | None, summary: str | None, source: str,
              rules: Iterable[str]) -> None:
    _index(conn, "", docid, title, summary, source, rules)


def index_remove(conn: sqlite3.Connection, docid: int, title: str | None, summary: str | None, source: str,
                 rules: Iterable[str]) -> None:
    """Contentless FTS5 forgets a row given exactly the values it was indexed with."""
    _index(conn, "delete", docid, title, summary, source, rules)


# ---- queries ---------------------------------------------------------------------------------

def dicts(cursor: sqlite3.Cursor) -> Iterator[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    for values in cursor:
        yield dict(zip(names, values, strict=True))


def first_dict(cursor: sqlite3.Cursor) -> dict[str, Any] | None:
    return next(dicts(cursor), None)


_COLUMNS = """a.source, a.id, a.title, a.link, a.summary, a.published, a.deadline, a.agency,
    a.first_seen, a.last_seen, a.key,
    (SELECT s.name FROM sources s WHERE s.id = a.source) AS source_name,
    (SELECT json_group_array(rule) FROM (SELECT m.rule FROM matches m
       WHERE m.source = a.source AND m.id = a.id ORDER BY m.rule)) AS rules"""


def search(conn: sqlite3.Connection, query: str, since: str | date | None = None,
           until: str | date | None = None, source: str | None = None, rule: str | None = None,
           limit: int = 50, open_only: bool = False, today: str | date | None = None) -> list[dict]:
    """Announcements matching `query` (see parse_query), newest first by coalesce(published, first_seen)."""
    low, high = docid_range(parse_day(since, "since"), parse_day(until, "until"))
    plan = build_fts_query(query, source, rule)
    sql = (f"SELECT {_COLUMNS} FROM {plan.table} f CROSS JOIN announcements a ON a.docid = f.rowid "
           f"WHERE {plan.table} MATCH ? AND f.rowid BETWEEN ? AND ?")
    params: list[object] = [plan.match, low, high]
    for check, negate in ((plan.require, ""), (plan.reject, "NOT ")):
        if check:
            sql += f" AND {negate}EXISTS (SELECT 1 FROM {check[0]} WHERE {check[0]} MATCH ? AND rowid = f.rowid)"
            params.append(check[1])
    if open_only:
        sql += " AND a.deadline >= ?"
        params.append((parse_day(today, "today") or datetime.now(KST).date()).isoformat())
    sql += " ORDER BY f.rowid LIMIT ?"
    params.append(max(1, min(int(limit), 10_000)))
    rows = list(dicts(conn.execute(sql, params)))
    for row in rows:
        row["rules"] = json.loads(row["rules"] or "[]")
    return rows


def source_choices(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return [(r[0], r[1] or r[0]) for r in conn.execute("SELECT id, name FROM sources ORDER BY id")]


def rule_choices(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT DISTINCT rule FROM matches ORDER BY rule")]
