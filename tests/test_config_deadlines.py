"""rules.yaml: remind, summary_at, public_url."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.config.load import load_rules
from watcher.errors import ConfigError


def rules(tmp_path: Path, text: str):
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return load_rules(path)


def test_defaults_apply_to_rules_and_a_rule_overrides(tmp_path: Path) -> None:
    ruleset = rules(tmp_path, """\
defaults:
  remind: [1d, 7d]
  summary_at: "9:00"
  public_url: https://watch.example.kr/
rules:
  - name: a
    any: [x]
  - name: b
    any: [y]
    remind: [12h]
    summary_at: "08:30"
""")
    a, b = ruleset.rules
    assert (a.remind, a.summary_at) == ((7 * 86_400.0, 86_400.0), "09:00")
    assert (b.remind, b.summary_at) == ((43_200.0,), "08:30")
    assert ruleset.public_url == "https://watch.example.kr/"


def test_nothing_set_means_no_reminders_no_summary(tmp_path: Path) -> None:
    [rule] = rules(tmp_path, "rules:\n  - name: a\n    any: [x]\n").rules
    assert (rule.remind, rule.summary_at) == ((), None)


@pytest.mark.parametrize("text, message", [
    ("defaults:\n  remind: [7]\n", "rules.yaml:2: 'remind': '7' needs a unit (e.g. 7d, 1d, 12h)"),
    ("defaults:\n  remind: 1d\n", "rules.yaml:2: 'remind' must be a list of durations before the deadline"),
    ("defaults:\n  remind: [soon]\n", "rules.yaml:2: 'remind': invalid duration 'soon'"),
    ("defaults:\n  summary_at: \"25:00\"\n", "rules.yaml:2: 'summary_at' must be a time of day in Korea time"),
    ("defaults:\n  summary_at: 900\n", "rules.yaml:2: 'summary_at' must be a time of day"),
    ("defaults:\n  public_url: ftp://x\n", "rules.yaml:2: 'public_url' must be an http(s) URL"),
])
def test_bad_values_are_one_line_each(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        rules(tmp_path, text + "rules:\n  - name: a\n    any: [x]\n")
    assert message in str(caught.value)
    assert len(str(caught.value).splitlines()) == 1
