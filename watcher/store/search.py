"""Korean full-text search over stored announcements (the read side of store.py).

One contentless FTS5 table, `search_index(body, meta)`, fed with our own tokens (SQLite only splits
them on spaces), so every query is a single MATCH that FTS5 answers by intersecting its lists:
- body: title, summary and agency, folded as the matcher folds them (NFKC, middle dots, invisible
  characters, case: match.normalize; stored text itself stays as published). Runs of Latin letters/digits are whole
  words; a run of Hangul (or other CJK) becomes its first syllable, its overlapping bigrams and its
  last syllable (`의료기기` -> `의 의료 료기 기기 기`); white space inside a run is ignored, so
  `디지털 헬스케어` and `디지털헬스케어` index alike. A word of 2+ syllables is a phrase of bigrams
  (`의료기기` -> "의료 료기 기기", `특구` -> "특구"), `2026년` is "2026 년": never a prefix query.
- meta: every distinct CJK syllable of the row (a 1-syllable word, `섬`, is one token instead of a
  slow prefix query over bigrams), `_all` and `_s<hex source id>` (a source filter is intersected
  inside the index too). Rules are not in the index: a rule filter is the `matches` table's (indexed
  by rule), so a rules edit re-matching stored rows never rewrites their index rows (0011 dropped
  the `_r<hex rule>` tokens earlier versions kept).
- rowid = announcements.docid = _EPOCH_END - (seconds of coalesce(published, first_seen)), so
  `ORDER BY rowid LIMIT n` is newest-first without sorting and since/until are rowid ranges. A second
  already taken moves the row to the nearest free later second (date-only items cluster at midnight).

User input never reaches FTS5 syntax: every token we emit is quoted and holds no quote.
Changing the tokenisation needs a migration that rebuilds the table (contentless rows are deleted
by re-tokenising their old values).
"""

from __future__ import annotations

import bisect
import json
import operator
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from watcher.clock import KST
from watcher.clock import parse_day as clock_day
from watcher.errors import WatcherError
from watcher.match.explain import hit_words
from watcher.match.matcher import normalize as _fold

FTS_TABLE = "search_index"
FTS_SCHEMA = (
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(body, meta, content='', columnsize=0, "
    "tokenize=\"unicode61 remove_diacritics 0 tokenchars '_'\", detail=full)"
)
_EPOCH_END = 1 << 36  # sort times are counted down from here, so newer = smaller docid
DAY_MIN, DAY_MAX = date(1900, 1, 1), date(2999, 12, 31)  # days a search may be bounded by
MAX_QUERY_CHARS = 200
MAX_TERMS = 16


# ---- tokens (pure) ---------------------------------------------------------------------------

# CJK: Hangul syllables and jamo, kana (not its punctuation), han. A CJK run goes on across white
# space; a word is a run of letters/digits (str.isalnum, so `_` and punctuation split words).
_CJK = ("\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f\u3041-\u3096\u30a1-\u30fa\u30fc"
        "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff")
_RUN_SPACE = re.compile(f"(?<=[{_CJK}])\\s+(?=[{_CJK}])")  # white space inside a CJK run
_SEGMENT = re.compile(f"([{_CJK}]+)|([^\\W_{_CJK}]+)")  # (CJK run, word)


def normalize(text: str) -> str:
    """The fold of index and queries: `①` is `1`, `ㅇ` its NFKC jamo, `ㆍ` and `・` are `·`."""
    return _fold(text)


def _runs(normalized: str) -> list[tuple[str, str]]:
    """Normalised text -> [(CJK run, "") or ("", word)] in order, white space inside CJK runs dropped."""
    return _SEGMENT.findall(_RUN_SPACE.sub("", normalized))


def segments(text: str) -> list[tuple[bool, str]]:
    """Text -> [(is_cjk, run)]: CJK runs (white space inside ignored) and word runs."""
    return [(True, cjk) if cjk else (False, word) for cjk, word in _runs(normalize(text))]


def _bigrams(run: str) -> list[str]:
    return list(map(operator.add, run, run[1:]))


def _run_tokens(run: str, starts: bool, ends: bool) -> list[str]:
    """A CJK run's tokens: its first syllable when the run starts here, its bigrams, its last
    syllable when the run ends here (a 1-syllable run is that syllable once)."""
    if len(run) == 1:
        return [run] if starts or ends else []
    return [run[0]] * starts + _bigrams(run) + [run[-1]] * ends


def _tokens(normalized: str, cjk_runs: list[str] | None = None) -> list[str]:
    """The tokens of a normalised text (as doc_tokens); its CJK runs are added to `cjk_runs`."""
    out: list[str] = []
    for cjk, word in _runs(normalized):
        if word:
            out.append(word)
            continue
        if cjk_runs is not None:
            cjk_runs.append(cjk)
        if len(cjk) == 1:
            out.append(cjk)
        else:  # inlined _run_tokens(cjk, True, True): this runs for every indexed run
            out.append(cjk[0])
            out.extend(map(operator.add, cjk, cjk[1:]))
            out.append(cjk[-1])
    return out


def doc_tokens(text: str) -> list[str]:
    """Tokens indexed for a text: words, and per CJK run its first syllable, bigrams and last syllable."""
    return _tokens(normalize(text))


@dataclass(frozen=True)
class IndexDoc:
    """What the index holds for a title and summary: body tokens and the distinct CJK syllables
    (the meta column without its source and rule tokens). Plain strings: cheap to pickle, so
    worker processes compute it and the main process only writes it."""

    body: str
    chars: str


def index_doc(title: str | None, summary: str | None, agency: str | None = None) -> IndexDoc:
    """Title, summary and agency -> their IndexDoc, normalised and segmented once."""
    cjk_runs: list[str] = []
    text = "\0".join(normalize(part or "") for part in (title, summary, agency))  # no run crosses NUL
    tokens = _tokens(text, cjk_runs)
    return IndexDoc(" ".join(tokens), " ".join(sorted(set("".join(cjk_runs)))))


def doc_body(title: str | None, summary: str | None, agency: str | None = None) -> str:
    return index_doc(title, summary, agency).body


def _hex_token(prefix: str, value: str) -> str:
    return prefix + value.encode("utf-8").hex()


def source_token(source: str) -> str:
    return _hex_token("_s", source)


def meta_text(source: str, chars: str) -> str:
    """The meta column: `_all`, the source token, then the row's CJK syllables."""
    tokens = f"_all {source_token(source)}"
    return f"{tokens} {chars}" if chars else tokens


def doc_meta(source: str, title: str | None, summary: str | None, agency: str | None = None) -> str:
    return meta_text(source, index_doc(title, summary, agency).chars)


def term_query(text: str, prefix: bool = False) -> str | None:
    """One search term (a word or a quoted phrase) -> an FTS5 phrase, or None without tokens.

    A lone CJK syllable is its meta token. Otherwise the term's tokens must appear consecutively, as
    doc_tokens() wrote them; a CJK run that has something before it (or after it) in the term starts
    (or ends) where the document's run does, so it carries its first (last) syllable, while the
    term's first and last runs may go on in the document. `prefix` (Latin `word*`) marks the last token.
    """
    segs = segments(text)
    tokens: list[str] = []
    for i, (is_cjk, run) in enumerate(segs):
        if is_cjk:
            tokens.extend(_run_tokens(run, i > 0, i < len(segs) - 1) or [run])
        else:
            tokens.append(run)
    if not tokens:
        return None
    return '"' + " ".join(tokens) + '"' + (" *" if prefix and not segs[-1][0] else "")


@dataclass(frozen=True)
class ParsedQuery:
    include: tuple[str, ...] = ()  # FTS5 phrases that must all match
    exclude: tuple[str, ...] = ()  # FTS5 phrases that must not match (`-word`)
Words = Callable[[ParsedQuery, "str | None", "str | None"], tuple[str, list[Any]]]  # -> SQL of docids, parameters


def parse_query(q: str) -> ParsedQuery:
    """User input -> phrases: words are ANDed, `"quoted text"` is one phrase (an unbalanced quote
    runs to the end), `-word` excludes, `word*` is a prefix for Latin words. Nothing else is syntax."""
    q = (q or "")[:MAX_QUERY_CHARS]
    include: list[str] = []
    exclude: list[str] = []
    i = 0
    while i < len(q) and len(include) + len(exclude) < MAX_TERMS:
        if q[i].isspace():
            i += 1
            continue
        if q[i] == '"':
            end = q.find('"', i + 1)
            end = len(q) if end < 0 else end
            phrase, negative = term_query(q[i + 1 : end]), False
            i = end + 1
        else:
            start = i
            while i < len(q) and not q[i].isspace() and q[i] != '"':
                i += 1
            word = q[start:i]
            negative = word.startswith("-")
            word = word.lstrip("-+")
            phrase = term_query(word.rstrip("*"), prefix=word.endswith("*"))
        target = exclude if negative else include
        if phrase and phrase not in target:
            target.append(phrase)
    return ParsedQuery(tuple(include), tuple(exclude))


def build_fts_query(q: str, source: str | None = None, agency: str | None = None) -> str:
    """User input and filters -> a safe FTS5 MATCH expression (never empty: `_all` matches every row).
    An agency filter is its phrase here (the body holds the agency); search() then checks the column.
    A rule filter is not in the index: RULE_FILTER, added by the caller."""
    parsed = parse_query(q)
    include = [*parsed.include, *([f'"{source_token(source)}"'] if source else [])]
    agency_phrase = term_query(agency[:MAX_QUERY_CHARS]) if agency else None
    if agency_phrase and agency_phrase not in include:
        include.append(agency_phrase)
    expression = " AND ".join(include) or '"_all"'
    if parsed.exclude:
        expression = f"({expression}) NOT ({' OR '.join(parsed.exclude)})"
    return expression


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
    """A search bound -> a day within DAY_MIN..DAY_MAX; WatcherError (one line) otherwise."""
    day = _parse_day(value, what)
    if day is not None and not DAY_MIN <= day <= DAY_MAX:
        raise WatcherError(f"search: {what} date '{value}' is out of range ({DAY_MIN} to {DAY_MAX})")
    return day


def _parse_day(value: str | date | None, what: str) -> date | None:
    day = clock_day(value, strict=True)
    if day is None and value not in (None, ""):
        raise WatcherError(f"search: bad {what} date '{value}' (expected YYYY-MM-DD)")
    return day


def docid_range(since: date | None, until: date | None) -> tuple[int, int]:
    """Inclusive Korea-time days -> (lowest, highest) docid."""
    low, high = 0, _EPOCH_END
    if until is not None:
        low = ideal_docid(int(datetime.combine(until + timedelta(days=1), time(), KST).timestamp()) - 1)
    if since is not None:
        high = ideal_docid(int(datetime.combine(since, time(), KST).timestamp()))
    return low, high


# ---- index maintenance -----------------------------------------------------------------------

class DocidAllocator:
    """Hands out free docids within one transaction: the docid of a sort time, else the nearest free
    one below it (a later second). Docids handed out are remembered, so rows may be written later
    in one batch.

    Linear in the docids handed out, whatever their sort times: runs of docids known to be taken (by
    this allocator, or found in the table as one block of consecutive docids) are skipped in one step
    ("next free below" pointers with path compression, and the table's blocks kept as intervals), so
    many items of the same seconds as stored ones do not walk the same block again for each item."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.looked_up: dict[int, bool] = {}  # docid -> taken in the table (as read once)
        self._below: dict[int, int] = {}  # known-taken docid -> a lower docid to try next
        self._block_lows: list[int] = []  # the table's blocks of taken docids found so far: sorted lows
        self._block_highs: list[int] = []  # ... and their highs (same order)

    def look_up(self, docids: Iterable[int]) -> None:
        """Read which of these docids the table holds, in one statement."""
        wanted = [d for d in set(docids) if d not in self.looked_up]
        self.looked_up.update(dict.fromkeys(wanted, False))
        for chunk in range(0, len(wanted), 10_000):
            cursor = self.conn.execute("SELECT docid FROM announcements WHERE docid IN (SELECT value FROM "
                                       "json_each(?))", (json.dumps(wanted[chunk : chunk + 10_000]),))
            self.looked_up.update((row[0], True) for row in cursor)

    def _in_table(self, docid: int) -> bool:
        if docid in self.looked_up:
            return self.looked_up[docid]
        return self.conn.execute("SELECT 1 FROM announcements WHERE docid = ?", (docid,)).fetchone() is not None

    def _below_block(self, docid: int) -> int:
        """The free docid just below the table's block of consecutive docids holding `docid`."""
        row = self.conn.execute(
            "SELECT d.docid - 1 FROM announcements d WHERE d.docid <= ? AND NOT EXISTS "
            "(SELECT 1 FROM announcements e WHERE e.docid = d.docid - 1) ORDER BY d.docid DESC LIMIT 1",
            (docid,),
        ).fetchone()
        return int(row[0])

    def _skip_taken(self, docid: int) -> int:
        """The first docid at or below `docid` not known to be taken (path-compressing the pointers)."""
        path = []
        while docid in self._below:
            path.append(docid)
            docid = self._below[docid]
        for step in path:
            self._below[step] = docid
        return docid

    def _known_block_low(self, docid: int) -> int | None:
        """The lowest docid of a table block found earlier that holds `docid`, else None."""
        i = bisect.bisect_right(self._block_lows, docid) - 1
        if i >= 0 and self._block_highs[i] >= docid:
            return self._block_lows[i]
        return None

    def _add_block(self, low: int, high: int) -> None:
        """Remember that the table holds every docid of low..high, merged with blocks it touches."""
        lows, highs = self._block_lows, self._block_highs
        i = bisect.bisect_left(lows, low)
        while i > 0 and highs[i - 1] >= low - 1:  # touches the block below: absorb it
            i -= 1
            low, high = min(low, lows[i]), max(high, highs[i])
            del lows[i], highs[i]
        while i < len(lows) and lows[i] <= high + 1:  # touches blocks above
            high = max(high, highs[i])
            del lows[i], highs[i]
        lows.insert(i, low)
        highs.insert(i, high)

    def take(self, sort_time: str) -> int:
        docid = self._skip_taken(ideal_docid(sort_seconds(sort_time) or 0))
        while True:
            low = self._known_block_low(docid)
            if low is None and self._in_table(docid):
                low = self._below_block(docid) + 1
                self._add_block(low, docid)
            if low is None:
                break
            self._below[docid] = low - 1
            docid = self._skip_taken(low - 1)
        self._below[docid] = docid - 1
        return docid


def allocate_docid(conn: sqlite3.Connection, sort_time: str) -> int:
    """The docid of a sort time, else the nearest free one below it (a later second)."""
    return DocidAllocator(conn).take(sort_time)


def index_add(conn: sqlite3.Connection, docid: int, title: str | None, summary: str | None, source: str,
              doc: IndexDoc | None = None, agency: str | None = None) -> None:
    doc = doc or index_doc(title, summary, agency)
    conn.execute(f"INSERT INTO {FTS_TABLE}(rowid, body, meta) VALUES (?, ?, ?)",
                 (docid, doc.body, meta_text(source, doc.chars)))


def index_add_many(conn: sqlite3.Connection, rows: list[tuple[int, str, str]]) -> None:
    """Index rows of (docid, body, meta) in one statement."""
    conn.executemany(f"INSERT INTO {FTS_TABLE}(rowid, body, meta) VALUES (?, ?, ?)", rows)


def index_remove(conn: sqlite3.Connection, docid: int, title: str | None, summary: str | None, source: str,
                 agency: str | None = None) -> None:
    """Contentless FTS5 forgets a row given exactly the values it was indexed with."""
    doc = index_doc(title, summary, agency)
    conn.execute(
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, body, meta) VALUES ('delete', ?, ?, ?)",
        (docid, doc.body, meta_text(source, doc.chars)),
    )


def rebuild_index(conn: sqlite3.Connection, batch: int = 5000) -> int:
    """Every stored announcement indexed again as index_doc now tokenises it (a migration's work when
    the tokens change). -> rows indexed."""
    conn.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('delete-all')")
    done, last = 0, -1
    while True:
        rows = conn.execute("SELECT docid, source, title, summary, agency FROM announcements "
                            "WHERE docid > ? ORDER BY docid LIMIT ?", (last, batch)).fetchall()
        if not rows:
            return done
        entries = []
        for docid, source, title, summary, agency in rows:
            doc = index_doc(title, summary, agency)
            entries.append((docid, doc.body, meta_text(source, doc.chars)))
        index_add_many(conn, entries)
        done, last = done + len(rows), rows[-1][0]


# ---- queries ---------------------------------------------------------------------------------

def dicts(cursor: sqlite3.Cursor) -> Iterator[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    for values in cursor:
        yield dict(zip(names, values, strict=True))


def first_dict(cursor: sqlite3.Cursor) -> dict[str, Any] | None:
    return next(dicts(cursor), None)


# the columns of a stored announcement as searches and the desk show it (one list for both)
ROW_COLUMNS = """a.source, a.id, a.title, a.link, a.summary, a.published, a.deadline, a.agency,
    a.first_seen, a.last_seen, a.key,
    (SELECT s.name FROM sources s WHERE s.id = a.source) AS source_name,
    (SELECT json_group_array(rule) FROM (SELECT m.rule FROM matches m
       WHERE m.source = a.source AND m.id = a.id ORDER BY m.rule)) AS rules,
    (SELECT json_group_array(json_object('rule', rule, 'words', json(coalesce(words, '[]')),
       'keywords', json(coalesce(keywords, '[]')))) FROM (SELECT m.rule, m.words, m.keywords FROM matches m
       WHERE m.source = a.source AND m.id = a.id ORDER BY m.rule)) AS matched"""


# Rows of one rule: not in the full-text index but the docids of its matches (`matches_rule_docid`,
# read once per query into a set each candidate row is checked against; `+` keeps SQLite from
# handing the IN to FTS5, which would run the MATCH once per docid).
RULE_FILTER = " AND {} IN (SELECT m.docid FROM matches m WHERE m.rule = ?)"  # {}: +f.rowid, or a.docid


def agency_folded(agency: str | None) -> str:
    """An agency as the agency filter compares it: folded, white space removed."""
    return "".join(normalize(agency).split()) if agency else ""


def _agency_has(agency: str | None, wanted: str) -> bool:
    return bool(agency) and wanted in agency_folded(agency)


def search(conn: sqlite3.Connection, query: str, since: str | date | None = None,
           until: str | date | None = None, source: str | None = None, rule: str | None = None,
           limit: int = 50, open_only: bool = False, today: str | date | None = None,
           agency: str | None = None, also: Words | None = None) -> list[dict]:
    """Announcements matching `query` (see parse_query), newest first by coalesce(published, first_seen).
    `agency`: only announcements whose agency contains it (folded as the index folds, spaces ignored).
    `also`: the docids holding the words where else they may be (watcher/store/texts.py docids_with)."""
    low, high = docid_range(parse_day(since, "since"), parse_day(until, "until"))
    expression, parsed = build_fts_query(query, source, agency), parse_query(query)
    params: list[object]
    if also is not None and (parsed.include or parsed.exclude):  # words in the list or in read texts
        docids, found = also(parsed, source, agency)
        where, params, order = f"FROM announcements a WHERE a.docid IN ({docids}) AND a.docid BETWEEN ? AND ?", \
            [*found, low, high], "a.docid"
        if rule:
            where += RULE_FILTER.format("a.docid")
    elif rule and not agency and not parsed.include:  # no words: driven from the rule's matches
        where, params, order = "FROM announcements a WHERE a.docid BETWEEN ? AND ?", [low, high], "a.docid"
        if source:
            where += " AND a.source = ?"
            params.append(source)
        if parsed.exclude:  # `-word` only: the rows holding any of them, from the index
            where += f" AND a.docid NOT IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?)"
            params.append(" OR ".join(parsed.exclude))
        where += RULE_FILTER.format("a.docid")
    else:  # the index's own order
        where = (f"FROM {FTS_TABLE} f CROSS JOIN announcements a ON a.docid = f.rowid "
                 f"WHERE {FTS_TABLE} MATCH ? AND f.rowid BETWEEN ? AND ?")
        params, order = [expression, low, high], "f.rowid"
        if rule:
            where += RULE_FILTER.format("+f.rowid")
    if rule:
        params.append(rule)
    wanted = agency_folded(agency)
    if wanted:
        conn.create_function("watcher_agency_has", 2, _agency_has, deterministic=True)
        where += " AND watcher_agency_has(a.agency, ?)"
        params.append(wanted)
    if open_only:
        where += " AND a.deadline >= ?"
        params.append((parse_day(today, "today") or datetime.now(KST).date()).isoformat())
    # the page's docids first, then its columns (a sort would otherwise compute them for every row)
    sql = (f"SELECT {ROW_COLUMNS} FROM announcements a WHERE a.docid IN "
           f"(SELECT a.docid {where} ORDER BY {order} LIMIT ?) ORDER BY a.docid")
    params.append(max(1, min(int(limit), 10_000)))
    rows = list(dicts(conn.execute(sql, params)))
    for row in rows:
        row["rules"] = json.loads(row["rules"] or "[]")
        # per rule, the item's words it matched (`강소특구 (제목)`), never a keyword as written
        row["matched"] = [{"rule": m["rule"], "words": hit_words(m)} for m in json.loads(row["matched"] or "[]")]
    return rows


def source_choices(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return [(r[0], r[1] or r[0]) for r in conn.execute("SELECT id, name FROM sources ORDER BY id")]


def rule_choices(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT DISTINCT rule FROM matches ORDER BY rule")]
