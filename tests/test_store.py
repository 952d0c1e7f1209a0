"""Store: migrations, ingest, the alert outbox and source health, on real SQLite files."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlite_utils

from watcher.models import Announcement, Hit, Source
from watcher.store import KST, Store
from watcher.store.rows import merge_rules
from watcher.store.schema import migrations

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=KST)
DAY = 86_400.0
MAX_AGE = 14 * DAY
NTIS = Source(id="ntis", url="https://www.ntis.go.kr/rss.xml", name="NTIS 국가R&D 사업공고")
BIZ = Source(id="bizinfo", url="https://apis.data.go.kr/bizinfo", name="기업마당", kind="json")


def ann(source: str = "ntis", id: str = "1", title: str = "2026년 강소특구 육성사업 공고", *,  # noqa: A002
        published: str | None = "2026-11-19T09:00:00+09:00", link: str | None = None, summary: str = "",
        deadline: str | None = None) -> Announcement:
    link = link or f"https://example.go.kr/{source}/{id}"
    return Announcement(source=source, id=id, title=title, link=link, summary=summary, published=published,
                        deadline=deadline, agency="연구개발특구진흥재단", canonical=link)


def hit(rule: str = "zones", channel: str = "#gongmo", *keywords: str) -> Hit:
    return Hit(rule=rule, channel=channel, keywords=keywords or ("특구",))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "db" / "watcher.db")


def count(store: Store, table: str) -> int:
    return store.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# ---- schema ------------------------------------------------------------------------------------

def test_fresh_database_creates_folder_tables_and_wal(tmp_path: Path) -> None:
    store = Store(tmp_path / "new" / "folder" / "w.db")
    assert (tmp_path / "new" / "folder" / "w.db").exists()
    assert {"sources", "announcements", "matches", "alerts", "search_index"} <= set(store.db.table_names())
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    names = [m.name for m in migrations.applied(store.db)]
    assert names[:3] == ["0001_tables", "0002_search_index", "0003_meta"] and not migrations.pending(store.db)
    assert {"0004_text_agency", "0005_health", "0006_rematch", "0007_claims", "0008_calls"} <= set(names)
    assert "meta" in store.db.table_names()


def test_reopen_applies_nothing_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    first = Store(path)
    first.ingest(NTIS, [(ann(), [hit()])], NOW, MAX_AGE)
    applied = migrations.applied(first.db)
    first.close()
    again = Store(path)
    assert migrations.pending(again.db) == []
    assert migrations.applied(again.db) == applied
    assert [r["id"] for r in again.search("특구")] == ["1"]


def test_old_database_upgrades_and_backfills_the_search_index(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    migrations.apply(db, stop_before="0002_search_index")  # the schema as version 1 shipped it
    db["announcements"].insert({"source": "ntis", "id": "7", "key": "ntis:7", "title": "의료기기 실증 공모",
                                "summary": "", "published": "2026-11-01T09:00:00+09:00",
                                "first_seen": "2026-11-01T10:00:00+09:00", "last_seen": "2026-11-01T10:00:00+09:00"})
    db["matches"].insert({"source": "ntis", "id": "7", "rule": "devices", "channel": "#d", "keywords": "[]"})
    db.close()
    store = Store(path)
    rows = store.search("의료기기", rule="devices")
    assert [(r["id"], r["rules"]) for r in rows] == [("7", ["devices"])]


# ---- ingest ------------------------------------------------------------------------------------

def test_ingest_is_idempotent(store: Store) -> None:
    items = [(ann(id="1"), [hit()]), (ann(id="2", title="바이오 공모"), [])]
    first = store.ingest(NTIS, items, NOW, MAX_AGE)
    assert (first.seen, first.new, first.updated, first.alerts_queued) == (2, 2, 0, 1)
    later = NOW + timedelta(hours=1)
    second = store.ingest(NTIS, items, later, MAX_AGE)
    assert (second.seen, second.new, second.updated, second.alerts_queued) == (2, 0, 0, 0)
    assert (count(store, "announcements"), count(store, "matches"), count(store, "alerts")) == (2, 1, 1)
    row = store.db["announcements"].get(("ntis", "1"))
    assert (row["first_seen"], row["last_seen"]) == ("2026-11-20T10:00:00+09:00", "2026-11-20T11:00:00+09:00")
    assert store.db["sources"].get("ntis")["name"] == "NTIS 국가R&D 사업공고"


def test_changed_fields_are_updated_and_reindexed(store: Store) -> None:
    store.ingest(NTIS, [(ann(title="바이오 공모", deadline="2026-12-01"), [])], NOW, MAX_AGE)
    result = store.ingest(NTIS, [(ann(title="의료기기 공모", deadline="2026-12-15"), [])], NOW, MAX_AGE)
    assert (result.new, result.updated) == (0, 1)
    got = store.get_announcement("ntis", "1")
    assert got is not None and (got.title, got.deadline) == ("의료기기 공모", "2026-12-15")
    assert store.search("바이오") == []
    assert [r["id"] for r in store.search("의료기기")] == ["1"]
    store.db.execute("INSERT INTO search_index(search_index) VALUES ('integrity-check')")


def test_ingest_is_one_transaction(store: Store) -> None:
    broken = Announcement(source="ntis", id="2", title=None, link=None)  # type: ignore[arg-type]
    with pytest.raises(sqlite3.IntegrityError):
        store.ingest(NTIS, [(ann(id="1"), [hit()]), (broken, [])], NOW, MAX_AGE)
    assert (count(store, "announcements"), count(store, "alerts"), count(store, "sources")) == (0, 0, 0)
    assert store.ingest(NTIS, [(ann(id="1"), [hit()])], NOW, MAX_AGE).new == 1


# ---- alerts ------------------------------------------------------------------------------------

def test_one_alert_per_channel_across_sources_with_the_same_canonical_link(store: Store) -> None:
    link = "https://www.innopolis.or.kr/board/view?id=42"
    first = store.ingest(NTIS, [(ann("ntis", "a", link=link), [hit("zones", "#gongmo")])], NOW, MAX_AGE)
    assert first.alerts_queued == 1
    other = store.ingest(BIZ, [(ann("bizinfo", "b", link=link), [hit("zones", "#gongmo"), hit("rnd", "#rnd")])],
                         NOW, MAX_AGE)
    assert other.alerts_queued == 1  # only the new channel
    rows = store.pending_alerts(NOW)
    assert sorted(r["channel"] for r in rows) == ["#gongmo", "#rnd"]
    assert {r["key"] for r in rows} == {link}


def test_no_second_alert_after_restart(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    first = Store(path)
    first.ingest(NTIS, [(ann(), [hit()])], NOW, MAX_AGE)
    alert = first.pending_alerts(NOW)[0]
    first.mark_sent(alert["id"], NOW, "1700000000.000100")
    first.close()
    again = Store(path)
    result = again.ingest(NTIS, [(ann(), [hit(), hit("other")])], NOW + timedelta(hours=1), MAX_AGE)
    assert result.alerts_queued == 0
    assert again.pending_alerts(NOW + timedelta(hours=1)) == []
    assert count(again, "alerts") == 1


def test_pending_alert_gains_new_rules(store: Store) -> None:
    store.ingest(NTIS, [(ann(), [hit("zones", "#g", "특구")])], NOW, MAX_AGE)
    store.ingest(NTIS, [(ann(), [Hit("zones", "#g", ("강소특구",), words=(("title", "강소특구"),)),
                                 Hit("rnd", "#g", ("R&D",), "<!here>")])], NOW, MAX_AGE)
    (alert,) = store.pending_alerts(NOW)
    assert alert["rules"] == [
        {"rule": "zones", "keywords": ["특구", "강소특구"], "mention": None,
         "words": [{"field": "title", "text": "강소특구"}]},
        {"rule": "rnd", "keywords": ["R&D"], "mention": "<!here>", "words": []},
    ]


def test_merge_rules_is_pure() -> None:
    current = [{"rule": "a", "keywords": ["x"], "mention": None}]
    merged = merge_rules(current, [{"rule": "a", "keywords": ["x", "y"], "mention": None}])
    assert merged == [{"rule": "a", "keywords": ["x", "y"], "mention": None}]
    assert current == [{"rule": "a", "keywords": ["x"], "mention": None}]


@pytest.mark.parametrize(
    ("published", "alerted"),
    [
        ("2026-11-19T09:00:00+09:00", True),  # yesterday
        ("2026-11-06T10:00:00+09:00", True),  # exactly max_age ago
        ("2026-11-06T09:59:59+09:00", False),  # just older
        ("2025-03-01T09:00:00+09:00", False),
        (None, False),  # no date on a source's first poll: its baseline, stored, not alerted
    ],
)
def test_max_age_policy(store: Store, published: str | None, alerted: bool) -> None:
    result = store.ingest(NTIS, [(ann(published=published), [hit()])], NOW, MAX_AGE)
    assert (result.new, result.alerts_queued) == (1, int(alerted))
    assert count(store, "announcements") == 1


def first_poll(store: Store, source: Source = NTIS, when: datetime = NOW) -> None:
    """A source's first poll: one dated item, recorded as a success."""
    store.ingest(source, [(ann(source.id, id="first"), [])], when, MAX_AGE)
    store.record_success(source, when, None, None, None)


def test_undated_item_ages_from_first_seen(store: Store) -> None:
    first_poll(store)
    seen = NOW + timedelta(days=1)
    store.ingest(NTIS, [(ann(published=None), [])], seen, MAX_AGE)
    later = seen + timedelta(days=20)  # a rule added later matches it: too old by then
    assert store.ingest(NTIS, [(ann(published=None), [hit()])], later, MAX_AGE).alerts_queued == 0
    assert store.ingest(NTIS, [(ann(published=None), [hit()])], seen + timedelta(days=3), MAX_AGE).alerts_queued == 1


def test_undated_items_of_the_first_poll_stay_unalerted_on_later_polls(store: Store) -> None:
    store.ingest(NTIS, [(ann(id="old", published=None), [hit()])], NOW, MAX_AGE)
    store.record_success(NTIS, NOW, None, None, None)
    later = NOW + timedelta(hours=1)
    result = store.ingest(NTIS, [(ann(id="old", published=None), [hit()]),
                                 (ann(id="new", published=None), [hit()])], later, MAX_AGE)
    assert result.alerts_queued == 1
    assert [a["ann_id"] for a in store.pending_alerts(later)] == ["new"]


def test_dated_items_of_a_first_poll_are_alerted_within_max_age(store: Store) -> None:
    result = store.ingest(NTIS, [(ann(id="recent"), [hit()]),
                                 (ann(id="old", published="2025-04-21T00:00:00+09:00"), [hit()])], NOW, MAX_AGE)
    assert result.alerts_queued == 1 and [a["ann_id"] for a in store.pending_alerts(NOW)] == ["recent"]


@pytest.mark.parametrize(("deadline", "alerted"), [
    ("2026-11-19", False),  # closed yesterday (Korea time)
    ("2026-11-20", True),  # closes today: still open
    ("2026-12-24", True),
    (None, True),
])
def test_a_call_closed_before_today_is_stored_not_alerted(store: Store, deadline: str | None, alerted: bool) -> None:
    result = store.ingest(NTIS, [(ann(deadline=deadline), [hit()])], NOW, MAX_AGE)
    assert (result.new, result.alerts_queued) == (1, int(alerted))
    assert [r["deadline"] for r in store.search("강소특구")] == [deadline]


def test_today_is_korea_time_for_closed_calls(store: Store) -> None:
    utc_morning = datetime(2026, 11, 19, 10, 0, tzinfo=ZoneInfo("UTC"))  # 19:00 KST on 11-19: closes today
    assert store.ingest(NTIS, [(ann(deadline="2026-11-19"), [hit()])], utc_morning, MAX_AGE).alerts_queued == 1
    utc_evening = datetime(2026, 11, 19, 15, 30, tzinfo=ZoneInfo("UTC"))  # 00:30 KST on 11-20
    assert store.ingest(NTIS, [(ann(id="2", deadline="2026-11-19"), [hit()])], utc_evening, MAX_AGE).alerts_queued == 0


# ---- outbox ------------------------------------------------------------------------------------

def test_outbox_rows_carry_the_announcement(store: Store) -> None:
    store.ingest(NTIS, [(ann(id="1", deadline="2026-12-01", summary="요약"), [hit()]),
                        (ann(id="2", title="의료기기 공모"), [hit("devices", "#d", "의료기기")])], NOW, MAX_AGE)
    first, second = store.pending_alerts(NOW)
    assert first["id"] < second["id"]
    assert first["kind"] == "announcement" and first["status"] == "pending" and first["attempts"] == 0
    assert (first["title"], first["link"], first["summary"]) == ("2026년 강소특구 육성사업 공고",
                                                               "https://example.go.kr/ntis/1", "요약")
    assert (first["published"], first["deadline"], first["agency"]) == ("2026-11-19T09:00:00+09:00", "2026-12-01",
                                                                        "연구개발특구진흥재단")
    assert first["source_name"] == "NTIS 국가R&D 사업공고" and first["source"] == "ntis"
    assert second["rules"] == [{"rule": "devices", "keywords": ["의료기기"], "mention": None, "words": []}]


def test_retry_and_sent_marks(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    store.ingest(NTIS, [(ann(), [hit()])], NOW, MAX_AGE)
    (alert,) = store.pending_alerts(NOW)
    store.mark_retry(alert["id"], NOW, "slack: ratelimited", NOW + timedelta(seconds=30))
    assert store.pending_alerts(NOW + timedelta(seconds=29)) == []
    (due,) = store.pending_alerts(NOW + timedelta(seconds=30))
    assert (due["attempts"], due["last_error"]) == (1, "slack: ratelimited")
    store.mark_sent(alert["id"], NOW + timedelta(minutes=1), "123.456")
    # durable at once: another connection sees it without any close or commit by the caller
    other = sqlite3.connect(tmp_path / "w.db")
    assert other.execute("SELECT status, slack_ts, attempts, sent_at FROM alerts").fetchone() == (
        "sent", "123.456", 2, "2026-11-20T10:01:00+09:00")
    assert store.pending_alerts(NOW + timedelta(days=1)) == []


def test_ops_alerts_are_idempotent(store: Store) -> None:
    assert store.enqueue_ops("#ops", "ops:down:ntis:2026-11-20", "source 'NTIS' has failed", NOW) is True
    assert store.enqueue_ops("#ops", "ops:down:ntis:2026-11-20", "again", NOW) is False
    assert store.enqueue_ops("#ops2", "ops:down:ntis:2026-11-20", "other channel", NOW) is True
    rows = store.pending_alerts(NOW)
    assert [(r["kind"], r["channel"], r["text"], r["title"]) for r in rows] == [
        ("ops", "#ops", "source 'NTIS' has failed", None), ("ops", "#ops2", "other channel", None)]


def test_times_are_korea_time(store: Store) -> None:
    utc = datetime(2026, 11, 20, 1, 0, tzinfo=KST).astimezone(tz=None)
    store.enqueue_ops("#ops", "k", "t", utc)
    assert store.pending_alerts(utc)[0]["created_at"] == "2026-11-20T01:00:00+09:00"


# ---- sources -----------------------------------------------------------------------------------

def test_source_health(store: Store) -> None:
    assert store.source_state("ntis")["failures"] == 0
    store.record_failure(NTIS, NOW, "fetch: timeout after 20s", None)
    store.record_failure(NTIS, NOW + timedelta(minutes=10), "fetch: HTTP 429", 120.0)
    state = store.source_state("ntis")
    assert state["failures"] == 2
    assert state["failing_since"] == "2026-11-20T10:00:00+09:00"
    assert state["last_error"] == "fetch: HTTP 429"
    assert state["next_poll_after"] == "2026-11-20T10:12:00+09:00"
    store.db["sources"].update("ntis", {"down_alerted": 1})  # run.py does this
    store.record_success(NTIS, NOW + timedelta(hours=1), '"etag-1"', "Fri, 20 Nov 2026 01:00:00 GMT", "abc")
    state = store.source_state("ntis")
    assert (state["failures"], state["failing_since"], state["next_poll_after"]) == (0, None, None)
    assert (state["etag"], state["body_hash"], state["down_alerted"]) == ('"etag-1"', "abc", 1)
    assert state["last_success"] == state["first_polled"] == "2026-11-20T11:00:00+09:00"


def test_status_lists_every_source_seen(store: Store) -> None:
    store.ingest(NTIS, [(ann(id=str(i)), []) for i in range(3)], NOW, MAX_AGE)
    store.record_success(NTIS, NOW, None, None, None)
    store.record_failure(BIZ, NOW, "fetch: HTTP 500", None)
    rows = {r["id"]: r for r in store.status()}
    assert set(rows) == {"ntis", "bizinfo"}
    assert (rows["ntis"]["items"], rows["ntis"]["failures"], rows["ntis"]["last_success"]) == (
        3, 0, "2026-11-20T10:00:00+09:00")
    assert (rows["bizinfo"]["items"], rows["bizinfo"]["failures"], rows["bizinfo"]["last_error"]) == (
        0, 1, "fetch: HTTP 500")
    assert rows["bizinfo"]["name"] == "기업마당" and rows["bizinfo"]["last_success"] is None


# ---- read side ---------------------------------------------------------------------------------

def test_announcements_and_get(store: Store) -> None:
    store.ingest(NTIS, [(ann(id="old", published="2026-10-01T09:00:00+09:00"), []),
                        (ann(id="new", published="2026-11-19T09:00:00+09:00"), [])], NOW, MAX_AGE)
    store.ingest(BIZ, [(ann("bizinfo", "b", published=None), [])], NOW, MAX_AGE)
    assert [a.id for a in store.announcements()] == ["b", "new", "old"]
    assert [a.id for a in store.announcements(since="2026-11-01")] == ["b", "new"]
    assert [a.id for a in store.announcements(source="ntis")] == ["new", "old"]
    got = store.get_announcement("ntis", "new")
    assert got == ann(id="new")
    assert store.get_announcement("ntis", "nope") is None


def test_an_undated_item_new_in_a_second_poll_of_the_same_second_is_not_baseline(store: Store) -> None:
    base = ann(id="base", published=None)
    first = store.ingest(NTIS, [(base, [hit()])], NOW, MAX_AGE)
    store.record_success(NTIS, NOW, None, None, None)  # the first poll is over, within this second
    second = store.ingest(NTIS, [(base, [hit()]), (ann(id="new", published=None), [hit()])], NOW, MAX_AGE)
    assert (first.alerts_queued, second.alerts_queued) == (0, 1)
    assert [r[0] for r in store.conn.execute("SELECT ann_id FROM alerts")] == ["new"]
