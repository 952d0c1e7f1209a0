"""The fast ingest path: index documents made in worker processes, batched writes, unchanged rows left alone."""

from __future__ import annotations

import multiprocessing
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from watcher.match.matcher import Matcher
from watcher.models import Announcement, Hit, Rule, RuleSet, Source
from watcher.pipeline.workers import ParsePool, parse_and_match
from watcher.store import KST, Store
from watcher.store import search as fts

FEED = Path(__file__).parent / "fixtures" / "feeds" / "ntis-unRndRss.xml"
NTIS = Source(id="ntis", url="https://www.ntis.go.kr/rndgate/unRndRss.xml", name="NTIS")
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=KST)
MAX_AGE = 10_000 * 86_400.0
QUERIES = ["특구", "연구", "사업 공고", "r&d", "과제", "-공고", "2026년", "지원"]


def matcher() -> Matcher:
    return Matcher(RuleSet(rules=(Rule("rnd", any=("연구",), channel="#rnd"), Rule("all", any=("공고",)))))


def worker_items() -> list:
    return parse_and_match(NTIS, [FEED.read_bytes()], "text/xml", NTIS.url, matcher())


def sql_log(store: Store) -> list[str]:
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    return statements


def test_workers_hand_back_the_index_document_the_store_would_compute() -> None:
    items = worker_items()
    assert len(items) > 3
    for ann, _hits, doc in items:
        assert doc == fts.index_doc(ann.title, ann.summary)
        assert doc.body == fts.doc_body(ann.title, ann.summary)
        assert fts.meta_text(ann.source, doc.chars) == fts.doc_meta(ann.source, ann.title, ann.summary)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_forked_workers_give_the_same_items_as_in_process() -> None:
    pool = ParsePool(matcher(), workers=2)
    try:
        assert pool.executor is not None
        got, timeouts = pool.submit(NTIS, [FEED.read_bytes()], "text/xml", NTIS.url).result(timeout=60)
    finally:
        pool.close()
    assert got == worker_items() and timeouts == []  # a worker sends back its regex timeouts too


def test_ingest_with_or_without_index_documents_stores_the_same(tmp_path: Path) -> None:
    triples = worker_items()
    with_docs, without = Store(tmp_path / "a.db"), Store(tmp_path / "b.db")
    with_docs.ingest(NTIS, triples, NOW, MAX_AGE)
    without.ingest(NTIS, [(ann, hits) for ann, hits, _ in triples], NOW, MAX_AGE)
    for table in ("announcements", "matches", "alerts"):
        sql = f"SELECT * FROM {table} ORDER BY 1, 2, 3"
        assert with_docs.db.execute(sql).fetchall() == without.db.execute(sql).fetchall()
    for query in QUERIES:
        assert with_docs.search(query) == without.search(query), query
        assert with_docs.search(query, rule="rnd") == without.search(query, rule="rnd"), query
    for store in (with_docs, without):
        store.db.execute("INSERT INTO search_index(search_index) VALUES ('integrity-check')")


def test_unchanged_items_only_move_last_seen(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    items = worker_items()
    store.ingest(NTIS, items, NOW, MAX_AGE)
    before = store.db.execute("SELECT source, id, docid, first_seen FROM announcements ORDER BY id").fetchall()
    later = NOW + timedelta(hours=1)
    statements = sql_log(store)
    result = store.ingest(NTIS, items, later, MAX_AGE)
    assert (result.seen, result.new, result.updated, result.alerts_queued) == (len(items), 0, 0, 0)
    writes = [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert len(writes) <= 2, writes  # the source row and one last_seen update for all items
    assert not any("search_index" in s or "matches" in s or "alerts" in s for s in writes)
    assert store.db.execute("SELECT source, id, docid, first_seen FROM announcements ORDER BY id").fetchall() == before
    assert {r[0] for r in store.db.execute("SELECT last_seen FROM announcements")} == {later.isoformat()}


def test_a_changed_item_among_unchanged_ones_is_rewritten_and_reindexed(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    items = [(ann, hits) for ann, hits, _ in worker_items()]
    store.ingest(NTIS, items, NOW, MAX_AGE)
    first = items[0][0]
    edited = Announcement(**{**first.__dict__, "title": "해양바이오 실증 공모", "deadline": "2026-12-31"})
    result = store.ingest(NTIS, [(edited, items[0][1]), *items[1:]], NOW + timedelta(hours=1), MAX_AGE)
    assert (result.new, result.updated) == (0, 1)
    assert [r["id"] for r in store.search("해양바이오")] == [first.id]
    got = store.get_announcement(NTIS.id, first.id)
    assert got is not None and (got.title, got.deadline) == ("해양바이오 실증 공모", "2026-12-31")
    store.db.execute("INSERT INTO search_index(search_index) VALUES ('integrity-check')")


def test_new_rule_on_a_stored_item_reindexes_it_and_queues_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    ann = Announcement("ntis", "1", "바이오 공모", "https://example.go.kr/1", published="2026-11-19T09:00:00+09:00")
    store.ingest(NTIS, [(ann, [])], NOW, MAX_AGE)
    bio = Hit("bio", "#b", ("바이오",))
    assert store.ingest(NTIS, [(ann, [bio])], NOW, MAX_AGE).alerts_queued == 1
    assert store.ingest(NTIS, [(ann, [bio])], NOW, MAX_AGE).alerts_queued == 0
    assert [r["id"] for r in store.search("바이오", rule="bio")] == ["1"]
    store.db.execute("INSERT INTO search_index(search_index) VALUES ('integrity-check')")


def test_a_repeated_id_in_one_call_is_an_update_of_the_first(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    old = Announcement("ntis", "1", "바이오 공모", "https://example.go.kr/1", published="2026-11-19T09:00:00+09:00")
    new = Announcement("ntis", "1", "의료기기 공모", "https://example.go.kr/1", published="2026-11-19T09:00:00+09:00")
    result = store.ingest(NTIS, [(old, [Hit("bio", "#b", ("바이오",))]), (new, [Hit("dev", "#b", ("의료기기",))])],
                          NOW, MAX_AGE)
    assert (result.seen, result.new, result.updated, result.alerts_queued) == (2, 1, 1, 1)
    assert store.search("바이오") == [] and [r["rules"] for r in store.search("의료기기")] == [["bio", "dev"]]
    rules = store.pending_alerts(NOW)[0]["rules"]
    assert [r["rule"] for r in rules] == ["bio", "dev"]


def test_many_items_of_one_second_in_one_call_keep_distinct_ordered_docids(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    day = "2026-11-01T00:00:00+09:00"
    store.ingest(NTIS, [(Announcement("ntis", "old", "특구 공고", None, published=day), [])], NOW, 0)
    items = [(Announcement("ntis", str(i), f"특구 공고 {i}", None, published=day), []) for i in range(300)]
    store.ingest(NTIS, items, NOW, 0)
    docids = [r[0] for r in store.db.execute("SELECT docid FROM announcements ORDER BY rowid")]
    assert len(set(docids)) == 301 and docids == sorted(docids, reverse=True)
    assert len(store.search("특구", since="2026-11-01", until="2026-11-01", limit=500)) == 301


def test_transaction_groups_several_ingests_into_one_commit(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    biz = Source(id="biz", url="https://biz")
    statements = sql_log(store)
    with store.transaction():
        store.ingest(NTIS, [(Announcement("ntis", "1", "특구 공고", None), [])], NOW, 0)
        store.ingest(biz, [(Announcement("biz", "1", "바이오 공고", None), [])], NOW, 0)
        store.record_success(biz, NOW, None, None, None)
    assert sum(s.strip().upper() == "COMMIT" for s in statements) == 1
    assert len(store.search("공고")) == 2
