"""docs/ko/README.md, the team's Korean guide, stays in step with the program: its four sections, every
`watcher ...` command it shows, every rules.yaml key, environment variable, Slack error and CSV header
it names exist (and the important ones are named)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_cli import all_commands
from watcher.cli import cli
from watcher.cli.ops import HINTS
from watcher.config import envcheck
from watcher.config import load as config_mod
from watcher.web.exports import CSV_COLUMNS_KO

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "ko" / "README.md"


def text() -> str:
    return GUIDE.read_text(encoding="utf-8")


def test_the_four_sections() -> None:
    headings = re.findall(r"^## (.+)$", text(), re.M)
    assert headings == ["설치", "규칙 편집", "Slack 연결", "검색 화면"]


def test_every_command_shown_exists_with_its_options() -> None:
    known = {name: cmd for name, cmd in all_commands(cli)}
    known.update({f"watcher {name}": cmd for name, cmd in cli.commands.items()})  # groups too (`watcher alerts`)
    shown = re.findall(r"watcher ((?:[a-z]+)(?: [a-z]+)?)((?: --?[a-z-]+)*)", text())
    assert shown
    for words, options in shown:
        name = f"watcher {words}"
        if name not in known:
            name = f"watcher {words.split()[0]}"
        assert name in known, f"docs/ko/README.md shows `{name}`, which is no command"
        accepted = {o for p in known[name].params for o in getattr(p, "opts", [])}
        for option in re.findall(r"--?[a-z-]+", options):
            assert option in accepted, f"`{name} {option}` in docs/ko/README.md is no option"


def test_rules_keys_in_the_example_are_accepted() -> None:
    block = re.search(r"```yaml\n(.*?)```", text(), re.S).group(1)
    keys = set(re.findall(r"^\s*(?:- )?([a-z_]+):", block, re.M)) - {"defaults", "rules"}
    accepted = set(config_mod._RULE_KEYS) | set(config_mod._RULE_DEFAULT_KEYS)
    assert keys and keys <= accepted, keys - accepted
    assert {"label", "channel", "any", "ops_channel"} <= keys


def test_environment_variables_are_the_example_files() -> None:
    table = set(re.findall(r"^\| `([A-Z_]+)` \|", text(), re.M))
    example = (ROOT / "deploy" / "watcher.env.example").read_text(encoding="utf-8")
    assert table == set(re.findall(r"^#? ?([A-Z_]+)=", example, re.M))
    assert {"SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL"} <= table | set(envcheck.SLACK_VARS)


def test_slack_errors_are_ones_the_program_explains() -> None:
    codes = re.findall(r"^\| `([a-z_]+)` \|", text(), re.M)
    assert codes and all(code in HINTS for code in codes)
    assert {"not_in_channel", "channel_not_found", "invalid_auth"} <= set(codes)


def test_csv_headers_are_the_exported_ones() -> None:
    assert ", ".join(f"`{c}`" for c in CSV_COLUMNS_KO) in text()
