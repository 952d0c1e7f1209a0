"""Which stored announcements a rules edit reaches (watcher/rulediff.py), and that re-matching only
those gives what matching every stored announcement again gives, on the real corpus."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from watcher.config.load import load_rules
from watcher.match.matcher import Matcher
from watcher.match.rulediff import definition, definitions, reach
from watcher.models import Announcement, Config, Rule, RuleSet, Source
from watcher.pipeline.rematch import apply_rules, fingerprint
from watcher.store import KST, Store

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=KST)
SRC = Source(id="corpus", url="http://127.0.0.1/corpus.xml")
BASE = Rule("zones", any=("강소특구", "연구개발특구"), none=("규제자유특구",), channel="#teukgu")


def defs(rule: Rule, synonyms: tuple[tuple[str, ...], ...] = ()) -> dict:
    return definitions(RuleSet(rules=(rule,), synonyms=synonyms))[rule.name]


def test_a_label_or_reminder_edit_reaches_nothing():
    r = reach(defs(BASE), defs(replace(BASE, label="강소특구", remind=(86400.0,), summary_at="09:00")))
    assert not r.matters


def test_keywords_added_to_any_reach_only_items_holding_them():
    r = reach(defs(BASE), defs(replace(BASE, any=(*BASE.any, "특구형"))))
    assert r.matters and not r.everything and not r.recheck and r.added == ("특구형",) and r.words_kept


def test_an_exclusion_added_reaches_only_items_holding_it():
    r = reach(defs(BASE), defs(replace(BASE, none=(*BASE.none, "관광특구"))))
    assert not r.everything and not r.recheck and r.excluded == ("관광특구",) and r.added == ()


def test_an_exclusion_taken_out_reaches_every_item():
    assert reach(defs(BASE), defs(replace(BASE, none=()))).everything


def test_a_keyword_taken_out_of_any_rechecks_the_stored_matches_only():
    r = reach(defs(BASE), defs(replace(BASE, any=BASE.any[:1])))
    assert not r.everything and r.recheck and r.added == ()


def test_a_keyword_added_to_all_rechecks_the_stored_matches_only():
    r = reach(defs(BASE), defs(replace(BASE, all=("모집",))))
    assert not r.everything and r.recheck


def test_a_new_channel_rechecks_the_stored_matches_only():
    r = reach(defs(BASE), defs(replace(BASE, channel="#other")))
    assert not r.everything and r.recheck


def test_other_fields_reach_every_item_and_keep_no_stored_words():
    r = reach(defs(BASE), defs(replace(BASE, fields=("title", "agency"))))
    assert r.everything and not r.words_kept


def test_a_changed_synonym_group_of_a_keyword_reaches_every_item():
    r = reach(defs(BASE), defs(BASE, synonyms=(("강소특구", "강소연구개발특구"),)))
    assert r.everything and not r.words_kept


def test_a_synonym_group_of_other_words_changes_nothing():
    assert definition(BASE, {}) == defs(BASE, synonyms=(("의료기기", "메디컬디바이스"),))


def test_a_new_rule_or_one_without_a_definition_in_force_reaches_every_item():
    assert reach(None, defs(BASE)).everything
    assert reach({"any": "broken"}, defs(BASE)).everything  # a malformed definition in force


def test_a_removed_rule_reaches_only_its_stored_matches():
    r = reach(defs(BASE), None)
    assert r.matters and not r.everything


# -- re-matching what an edit reaches == matching everything again ------------------------------

def corpus() -> list[Announcement]:
    items = YAML(typ="safe").load((ROOT / "tests" / "corpus" / "real.yaml").read_text(encoding="utf-8"))["items"]
    published = (NOW - timedelta(days=1)).isoformat()
    return [Announcement(source=SRC.id, id=str(i), title=it["title"], link=None, summary=it.get("summary", ""),
                         agency=it.get("agency"), published=published) for i, it in enumerate(items)]


def shipped() -> RuleSet:
    return load_rules(ROOT / "rules.yaml", None, env={})


def edit(rules: RuleSet, name: str) -> RuleSet:
    """One of the edits a team makes, on the shipped rules."""
    one, two, three = rules.rules[:3]

    def with_rules(*changed: Rule) -> RuleSet:
        by_name = {r.name: r for r in changed}
        return replace(rules, rules=tuple(by_name.get(r.name, r) for r in rules.rules))

    return {
        "keyword added": with_rules(replace(one, any=(*one.any, "정밀의료", "병원"))),
        "exclusion added": with_rules(replace(two, none=(*two.none, "모집")),
                                      replace(three, none=(*three.none, "지원"))),
        "exclusion taken out": with_rules(replace(three, none=())),
        "keyword taken out": with_rules(replace(one, any=one.any[1:]), replace(three, any=three.any[2:])),
        "keyword required": with_rules(replace(three, all=("사업",))),
        "channel moved": with_rules(replace(two, channel="#zones-2")),
        "fields changed": with_rules(replace(one, fields=("summary", "title"))),
        "synonyms": replace(rules, synonyms=(*rules.synonyms, ("의료기기", "병원"))),
        "added and excluded": with_rules(replace(one, any=(*one.any, "데이터"), none=(*one.none, "교육"))),
    }[name]


EDITS = ["keyword added", "exclusion added", "exclusion taken out", "keyword taken out", "keyword required",
         "channel moved", "fields changed", "synonyms", "added and excluded"]


def stored_after(path: Path, anns: list[Announcement], before: RuleSet, after: RuleSet, *,
                 forget_definitions: bool) -> Store:
    store = Store(path)
    apply_rules(store, Config(sources=(SRC,), rules=before), NOW)
    matcher = Matcher(before)
    store.ingest(SRC, [(a, matcher.match(a)) for a in anns], NOW - timedelta(hours=1), before.max_age)
    if forget_definitions:  # as a database written before definitions were kept: every edited rule whole
        kept = json.loads(store.meta_value("rules_fingerprint") or "")
        kept.pop("defs")
        store.record_rules(json.dumps(kept, sort_keys=True, ensure_ascii=False), None)
    apply_rules(store, Config(sources=(SRC,), rules=after), NOW)
    return store


def matches(store: Store) -> list[tuple]:
    return store.conn.execute("SELECT source, id, rule, channel, keywords, words FROM matches "
                              "ORDER BY source, id, rule").fetchall()


def queued(store: Store) -> list[tuple]:
    return store.conn.execute("SELECT key, channel, rules, status FROM alerts ORDER BY key, channel").fetchall()


@pytest.mark.parametrize("name", EDITS)
def test_an_edit_rematches_what_matching_everything_again_gives(tmp_path, name):
    anns, before = corpus(), shipped()
    after = edit(before, name)
    assert fingerprint(after) != fingerprint(before)
    reached = stored_after(tmp_path / "reached.db", anns, before, after, forget_definitions=False)
    whole = stored_after(tmp_path / "whole.db", anns, before, after, forget_definitions=True)
    fresh = Store(tmp_path / "fresh.db")  # the edited rules from the start
    matcher = Matcher(after)
    fresh.ingest(SRC, [(a, matcher.match(a)) for a in anns], NOW - timedelta(hours=1), after.max_age)
    got = matches(reached)
    assert got == matches(fresh), f"{name}: the matches differ from matching with the edited rules"
    assert got == matches(whole)
    assert queued(reached) == queued(whole), f"{name}: the alerts queued differ from a whole re-match"
    assert got != matches(stored_after(tmp_path / "none.db", anns, before, before, forget_definitions=False)), \
        f"{name}: the edit changes no match on the corpus (the test would prove nothing)"
