"""`watcher check` / `once` on bad config, and `watcher rules test` on stored announcements."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from watcher.cli import cli
from watcher.models import Announcement, Source
from watcher.store import Store

SOURCES = "sources:\n  - id: ntis\n    url: http://127.0.0.1:9/rss\n  - id: tp\n    url: http://127.0.0.1:9/tp\n"
RULES = """\
synonyms:
  - [강소특구, 강소연구개발특구]
rules:
  - name: gangso
    any: [강소특구]
    channel: "#teukgu"
  - name: devices
    any: [의료기기]
    none: [채용]
"""

BAD_RULES = {  # what is wrong -> (rules.yaml text, line, words in the message)
    "syntax": ("rules:\n  - name: a\n    any: [x\n", 3, "never closed"),
    "unknown key": ("rules:\n  - name: a\n    any: [x]\n    chanel: '#x'\n", 4, "did you mean 'channel'"),
    "no any or all": ("rules:\n  - name: a\n    none: [x]\n", 2, "any"),
    "bad regex": ("rules:\n  - name: a\n    any: ['re:(unclosed']\n", 3, "re:(unclosed"),
    "duplicate name": ("rules:\n  - name: a\n    any: [x]\n  - name: a\n    any: [y]\n", 4, "duplicate"),
    "unknown source": ("rules:\n  - name: a\n    any: [x]\n    sources: [nope]\n", 4, "nope"),
    "wrong type": ("rules:\n  - name: a\n    any: 의료기기\n", 3, "list"),
}


def files(tmp_path, rules: str = RULES) -> list[str]:
    (tmp_path / "s.yaml").write_text(SOURCES, encoding="utf-8")
    (tmp_path / "r.yaml").write_text(rules, encoding="utf-8")
    return ["--sources", str(tmp_path / "s.yaml"), "--rules", str(tmp_path / "r.yaml"),
            "--db", str(tmp_path / "w.db")]


@pytest.mark.parametrize("case", sorted(BAD_RULES))
@pytest.mark.parametrize("command", ["check", "once"])
def test_bad_rules_exit_2_with_file_and_line(tmp_path, case, command):
    text, line, words = BAD_RULES[case]
    result = CliRunner().invoke(cli, [*files(tmp_path, text), command])
    assert result.exit_code == 2, result.output
    assert f"r.yaml:{line}:" in result.output and words in result.output, result.output
    assert "Traceback" not in result.output


def test_check_reports_every_problem_at_once(tmp_path):
    text = "rules:\n  - name: a\n    chanel: x\n  - name: a\n    any: ['re:(']\n"
    result = CliRunner().invoke(cli, [*files(tmp_path, text), "check"])
    assert result.exit_code == 2
    assert len([ln for ln in result.output.splitlines() if "r.yaml:" in ln]) >= 3


def store_some(tmp_path) -> None:
    store = Store(tmp_path / "w.db")
    now = datetime(2026, 11, 20, 9, tzinfo=ZoneInfo("Asia/Seoul"))
    anns = [
        Announcement("ntis", "1", "강소연구개발특구 기술사업화 공고", "http://x/1", published=now.isoformat()),
        Announcement("tp", "2", "의료기기 인허가 지원", "http://x/2", published=now.isoformat()),
        Announcement("tp", "3", "의료기기 연구원 채용", "http://x/3", published=now.isoformat()),
    ]
    store.ingest(Source(id="ntis", url="http://x"), [(anns[0], [])], now, 14 * 86400)
    store.ingest(Source(id="tp", url="http://x"), [(a, []) for a in anns[1:]], now, 14 * 86400)


def test_rules_test_json_lists_what_each_rule_would_alert(tmp_path):
    opts = files(tmp_path)
    store_some(tmp_path)
    result = CliRunner().invoke(cli, [*opts, "rules", "test", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {(r["rule"], r["title"]) for r in rows} == {
        ("gangso", "강소연구개발특구 기술사업화 공고"), ("devices", "의료기기 인허가 지원")}
    assert {"rule", "source", "title", "link"} <= rows[0].keys()
    only = json.loads(CliRunner().invoke(cli, [*opts, "rules", "test", "--rule", "devices", "--json"]).output)
    assert [r["rule"] for r in only] == ["devices"]


def test_rules_test_diff_shows_what_an_edit_adds_and_drops(tmp_path):
    opts = files(tmp_path)
    store_some(tmp_path)
    (tmp_path / "old.yaml").write_text(RULES, encoding="utf-8")
    (tmp_path / "r.yaml").write_text(RULES.replace("none: [채용]", "none: [인허가]"), encoding="utf-8")
    result = CliRunner().invoke(cli, [*opts, "rules", "test", "--diff", "--base", str(tmp_path / "old.yaml"),
                                      "--json"])
    assert result.exit_code == 0, result.output
    changes = {(r["change"], r["title"]) for r in json.loads(result.output)}
    assert changes == {("added", "의료기기 연구원 채용"), ("dropped", "의료기기 인허가 지원")}


def test_rules_test_unknown_rule_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(cli, [*files(tmp_path), "rules", "test", "--rule", "nope"])
    assert result.exit_code == 2 and "no rule named 'nope'" in result.output


def test_rules_test_diff_compares_against_the_rules_last_used_by_once(tmp_path):
    opts = files(tmp_path)
    store_some(tmp_path)
    assert CliRunner().invoke(cli, [*opts, "once"]).exit_code == 0  # sources fail; rules are recorded
    (tmp_path / "r.yaml").write_text(RULES.replace("none: [채용]", "none: [인허가]"), encoding="utf-8")
    result = CliRunner().invoke(cli, [*opts, "rules", "test", "--diff", "--json"])
    assert result.exit_code == 0, result.output
    changes = {(r["change"], r["title"]) for r in json.loads(result.output)}
    assert changes == {("added", "의료기기 연구원 채용"), ("dropped", "의료기기 인허가 지원")}


def test_rules_test_diff_without_recorded_rules_says_what_to_do(tmp_path):
    Store(tmp_path / "w.db").close()
    result = CliRunner().invoke(cli, [*files(tmp_path), "rules", "test", "--diff"])
    assert result.exit_code == 2 and "--base FILE" in result.output
