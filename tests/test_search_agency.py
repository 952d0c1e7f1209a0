"""Search over text kept as published: folds live in the index only; agency is indexed and filtered."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import sqlite_utils

from watcher.models import Announcement, Source
from watcher.store import KST, Store, migrations
from watcher.store import search as fts

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=KST)
MAX_AGE = 14 * 86_400.0
NTIS = Source(id="ntis", url="https://www.ntis.go.kr/rss.xml", name="NTIS")
TITLE = "ㅇ 접수기간 안내 ㅣ ① 의료기기 실증… 공모"


def ann(id: str, title: str, agency: str | None = None, summary: str = "") -> Announcement:  # noqa: A002
    link = f"https://example.go.kr/{id}"
    return Announcement(source="ntis", id=id, title=title, link=link, summary=summary,
                        published="2026-11-19T09:00:00+09:00", agency=agency, canonical=link)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "w.db")
    s.ingest(NTIS, [
        (ann("1", TITLE, "과학기술정보통신부"), []),
        (ann("2", "2026년 강소특구 육성사업 공고", "연구개발특구진흥재단"), []),
        (ann("3", "연구개발특구진흥재단 협력 행사 안내", "부산테크노파크"), []),
        (ann("4", "물류ㆍ통관 지원", None), []),
    ], NOW, MAX_AGE)
    return s


def ids(rows: list[dict]) -> list[str]:
    return sorted(r["id"] for r in rows)


def test_stored_and_found_titles_keep_their_characters(store: Store) -> None:
    (row,) = store.search("의료기기")
    assert row["title"] == TITLE


@pytest.mark.parametrize("query", ["①", "1", "ㅇ", "\u110b", "ㅣ", "\u1175", "실증…", "실증...", "접수기간"])
def test_folded_forms_find_what_was_published(store: Store, query: str) -> None:
    assert ids(store.search(query)) == ["1"]


@pytest.mark.parametrize("query", ["물류ㆍ통관", "물류·통관", "물류・통관", "물류 통관"])
def test_middle_dots_are_one_fold(store: Store, query: str) -> None:
    assert ids(store.search(query)) == ["4"]


def test_agency_is_searched_as_text(store: Store) -> None:
    assert ids(store.search("연구개발특구진흥재단")) == ["2", "3"]  # agency of 2, title of 3
    assert ids(store.search("과학기술정보통신부")) == ["1"]


@pytest.mark.parametrize("agency", ["연구개발특구진흥재단", "특구진흥재단", "연구개발특구 진흥재단", "진흥재단"])
def test_agency_filter_takes_the_agency_field_only(store: Store, agency: str) -> None:
    assert ids(store.search("", agency=agency)) == ["2"]


def test_agency_filter_combines_with_the_query(store: Store) -> None:
    assert ids(store.search("강소특구", agency="연구개발특구진흥재단")) == ["2"]
    assert store.search("의료기기", agency="연구개발특구진흥재단") == []
    assert store.search("", agency="없는기관") == []


def test_a_changed_agency_is_reindexed(store: Store) -> None:
    store.ingest(NTIS, [(ann("2", "2026년 강소특구 육성사업 공고", "중소벤처기업부"), [])], NOW, MAX_AGE)
    assert ids(store.search("연구개발특구진흥재단")) == ["3"]
    assert ids(store.search("중소벤처기업부")) == ["2"]
    store.db.execute("INSERT INTO search_index(search_index) VALUES ('integrity-check')")


def test_migration_0004_indexes_the_agency_of_an_existing_database(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    migrations.apply(db, stop_before="0004_text_agency")  # the schema before agency was indexed
    row = {"source": "ntis", "id": "7", "key": "ntis:7", "title": "실증 공모", "summary": "",
           "agency": "연구개발특구진흥재단", "published": "2026-11-01T09:00:00+09:00",
           "first_seen": "2026-11-01T10:00:00+09:00", "last_seen": "2026-11-01T10:00:00+09:00", "docid": 5}
    db["announcements"].insert(row)
    old = fts.index_doc("실증 공모", "")  # as 0002 indexed it: title and summary only
    db.execute(f"INSERT INTO {fts.FTS_TABLE}(rowid, body, meta) VALUES (5, ?, ?)",
               [old.body, fts.meta_text("ntis", old.chars)])
    db.conn.commit()
    db.close()
    store = Store(path)
    assert ids(store.search("연구개발특구진흥재단")) == ["7"]
    assert ids(store.search("실증")) == ["7"]
    store.db.execute("INSERT INTO search_index(search_index) VALUES ('integrity-check')")
