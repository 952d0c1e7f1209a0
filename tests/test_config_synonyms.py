"""rules.yaml synonym groups: bare lists (as before), named groups, a mapping of names to words;
problems as FILE:LINE (watcher/config/synonyms.py, docs/CONFIG.md § Synonym groups)."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.config.load import check, load_rules
from watcher.match.matcher import Matcher
from watcher.models import Announcement

RULE = "rules:\n  - name: zones\n    any: [이노폴리스]\n"


def rules_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - id: s\n    url: https://example.org/\n", encoding="utf-8")
    _, found, _ = check(sources, rules_file(tmp_path, text), env={})
    return found


def test_bare_groups_load_as_before_without_names(tmp_path):
    rs = load_rules(rules_file(tmp_path, "synonyms:\n  - [강소특구, 강소연구개발특구]\n  - [a, b]\n" + RULE), env={})
    assert rs.synonyms == (("강소특구", "강소연구개발특구"), ("a", "b"))
    assert rs.synonym_names == (None, None)


def test_named_groups_mixed_with_bare_ones_keep_file_order(tmp_path):
    text = ("synonyms:\n  - [강소특구, 강소연구개발특구]\n"
            "  # 특구재단 brands (www.innopolis.or.kr)\n"
            "  - name: 특구재단 브랜드\n    words: [이노폴리스, INNOPOLIS, 이노폴리스캠퍼스]\n" + RULE)
    rs = load_rules(rules_file(tmp_path, text), env={})
    assert rs.synonyms == (("강소특구", "강소연구개발특구"), ("이노폴리스", "INNOPOLIS", "이노폴리스캠퍼스"))
    assert rs.synonym_names == (None, "특구재단 브랜드")


def test_mapping_of_names_to_words(tmp_path):
    text = "synonyms:\n  특구재단 브랜드: [이노폴리스, INNOPOLIS]\n  치과 기자재: [치과기자재, 덴탈 기자재]\n" + RULE
    rs = load_rules(rules_file(tmp_path, text), env={})
    assert rs.synonyms == (("이노폴리스", "INNOPOLIS"), ("치과기자재", "덴탈 기자재"))
    assert rs.synonym_names == ("특구재단 브랜드", "치과 기자재")


@pytest.mark.parametrize("synonyms", [
    "  - [이노폴리스, INNOPOLIS]\n",
    "  - {name: 특구재단 브랜드, words: [이노폴리스, INNOPOLIS]}\n",
    "  - name: 특구재단 브랜드\n    words:\n      - 이노폴리스\n      - INNOPOLIS\n",
], ids=["bare", "named inline", "named block"])
def test_a_named_group_matches_exactly_as_the_bare_one(tmp_path, synonyms):
    matcher = Matcher(load_rules(rules_file(tmp_path, "synonyms:\n" + synonyms + RULE), env={}))
    hits = matcher.match(Announcement(source="s", id="1", title="INNOPOLIS Campus accelerating program", link=None))
    assert [(h.rule, h.keywords, h.words) for h in hits] == [("zones", ("이노폴리스",), (("title", "INNOPOLIS"),))]


def test_the_shipped_rules_name_their_programme_groups():
    rs = load_rules(Path(__file__).resolve().parent.parent / "rules.yaml", env={})
    assert len(rs.synonym_names) == len(rs.synonyms)
    named = [n for n in rs.synonym_names if n]
    assert len(named) == len(rs.synonyms), "every shipped group has a name"
    assert len(set(named)) == len(named)


@pytest.mark.parametrize(("text", "expected"), [
    ("synonyms:\n  - name: g\n    words: [a, b]\n  - name: g\n    words: [c, d]\n",
     "rules.yaml:4: duplicate synonym group name 'g' (first at line 2)"),
    ("synonyms:\n  g: [a, b]\n  h: [c]\n", "rules.yaml:3: a synonym group needs at least 2 words ('h')"),
    ("synonyms:\n  - name: g\n", "rules.yaml:2: a named synonym group needs 'words'"),
    ("synonyms:\n  - words: [a, b]\n", "rules.yaml:2: a synonym group written as a mapping needs a 'name'"),
    ("synonyms:\n  - name: g\n    words: a\n", "rules.yaml:3: synonym group 'g': its words must be a list of strings"),
    ("synonyms:\n  - name: g\n    wrods: [a, b]\n", "rules.yaml:3: unknown key 'wrods' (did you mean 'words'?)"),
    ("synonyms:\n  g: [a, 3]\n", "rules.yaml:2: 'synonyms' must be a list of strings, got 3 (quote it)"),
    ("synonyms: 강소특구\n", "rules.yaml:1: 'synonyms' must be a list of groups, or a mapping of group names"),
    ("synonyms:\n  - name: [x]\n    words: [a, b]\n", "rules.yaml:2: a synonym group's name must be text"),
    ("synonyms:\n  - 강소특구\n", "rules.yaml:2: each synonym group must be a list of strings"),
], ids=["duplicate name", "one word", "no words", "no name", "words not a list", "typo in key",
        "word not text", "not a list", "name not text", "bare word"])
def test_problems_name_file_and_line(tmp_path, text, expected):
    found = problems(tmp_path, text + RULE)
    assert any(p.endswith(expected) or expected in p for p in found), found
    assert all(":" in p.split(" ")[0] for p in found)
