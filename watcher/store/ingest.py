"""Writing a poll's announcements: `Ingest` applies one batch (no announcement twice) in a few
statements: reads the stored rows, matches and alerts, then writes only what changed."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from watcher.match.explain import rule_entry
from watcher.models import Announcement, Hit
from watcher.store import search as fts
from watcher.store.calls import CallLinker, calls_of
from watcher.store.rows import CONTENT as _CONTENT
from watcher.store.rows import IngestResult, Item, Key, match_row, merge_rules, sort_time, write_matches
from watcher.store.rows import in_ids as _in_ids
from watcher.store.sources import alertable


def unique_batches(items: Iterable[Item]) -> Iterator[list[tuple[Announcement, list[Hit], fts.IndexDoc]]]:
    """Items with their IndexDoc, in runs without a repeated announcement (a repeat is an update of
    the one before it, so it goes into the next run, written after)."""
    batch: list[tuple[Announcement, list[Hit], fts.IndexDoc]] = []
    keys: set[Key] = set()
    for item in items:
        ann, hits = item[0], item[1]
        doc = item[2] if len(item) > 2 else fts.index_doc(ann.title, ann.summary, ann.agency)  # type: ignore[misc]
        if (ann.source, ann.id) in keys:
            yield batch
            batch, keys = [], set()
        keys.add((ann.source, ann.id))
        batch.append((ann, hits, doc))
    if batch:
        yield batch


class Ingest:
    """One batch of `Store.ingest` (no announcement twice): reads the stored rows, matches and alerts
    of the batch in a few statements, then writes only what changed, many rows per statement."""

    def __init__(self, conn: sqlite3.Connection, stamp: str, window: tuple[int, str, str],
                 result: IngestResult, fresh: tuple[int, str, str] | None = None) -> None:
        self.conn, self.stamp, self.result = conn, stamp, result
        self.window = window  # (oldest, first poll, today): see store_health.alertable
        self.fresh = fresh or window  # the same for rows this poll adds
        self.docids = fts.DocidAllocator(conn)

    def run(self, batch: list[tuple[Announcement, list[Hit], fts.IndexDoc]]) -> None:
        conn, stamp = self.conn, self.stamp
        olds, old_matches = self._load(batch)
        self.docids.look_up(fts.ideal_docid(fts.sort_seconds(sort_time(ann.published, stamp)) or 0)
                            for ann, _, _ in batch if (ann.source, ann.id) not in olds)
        new_rows: list[tuple[Any, ...]] = []
        index_rows: list[tuple[int, str, str]] = []
        match_rows: list[tuple[Any, ...]] = []
        seen_only: dict[str, list[str]] = {}
        earned: list[tuple[Announcement, list[Hit]]] = []
        for ann, hits, doc in batch:
            self.result.seen += 1
            key = (ann.source, ann.id)
            known = old_matches.get(key, {})
            for hit in hits:
                row = match_row(ann, hit, stamp)
                if known.get(hit.rule) != row[3:6]:
                    match_rows.append(row)
            content = (ann.key, ann.title, ann.link, ann.canonical, ann.summary or "", ann.published,
                       ann.deadline, ann.agency, ann.category or "")
            old = olds.get(key)
            if old is None:
                first_seen = stamp
                docid = self.docids.take(sort_time(ann.published, stamp))
                new_rows.append((ann.source, ann.id, *content, stamp, stamp, docid))
                index_rows.append((docid, doc.body, fts.meta_text(ann.source, doc.chars)))
                self.result.new += 1
            else:
                first_seen = old["first_seen"]
                if not self._update(ann, doc, content, old):
                    seen_only.setdefault(ann.source, []).append(ann.id)
            window = self.window if old is not None else self.fresh
            if hits and alertable(ann.published, ann.deadline, first_seen, *window):
                earned.append((ann, hits))
        conn.executemany(
            f"INSERT INTO announcements (source, id, {', '.join(_CONTENT)}, first_seen, last_seen, docid) "
            f"VALUES (?, ?, {', '.join('?' * len(_CONTENT))}, ?, ?, ?)", new_rows,
        )
        write_matches(conn, match_rows)  # after the rows: a match copies its announcement's docid
        fts.index_add_many(conn, index_rows)
        for source, ids in seen_only.items():
            conn.execute(f"UPDATE announcements SET last_seen = ? WHERE source = ? AND {_in_ids('id')}",
                         (stamp, source, json.dumps(ids, ensure_ascii=False)))
        calls = CallLinker(conn, stamp)
        calls.link(batch, olds)
        self.result.alerts_queued += self._queue(earned)
        calls.follow(earned)

    def _load(self, batch: list[tuple[Announcement, list[Hit], fts.IndexDoc]]
              ) -> tuple[dict[Key, dict[str, Any]], dict[Key, dict[str, tuple[str, str, str]]]]:
        """Stored rows and matches of the batch's announcements -> ({key: row}, {key: {rule: (channel,
        keywords, words)}})."""
        by_source: dict[str, list[str]] = {}
        for ann, _, _ in batch:
            by_source.setdefault(ann.source, []).append(ann.id)
        olds: dict[Key, dict[str, Any]] = {}
        matches: dict[Key, dict[str, tuple[str, str, str]]] = {}
        for source, ids in by_source.items():
            params = (source, json.dumps(ids, ensure_ascii=False))
            where = f"WHERE source = ? AND {_in_ids('id')}"
            for row in fts.dicts(self.conn.execute(f"SELECT * FROM announcements {where}", params)):
                olds[(row["source"], row["id"])] = row
            cursor = self.conn.execute(f"SELECT source, id, rule, channel, keywords, words FROM matches {where}",
                                       params)
            for src, ann_id, rule, channel, keywords, words in cursor:
                matches.setdefault((src, ann_id), {})[rule] = (channel, keywords, words)
        return olds, matches

    def _update(self, ann: Announcement, doc: fts.IndexDoc, content: tuple[Any, ...], old: dict[str, Any]) -> bool:
        """A stored announcement seen again: rewrite it and its index row when something changed.
        -> False when nothing but last_seen needs writing."""
        changed = any(old[k] != v for k, v in zip(_CONTENT, content, strict=True))
        docid = old["docid"]
        when = sort_time(ann.published, old["first_seen"])
        if docid is None or when != sort_time(old["published"], old["first_seen"]):
            docid = self.docids.take(when)
        reindex = (old["title"], old["summary"], old["agency"]) != (content[1], content[4], content[7])
        reindex = reindex or docid != old["docid"]
        if not (changed or reindex):
            return False
        self.result.updated += changed
        sets = ", ".join(f"{k} = ?" for k in _CONTENT)
        self.conn.execute(
            f"UPDATE announcements SET {sets}, last_seen = ?, docid = ? WHERE source = ? AND id = ?",
            (*content, self.stamp, docid, ann.source, ann.id),
        )
        if reindex:
            if old["docid"] is not None:
                fts.index_remove(self.conn, old["docid"], old["title"], old["summary"], ann.source, old["agency"])
            fts.index_add(self.conn, docid, content[1], content[4], ann.source, doc, content[7])
        return True

    def _queue(self, earned: list[tuple[Announcement, list[Hit]]]) -> int:
        """Outbox rows, one per (key, channel); a pending one gains the new rules. -> rows added."""
        if not earned:
            return 0
        call_of = calls_of(self.conn, [ann for ann, _ in earned])  # one alert per call and channel
        keys = sorted(set(call_of.values()))
        stored: dict[tuple[str, str], list[Any]] = {}  # (key, channel) -> [id, rules or None if not mergeable]
        cursor = self.conn.execute(f"SELECT id, key, channel, status, kind, rules FROM alerts WHERE {_in_ids('key')}",
                                   (json.dumps(keys, ensure_ascii=False),))
        for alert_id, key, channel, status, kind, rules in cursor:
            mergeable = status == "pending" and kind == "announcement"
            stored[(key, channel)] = [alert_id, json.loads(rules or "[]") if mergeable else None, False]
        added: dict[tuple[str, str], list[Any]] = {}  # (key, channel) -> [source, ann_id, rules]
        for ann, hits in earned:
            by_channel: dict[str, list[Hit]] = {}
            for hit in hits:
                by_channel.setdefault(hit.channel, []).append(hit)
            call = call_of[(ann.source, ann.id)]
            for channel, channel_hits in by_channel.items():
                slot = (call, channel)
                if slot in stored and stored[slot][1] is None:  # alerted (or not mergeable): nothing to add
                    continue
                entries = [rule_entry(hit) for hit in channel_hits]
                if slot in added:
                    added[slot][2] = merge_rules(added[slot][2], entries)
                elif slot in stored:
                    row = stored[slot]
                    if row[1] is not None:
                        merged = merge_rules(row[1], entries)
                        row[1], row[2] = merged, row[2] or merged != row[1]
                else:
                    added[slot] = [ann.source, ann.id, entries]
        self.conn.executemany(
            "INSERT INTO alerts (kind, key, channel, source, ann_id, rules, created_at, status, attempts) "
            "VALUES ('announcement', ?, ?, ?, ?, ?, ?, 'pending', 0) ON CONFLICT(key, channel) DO NOTHING",
            [(key, channel, src, ann_id, json.dumps(rules, ensure_ascii=False), self.stamp)
             for (key, channel), (src, ann_id, rules) in added.items()],
        )
        self.conn.executemany("UPDATE alerts SET rules = ? WHERE id = ?",
                              [(json.dumps(rules, ensure_ascii=False), alert_id)
                               for alert_id, rules, dirty in stored.values() if dirty])
        return len(added)
