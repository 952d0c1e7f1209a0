"""Pure helpers of the desk (watcher/desk.py), rule labels, and the datasette metadata file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from watcher.config.load import load_rules
from watcher.desk import display_width, mark, pad, query_words, snippet
from watcher.store import Store

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("text, width", [("abc", 3), ("보건복지부", 10), ("NTIS 국가R&D", 12), ("ｱ", 1), ("ＡＢ", 4),
                                         ("e\u0301", 1), ("", 0)])
def test_display_width_counts_korean_as_two(text, width):
    assert display_width(text) == width


def test_pad_fills_to_display_columns_and_never_cuts():
    assert pad("기관", 6) == "기관  " and pad("산업통상자원부", 4) == "산업통상자원부"


def test_query_words_keep_phrases_and_drop_exclusions():
    assert query_words('특구 "디지털 헬스케어" -채용 AI* +공모') == ["특구", "디지털 헬스케어", "AI", "공모"]


def test_mark_escapes_and_highlights_across_spacing_and_case():
    marked = mark("<b>디지털헬스케어</b> 지원", ["디지털 헬스케어"])
    assert marked == "&lt;b&gt;<mark>디지털헬스케어</mark>&lt;/b&gt; 지원"
    assert mark("AI 기반, maintain", ["ai"]) == "<mark>AI</mark> 기반, maintain"  # Latin words whole only
    assert mark("의료기기를 지원", ["의료기기", "의료"]) == "<mark>의료기기</mark>를 지원"  # the longer word wins


def test_snippet_centres_on_the_first_match():
    text = "가" * 300 + " 의료기기 " + "나" * 300
    piece = snippet(text, ["의료기기"], width=100)
    assert piece.startswith("…") and piece.endswith("…") and "의료기기" in piece and len(piece) == 102
    assert snippet("짧은 요약", ["x"]) == "짧은 요약"


def test_rule_label_is_read_from_rules_yaml(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - name: medical\n    label: 의료기기\n    any: [의료기기]\n  - name: zones\n"
                    "    any: [특구]\n", encoding="utf-8")
    rules = load_rules(path)
    assert [(r.name, r.label) for r in rules.rules] == [("medical", "의료기기"), ("zones", None)]


def test_datasette_metadata_names_only_real_tables_and_columns(tmp_path):
    meta = json.loads((REPO / "datasette-metadata.json").read_text(encoding="utf-8"))
    store = Store(tmp_path / "watcher.db")
    tables = {name for (name,) in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    described = meta["databases"]["watcher"]["tables"]
    assert set(described) <= tables
    assert {"announcements", "matches", "sources", "alerts"} <= set(described)
    for table, info in described.items():
        columns = {row[1] for row in store.conn.execute(f'PRAGMA table_info("{table}")')}
        assert set(info.get("columns", {})) <= columns, table
        for key in ("label_column", "sort_desc"):
            assert info.get(key) is None or info[key] in columns, (table, key)
        assert set(info.get("facets", [])) <= columns, table
