"""The parsed config kept in the database: used while both files are unchanged, never after an edit."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.config.cache import META_KEY, cache_key, load_cached
from watcher.errors import ConfigError
from watcher.store import Store

SOURCES = """\
sources:
  - id: ntis
    name: NTIS
    url: https://www.ntis.go.kr/rndgate/unRndRss.xml?key=${NTIS_KEY}
"""
RULES = """\
rules:
  - name: teukgu
    any: [강소특구]
"""


def files(tmp_path: Path) -> tuple[Path, Path]:
    sources, rules = tmp_path / "sources.yaml", tmp_path / "rules.yaml"
    sources.write_text(SOURCES, encoding="utf-8")
    rules.write_text(RULES, encoding="utf-8")
    return sources, rules


def test_unchanged_files_come_from_the_store_without_parsing(tmp_path: Path) -> None:
    sources, rules = files(tmp_path)
    store = Store(tmp_path / "w.db")
    env = {"NTIS_KEY": "abc"}
    first = load_cached(sources, rules, store, env)
    assert store.meta_value(META_KEY).startswith(cache_key((sources, rules), env) + ":")
    # a stored entry that says something else proves the second load read it, not the files
    key = cache_key((sources, rules), env)
    import pickle
    from dataclasses import replace
    marked = replace(first, sources=tuple(replace(s, name="from cache") for s in first.sources))
    store.set_meta(META_KEY, f"{key}:{pickle.dumps(marked).hex()}")
    assert load_cached(sources, rules, store, env).sources[0].name == "from cache"


def test_an_edited_rules_file_is_parsed_again(tmp_path: Path) -> None:
    sources, rules = files(tmp_path)
    store = Store(tmp_path / "w.db")
    assert [r.any for r in load_cached(sources, rules, store, {"NTIS_KEY": "a"}).rules.rules] == [("강소특구",)]
    rules.write_text(RULES.replace("[강소특구]", "[강소특구, 의료기기]"), encoding="utf-8")
    edited = load_cached(sources, rules, store, {"NTIS_KEY": "a"})
    assert [r.any for r in edited.rules.rules] == [("강소특구", "의료기기")]


def test_a_changed_variable_named_in_a_file_is_parsed_again(tmp_path: Path) -> None:
    sources, rules = files(tmp_path)
    store = Store(tmp_path / "w.db")
    assert load_cached(sources, rules, store, {"NTIS_KEY": "old"}).sources[0].url.endswith("key=old")
    assert load_cached(sources, rules, store, {"NTIS_KEY": "new"}).sources[0].url.endswith("key=new")


def test_a_broken_edit_is_a_config_error_not_the_cached_config(tmp_path: Path) -> None:
    sources, rules = files(tmp_path)
    store = Store(tmp_path / "w.db")
    load_cached(sources, rules, store, {"NTIS_KEY": "a"})
    rules.write_text("rules:\n  - name: teukgu\n    any: [강소특구\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_cached(sources, rules, store, {"NTIS_KEY": "a"})
    assert "rules.yaml:" in str(err.value)


def test_the_run_that_creates_the_database_leaves_the_config_for_the_next(tmp_path: Path, monkeypatch) -> None:
    """`once` on a new database parses the files (there is nothing to read them from yet) and keeps
    the result, so the first run after it parses nothing either."""
    from click.testing import CliRunner

    from watcher.cli import cli
    from watcher.config import load as config

    sources, rules = files(tmp_path)
    sources.write_text("sources: []\n", encoding="utf-8")
    args = ["--sources", str(sources), "--rules", str(rules), "--db", str(tmp_path / "w.db"), "once"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    monkeypatch.setattr(config, "load_config", lambda *a, **k: pytest.fail("parsed again"))
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output


def test_a_key_needed_by_an_included_catalogue_entry_counts_like_one_named_in_the_file(tmp_path: Path) -> None:
    sources, rules = tmp_path / "s.yaml", tmp_path / "r.yaml"
    sources.write_text("include: [ntis, bizinfo]\n", encoding="utf-8")
    rules.write_text("rules:\n  - name: r\n    any: [x]\n", encoding="utf-8")
    store = Store(tmp_path / "w.db")
    assert [s.enabled for s in load_cached(sources, rules, store, {}).sources] == [True, False]
    enabled = load_cached(sources, rules, store, {"DATA_GO_KR_KEY": "k"}).sources  # set later: parsed again
    assert [s.enabled for s in enabled] == [True, True] and "serviceKey=k&" in enabled[1].url
    store.close()
