"""The environment file: quotes kept by `docker run --env-file`, placeholders, `""` that is not empty."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from watcher.cli import cli
from watcher.cli.ops import HINTS
from watcher.config import envcheck

ROOT = Path(__file__).resolve().parent.parent
SOURCES = """\
sources:
  - id: board
    url: https://board.example.org/list
  - id: bizinfo
    kind: json
    enabled: auto
    url: https://apis.data.go.kr/x?serviceKey=${DATA_GO_KR_KEY}
    items: response.body.items.item
    fields: {title: t, link: l}
"""
RULES = "rules:\n  - name: a\n    any: [x]\n"


def check(tmp_path: Path, env: dict[str, str]) -> tuple[int, str]:
    s, r = tmp_path / "sources.yaml", tmp_path / "rules.yaml"
    s.write_text(SOURCES, encoding="utf-8")
    r.write_text(RULES, encoding="utf-8")
    base = {k: "" for k in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "SLACK_APP_TOKEN", "DATA_GO_KR_KEY")}
    result = CliRunner().invoke(cli, ["--sources", str(s), "--rules", str(r), "check"], env={**base, **env})
    return result.exit_code, (result.stdout + result.stderr).replace(str(s), "sources.yaml")


def test_a_quoted_token_is_an_error_that_says_to_drop_the_quotes(tmp_path: Path) -> None:
    code, out = check(tmp_path, {"SLACK_BOT_TOKEN": '"xoxb-1234-5678-abcdef"'})
    assert code == 2
    assert 'SLACK_BOT_TOKEN arrives wrapped in quotes ("xoxb-…")' in out
    assert "write SLACK_BOT_TOKEN=xoxb-… without quotes" in out
    assert "5678-abcdef" not in out  # never the whole secret


def test_two_quote_characters_are_not_empty_and_do_not_switch_keyed_sources_on(tmp_path: Path) -> None:
    code, out = check(tmp_path, {"DATA_GO_KR_KEY": '""'})
    assert code == 2
    assert "sources.yaml:7: environment variable DATA_GO_KR_KEY arrives wrapped in quotes" in out
    assert 'DATA_GO_KR_KEY is the two characters "" (quotes kept by docker --env-file), not empty' in out


def test_placeholder_values_are_errors(tmp_path: Path) -> None:
    code, out = check(tmp_path, {"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/XXXX"})
    assert code == 2 and "SLACK_WEBHOOK_URL looks like the example's placeholder" in out
    code, out = check(tmp_path, {"SLACK_BOT_TOKEN": "xoxb-..."})
    assert code == 2 and "SLACK_BOT_TOKEN looks like the example's placeholder" in out


def test_plain_values_pass_and_odd_ones_warn(tmp_path: Path) -> None:
    code, out = check(tmp_path, {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "DATA_GO_KR_KEY": "a%2Bb%3D"})
    assert code == 0 and "warning" not in out, out
    code, out = check(tmp_path, {"SLACK_BOT_TOKEN": "xoxp-1-2-abc "})
    assert code == 0
    assert "warning: environment: SLACK_BOT_TOKEN has white space around its value" in out
    assert "warning: environment: SLACK_BOT_TOKEN does not start with xoxb-" in out


def test_quoted_key_refused_while_loading_so_once_never_polls_with_it(tmp_path: Path) -> None:
    from watcher.config.load import check as load_check

    s, r = tmp_path / "sources.yaml", tmp_path / "rules.yaml"
    s.write_text(SOURCES, encoding="utf-8")
    r.write_text(RULES, encoding="utf-8")
    config, problems, _ = load_check(s, r, {"DATA_GO_KR_KEY": "'abc'"})
    assert config is None and any("DATA_GO_KR_KEY arrives wrapped in quotes" in p for p in problems)


def test_env_example_has_no_quoted_values_and_check_accepts_it_as_written(tmp_path: Path) -> None:
    text = (ROOT / "deploy" / "watcher.env.example").read_text(encoding="utf-8")
    assert "quote every value" not in text.lower()
    env = {}
    for line in text.splitlines():
        line = line.lstrip("# ").strip() if re.match(r"#\s*[A-Z_]+=", line) else line
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep and name == name.strip() and not envcheck.quoted(value), line
            env[name] = value
    assert set(env) >= {"SLACK_BOT_TOKEN", "DATA_GO_KR_KEY"}
    uncommented = {k: v for k, v in env.items() if "T000" not in v}  # the commented-out sample URL
    code, out = check(tmp_path, uncommented)
    assert code == 0, out


@pytest.mark.parametrize("value", ['"abc"', "'abc'", '""', " 'x' "])
def test_quoted(value: str) -> None:
    assert envcheck.quoted(value)


def test_invalid_auth_hint_mentions_quotes() -> None:
    assert "without quotes" in HINTS["invalid_auth"] and "--env-file" in HINTS["invalid_auth"]
