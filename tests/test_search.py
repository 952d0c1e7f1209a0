"""Korean full-text search: the pure query builder, then Store.search on a real database."""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
import sqlite_utils

from watcher.errors import WatcherError
from watcher.models import Announcement, Hit, Source
from watcher.store import KST, Store, migrations
from watcher.store import search as fts

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=KST)
HOSTILE = ['"', '""', '"디지털', "AND", "OR", "NOT", "NEAR(", "NEAR(a b", "*", "-", "--", "^", ":", "(", ")",
           "'; DROP TABLE announcements; --", "title:특구", "{title}: x", "a + b", "\\", "%", "_", "\x00",
           "특구 AND OR NOT", '"의료" NEAR/2 "기기"', "x" * 5000, "-특구", "* AND *"]

# ---- pure helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("특구", ["특", "특구", "구"]),
        ("의료기기를", ["의", "의료", "료기", "기기", "기를", "를"]),
        ("디지털 헬스케어", ["디", "디지", "지털", "털헬", "헬스", "스케", "케어", "어"]),
        ("AI 반도체", ["ai", "반", "반도", "도체", "체"]),
        ("R&D 과제", ["r", "d", "과", "과제", "제"]),
        ("ＡＩ·빅데이터 및", ["ai", "빅", "빅데", "데이", "이터", "터및", "및"]),  # NFKC full-width
        ("", []),
    ],
)
def test_doc_tokens(text: str, tokens: list[str]) -> None:
    assert fts.doc_tokens(text) == tokens


def _reference_is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (0xAC00 <= o <= 0xD7A3 or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F or 0x3041 <= o <= 0x3096
            or 0x30A1 <= o <= 0x30FA or o == 0x30FC or 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF
            or 0xF900 <= o <= 0xFAFF)


def _reference_segments(text: str) -> list[tuple[bool, str]]:
    """The tokeniser's definition, one character at a time (what the index was first built with)."""
    out: list[tuple[bool, str]] = []
    cjk, word = "", ""
    for ch in fts.normalize(text):
        if _reference_is_cjk(ch):
            if word:
                out.append((False, word))
                word = ""
            cjk += ch
        elif ch.isspace():
            if word:
                out.append((False, word))
                word = ""
        else:
            if cjk:
                out.append((True, cjk))
                cjk = ""
            if ch.isalnum():
                word += ch
            elif word:
                out.append((False, word))
                word = ""
    out += [(True, cjk)] * bool(cjk) + [(False, word)] * bool(word)
    return out


def _reference_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    for is_cjk, run in _reference_segments(text):
        tokens += ([run] if len(run) == 1 else [run[0], *(run[i : i + 2] for i in range(len(run) - 1)), run[-1]]) \
            if is_cjk else [run]
    return tokens


def _generated_texts(count: int) -> list[str]:
    """Random text over the edges of every CJK range, Latin, digits, punctuation, white space, full-width."""
    rng = random.Random(20261120)
    spans = [(0xABF0, 0xAC10), (0xD790, 0xD7B0), (0x10F0, 0x1210), (0x3120, 0x3190), (0x3030, 0x3100),
             (0x33F0, 0x3410), (0x4DB0, 0x4E10), (0x9FF0, 0xA010), (0xF8F0, 0xFB10), (0x20, 0x7F),
             (0xA0, 0x180), (0x2000, 0x2070), (0xFF00, 0xFFEF), (0x300, 0x370)]
    alphabet = [chr(c) for lo, hi in spans for c in range(lo, hi)] + list(" \t\n\u3000_·특구의료기기 ") * 20
    return ["".join(rng.choices(alphabet, k=rng.randint(0, 30))) for _ in range(count)]


def test_tokens_match_the_per_character_definition() -> None:
    """The regex tokeniser writes exactly what the index holds (contentless rows are deleted by
    re-tokenising their old values, so a single differing token would corrupt the index)."""
    texts = _generated_texts(3000) + ["가 나", "가\t\n나a", "a가 b", "ㄱ ㅏ", "・ヽ゠", "가\u3000나", "ＡＩ·빅데이터"]
    for title, summary in zip(texts, reversed(texts), strict=True):
        assert fts.segments(title) == _reference_segments(title), repr(title)
        assert fts.doc_tokens(title) == _reference_tokens(title), repr(title)
        doc = fts.index_doc(title, summary)
        assert doc.body == " ".join(_reference_tokens(title) + _reference_tokens(summary))
        syllables = sorted({ch for ch in fts.normalize(f"{title} {summary}") if _reference_is_cjk(ch)})
        assert fts.meta_text("a", doc.chars) == " ".join(["_all", "_s61", *syllables])
        assert fts.doc_meta("a", title, summary) == fts.meta_text("a", doc.chars)


@pytest.mark.parametrize(
    ("query", "expression"),
    [
        ("특구", '"특구"'),
        ("의료기기", '"의료 료기 기기"'),
        ("디지털 헬스케어", '"디지 지털" AND "헬스 스케 케어"'),
        ('"디지털 헬스케어"', '"디지 지털 털헬 헬스 스케 케어"'),
        ("디지털헬스케어", '"디지 지털 털헬 헬스 스케 케어"'),
        ('"디지털 헬스', '"디지 지털 털헬 헬스"'),  # unbalanced quote runs to the end
        ("AI반도체", '"ai 반 반도 도체"'),
        ("2026년", '"2026 년"'),
        ("및AI", '"및 ai"'),
        ("데이터·AI", '"데이 이터 터 ai"'),
        ("의료·바이오", '"의료 료 바 바이 이오"'),
        ("x및y", '"x 및 y"'),
        ("책", '"책"'),
        ("책*", '"책"'),
        ("health*", '"health" *'),
        ("의료 -채용", '("의료") NOT ("채용")'),
        ("-채용", '("_all") NOT ("채용")'),
        ("특구 특구", '"특구"'),
        ("", '"_all"'),
        ("*", '"_all"'),
        ("AND", '"and"'),
        ("NEAR(", '"near"'),
        ("'; DROP", '"drop"'),
    ],
)
def test_build_fts_query(query: str, expression: str) -> None:
    assert fts.build_fts_query(query) == expression


def test_a_source_filter_is_an_index_token() -> None:
    assert fts.build_fts_query("특구", source="ntis") == '"특구" AND "_s6e746973"'
    assert fts.build_fts_query("", source="의료") == '"_s' + "의료".encode().hex() + '"'


def test_one_syllable_words_are_syllable_tokens() -> None:
    assert fts.build_fts_query("섬") == '"섬"'
    assert fts.build_fts_query("섬 특구 -숲") == '("섬" AND "특구") NOT ("숲")'
    assert fts.doc_meta("a", "섬 마을 AI", "마을") == "_all _s61 마 섬 을"


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_input_builds_a_valid_expression(query: str) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute(fts.FTS_SCHEMA)
    fts.index_add(conn, 1, "특구", "", "ntis")
    conn.execute("SELECT rowid FROM search_index WHERE search_index MATCH ?", (fts.build_fts_query(query),)).fetchall()


def test_docid_orders_newest_first_and_days_are_korea_time() -> None:
    newer = fts.ideal_docid(fts.sort_seconds("2026-11-02T00:00:00+09:00"))
    older = fts.ideal_docid(fts.sort_seconds("2026-11-01T23:59:59+09:00"))
    assert newer < older
    low, high = fts.docid_range(fts.parse_day("2026-11-01", "since"), fts.parse_day("2026-11-01", "until"))
    assert low <= older <= high
    assert not low <= newer <= high
    assert fts.parse_day(None, "since") is None
    with pytest.raises(WatcherError, match="since"):
        fts.parse_day("last week", "since")


# ---- Store.search ------------------------------------------------------------------------------

ITEMS = [
    # id, source, title, summary, published, deadline, rules
    ("zone", "ntis", "2026년 강소특구 육성사업 공고", "연구개발특구진흥재단 지원", "2026-11-18T09:00:00+09:00",
     "2026-12-01", ["zones"]),
    ("dev", "bizinfo", "의료기기를 위한 실증 지원사업", "의료 AI 기업 모집", "2026-11-17T09:00:00+09:00",
     "2026-11-19", ["devices"]),
    ("dh1", "ntis", "디지털 헬스케어 실증 공모", "", "2026-11-16T09:00:00+09:00", None, []),
    ("dh2", "bizinfo", "디지털헬스케어 기업 모집", "", "2026-11-15T09:00:00+09:00", "2026-11-30", ["devices"]),
    ("apart", "ntis", "디지털 전환 지원", "헬스케어 분야 포함", "2026-11-14T09:00:00+09:00", None, []),
    ("maint", "ntis", "Maintenance notice 시스템 점검", "", "2026-11-01T00:30:00+09:00", None, []),
    ("undated", "bizinfo", "규제자유특구 추가 지정 공모", "", None, None, []),
    ("hostile", "ntis", '<script>alert("x")</script> 특구 & "인용"', "", "2026-10-01T09:00:00+09:00", None, []),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("search") / "w.db")
    sources = {"ntis": Source(id="ntis", url="https://ntis", name="NTIS"),
               "bizinfo": Source(id="bizinfo", url="https://biz", name="기업마당")}
    for source_id, source in sources.items():
        items = [
            (Announcement(source_id, id_, title, f"https://example.go.kr/{id_}", summary, published, deadline),
             [Hit(rule, "#g", ("x",)) for rule in rules])
            for id_, src, title, summary, published, deadline, rules in ITEMS if src == source_id
        ]
        store.ingest(source, items, NOW, 14 * 86_400)
    return store


def ids(rows: list[dict]) -> list[str]:
    return [r["id"] for r in rows]


def test_two_syllable_word_inside_longer_words(store: Store) -> None:
    assert ids(store.search("특구")) == ["undated", "zone", "hostile"]


def test_longer_word_inside_a_word_and_space_insensitive(store: Store) -> None:
    assert ids(store.search("의료기기")) == ["dev"]


def test_phrase_matches_with_or_without_the_space(store: Store) -> None:
    assert ids(store.search('"디지털 헬스케어"')) == ["dh1", "dh2"]
    assert ids(store.search("디지털헬스케어")) == ["dh1", "dh2"]


def test_words_must_all_appear_anywhere(store: Store) -> None:
    assert ids(store.search("디지털 헬스케어")) == ["dh1", "dh2", "apart"]
    assert ids(store.search("디지털 헬스케어 공모")) == ["dh1"]
    assert ids(store.search("디지털 -공모")) == ["dh2", "apart"]


def test_latin_words_match_whole_words(store: Store) -> None:
    assert ids(store.search("AI")) == ["dev"]
    assert ids(store.search("maint")) == []
    assert ids(store.search("maint*")) == ["maint"]
    assert ids(store.search("MAINTENANCE")) == ["maint"]


def test_one_syllable(store: Store) -> None:
    assert ids(store.search("점")) == ["maint"]
    assert ids(store.search("검")) == ["maint"]
    assert ids(store.search("템", source="ntis")) == ["maint"]
    assert ids(store.search("템", source="bizinfo")) == []
    assert ids(store.search("업 모집")) == ["dev", "dh2"]  # 모집 drives, 업 checked per row
    assert ids(store.search("원 모집")) == ["dev"]
    assert ids(store.search("모 -집")) == ["undated", "dh1"]
    assert ids(store.search("공 -공모")) == ["zone"]


def test_results_carry_fields_and_rules(store: Store) -> None:
    (row,) = store.search("강소특구")
    assert row["source"] == "ntis" and row["source_name"] == "NTIS"
    assert (row["title"], row["link"]) == ("2026년 강소특구 육성사업 공고", "https://example.go.kr/zone")
    assert (row["published"], row["deadline"], row["rules"]) == ("2026-11-18T09:00:00+09:00", "2026-12-01", ["zones"])
    assert "agency" in row


def test_newest_first_using_first_seen_without_a_date(store: Store) -> None:
    everything = ids(store.search(""))
    assert everything == ["undated", "zone", "dev", "dh1", "dh2", "apart", "maint", "hostile"]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"source": "bizinfo"}, ["undated", "dev", "dh2"]),
        ({"rule": "devices"}, ["dev", "dh2"]),
        ({"source": "ntis", "rule": "devices"}, []),
        ({"source": "nope"}, []),
        ({"since": "2026-11-16"}, ["undated", "zone", "dev", "dh1"]),
        ({"until": "2026-11-01"}, ["maint", "hostile"]),
        ({"since": "2026-11-01", "until": "2026-11-01"}, ["maint"]),  # 00:30 Korea time is Oct 31 in UTC
        ({"until": "2026-10-31"}, ["hostile"]),
        ({"open_only": True, "today": "2026-11-20"}, ["zone", "dh2"]),
        ({"open_only": True, "today": "2026-11-19"}, ["zone", "dev", "dh2"]),
        ({"limit": 2}, ["undated", "zone"]),
    ],
)
def test_filters(store: Store, kwargs: dict, expected: list[str]) -> None:
    assert ids(store.search("", **kwargs)) == expected


def test_filters_combine_with_words(store: Store) -> None:
    assert ids(store.search("모집", source="bizinfo", since="2026-11-16")) == ["dev"]
    assert ids(store.search("특구", rule="zones")) == ["zone"]


def test_bad_dates_are_named_errors(store: Store) -> None:
    with pytest.raises(WatcherError, match="until"):
        store.search("특구", until="2026-13-45")


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_never_fail(store: Store, query: str) -> None:
    store.search(query)
    assert store.db["announcements"].count == len(ITEMS)


def test_hostile_titles_come_back_verbatim(store: Store) -> None:
    assert store.search('"인용"')[0]["title"] == '<script>alert("x")</script> 특구 & "인용"'
    assert ids(store.search("script alert")) == ["hostile"]


def test_index_follows_updates_and_new_rules(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    src = Source(id="ntis", url="https://ntis")
    first = Announcement("ntis", "1", "바이오 공모", "https://e/1", published="2026-11-01T09:00:00+09:00")
    store.ingest(src, [(first, [])], NOW, 0)
    store.ingest(src, [(first, [Hit("bio", "#b", ("바이오",))])], NOW, 0)
    assert ids(store.search("바이오", rule="bio")) == ["1"]
    moved = Announcement("ntis", "1", "의료 공모", "https://e/1", published="2026-11-19T09:00:00+09:00")
    store.ingest(src, [(moved, [])], NOW, 0)
    assert ids(store.search("바이오")) == []
    assert ids(store.search("의료", rule="bio", since="2026-11-19")) == ["1"]
    assert store.db.execute("SELECT count(*) FROM search_index WHERE search_index MATCH '\"_all\"'").fetchone()[0] == 1


def test_rows_sharing_a_second_keep_their_day_and_insertion_order(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    items = [(Announcement("ntis", str(i), f"특구 공고 {i}", None, published="2026-11-01T00:00:00+09:00"), [])
             for i in range(40)]
    store.ingest(Source(id="ntis", url="https://ntis"), items, NOW, 0)
    rows = store.search("특구", since="2026-11-01", until="2026-11-01", limit=100)
    assert len(rows) == 40 and ids(rows)[:3] == ["39", "38", "37"]
    assert len({r["published"] for r in rows}) == 1


def test_words_glued_to_numbers_and_latin(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    titles = {"a": "2026년도 1차 공모", "b": "2026 년 2차 공모", "c": "AI기반 실증", "d": "AI 반도체 기업",
              "e": "데이터·AI 융합", "f": "2025년 공모 2026"}
    items = [(Announcement("ntis", k, v, None, published=f"2026-11-0{i + 1}T09:00:00+09:00"), [])
             for i, (k, v) in enumerate(titles.items())]
    store.ingest(Source(id="ntis", url="https://ntis"), items, NOW, 0)
    assert ids(store.search("2026년")) == ["b", "a"]
    assert ids(store.search("1차")) == ["a"]
    assert ids(store.search("AI기")) == ["c"]
    assert ids(store.search("AI 기")) == ["d", "c"]
    assert ids(store.search("데이터·AI")) == ["e"]
    assert ids(store.search("터AI")) == ["e"]  # punctuation separates like a space
    assert ids(store.search("이AI")) == []  # the run must end right before AI


def test_a_rule_filter_reads_the_matches_with_or_without_words(store: Store) -> None:
    assert ids(store.search("", rule="devices")) == ["dev", "dh2"]
    assert ids(store.search("-실증", rule="devices")) == ["dh2"]  # `dev` says 실증
    assert ids(store.search("", source="bizinfo", rule="devices", limit=1)) == ["dev"]


def test_migration_0011_drops_the_rule_tokens_of_an_older_index(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    migrations.apply(db, stop_before="0011_index_without_rules")
    db["announcements"].insert({"source": "ntis", "id": "7", "key": "ntis:7", "title": "바이오 실증 공모",
                                "summary": "", "published": "2026-11-01T09:00:00+09:00", "docid": 5,
                                "first_seen": "2026-11-01T10:00:00+09:00", "last_seen": "2026-11-01T10:00:00+09:00"})
    db["matches"].insert({"source": "ntis", "id": "7", "rule": "bio", "channel": "#b", "keywords": '["바이오"]'})
    doc = fts.index_doc("바이오 실증 공모", "", None)
    old_meta = f"_all {fts.source_token('ntis')} _r{b'bio'.hex()} {doc.chars}"  # as earlier versions wrote
    db.execute(f"INSERT INTO {fts.FTS_TABLE}(rowid, body, meta) VALUES (5, ?, ?)", [doc.body, old_meta])
    db.conn.commit()
    db.close()
    store = Store(path)
    rule_token = '"_r' + b"bio".hex() + '"'
    assert store.conn.execute(f"SELECT count(*) FROM {fts.FTS_TABLE} WHERE {fts.FTS_TABLE} MATCH ?",
                              (rule_token,)).fetchone()[0] == 0
    assert ids(store.search("실증", rule="bio")) == ["7"]
    # the row is re-indexed as the store now writes it, so an edited title replaces it cleanly
    edited = Announcement("ntis", "7", "의료 실증 공모", None, published="2026-11-01T09:00:00+09:00")
    store.ingest(Source(id="ntis", url="https://ntis"), [(edited, [])], NOW, 0)
    assert ids(store.search("바이오")) == [] and ids(store.search("의료")) == ["7"]
    store.db.execute(f"INSERT INTO {fts.FTS_TABLE}({fts.FTS_TABLE}) VALUES ('integrity-check')")
