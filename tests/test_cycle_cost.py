"""What a cycle pays for: worker processes only when bodies are expected (not on a warm, all-304 cycle)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e import fill, fixture_text
from watcher.config.load import load_config
from watcher.deliver.senders import ConsoleSender
from watcher.pipeline import cycle as run
from watcher.store import Store

RULES = "defaults:\n  channel: '#c'\nrules:\n  - name: all\n    any: [공고]\n"


@pytest.fixture()
def pools(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    created: list[object] = []
    real = run.ParsePool

    def counting(*args: object, **kwargs: object) -> object:
        pool = real(*args, **kwargs)
        created.append(pool)
        return pool

    monkeypatch.setattr(run, "ParsePool", counting)
    return created


def test_workers_are_forked_for_a_first_poll_and_not_for_a_cycle_of_304s(tmp_path: Path, feeds, pools) -> None:
    lines = ["sources:"]
    for i in range(run.POOL_MIN_SOURCES):
        feeds.set(f"/f{i}.xml", fill(fixture_text("rss.xml"), f"{feeds.base}/f{i}").replace("seq=", f"seq={i}0"))
        lines += [f"  - id: s{i}", f"    url: {feeds.base}/f{i}.xml"]
    (tmp_path / "sources.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    config = load_config(tmp_path / "sources.yaml", tmp_path / "rules.yaml")
    store = Store(tmp_path / "w.db")
    first = run.run_once(config, store, ConsoleSender())
    assert len(pools) == 1 and {r.status for r in first.sources} == {"ok"}
    again = run.run_once(config, store, ConsoleSender())
    assert {r.status for r in again.sources} == {"not_modified"}
    assert len(pools) == 1  # nothing to parse: no worker forked


def test_feeds_need_neither_feedparser_nor_beautifulsoup() -> None:
    """A well-formed feed is read by lxml alone; feedparser and bs4 are imported for the bodies that need them."""
    code = ("import sys; from watcher.parse import parser; parser('feed'); "
            "print(' '.join(m for m in ('feedparser', 'bs4', 'soupsieve') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_the_command_line_imports_only_what_a_cycle_needs() -> None:
    """`watcher once` with a cached config: no YAML parser, web desk or calendar at start-up (requests is
    what a cycle polls with since #25: every `once` needs it)."""
    code = ("import sys, watcher.cli, watcher.pipeline.cycle; heavy = ('ruamel.yaml', "
            "'watcher.cli.desk', 'watcher.cli.calendar', 'watcher.config.load', 'bs4', 'feedparser', 'lxml'); "
            "print(' '.join(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""
